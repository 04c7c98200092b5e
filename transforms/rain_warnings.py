"""Rainstorm warnings (blue / yellow / orange / red) from rain gauges, with their lifecycle.

Signal criteria (China Meteorological Administration), each "will reach, or has reached
and rain may continue":

| level  | accumulation | window |
|--------|--------------|--------|
| blue   | >= 50 mm     | 12 h   |
| yellow | >= 50 mm     | 6 h    |
| orange | >= 50 mm     | 3 h    |
| red    | >= 100 mm    | 3 h    |

Per reading, trailing accumulations are sums over event-time ranges (a gap in the feed
contributes nothing instead of stretching a row-count window). "Will reach" is a
persistence nowcast: for a window W and lookahead L,
``projection = accumulation over (W - L) + (rain in the last hour) * L / 60``.
The warned level is the higher of the projected and the observed level; a warning is
issued, upgraded (never downgraded while active) and lifted once neither projection nor
observation reaches any level for an hour.
"""

from __future__ import annotations

import argparse
import logging
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import pandas as pd

from citylake.settings import load_settings

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

log = logging.getLogger(__name__)


class Level(NamedTuple):
    name: str
    window_hours: int
    threshold_mm: float


# Ordered by severity: the index + 1 is the level's rank, 0 means no level.
LEVELS: tuple[Level, ...] = (
    Level("blue", 12, 50.0),
    Level("yellow", 6, 50.0),
    Level("orange", 3, 50.0),
    Level("red", 3, 100.0),
)
WINDOW_HOURS = sorted({level.window_hours for level in LEVELS})
LIFT_AFTER = timedelta(hours=1)
OUTPUT_SCHEMA = (
    "station_id string, district string, level string, action string, at timestamp, "
    "basis string, accumulation_mm double, window_hours int"
)
OUTPUT_COLUMNS = [part.split()[0] for part in OUTPUT_SCHEMA.split(", ")]


def _level_rank(accumulation: dict[int, Column]) -> Column:
    """Highest rank whose window accumulation reaches its threshold, else 0."""
    from pyspark.sql import functions as F

    rank = F.lit(0)
    # Later (more severe) levels win because each ``when`` wraps the previous result.
    for index, level in enumerate(LEVELS, start=1):
        reached = accumulation[level.window_hours] >= level.threshold_mm
        rank = F.when(reached, F.lit(index)).otherwise(rank)
    return rank


