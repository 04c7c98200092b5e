"""Forecast throughput: series forecast per second, citylake's models beside per-series Prophet.

Every run is a Spark ``groupBy(series).applyInPandas`` with one group per series (the
counter-demand job's pattern, and Databricks' fine-grained forecasting pattern for
Prophet), timed as a whole job that writes its forecasts to Parquet. Forecasts are then
scored on the same held-out slots: MASE (absolute error over the series' mean
week-on-week change in its training window, averaged over slots), WAPE, and the share of
actuals inside the 80 % and 95 % intervals.

* :func:`bench_panel`: a synthetic panel of hourly service-centre series (default 10,000)
  with a known Poisson intensity: opening hours and days, an hour-of-day shape, weekday
  levels, a day-level noise, Mid-Autumn and National Day 2026 closures with their eves,
  rebounds and make-up days in the history; 14 ordinary days held out. Forecasters:
  each citylake candidate alone (fit + predict + 80/95 % intervals), Prophet alone (fit +
  predict with its sampled intervals, Chinese holidays given), the oracle (the true
  intensity: the floor on Poisson counts), and the whole citylake forecast (rolling-origin
  backtest of every candidate, choice, refit) on the first ``choice_series`` series.
* ``forecast_city.bench_city``: the city's own series at one scale: Prophet forecasts the
  latest backtest window of the counter-demand job, scored beside the model that job chose.

``python -m citylake.bench.forecasts --series 2000`` runs the panel alone.
"""

from __future__ import annotations

import argparse
import logging
import math
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from citylake.forecasting import MODELS, BacktestPlan, forecast_series, work_calendar
from citylake.forecasting import series as slots_of
from citylake.forecasting.models import BANDS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

# History Mon 2026-08-03 .. Sun 10-18 (Mid-Autumn and National Day inside), then 14 days.
PANEL_FIRST, PANEL_HORIZON, HORIZON_DAYS = date(2026, 8, 3), date(2026, 10, 19), 14
DAY_NOISE_SIGMA = 0.06  # the demo city's day-level noise
PROPHET = "prophet"
ORACLE = "oracle"
CHOICE = "citylake (backtest choice)"
RESULT_SCHEMA = (
    "series string, ds timestamp_ntz, forecast double, lo80 double, hi80 double, "
    "lo95 double, hi95 double"
)
SLOT_SCHEMA = (
    "series string, ds timestamp_ntz, day date, hour int, kind string, dow string, eve int, "
    "rebound int, y double, lam double, train boolean"
)


@dataclass(frozen=True)
class ForecastBench:
    panel: str  # "panel 10,000" or "scale 1"
    forecaster: str
    series: int
    seconds: float
    mase: float
    wape: float
    cover80: float
    cover95: float

    @property
    def rate(self) -> float:
        return self.series / self.seconds if self.seconds else 0.0


# -- the synthetic panel ----------------------------------------------------------------


