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
from datetime import date, datetime, time, timedelta

import pandas as pd

from citylake.forecasting.calendar import WorkCalendar

GRAINS = ("hour", "day")
SLOT_COLUMNS = ["ds", "day", "hour", "kind", "dow", "eve", "rebound"]
# A make-up day never seen in the training window is sized like an ordinary midweek day
# (its weekday is a weekend day the center otherwise keeps closed).
_MIDWEEK = 2


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
    seen = history[history["y"] > 0]
    days = pd.to_datetime(seen["period"]).dt.date
    ordinary = [d.weekday() for d in days if calendar.kind(d) not in ("makeup", "closed")]
    hours = (0,) if grain == "day" else tuple(sorted(set(pd.to_datetime(seen["period"]).dt.hour)))
    return OpeningPattern(frozenset(ordinary), hours)


def slots(pattern: OpeningPattern, calendar: WorkCalendar, first: date, last: date) -> pd.DataFrame:
    """Every open slot from ``first`` to ``last``: ds, day, hour, kind, dow, eve, rebound.

    ``dow`` is the weekday as a string key ("makeup" for a make-up day); ``eve`` and
    ``rebound`` the length of the holiday period the day comes before or after (else 0).
    """
    rows = []
    day = first
    while day <= last:
        kind = calendar.kind(day)
        if pattern.opens(day, kind):
            dow = "makeup" if kind == "makeup" else str(day.weekday())
            eve, rebound = calendar.eve(day), calendar.rebound(day)
            rows.extend(
                (datetime.combine(day, time(hour)), day, hour, kind, dow, eve, rebound)
                for hour in pattern.hours
            )
        day += timedelta(days=1)
    return pd.DataFrame(rows, columns=SLOT_COLUMNS)


def closed_slots(
    pattern: OpeningPattern, calendar: WorkCalendar, first: date, last: date
) -> pd.DataFrame:
    """Slots of days that would be open but for a public holiday (forecast as 0)."""
    rows = []
    day = first
    while day <= last:
        if calendar.kind(day) == "closed" and day.weekday() in pattern.weekdays:
            rows.extend(
                (datetime.combine(day, time(hour)), day, hour, "closed", str(day.weekday()), 0, 0)
                for hour in pattern.hours
            )
        day += timedelta(days=1)
    return pd.DataFrame(rows, columns=SLOT_COLUMNS)


def observed(history: pd.DataFrame, open_slots: pd.DataFrame) -> pd.DataFrame:
    """``open_slots`` with y: the history's arrivals, 0 where an open slot has no row."""
    counts = history.groupby(pd.to_datetime(history["period"]))["y"].sum()
    out = open_slots.copy()
    out["y"] = out["ds"].map(counts).fillna(0.0).astype("float64")
    return out


def dow_levels(train: pd.DataFrame, future: pd.DataFrame) -> pd.Series:
    """The future slots' weekday keys, with an unseen key mapped to one the training saw."""
    seen = set(train["dow"])
    fallback = str(_MIDWEEK) if str(_MIDWEEK) in seen else train["dow"].mode().iloc[0]
    return future["dow"].where(future["dow"].isin(seen), fallback)


def weekly_scale(train: pd.DataFrame) -> float:
    """MASE denominator: mean |y(t) − y(same hour, 7 days earlier)| over the training slots."""
    earlier = train.set_index("ds")["y"]
    lagged = (train["ds"] - pd.Timedelta(days=7)).map(earlier)
    diffs = (train["y"] - lagged).abs().dropna()
    return float(diffs.mean()) if len(diffs) else float("nan")
