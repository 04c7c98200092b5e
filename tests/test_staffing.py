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
