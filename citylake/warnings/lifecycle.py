"""One warning's life per hazard and district: issued, upgraded, downgraded, lifted.

At every step the engine hands in the level the district is at (observed or predicted,
whichever is higher) and the evidence behind it. The lifecycle turns that series into
changes, with hysteresis so a level hovering at a threshold does not flap:

* a higher level is announced at once (**issued** from nothing, **upgraded** otherwise):
  a warning is worth something only if it comes early;
* a lower level is announced (**downgraded**) only after the level has stayed lower for
  ``hold_steps``, and then to the highest level seen during that hold;
* the warning is **lifted** after ``lift_steps`` steps without any level.

Every change keeps the warning's id (hazard, district, issue time), its sequence number,
the level before and after, and the evidence, so the full history is a table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Hysteresis:
    hold_steps: int  # a lower level must last this long before a downgrade
    lift_steps: int  # no level for this long lifts the warning


HYSTERESIS = {
    "rainstorm": Hysteresis(hold_steps=12, lift_steps=12),  # 1 h, 1 h
    "flood": Hysteresis(hold_steps=12, lift_steps=24),  # 1 h, 2 h
    "heat": Hysteresis(hold_steps=6, lift_steps=12),  # 6 h, 12 h
    "air_quality": Hysteresis(hold_steps=3, lift_steps=6),  # 3 h, 6 h
}


@dataclass(frozen=True)
class Change:
    hazard: str
    district_code: str
    warning_id: str
    sequence: int
    step: int
    action: str  # issued | upgraded | downgraded | lifted
    level: int  # the level after the change (the lifted level for a lift)
    previous_level: int
    predicted: bool  # announced on the nowcast, before the level was observed
    evidence: dict[str, Any]


@dataclass
class Lifecycle:
    hazard: str
    district_code: str
    rules: Hysteresis
    level: int = 0  # the announced level
    warning_id: str | None = None
    sequence: int = 0
    lower_since: int | None = None  # first step of the current run below the announced level
    lower_max: int = 0  # highest level seen during that run
    lower_evidence: dict[str, Any] = field(default_factory=dict)
    lower_predicted: bool = False

    def step(
        self,
        step: int,
        level: int,
        predicted: bool,
        evidence: dict[str, Any],
        warning_id: str,
    ) -> Change | None:
        """The change this step makes, if any. ``warning_id`` names a warning issued now."""
        if level > self.level:
            action = "issued" if self.level == 0 else "upgraded"
            if action == "issued":
                self.warning_id, self.sequence = warning_id, 0
            else:
                self.sequence += 1
            change = self._change(step, action, level, predicted, evidence)
            self.level, self.lower_since = level, None
            return change
        if level == self.level:
            self.lower_since = None
            return None
        # Lower than announced: wait, keeping the highest level of the wait.
        if self.lower_since is None or level > self.lower_max:
            if self.lower_since is None:
                self.lower_since = step
            self.lower_max, self.lower_evidence, self.lower_predicted = level, evidence, predicted
        waited = step - self.lower_since + 1
        if self.lower_max == 0 and waited >= self.rules.lift_steps:
            self.sequence += 1
            change = self._change(step, "lifted", self.level, False, evidence)
            self.level, self.lower_since, self.warning_id = 0, None, None
            return change
        if self.lower_max > 0 and waited >= self.rules.hold_steps:
            self.sequence += 1
            change = self._change(
                step, "downgraded", self.lower_max, self.lower_predicted, self.lower_evidence
            )
            self.level, self.lower_since = self.lower_max, None
            return change
        return None

    def _change(
        self, step: int, action: str, level: int, predicted: bool, evidence: dict[str, Any]
    ) -> Change:
        assert self.warning_id is not None
        return Change(
            hazard=self.hazard,
            district_code=self.district_code,
            warning_id=self.warning_id,
            sequence=self.sequence,
            step=step,
            action=action,
            level=level,
            previous_level=self.level,
            predicted=predicted,
            evidence=evidence,
        )
