"""Citizens: every person mention to one unified citizen.

1. **Deterministic**: mentions carrying a valid resident ID (GB 11643 checksum) are one
   citizen per ID (rule ``resident_id``, probability 1). Nothing else ever merges two
   different valid IDs. A mention whose ID fails its checksum (it lands flagged) is
   *repaired* when exactly one valid ID seen among the mentions explains the typo: the
   same first 17 characters (a wrong check character) or two adjacent characters
   swapped (rule ``resident_id_repaired``); otherwise it goes on as ID-less.
2. **Probabilistic** (Splink, DuckDB backend by default; the model is
   :mod:`citylake.entities.citizen_model`): a mention without a valid ID is compared with
   the other mentions that share its name (as pinyin, so homophone typos, traditional
   characters and romanized names meet; reordered words; a word of a Latin-letter name),
   its phone, its birth date, its address or the address's numbers, or parts of its name
   with parts of its birth date or address, so a pair with typos in two fields still
   meets. m probabilities come from the pairs that share a valid ID (a free labelled
   set) or, where too few exist (a department whose records carry no IDs, or FEBRL3 in
   ``citylake.bench.febrl``), from expectation maximisation; u from random pairs.
3. **Constrained clustering**: an ID-less mention joins the citizen (anchor) of its best
   scoring partner at or above :data:`THRESHOLD` (rule ``splink``), directly or through
   another ID-less mention already attached (rule ``splink_transitive``). Mentions that
   reach no anchor form citizens of their own by connected components over their links
   (``splink_unanchored``) or stay alone (``unlinked``).
4. **Through the enterprise**: a legal representative or contact named by name alone (a
   licence, a fire inspection) joins the citizen known at the same unified enterprise
   under that name in a record with an ID (its representative, an employee): rules
   ``legal_rep_of_enterprise`` / ``contact_of_enterprise``, :func:`enterprise_links`.

The same settings run on Splink's Spark backend: pass
``db_api_factory=lambda: spark_db_api(spark, checkpoint_dir)`` (``citizen_model``) to
:func:`link_citizens` (``tests/test_dbt_spark.py`` finds every mention of the test city
linked to the same citizen by the same rule on both engines).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import date
from functools import cache
from typing import Any

import pandas as pd

from citylake.entities.citizen_model import score_pairs

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
_NUMBER = re.compile(r"\d+")
# Address parts: Latin words and numbers, and Chinese segments up to their administrative
# suffix (市 / 区 / 街道 / 社区 / 路 / 号 / 幢 / 室 ...), so a part missing, added or moved
# costs one token rather than a long edit distance.
_ADDRESS_TOKEN = re.compile(
    r"[a-z]+|\d*[^\x00-\x7f\s]*?(?:街道|社区|单元|小区|[省市区县镇乡路街巷道村号栋幢楼室组])"
    r"|\d+|[^\x00-\x7f\s\d]+"
)


def address_tokens(address: object) -> list[str] | None:
    """The address's parts, deduplicated in order (see ``_ADDRESS_TOKEN``)."""
    if not isinstance(address, str) or not address.strip():
        return None
    return list(dict.fromkeys(_ADDRESS_TOKEN.findall(address.lower()))) or None


def address_numbers(address: object) -> list[str] | None:
    """The address's numbers (house, building, room; a postcode), which two people of one
    street rarely share all of: evidence apart from the words around them."""
    if not isinstance(address, str):
        return None
    return list(dict.fromkeys(_NUMBER.findall(address))) or None


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


