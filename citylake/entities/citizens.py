"""Citizens: every person mention to one unified citizen.

1. **Deterministic**: mentions carrying a valid resident ID (GB 11643 checksum) are one
   citizen per ID (rule ``resident_id``, probability 1). Nothing else ever merges two
   different valid IDs. A mention whose ID fails its checksum (it lands flagged) is
   *repaired* when exactly one valid ID seen among the mentions explains the typo: the
   same first 17 characters (a wrong check character) or two adjacent characters
   swapped (rule ``resident_id_repaired``); otherwise it goes on as ID-less.
2. **Probabilistic** (Splink, DuckDB backend by default): a mention without a valid ID is
   compared with the other mentions that share its name (as pinyin, so homophone typos,
   traditional characters and romanized names meet), its phone, its birth date, its
   address, or parts of its name with parts of its birth date or address
   (:data:`PREDICTION_BLOCKS`, so a pair with typos in two fields still meets). The
   model's m probabilities come from the pairs that share a valid ID (a free labelled
   set); where fewer than :data:`MIN_LABELLED_PAIRS` exist (a department whose records
   carry no IDs, or FEBRL3 in ``citylake.bench.febrl``), from expectation maximisation
   over :data:`TRAINING_BLOCKS`. u probabilities come from random pairs, the prior from
   the labelled share.
3. **Constrained clustering**: an ID-less mention joins the citizen (anchor) of its best
   scoring partner at or above :data:`THRESHOLD` (rule ``splink``), directly or through
   another ID-less mention already attached (rule ``splink_transitive``). Mentions that
   reach no anchor form citizens of their own by connected components over their links
   (``splink_unanchored``) or stay alone (``unlinked``).
4. **Through the enterprise**: a legal representative named by name alone (a licence)
   joins the citizen who represents the same unified enterprise under that name in a
   record with an ID (rule ``legal_rep_of_enterprise``, :func:`legal_rep_links`).

The same settings run on Splink's Spark backend: pass
``db_api_factory=lambda: spark_db_api(spark, checkpoint_dir)`` to :func:`link_citizens`
(checked on the scale-0.2 city: the same crosswalk and F1 as on DuckDB).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import date
from functools import cache
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)

THRESHOLD = 0.9  # match probability at which an ID-less mention joins a citizen
CROSSWALK_COLUMNS = [
    "mention_id",
    "source_id",
    "record_key",
    "role",
    "citizen_key",
    "match_rule",
    "match_probability",
    "matched_mention_id",
]
_LATIN = re.compile(r"[^a-z]")


@cache
def _pinyin(name: str) -> str:
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(name))


def name_key(name: object, is_pinyin: object) -> str | None:
    """Lower-case pinyin without spaces: 张伟 / 張偉 / Zhang Wei / ZHANG WEI -> zhangwei."""
    if not isinstance(name, str) or not name.strip():
        return None
    text = name if bool(is_pinyin) else _pinyin(name)
    return _LATIN.sub("", text.lower()) or None


def _birth_from_id(rid: str) -> str | None:
    try:
        return date(int(rid[6:10]), int(rid[10:12]), int(rid[12:14])).isoformat()
    except ValueError:
        return None


def _swaps(rid: str) -> set[str]:
    return {rid[:i] + rid[i + 1] + rid[i] + rid[i + 2 :] for i in range(len(rid) - 1)}


def repaired_ids(mentions: pd.DataFrame) -> pd.Series:
    """For each mention whose resident ID fails its checksum, the one valid ID among the
    mentions that explains the typo (same first 17 characters, or two adjacent characters
    swapped); None when no valid ID or more than one does."""
    valid = mentions["resident_id_is_valid"].astype("boolean").fillna(False).astype(bool)
    raw = mentions["resident_id"]
    known = set(raw[valid].dropna())
    by_first17: dict[str, set[str]] = {}
    for rid in known:
        by_first17.setdefault(rid[:17], set()).add(rid)

    def repair(rid: object) -> str | None:
        if not isinstance(rid, str) or len(rid) != 18:
            return None
        found = by_first17.get(rid[:17], set()) | (_swaps(rid) & known)
        return found.pop() if len(found) == 1 else None

    return raw.where(~valid & raw.notna()).map(repair, na_action="ignore")


def features(mentions: pd.DataFrame) -> pd.DataFrame:
    """The comparison columns Splink sees, one row per mention."""
    valid = mentions["resident_id_is_valid"].astype("boolean").fillna(False).astype(bool)
    rid = mentions["resident_id"].where(valid)
    birth = pd.to_datetime(mentions["birth_date"], errors="coerce").dt.strftime("%Y-%m-%d")
    birth = birth.where(
        birth.notna(), rid.map(lambda r: _birth_from_id(r) if isinstance(r, str) else None)
    )
    gender = mentions["gender"].where(
        mentions["gender"].notna(),
        rid.map(lambda r: ("M" if int(r[16]) % 2 else "F") if isinstance(r, str) else None),
    )
    is_pinyin = mentions["name_is_pinyin"].fillna(False)
    name_zh = mentions["name"].where(~is_pinyin.astype(bool))
    return pd.DataFrame(
        {
            "unique_id": mentions["mention_id"],
            "rid": rid,
            "name_zh": name_zh.str.replace(r"\s+", "", regex=True),
            "name_py": [name_key(n, p) for n, p in zip(mentions["name"], is_pinyin, strict=True)],
            "birth_date": birth,
            "gender": gender,
            "phone": mentions["phone"],
            "address": mentions["address"],
        }
    )


def splink_settings(prior: float) -> Any:
    """Comparisons and prediction blocking (each rule keeps pairs with an ID-less side).

    Only functions both engines have natively (equality, Levenshtein): Splink's
    Jaro-Winkler on Spark needs its Scala UDF jar on the driver's classpath.
    """
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator

    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name_py"),
            cll.ExactMatchLevel("name_zh").configure(
                tf_adjustment_column="name_zh", label_for_charts="same characters"
            ),
            cll.ExactMatchLevel("name_py").configure(
                tf_adjustment_column="name_py", label_for_charts="same pinyin"
            ),
            cll.LevenshteinLevel("name_py", 2),
            cll.ElseLevel(),
        ],
    )
    some_side_without_id = "(l.rid is null or r.rid is null)"
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=prior,
        comparisons=[
            name,
            cl.ExactMatch("birth_date"),
            cl.ExactMatch("gender"),
            cl.ExactMatch("phone").configure(term_frequency_adjustments=True),
            cl.LevenshteinAtThresholds("address", [3, 8, 16]),
        ],
        blocking_rules_to_generate_predictions=[
            f"{rule} and {some_side_without_id}" for rule in PREDICTION_BLOCKS
        ],
        retain_intermediate_calculation_columns=False,
        additional_columns_to_retain=["rid"],
    )


# Candidate pairs: each rule alone misses a pair whose fields it reads carry a typo, so
# together they survive a typo in any two fields (name + birth date: phone or address
# still meet; birth date + address: the name's start and end with the birth year or day).
PREDICTION_BLOCKS = (
    "l.name_py = r.name_py",
    "l.phone = r.phone",
    "l.birth_date = r.birth_date",
    "l.address = r.address",
    "substr(l.name_py, 1, 2) = substr(r.name_py, 1, 2)"
    " and substr(l.birth_date, 1, 4) = substr(r.birth_date, 1, 4)",
    "substr(l.name_py, -3) = substr(r.name_py, -3)"
    " and substr(l.birth_date, 6, 5) = substr(r.birth_date, 6, 5)",
    "substr(l.name_py, 1, 3) = substr(r.name_py, 1, 3)"
    " and substr(l.address, 1, 6) = substr(r.address, 1, 6)",
    "substr(l.name_py, -3) = substr(r.name_py, -3)"
    " and substr(l.address, -8) = substr(r.address, -8)",
)
# Expectation maximisation's training blocks: each leaves the other fields free to learn.
TRAINING_BLOCKS = ("l.name_py = r.name_py", "l.birth_date = r.birth_date")
MIN_LABELLED_PAIRS = 200  # below this, m comes from EM rather than from shared IDs


def spark_db_api(spark: Any, checkpoint_dir: str) -> Any:
    """Splink's Spark backend on an existing session (lineage broken by checkpoints)."""
    from splink import SparkAPI

    spark.sparkContext.setCheckpointDir(checkpoint_dir)
    return SparkAPI(spark_session=spark, register_udfs_automatically=False)


