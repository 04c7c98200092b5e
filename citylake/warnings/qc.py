"""Sensor quality control, one station at a time, in event-time order.

Each station's readings pass through a :class:`StationQc` before they count. Every check
is *causal*: it judges a reading from the readings before it (and, for the neighbour check,
the other stations up to the same step), never from later ones, so the batch job and the
streaming job, which see a reading at the same step with the same past, decide alike.

What is checked, and what happens:

* **clock skew**: a timestamp off the feed's grid (a gauge whose clock runs 4 minutes
  early) is moved to the nearest grid step when that step has no reading of its own
  (``corrected``); otherwise excluded.
* **duplicate**: a second reading for a step already filled: excluded (landing already
  drops redeliveries of the same key; this catches a skewed reading landing on a filled step).
* **stuck**: the same value ``stuck_after`` times running (a frozen logger repeating its
  last good value; for rain only non-zero values, since a dry gauge repeats 0 by nature):
  from that repeat on, excluded until the value changes.
* **spike**: a jump from the last accepted value larger than the feed's physical rate
  (a river does not rise 50 cm in 5 minutes): excluded, unless the next reading confirms
  the new level, which is then accepted.
* **isolated storm** (rain only): heavy rain at one gauge while no other gauge saw any
  rain for the same three hours: excluded; a storm crosses gauges, a fault does not.
* **dropout**: a run of missing steps; nothing to exclude, but reported, so a gap in the
  evidence is never mistaken for a dry hour.

Physically impossible values never get here: landing's Great Expectations suites hold the
catalog's ranges and quarantine them, with the reason, before they reach bronze.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class QcRules:
    step_minutes: int
    stuck_after: int  # this many equal values in a row: the last ones are stuck
    stuck_min_value: int  # values below this never count as stuck (a dry gauge's 0)
    max_jump: int  # largest plausible change between consecutive steps, in units
    dropout_steps: int  # a gap this long (in steps) is reported


# Thresholds from the feeds' own behaviour on the demo city: the longest natural run of
# equal values is 12 readings on a river gauge, 5 on a weather station, 4 on an air
# monitor; drizzle repeats 0.1 mm for 22 readings.
RULES = {
    "rainstorm": QcRules(5, stuck_after=6, stuck_min_value=5, max_jump=300, dropout_steps=6),
    "flood": QcRules(5, stuck_after=24, stuck_min_value=-(10**9), max_jump=50, dropout_steps=6),
    "heat": QcRules(60, stuck_after=6, stuck_min_value=-(10**9), max_jump=80, dropout_steps=3),
    "air_quality": QcRules(
        60, stuck_after=6, stuck_min_value=-(10**9), max_jump=200, dropout_steps=3
    ),
}
# An isolated storm: this much rain (tenths of a mm) in the last hour at one gauge while
# every other gauge had less than ISOLATED_OTHERS_MAX in the last three hours.
ISOLATED_HOUR_MIN = 200
ISOLATED_OTHERS_MAX = 5
# A rain nowcast needs another gauge with at least this much rain in the last hour.
CORROBORATING_HOUR_MIN = 10


@dataclass(frozen=True)
class Exclusion:
    station_id: str
    step: int
    value: int
    reason: str
    detail: str


@dataclass
class StationQc:
    """The running state of one station's checks."""

    station_id: str
    rules: QcRules
    last_value: int | None = None  # last reading seen (accepted or not)
    run: int = 0  # how many times last_value repeated
    last_accepted: int | None = None
    pending_jump: int | None = None  # a spike candidate waiting for confirmation
    last_step: int | None = None
    exclusions: list[Exclusion] = field(default_factory=list)

    def check(self, step: int, value: int) -> str | None:
        """The exclusion reason for this reading, or None when it counts."""
        rules = self.rules
        reason = None
        if value == self.last_value:
            self.run += 1
        else:
            self.run = 1
        self.last_value = value
        if self.run >= rules.stuck_after and value >= rules.stuck_min_value:
            reason = "stuck"
        elif self.last_accepted is not None and abs(value - self.last_accepted) > rules.max_jump:
            if self.pending_jump is not None and abs(value - self.pending_jump) <= rules.max_jump:
                reason = None  # the previous jump is confirmed: a real change of level
            else:
                reason = "spike"
            self.pending_jump = value
        else:
            self.pending_jump = None
        if reason is None:
            self.last_accepted = value
            self.pending_jump = None
        self.last_step = step
        return reason

    def exclude(self, step: int, value: int, reason: str, detail: str) -> None:
        self.exclusions.append(Exclusion(self.station_id, step, value, reason, detail))


def gap(previous_step: int | None, step: int, rules: QcRules) -> int:
    """Missing steps between two consecutive readings of a station (0 when none)."""
    if previous_step is None:
        return 0
    missing = step - previous_step - 1
    return missing if missing >= rules.dropout_steps else 0