def panel_slots(n_series: int, seed: int = 7) -> pd.DataFrame:
    """Every open slot of ``n_series`` hourly series (``SLOT_SCHEMA``), history and holdout.

    Levels are log-uniform from 0.3 to 30 visitors an hour, so quiet streets and busy
    districts are both in the panel; a sixth of the series also open on Saturdays.
    """
    rng = np.random.default_rng(seed)
    last = PANEL_HORIZON + timedelta(days=HORIZON_DAYS - 1)
    calendar = work_calendar(PANEL_FIRST - timedelta(days=7), last + timedelta(days=7))
    frames = []
    for i in range(n_series):
        start = int(rng.choice([8, 9]))
        hours = tuple(range(start, start + int(rng.choice([4, 8, 9]))))
        weekdays = frozenset(range(6 if rng.random() < 1 / 6 else 5))
        pattern = slots_of.OpeningPattern(weekdays, hours)
        frame = slots_of.slots(pattern, calendar, PANEL_FIRST, last)
        level = float(np.exp(rng.uniform(np.log(0.3), np.log(30.0))))
        # Two peaks (mid-morning, mid-afternoon) and a lunch dip, shifted per series.
        phase = rng.uniform(-0.5, 0.5)
        shape = {h: 1.0 + 0.4 * np.sin((h - 9 + phase) * np.pi / 2.5) for h in hours}
        weekday = dict(enumerate(np.clip(rng.normal(1.0, 0.15, 7), 0.5, 1.6)))
        weekday[0] *= 1.2  # Mondays carry the weekend's backlog
        days = sorted(set(frame["day"]))
        noise = dict(
            zip(
                days,
                rng.lognormal(-(DAY_NOISE_SIGMA**2) / 2, DAY_NOISE_SIGMA, len(days)),
                strict=True,
            )
        )
        lam = (
            level
            * frame["hour"].map(shape)
            * frame["day"].map(lambda d, w=weekday: w[d.weekday()] if d.weekday() < 5 else 1.0)
            * np.where(frame["eve"] > 0, 1.15, 1.0)
            * (1.0 + 0.12 * np.log1p(frame["rebound"]))
            * frame["day"].map(noise)
        )
        frame["lam"] = lam.astype("float64")
        frame["y"] = rng.poisson(frame["lam"]).astype("float64")
        frame["series"] = f"P{i:05d}"
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out["train"] = out["day"] < PANEL_HORIZON
    out["hour"] = out["hour"].astype("int32")
    out["eve"] = out["eve"].astype("int32")
    out["rebound"] = out["rebound"].astype("int32")
    return out[[part.split()[0] for part in SLOT_SCHEMA.split(", ")]]


# -- forecasters, one series at a time ------------------------------------------------


def prophet_model(train: pd.DataFrame, future: pd.DataFrame, per_day: int) -> pd.DataFrame:
    """Prophet as the Databricks pattern runs it: one model per series, Chinese holidays
    given, daily and weekly seasonality; both intervals from one set of predictive samples."""
    from prophet import Prophet

    logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
    logging.getLogger("prophet").setLevel(logging.WARNING)
    model = Prophet(daily_seasonality=True, weekly_seasonality=True, yearly_seasonality=False)
    model.add_country_holidays(country_name="CN")
    model.fit(pd.DataFrame({"ds": train["ds"], "y": train["y"]}))
    samples = model.predictive_samples(pd.DataFrame({"ds": future["ds"]}))["yhat"]
    out = pd.DataFrame({"mean": samples.mean(axis=1)}, index=future.index)
    for level in (80, 95):
        tail = (100 - level) / 200
        out[f"lo{level}"] = np.quantile(samples, tail, axis=1)
        out[f"hi{level}"] = np.quantile(samples, 1 - tail, axis=1)
    return out.clip(lower=0.0)


def prophet_group(group: pd.DataFrame) -> pd.DataFrame:
    """Prophet on one series' open slots (zeros included), forecasting the held-out ones."""
    group = group.sort_values("ds", ignore_index=True)
    train = group[group["train"]].reset_index(drop=True)
    future = group[~group["train"]].reset_index(drop=True)
    predicted = prophet_model(train, future, 0)
    return pd.DataFrame(
        {
            "series": group["series"].iloc[0],
            "ds": future["ds"],
            **{c: predicted[c].to_numpy() for c in ("mean", *BANDS)},
        }
    ).rename(columns={"mean": "forecast"})


def _citylake(models: tuple[str, ...], origins: int) -> Any:
    """The counter-demand job's own per-series call, ``forecast_series``, on the series'
    arrivals before the horizon (rows of hours with arrivals, as the hourly mart holds):
    it lays out the open slots from the calendar, backtests when ``origins`` > 0, chooses
    among ``models`` and forecasts the horizon with intervals."""
    plan = BacktestPlan(
        horizon_start=PANEL_HORIZON,
        horizon_days=HORIZON_DAYS,
        origins=origins,
        models=models,
        calendar=work_calendar(PANEL_FIRST - timedelta(days=7), PANEL_HORIZON + timedelta(days=21)),
    )

    def run(group: pd.DataFrame) -> pd.DataFrame:
        name = str(group["series"].iloc[0])
        rows = forecast_series(
            group[["period", "y"]], {"center_id": name, "service_category": "panel"}, "hour", plan
        )
        out = rows.loc[rows["record"] == "forecast", ["ds", "forecast", *BANDS]]
        out.insert(0, "series", name)
        return out

    return run


