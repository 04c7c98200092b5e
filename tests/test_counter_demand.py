"""Seasonal-naive counter demand on a hand-made history around National Day 2026.

Horizon Mon 2026-10-05 .. Sun 10-11: 10-05..07 are days off (National Day and its
bridging days), 10-10 (Sat) is a make-up working day, 10-11 (Sun) an ordinary Sunday.
In the history 09-25 (Mid-Autumn) and 10-01/02 are holidays and 09-20 (Sun) a make-up day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from citylake.staffing import offered_load, required_counters, service_level
from transforms.counter_demand import china_calendar, forecast_counter_demand, main

HORIZON = date(2026, 10, 5)
OPEN_HOURS = range(9, 17)
SCHEMA = (
    "center_id string, service_category string, arrival_hour timestamp, "
    "arrivals long, mean_handle_minutes double"
)


def weeks_back(day: date) -> int:
    """1 for the week just before the horizon, 2 for the one before, ..."""
    return (HORIZON - day).days // 7 + (1 if (HORIZON - day).days % 7 else 0)


def history_rows() -> list[dict[str, Any]]:
    closed = {date(2026, 9, 25), date(2026, 10, 1), date(2026, 10, 2)}
    rows: list[dict[str, Any]] = []
    day = date(2026, 8, 10)
    while day < HORIZON:
        k = weeks_back(day)
        if day.weekday() < 5 and day not in closed:
            for hour in OPEN_HOURS:
                # Series A: a level that moves by week, so the mean shows which weeks were used.
                if not (day == date(2026, 9, 24) and hour == 10):  # a missing hour counts as 0
                    rows.append(_row("C01", "permits", day, hour, 10 * k + hour - 9, 6.0))
            for hour in (9, 10, 11):
                # Series B: handle time and volume move together, so weighting matters.
                busy = k % 2 == 0
                rows.append(_row("C02", "tax", day, hour, 6 if busy else 2, 10.0 if busy else 20.0))
        day += timedelta(days=1)
    # Served on days that must not count as ordinary Thursday or Sunday samples.
    rows.append(_row("C01", "permits", date(2026, 10, 1), 9, 500, 6.0))
    rows += [_row("C01", "permits", date(2026, 9, 20), hour, 999, 6.0) for hour in OPEN_HOURS]
    return rows


def _row(center: str, category: str, day: date, hour: int, n: int, handle: float) -> dict[str, Any]:
    return {
        "center_id": center,
        "service_category": category,
        "arrival_hour": datetime(day.year, day.month, day.day, hour),
        "arrivals": n,
        "mean_handle_minutes": handle,
    }


@pytest.fixture(scope="module")
def arrivals(spark: Any) -> Any:
    return spark.createDataFrame(pd.DataFrame(history_rows()), SCHEMA)


@pytest.fixture(scope="module")
def forecast(arrivals: Any) -> pd.DataFrame:
    result = forecast_counter_demand(arrivals, HORIZON).toPandas()
    result["day"] = result["forecast_hour"].dt.date
    result["hour"] = result["forecast_hour"].dt.hour
    return result.set_index(["center_id", "day", "hour"]).sort_index()


def test_calendar_facts() -> None:
    closed, makeup = china_calendar(date(2026, 9, 1), date(2026, 10, 31))
    # State Council notice for 2026: Mid-Autumn 09-25..27, National Day 10-01..07 (its
    # Sunday 10-04 included), worked on Sun 09-20 and Sat 10-10.
    assert closed == {date(2026, 9, d) for d in (25, 26, 27)} | {
        date(2026, 10, d) for d in range(1, 8)
    }
    assert makeup == {date(2026, 9, 20), date(2026, 10, 10)}
    spring, _ = china_calendar(date(2026, 2, 1), date(2026, 2, 28))
    assert spring == {date(2026, 2, d) for d in range(15, 24)}


def test_output_schema(arrivals: Any) -> None:
    schema = forecast_counter_demand(arrivals, HORIZON).schema
    assert [(f.name, f.dataType.simpleString()) for f in schema.fields] == [
        ("center_id", "string"),
        ("service_category", "string"),
        ("forecast_hour", "timestamp"),
        ("expected_arrivals", "double"),
        ("mean_handle_minutes", "double"),
        ("counters_needed", "int"),
        ("method", "string"),
        ("generated_for", "date"),
    ]


def test_seasonal_naive_skips_holiday_weeks(forecast: pd.DataFrame) -> None:
    a = forecast.loc["C01"]
    # Thursday 10-08: Thursdays 09-24, 17, 10, 03 (10-01 is a holiday) -> weeks 2..5.
    assert a.loc[(date(2026, 10, 8), 12), "expected_arrivals"] == pytest.approx(35 + 3)
    # 09-24 10:00 has no row: it counts as 0, not as missing.
    assert a.loc[(date(2026, 10, 8), 10), "expected_arrivals"] == pytest.approx((31 + 41 + 51) / 4)
    # Friday 10-09: 10-02 and 09-25 are holidays -> Fridays 09-18 .. 08-28, weeks 3..6.
    assert a.loc[(date(2026, 10, 9), 9), "expected_arrivals"] == pytest.approx(45)
    assert list(a.loc[date(2026, 10, 9)].index) == list(OPEN_HOURS)
    assert set(a["method"]) == {"seasonal_naive_weekly_mean"}
    assert set(a["generated_for"]) == {HORIZON}


def test_public_holidays_forecast_zero(forecast: pd.DataFrame) -> None:
    a = forecast.loc["C01"]
    for day in (date(2026, 10, 5), date(2026, 10, 6), date(2026, 10, 7)):
        closed = a.loc[day]
        assert list(closed.index) == list(OPEN_HOURS)
        assert (closed["expected_arrivals"] == 0).all()
        assert (closed["counters_needed"] == 0).all()


def test_makeup_day_is_a_weekday_and_sunday_stays_closed(forecast: pd.DataFrame) -> None:
    a = forecast.loc["C01"]
    # Sat 10-10: the pooled Mon-Fri samples, mean week index (2.5 * 3 + 3.5 + 4.5) / 5 = 3.1.
    assert a.loc[(date(2026, 10, 10), 12), "expected_arrivals"] == pytest.approx(31 + 3)
    # The make-up Sunday 09-20 in the history did not make Sundays open.
    assert date(2026, 10, 11) not in set(a.index.get_level_values("day"))
    assert len(forecast) == 6 * len(OPEN_HOURS) + 6 * 3


def test_handle_time_is_arrival_weighted(forecast: pd.DataFrame) -> None:
    b = forecast.loc["C02"]
    # 6 arrivals at 10 min and 2 at 20 min alternate by week: (6*10 + 2*20) / 8.
    assert b["mean_handle_minutes"].tolist() == pytest.approx([12.5] * len(b))
    assert b.loc[(date(2026, 10, 8), 9), "expected_arrivals"] == pytest.approx(4.0)


def test_counters_from_erlang_c(forecast: pd.DataFrame) -> None:
    open_rows = forecast[forecast["expected_arrivals"] > 0]
    assert len(open_rows) == 3 * len(OPEN_HOURS) + 3 * 3
    for row in open_rows.itertuples():
        n = int(row.counters_needed)
        lam, handle = row.expected_arrivals, row.mean_handle_minutes
        assert n == required_counters(lam, handle)
        load = offered_load(lam, handle)
        assert load / n <= 0.85
        assert service_level(load, n, 10.0, handle) >= 0.8
    # 38 arrivals/h at 6 min = 3.8 Erlangs: 5 counters would be 76 % busy and fast enough.
    assert forecast.loc[("C01", date(2026, 10, 8), 12), "counters_needed"] == 5


def test_main_publishes_atomically(spark: Any, arrivals: Any, tmp_path: Path) -> None:
    source, target = tmp_path / "arrivals", tmp_path / "forecast"
    arrivals.write.parquet(str(source))
    first = main(["--input", str(source), "--output", str(target), "--horizon-days", "3"])
    again = main(["--input", str(source), "--output", str(target), "--horizon-days", "3"])
    published = spark.read.parquet(str(target)).toPandas()
    assert first == again == len(published) > 0
    # Default origin: the day after the last arrival hour (10-01 09:00, series A).
    assert set(published["generated_for"]) == {date(2026, 10, 2)}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arrivals", "forecast"]
    # Stored as local wall-clock time, so DuckDB and dbt see the same opening hours.
    hours = duckdb.connect().execute(
        f"select min(hour(forecast_hour)), max(hour(forecast_hour)), typeof(any_value(forecast_hour)) "
        f"from read_parquet('{target}/*.parquet')"
    )
    assert hours.fetchone() == (9, 16, "TIMESTAMP")


def test_closed_day_horizon_gives_no_rows(arrivals: Any) -> None:
    # Sunday 10-11 alone: neither series ever opens on Sundays.
    assert forecast_counter_demand(arrivals, date(2026, 10, 11), horizon_days=1).count() == 0
