"""Queue tickets at the administrative service centers (source ``svc_queue_tickets``).

Demand model, recorded as truth so forecasts can be scored against it:

    λ(day, center, category, hour) = base(center) · mix(center, category)
        · hour_shape(category, hour) · dow(day) · growth(day) · shocks(day, category)
        · day_noise(center, day)                 and 0 when the centers are closed

Arrivals are Poisson(λ) per hour with uniform times inside the hour. A multi-counter
FIFO queue (every counter serves every category, as in Xuhui's general counters)
turns them into call, start and end times, so waits come from load, not from a
formula. A no-show is called and holds the counter for a short grace period.
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from citylake.democity.context import CalendarDay, CityContext, SourceResult, fmt_local
from citylake.democity.deliver import deliver_queue_tickets
from citylake.identity import RESIDENT_ID_CHECK_CHARS

SOURCE_ID = "svc_queue_tickets"
CATEGORIES = (
    "household_registration",
    "social_security",
    "enterprise_registration",
    "tax",
    "housing_provident_fund",
    "medical_insurance",
)
_PREFIX = dict(zip(CATEGORIES, "ABCDEF", strict=True))  # letter printed on the ticket
# Mean handling minutes and lognormal sigma; enterprise registration takes longest.
HANDLING_MINUTES = {
    "household_registration": (9.0, 0.45),
    "social_security": (7.0, 0.5),
    "enterprise_registration": (15.0, 0.55),
    "tax": (12.0, 0.5),
    "housing_provident_fund": (10.0, 0.5),
    "medical_insurance": (6.0, 0.45),
}
# District centers handle business matters; street centers mostly household matters.
_MIX = {
    "district": (0.18, 0.17, 0.20, 0.18, 0.12, 0.15),
    "street": (0.30, 0.25, 0.02, 0.05, 0.10, 0.28),
}
OPEN_HOURS = tuple(range(9, 17))  # ticket machines issue 09:00-17:00
# Morning peak at 10, lunch dip at 12, early-afternoon peak at 14 (mean 1.0).
_HOUR_SHAPE = (0.95, 1.40, 1.25, 0.55, 0.85, 1.30, 1.05, 0.65)
_MORNING_TILT = {"enterprise_registration": 1.12, "tax": 1.06}  # firms come early
_DOW = (1.25, 1.05, 1.00, 0.97, 0.90, 1.00, 1.00)  # Mon..Sun; weekends only on make-up days
GROWTH_PER_YEAR = 0.08
DAY_NOISE_SIGMA = 0.06
NO_SHOW_RATE = 0.04
NO_SHOW_GRACE_S = 90
RESIDENT_ID_SHARE = 0.10
CORRUPT_CHECK_SHARE = 0.05  # of tickets carrying an id: check char replaced
LOWERCASE_X_SHARE = 0.3  # of ids ending in X: keyed as lower-case x
_SURGES = (  # (category, note) a policy deadline draws people in during its last week
    ("medical_insurance", "城乡居民医保年度集中缴费截止"),
    ("social_security", "灵活就业人员社保缴费基数申报截止"),
    ("tax", "个税专项附加扣除信息确认截止"),
)
_SURGE_RAMP = (1.5, 1.7, 2.0, 2.4, 2.9)  # the five working days up to the deadline


@dataclass(frozen=True)
class ServiceCenter:
    center_id: str
    name: str
    level: str  # district | street
    district_code: str
    street_code: str | None
    counters: int
    base_daily: float  # expected tickets on an ordinary Wednesday at the start
    mix: tuple[float, ...]


def _hour_shape(category: str) -> list[float]:
    tilt = _MORNING_TILT.get(category, 1.0)
    raw = [s * (tilt if h < 12 else 1 / tilt) for h, s in zip(OPEN_HOURS, _HOUR_SHAPE, strict=True)]
    total = sum(raw)
    return [x / total for x in raw]  # share of the day's tickets per hour


def build_centers(ctx: CityContext) -> list[ServiceCenter]:
    geo = ctx.need_geography()
    rng = ctx.rng("service_centers")
    n = math.ceil(3 * ctx.scale)
    unused_streets = {d.code: geo.streets_of(d.code) for d in geo.districts}
    mean_handling = {
        level: sum(m * HANDLING_MINUTES[c][0] for m, c in zip(mix, CATEGORIES, strict=True))
        for level, mix in _MIX.items()
    }
    centers = []
    for i in range(n):
        district = geo.districts[i % len(geo.districts)]
        if i < len(geo.districts):
            level, street, name = "district", None, f"{district.name}行政服务中心"
            base = rng.uniform(360, 480)
        else:
            level = "street"
            pool = unused_streets[district.code]
            street = pool.pop(0) if pool else None
            # Beyond one center per street (scale > ~9) centers are numbered instead.
            name = (
                f"{district.name}{street.name}便民服务中心"
                if street
                else (f"{district.name}第{i + 1}便民服务中心")
            )
            base = rng.uniform(130, 220)
        mix = tuple(max(0.005, m * rng.uniform(0.85, 1.15)) for m in _MIX[level])
        mix = tuple(m / sum(mix) for m in mix)
        # Staffed for a little under an ordinary midweek peak hour, as budgets dictate:
        # queues build at the 10:00 and 14:00 peaks and drain over lunch; Mondays,
        # post-holiday days and surges overload the center (that is what forecasts are for).
        peak_load = base * max(_hour_shape(CATEGORIES[0])) * mean_handling[level] / 60
        counters = max(2, math.ceil(peak_load * 0.95))
        centers.append(
            ServiceCenter(
                f"SC{i + 1:03d}",
                name,
                level,
                district.code,
                street.code if street else None,
                counters,
                round(base, 1),
                mix,
            )
        )
    return centers


def demand_shocks(ctx: CityContext) -> list[dict[str, object]]:
    """Holiday eve / rebound factors on all categories and one policy-deadline surge week."""
    cal = ctx.calendar
    events: list[dict[str, object]] = []
    working = [i for i, d in enumerate(cal) if d.working]
    for a, b in itertools.pairwise(working):
        closed = b - a - 1
        if closed >= 3:  # a holiday bridge, not an ordinary weekend
            events.append(
                _shock("pre_holiday", None, cal[a].day, 1.15, f"{closed} closed days follow")
            )
            factor = 1.35 if closed >= 5 else 1.2
            events.append(
                _shock("post_holiday", None, cal[b].day, factor, f"after {closed} closed days")
            )
    if working:
        rng = ctx.rng("service_surge")
        category, note = _SURGES[rng.randrange(len(_SURGES))]
        lo = min(len(working) - 1, len(_SURGE_RAMP) - 1)
        hi = max(lo, int(len(working) * 0.85) - 1)
        deadline = rng.randint(max(lo, int(len(working) * 0.3)), hi) if hi > lo else lo
        days = working[max(0, deadline - len(_SURGE_RAMP) + 1) : deadline + 1]
        ramp = _SURGE_RAMP[-len(days) :]
        for idx, factor in zip(days, ramp, strict=True):
            events.append(_shock("policy_deadline_surge", category, cal[idx].day, factor, note))
    return events


def _shock(
    kind: str, category: str | None, day: date, factor: float, note: str
) -> dict[str, object]:
    return {"kind": kind, "service_category": category, "date": day, "factor": factor, "note": note}


def _intensities(
    ctx: CityContext, centers: list[ServiceCenter], shocks: list[dict[str, object]]
) -> dict[tuple[int, int], np.ndarray]:
    """λ per (day index, center index) as an array [category, hour]; closed days absent."""
    noise = ctx.np_rng("service_day_noise")
    factor: dict[tuple[date, str | None], float] = {}
    for s in shocks:
        key = (s["date"], s["service_category"])
        factor[key] = factor.get(key, 1.0) * float(s["factor"])  # type: ignore[arg-type]
    shapes = np.array([_hour_shape(c) for c in CATEGORIES])
    out = {}
    for di, cal in enumerate(ctx.calendar):
        day_noise = noise.lognormal(-(DAY_NOISE_SIGMA**2) / 2, DAY_NOISE_SIGMA, size=len(centers))
        if not cal.working:
            continue
        day_common = _DOW[cal.day.weekday()] * (1 + GROWTH_PER_YEAR * di / 365)
        day_common *= factor.get((cal.day, None), 1.0)
        cat = np.array([factor.get((cal.day, c), 1.0) for c in CATEGORIES])
        for ci, center in enumerate(centers):
            daily = center.base_daily * day_common * day_noise[ci] * np.array(center.mix) * cat
            out[di, ci] = daily[:, None] * shapes
    return out


def _corrupt(resident_id: str, rng: np.random.Generator) -> tuple[str, str | None]:
    if rng.random() < CORRUPT_CHECK_SHARE:
        wrong = [c for c in RESIDENT_ID_CHECK_CHARS if c != resident_id[17]]
        return resident_id[:17] + wrong[int(rng.integers(len(wrong)))], "check_char"
    if resident_id.endswith("X") and rng.random() < LOWERCASE_X_SHARE:
        return resident_id[:17] + "x", "lowercase_x"
    return resident_id, None


def _simulate_day(
    ctx: CityContext,
    cal: CalendarDay,
    center: ServiceCenter,
    lam: np.ndarray,
    rng: np.random.Generator,
    links: list[dict[str, object]],
) -> list[tuple[int, str, tuple[object, ...]]]:
    """Tickets of one center-day as (issued second, ticket id, row without ticket_seq)."""
    population = ctx.need_population()
    counts = rng.poisson(lam)  # [category, hour]
    arrivals: list[tuple[int, int]] = []
    for k, category_counts in enumerate(counts):
        for h, n in zip(OPEN_HOURS, category_counts, strict=True):
            arrivals.extend((int(s), k) for s in rng.integers(h * 3600, (h + 1) * 3600, size=n))
    arrivals.sort()
    free = [(OPEN_HOURS[0] * 3600, c) for c in range(1, center.counters + 1)]
    heapq.heapify(free)
    numbers = [0] * len(CATEGORIES)
    locals_ = population.adults_by_district.get(center.district_code) or population.adults
    out = []
    for issued, k in arrivals:
        category = CATEGORIES[k]
        numbers[k] += 1
        ticket_id = f"{center.center_id}-{cal.day:%Y%m%d}-{_PREFIX[category]}{numbers[k]:03d}"
        free_at, counter = heapq.heappop(free)
        start = max(issued, free_at)
        if rng.random() < NO_SHOW_RATE:
            heapq.heappush(free, (start + NO_SHOW_GRACE_S, counter))
            times = (fmt_local(cal.day, start), None, None)
            status = "no_show"
        else:
            mean, sigma = HANDLING_MINUTES[category]
            handling = max(60, round(rng.lognormal(math.log(mean * 60) - sigma**2 / 2, sigma)))
            heapq.heappush(free, (start + handling, counter))
            called = fmt_local(cal.day, start)
            times = (called, called, fmt_local(cal.day, start + handling))
            status = "served"
        resident_id = None
        if rng.random() < RESIDENT_ID_SHARE:
            pool = locals_ if rng.random() < 0.75 else population.adults
            citizen = pool[int(rng.integers(len(pool)))]
            resident_id, corruption = _corrupt(citizen.resident_id, rng)
            links.append(
                {
                    "source_id": SOURCE_ID,
                    "record_id": ticket_id,
                    "field": "resident_id",
                    "citizen_id": citizen.citizen_id,
                    "true_value": citizen.resident_id,
                    "delivered_value": resident_id,
                    "corruption": corruption,
                }
            )
        row = (
            ticket_id,
            center.center_id,
            center.name,
            category,
            resident_id,
            fmt_local(cal.day, issued),
            *times,
            counter,
            status,
        )
        out.append((issued, ticket_id, row))
    return out


def run(ctx: CityContext, sources_root: Path) -> SourceResult:
    centers = build_centers(ctx)
    shocks = demand_shocks(ctx)
    lam = _intensities(ctx, centers, shocks)
    rng = ctx.np_rng("service_tickets")
    links: list[dict[str, object]] = []
    rows: list[tuple[object, ...]] = []
    intensity_rows: list[dict[str, object]] = []
    for di, cal in enumerate(ctx.calendar):
        day_tickets = []
        for ci, center in enumerate(centers):
            grid = lam.get((di, ci))
            for k, category in enumerate(CATEGORIES):
                for hi, hour in enumerate(OPEN_HOURS):
                    value = 0.0 if grid is None else round(float(grid[k, hi]), 6)
                    intensity_rows.append(
                        {
                            "date": cal.day,
                            "center_id": center.center_id,
                            "service_category": category,
                            "hour": hour,
                            "lambda": value,
                            "open": grid is not None,
                        }
                    )
            if grid is not None:
                day_tickets.extend(_simulate_day(ctx, cal, center, grid, rng, links))
        # The cursor follows issue time across centers; ties broken by ticket id.
        day_tickets.sort(key=lambda t: (t[0], t[1]))
        first_seq = len(rows) + 1
        rows.extend((first_seq + i, *t[2]) for i, t in enumerate(day_tickets))
    files = deliver_queue_tickets(sources_root, rows)
    truth = {
        "service_centers": [
            {
                "center_id": c.center_id,
                "center_name": c.name,
                "level": c.level,
                "district_code": c.district_code,
                "street_code": c.street_code,
                "counters": c.counters,
                "base_daily_tickets": c.base_daily,
            }
            for c in centers
        ],
        "demand_intensity": intensity_rows,
        "demand_events": shocks,
        "identity_links": links,
    }
    return SourceResult(SOURCE_ID, len(rows), files, truth)
