"""Forecast throughput on the city's own series: the counter-demand job beside Prophet.

The job's wall time (measured by the caller) and its chosen models' forecasts from the
latest backtest origin, against per-series Prophet fitted on the same history and scored
on the same hourly slots (``citylake.bench.forecasts`` has the scorer and the panel).
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from citylake.bench.forecasts import (
    PROPHET,
    SLOT_SCHEMA,
    ForecastBench,
    prophet_group,
    read_slots,
    scales_of,
    score,
    timed_run,
)
from citylake.forecasting import series as slots_of
from citylake.forecasting import work_calendar

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def bench_city(
    spark: SparkSession, scale: float, gold: Path, job_seconds: float
) -> list[ForecastBench]:
    """The counter-demand job's throughput (``job_seconds``) and Prophet on its latest
    backtest window, both scored on that window's hourly slots."""
    backtest = pd.read_parquet(gold / "counter_demand_backtest")
    hourly = backtest[backtest["grain"] == "hour"].copy()
    hourly["series"] = hourly["center_id"] + "/" + hourly["service_category"]
    n_series = backtest[["center_id", "service_category", "grain"]].drop_duplicates().shape[0]
    origin = hourly["origin"].max()
    window = hourly[(hourly["origin"] == origin) & hourly["chosen"]].copy()
    window["ds"] = pd.to_datetime(window["ds"])
    # The history as the job saw it: the hourly mart, on the series' open slots.
    arrivals = pd.read_parquet(gold / "fct_center_hourly_arrivals")
    arrivals["series"] = arrivals["center_id"] + "/" + arrivals["service_category"]
    arrivals["ds"] = pd.to_datetime(arrivals["arrival_hour"])
    calendar = work_calendar(
        arrivals["ds"].min().date() - timedelta(days=7), origin + timedelta(days=21)
    )
    frames = []
    for name, part in arrivals.groupby("series"):
        held = window[window["series"] == name]
        if held.empty:
            continue
        history = pd.DataFrame({"period": part["ds"], "y": part["arrivals"].astype("float64")})
        history = history[history["period"] < pd.Timestamp(origin)]
        pattern = slots_of.opening_pattern(history, calendar, "hour")
        first = history["period"].min().date()
        train = slots_of.observed(
            history, slots_of.slots(pattern, calendar, first, origin - timedelta(days=1))
        )
        test = held[["ds", "actual"]].rename(columns={"actual": "y"})
        test = test.assign(
            day=test["ds"].dt.date,
            hour=test["ds"].dt.hour.astype("int32"),
            kind=held["day_kind"].to_numpy(),
            dow=test["ds"].dt.weekday.astype(str),
            eve=0,
            rebound=0,
            lam=np.nan,
        )
        frame = pd.concat([train.assign(lam=np.nan, train=True), test.assign(train=False)])
        frames.append(frame.assign(series=name))
    slots = pd.concat(frames, ignore_index=True)
    slots["hour"] = slots["hour"].astype("int32")
    slots[["eve", "rebound"]] = slots[["eve", "rebound"]].astype("int32")
    slots = slots[[part.split()[0] for part in SLOT_SCHEMA.split(", ")]]
    scales = scales_of(slots)
    label = f"scale {scale:g}"
    chosen = window[["series", "ds", "forecast", "lo80", "hi80", "lo95", "hi95"]]
    rows = [
        ForecastBench(
            label,
            f"counter_demand job ({n_series} series, backtest + choice + forecast)",
            n_series,
            job_seconds,
            *score(slots, scales, chosen),
        )
    ]
    with tempfile.TemporaryDirectory(prefix="citylake-bench-city-") as tmp:
        source = Path(tmp) / "slots.parquet"
        slots.to_parquet(source, index=False, coerce_timestamps="us")
        data = read_slots(spark, source)
        forecasts, seconds = timed_run(spark, data, prophet_group, Path(tmp) / "p")
    rows.append(
        ForecastBench(
            label,
            PROPHET,
            int(slots["series"].nunique()),
            seconds,
            *score(slots, scales, forecasts),
        )
    )
    return rows
