"""One demand series laid out on its opening slots, with the calendar features models use.

A *slot* is one hour a center is open (grain ``hour``) or one day it is open (grain
``day``). Which weekdays and hours a series opens is read from its own history: a weekday
is open when it had arrivals on an ordinary day, an hour when it ever had arrivals. Inside
the open slots an hour without a row counts as 0 arrivals, so a quiet hour is not a gap.
Closed days (public holidays) are known in advance and never open; a make-up working day
opens when the series opens on working days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from citylake.forecasting.calendar import WorkCalendar

GRAINS = ("hour", "day")
SLOT_COLUMNS = ["ds", "day", "hour", "kind", "dow", "eve", "rebound"]
# A make-up day never seen in the training window is sized like an ordinary midweek day
# (its weekday is a weekend day the center otherwise keeps closed).
_MIDWEEK = 2
# Slot layouts a calendar keeps (a few hundred KB each at most).
_MAX_LAYOUTS = 256


@dataclass(frozen=True)
class OpeningPattern:
    weekdays: frozenset[int]
    hours: tuple[int, ...]  # (0,) for the day grain

    def opens(self, day: date, kind: str) -> bool:
        if kind == "closed":
            return False
        if kind == "makeup":
            return any(weekday < 5 for weekday in self.weekdays)
        return day.weekday() in self.weekdays


def opening_pattern(history: pd.DataFrame, calendar: WorkCalendar, grain: str) -> OpeningPattern:
    """Open weekdays and hours of a series from ``history`` (columns period, y)."""
    seen = pd.DatetimeIndex(history.loc[history["y"] > 0, "period"])
    days = (stamp.date() for stamp in seen.normalize().unique())
    ordinary = {d.weekday() for d in days if calendar.kind(d) not in ("makeup", "closed")}
    hours = (0,) if grain == "day" else tuple(int(h) for h in np.unique(seen.hour))
    return OpeningPattern(frozenset(ordinary), hours)


def _frame(days: list[tuple[date, str, str, int, int]], hours: tuple[int, ...]) -> pd.DataFrame:
    """Slot rows: every day of ``days`` (day, kind, dow, eve, rebound) at every hour."""
    if not days:
        return pd.DataFrame({name: [] for name in SLOT_COLUMNS})
    n = len(hours)
    day, kind, dow, eve, rebound = (list(column) for column in zip(*days, strict=True))
    hour = np.tile(np.asarray(hours, dtype="int64"), len(day))
    midnight = np.repeat(np.array(day, dtype="datetime64[D]"), n).astype("datetime64[ns]")
    return pd.DataFrame(
        {
            "ds": midnight + hour * np.timedelta64(1, "h"),
            "day": np.repeat(np.array(day, dtype=object), n),
            "hour": hour,
            "kind": np.repeat(np.array(kind, dtype=object), n),
            "dow": np.repeat(np.array(dow, dtype=object), n),
            "eve": np.repeat(np.asarray(eve, dtype="int64"), n),
            "rebound": np.repeat(np.asarray(rebound, dtype="int64"), n),
        }
    )


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def slots(pattern: OpeningPattern, calendar: WorkCalendar, first: date, last: date) -> pd.DataFrame:
    """Every open slot from ``first`` to ``last``: ds, day, hour, kind, dow, eve, rebound.

    ``dow`` is the weekday as a string key ("makeup" for a make-up day); ``eve`` and
    ``rebound`` the length of the holiday period the day comes before or after (else 0).
    """
    key = ("open", pattern, first, last)
    layout = calendar.layouts.get(key)
    if layout is None:
        if len(calendar.layouts) >= _MAX_LAYOUTS:
            calendar.layouts.clear()
        days = []
        for day in _days(first, last):
            kind = calendar.kind(day)
            if pattern.opens(day, kind):
                dow = "makeup" if kind == "makeup" else str(day.weekday())
                days.append((day, kind, dow, calendar.eve(day), calendar.rebound(day)))
        layout = calendar.layouts[key] = _frame(days, pattern.hours)
    assert isinstance(layout, pd.DataFrame)
    return layout.copy()


def closed_slots(
    pattern: OpeningPattern, calendar: WorkCalendar, first: date, last: date
) -> pd.DataFrame:
    """Slots of days that would be open but for a public holiday (forecast as 0)."""
    days = [
        (day, "closed", str(day.weekday()), 0, 0)
        for day in _days(first, last)
        if calendar.kind(day) == "closed" and day.weekday() in pattern.weekdays
    ]
    return _frame(days, pattern.hours)


def observed(history: pd.DataFrame, open_slots: pd.DataFrame) -> pd.DataFrame:
    """``open_slots`` with y: the history's arrivals, 0 where an open slot has no row."""
    periods = pd.DatetimeIndex(history["period"])
    if periods.is_unique:
        counts = pd.Series(history["y"].to_numpy(), index=periods)
    else:
        counts = history.groupby(periods)["y"].sum()
    out = open_slots.copy()
    at = counts.index.get_indexer(out["ds"])
    out["y"] = np.where(at >= 0, counts.to_numpy(dtype="float64")[at], 0.0)
    return out


def dow_levels(train: pd.DataFrame, future: pd.DataFrame) -> pd.Series:
    """The future slots' weekday keys, with an unseen key mapped to one the training saw."""
    seen = set(train["dow"])
    fallback = str(_MIDWEEK) if str(_MIDWEEK) in seen else train["dow"].mode().iloc[0]
    return future["dow"].where(future["dow"].isin(seen), fallback)


def weekly_lag(train: pd.DataFrame) -> np.ndarray:
    """y of the same slot 7 days earlier, per training slot (NaN where that slot is not open)."""
    ds = pd.DatetimeIndex(train["ds"])
    at = ds.get_indexer(ds - pd.Timedelta(days=7))
    y = train["y"].to_numpy(dtype="float64")
    return np.where(at >= 0, y[at], np.nan)


def weekly_scale(train: pd.DataFrame) -> float:
    """MASE denominator: mean |y(t) − y(same hour, 7 days earlier)| over the training slots."""
    diffs = np.abs(train["y"].to_numpy(dtype="float64") - weekly_lag(train))
    diffs = diffs[~np.isnan(diffs)]
    return float(diffs.mean()) if len(diffs) else float("nan")
