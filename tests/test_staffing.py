"""Erlang C against the textbook case in BRIEF.md, plus the search for the least counters."""

from __future__ import annotations

import math

import pytest

from citylake.staffing import (
    mean_wait_minutes,
    occupancy,
    offered_load,
    prob_wait,
    required_counters,
    service_level,
)

# 360 arrivals per half hour, 4-minute handling, 55 agents.
ARRIVALS_PER_HOUR = 720.0
HANDLE_MINUTES = 4.0
AGENTS = 55


def test_textbook_case() -> None:
    load = offered_load(ARRIVALS_PER_HOUR, HANDLE_MINUTES)
    assert load == pytest.approx(48.0)
    assert prob_wait(load, AGENTS) == pytest.approx(0.2387, abs=5e-4)
    assert mean_wait_minutes(load, AGENTS, HANDLE_MINUTES) * 60 == pytest.approx(8.2, abs=0.05)
    assert service_level(load, AGENTS, 15 / 60, HANDLE_MINUTES) == pytest.approx(0.846, abs=5e-4)
    assert occupancy(load, AGENTS) == pytest.approx(48 / 55)


def test_required_counters_is_least_meeting_target() -> None:
    # 80 % within 15 s: 55 agents give 84.6 %, 54 fall just short of 80 %.
    n = required_counters(ARRIVALS_PER_HOUR, HANDLE_MINUTES, 15 / 60, 0.8, max_occupancy=1.0)
    load = offered_load(ARRIVALS_PER_HOUR, HANDLE_MINUTES)
    assert service_level(load, n, 15 / 60, HANDLE_MINUTES) >= 0.8
    assert service_level(load, n - 1, 15 / 60, HANDLE_MINUTES) < 0.8
    assert n == AGENTS


def test_occupancy_cap_binds() -> None:
    # A = 48 at most 85 % busy needs ceil(48 / 0.85) = 57 counters, more than the wait target.
    assert required_counters(ARRIVALS_PER_HOUR, HANDLE_MINUTES, 15 / 60, 0.8, 0.85) == 57


def test_required_counters_monotone_in_arrivals() -> None:
    counts = [required_counters(rate, 7.5) for rate in range(0, 2001, 25)]
    assert counts == sorted(counts)
    assert counts[0] == 0
    assert counts[-1] > counts[1] > 0


def test_large_centre_is_numerically_stable() -> None:
    # A = 5000 Erlangs: A^N / N! overflows a float long before N = 5000.
    n = required_counters(60_000, 5.0, 0.5, 0.9, 0.99)
    load = offered_load(60_000, 5.0)
    assert 5000 < n < 5200
    assert math.isfinite(prob_wait(load, n))
    assert 0.0 < prob_wait(load, n) < 1.0


def test_zero_arrivals() -> None:
    assert offered_load(0, 6.0) == 0.0
    assert required_counters(0, 6.0) == 0
    assert prob_wait(0.0, 3) == 0.0
    assert service_level(0.0, 0, 10.0, 6.0) == 1.0
    assert mean_wait_minutes(0.0, 0, 6.0) == 0.0


def test_unstable_queue() -> None:
    assert prob_wait(10.0, 10) == 1.0
    assert service_level(10.0, 9, 10.0, 6.0) == 0.0
    assert mean_wait_minutes(10.0, 10, 6.0) == math.inf


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: offered_load(-1, 4.0), "arrivals_per_hour"),
        (lambda: offered_load(10, math.nan), "mean_handle_minutes"),
        (lambda: prob_wait(math.nan, 3), "load"),
        (lambda: prob_wait(2.0, -1), "counters"),
        (lambda: prob_wait(2.0, 2.5), "counters"),
        (lambda: service_level(2.0, 3, -1.0, 4.0), "target_wait_minutes"),
        (lambda: required_counters(math.nan, 4.0), "arrivals_per_hour"),
        (lambda: required_counters(10, -4.0), "mean_handle_minutes"),
        (lambda: required_counters(10, 4.0, target_service_level=1.0), "target_service_level"),
        (lambda: required_counters(10, 4.0, max_occupancy=0.0), "max_occupancy"),
        (lambda: required_counters(10, 0.0), "mean_handle_minutes"),
    ],
)
def test_bad_input_is_rejected(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


# -- dedicated vs general (pooled) counters ----------------------------------------------

from citylake.staffing import dedicated_plan, plan_queue, pooled_plan  # noqa: E402


def test_plan_queue_reports_the_textbook_figures() -> None:
    # The brief's case per half hour: 720 arrivals/h, 4 min, 15 s target, 80 % -> 55 agents
    # is enough (84.6 %); the least N meeting 80 % within 15 s is at most 55.
    plan = plan_queue(720, 4, target_wait_minutes=0.25, target_service_level=0.8, max_occupancy=1)
    assert plan.offered_load == pytest.approx(48)
    assert plan.counters <= 55
    assert plan.service_level >= 0.8
    assert plan.occupancy == pytest.approx(48 / plan.counters)
    at_55 = pooled_plan({"all": (720, 4)}, 0.25, 0.845, 1.0)
    assert at_55.counters == 55
    assert at_55.prob_wait == pytest.approx(0.2387, abs=5e-4)
    assert at_55.mean_wait_minutes * 60 == pytest.approx(8.2, abs=0.1)


def test_pooling_never_needs_more_counters_than_dedicated_queues() -> None:
    # A grid of centres: 1-6 categories, light to heavy, short to long handling times.
    import itertools

    rates = [0.5, 3.0, 12.0, 40.0]
    handles = [3.0, 8.0, 20.0]
    checked = 0
    for k in range(1, 5):
        for combo in itertools.combinations(itertools.product(rates, handles), k):
            demand = {f"c{i}": pair for i, pair in enumerate(combo)}
            dedicated = sum(p.counters for p in dedicated_plan(demand).values())
            pooled = pooled_plan(demand)
            assert pooled.counters <= dedicated, demand
            assert pooled.service_level >= 0.8 and pooled.occupancy <= 0.85 + 1e-9
            checked += 1
    assert checked > 500


def test_pooling_saves_counters_on_many_small_department_queues() -> None:
    # Ten departments with 4 visitors an hour each, 15 minutes per visit: one dedicated
    # counter each cannot keep 80 % within 10 minutes, so each needs 2 (20 in all); one
    # pooled queue carries the same 10 Erlangs with far fewer.
    demand = {f"dept{i}": (4.0, 15.0) for i in range(10)}
    dedicated = dedicated_plan(demand)
    assert {p.counters for p in dedicated.values()} == {2}
    pooled = pooled_plan(demand)
    assert pooled.offered_load == pytest.approx(10.0)
    assert pooled.mean_handle_minutes == pytest.approx(15.0)
    assert 12 <= pooled.counters <= 14
    assert pooled.counters < sum(p.counters for p in dedicated.values())


def test_pooled_mixture_mean_is_weighted_by_arrivals() -> None:
    pooled = pooled_plan({"quick": (30.0, 2.0), "slow": (10.0, 30.0), "none": (0.0, 50.0)})
    assert pooled.arrivals_per_hour == pytest.approx(40.0)
    assert pooled.mean_handle_minutes == pytest.approx((30 * 2 + 10 * 30) / 40)
    assert pooled.offered_load == pytest.approx(1.0 + 5.0)
    empty = pooled_plan({"a": (0.0, 5.0)})
    assert (empty.counters, empty.mean_wait_minutes) == (0, 0.0)
    with pytest.raises(ValueError, match="bad: arrivals and handling minutes must be >= 0"):
        pooled_plan({"bad": (-1.0, 5.0)})
