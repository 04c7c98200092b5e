"""What one station says: its observed level and its nowcast, per hazard.

Each station keeps a short ring of its accepted readings on the feed's step grid. After
every reading the engine asks it for ``assess(step)``: the level its data reach at that
step (observed) and the level its nowcast says they will reach within the lead horizon
(predicted), with the numbers behind both as evidence.

Nowcasts (the criteria's own words: "will reach, or has reached"):

* **rain**: the rate of the last 30 minutes, carried forward with a decay (convective
  cells weaken within hours), raised towards the last hour's trend when it is rising;
  the projected 3 / 6 / 12-hour sums at 1..3 hours ahead are the observed rain still in
  each window plus the projected rain.
* **river stage**: the rise over the last hour, extrapolated up to 3 hours ahead while
  the river is rising (a flood wave's rise is steady for hours; its crest is not
  predicted, so a falling river predicts nothing).
* **temperature**: today's maximum so far, or the current temperature plus the rise
  from this hour to the day's maximum seen on the previous day, whichever is higher,
  until 15:00 (after it the day's maximum is known).
* **AQI**: the rise over the last three hours extrapolated three hours ahead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from citylake.warnings import criteria

RING = 288  # steps kept per station (24 h of 5-minute steps, 12 days of hourly ones)


@dataclass
class Ring:
    """Values by step for the last ``RING`` steps; missing steps are absent (NaN)."""

    latest: int | None = None
    values: np.ndarray = field(default_factory=lambda: np.full(RING, np.nan))

    def put(self, step: int, value: float) -> bool:
        """Store a value; False when the step is too old to be kept."""
        if self.latest is None:
            self.latest = step
        elif step > self.latest:
            gap = min(step - self.latest, RING)
            for s in range(self.latest + 1, self.latest + gap + 1):
                self.values[s % RING] = np.nan
            self.latest = step
        elif step <= self.latest - RING:
            return False
        self.values[step % RING] = value
        return True

    def get(self, step: int) -> float:
        if self.latest is None or step > self.latest or step <= self.latest - RING:
            return float("nan")
        return float(self.values[step % RING])

    def window(self, end: int, steps: int) -> np.ndarray:
        """Values of the steps (end - steps, end]."""
        idx = np.arange(end - steps + 1, end + 1)
        out = self.values[idx % RING].copy()
        if self.latest is None:
            out[:] = np.nan
        else:
            out[(idx > self.latest) | (idx <= self.latest - RING)] = np.nan
        return out

    def total(self, end: int, steps: int) -> int:
        return int(np.nansum(self.window(end, steps)))


@dataclass(frozen=True)
class Assessment:
    observed: int
    predicted: int
    evidence: dict[str, Any]


# --- rain -----------------------------------------------------------------------------

RAIN_LEADS = (6, 12, 18, 24, 30, 36)  # 30 min .. 3 h ahead, in 5-minute steps
RAIN_DECAY = 0.97  # per step: a cell's rate halves in about two hours
RAIN_MIN_RATE = 3  # tenths of a mm per 5 minutes (3.6 mm/h): below it nothing is projected
# How far ahead each level may be predicted (steps). A cell 20 minutes old may become an
# orange storm or a red one: the rarer, more disruptive red signal is only called when
# the projection reaches it within the hour, the others further ahead.
RAIN_MAX_LEAD = {1: 36, 2: 24, 3: 18, 4: 12}


def rain_assess(ring: Ring, step: int) -> Assessment:
    sums = {w: ring.total(step, w) for w in criteria.RAIN_WINDOWS}
    observed = criteria.rain_level(sums)
    last30 = ring.total(step, 6)
    prev30 = ring.total(step - 6, 6)
    rate = last30 / 6
    if last30 > prev30:  # rising: lean towards the trend
        rate += (last30 - prev30) / 6 / 2
    predicted, best = 0, None
    if rate >= RAIN_MIN_RATE:
        for lead in RAIN_LEADS:
            ahead = rate * RAIN_DECAY * (1 - RAIN_DECAY**lead) / (1 - RAIN_DECAY)
            projected = {
                w: (ring.total(step, w - lead) if w > lead else 0) + int(ahead)
                for w in criteria.RAIN_WINDOWS
            }
            level = criteria.rain_level(projected)
            while level and lead > RAIN_MAX_LEAD[level]:
                level -= 1
            if level > predicted:
                predicted, best = level, {"lead_minutes": lead * 5, "sums_tenths": projected}
    evidence: dict[str, Any] = {
        "observed_sums_mm": {f"{w * 5 // 60}h": sums[w] / 10 for w in criteria.RAIN_WINDOWS},
        "rate_mm_per_h": round(rate * 12 / 10, 1),
    }
    if best is not None:
        evidence["nowcast"] = {
            "lead_minutes": best["lead_minutes"],
            "projected_sums_mm": {
                f"{w * 5 // 60}h": v / 10 for w, v in best["sums_tenths"].items()
            },
        }
    return Assessment(observed, predicted, evidence)


# --- river stage ----------------------------------------------------------------------

FLOOD_LEADS = (6, 12, 24, 36)  # 30 min .. 3 h
FLOOD_TREND_STEPS = 12


def flood_assess(ring: Ring, step: int, warning_cm: int, guaranteed_cm: int) -> Assessment:
    stage = ring.get(step)
    observed = criteria.flood_level(int(stage), warning_cm, guaranteed_cm)
    earlier = ring.get(step - FLOOD_TREND_STEPS)
    slope = (stage - earlier) / FLOOD_TREND_STEPS if not np.isnan(earlier) else 0.0
    predicted, lead_min, projected_cm = 0, None, None
    if slope > 0:
        for lead in FLOOD_LEADS:
            projected = int(stage + slope * lead)
            level = criteria.flood_level(projected, warning_cm, guaranteed_cm)
            if level > predicted:
                predicted, lead_min, projected_cm = level, lead * 5, projected
    evidence: dict[str, Any] = {
        "stage_m": stage / 100,
        "warning_level_m": warning_cm / 100,
        "guaranteed_level_m": guaranteed_cm / 100,
        "rise_m_per_h": round(slope * 12 / 100, 3),
    }
    if lead_min is not None and projected_cm is not None:
        evidence["nowcast"] = {"lead_minutes": lead_min, "projected_stage_m": projected_cm / 100}
    return Assessment(observed, predicted, evidence)


# --- temperature ----------------------------------------------------------------------

# The day's maximum is nowcast from mid-morning (the day's warming under way) until
# 15:00 (after it the maximum is known), with the smaller of the last two days' rises
# from this hour to their maximum: a cooler or cloudier day rises less.
HEAT_NOWCAST_HOURS = range(9, 15)


@dataclass
class HeatDays:
    """Daily maxima (tenths of a degree) by day number, and hourly readings by hour."""

    maxima: dict[int, int] = field(default_factory=dict)
    by_hour: dict[tuple[int, int], int] = field(default_factory=dict)

    def add(self, day: int, hour: int, value: int) -> None:
        self.maxima[day] = max(self.maxima.get(day, value), value)
        self.by_hour[(day, hour)] = value
        for old in [d for d in self.maxima if d < day - 6]:
            del self.maxima[old]
        for key in [k for k in self.by_hour if k[0] < day - 2]:
            del self.by_hour[key]


def heat_assess(days: HeatDays, ring: Ring, step: int) -> Assessment:
    """``step`` is an hour number; day = step // 24, hour = step % 24 (local time)."""
    day, hour = divmod(step, 24)
    last24 = ring.window(step, 24)
    max24 = int(np.nanmax(last24)) if np.isfinite(last24).any() else -(10**9)
    run = [
        days.maxima.get(d, -(10**9)) for d in range(day - criteria.HEAT_YELLOW_DAYS + 1, day + 1)
    ]
    observed = criteria.heat_level(max24, run)
    predicted, expected_max = 0, None
    now = days.by_hour.get((day, hour))
    rises = [
        days.maxima[d] - days.by_hour[(d, hour)]
        for d in (day - 1, day - 2)
        if d in days.maxima and (d, hour) in days.by_hour
    ]
    if now is not None and hour in HEAT_NOWCAST_HOURS and rises:
        expected_max = max(days.maxima.get(day, now), now + max(0, min(rises)))
        predicted = criteria.heat_level(max(max24, expected_max), [*run[:-1], expected_max])
    evidence: dict[str, Any] = {
        "max_24h_c": max24 / 10,
        "daily_max_c": [m / 10 if m > -(10**8) else None for m in run],
    }
    if expected_max is not None:
        evidence["nowcast"] = {"expected_daily_max_c": expected_max / 10}
    return Assessment(observed, predicted, evidence)


# --- AQI --------------------------------------------------------------------------------

AIR_TREND_STEPS = 3
AIR_LEAD_STEPS = 3
AIR_DAMPING = 0.7


def air_assess(ring: Ring, step: int) -> Assessment:
    aqi = ring.get(step)
    observed = criteria.air_level(int(aqi))
    earlier = ring.get(step - AIR_TREND_STEPS)
    before = ring.get(step - 1)
    slope = (aqi - earlier) / AIR_TREND_STEPS if not np.isnan(earlier) else 0.0
    # A damped trend (pollution builds for hours, then levels off) that must still be
    # rising in the last hour.
    ahead = sum(AIR_DAMPING**k for k in range(1, AIR_LEAD_STEPS + 1))
    rising = slope > 0 and not np.isnan(before) and aqi > before
    projected = int(aqi + slope * ahead) if rising else int(aqi)
    predicted = criteria.air_level(projected)
    evidence: dict[str, Any] = {"aqi": int(aqi), "band": criteria.aqi_band(int(aqi))}
    if predicted > observed:
        evidence["nowcast"] = {"lead_minutes": AIR_LEAD_STEPS * 60, "projected_aqi": projected}
    return Assessment(observed, predicted, evidence)