# -- scoring ---------------------------------------------------------------------------


def scales_of(slots: pd.DataFrame) -> pd.Series:
    """Per series: mean |y(t) - y(same slot a week earlier)| over its training slots."""
    train = slots[slots["train"]]
    return train.groupby("series").apply(
        lambda g: slots_of.weekly_scale(g.reset_index(drop=True)), include_groups=False
    )


def score(
    slots: pd.DataFrame, scales: pd.Series, forecasts: pd.DataFrame
) -> tuple[float, float, float, float]:
    """MASE, WAPE and 80 / 95 % coverage over the held-out slots of the forecast series."""
    held = slots[~slots["train"] & slots["series"].isin(set(forecasts["series"]))]
    merged = held.merge(forecasts, on=["series", "ds"], how="left")
    merged["forecast"] = merged["forecast"].fillna(0.0)
    error = (merged["forecast"] - merged["y"]).abs()
    scale = merged["series"].map(scales)
    mase = float((error / scale.where(scale > 0)).mean())
    wape = float(error.sum() / merged["y"].sum())

    def cover(level: int) -> float:
        if f"lo{level}" not in merged or merged[f"lo{level}"].isna().all():
            return math.nan
        lo, hi = merged[f"lo{level}"], merged[f"hi{level}"]
        return float(((merged["y"] >= lo) & (merged["y"] <= hi)).mean() * 100)

    return mase, wape, cover(80), cover(95)


def read_slots(spark: SparkSession, path: Path) -> DataFrame:
    """Slots written by pandas (naive microsecond timestamps), in ``SLOT_SCHEMA``'s types."""
    from pyspark.sql import functions as F

    frame = spark.read.parquet(str(path))
    return frame.select(
        *(
            F.col(name).cast(kind).alias(name)
            for name, kind in (part.split() for part in SLOT_SCHEMA.split(", "))
        )
    )


def timed_run(
    spark: SparkSession, data: DataFrame, fn: Any, out: Path
) -> tuple[pd.DataFrame, float]:

    started = time.perf_counter()
    data.groupBy("series").applyInPandas(fn, schema=RESULT_SCHEMA).write.mode("overwrite").parquet(
        str(out)
    )
    seconds = time.perf_counter() - started
    return spark.read.parquet(str(out)).toPandas(), seconds


def _forecaster(name: str) -> tuple[Any, str]:
    """The group function and which input it reads ("slots" or "history")."""
    if name == PROPHET:
        return prophet_group, "slots"
    if name == CHOICE:
        return _citylake(tuple(MODELS), origins=4), "history"
    return _citylake((name,), origins=0), "history"


