"""The Splink model behind the citizen linker: comparisons, blocking, training, scoring.

Fields (built by :func:`citylake.entities.citizens.features`): the name as characters, as
pinyin, with its words sorted and, for names in Latin letters, its words; the birth date;
gender; phone; the address, its parts and its numbers. Every function used is native to
DuckDB and Spark SQL except Jaro-Winkler, whose Spark UDF ships inside Splink's wheel
(:func:`citylake.warehouse.spark_session.spark_session` puts it on the classpath).

Training: u from random pairs. m from pairs sharing a valid resident ID when there are at
least :data:`MIN_LABELLED_PAIRS` of them; otherwise (a department whose records carry no
IDs, or FEBRL3) by expectation maximisation over :data:`TRAINING_BLOCKS`, with the prior
estimated from :data:`DETERMINISTIC_RULES` at the recall the trained m values imply.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)

SAME_CHARACTERS, SAME_PINYIN = "same characters", "same pinyin"
SAME_BIRTH, SAME_ADDRESS = "same birth date", "same address"

# Candidate pairs: each rule alone misses a pair whose fields it reads carry a typo, so
# together they survive a typo in any two fields (name + birth date: phone, address or
# the address's numbers still meet; birth date + address: the name's start and end with
# the birth year or day, or a word of a Latin-letter name).
PREDICTION_BLOCKS = (
    "l.name_py = r.name_py",
    "l.name_sorted = r.name_sorted",
    "l.name_first = r.name_first",
    "l.name_last = r.name_last",
    "l.name_first = r.name_last",
    "l.phone = r.phone",
    "l.birth_date = r.birth_date",
    "l.address = r.address",
    "l.address_numbers = r.address_numbers",
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
# Without labels, the prior is the share of pairs these rules join divided by the share
# of true matches they find; that recall is first assumed (Splink's usual guess), then
# read off the EM-trained m probabilities (:func:`implied_recall`).
DETERMINISTIC_RULES = (
    "l.name_py = r.name_py and l.birth_date = r.birth_date",
    "l.name_py = r.name_py and l.address = r.address",
)
ASSUMED_RECALL = 0.7
MIN_LABELLED_PAIRS = 200  # below this, m comes from EM rather than from shared IDs


def _comparisons() -> dict[str, Any]:
    """Each comparison under the feature column whose absence makes it pointless."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name_py"),
            cll.ExactMatchLevel("name_zh").configure(
                tf_adjustment_column="name_zh", label_for_charts=SAME_CHARACTERS
            ),
            cll.ExactMatchLevel("name_py").configure(
                tf_adjustment_column="name_py", label_for_charts=SAME_PINYIN
            ),
            cll.ExactMatchLevel("name_sorted").configure(label_for_charts="same words, reordered"),
            cll.LevenshteinLevel("name_py", 2),
            cll.JaroWinklerLevel("name_py", 0.9),
            cll.LevenshteinLevel("name_sorted", 3),
            cll.ArrayIntersectLevel("name_words", 1).configure(label_for_charts="a word shared"),
            cll.ElseLevel(),
        ],
    )
    birth = cl.CustomComparison(
        output_column_name="birth_date",
        comparison_levels=[
            cll.NullLevel("birth_date"),
            cll.ExactMatchLevel("birth_date").configure(label_for_charts=SAME_BIRTH),
            cll.LevenshteinLevel("birth_date", 1),
            cll.LevenshteinLevel("birth_date", 2),
            cll.ElseLevel(),
        ],
    )
    # Parts of the address shared: a part missing, added or moved costs one part rather
    # than a long edit distance. Three parts are a street in the city's addresses.
    address = cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.NullLevel("address"),
            cll.ExactMatchLevel("address").configure(label_for_charts=SAME_ADDRESS),
            cll.LevenshteinLevel("address", 3),
            cll.LevenshteinLevel("address", 8),
            cll.LevenshteinLevel("address", 16),
            cll.ArrayIntersectLevel("address_tokens", 5),
            cll.ArrayIntersectLevel("address_tokens", 3),
            cll.ElseLevel(),
        ],
    )
    numbers = cl.CustomComparison(
        output_column_name="address_numbers",
        comparison_levels=[
            # Two equal addresses were counted once already: their numbers add nothing
            # (family members share an address; counting it twice merged them).
            cll.CustomLevel(
                "address_numbers_l is null or address_numbers_r is null or address_l = address_r",
                label_for_charts="no numbers, or the same address",
            ).configure(is_null_level=True),
            cll.ExactMatchLevel("address_numbers"),
            cll.ArrayIntersectLevel("address_numbers", 2),
            cll.ArrayIntersectLevel("address_numbers", 1),
            cll.ElseLevel(),
        ],
    )
    return {
        "name_py": name,
        "birth_date": birth,
        "gender": cl.ExactMatch("gender"),
        "phone": cl.ExactMatch("phone").configure(term_frequency_adjustments=True),
        "address": address,
        "address_numbers": numbers,
    }


