"""The hotline's work-order log (source ``hotline_work_orders``): where each complaint went.

Every complaint starts at its community committee; a level that is not competent passes
it up (street office, district bureau, city department or utility) after a while, and the
competent one closes it, recording the category it really was. One event per assignment
and per closure, delivered in a CSV file per day the event happened; events after the
period are not delivered yet (the complaint is still open). Urgent hazards move ten times
faster. The hours are drawn so that a share of hops overrun the limits the pipeline
applies (``citylake.complaints.routing``): the generator does not know them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from citylake.democity import complaint_situations as situations

# Median hours a level holds a complaint it is not competent for, and to close one it is.
_PASS_HOURS = {"community": 8.0, "street": 14.0, "district": 26.0}
_CLOSE_HOURS = {"community": 20.0, "street": 30.0, "district": 50.0, "department": 75.0}
_SIGMA = 0.75
COLUMNS = ("event_id", "complaint_id", "seq", "event", "level", "unit", "event_at", "category")


def _hours(rng: random.Random, median: float, urgent: bool) -> float:
    return max(0.05, median * math.exp(rng.gauss(0.0, _SIGMA)) / (10.0 if urgent else 1.0))


def events(
    rng: random.Random,
    complaint: Mapping[str, object],
    received_at: datetime,
    units: Mapping[str, str],
    until: datetime,
) -> list[dict[str, object]]:
    """The delivered events of one complaint (those before ``until``).

    ``complaint`` is its truth row; ``units`` names the community committee, street
    office, ... of its location for the levels below the competent one.
    """
    competent = str(complaint["competent_level"])
    urgent = bool(complaint["hazard"])
    out: list[dict[str, object]] = []
    at = received_at + timedelta(minutes=rng.uniform(2, 40) / (4 if urgent else 1))
    levels = situations.LEVELS[: situations.LEVELS.index(competent) + 1]
    for seq, level in enumerate(levels, start=1):
        if at >= until:
            return out
        final = level == competent
        # Community committees and street offices sign with their own name.
        local = not final or level in ("community", "street")
        unit = units[level] if local else str(complaint["competent_department"])
        out.append(_event(complaint, seq * 2 - 1, "assigned", level, unit, at, None))
        if final:
            at += timedelta(hours=_hours(rng, _CLOSE_HOURS[level], urgent))
            if at < until:
                category = str(complaint["true_category"])
                out.append(_event(complaint, seq * 2, "closed", level, unit, at, category))
            return out
        at += timedelta(hours=_hours(rng, _PASS_HOURS[level], urgent))
    return out


def _event(
    complaint: Mapping[str, object],
    seq: int,
    kind: str,
    level: str,
    unit: str,
    at: datetime,
    category: str | None,
) -> dict[str, object]:
    complaint_id = str(complaint["complaint_id"])
    return {
        "event_id": f"{complaint_id}-{seq:02d}",
        "complaint_id": complaint_id,
        "seq": seq,
        "event": kind,
        "level": level,
        "unit": unit,
        "event_at": at.replace(microsecond=0),
        "category": category,
    }


def units_of(location: Mapping[str, object]) -> dict[str, str]:
    """The offices below the department level for a location (names as the log writes them)."""
    community = str(location.get("community") or "")
    street = str(location.get("street") or "")
    district = str(location.get("district") or "")
    return {
        "community": f"{community.removesuffix('社区')}{situations.COMMUNITY_OFFICE}",
        "street": f"{street.removesuffix('街道')}{situations.STREET_OFFICE}",
        "district": f"{district}人民政府",
    }


def by_day(rows: Sequence[dict[str, object]]) -> dict[object, list[dict[str, object]]]:
    out: dict[object, list[dict[str, object]]] = {}
    for row in sorted(rows, key=lambda r: (r["event_at"], r["event_id"])):
        out.setdefault(row["event_at"].date(), []).append(row)  # type: ignore[attr-defined]
    return out
