"""Disaster pre-warnings, batch: every sensor reading landed so far, replayed per hazard and
district through the warning engine (``citylake.warnings``).

Reads the bronze tables of the four feeds a warning is judged from (rain gauges, weather
stations, river gauges, air monitors: their Delta logs' active Parquet files, so no Delta
jars are needed), turns them into one long table of readings, and runs one
``applyInPandas`` group per (hazard, district). A rain reading goes to every district's
group (its own district's level, the others' neighbour checks); the other feeds only to
their own district. Each group replays its readings in the order landing committed them,
which is what the streaming job (``transforms/warnings_stream.py``) sees micro-batch by
micro-batch, so both make the same warnings.

Output (gold ``warning_records``): lifecycle changes (issued / upgraded / downgraded /
lifted, with the evidence and the nowcast), readings excluded by quality control with
their reason, and notices for the data bureau (dropouts, out-of-order, corrected clocks).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from citylake.settings import load_settings
from citylake.warnings import criteria
from citylake.warnings.replay import CITY_WIDE, READING_COLUMNS, RECORD_SCHEMA, run_group

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "city_wide_districts",
    "feed_readings",
    "main",
    "route_readings",
    "sensor_readings",
    "warning_records",
]

log = logging.getLogger(__name__)


def feed_readings(frame: DataFrame, source_id: str) -> DataFrame:
    """One feed's landed rows (bronze columns) as readings (``READING_COLUMNS``, minus
    the routing key ``district_key``)."""
    from pyspark.sql import functions as F

    hazard = next(h for h, (source, _, _) in criteria.FEEDS.items() if source == source_id)
    metric = criteria.FEEDS[hazard][1]
    has_levels = "warning_level_m" in frame.columns
    return frame.select(
        F.lit(hazard).alias("hazard"),
        F.col("station_id").cast("string").alias("station_id"),
        F.col("district_code").cast("string").alias("district_code"),
        F.col("ts").cast("timestamp_ntz").alias("reading_at"),
        F.col(metric).cast("double").alias("value"),
        (F.col("warning_level_m") if has_levels else F.lit(None))
        .cast("double")
        .alias("warning_level"),
        (F.col("guaranteed_level_m") if has_levels else F.lit(None))
        .cast("double")
        .alias("guaranteed_level"),
        F.col("_loaded_at").cast("timestamp_ntz").alias("_loaded_at"),
        F.col("_source_ref").cast("string").alias("_source_ref"),
        F.col("_row_number").cast("long").alias("_row_number"),
    )


def city_wide_districts(readings: DataFrame) -> list[str]:
    """Every district with a station of a city-wide hazard (collects: batch or start-up only)."""
    from pyspark.sql import functions as F

    rows = (
        readings.where(F.col("hazard").isin(sorted(CITY_WIDE)))
        .select("district_code")
        .distinct()
        .collect()
    )
    return sorted(row[0] for row in rows)


def route_readings(readings: DataFrame, districts: Sequence[str]) -> DataFrame:
    """Readings routed to the district group(s) that judge them (``READING_COLUMNS``).

    A city-wide hazard's reading goes to every district of ``districts`` (its own
    district's level, the others' neighbour checks) and always to its own district; the
    other hazards' readings only to their own district. No collect, so the streaming job
    routes with the same function and a district list taken at start-up.
    """
    from pyspark.sql import functions as F

    own = F.array(F.col("district_code"))
    everyone = F.array_distinct(F.array(*[F.lit(d) for d in districts], F.col("district_code")))
    routed = F.when(F.col("hazard").isin(sorted(CITY_WIDE)), everyone).otherwise(own)
    return readings.withColumn("district_key", F.explode(routed)).select(*READING_COLUMNS)


def sensor_readings(feeds: dict[str, DataFrame]) -> DataFrame:
    """All feeds' readings, each routed to the district group(s) that judge it."""
    parts = [feed_readings(frame, source_id) for source_id, frame in feeds.items()]
    readings = parts[0]
    for part in parts[1:]:
        readings = readings.unionByName(part)
    return route_readings(readings, city_wide_districts(readings))


def warning_records(readings: DataFrame) -> DataFrame:
    """Every record of every (hazard, district) group (``RECORD_SCHEMA``)."""
    return readings.groupBy("hazard", "district_key").applyInPandas(run_group, RECORD_SCHEMA)


def read_feeds(spark: SparkSession, lake_bronze: dict[str, Path]) -> dict[str, DataFrame]:
    """The feeds' bronze snapshots (feeds not landed yet are left out)."""
    from citylake.warehouse.spark_session import read_delta_snapshot

    feeds = {}
    for source_id, path in lake_bronze.items():
        frame = read_delta_snapshot(spark, path)
        if frame is not None:
            feeds[source_id] = frame
    return feeds


def main(argv: list[str] | None = None) -> int:
    """Replay every landed reading through the engine; publish the records atomically."""
    from citylake.warehouse.spark_session import get_spark, write_parquet_atomically

    settings = load_settings()
    parser = argparse.ArgumentParser(description="Disaster pre-warnings from the sensor feeds.")
    parser.add_argument("--output", type=Path, default=settings.gold_dir / "warning_records")
    args = parser.parse_args(argv)

    spark = get_spark("citylake-warnings")
    sources = {source: settings.bronze_path(source) for source, _, _ in criteria.FEEDS.values()}
    feeds = read_feeds(spark, sources)
    if not feeds:
        raise SystemExit(f"no sensor feed landed yet in {settings.lake_root}: run the DAGs first")
    rows = write_parquet_atomically(warning_records(sensor_readings(feeds)), args.output)
    log.info("warnings from %s: %d records -> %s", sorted(feeds), rows, args.output)
    return rows


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    main()
