"""The counter-demand Spark job on a synthetic history around National Day 2026.

Horizon Mon 2026-10-05 .. Sun 10-18: 10-05..07 are days off (National Day and its bridging
days), 10-08 the rebound after 7 closed days, 10-10 (Sat) a make-up working day, the
weekends closed. Two series with a known Poisson intensity (tests/forecast_history.py):
C01 permits 9:00-16:00, C02 tax 9:00-11:00 whose handling time moves with its volume.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from forecast_history import arrivals_mart

from citylake.forecasting import MODELS, OUTPUT_COLUMNS
from citylake.staffing import offered_load, required_counters, service_level
from transforms.counter_demand import DAILY_TOTAL, forecast_counter_demand, main

FIRST, HORIZON = date(2026, 8, 17), date(2026, 10, 5)
SCHEMA = (
    "center_id string, service_category string, arrival_hour timestamp, "
    "arrivals long, mean_handle_minutes double"
)


def history() -> pd.DataFrame:
    return arrivals_mart(FIRST, HORIZON)


@pytest.fixture(scope="module")
def arrivals(spark: Any) -> Any:
    return spark.createDataFrame(history(), SCHEMA)


@pytest.fixture(scope="module")
def result(arrivals: Any) -> pd.DataFrame:
    out = forecast_counter_demand(arrivals, HORIZON, horizon_days=14, origins=3).toPandas()
    out["day"] = pd.to_datetime(out["ds"]).dt.date
    return out


def test_output_schema(arrivals: Any) -> None:
    schema = forecast_counter_demand(arrivals, HORIZON, origins=1).schema
    assert [f.name for f in schema.fields] == OUTPUT_COLUMNS


def test_every_series_forecast_by_hour_and_by_day(result: pd.DataFrame) -> None:
    series = set(
        result[["center_id", "service_category", "grain"]].itertuples(index=False, name=None)
    )
    assert series == {
        ("C01", "permits", "hour"),
        ("C02", "tax", "hour"),
        ("C01", DAILY_TOTAL, "day"),
        ("C02", DAILY_TOTAL, "day"),
    }
    backtest = result[result["record"] == "backtest"]
    assert sorted(set(backtest["origin"])) == [
        date(2026, 9, 7),
        date(2026, 9, 14),
        date(2026, 9, 21),
    ]
    # Every hourly series tried every model; the daily ones all but MSTL (no daily season).
    tried = backtest.groupby(["center_id", "grain"])["model"].apply(set)
    assert tried.loc[("C01", "hour")] == set(MODELS)
    assert tried.loc[("C01", "day")] == set(MODELS) - {"mstl"}
    # One chosen model per series, the same across its origins and for its forecast.
    chosen = result[result["chosen"]].groupby(["center_id", "grain"])["model"].nunique()
    assert (chosen == 1).all()


def test_daily_total_is_the_sum_of_the_hours(result: pd.DataFrame) -> None:
    backtest = result[(result["record"] == "backtest") & (result["model"] == "seasonal_naive")]
    hourly = backtest[backtest["grain"] == "hour"].drop_duplicates(["center_id", "ds"])
    by_day = hourly.groupby(["center_id", "day"])["actual"].sum()
    daily = backtest[backtest["grain"] == "day"].drop_duplicates(["center_id", "day"])
    assert daily.set_index(["center_id", "day"])["actual"].to_dict() == by_day.to_dict()


def test_holidays_closed_makeup_open(result: pd.DataFrame) -> None:
    forecast = result[(result["record"] == "forecast") & (result["center_id"] == "C01")]
    kinds = forecast.groupby("day")["day_kind"].agg(set)
    assert all(kinds.loc[date(2026, 10, d)] == {"closed"} for d in (5, 6, 7))
    assert kinds.loc[date(2026, 10, 8)] == {"post_holiday"}
    assert kinds.loc[date(2026, 10, 10)] == {"makeup"}
    assert date(2026, 10, 11) not in kinds.index and date(2026, 10, 17) not in kinds.index
    closed = forecast[forecast["day_kind"] == "closed"]
    assert (closed["forecast"] == 0).all() and (closed["hi95"] == 0).all()
    hourly = forecast[forecast["grain"] == "hour"]
    assert sorted(set(pd.to_datetime(hourly["ds"]).dt.hour)) == list(range(9, 17))
    assert (hourly["lo95"] <= hourly["lo80"]).all() and (hourly["hi80"] <= hourly["hi95"]).all()
    opened = hourly[hourly["day_kind"] != "closed"]
    assert ((opened["lo80"] <= opened["forecast"]) & (opened["forecast"] <= opened["hi80"])).all()


def test_main_publishes_forecast_and_backtest(spark: Any, arrivals: Any, tmp_path: Path) -> None:
    source, target, backtest = tmp_path / "arrivals", tmp_path / "forecast", tmp_path / "backtest"
    replay = tmp_path / "replay"
    arrivals.write.parquet(str(source))
    argv = ["--input", str(source), "--output", str(target), "--backtest", str(backtest)]
    argv += ["--replay", str(replay)]
    argv += ["--horizon-days", "7", "--origins", "1", "--models", "seasonal_naive,poisson_calendar"]
    first, again = main(argv), main(argv)
    published = spark.read.parquet(str(target)).toPandas()
    assert first == again == len(published) > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "arrivals",
        "backtest",
        "forecast",
        "replay",
    ]
    # The replay: the chosen models' forecasts from the one backtest origin, as a table.
    replayed = spark.read.parquet(str(replay)).toPandas()
    assert set(replayed["generated_for"]) == {date(2026, 9, 24)}
    assert replayed["forecast_hour"].min() >= pd.Timestamp(2026, 9, 24)
    assert list(replayed.columns) == list(published.columns)
    # Default horizon: the day after the last arrival hour (09-30, National Day's eve).
    assert set(published["generated_for"]) == {date(2026, 10, 1)}
    assert set(published["model"]) <= {"seasonal_naive", "poisson_calendar"}
    tried = set(spark.read.parquet(str(backtest)).select("model").toPandas()["model"])
    assert tried == {"seasonal_naive", "poisson_calendar"}

    hourly = published[published["grain"] == "hour"].set_index(["center_id", "forecast_hour"])
    # Handling time weighted by visitors over the last 28 days, not by hours.
    recent = history()
    recent = recent[recent["arrival_hour"] >= pd.Timestamp(date(2026, 10, 1) - timedelta(days=28))]
    tax = recent[recent["center_id"] == "C02"]
    weighted = (tax["arrivals"] * tax["mean_handle_minutes"]).sum() / tax["arrivals"].sum()
    assert set(hourly.loc["C02", "mean_handle_minutes"].round(9)) == {round(weighted, 9)}
    for row in hourly.itertuples():
        n, lam, handle = int(row.counters_needed), row.expected_arrivals, row.mean_handle_minutes
        assert n == required_counters(lam, handle)
        if lam > 0:
            load = offered_load(lam, handle)
            assert load / n <= 0.85 and service_level(load, n, 10.0, handle) >= 0.8
    daily = published[published["grain"] == "day"]
    assert (
        daily["counters_needed"].isna().all() and (daily["service_category"] == DAILY_TOTAL).all()
    )
    # Stored as local wall-clock time, so DuckDB and dbt see the same opening hours.
    hours = duckdb.connect().execute(
        "select min(hour(forecast_hour)), max(hour(forecast_hour)), typeof(any_value(forecast_hour)) "
        f"from read_parquet('{target}/*.parquet') where grain = 'hour'"
    )
    assert hours.fetchone() == (9, 16, "TIMESTAMP")


def test_bad_arguments_fail_on_the_driver(arrivals: Any) -> None:
    with pytest.raises(ValueError, match="unknown models"):
        forecast_counter_demand(arrivals, HORIZON, models=("prophet",))
    with pytest.raises(ValueError, match="horizon_days"):
        forecast_counter_demand(arrivals, HORIZON, horizon_days=0)
    with pytest.raises(ValueError, match="no arrivals before"):
        forecast_counter_demand(arrivals, FIRST)
