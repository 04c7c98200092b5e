"""A synthetic demand history with known intensity, around the 2026 autumn holidays.

Hourly Poisson arrivals, 9:00-16:00 Monday to Friday, with an hour-of-day shape, a weekday
level, a holiday-eve factor and a rebound that grows with the days closed (as the demo
city's generator does), so a test knows the mean every forecast should find.
Mid-Autumn closes 09-25..27 (eve 09-24, rebound 09-28), National Day 10-01..07 (eve 09-30,
rebound 10-08); 09-20 (Sun) and 10-10 (Sat) are make-up working days.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from citylake.forecasting import work_calendar

OPEN_HOURS = tuple(range(9, 17))
HOUR_SHAPE = dict(zip(OPEN_HOURS, (0.6, 1.2, 1.4, 1.0, 0.7, 1.1, 1.3, 0.9), strict=True))
WEEKDAY_LEVEL = {0: 1.3, 1: 1.0, 2: 0.95, 3: 0.9, 4: 0.85}
EVE_FACTOR = 1.15


def rebound_factor(closed_days: int) -> float:
    return 1.35 if closed_days >= 5 else 1.2


def intensity(first: date, last: date, level: float) -> pd.DataFrame:
    """period, lam: the true mean arrivals of every open hour from first to last."""
    calendar = work_calendar(first - timedelta(days=7), last + timedelta(days=7))
    rows = []
    day = first
    while day <= last:
        kind = calendar.kind(day)
        opens = kind == "makeup" or (kind != "closed" and day.weekday() < 5)
        if opens:
            weekday_level = 1.0 if kind == "makeup" else WEEKDAY_LEVEL[day.weekday()]
            factor = EVE_FACTOR if calendar.eve(day) else 1.0
            if calendar.rebound(day):
                factor *= rebound_factor(calendar.rebound(day))
            for hour in OPEN_HOURS:
                lam = level * HOUR_SHAPE[hour] * weekday_level * factor
                rows.append(
                    (datetime.combine(day, datetime.min.time()) + timedelta(hours=hour), lam)
                )
        day += timedelta(days=1)
    return pd.DataFrame(rows, columns=["period", "lam"])


def poisson_history(first: date, last: date, level: float, seed: int) -> pd.DataFrame:
    """period, y, lam: one Poisson draw per open hour (hours with 0 arrivals have no row)."""
    truth = intensity(first, last, level)
    truth["y"] = np.random.default_rng(seed).poisson(truth["lam"]).astype("float64")
    return truth[truth["y"] > 0].reset_index(drop=True)


def arrivals_mart(first: date, horizon: date) -> pd.DataFrame:
    """``fct_center_hourly_arrivals``-shaped rows for two series before ``horizon``.

    C01 permits 9:00-16:00 at 6 minutes a visitor; C02 tax 9:00-11:00, whose handling
    time moves with the week (20 minutes in odd ISO weeks, 10 in even ones), so a mean
    handling time must weight by visitors to come out right.
    """
    last = horizon - timedelta(days=1)
    permits = poisson_history(first, last, 12.0, seed=21)
    permits = permits.assign(center_id="C01", service_category="permits", mean_handle_minutes=6.0)
    tax = poisson_history(first, last, 4.0, seed=22)
    tax = tax[tax["period"].dt.hour < 12].assign(center_id="C02", service_category="tax")
    odd = (tax["period"].dt.isocalendar().week % 2).astype(bool)
    tax["mean_handle_minutes"] = odd.map({True: 20.0, False: 10.0})
    frame = pd.concat([permits, tax], ignore_index=True)
    frame = frame.rename(columns={"period": "arrival_hour", "y": "arrivals"})
    columns = ["center_id", "service_category", "arrival_hour", "arrivals", "mean_handle_minutes"]
    return frame.astype({"arrivals": "int64"})[columns]
