"""The forecasting benchmark's own parts: the synthetic panel, the scorer, and one tiny run.

The throughput figures live in BENCHMARKS.md (``make bench``); this only keeps the
benchmark honest: the panel has the calendar it claims, the scorer scores, and every
forecaster (citylake's job function, Prophet, the backtest choice) runs in Spark.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from citylake.bench import forecasts as fb


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return fb.panel_slots(6, seed=3)


def test_panel_follows_the_calendar(panel: pd.DataFrame) -> None:
    days = set(panel["day"])
    # National Day 2026 closes every centre; Sat 10-10 is a make-up working day.
    assert not days & {date(2026, 10, d) for d in range(1, 8)}
    assert date(2026, 10, 10) in days
    assert set(panel.loc[panel["day"] == date(2026, 10, 10), "kind"]) == {"makeup"}
    assert panel.loc[panel["day"] == date(2026, 10, 8), "rebound"].eq(7).all()
    # 14 held-out days from the horizon, nothing after them.
    held = panel[~panel["train"]]
    assert held["day"].min() == fb.PANEL_HORIZON
    # (the last held-out day, a Sunday, is open nowhere: the last open one is Sat 10-31)
    assert held["day"].max() == date(2026, 10, 31)
    # Counts are Poisson draws around the intensity.
    assert (panel["y"] == np.round(panel["y"])).all()
    assert abs(panel["y"].sum() / panel["lam"].sum() - 1) < 0.05


def test_score_is_mase_wape_and_coverage(panel: pd.DataFrame) -> None:
    scales = fb.scales_of(panel)
    held = panel[~panel["train"]][["series", "ds", "y"]]
    perfect = held.rename(columns={"y": "forecast"}).assign(lo80=0.0, hi80=1e9, lo95=0.0, hi95=0.0)
    mase, wape, cover80, cover95 = fb.score(panel, scales, perfect)
    assert (mase, wape, cover80) == (0.0, 0.0, 100.0)
    assert cover95 == pytest.approx(100 * (held["y"] == 0).mean())
    off_by_one = perfect.assign(forecast=perfect["forecast"] + 1)
    mase, wape, _, _ = fb.score(panel, scales, off_by_one)
    expected = (1 / held["series"].map(scales)).mean()
    assert mase == pytest.approx(expected)
    assert wape == pytest.approx(len(held) / held["y"].sum())


def test_every_forecaster_runs_in_spark(spark: Any) -> None:
    rows = fb.bench_panel(spark, n_series=4, choice_series=2)
    by = {(r.panel, r.forecaster): r for r in rows}
    assert set(by) == {
        ("panel 4", fb.ORACLE),
        ("panel 4", "seasonal_naive"),
        ("panel 4", "poisson_calendar"),
        ("panel 4", fb.PROPHET),
        ("panel 2 of 4", fb.CHOICE),
        ("panel 2 of 4", "poisson_calendar"),
        ("panel 2 of 4", fb.PROPHET),
    }
    for row in rows:
        assert np.isfinite(row.mase) and row.mase > 0, row
        if row.forecaster != fb.ORACLE:
            assert row.seconds > 0 and 0 <= row.cover80 <= row.cover95 <= 100, row
    # The oracle knows the intensity: nothing beats it by much on Poisson counts.
    assert by[("panel 4", fb.ORACLE)].mase < by[("panel 4", "seasonal_naive")].mase
    text = "\n".join(fb.markdown(rows))
    assert "| panel 4 | prophet | 4 |" in text and "Prophet's series/s" in text
