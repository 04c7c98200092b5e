"""Counter demand per service centre, category and hour, turned into counters by Erlang C.

Walking-skeleton baseline: seasonal naive, weekly, averaged over comparable weeks. The
per-series ``applyInPandas`` shape is the one a statsforecast model will plug into.

Calendar rules (Chinese public holidays from the ``holidays`` package are known future):

* A public holiday period (statutory days, bridging days off, and the weekend days inside
  the period; see ``china_calendar``) is closed: every opening hour of that weekday is
  forecast as 0 arrivals.
* A make-up working day (a weekend day worked to pay for a bridging day off;
  ``holidays.China().weekend_workdays``, the package has no WORKDAY category for China) is
  forecast like an ordinary weekday: the mean over the Monday–Friday sample days, with the
  union of their opening hours.
* In the history, holidays and make-up days are not comparable days: the sample for a
  weekday is its last ``history_weeks`` ordinary occurrences before the horizon.

Opening hours are the (weekday, hour) slots with arrivals on a sample day; inside them an
hour without a row counts as 0 arrivals. A weekday with no open slot gets no rows.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import holidays
import numpy as np
import pandas as pd

from citylake.settings import load_settings
from citylake.staffing import required_counters

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)

METHOD = "seasonal_naive_weekly_mean"
OUTPUT_SCHEMA = (
    "center_id string, service_category string, forecast_hour timestamp, "
    "expected_arrivals double, mean_handle_minutes double, counters_needed int, "
    "method string, generated_for date"
)
OUTPUT_COLUMNS = [part.split()[0] for part in OUTPUT_SCHEMA.split(", ")]
# How far back to look beyond ``history_weeks``: holiday clusters (Spring Festival,
# National Day) can knock several occurrences of one weekday out of the sample.
_LOOKBACK_SLACK_WEEKS = 6
_WEEKDAYS = range(5)


@dataclass(frozen=True)
class ForecastPlan:
    """Everything a per-series forecast needs besides the series itself."""

    horizon_start: date
    horizon_days: int
    history_weeks: int
    closed_days: frozenset[date]
    makeup_workdays: frozenset[date]
    target_wait_minutes: float
    target_service_level: float
    max_occupancy: float


def china_calendar(start: date, end: date) -> tuple[frozenset[date], frozenset[date]]:
    """Days off for a public holiday, and make-up working days, in China from start to end.

    The ``holidays`` package lists statutory days and bridging days off but not the plain
    weekend days inside a holiday period (National Day 2026 lists 10-01..03, 05..07, not
    Sunday 10-04). A holiday period is therefore taken as the whole run of consecutive
    non-working days around a listed holiday, which reproduces the State Council notices
    (e.g. 2026-10-01..07, 2026-02-15..23) and closes weekend-opening centres on those days.
    """
    # Margins so a run crossing ``start`` or ``end`` is still seen whole.
    low, high = start - timedelta(days=14), end + timedelta(days=14)
    cn = holidays.China(years=range(low.year, high.year + 1))
    closed: set[date] = set()
    run: list[date] = []
    day = low
    while day <= high + timedelta(days=1):
        if day <= high and not cn.is_working_day(day):
            run.append(day)
        else:
            if any(off in cn for off in run):
                closed.update(run)
            run = []
        day += timedelta(days=1)
    in_range = {start + timedelta(days=n) for n in range((end - start).days + 1)}
    makeup = frozenset(day for day in cn.weekend_workdays if day in in_range)
    return frozenset(closed & in_range), makeup


def _sample_days(first_day: date, plan: ForecastPlan) -> dict[int, list[date]]:
    """The last ``history_weeks`` ordinary occurrences of each weekday before the horizon."""
    samples: dict[int, list[date]] = {weekday: [] for weekday in range(7)}
    day = plan.horizon_start - timedelta(days=1)
    while day >= first_day:
        chosen = samples[day.weekday()]
        ordinary = day not in plan.closed_days and day not in plan.makeup_workdays
        if ordinary and len(chosen) < plan.history_weeks:
            chosen.append(day)
        day -= timedelta(days=1)
    return samples


def _empty_output() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype="object") for column in OUTPUT_COLUMNS})


def forecast_series(history: pd.DataFrame, plan: ForecastPlan) -> pd.DataFrame:
    """Forecast one (center_id, service_category) series; pure pandas, one call per group."""
    hours = pd.to_datetime(history["arrival_hour"]).dt.floor("h")
    keep = hours < pd.Timestamp(plan.horizon_start)
    if not keep.any():
        return _empty_output()
    center_id = history["center_id"].iloc[0]
    service_category = history["service_category"].iloc[0]

    rows = pd.DataFrame(
        {
            "day": hours[keep].dt.date,
            "hour": hours[keep].dt.hour,
            "arrivals": history.loc[keep, "arrivals"].astype("float64"),
            "handle": history.loc[keep, "mean_handle_minutes"].astype("float64"),
        }
    )
    # Arrivals x minutes, so the handle mean is weighted by arrivals and a missing handle
    # time (NaN) drops out of both sums.
    rows["handle_weight"] = rows["arrivals"].where(rows["handle"].notna(), 0.0)
    rows["handle_minutes"] = (rows["arrivals"] * rows["handle"]).fillna(0.0)
    by_slot = rows.groupby(["day", "hour"]).sum(numeric_only=True)
    grid = by_slot["arrivals"].unstack("hour").reindex(columns=range(24)).fillna(0.0)

    samples = _sample_days(min(rows["day"]), plan)
    samples[-1] = [day for weekday in _WEEKDAYS for day in samples[weekday]]  # make-up days
    profiles: dict[int, tuple[np.ndarray, list[int]]] = {}
    for key, days in samples.items():
        if not days:
            continue
        sample = grid.reindex(days).fillna(0.0)
        open_hours = [hour for hour in range(24) if (sample[hour] > 0).any()]
        profiles[key] = (sample.mean(axis=0).to_numpy(), open_hours)

    sample_days = {day for weekday in range(7) for day in samples[weekday]}
    used = by_slot[by_slot.index.get_level_values("day").isin(sample_days)]
    weight = used["handle_weight"].sum()
    handle = float(used["handle_minutes"].sum() / weight) if weight > 0 else float("nan")

    out: list[dict[str, object]] = []
    for offset in range(plan.horizon_days):
        day = plan.horizon_start + timedelta(days=offset)
        closed = day in plan.closed_days
        key = -1 if day in plan.makeup_workdays else day.weekday()
        if key not in profiles:
            continue
        mean_arrivals, open_hours = profiles[key]
        for hour in open_hours:
            expected = 0.0 if closed else float(mean_arrivals[hour])
            if expected == 0:
                counters: int | None = 0
            elif np.isnan(handle):
                counters = None  # arrivals but never a handle time: nothing to size with
            else:
                counters = required_counters(
                    expected,
                    handle,
                    target_wait_minutes=plan.target_wait_minutes,
                    target_service_level=plan.target_service_level,
                    max_occupancy=plan.max_occupancy,
                )
            out.append(
                {
                    "center_id": center_id,
                    "service_category": service_category,
                    "forecast_hour": datetime.combine(day, time(hour)),
                    "expected_arrivals": expected,
                    "mean_handle_minutes": handle,
                    "counters_needed": counters,
                    "method": METHOD,
                    "generated_for": plan.horizon_start,
                }
            )
    if not out:
        return _empty_output()
    frame = pd.DataFrame(out, columns=OUTPUT_COLUMNS)
    frame["counters_needed"] = frame["counters_needed"].astype("Int32")
    return frame


def forecast_counter_demand(
    arrivals: DataFrame,
    horizon_start: date,
    horizon_days: int = 7,
    history_weeks: int = 4,
    target_wait_minutes: float = 10.0,
    target_service_level: float = 0.8,
    max_occupancy: float = 0.85,
) -> DataFrame:
    """Hourly expected arrivals and counters needed for ``horizon_days`` from ``horizon_start``.

    ``arrivals``: center_id, service_category, arrival_hour (local hour start),
    arrivals, mean_handle_minutes. Rows at or after ``horizon_start`` are ignored, so the
    same function backtests from any origin.
    """
    from pyspark.sql import functions as F

    if horizon_days < 1 or history_weeks < 1:
        raise ValueError("horizon_days and history_weeks must be >= 1")
    # Fail on the driver, not in a Python worker, when the staffing targets are invalid.
    required_counters(1.0, 1.0, target_wait_minutes, target_service_level, max_occupancy)

    lookback_start = horizon_start - timedelta(weeks=history_weeks + _LOOKBACK_SLACK_WEEKS)
    horizon_end = horizon_start + timedelta(days=horizon_days - 1)
    closed, makeup = china_calendar(lookback_start, horizon_end)
    plan = ForecastPlan(
        horizon_start=horizon_start,
        horizon_days=horizon_days,
        history_weeks=history_weeks,
        closed_days=closed,
        makeup_workdays=makeup,
        target_wait_minutes=float(target_wait_minutes),
        target_service_level=float(target_service_level),
        max_occupancy=float(max_occupancy),
    )

    # A TIMESTAMP_NTZ column (DuckDB-written parquet) casts to session-local wall-clock time.
    arrival_hour = F.col("arrival_hour").cast("timestamp")
    arrival_day = F.to_date(arrival_hour)
    history = arrivals.select(
        F.col("center_id").cast("string").alias("center_id"),
        F.col("service_category").cast("string").alias("service_category"),
        arrival_hour.alias("arrival_hour"),
        F.col("arrivals").cast("long").alias("arrivals"),
        F.col("mean_handle_minutes").cast("double").alias("mean_handle_minutes"),
    ).where((arrival_day >= F.lit(lookback_start)) & (arrival_day < F.lit(horizon_start)))

    # A plain function (not functools.partial) so pyspark can read its pandas type hints.
    def forecast_group(group: pd.DataFrame) -> pd.DataFrame:
        return forecast_series(group, plan)

    return history.groupBy("center_id", "service_category").applyInPandas(
        forecast_group, schema=OUTPUT_SCHEMA
    )


def main(argv: list[str] | None = None) -> int:
    """Read the hourly arrivals mart, forecast, publish atomically; return the row count."""
    from pyspark.sql import functions as F

    from citylake.warehouse.spark_session import get_spark, write_parquet_atomically

    settings = load_settings()
    parser = argparse.ArgumentParser(description="Forecast counter demand per centre and hour.")
    parser.add_argument(
        "--input", type=Path, default=settings.gold_dir / "fct_center_hourly_arrivals"
    )
    parser.add_argument(
        "--output", type=Path, default=settings.gold_dir / "counter_demand_forecast"
    )
    parser.add_argument(
        "--horizon-start",
        type=date.fromisoformat,
        default=None,
        help="first forecast day (default: the day after the last arrival hour)",
    )
    parser.add_argument("--horizon-days", type=int, default=7)
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

    forecast = forecast_counter_demand(arrivals, horizon_start, horizon_days=args.horizon_days)
    rows = write_parquet_atomically(forecast, args.output)
    log.info(
        "counter demand from %s for %d days: %d rows -> %s",
        horizon_start,
        args.horizon_days,
        rows,
        args.output,
    )
    return rows


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    main()
