"""citylake.forecasting on its own (pure pandas, no Spark): the calendar, the slots, each
model against a history whose true intensity is known, the backtest and its choice."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from forecast_history import OPEN_HOURS, intensity, poisson_history
from scipy import stats

from citylake.forecasting import (
    MODELS,
    BacktestPlan,
    china_calendar,
    forecast_series,
    work_calendar,
)
from citylake.forecasting import series as fs
from citylake.forecasting.backtest import choose
from citylake.forecasting.models import _count_interval

FIRST, HORIZON = date(2026, 8, 17), date(2026, 10, 5)
CALENDAR = work_calendar(FIRST - timedelta(days=7), HORIZON + timedelta(days=30))
KEY = {"center_id": "C01", "service_category": "permits"}


def test_calendar_facts() -> None:
    closed, makeup = china_calendar(date(2026, 9, 1), date(2026, 10, 31))
    # State Council notice for 2026: Mid-Autumn 09-25..27, National Day 10-01..07 (its
    # Sunday 10-04 included), worked on Sun 09-20 and Sat 10-10.
    assert closed == {date(2026, 9, d) for d in (25, 26, 27)} | {
        date(2026, 10, d) for d in range(1, 8)
    }
    assert makeup == {date(2026, 9, 20), date(2026, 10, 10)}
    spring, spring_makeup = china_calendar(date(2026, 2, 1), date(2026, 2, 28))
    assert spring == {date(2026, 2, d) for d in range(15, 24)}
    assert spring_makeup == {date(2026, 2, 14), date(2026, 2, 28)}


def test_day_kinds_eves_and_rebounds() -> None:
    cal = work_calendar(date(2026, 9, 1), date(2026, 10, 31))
    kinds = {day: kind for day, kind in cal.kinds.items() if kind != "closed"}
    assert kinds == {
        date(2026, 9, 20): "makeup",
        date(2026, 9, 24): "pre_holiday",
        date(2026, 9, 28): "post_holiday",
        date(2026, 9, 30): "pre_holiday",
        date(2026, 10, 8): "post_holiday",
        date(2026, 10, 10): "makeup",
    }
    assert (cal.eve(date(2026, 9, 24)), cal.rebound(date(2026, 9, 28))) == (3, 3)
    assert (cal.eve(date(2026, 9, 30)), cal.rebound(date(2026, 10, 8))) == (7, 7)
    assert cal.kind(date(2026, 10, 4)) == "closed" and cal.kind(date(2026, 10, 12)) == "ordinary"
    # An ordinary weekend borders nothing.
    assert cal.eve(date(2026, 10, 16)) == cal.rebound(date(2026, 10, 19)) == 0
    # Sat 2026-02-14 is worked to pay for Spring Festival's bridge and is also its eve.
    spring = work_calendar(date(2026, 2, 1), date(2026, 3, 1))
    assert spring.kind(date(2026, 2, 14)) == "makeup" and spring.eve(date(2026, 2, 14)) == 9
    assert spring.rebound(date(2026, 2, 24)) == 9
    with pytest.raises(ValueError, match="outside the calendar"):
        cal.kind(date(2027, 1, 1))


def test_slots_follow_the_opening_pattern() -> None:
    history = poisson_history(FIRST, HORIZON - timedelta(days=1), 10.0, seed=1)
    pattern = fs.opening_pattern(history, CALENDAR, "hour")
    # The make-up Sunday 09-20 does not make Sundays open.
    assert pattern.weekdays == frozenset(range(5)) and pattern.hours == OPEN_HOURS
    week = fs.slots(pattern, CALENDAR, date(2026, 10, 5), date(2026, 10, 11))
    assert sorted(set(week["day"])) == [date(2026, 10, 8), date(2026, 10, 9), date(2026, 10, 10)]
    assert set(week.loc[week["day"] == date(2026, 10, 10), "dow"]) == {"makeup"}
    assert set(week.loc[week["day"] == date(2026, 10, 8), "rebound"]) == {7}
    closed = fs.closed_slots(pattern, CALENDAR, date(2026, 10, 5), date(2026, 10, 11))
    assert sorted(set(closed["day"])) == [date(2026, 10, 5), date(2026, 10, 6), date(2026, 10, 7)]
    # A quiet open hour is a 0, not a gap.
    quiet = history.drop(index=[5, 17])
    open_slots = fs.slots(pattern, CALENDAR, FIRST, HORIZON - timedelta(days=1))
    observed = fs.observed(quiet, open_slots)
    assert len(observed) == len(quiet) + 2 and observed["y"].sum() == quiet["y"].sum()
    assert observed.set_index("ds").loc[history.loc[[5, 17], "period"], "y"].tolist() == [0, 0]
    daily = fs.opening_pattern(history, CALENDAR, "day")
    assert daily.hours == (0,)


def test_weekly_scale_is_the_week_on_week_change() -> None:
    train = pd.DataFrame(
        {
            "ds": pd.to_datetime(["2026-09-01", "2026-09-02", "2026-09-08", "2026-09-09"]),
            "y": [4.0, 6, 7, 2],
        }
    )
    assert fs.weekly_scale(train) == pytest.approx((3 + 4) / 2)


def _train_future(
    origin: date, level: float = 20.0, seed: int = 3
) -> tuple[pd.DataFrame, pd.DataFrame]:
    history = poisson_history(FIRST, origin - timedelta(days=1), level, seed)
    pattern = fs.opening_pattern(history, CALENDAR, "hour")
    train = fs.observed(history, fs.slots(pattern, CALENDAR, FIRST, origin - timedelta(days=1)))
    future = fs.slots(pattern, CALENDAR, origin, origin + timedelta(days=13))
    return train, future


def test_seasonal_naive_repeats_the_same_hour_last_week() -> None:
    train, future = _train_future(date(2026, 9, 14))
    predicted = MODELS["seasonal_naive"](train, future, len(OPEN_HOURS))
    last_monday = train[train["day"] == date(2026, 9, 7)].set_index("hour")["y"]
    monday = future["day"] == date(2026, 9, 14)
    assert predicted.loc[monday, "mean"].tolist() == last_monday.loc[list(OPEN_HOURS)].tolist()
    assert (predicted["lo95"] <= predicted["lo80"]).all() and (
        predicted["hi80"] <= predicted["hi95"]
    ).all()


def test_poisson_calendar_finds_the_true_mean_and_covers() -> None:
    # Trained through both autumn holidays' eves and the Mid-Autumn rebound; forecast the
    # two weeks after National Day (a 7-day closure's rebound on 10-08, a make-up Saturday).
    train, future = _train_future(date(2026, 10, 8), level=20.0, seed=5)
    predicted = MODELS["poisson_calendar"](train, future, len(OPEN_HOURS))
    truth = intensity(date(2026, 10, 8), date(2026, 10, 21), 20.0).set_index("period")["lam"]
    lam = future["ds"].map(truth).to_numpy()
    relative = np.abs(predicted["mean"].to_numpy() / lam - 1)
    assert np.median(relative) < 0.08 and relative.max() < 0.3
    # The rebound after 7 closed days is sized from the 3-day one's (1.2 -> 1.35 true).
    rebound = future["day"] == date(2026, 10, 8)
    ratio = predicted.loc[rebound, "mean"].sum() / lam[rebound.to_numpy()].sum()
    assert 0.85 < ratio < 1.15
    # Intervals hold fresh draws from the true intensity about as often as they claim.
    draws = np.random.default_rng(9).poisson(lam, size=(400, len(lam)))
    for level, (low, high) in {80: ("lo80", "hi80"), 95: ("lo95", "hi95")}.items():
        inside = (draws >= predicted[low].to_numpy()) & (draws <= predicted[high].to_numpy())
        assert abs(inside.mean() * 100 - level) < 5, (level, inside.mean())


@pytest.mark.parametrize("name", ["ets", "mstl"])
def test_statsforecast_models(name: str) -> None:
    train, future = _train_future(date(2026, 9, 21), level=20.0, seed=7)
    predicted = MODELS[name](train, future, len(OPEN_HOURS))
    assert len(predicted) == len(future) and np.isfinite(predicted.to_numpy()).all()
    assert (predicted["lo95"] <= predicted["lo80"] + 1e-9).all()
    assert (predicted["lo80"] <= predicted["mean"] + 1e-9).all()
    assert (predicted["mean"] <= predicted["hi80"] + 1e-9).all()
    assert (predicted["hi80"] <= predicted["hi95"] + 1e-9).all()
    # Daily season found: the forecast peaks at the hours the history peaks at.
    by_hour = predicted.groupby(future["hour"])["mean"].mean()
    assert by_hour.idxmax() in (10, 11, 15) and by_hour.idxmin() in (9, 13)


def test_mstl_refuses_a_daily_grain() -> None:
    train, future = _train_future(date(2026, 9, 21))
    with pytest.raises(ValueError, match="hourly grain"):
        MODELS["mstl"](train, future, 1)


def test_count_interval_uses_mid_quantiles() -> None:
    # Integer quantiles of a small count jump (Poisson(3.0) and (3.1) share the
    # 0.9-quantile 5); mid-quantile bounds move with the mean, between the integers.
    means = np.array([3.0, 3.05, 3.1])
    low, high = _count_interval(means, means, 0.10)
    assert np.all(np.diff(high) > 0) and np.all(np.diff(high) < 0.2)
    assert stats.poisson.ppf(0.9, 3.0) == 5 < high[0] < 6 and 0 < low[0] < 1
    # A large count is near normal: mean 400, variance 400 -> 400 -/+ 1.2816 * 20.
    low, high = _count_interval(np.array([400.0]), np.array([400.0]), 0.10)
    assert low[0] == pytest.approx(400 - stats.norm.ppf(0.9) * 20, abs=1.0)
    assert high[0] == pytest.approx(400 + stats.norm.ppf(0.9) * 20, abs=1.0)


def test_choose() -> None:
    assert choose({"ets": [0.9, 0.7], "mstl": [0.8, 0.8], "seasonal_naive": [1.2]}) == "ets"
    assert choose({"ets": [0.8], "mstl": [0.8]}) == "ets"  # a tie goes by name
    # Nothing scored: seasonal naive when it is a candidate, else the first candidate.
    assert choose({"ets": [], "seasonal_naive": []}) == "seasonal_naive"
    assert choose({"mstl": [], "ets": []}) == "mstl"
    assert choose({"poisson_calendar": []}) == "poisson_calendar"


@pytest.fixture(scope="module")
def result() -> pd.DataFrame:
    history = poisson_history(FIRST, HORIZON - timedelta(days=1), 15.0, seed=11)
    plan = BacktestPlan(HORIZON, 14, 3, tuple(MODELS), CALENDAR)
    return forecast_series(history[["period", "y"]], KEY, "hour", plan)


def test_backtest_origins_and_rows(result: pd.DataFrame) -> None:
    backtest = result[result["record"] == "backtest"]
    # Windows of 14 days a week apart, the last ending the day before the horizon.
    assert sorted(set(backtest["origin"])) == [
        date(2026, 9, 7),
        date(2026, 9, 14),
        date(2026, 9, 21),
    ]
    assert set(backtest["model"]) == set(MODELS)
    history = poisson_history(FIRST, HORIZON - timedelta(days=1), 15.0, seed=11).set_index(
        "period"
    )["y"]
    actual = backtest["ds"].map(history).fillna(0.0)
    assert (backtest["actual"].to_numpy() == actual.to_numpy()).all()
    assert (backtest["mase_scale"] > 0).all()


def test_the_chosen_model_has_the_lowest_mean_mase(result: pd.DataFrame) -> None:
    backtest = result[result["record"] == "backtest"].copy()
    backtest["err"] = (backtest["forecast"] - backtest["actual"]).abs()
    per_origin = backtest.groupby(["model", "origin"]).agg(
        mae=("err", "mean"), scale=("mase_scale", "first")
    )
    mase = (per_origin["mae"] / per_origin["scale"]).groupby("model").mean()
    chosen = set(backtest.loc[backtest["chosen"], "model"])
    assert chosen == {mase.idxmin()}
    forecast = result[result["record"] == "forecast"]
    assert set(forecast["model"]) == chosen and forecast["chosen"].all()


def test_forecast_covers_the_horizon_with_holidays_closed(result: pd.DataFrame) -> None:
    forecast = result[result["record"] == "forecast"].copy()
    forecast["day"] = pd.to_datetime(forecast["ds"]).dt.date
    days = forecast.groupby("day")["day_kind"].first()
    assert days.loc[date(2026, 10, 5)] == "closed" and days.loc[date(2026, 10, 8)] == "post_holiday"
    assert days.loc[date(2026, 10, 10)] == "makeup" and date(2026, 10, 11) not in days.index
    closed = forecast[forecast["day_kind"] == "closed"]
    assert len(closed) == 3 * len(OPEN_HOURS)
    assert (closed[["forecast", "lo80", "hi80", "lo95", "hi95"]] == 0).all().all()
    # 8 open days (10-08, 10-09, the make-up 10-10, 10-12..16) + 3 closed, 8 hours each.
    assert len(forecast) == 11 * len(OPEN_HOURS)
    assert forecast["actual"].isna().all() and forecast["origin"].eq(HORIZON).all()


def test_short_or_empty_history() -> None:
    plan = BacktestPlan(HORIZON, 7, 3, tuple(MODELS), CALENDAR)
    short = poisson_history(date(2026, 9, 21), HORIZON - timedelta(days=1), 15.0, seed=2)
    out = forecast_series(short[["period", "y"]], KEY, "hour", plan)
    # Under two weeks of history: no backtest, the benchmark forecasts.
    assert set(out["record"]) == {"forecast"} and set(out["model"]) == {"seasonal_naive"}
    empty = forecast_series(short.iloc[:0][["period", "y"]], KEY, "hour", plan)
    assert empty.empty and list(empty.columns) == list(out.columns)
