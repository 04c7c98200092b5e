"""Counter demand: every service centre's visits forecast by hour and by day, with intervals.

Series: each (centre, service category) by hour, and each centre's daily total
(``service_category = '__all__'``, grain ``day``). Each series is one
``groupBy(...).applyInPandas`` group running ``citylake.forecasting.forecast_series``: a
rolling-origin backtest of every candidate model (seasonal naive, statsforecast AutoETS
and MSTL, a Poisson calendar GLM), the lowest-MASE model refitted on the whole history
and forecast ``horizon_days`` ahead with 80 % and 95 % intervals. Nothing is collected to
the driver, so a cluster runs the same job unchanged.

Chinese public holidays and make-up working days (the ``holidays`` package) are known
future information: a holiday period closes a centre (forecast 0), a make-up day opens it
like a working day, and holiday eves and rebounds are model features.

Outputs (gold): ``counter_demand_backtest`` (every model's backtest forecasts beside the
actuals), ``counter_demand_forecast`` (the chosen model's forecast, with the counters each
category would need on its own counters by Erlang C from its measured handling time) and
``counter_demand_replay`` (the same table for the latest backtest window, so the staffing
plan can be set against the queues that really formed).
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from citylake.forecasting import (
    MODELS,
    OUTPUT_SCHEMA,
    BacktestPlan,
    forecast_series,
    work_calendar,
)
from citylake.forecasting.calendar import china_calendar
from citylake.settings import load_settings
from citylake.staffing import required_counters

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = [
    "china_calendar",
    "demand_series",
    "forecast_counter_demand",
    "forecast_table",
    "main",
    "replay_rows",
]

log = logging.getLogger(__name__)

DAILY_TOTAL = "__all__"
SERIES_KEYS = ["center_id", "service_category", "grain"]
# Handling time is measured over the last weeks before the horizon (it drifts slowly).
HANDLE_WINDOW_DAYS = 28
FORECAST_SCHEMA = (
    "center_id string, service_category string, grain string, forecast_hour timestamp, "
    "day_kind string, expected_arrivals double, lo80 double, hi80 double, lo95 double, "
    "hi95 double, model string, mean_handle_minutes double, counters_needed int, "
    "generated_for date"
)


@dataclass(frozen=True)
class StaffingTargets:
    target_wait_minutes: float = 10.0
    target_service_level: float = 0.8
    max_occupancy: float = 0.85


def demand_series(arrivals: DataFrame, horizon_start: date) -> DataFrame:
    """The hourly category series and the daily centre totals: keys, period, y."""
    from pyspark.sql import functions as F

    # Wall-clock hours (the lake's TIMESTAMP_NTZ) all the way into pandas: no time-zone
    # conversion per group on the way in or out.
    hour = F.col("arrival_hour").cast("timestamp_ntz")
    history = arrivals.where(hour < F.lit(horizon_start).cast("timestamp_ntz")).select(
        F.col("center_id").cast("string").alias("center_id"),
        F.col("service_category").cast("string").alias("service_category"),
        hour.alias("period"),
        F.col("arrivals").cast("double").alias("y"),
    )
    hourly = history.groupBy("center_id", "service_category", "period").agg(F.sum("y").alias("y"))
    daily = history.groupBy("center_id", F.date_trunc("day", "period").alias("period")).agg(
        F.sum("y").alias("y")
    )
    return hourly.withColumn("grain", F.lit("hour")).unionByName(
        daily.withColumn("service_category", F.lit(DAILY_TOTAL)).withColumn("grain", F.lit("day"))
    )


def forecast_counter_demand(
    arrivals: DataFrame,
    horizon_start: date,
    horizon_days: int = 14,
    origins: int = 4,
    models: tuple[str, ...] = tuple(MODELS),
) -> DataFrame:
    """Backtest and forecast rows of every series (``citylake.forecasting.OUTPUT_SCHEMA``).

    ``arrivals``: center_id, service_category, arrival_hour (local hour start), arrivals.
    Rows at or after ``horizon_start`` are ignored, so the job replays from any day.
    """
    from pyspark.sql import functions as F

    if horizon_days < 1 or origins < 0:
        raise ValueError("horizon_days must be >= 1 and origins >= 0")
    unknown = sorted(set(models) - set(MODELS))
    if unknown or not models:
        raise ValueError(f"unknown models {unknown}; the models are {sorted(MODELS)}")
    series = demand_series(arrivals, horizon_start)
    first = series.select(F.to_date(F.min("period"))).first()
    if first is None or first[0] is None:
        raise ValueError(f"no arrivals before {horizon_start}")
    horizon_end = horizon_start + timedelta(days=horizon_days - 1)
    plan = BacktestPlan(
        horizon_start=horizon_start,
        horizon_days=horizon_days,
        origins=origins,
        models=tuple(models),
        calendar=work_calendar(first[0] - timedelta(days=7), horizon_end),
    )

    # A plain function (not functools.partial) so pyspark can read its pandas type hints.
    def forecast_group(group: pd.DataFrame) -> pd.DataFrame:
        key = {name: str(group[name].iloc[0]) for name in ("center_id", "service_category")}
        grain = str(group["grain"].iloc[0])
        return forecast_series(group[["period", "y"]], key, grain, plan)

    return series.groupBy(*SERIES_KEYS).applyInPandas(forecast_group, schema=OUTPUT_SCHEMA)


def handle_minutes(arrivals: DataFrame, horizon_start: date) -> DataFrame:
    """Arrival-weighted mean handling minutes (called -> finished) per centre and category."""
    from pyspark.sql import functions as F

    hour = F.col("arrival_hour").cast("timestamp")
    since = horizon_start - timedelta(days=HANDLE_WINDOW_DAYS)
    recent = arrivals.where(
        (hour < F.lit(horizon_start).cast("timestamp"))
        & (hour >= F.lit(since).cast("timestamp"))
        & F.col("mean_handle_minutes").isNotNull()
    )
    weight = F.col("arrivals").cast("double")
    return recent.groupBy("center_id", "service_category").agg(
        (F.sum(weight * F.col("mean_handle_minutes")) / F.sum(weight)).alias("mean_handle_minutes")
    )


def forecast_table(
    rows: DataFrame, handle: DataFrame, generated_for: date, targets: StaffingTargets
) -> DataFrame:
    """Forecast rows (``OUTPUT_SCHEMA``) as the published table: hourly rows get each
    category's dedicated counters by Erlang C from its measured handling time."""
    from pyspark.sql import functions as F

    # Fail on the driver, not in a Python worker, when the staffing targets are invalid.
    required_counters(1.0, 1.0, **targets.__dict__)

    @F.pandas_udf("int")  # type: ignore[call-overload]
    def counters(arrivals: pd.Series, minutes: pd.Series) -> pd.Series:
        out = [
            None
            if pd.isna(m) and a > 0
            else (0 if a <= 0 else required_counters(a, m, **targets.__dict__))
            for a, m in zip(arrivals, minutes, strict=True)
        ]
        return pd.Series(out, dtype="Int32")

    forecast = rows.join(handle, ["center_id", "service_category"], "left")
    return forecast.select(
        "center_id",
        "service_category",
        "grain",
        F.col("ds").alias("forecast_hour"),
        "day_kind",
        F.col("forecast").alias("expected_arrivals"),
        "lo80",
        "hi80",
        "lo95",
        "hi95",
        "model",
        "mean_handle_minutes",
        F.when(F.col("grain") == "hour", counters("forecast", "mean_handle_minutes")).alias(
            "counters_needed"
        ),
        F.lit(generated_for).alias("generated_for"),
    )