def _labelled_pairs(rid: pd.Series) -> int:
    counts = rid.dropna().value_counts()
    return int((counts * (counts - 1) // 2).sum())


def _prior(rid: pd.Series) -> float:
    """Share of pairs of ID-bearing mentions that share their ID."""
    counts = rid.dropna().value_counts()
    n = int(counts.sum())
    if n < 2:
        return 1e-4
    same = float((counts * (counts - 1) / 2).sum())
    return min(max(same / (n * (n - 1) / 2), 1e-6), 0.5)


def score_pairs(
    feats: pd.DataFrame, db_api: Any = None, seed: int = 42, threshold: float = 0.0
) -> pd.DataFrame:
    """Splink predictions for pairs with an ID-less side, at or above ``threshold``."""
    from splink import DuckDBAPI, Linker

    columns = ["unique_id_l", "unique_id_r", "rid_l", "rid_r", "match_probability"]
    if feats["rid"].isna().sum() == 0 or len(feats) < 2:
        return pd.DataFrame(columns=columns)
    db_api = db_api or DuckDBAPI()
    table = db_api.register(feats)
    linker = Linker(table, splink_settings(_prior(feats["rid"])), log_level=logging.WARNING)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    if _labelled_pairs(feats["rid"]) >= MIN_LABELLED_PAIRS:
        linker.training.estimate_m_from_label_column("rid")
    else:  # too few mentions share a valid ID to learn from: learn m without labels
        from splink.blocking_rule_library import CustomRule

        for rule in TRAINING_BLOCKS:
            linker.training.estimate_parameters_using_expectation_maximisation(
                CustomRule(rule), estimate_without_term_frequencies=True
            )
    # Only pairs that can link leave the backend (on Spark they are collected to the driver).
    pairs = linker.inference.predict(
        threshold_match_probability=threshold or None, warning_mode="never"
    ).as_pandas_dataframe()
    return pairs[columns]


def cluster(feats: pd.DataFrame, pairs: pd.DataFrame, threshold: float = THRESHOLD) -> pd.DataFrame:
    """Citizen key, rule, probability and best partner per mention (see module doc)."""
    ids = feats["unique_id"].tolist()
    rid = dict(zip(ids, feats["rid"], strict=True))
    out: dict[str, tuple[str, str, float, str | None]] = {}
    for m, r in rid.items():
        if isinstance(r, str):
            out[m] = (r, "resident_id", 1.0, None)
    good = pairs[pairs["match_probability"] >= threshold]
    # Directed edges from an ID-less mention to its partner.
    edges: dict[str, list[tuple[float, str]]] = {}
    for a, b, p in zip(
        good["unique_id_l"], good["unique_id_r"], good["match_probability"], strict=True
    ):
        if a not in out:
            edges.setdefault(a, []).append((p, b))
        if b not in out:
            edges.setdefault(b, []).append((p, a))
    # Attach to anchors: direct first, then through attached ID-less mentions.
    rule = "splink"
    while True:
        attached: dict[str, tuple[str, str, float, str | None]] = {}
        for m, partners in edges.items():
            if m in out:
                continue
            best = max(
                ((min(p, out[b][2]), b) for p, b in partners if b in out),
                default=None,
            )
            if best is not None:
                attached[m] = (out[best[1]][0], rule, best[0], best[1])
        if not attached:
            break
        out.update(attached)
        rule = "splink_transitive"
    # The rest: components among ID-less mentions, or alone.
    parent = {m: m for m in ids if m not in out}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for m, partners in edges.items():
        if m in out:
            continue
        for _p, b in partners:
            if b in parent:
                ra, rb = find(m), find(b)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    best_edge = {m: max(edges.get(m, []), default=None) for m in parent}
    for m in parent:
        root = find(m)
        edge = best_edge[m]
        if edge is not None:
            out[m] = (f"U:{root}", "splink_unanchored", edge[0], edge[1])
        else:
            out[m] = (f"U:{m}", "unlinked", 1.0, None)
    return pd.DataFrame(
        [(m, *out[m]) for m in ids],
        columns=[
            "mention_id",
            "citizen_key",
            "match_rule",
            "match_probability",
            "matched_mention_id",
        ],
    )


def legal_rep_links(
    mentions: pd.DataFrame, keys: pd.DataFrame, firms: pd.DataFrame
) -> pd.DataFrame:
    """A legal representative named by name alone (a licence) is the citizen who
    represents the same unified enterprise under the same name elsewhere (the enterprise
    register, with an ID): rule ``legal_rep_of_enterprise``, when exactly one such citizen
    exists. ``firms``: the enterprise crosswalk (source_id, record_key, role,
    enterprise_key); only mentions left ``unlinked`` or ``splink_unanchored`` change."""
    subject = firms[firms["role"] == "subject"][["source_id", "record_key", "enterprise_key"]]
    reps = mentions[mentions["role"] == "legal_rep"][
        ["mention_id", "source_id", "record_key", "name", "name_is_pinyin"]
    ].merge(subject.drop_duplicates(["source_id", "record_key"]), on=["source_id", "record_key"])
    if reps.empty:
        return keys
    reps["name_key"] = [
        name_key(n, p) for n, p in zip(reps["name"], reps["name_is_pinyin"], strict=True)
    ]
    reps = reps.merge(keys, on="mention_id")
    anchored = reps[reps["match_rule"].isin(("resident_id", "resident_id_repaired"))]
    known = anchored.groupby(["enterprise_key", "name_key"]).agg(
        citizens=("citizen_key", "nunique"),
        citizen_key=("citizen_key", "first"),
        anchor=("mention_id", "first"),
    )
    known = known[known["citizens"] == 1]
    loose = reps[reps["match_rule"].isin(("unlinked", "splink_unanchored"))]
    found = loose.join(known[["citizen_key", "anchor"]], on=["enterprise_key", "name_key"],
                       rsuffix="_firm").dropna(subset=["citizen_key_firm"])  # fmt: skip
    if found.empty:
        return keys
    keys = keys.set_index("mention_id")
    keys.loc[found["mention_id"], "citizen_key"] = found["citizen_key_firm"].to_numpy()
    keys.loc[found["mention_id"], "match_rule"] = "legal_rep_of_enterprise"
    keys.loc[found["mention_id"], "match_probability"] = 1.0
    keys.loc[found["mention_id"], "matched_mention_id"] = found["anchor"].to_numpy()
    return keys.reset_index()


def link_citizens(
    mentions: pd.DataFrame,
    db_api_factory: Callable[[], Any] | None = None,
    threshold: float = THRESHOLD,
    firms: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The citizen crosswalk (:data:`CROSSWALK_COLUMNS`) for a frame of person mentions;
    with ``firms`` (the enterprise crosswalk), legal representatives named by name alone
    join their enterprise's registered representative (:func:`legal_rep_links`)."""
    mentions = mentions.drop_duplicates("mention_id").reset_index(drop=True)
    repaired = repaired_ids(mentions)
    feats = features(mentions)
    # Splink learns m from pairs sharing a valid ID: repaired IDs are not labels, but they
    # anchor their mentions in the clustering as the mention's own ID would.
    pairs = score_pairs(feats, db_api_factory() if db_api_factory else None, threshold=threshold)
    anchors = feats.assign(rid=feats["rid"].where(feats["rid"].notna(), repaired.to_numpy()))
    keys = cluster(anchors, pairs, threshold)
    fixed = keys["mention_id"].isin(mentions.loc[repaired.notna(), "mention_id"])
    keys.loc[fixed, "match_rule"] = "resident_id_repaired"
    if firms is not None:
        keys = legal_rep_links(mentions, keys, firms)
    crosswalk = mentions[["mention_id", "source_id", "record_key", "role"]].merge(
        keys, on="mention_id", how="left", validate="one_to_one"
    )
    log.info(
        "citizens: %d mentions -> %d citizens (%s)",
        len(crosswalk),
        crosswalk["citizen_key"].nunique(),
        crosswalk["match_rule"].value_counts().to_dict(),
    )
    return crosswalk[CROSSWALK_COLUMNS]