def name_words(name: str) -> list[str] | None:
    """A Latin-letter name's words when it has more than one (a name in characters has
    none: its surname alone would block half the city together)."""
    words = [w for w in (_LATIN.sub("", w) for w in name.lower().split()) if w]
    return words if len(words) > 1 else None


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
    words = mentions["name"].where(is_pinyin.astype(bool)).map(name_words, na_action="ignore")
    name_py = pd.Series(
        [name_key(n, p) for n, p in zip(mentions["name"], is_pinyin, strict=True)],
        index=mentions.index,
        dtype=object,
    )
    return pd.DataFrame(
        {
            "unique_id": mentions["mention_id"],
            "rid": rid,
            "name_zh": name_zh.str.replace(r"\s+", "", regex=True),
            "name_py": name_py,
            # Wei Zhang / Zhang Wei -> weizhang; a one-word name (any in characters) is its key.
            "name_sorted": words.map(lambda w: "".join(sorted(w)), na_action="ignore").where(
                words.notna(), name_py
            ),
            "name_first": words.map(lambda w: w[0], na_action="ignore"),
            "name_last": words.map(lambda w: w[-1], na_action="ignore"),
            "name_words": words,
            "birth_date": birth,
            "gender": gender,
            "phone": mentions["phone"],
            "address": mentions["address"],
            "address_tokens": mentions["address"].map(address_tokens),
            "address_numbers": mentions["address"].map(address_numbers),
        }
    )


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


# A person named by name alone on an enterprise's record, and the rule that links them.
THROUGH_ENTERPRISE = {"legal_rep": "legal_rep_of_enterprise", "contact": "contact_of_enterprise"}
_ANCHORED = ("resident_id", "resident_id_repaired")


def enterprise_links(
    mentions: pd.DataFrame, keys: pd.DataFrame, firms: pd.DataFrame
) -> pd.DataFrame:
    """A legal representative or contact named by name alone (a licence, an inspection)
    is the citizen known at the same unified enterprise under the same name in a record
    with an ID (its representative in the register, an employee in the social insurance
    or employment records): rules :data:`THROUGH_ENTERPRISE`, when exactly one such
    citizen exists. ``firms``: the enterprise crosswalk (source_id, record_key, role,
    enterprise_key); only records naming one enterprise count, and only mentions left
    ``unlinked`` or ``splink_unanchored`` change."""
    firm_of = firms.groupby(["source_id", "record_key"])["enterprise_key"].agg(["nunique", "first"])
    firm_of = firm_of[firm_of["nunique"] == 1]["first"].rename("enterprise_key").reset_index()
    people = mentions[["mention_id", "source_id", "record_key", "role", "name", "name_is_pinyin"]]
    people = people.merge(firm_of, on=["source_id", "record_key"]).merge(keys, on="mention_id")
    if people.empty:
        return keys
    people["name_key"] = [
        name_key(n, p) for n, p in zip(people["name"], people["name_is_pinyin"], strict=True)
    ]
    known = (
        people[people["match_rule"].isin(_ANCHORED)]
        .groupby(["enterprise_key", "name_key"])
        .agg(citizens=("citizen_key", "nunique"), firm_citizen=("citizen_key", "first"),
             anchor=("mention_id", "first"))
    )  # fmt: skip
    known = known[known["citizens"] == 1]
    loose = people[
        people["match_rule"].isin(("unlinked", "splink_unanchored"))
        & people["role"].isin(list(THROUGH_ENTERPRISE))
    ]
    found = loose.join(known, on=["enterprise_key", "name_key"]).dropna(subset=["firm_citizen"])
    if found.empty:
        return keys
    keys = keys.set_index("mention_id")
    at = found["mention_id"]
    keys.loc[at, "citizen_key"] = found["firm_citizen"].to_numpy()
    keys.loc[at, "match_rule"] = found["role"].map(THROUGH_ENTERPRISE).to_numpy()
    keys.loc[at, "match_probability"] = 1.0
    keys.loc[at, "matched_mention_id"] = found["anchor"].to_numpy()
    return keys.reset_index()


def link_citizens(
    mentions: pd.DataFrame,
    db_api_factory: Callable[[], Any] | None = None,
    threshold: float = THRESHOLD,
    firms: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The citizen crosswalk (:data:`CROSSWALK_COLUMNS`) for a frame of person mentions;
    with ``firms`` (the enterprise crosswalk), legal representatives named by name alone
    and contacts join the citizen known at their enterprise (:func:`enterprise_links`)."""
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
        keys = enterprise_links(mentions, keys, firms)
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
