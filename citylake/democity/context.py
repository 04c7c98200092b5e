"""What every source generator shares: the period, the calendar, named RNG streams.

Determinism rule: every module draws from its *own* named stream
(``ctx.rng("complaints")``), seeded from ``(seed, name)`` by string seeding, which
Python hashes with SHA-512 and so is independent of PYTHONHASHSEED. Adding a new
source module therefore never shifts the random numbers of the existing ones.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from faker import Faker

    from citylake.democity.geography import Geography
    from citylake.democity.population import Population

TZ_SUFFIX = "+08:00"  # the city runs on China Standard Time, no daylight saving
CST = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class CalendarDay:
    day: date
    working: bool  # service centers open
    holiday: str | None  # the holidays package's name for a day off, if any
    makeup_workday: bool  # a Saturday/Sunday worked to make up a holiday bridge


def china_calendar(start: date, days: int) -> list[CalendarDay]:
    """Working days per the ``holidays`` package's China calendar (State Council notices).

    holidays 0.109 has no WORKDAY category for China (only PUBLIC and HALF_DAY); the
    make-up working days (调休上班) are the ``weekend_workdays`` set and are honoured by
    ``is_working_day()``; the swapped-out days off appear as holidays named
    "Day off (substituted from MM/DD/YYYY)". Arrangements are only known up to the
    latest published notice (2026 in this version); later years get statutory days only.
    """
    import holidays

    end = start + timedelta(days=days)
    cn = holidays.China(years=range(start.year, end.year + 1), language="en_US")
    out = []
    for i in range(days):
        d = start + timedelta(days=i)
        working = bool(cn.is_working_day(d))
        out.append(CalendarDay(d, working, cn.get(d), working and d.weekday() >= 5))
    return out


@dataclass
class Disruption:
    """Something one source causes that others react to (a rainstorm floods streets)."""

    kind: str
    ref: str
    district_code: str
    start: datetime
    end: datetime
    severity: str


@dataclass
class CityContext:
    seed: int
    start: date
    days: int
    scale: float
    geography: Geography | None = None
    population: Population | None = None
    disruptions: list[Disruption] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def end(self) -> date:
        """First day after the period."""
        return self.start + timedelta(days=self.days)

    @cached_property
    def calendar(self) -> list[CalendarDay]:
        return china_calendar(self.start, self.days)

    def rng(self, stream: str) -> random.Random:
        return random.Random(f"citylake:{self.seed}:{stream}")

    def np_rng(self, stream: str) -> np.random.Generator:
        digest = hashlib.sha256(f"citylake:{self.seed}:{stream}".encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:16], "big"))

    def faker(self, stream: str) -> Faker:
        from faker import Faker

        fake = Faker("zh_CN")
        fake.seed_instance(self.rng(f"faker:{stream}").getrandbits(64))
        return fake

    def need_geography(self) -> Geography:
        if self.geography is None:
            raise RuntimeError("geography must be generated first")
        return self.geography

    def need_population(self) -> Population:
        if self.population is None:
            raise RuntimeError("population must be generated first")
        return self.population


def fmt_local(day: date, seconds: int) -> str:
    """'YYYY-MM-DD HH:MM:SS' for ``seconds`` after midnight of ``day`` (may exceed 24 h)."""
    if 0 <= seconds < 86400:
        h, rem = divmod(seconds, 3600)
        return f"{day.isoformat()} {h:02d}:{rem // 60:02d}:{rem % 60:02d}"
    return (datetime.combine(day, datetime.min.time()) + timedelta(seconds=seconds)).strftime(
        "%Y-%m-%d %H:%M:%S"
    )


@dataclass
class SourceResult:
    """What one source module hands back: delivered record count, files, truth tables."""

    source_id: str
    records: int
    files: list[Path]
    truth: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