def splink_settings(prior: float, present: Collection[str] | None = None) -> Any:
    """Comparisons and prediction blocking (each rule keeps pairs with an ID-less side);
    with ``present``, only comparisons of fields some mention fills: an empty field
    carries no evidence, and its levels are never observed in random pairs, which makes
    u sampling read every chunk."""
    from splink import SettingsCreator

    some_side_without_id = "(l.rid is null or r.rid is null)"
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=prior,
        comparisons=[
            c for column, c in _comparisons().items() if present is None or column in present
        ],
        blocking_rules_to_generate_predictions=[
            f"{rule} and {some_side_without_id}" for rule in PREDICTION_BLOCKS
        ],
        retain_intermediate_calculation_columns=False,
        additional_columns_to_retain=["rid"],
    )


def spark_db_api(spark: Any, checkpoint_dir: str) -> Any:
    """Splink's Spark backend on an existing session (lineage broken by checkpoints); the
    session must have Splink's similarity jar (``spark_session`` adds it)."""
    from splink import SparkAPI

    spark.sparkContext.setCheckpointDir(checkpoint_dir)
    return SparkAPI(spark_session=spark, register_udfs_automatically=True)


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


def implied_recall(model: dict[str, Any], feats: pd.DataFrame) -> float:
    """Share of true matches :data:`DETERMINISTIC_RULES` find, by the model's own m
    probabilities (fields compared independently, as the model assumes): the name equal,
    and the birth date or the address equal, where both sides have them."""
    m = {
        (c["output_column_name"], level.get("label_for_charts")): level.get("m_probability") or 0.0
        for c in model["comparisons"]
        for level in c["comparison_levels"]
    }

    def both(column: str) -> float:  # share of pairs with the field on both sides
        return float(feats[column].notna().mean()) ** 2

    name = both("name_py") * (m[("name", SAME_CHARACTERS)] + m[("name", SAME_PINYIN)])
    birth = both("birth_date") * m[("birth_date", SAME_BIRTH)]
    address = both("address") * m[("address", SAME_ADDRESS)]
    return min(max(name * (birth + address - birth * address), 0.05), 1.0)


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
    present = [c for c in feats.columns if feats[c].notna().sum() >= 2]
    settings = splink_settings(_prior(feats["rid"]), present)
    linker = Linker(table, settings, log_level=logging.WARNING)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    if _labelled_pairs(feats["rid"]) >= MIN_LABELLED_PAIRS:
        linker.training.estimate_m_from_label_column("rid")
    else:  # too few mentions share a valid ID to learn from: learn m without labels
        from splink.blocking_rule_library import CustomRule

        rules = [CustomRule(rule) for rule in DETERMINISTIC_RULES]
        linker.training.estimate_probability_two_random_records_match(rules, ASSUMED_RECALL)
        for rule in TRAINING_BLOCKS:
            linker.training.estimate_parameters_using_expectation_maximisation(
                CustomRule(rule), estimate_without_term_frequencies=True
            )
        recall = implied_recall(linker.misc.save_model_to_json(), feats)
        log.info("citizens: EM-trained m; the prior's rules find %.0f%% of matches", 100 * recall)
        linker.training.estimate_probability_two_random_records_match(rules, recall)
    # Only pairs that can link leave the backend (on Spark they are collected to the driver).
    pairs = linker.inference.predict(
        threshold_match_probability=threshold or None, warning_mode="never"
    ).as_pandas_dataframe()
    return pairs[columns]