def warning_states(readings: DataFrame, lookahead_minutes: int = 60) -> DataFrame:
    """Per reading: observed and projected accumulations per window and the level each reaches."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if not 0 <= lookahead_minutes < 60 * min(WINDOW_HOURS):
        raise ValueError(
            f"lookahead_minutes must be in [0, {60 * min(WINDOW_HOURS)}), got {lookahead_minutes}"
        )
    # A TIMESTAMP_NTZ column (DuckDB-written parquet) casts to session-local wall-clock time.
    frame = readings.select(
        F.col("station_id").cast("string").alias("station_id"),
        F.col("district").cast("string").alias("district"),
        F.col("ts").cast("timestamp").alias("ts"),
        F.col("rain_mm").cast("double").alias("rain_mm"),
    ).where(F.col("ts").isNotNull())
    frame = frame.withColumn("_epoch", F.col("ts").cast("long"))

    by_time = Window.partitionBy("station_id").orderBy("_epoch")

    def trailing(minutes: int) -> Column:
        # A reading at ts covers (ts - 5 min, ts]; the window ending at t holds readings with
        # ts in (t - minutes, t]. Rounding drops float noise so 50.0 mm reaches 50 mm.
        frame_ = by_time.rangeBetween(-(minutes * 60 - 1), 0)
        return F.round(F.coalesce(F.sum("rain_mm").over(frame_), F.lit(0.0)), 6)

    last_hour = trailing(60)
    observed = {hours: trailing(hours * 60) for hours in WINDOW_HOURS}
    ahead = lookahead_minutes / 60
    projected = {
        hours: F.round(trailing(hours * 60 - lookahead_minutes) + last_hour * ahead, 6)
        for hours in WINDOW_HOURS
    }
    columns = [F.col(name) for name in ("station_id", "district", "ts")]
    columns += [observed[hours].alias(f"obs_{hours}h") for hours in WINDOW_HOURS]
    columns += [projected[hours].alias(f"proj_{hours}h") for hours in WINDOW_HOURS]
    states = frame.select(*columns)
    obs = {hours: F.col(f"obs_{hours}h") for hours in WINDOW_HOURS}
    proj = {hours: F.col(f"proj_{hours}h") for hours in WINDOW_HOURS}
    return states.withColumn("obs_level", _level_rank(obs)).withColumn(
        "proj_level", _level_rank(proj)
    )


def lifecycle(states: pd.DataFrame) -> pd.DataFrame:
    """Issued / upgraded / lifted events for one station, from its time-ordered states.

    Pure pandas so the same state machine can later run in a streaming state function.
    """
    events: list[dict[str, Any]] = []
    active = 0
    last_reached: pd.Timestamp | None = None
    for row in states.sort_values("ts").to_dict("records"):
        obs_level, proj_level = int(row["obs_level"]), int(row["proj_level"])
        reached = max(obs_level, proj_level)
        ts = pd.Timestamp(row["ts"])
        if reached > 0:
            if reached > active:
                # "Has reached" outranks "will reach" when both hold.
                basis = "observed" if obs_level >= reached else "forecast"
                action = "upgraded" if active else "issued"
                events.append(_event(row, LEVELS[reached - 1], action, ts, basis))
                active = reached
            last_reached = ts
        elif active and last_reached is not None and ts - last_reached >= LIFT_AFTER:
            events.append(_event(row, LEVELS[active - 1], "lifted", ts, "observed"))
            active = 0
    return pd.DataFrame(events, columns=OUTPUT_COLUMNS)


def _event(
    row: dict[str, Any], level: Level, action: str, ts: pd.Timestamp, basis: str
) -> dict[str, Any]:
    prefix = "obs" if basis == "observed" else "proj"
    return {
        "station_id": row["station_id"],
        "district": row["district"],
        "level": level.name,
        "action": action,
        "at": ts,
        "basis": basis,
        "accumulation_mm": float(row[f"{prefix}_{level.window_hours}h"]),
        "window_hours": level.window_hours,
    }


def rain_warnings(readings: DataFrame, lookahead_minutes: int = 60) -> DataFrame:
    """Warning lifecycle events per station.

    ``readings``: station_id, district, ts (end of a 5-minute reading), rain_mm.
    Output: station_id, district, level, action ('issued' | 'upgraded' | 'lifted'), at,
    basis ('forecast' | 'observed'), accumulation_mm (what triggered it), window_hours.
    """
    states = warning_states(readings, lookahead_minutes)
    return states.groupBy("station_id").applyInPandas(lifecycle, schema=OUTPUT_SCHEMA)


def main(argv: list[str] | None = None) -> int:
    """Read the 5-minute rain mart, derive warnings, publish atomically; return the row count."""
    from citylake.warehouse.spark_session import get_spark, write_parquet_atomically

    settings = load_settings()
    parser = argparse.ArgumentParser(description="Rainstorm warnings from rain gauges.")
    parser.add_argument("--input", type=Path, default=settings.gold_dir / "fct_rain_5min")
    parser.add_argument("--output", type=Path, default=settings.gold_dir / "rain_warnings")
    parser.add_argument("--lookahead-minutes", type=int, default=60)
    args = parser.parse_args(argv)

    spark = get_spark("citylake-rain-warnings")
    readings = spark.read.parquet(str(args.input))
    rows = write_parquet_atomically(rain_warnings(readings, args.lookahead_minutes), args.output)
    log.info("rain warnings: %d lifecycle events -> %s", rows, args.output)
    return rows


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    main()
