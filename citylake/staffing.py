"""Counter staffing as an M/M/N queue (Erlang C).

Notation: arrival rate λ per hour, mean handling time h in minutes, N counters.

* offered load       A = λ · h / 60                                   (Erlangs)
* Erlang B           B(0) = 1,  B(n) = A·B(n−1) / (n + A·B(n−1))
* Erlang C           C = P(wait) = N·B(N) / (N − A·(1 − B(N)))       for N > A, else 1
* service level      SL(t) = 1 − C · exp(−(N − A) · t / h)            for N > A, else 0
* mean wait (ASA)    W = C · h / (N − A)                               for N > A, else ∞
* occupancy          ρ = A / N

The Erlang B recursion stays within [0, 1] at every step, so it is exact for thousands
of counters where the textbook formula with A^N / N! overflows.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

__all__ = [
    "QueuePlan",
    "dedicated_plan",
    "mean_wait_minutes",
    "occupancy",
    "offered_load",
    "plan_queue",
    "pooled_plan",
    "prob_wait",
    "required_counters",
    "service_level",
]


def _check_non_negative(name: str, value: float) -> float:
    value = float(value)
    if math.isnan(value) or math.isinf(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def _check_counters(counters: int) -> int:
    try:
        n = operator.index(counters)
    except TypeError:
        raise ValueError(f"counters must be an integer, got {counters!r}") from None
    if n < 0:
        raise ValueError(f"counters must be >= 0, got {n}")
    return n


def _check_fraction(name: str, value: float, *, low_open: bool, high_open: bool) -> float:
    value = float(value)
    low_ok = value > 0 if low_open else value >= 0
    high_ok = value < 1 if high_open else value <= 1
    if math.isnan(value) or not (low_ok and high_ok):
        bounds = f"{'(' if low_open else '['}0, 1{')' if high_open else ']'}"
        raise ValueError(f"{name} must be in {bounds}, got {value!r}")
    return value


def _erlang_b_sequence(load: float) -> Iterator[float]:
    """Yield B(0), B(1), B(2), ... for offered load ``load``."""
    b = 1.0
    n = 0
    while True:
        yield b
        n += 1
        b = load * b / (n + load * b)


def _erlang_b(load: float, counters: int) -> float:
    b = 1.0
    for n in range(1, counters + 1):
        b = load * b / (n + load * b)
    return b


def _erlang_c_from_b(load: float, counters: int, b: float) -> float:
    if load == 0:
        return 0.0
    if counters <= load:
        return 1.0
    return counters * b / (counters - load * (1.0 - b))


def _service_level_from_c(
    load: float, counters: int, c: float, target_wait_minutes: float, mean_handle_minutes: float
) -> float:
    if load == 0:
        return 1.0
    if counters <= load:
        return 0.0
    return 1.0 - c * math.exp(-(counters - load) * target_wait_minutes / mean_handle_minutes)


def offered_load(arrivals_per_hour: float, mean_handle_minutes: float) -> float:
    """Offered load A = λ · h / 60 in Erlangs (λ per hour, h in minutes)."""
    lam = _check_non_negative("arrivals_per_hour", arrivals_per_hour)
    h = _check_non_negative("mean_handle_minutes", mean_handle_minutes)
    return lam * h / 60.0


def prob_wait(load: float, counters: int) -> float:
    """Erlang C: probability that an arrival waits, C = N·B / (N − A·(1 − B)).

    1.0 when N <= A (the queue grows without bound), 0.0 when A = 0.
    """
    a = _check_non_negative("load", load)
    n = _check_counters(counters)
    return _erlang_c_from_b(a, n, _erlang_b(a, n))


def service_level(
    load: float, counters: int, target_wait_minutes: float, mean_handle_minutes: float
) -> float:
    """Share of arrivals served within ``target_wait_minutes``: 1 − C · exp(−(N − A) · t / h).

    0.0 when N <= A, 1.0 when A = 0.
    """
    a = _check_non_negative("load", load)
    n = _check_counters(counters)
    t = _check_non_negative("target_wait_minutes", target_wait_minutes)
    h = _check_non_negative("mean_handle_minutes", mean_handle_minutes)
    if a > 0 and h == 0:
        raise ValueError("mean_handle_minutes must be > 0 when load > 0")
    return _service_level_from_c(a, n, _erlang_c_from_b(a, n, _erlang_b(a, n)), t, h)


def mean_wait_minutes(load: float, counters: int, mean_handle_minutes: float) -> float:
    """Mean wait over all arrivals (ASA) in minutes: W = C · h / (N − A); ∞ when N <= A."""
    a = _check_non_negative("load", load)
    n = _check_counters(counters)
    h = _check_non_negative("mean_handle_minutes", mean_handle_minutes)
    if a == 0:
        return 0.0
    if n <= a:
        return math.inf
    return prob_wait(a, n) * h / (n - a)


def occupancy(load: float, counters: int) -> float:
    """Share of counter time spent serving, ρ = A / N (0 when A = 0; ∞ when N = 0 < A)."""
    a = _check_non_negative("load", load)
    n = _check_counters(counters)
    if a == 0:
        return 0.0
    if n == 0:
        return math.inf
    return a / n


def required_counters(
    arrivals_per_hour: float,
    mean_handle_minutes: float,
    target_wait_minutes: float = 10.0,
    target_service_level: float = 0.8,
    max_occupancy: float = 0.85,
) -> int:
    """Least N with SL(target_wait_minutes) >= target_service_level and A / N <= max_occupancy.

    No arrivals need no counters. The search starts at ⌈A / max_occupancy⌉ (the occupancy
    floor) and walks up the Erlang B recursion one counter at a time, so each call is
    O(N) however large the centre.
    """
    lam = _check_non_negative("arrivals_per_hour", arrivals_per_hour)
    h = _check_non_negative("mean_handle_minutes", mean_handle_minutes)
    t = _check_non_negative("target_wait_minutes", target_wait_minutes)
    # A target of 1 is only met in the limit N -> ∞; 0 would accept an unstable queue.
    sl_target = _check_fraction(
        "target_service_level", target_service_level, low_open=True, high_open=True
    )
    rho_max = _check_fraction("max_occupancy", max_occupancy, low_open=True, high_open=False)
    if lam == 0:
        return 0
    if h == 0:
        raise ValueError("mean_handle_minutes must be > 0 when there are arrivals")

    load = lam * h / 60.0
    # The tolerance keeps A / ρmax = 10.000000000000002 from demanding an 11th counter.
    n_min = max(1, math.ceil(load / rho_max - 1e-9))
    for n, b in enumerate(_erlang_b_sequence(load)):
        if n < n_min:
            continue
        c = _erlang_c_from_b(load, n, b)
        if _service_level_from_c(load, n, c, t, h) >= sl_target:
            return n
    raise AssertionError("unreachable: the Erlang B sequence is infinite")


@dataclass(frozen=True)
class QueuePlan:
    """Counters for one queue in one hour, and what the queue is expected to do with them."""

    arrivals_per_hour: float
    mean_handle_minutes: float
    counters: int
    offered_load: float
    prob_wait: float
    service_level: float
    mean_wait_minutes: float
    occupancy: float


def plan_queue(
    arrivals_per_hour: float,
    mean_handle_minutes: float,
    target_wait_minutes: float = 10.0,
    target_service_level: float = 0.8,
    max_occupancy: float = 0.85,
) -> QueuePlan:
    """``required_counters`` for one M/M/N queue, with its P(wait), service level, mean
    wait and occupancy at that number of counters."""
    n = required_counters(
        arrivals_per_hour,
        mean_handle_minutes,
        target_wait_minutes,
        target_service_level,
        max_occupancy,
    )
    load = offered_load(arrivals_per_hour, mean_handle_minutes)
    return QueuePlan(
        arrivals_per_hour=float(arrivals_per_hour),
        mean_handle_minutes=float(mean_handle_minutes),
        counters=n,
        offered_load=load,
        prob_wait=prob_wait(load, n),
        service_level=service_level(load, n, target_wait_minutes, mean_handle_minutes),
        mean_wait_minutes=mean_wait_minutes(load, n, mean_handle_minutes),
        occupancy=occupancy(load, n),
    )


def dedicated_plan(
    demand: Mapping[str, tuple[float, float]],
    target_wait_minutes: float = 10.0,
    target_service_level: float = 0.8,
    max_occupancy: float = 0.85,
) -> dict[str, QueuePlan]:
    """One queue and its own counters per service category (the department-counter model).

    ``demand``: category -> (arrivals per hour, mean handling minutes).
    """
    return {
        category: plan_queue(lam, h, target_wait_minutes, target_service_level, max_occupancy)
        for category, (lam, h) in demand.items()
    }


def pooled_plan(
    demand: Mapping[str, tuple[float, float]],
    target_wait_minutes: float = 10.0,
    target_service_level: float = 0.8,
    max_occupancy: float = 0.85,
) -> QueuePlan:
    """General counters serving every category from one queue (the seeds' reform).

    First answer: M/M/N on the pooled arrivals Σλ with the mixture's mean handling time
    Σλh / Σλ (so the offered load is the sum of the categories' loads). With handling times
    that differ a lot between categories the mixture is more variable than exponential, so
    this can be optimistic; a discrete-event check of the mixture belongs beside it.
    """
    for category, (lam, h) in demand.items():
        if lam < 0 or h < 0 or math.isnan(lam) or math.isnan(h):
            raise ValueError(f"{category}: arrivals and handling minutes must be >= 0")
    total = sum(lam for lam, _ in demand.values())
    if total == 0:
        return plan_queue(0.0, 0.0, target_wait_minutes, target_service_level, max_occupancy)
    mixture_mean = sum(lam * h for lam, h in demand.values()) / total
    return plan_queue(total, mixture_mean, target_wait_minutes, target_service_level, max_occupancy)