def bench_panel(
    spark: SparkSession,
    n_series: int = 10_000,
    choice_series: int = 500,
    models: tuple[str, ...] = ("seasonal_naive", "poisson_calendar", PROPHET),
) -> list[ForecastBench]:
    """Every forecaster on the panel; the backtest choice, and Prophet and citylake's
    Poisson model again beside it, on the first ``choice_series`` series."""
    from pyspark.sql import functions as F

    label = f"panel {n_series:,}"
    print(f"  generating {n_series:,} hourly series...", flush=True)
    slots = panel_slots(n_series)
    scales = scales_of(slots)
    rows: list[ForecastBench] = []
    oracle = slots[~slots["train"]][["series", "ds", "lam"]].rename(columns={"lam": "forecast"})
    rows.append(ForecastBench(label, ORACLE, n_series, 0.0, *score(slots, scales, oracle)))
    with tempfile.TemporaryDirectory(prefix="citylake-bench-forecast-") as tmp:
        source = Path(tmp) / "panel.parquet"
        slots.to_parquet(source, index=False, coerce_timestamps="us")
        inputs = {"slots": read_slots(spark, source)}
        inputs["history"] = (
            inputs["slots"]
            .where(F.col("train") & (F.col("y") > 0))
            .select("series", F.col("ds").alias("period"), "y")
        )

        def run(name: str, keep: list[str] | None, tag: str) -> tuple[pd.DataFrame, float]:
            fn, kind = _forecaster(name)
            data = inputs[kind]
            if keep is not None:
                data = data.where(F.col("series").isin(keep))
            return timed_run(spark, data, fn, Path(tmp) / f"{tag}-{len(rows)}")

        # Import statsforecast / prophet in the Python workers once, outside the timed
        # runs: a long-running job pays it once per executor.
        for name in (*models, CHOICE):
            run(name, [f"P{i:05d}" for i in range(4)], "warm")
        for name in models:
            print(f"  {name} on {n_series:,} series...", flush=True)
            forecasts, seconds = run(name, None, "all")
            rows.append(
                ForecastBench(label, name, n_series, seconds, *score(slots, scales, forecasts))
            )
        if choice_series:
            first = [f"P{i:05d}" for i in range(min(choice_series, n_series))]
            sub_slots = slots[slots["series"].isin(first)]
            sub_label = f"panel {len(first):,} of {n_series:,}"
            for name in (CHOICE, *(m for m in ("poisson_calendar", PROPHET) if m in models)):
                print(f"  {name} on {len(first):,} series...", flush=True)
                forecasts, seconds = run(name, first, "sub")
                rows.append(
                    ForecastBench(
                        sub_label, name, len(first), seconds, *score(sub_slots, scales, forecasts)
                    )
                )
    return rows


# -- BENCHMARKS.md -----------------------------------------------------------------------


def markdown(rows: list[ForecastBench]) -> list[str]:
    def fmt(value: float, digits: int = 3) -> str:
        return "" if math.isnan(value) else f"{value:.{digits}f}"

    lines = [
        "",
        "## Forecasting: series forecast per second",
        "",
        "Each row one Spark `applyInPandas` job, one group per series, timed whole (fit, "
        "predict, 80 / 95 % intervals, Parquet written); scored on the same held-out slots.",
        "",
        "| data | forecaster | series | seconds | series/s | MASE | WAPE | cover 80 | cover 95 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.panel} | {r.forecaster} | {r.series:,} | "
            f"{'' if not r.seconds else f'{r.seconds:.1f}'} | "
            f"{'' if not r.seconds else f'{r.rate:,.1f}'} | {fmt(r.mase)} | {fmt(r.wape)} | "
            f"{fmt(r.cover80, 1)} | {fmt(r.cover95, 1)} |"
        )
    by = {(r.panel, r.forecaster): r for r in rows}
    lines += ["", "Against Prophet in the same run (throughput ratio; MASE beside):", ""]
    for (panel, name), r in by.items():
        prophet = by.get((panel, PROPHET))
        if name in (PROPHET, ORACLE) or prophet is None or not r.seconds or not prophet.seconds:
            continue
        lines.append(
            f"- {panel}, {name}: {r.rate / prophet.rate:.1f}x Prophet's series/s, "
            f"MASE {r.mase:.3f} vs {prophet.mase:.3f}"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Forecast throughput on a synthetic panel.")
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--choice-series", type=int, default=500)
    args = parser.parse_args(argv)
    from citylake.warehouse.spark_session import get_spark

    spark = get_spark("citylake-bench-forecasts")
    rows = bench_panel(spark, args.series, args.choice_series)
    print("\n".join(markdown(rows)))


if __name__ == "__main__":
    main()


__all__ = [
    "ForecastBench",
    "bench_panel",
    "markdown",
    "panel_slots",
    "prophet_group",
    "prophet_model",
    "read_slots",
    "scales_of",
    "score",
    "timed_run",
]
