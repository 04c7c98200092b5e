"""Discrete-event simulation (SimPy) of one hour's pooled queue at general counters.

Erlang C answers for one queue whose handling times are exponential with one mean. A
general counter serves every category, and the categories' handling times differ (a
business registration takes several times a tax enquiry), so the pooled handling time is a
mixture: more variable than one exponential, and Erlang C on the mixture's mean can be
optimistic. The simulation serves the hour's real mix: visitors arrive as a Poisson
process at the pooled rate, each is of category c with probability λc / Σλ and takes an
exponential time with that category's own measured mean; one first-come-first-served
queue feeds N counters. The hour is simulated as a steady state (the rates held for
``hours`` simulated hours after a warm-up), the regime Erlang C describes too, so the two
answers are comparable and differ only by the mixture.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass

import simpy

from citylake.staffing import offered_load, plan_queue

__all__ = ["SimulatedQueue", "simulate_pooled", "simulated_counters"]

WARM_UP_HOURS = 2.0


@dataclass(frozen=True)
class SimulatedQueue:
    counters: int
    visitors: int
    service_level: float  # share called within the target wait
    prob_wait: float
    mean_wait_minutes: float
    occupancy: float

    def meets(self, target_service_level: float) -> bool:
        return self.service_level >= target_service_level


def simulate_pooled(
    demand: Mapping[str, tuple[float, float]],
    counters: int,
    target_wait_minutes: float = 10.0,
    hours: float = 40.0,
    seed: int = 0,
) -> SimulatedQueue:
    """The pooled queue with ``counters`` general counters; ``demand``: category ->
    (arrivals per hour, mean handling minutes). Times are in minutes."""
    if counters < 1:
        raise ValueError("counters must be >= 1")
    lanes = [(lam, h) for lam, h in demand.values() if lam > 0]
    total = sum(lam for lam, _ in lanes)
    if total == 0:
        return SimulatedQueue(counters, 0, 1.0, 0.0, 0.0, 0.0)
    rng = random.Random(seed)
    env = simpy.Environment()
    desks = simpy.Resource(env, capacity=counters)
    start, end = WARM_UP_HOURS * 60, (WARM_UP_HOURS + hours) * 60
    waits: list[float] = []
    busy = [0.0]  # counter-minutes of service inside the measured window
    weights = [lam for lam, _ in lanes]
    means = [h for _, h in lanes]

    def visitor(arrived: float, handle: float) -> simpy.events.ProcessGenerator:
        with desks.request() as turn:
            yield turn
            called = env.now
            if start <= arrived < end:
                waits.append(called - arrived)
            yield env.timeout(handle)
            busy[0] += max(0.0, min(env.now, end) - max(called, start))

    def arrivals() -> simpy.events.ProcessGenerator:
        while True:
            yield env.timeout(rng.expovariate(total / 60.0))
            if env.now >= end:
                return
            mean = rng.choices(means, weights)[0]
            env.process(visitor(env.now, rng.expovariate(1.0 / mean) if mean > 0 else 0.0))

    env.process(arrivals())
    env.run(until=end)
    measured = len(waits)
    if measured == 0:
        return SimulatedQueue(counters, 0, 1.0, 0.0, 0.0, 0.0)
    return SimulatedQueue(
        counters=counters,
        visitors=measured,
        service_level=sum(w <= target_wait_minutes for w in waits) / measured,
        prob_wait=sum(w > 1e-9 for w in waits) / measured,
        mean_wait_minutes=sum(waits) / measured,
        occupancy=busy[0] / (counters * (end - start)),
    )


def simulated_counters(
    demand: Mapping[str, tuple[float, float]],
    target_wait_minutes: float = 10.0,
    target_service_level: float = 0.8,
    max_occupancy: float = 0.85,
    hours: float = 40.0,
    seed: int = 0,
) -> tuple[int, SimulatedQueue]:
    """The least number of general counters whose simulated hour meets the targets.

    Starts from Erlang C's answer on the pooled load and walks down while the simulation
    still meets the service level, or up until it does. Occupancy is load / N whatever the
    handling-time mix (the simulation's figure only estimates it), so the occupancy cap is
    kept exactly: never fewer than ceil(load / max_occupancy) counters. Every N is simulated with the same seed
    (common random numbers), so the comparison between N and N - 1 is not noise.
    """
    lanes = {c: v for c, v in demand.items() if v[0] > 0}
    total = sum(lam for lam, _ in lanes.values())
    if total == 0:
        return 0, SimulatedQueue(0, 0, 1.0, 0.0, 0.0, 0.0)
    mixture_mean = sum(lam * h for lam, h in lanes.values()) / total
    erlang = plan_queue(
        total, mixture_mean, target_wait_minutes, target_service_level, max_occupancy
    )
    floor = max(1, math.ceil(offered_load(total, mixture_mean) / max_occupancy - 1e-12))

    def run(n: int) -> SimulatedQueue:
        return simulate_pooled(lanes, n, target_wait_minutes, hours, seed)

    n = max(erlang.counters, floor)
    result = run(n)
    if result.meets(target_service_level):
        while n > floor:
            fewer = run(n - 1)
            if not fewer.meets(target_service_level):
                break
            n, result = n - 1, fewer
        return n, result
    while not result.meets(target_service_level):
        n += 1
        result = run(n)
    return n, result
