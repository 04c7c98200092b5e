"""General vs dedicated counters: the SimPy check against Erlang C, and the Spark plan job."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from citylake.queue_sim import simulate_pooled, simulated_counters
from citylake.staffing import offered_load, plan_queue, pooled_plan, required_counters
from transforms.staffing_plan import (
    PLAN_COLUMNS,
    StaffingTargets,
    load_targets,
    plan_center_day,
    staffing_plan,
)

# Arrivals per hour and mean handling minutes of a district centre's busy hour.
MIX = {
    "tax": (20.0, 8.0),
    "enterprise_registration": (6.0, 25.0),
    "household_registration": (15.0, 10.0),
    "medical_insurance": (12.0, 6.0),
}


def test_simulation_reproduces_erlang_c_on_one_exponential_queue() -> None:
    # M/M/N is the one case with an exact answer: the simulator must find it.
    plan = plan_queue(30.0, 10.0)
    sim = simulate_pooled({"a": (30.0, 10.0)}, plan.counters, hours=400, seed=1)
    assert sim.visitors > 10_000
    assert sim.service_level == pytest.approx(plan.service_level, abs=0.02)
    assert sim.prob_wait == pytest.approx(plan.prob_wait, abs=0.04)
    assert sim.mean_wait_minutes == pytest.approx(plan.mean_wait_minutes, rel=0.2)
    assert sim.occupancy == pytest.approx(plan.occupancy, abs=0.03)


def test_a_mixed_queue_waits_longer_than_its_mean_suggests() -> None:
    # Handling times of 3 and 40 minutes pooled: far more variable than one exponential.
    mix = {"quick": (40.0, 3.0), "slow": (6.0, 40.0)}
    erlang = pooled_plan(mix)
    sim = simulate_pooled(mix, erlang.counters, hours=400, seed=2)
    assert sim.mean_wait_minutes > 1.2 * erlang.mean_wait_minutes
    n, checked = simulated_counters(mix, hours=100, seed=2)
    assert n >= erlang.counters and checked.service_level >= 0.8


def test_simulated_counters_is_the_least_meeting_the_target() -> None:
    n, sim = simulated_counters(MIX, seed=3)
    assert sim.counters == n and sim.service_level >= 0.8
    fewer = simulate_pooled(MIX, n - 1, seed=3)
    load = sum(offered_load(lam, h) for lam, h in MIX.values())
    # One counter fewer misses the service level or breaks the occupancy cap.
    assert fewer.service_level < 0.8 or load / (n - 1) > 0.85
    assert simulated_counters({"tax": (0.0, 8.0)})[0] == 0
    with pytest.raises(ValueError, match="counters"):
        simulate_pooled(MIX, 0)


def _hours(center: str = "C01") -> pd.DataFrame:
    rows = []
    for hour in (9, 10, 12):
        for category, (lam, handle) in MIX.items():
            scale = {9: 0.5, 10: 1.0, 12: 0.0}[hour]
            rows.append(
                {
                    "center_id": center,
                    "service_category": category,
                    "forecast_hour": datetime(2026, 10, 27, hour),
                    "day_kind": "ordinary",
                    "expected_arrivals": lam * scale,
                    "mean_handle_minutes": None if category == "tax" and hour == 9 else handle,
                    "generated_for": date(2026, 10, 27),
                }
            )
    return pd.DataFrame(rows)


def test_plan_center_day() -> None:
    plan = plan_center_day(_hours(), StaffingTargets()).set_index("plan_hour")
    assert list(plan.columns) == [c for c in PLAN_COLUMNS if c != "plan_hour"]
    busy = plan.loc[datetime(2026, 10, 27, 10)]
    assert busy["dedicated_counters"] == sum(required_counters(lam, h) for lam, h in MIX.values())
    assert busy["pooled_counters_erlang"] == pooled_plan(MIX).counters
    assert busy["pooled_counters"] < busy["dedicated_counters"]
    assert busy["counters_saved"] == busy["dedicated_counters"] - busy["pooled_counters"]
    assert busy["erlang_agrees"] == (busy["pooled_counters"] == busy["pooled_counters_erlang"])
    assert busy["pooled_service_level"] >= 0.8 and busy["categories"] == 4
    # A category without a measured handling time is sized with the centre's mean.
    early = plan.loc[datetime(2026, 10, 27, 9)]
    assert early["dedicated_counters"] >= 4
    closed = plan.loc[datetime(2026, 10, 27, 12)]
    assert closed["dedicated_counters"] == closed["pooled_counters"] == closed["categories"] == 0


def test_targets_file(tmp_path: Path) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(
        "default: {target_wait_minutes: 15}\ncenters:\n  C02: {target_service_level: 0.9}\n",
        encoding="utf-8",
    )
    default, centers = load_targets(path)
    assert default == StaffingTargets(target_wait_minutes=15)
    assert centers["C02"] == StaffingTargets(15, 0.9, 0.85)
    path.write_text("centers:\n  C02: {service_level: 0.9}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="service_level"):
        load_targets(path)
    path.write_text("centers:\n  C03: {max_occupancy: 1.5}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="C03"):
        load_targets(path)
    assert load_targets(None) == (StaffingTargets(), {})


def test_staffing_plan_on_spark(spark: Any) -> None:
    frame = pd.concat([_hours("C01"), _hours("C02")], ignore_index=True)
    frame["grain"] = "hour"
    forecast = spark.createDataFrame(frame)
    strict = {"C02": StaffingTargets(target_wait_minutes=2.0, target_service_level=0.95)}
    plan = staffing_plan(forecast, StaffingTargets(), strict).toPandas()
    assert len(plan) == 6 and list(plan.columns) == PLAN_COLUMNS
    by = plan.set_index(["center_id", "plan_hour"])
    busy = datetime(2026, 10, 27, 10)
    # The same demand, a stricter target at C02: more counters both ways.
    assert by.loc[("C02", busy), "dedicated_counters"] > by.loc[("C01", busy), "dedicated_counters"]
    assert by.loc[("C02", busy), "pooled_counters"] > by.loc[("C01", busy), "pooled_counters"]
    assert by.loc[("C02", busy), "target_service_level"] == 0.95
