"""The warning engine of one hazard in one district: readings in, changes out.

Readings are processed one at a time **in arrival order** (the order landing committed
them: ``_loaded_at``, ``_batch_id``, ``_row_number``). Each reading passes quality
control, updates its station, and, for a station of this district, re-assesses the
station and steps the district's lifecycle at the newest step seen. Nothing waits for a
watermark, so an alert leaves as soon as the reading that justifies it has landed; a
reading that arrives late still counts in every window that contains its step.

Because the state after a reading depends only on the readings before it in arrival
order, the batch job (a replay of everything landed, sorted by arrival) and the
streaming job (the same readings micro-batch by micro-batch, the engine kept in Spark
state between them) make the same changes.

Readings of other districts' stations may be fed too: they update those stations for
the neighbour checks (an isolated storm) but never the district's level.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from citylake.warnings import criteria, qc
from citylake.warnings.lifecycle import HYSTERESIS, Change, Lifecycle
from citylake.warnings.stations import (
    RING as RING_STEPS,
)
from citylake.warnings.stations import (
    Assessment,
    HeatDays,
    Ring,
    air_assess,
    flood_assess,
    heat_assess,
    rain_assess,
)

EPOCH = datetime(1970, 1, 1)
# A station silent for this many steps no longer holds the district's level.
STALE_STEPS = {"rainstorm": 12, "flood": 12, "heat": 3, "air_quality": 3}


def to_minutes(at: datetime) -> int:
    return int((at - EPOCH).total_seconds() // 60)


def step_time(step: int, hazard: str) -> datetime:
    return EPOCH + timedelta(minutes=step * criteria.STEP_MINUTES[hazard])


@dataclass(frozen=True)
class Reading:
    station_id: str
    district_code: str
    at: datetime  # wall-clock time, Asia/Shanghai, end of the interval
    value: float  # in the feed's unit (mm, degrees, m, AQI)
    warning_level: float | None = None  # river gauges carry their levels
    guaranteed_level: float | None = None


@dataclass(frozen=True)
class Record:
    """One output row: a lifecycle change, an excluded reading, or a notice."""

    record: str  # change | exclusion | notice
    hazard: str
    district_code: str
    station_id: str | None
    at: datetime
    warning_id: str | None = None
    sequence: int | None = None
    action: str | None = None
    level: str | None = None
    previous_level: str | None = None
    predicted: bool | None = None
    reason: str | None = None
    value: float | None = None
    detail: str | None = None
    observed_level: str | None = None  # a change: the evidence station's observed level
    predicted_level: str | None = None  # ... and its nowcast's
    lead_minutes: int | None = None  # ... and how far ahead the nowcast reached the level


@dataclass
class Station:
    station_id: str
    own: bool
    qc: qc.StationQc
    ring: Ring = field(default_factory=Ring)
    heat: HeatDays = field(default_factory=HeatDays)
    levels: tuple[int, int] = (0, 0)  # warning, guaranteed (cm) for a river gauge
    assessment: Assessment | None = None
    assessed_step: int | None = None
    suspect_until: int | None = None  # an isolated storm: excluded until this step


class DistrictEngine:
    def __init__(self, hazard: str, district_code: str) -> None:
        if hazard not in criteria.HAZARDS:
            raise ValueError(f"unknown hazard {hazard!r}; hazards are {criteria.HAZARDS}")
        self.hazard = hazard
        self.district_code = district_code
        self.rules = qc.RULES[hazard]
        self.stations: dict[str, Station] = {}
        self.lifecycle = Lifecycle(hazard, district_code, HYSTERESIS[hazard])
        self.now: int | None = None  # newest step seen in this district

    # -- one reading ---------------------------------------------------------------

    def feed(self, reading: Reading) -> list[Record]:
        station = self._station(reading)
        out: list[Record] = []
        minutes = to_minutes(reading.at)
        step_minutes = self.rules.step_minutes
        step, off = divmod(minutes, step_minutes)
        if off:  # clock skew: the nearest grid step, when it is free
            step = round(minutes / step_minutes)
            if not _isnan(station.ring.get(step)):
                return self._exclude(station, step, reading, "clock_skew", f"{off} min off grid")
            if station.own:
                out.append(
                    self._notice(station, step, "clock_skew_corrected", f"{off} min off grid")
                )
        elif not _isnan(station.ring.get(step)):
            return self._exclude(station, step, reading, "duplicate", "step already has a reading")
        value = criteria.to_units(reading.value, self.hazard)
        latest = station.ring.latest
        if latest is not None and step <= latest - RING_STEPS:
            # Older than anything a window still holds (a day file delivered again days
            # later): it can no longer change a level.
            return self._exclude(station, step, reading, "late", "older than every window")
        if latest is not None and step < latest and station.own:
            out.append(self._notice(station, step, "out_of_order", "arrived after later readings"))
        missing = qc.gap(station.qc.last_step, step, self.rules)
        if missing and station.own and step > (station.qc.last_step or step):
            out.append(self._notice(station, step, "dropout", f"{missing} step(s) missing before"))
        reason = station.qc.check(step, value)
        if reason is None and self.hazard == "rainstorm":
            reason = self._isolated(station, step, value)
        if reason is not None:
            if station.own:
                out.append(self._exclusion(station, step, reading, reason))
                out += self._retracted(station)
            else:
                station.qc.exclusions.clear()
            return out
        station.ring.put(step, value)
        if self.hazard == "heat":
            day, hour = divmod(step, 24)
            station.heat.add(day, hour, value)
        if station.own:
            out += self._assess(station, step)
        return out

    # -- checks ----------------------------------------------------------------------

    def _isolated(self, station: Station, step: int, value: int) -> str | None:
        """Heavy rain here while every other gauge stayed dry: a fault, not a storm."""
        if station.suspect_until is not None and step <= station.suspect_until and value > 0:
            return "isolated_storm"
        hour = station.ring.total(step - 1, 11) + value
        if hour < qc.ISOLATED_HOUR_MIN:
            return None
        others = [s for s in self.stations.values() if s is not station and s.ring.latest]
        if not others or any(
            s.ring.total(min(step, s.ring.latest or step), 36) >= qc.ISOLATED_OTHERS_MAX
            for s in others
        ):
            return None
        station.suspect_until = step + 36
        # Take the last hour back out of this gauge's windows: it was the same fault.
        for back in range(step - 11, step):
            earlier = station.ring.get(back)
            if not _isnan(earlier) and earlier > 0:
                station.ring.put(back, 0.0)
                if station.own:
                    station.qc.exclude(back, int(earlier), "isolated_storm", "retracted")
        return "isolated_storm"

    def _corroborated(self, station: Station, step: int) -> bool:
        """Another gauge (of any district) had rain in the last hour."""
        return any(
            s.ring.total(min(step, s.ring.latest), 12) >= qc.CORROBORATING_HOUR_MIN
            for s in self.stations.values()
            if s is not station and s.ring.latest is not None and s.ring.latest >= step - 12
        )

    # -- assessment and lifecycle --------------------------------------------------

    def _assess(self, station: Station, step: int) -> list[Record]:
        ring = station.ring
        if self.hazard == "rainstorm":
            assessment = rain_assess(ring, step)
            if assessment.predicted > assessment.observed and not self._corroborated(station, step):
                # A nowcast from one gauge alone, with every other gauge dry, is how a
                # stuck logger or a burst of noise starts: observed levels only.
                assessment = Assessment(
                    assessment.observed,
                    0,
                    {**assessment.evidence, "nowcast_withheld": "no other gauge has rain"},
                )
        elif self.hazard == "flood":
            assessment = flood_assess(ring, step, *station.levels)
        elif self.hazard == "heat":
            assessment = heat_assess(station.heat, ring, step)
        else:
            assessment = air_assess(ring, step)
        if station.assessed_step is None or step >= station.assessed_step:
            station.assessment, station.assessed_step = assessment, step
        out = self._retracted(station)
        self.now = step if self.now is None else max(self.now, step)
        level, predicted, evidence = self._district_level()
        warning_id = (
            f"{self.hazard}-{self.district_code}-{step_time(self.now, self.hazard):%Y%m%dT%H%M}"
        )
        change = self.lifecycle.step(self.now, level, predicted, evidence, warning_id)
        if change is not None:
            out.append(self._change(change))
        return out

    def _district_level(self) -> tuple[int, bool, dict[str, Any]]:
        assert self.now is not None
        best: tuple[int, bool, str, Assessment] | None = None
        for s in self.stations.values():
            a = s.assessment
            if not s.own or a is None or s.assessed_step is None:
                continue
            if s.assessed_step < self.now - STALE_STEPS[self.hazard]:
                continue
            level = max(a.observed, a.predicted)
            if best is None or level > best[0]:
                best = (level, a.predicted > a.observed, s.station_id, a)
        if best is None or best[0] == 0:
            return 0, False, {}
        level, predicted, station_id, a = best
        evidence = {
            "station_id": station_id,
            "observed_level": criteria.colour(a.observed),
            "predicted_level": criteria.colour(a.predicted),
            **a.evidence,
        }
        return level, predicted, evidence

    # -- records -------------------------------------------------------------------

    def _station(self, reading: Reading) -> Station:
        station = self.stations.get(reading.station_id)
        if station is None:
            station = Station(
                reading.station_id,
                own=reading.district_code == self.district_code,
                qc=qc.StationQc(reading.station_id, self.rules),
            )
            self.stations[reading.station_id] = station
        if reading.warning_level is not None and reading.guaranteed_level is not None:
            station.levels = (
                criteria.to_units(reading.warning_level, self.hazard),
                criteria.to_units(reading.guaranteed_level, self.hazard),
            )
        return station

    def _retracted(self, station: Station) -> list[Record]:
        found, station.qc.exclusions = station.qc.exclusions, []
        return [
            Record(
                "exclusion",
                self.hazard,
                self.district_code,
                e.station_id,
                step_time(e.step, self.hazard),
                reason=e.reason,
                value=e.value / criteria.FEEDS[self.hazard][2],
                detail=e.detail,
            )
            for e in found
        ]

    def _exclusion(self, station: Station, step: int, reading: Reading, reason: str) -> Record:
        return Record(
            "exclusion",
            self.hazard,
            self.district_code,
            station.station_id,
            step_time(step, self.hazard),
            reason=reason,
            value=reading.value,
        )

    def _exclude(
        self, station: Station, step: int, reading: Reading, reason: str, detail: str
    ) -> list[Record]:
        if not station.own:
            return []
        record = self._exclusion(station, step, reading, reason)
        return [Record(**{**record.__dict__, "detail": detail})]

    def _notice(self, station: Station, step: int, reason: str, detail: str) -> Record:
        return Record(
            "notice",
            self.hazard,
            self.district_code,
            station.station_id,
            step_time(step, self.hazard),
            reason=reason,
            detail=detail,
        )

    def _change(self, change: Change) -> Record:
        return Record(
            "change",
            self.hazard,
            self.district_code,
            change.evidence.get("station_id"),
            step_time(change.step, self.hazard),
            warning_id=change.warning_id,
            sequence=change.sequence,
            action=change.action,
            level=criteria.colour(change.level),
            previous_level=criteria.colour(change.previous_level),
            predicted=change.predicted,
            detail=json.dumps(change.evidence, ensure_ascii=False, sort_keys=True),
            observed_level=change.evidence.get("observed_level"),
            predicted_level=change.evidence.get("predicted_level"),
            lead_minutes=(change.evidence.get("nowcast") or {}).get("lead_minutes")
            if change.predicted
            else None,
        )


def _isnan(value: float) -> bool:
    return value != value
