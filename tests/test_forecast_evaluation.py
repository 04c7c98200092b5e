"""citylake.forecasting.evaluate on a backtest small enough to score by hand."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from citylake.forecasting import evaluate as ev


def _row(
    model: str, chosen: bool, hour: int, actual: float, forecast: float, **extra: object
) -> dict:
    base = {
        "center_id": "C01",
        "service_category": "tax",
        "grain": "hour",
        "origin": date(2026, 9, 14),
        "ds": datetime(2026, 9, 14, hour),
        "day_kind": "ordinary",
        "model": model,
        "chosen": chosen,
        "actual": actual,
        "forecast": forecast,
        "lo80": forecast - 2,
        "hi80": forecast + 2,
        "lo95": forecast - 4,
        "hi95": forecast + 4,
        "mase_scale": 2.0,
    }
    return base | extra


@pytest.fixture
def slots() -> pd.DataFrame:
    rows = [
        _row("poisson_calendar", True, 9, actual=10, forecast=9),
        _row("poisson_calendar", True, 10, actual=10, forecast=13, day_kind="post_holiday"),
        _row("poisson_calendar", True, 11, actual=20, forecast=10),  # the surge hour
        _row("seasonal_naive", False, 9, actual=10, forecast=6),
        _row("seasonal_naive", False, 10, actual=10, forecast=16, day_kind="post_holiday"),
        _row("seasonal_naive", False, 11, actual=20, forecast=8),
    ]
    backtest = pd.DataFrame(rows)
    intensity = pd.DataFrame(
        {
            "date": [date(2026, 9, 14)] * 3,
            "center_id": ["C01"] * 3,
            "service_category": ["tax"] * 3,
            "hour": [9, 10, 11],
            "lambda": [10.5, 11.0, 19.0],
            "open": [True] * 3,
        }
    )
    events = pd.DataFrame(
        {
            "kind": ["policy_deadline_surge", "post_holiday"],
            "service_category": ["tax", None],
            "date": [date(2026, 9, 14), date(2026, 9, 14)],
            "factor": [2.0, 1.2],
            "note": ["", ""],
        }
    )
    # Only hour 11 is in the surge window: the events are per category and day, so put
    # hours 9 and 10 on a category the surge did not touch.
    backtest.loc[backtest["ds"].dt.hour < 11, "service_category"] = "permits"
    intensity.loc[intensity["hour"] < 11, "service_category"] = "permits"
    return ev.scored_slots(backtest, intensity, events)


def test_oracle_and_segments(slots: pd.DataFrame) -> None:
    oracle = slots[slots["model"] == ev.ORACLE].sort_values("ds")
    assert oracle["forecast"].tolist() == [10.5, 11.0, 19.0]
    segments = slots[slots["model"] == ev.CHOSEN].sort_values("ds")["segment"].tolist()
    assert segments == ["ordinary", "post_holiday", "surge"]


def test_scores_by_hand(slots: pd.DataFrame) -> None:
    scores = {(s.segment, s.forecaster): s for s in ev.summarise(slots)}
    chosen = scores[("overall", ev.CHOSEN)]
    # Surge left out: |9-10| and |13-10| over scale 2 -> (0.5 + 1.5) / 2; WAPE 4 / 20.
    assert (chosen.slots, chosen.mase, chosen.wape) == (2, pytest.approx(1.0), pytest.approx(0.2))
    # 10 is inside 9 -/+ 2 but not inside 13 -/+ 2; both inside -/+ 4.
    assert (chosen.cover80, chosen.cover95) == (50.0, 100.0)
    naive = scores[("overall", "seasonal_naive")]
    assert naive.mase == pytest.approx((2 + 3) / 2)
    oracle = scores[("overall", ev.ORACLE)]
    assert oracle.mase == pytest.approx((0.25 + 0.5) / 2)
    with_surge = scores[("overall+surge", ev.CHOSEN)]
    assert with_surge.wape == pytest.approx(14 / 40)
    assert scores[("surge", ev.CHOSEN)].mase == pytest.approx(5.0)


def test_checks_hold_the_targets(slots: pd.DataFrame) -> None:
    checks = {c.name: c for c in ev.checks(ev.summarise(slots))}
    vs_naive = checks["MASE chosen / seasonal naive"]
    assert vs_naive.figure == pytest.approx(1.0 / 2.5) and vs_naive.ok
    vs_oracle = checks["MASE chosen / oracle"]
    assert vs_oracle.figure == pytest.approx(1.0 / 0.375) and not vs_oracle.ok
    assert not checks["coverage 80 % (points)"].ok and checks["coverage 95 % (points)"].ok
    post = checks["WAPE post_holiday / ordinary"]
    assert post.figure == pytest.approx((3 / 10) / (1 / 10)) and not post.ok


def test_per_series_names_the_chosen_model(slots: pd.DataFrame) -> None:
    table = ev.per_series(slots).set_index("service_category")
    assert table.loc["permits", "chosen_model"] == "poisson_calendar"
    assert table.loc["permits", "mase_chosen"] == pytest.approx(1.0)
    assert "tax" not in table.index  # its only slot is in the surge


def test_missing_truth_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"demand_intensity\.parquet"):
        ev.load_truth(tmp_path)
