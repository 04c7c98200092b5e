"""Warnings in batch: sensor readings replayed per second, at several scales.

For each scale, a city of ``days`` days in its own temporary home: generate it, land the
four feeds a warning is judged from (the DAG tasks' code), then time the Spark warnings job
(``transforms/warnings.py``: every landed reading replayed per hazard and district, a rain
reading once per district) with the Spark session already started, and score its changes
against the injected events (``citylake.warnings.evaluate``).

``python -m citylake.bench.warnings_batch --scales 1,10`` prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import date

from citylake.warnings import FEEDS


@dataclass(frozen=True)
class WarningsBatch:
    scale: float
    readings: int
    seconds: float
    records: int
    false_per_district_week: float
    missed: int
    caused_by_sensor_fault: int

    @property
    def rate(self) -> float:
        return self.readings / self.seconds if self.seconds else 0.0


def measure(scale: float, days: int = 56, seed: int = 42) -> WarningsBatch:
    import pandas as pd

    from citylake.democity import generate_city
    from citylake.orchestration.pipeline import ingest
    from citylake.settings import load_settings
    from citylake.warehouse.spark_session import get_spark
    from citylake.warnings import evaluate
    from transforms import warnings

    with tempfile.TemporaryDirectory(prefix=f"citylake-warnings-{scale:g}-") as home:
        os.environ["CITYLAKE_HOME"] = home
        settings = load_settings()
        generate_city(
            settings.sources_root,
            settings.truth_root,
            seed=seed,
            days=days,
            start=date(2026, 9, 1),
            scale=scale,
            settings=settings,
        )
        readings = sum(ingest(source, settings=settings).landed for source, _, _ in FEEDS.values())
        spark = get_spark("citylake-bench-warnings")
        clock = time.perf_counter()
        records = warnings.main([])
        seconds = time.perf_counter() - clock
        frame = pd.read_parquet(settings.gold_dir / "warning_records")
        changes = frame[frame["record"] == "change"].copy()
        changes["at"] = pd.to_datetime(changes["at"])
        scores, _, totals = evaluate.score(changes, settings.truth_root)
        spark.stop()
    return WarningsBatch(
        scale=scale,
        readings=readings,
        seconds=seconds,
        records=records,
        false_per_district_week=totals["false_per_district_week"],
        missed=sum(s.missed for s in scores),
        caused_by_sensor_fault=totals["caused_by_sensor_fault"],
    )


def markdown(rows: list[WarningsBatch], command: str) -> list[str]:
    lines = [
        "",
        "## Warnings, batch: readings replayed per second",
        "",
        f"`{command}`: the Spark warnings job over every landed reading of the four feeds "
        "(56 days), Spark session already started; scored against the injected events.",
        "",
        "| scale | readings | seconds | readings/s | records | events missed | false per district-week | caused by a sensor fault |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.scale:g} | {r.readings:,} | {r.seconds:.1f} | {r.rate:,.0f} | {r.records:,} | "
        f"{r.missed} | {r.false_per_district_week:.2f} | {r.caused_by_sensor_fault} |"
        for r in rows
    ]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", default="1,10")
    parser.add_argument("--days", type=int, default=56)
    args = parser.parse_args(argv)
    rows = [measure(float(s), args.days) for s in args.scales.split(",") if s]
    command = f"python -m citylake.bench.warnings_batch --scales {args.scales} --days {args.days}"
    print("\n".join(markdown(rows, command)), flush=True)


if __name__ == "__main__":
    main()
