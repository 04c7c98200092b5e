"""The Chinese working calendar as known future information for demand forecasts.

Every forecast day gets one *day kind*, derived from the ``holidays`` package alone (the
State Council notices), never from the data:

* ``closed``       a day of a public holiday period (statutory days, bridging days off and
                   the plain weekend days inside the period);
* ``makeup``       a weekend day worked to pay for a bridging day off (调休上班);
* ``pre_holiday``  the last working day before a holiday period;
* ``post_holiday`` the first working day after one (people who waited come back);
* ``ordinary``     every other day (weekends included: whether a center opens on them is
                   read from its own history).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import holidays

DAY_KINDS = ("ordinary", "pre_holiday", "post_holiday", "makeup", "closed")
# A run of non-working days this long or longer around a holiday is a "holiday period"
# whose eve and rebound days are marked; an ordinary weekend (2 days) is not.
_PERIOD_MIN_DAYS = 3


def china_calendar(start: date, end: date) -> tuple[frozenset[date], frozenset[date]]:
    """Days off for a public holiday, and make-up working days, in China from start to end.

    The ``holidays`` package lists statutory days and bridging days off but not the plain
    weekend days inside a holiday period (National Day 2026 lists 10-01..03, 05..07, not
    Sunday 10-04). A holiday period is therefore taken as the whole run of consecutive
    non-working days around a listed holiday, which reproduces the State Council notices
    (e.g. 2026-10-01..07, 2026-02-15..23) and closes weekend-opening centres on those days.
    """
    closed = {day for run in _holiday_runs(start, end) for day in run}
    in_range = {start + timedelta(days=n) for n in range((end - start).days + 1)}
    cn = _china(start, end)
    makeup = frozenset(day for day in cn.weekend_workdays if day in in_range)
    return frozenset(closed & in_range), makeup


def _china(start: date, end: date) -> holidays.HolidayBase:
    return holidays.China(years=range(start.year - 1, end.year + 2))


def _holiday_runs(start: date, end: date) -> list[list[date]]:
    """Runs of consecutive non-working days that contain a listed holiday, near the range."""
    # Margins so a run crossing ``start`` or ``end`` is still seen whole.
    low, high = start - timedelta(days=14), end + timedelta(days=14)
    cn = _china(start, end)
    runs: list[list[date]] = []
    run: list[date] = []
    day = low
    while day <= high + timedelta(days=1):
        if day <= high and not cn.is_working_day(day):
            run.append(day)
        else:
            if any(off in cn for off in run):
                runs.append(run)
            run = []
        day += timedelta(days=1)
    return runs


@dataclass(frozen=True)
class WorkCalendar:
    """Day kinds from ``start`` to ``end``; ``kind(day)`` for any day in between.

    ``eves`` and ``rebounds`` map the working day before and after a holiday period to
    the period's length. They are kept apart from the kind because one day can be both a
    make-up day and an eve (Sat 2026-02-14 is worked, and Spring Festival follows).
    """

    start: date
    end: date
    kinds: dict[date, str]
    eves: dict[date, int]
    rebounds: dict[date, int]
    # Slot layouts already made on this calendar (``series.slots``): the series of one
    # job share a few opening patterns, so most series reuse a layout.
    layouts: dict[tuple[object, ...], object] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )

    def eve(self, day: date) -> int:
        """Closed days in the holiday period that follows this working day (else 0)."""
        return self.eves.get(day, 0)

    def rebound(self, day: date) -> int:
        """Closed days in the holiday period this working day follows (else 0)."""
        return self.rebounds.get(day, 0)

    def kind(self, day: date) -> str:
        if not self.start <= day <= self.end:
            raise ValueError(f"{day} is outside the calendar {self.start}..{self.end}")
        return self.kinds.get(day, "ordinary")


def work_calendar(start: date, end: date) -> WorkCalendar:
    """The day kind of every day from ``start`` to ``end`` (both included)."""
    closed, makeup = china_calendar(start, end)
    kinds: dict[date, str] = {day: "makeup" for day in makeup}
    eves: dict[date, int] = {}
    rebounds: dict[date, int] = {}
    cn = _china(start, end)
    for run in _holiday_runs(start, end):
        if len(run) < _PERIOD_MIN_DAYS:
            continue
        eve, rebound = run[0] - timedelta(days=1), run[-1] + timedelta(days=1)
        # The eve and rebound are the nearest *working* days (a make-up Saturday counts).
        while not cn.is_working_day(eve):
            eve -= timedelta(days=1)
        while not cn.is_working_day(rebound):
            rebound += timedelta(days=1)
        for day, kind, marks in ((eve, "pre_holiday", eves), (rebound, "post_holiday", rebounds)):
            if start <= day <= end:
                marks[day] = len(run)
                kinds.setdefault(day, kind)  # a make-up day stays one
    kinds.update({day: "closed" for day in closed})
    return WorkCalendar(start, end, kinds, eves, rebounds)