def replay_rows(result: DataFrame) -> tuple[DataFrame, date | None]:
    """The chosen models' forecasts from the latest backtest origin, and that origin.

    Planned like a real forecast, they give the plan the centre would have had for days
    whose actual queues are known: the plan-vs-actual comparison.
    """
    from pyspark.sql import functions as F

    backtest = result.where((F.col("record") == "backtest") & F.col("chosen"))
    latest = backtest.select(F.max("origin")).first()
    if latest is None or latest[0] is None:
        return backtest.limit(0), None
    return backtest.where(F.col("origin") == F.lit(latest[0])), latest[0]


def main(argv: list[str] | None = None) -> int:
    """Read the hourly arrivals mart, backtest, forecast, publish both; return forecast rows."""
    from pyspark.sql import functions as F

    from citylake.warehouse.spark_session import get_spark, write_parquet_atomically

    settings = load_settings()
    parser = argparse.ArgumentParser(description="Forecast counter demand per centre and hour.")
    gold = settings.gold_dir
    parser.add_argument("--input", type=Path, default=gold / "fct_center_hourly_arrivals")
    parser.add_argument("--output", type=Path, default=gold / "counter_demand_forecast")
    parser.add_argument("--backtest", type=Path, default=gold / "counter_demand_backtest")
    parser.add_argument(
        "--replay",
        type=Path,
        default=gold / "counter_demand_replay",
        help="the latest backtest origin's chosen forecasts, for plan vs actual",
    )
    parser.add_argument(
        "--horizon-start",
        type=date.fromisoformat,
        default=None,
        help="first forecast day (default: the day after the last arrival hour)",
    )
    parser.add_argument("--horizon-days", type=int, default=14)
    parser.add_argument("--origins", type=int, default=4, help="rolling backtest origins")
    parser.add_argument(
        "--models", default=",".join(MODELS), help="candidate models, comma-separated"
    )
    args = parser.parse_args(argv)

    spark = get_spark("citylake-counter-demand")
    arrivals = spark.read.parquet(str(args.input))
    horizon_start: date | None = args.horizon_start
    if horizon_start is None:
        # A date (not a timestamp) comes back to Python without time-zone conversion.
        last_day = arrivals.select(
            F.date_add(F.to_date(F.max(F.col("arrival_hour").cast("timestamp"))), 1)
        ).first()
        if last_day is None or last_day[0] is None:
            raise SystemExit(f"no arrivals in {args.input}")
        horizon_start = last_day[0]

    models = tuple(name.strip() for name in args.models.split(",") if name.strip())
    result = forecast_counter_demand(
        arrivals, horizon_start, args.horizon_days, args.origins, models
    ).cache()  # read twice (backtest and forecast): fit every series once
    targets = StaffingTargets()
    try:
        backtest_rows = write_parquet_atomically(
            result.where(F.col("record") == "backtest").drop("record"), args.backtest
        )
        forecast = result.where(F.col("record") == "forecast")
        table = forecast_table(
            forecast, handle_minutes(arrivals, horizon_start), horizon_start, targets
        )
        rows = write_parquet_atomically(table, args.output)
        # Handling time as known at the origin, not after it; no origin: an empty replay,
        # never a stale one from an earlier run.
        replay, origin = replay_rows(result)
        since = origin or horizon_start
        replayed = forecast_table(replay, handle_minutes(arrivals, since), since, targets)
        write_parquet_atomically(replayed, args.replay)
    finally:
        result.unpersist()
    log.info(
        "counter demand from %s for %d days: %d forecast rows -> %s, %d backtest rows -> %s",
        horizon_start,
        args.horizon_days,
        rows,
        args.output,
        backtest_rows,
        args.backtest,
    )
    return rows


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    main()
