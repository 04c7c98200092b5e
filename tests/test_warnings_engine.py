"""The warning engine on hand-made series: exact thresholds, each lifecycle step, each
sensor fault, and state that survives a pickle (what the streaming job keeps between
micro-batches)."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta

import pytest

from citylake.warnings import criteria
from citylake.warnings.engine import DistrictEngine, Reading, Record
from citylake.warnings.lifecycle import Hysteresis, Lifecycle

T0 = datetime(2026, 9, 10, 0, 0)
D1, D2 = "339902", "339903"


def rain(
    station: str, district: str, values_mm: list[float], start: datetime = T0
) -> list[Reading]:
    return [
        Reading(station, district, start + timedelta(minutes=5 * (i + 1)), v)
        for i, v in enumerate(values_mm)
    ]


def run(engine: DistrictEngine, readings: list[Reading]) -> list[Record]:
    out: list[Record] = []
    for reading in readings:
        out += engine.feed(reading)
    return out


def changes(records: list[Record]) -> list[tuple[str, str | None]]:
    return [(r.action or "", r.level) for r in records if r.record == "change"]


# -- criteria: exact at the boundary -------------------------------------------------


def test_rain_thresholds_are_exact() -> None:
    assert criteria.to_units(49.9, "rainstorm") == 499
    assert criteria.to_units(0.1 + 0.2, "rainstorm") == 3  # float noise never shifts a tenth
    assert criteria.rain_level({144: 500}) == criteria.rank("blue")
    assert criteria.rain_level({144: 499}) == 0
    assert criteria.rain_level({72: 500, 144: 500}) == criteria.rank("yellow")
    assert criteria.rain_level({36: 500, 72: 500, 144: 500}) == criteria.rank("orange")
    assert criteria.rain_level({36: 999, 72: 999, 144: 999}) == criteria.rank("orange")
    assert criteria.rain_level({36: 1000, 72: 1000, 144: 1000}) == criteria.rank("red")


def test_other_hazards_thresholds() -> None:
    assert criteria.heat_level(400, [300, 300, 400]) == criteria.rank("red")
    assert criteria.heat_level(399, [300, 300, 399]) == criteria.rank("orange")
    assert criteria.heat_level(369, [350, 360, 369]) == criteria.rank("yellow")
    assert criteria.heat_level(369, [349, 360, 369]) == 0  # two days at 35 are not three
    assert criteria.flood_level(405, 405, 495) == 0  # at the warning level: not above it
    assert criteria.flood_level(406, 405, 495) == criteria.rank("yellow")
    assert criteria.flood_level(496, 405, 495) == criteria.rank("red")
    assert criteria.air_level(200) == 0
    assert criteria.air_level(201) == criteria.rank("yellow")
    assert criteria.air_level(301) == criteria.rank("orange")
    assert criteria.aqi_band(301) == "severe" and criteria.aqi_band(150) == "unhealthy_sensitive"


def test_observed_blue_at_exactly_50_mm_in_12_hours() -> None:
    """50.0 mm in 12 h reaches blue, 49.9 mm does not. The other gauge stays dry, so the
    nowcast is withheld (uncorroborated) and only the observed sums count."""
    steady = [0.3] * 143  # 42.9 mm
    dry = rain("RG-002", D2, [0.0] * 144)
    for last, expected in ((7.0, []), (7.1, [("issued", "blue")])):
        engine = DistrictEngine("rainstorm", D1)
        gauge = rain("RG-001", D1, [*steady, last])
        out = run(engine, [r for pair in zip(dry, gauge, strict=True) for r in pair])
        assert changes(out) == expected, last
    issued = next(r for r in out if r.record == "change")
    assert issued.predicted is False and issued.observed_level == "blue"
    assert issued.at == T0 + timedelta(hours=12)


# -- the lifecycle -------------------------------------------------------------------


def test_lifecycle_issue_upgrade_downgrade_lift_with_hysteresis() -> None:
    life = Lifecycle("rainstorm", D1, Hysteresis(hold_steps=3, lift_steps=4))
    levels = [1, 1, 3, 3, 2, 3, 2, 2, 2, 0, 0, 0, 0, 0]
    made = []
    for step, level in enumerate(levels):
        change = life.step(step, level, False, {"station_id": "RG-001"}, f"w-{step}")
        if change:
            made.append((step, change.action, change.level, change.sequence, change.warning_id))
    assert made == [
        (0, "issued", 1, 0, "w-0"),
        (2, "upgraded", 3, 1, "w-0"),
        # 2 at step 4 is followed by 3 again: no flapping; 2,2,2 from step 6 holds 3 steps.
        (8, "downgraded", 2, 2, "w-0"),
        (12, "lifted", 2, 3, "w-0"),
    ]
    again = life.step(13, 1, True, {}, "w-13")
    assert again is not None and (again.action, again.sequence, again.warning_id) == (
        "issued",
        0,
        "w-13",
    )


def test_predicted_storm_warns_before_the_crossing() -> None:
    """A convective cell at 40 mm/h: orange is announced on the nowcast, then observed."""
    engine = DistrictEngine("rainstorm", D1)
    core = [0.5, 1.0, 2.0, 3.0] + [3.5] * 14  # 51.5 mm: orange at the 17th reading
    edge = [v / 2 for v in core]
    feed = [
        r
        for pair in zip(rain("RG-002", D2, edge), rain("RG-001", D1, core), strict=True)
        for r in pair
    ]
    out = run(engine, feed)
    raised = [r for r in out if r.record == "change"]
    assert raised and raised[0].predicted is True
    orange = next(r for r in raised if criteria.rank(r.level) >= criteria.rank("orange"))
    observed_at = T0 + timedelta(minutes=5 * 17)
    assert sum(core) >= 50 and orange.at < observed_at
    assert orange.lead_minutes is not None and orange.lead_minutes > 0


# -- sensor faults ----------------------------------------------------------------------


def test_stuck_gauge_is_excluded_and_never_warns() -> None:
    engine = DistrictEngine("rainstorm", D1)
    dry = rain("RG-002", D2, [0.0] * 40)
    stuck = rain("RG-001", D1, [2.5] * 40)
    out = run(engine, [r for pair in zip(dry, stuck, strict=True) for r in pair])
    assert changes(out) == []
    reasons = {r.reason for r in out if r.record == "exclusion"}
    assert "stuck" in reasons or "isolated_storm" in reasons
    excluded = [r for r in out if r.record == "exclusion"]
    assert all(r.station_id == "RG-001" for r in excluded)


def test_isolated_burst_is_retracted() -> None:
    """60 mm in 45 minutes at one gauge while every other gauge is dry: a fault."""
    engine = DistrictEngine("rainstorm", D1)
    burst = [0.0] * 12 + [6.5, 7.0, 6.0, 7.5, 6.8, 7.2, 6.1, 6.9, 6.0] + [0.0] * 12
    dry = rain("RG-002", D2, [0.0] * len(burst))
    out = run(
        engine, [r for pair in zip(dry, rain("RG-001", D1, burst), strict=True) for r in pair]
    )
    assert changes(out) == []
    isolated = [r for r in out if r.reason == "isolated_storm"]
    assert len(isolated) >= 6  # the burst's readings, the early ones retracted


def test_river_spike_duplicate_clock_skew_and_late() -> None:
    engine = DistrictEngine("flood", D1)
    stage = [3.0 + 0.01 * i for i in range(30)]

    def reading(i: int, value: float, minute_offset: int = 0) -> Reading:
        at = T0 + timedelta(minutes=5 * (i + 1) + minute_offset)
        return Reading("RV-001", D1, at, value, warning_level=4.0, guaranteed_level=5.0)

    feed = [reading(i, v) for i, v in enumerate(stage)]
    feed[10] = reading(10, 9.5)  # a spike: 6 m in 5 minutes
    feed.insert(12, reading(11, stage[11]))  # delivered twice
    feed[20] = reading(20, stage[20], minute_offset=-2)  # clock 2 minutes early: corrected
    feed.append(reading(-400, 3.0))  # a day and more late
    out = run(engine, feed)
    by_reason = {r.reason for r in out if r.record in ("exclusion", "notice")}
    assert {"spike", "duplicate", "clock_skew_corrected", "late"} <= by_reason
    assert changes(out) == []


def test_dropout_and_out_of_order_are_notices() -> None:
    engine = DistrictEngine("air_quality", D1)
    hours = [T0 + timedelta(hours=h) for h in range(12)]
    feed = [Reading("AQ-001", D1, at, 50 + h) for h, at in enumerate(hours) if h not in (4, 5, 6)]
    feed.insert(3, feed.pop(5))  # a reading written after the next two
    out = run(engine, feed)
    notices = {r.reason for r in out if r.record == "notice"}
    assert {"dropout", "out_of_order"} <= notices


# -- heat, flood and air lifecycles --------------------------------------------------------


def test_heat_wave_yellow_on_the_third_day_and_red_at_40() -> None:
    engine = DistrictEngine("heat", D1)
    feed = []
    for day, peak in enumerate((35.5, 35.6, 35.4, 40.2)):
        for hour in range(24):
            temp = peak - 10 + 10 * max(0.0, 1 - abs(hour - 14) / 8)
            feed.append(Reading("WS-001", D1, T0 + timedelta(days=day, hours=hour), round(temp, 1)))
    out = run(engine, feed)
    made = [(r.action, r.level, r.at.day - T0.day) for r in out if r.record == "change"]
    yellow = next(m for m in made if m[1] == "yellow")
    assert yellow[0] == "issued" and yellow[2] == 2  # the third day running at 35 °C
    assert any(m[1] == "red" and m[2] == 3 for m in made)


def test_flood_predicted_then_observed_then_lifted() -> None:
    engine = DistrictEngine("flood", D1)
    rise = [3.5 + 0.03 * i for i in range(40)]  # 36 cm an hour towards a 4.5 m warning level
    fall = [rise[-1] - 0.05 * i for i in range(1, 60)]
    feed = [
        Reading("RV-001", D1, T0 + timedelta(minutes=5 * (i + 1)), round(v, 2), 4.5, 6.0)
        for i, v in enumerate(rise + fall)
    ]
    out = run(engine, feed)
    made = [r for r in out if r.record == "change"]
    assert made[0].action == "issued" and made[0].predicted is True
    crossed = next(i for i, v in enumerate(rise) if round(v, 2) > 4.5)
    assert made[0].at < T0 + timedelta(minutes=5 * (crossed + 1))
    assert made[-1].action == "lifted"


# -- state survives a pickle: the streaming job keeps the engine between micro-batches ---


@pytest.mark.parametrize("cut", [1, 17, 40])
def test_engine_state_survives_pickling(cut: int) -> None:
    core = [0.5, 1.0, 2.0, 3.0] + [3.5] * 20 + [0.0] * 20
    feed = [
        r
        for pair in zip(
            rain("RG-002", D2, [v / 2 for v in core]), rain("RG-001", D1, core), strict=True
        )
        for r in pair
    ]
    whole = run(DistrictEngine("rainstorm", D1), feed)
    engine = DistrictEngine("rainstorm", D1)
    first = run(engine, feed[:cut])
    engine = pickle.loads(pickle.dumps(engine))
    assert first + run(engine, feed[cut:]) == whole


def test_unknown_hazard_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown hazard"):
        DistrictEngine("tornado", D1)
