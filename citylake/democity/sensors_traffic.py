"""Traffic counters: vehicles per hour and direction on arterial roads (source ``traffic_counter``).

Each counter sits on a road named after its street and counts both directions:
``vehicles_inbound`` (towards the city centre) and ``vehicles_outbound``. Hourly counts
are Poisson around a profile that depends on the day type from the China calendar
(``ctx.calendar``, the ``holidays`` package's State Council arrangements):

- working days (make-up Saturdays/Sundays included): a sharp inbound morning peak and
  an outbound evening peak;
- weekends: one broad midday hump, about 20 % less traffic;
- public holidays: like weekends, a little lower, except that the first day of a
  holiday of three days or more has an outbound exodus in the morning and its last day
  an inbound return wave in the afternoon and evening.

Counts never exceed the road's capacity (``lanes × LANE_CAPACITY`` per direction).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from citylake.democity.context import CalendarDay, CityContext, SourceResult
from citylake.democity.geography import Street
from citylake.democity.sensor_common import (
    Feed,
    Measure,
    Station,
    inject_faults,
    place_stations,
    station_count,
    station_rows,
    write_feed,
)

SOURCE_ID = "traffic_counter"
FEED = Feed(
    SOURCE_ID,
    folder="traffic_counter",
    prefix="traffic",
    step_minutes=60,
    fault_tag="TC",
    measures=(
        Measure("vehicles_inbound", "integer", lo=0, hi=10000, spike=True, stuck=True),
        Measure("vehicles_outbound", "integer", lo=0, hi=10000, spike=True, stuck=True),
    ),
)
BASE_COUNTERS = 12
LANE_CAPACITY = 1900  # vehicles per hour and lane at saturation
_DAY_FACTOR = {"workday": 1.0, "weekend": 0.8, "holiday": 0.72}
_WEEKDAY_FACTOR = (1.02, 1.0, 1.0, 1.01, 1.06, 1.0, 0.97)  # Mon..Sun, on top of the day type
_HEADINGS = ("东向", "西向", "南向", "北向")


def _bumps(*bumps: tuple[float, float, float]) -> np.ndarray:
    h = np.arange(24) + 0.5
    out = np.full(24, 0.03)
    for weight, centre, width in bumps:
        out = out + weight * np.exp(-0.5 * ((h - centre) / width) ** 2)
    return out / out.sum()


PROFILES = {
    ("workday", "in"): _bumps((1.0, 8.0, 1.0), (0.45, 18.0, 1.5), (0.35, 13.0, 3.0)),
    ("workday", "out"): _bumps((0.45, 8.0, 1.2), (1.0, 18.0, 1.3), (0.35, 13.0, 3.0)),
    ("weekend", "in"): _bumps((0.9, 14.0, 3.5), (0.2, 10.0, 1.5)),
    ("weekend", "out"): _bumps((0.9, 14.5, 3.5), (0.25, 10.0, 1.5)),
    ("exodus", "in"): _bumps((0.9, 14.0, 3.5)),
    ("exodus", "out"): _bumps((1.3, 9.0, 2.0), (0.6, 15.0, 3.0)),
    ("return", "in"): _bumps((0.5, 11.0, 2.5), (1.3, 17.0, 2.5)),
    ("return", "out"): _bumps((0.9, 14.0, 3.5)),
}
_VOLUME = {  # (inbound, outbound) multiplier of the daily volume per day type
    "workday": (1.0, 1.0),
    "weekend": (1.0, 1.0),
    "holiday": (1.0, 1.0),
    "exodus": (0.8, 1.6),
    "return": (1.6, 0.8),
}


def day_types(calendar: list[CalendarDay]) -> list[str]:
    """workday / weekend / holiday / exodus (first day of a ≥ 3-day holiday) / return (its last)."""
    base = ["workday" if c.working else "holiday" if c.holiday else "weekend" for c in calendar]
    out = list(base)
    i = 0
    while i < len(calendar):
        if calendar[i].working:
            i += 1
            continue
        j = i
        while j < len(calendar) and not calendar[j].working:
            j += 1
        run = range(i, j)  # days off in a row (weekends and holidays)
        if len(run) >= 3 and any(base[k] == "holiday" for k in run):
            if i > 0:  # the period's first day may be mid-holiday: no exodus seen
                out[i] = "exodus"
            if j < len(calendar):
                out[j - 1] = "return"
        i = j
    return out


def _stations(ctx: CityContext) -> list[Station]:
    rng = ctx.np_rng("traffic_station_roads")

    def make(i: int, district_code: str, street: Street) -> Station:
        stem = street.name.removesuffix("街道")
        lanes = int(rng.integers(2, 5))
        heading = _HEADINGS[int(rng.integers(len(_HEADINGS)))]
        return Station(
            f"TC-{i + 1:03d}",
            f"{stem}路{i + 1}号流量计数点",
            district_code,
            street.code,
            {
                "road": f"{stem}路",
                "lanes_per_direction": lanes,
                "inbound_heading": heading,
                "daily_volume_per_direction": int(lanes * rng.uniform(5000, 9000)),
            },
        )

    return place_stations(ctx, "traffic_stations", station_count(ctx, BASE_COUNTERS), make)


def run(ctx: CityContext, sources_root: Path) -> SourceResult:
    stations = _stations(ctx)
    rng = ctx.np_rng("traffic_counts")
    types = day_types(ctx.calendar)
    n_st, n = len(stations), ctx.days * 24
    values: dict[str, np.ndarray] = {}
    for k, direction in enumerate(("in", "out")):
        lam = np.zeros((n_st, n))
        for d, (kind, cal) in enumerate(zip(types, ctx.calendar, strict=True)):
            level = "holiday" if kind in ("exodus", "return") else kind
            factor = _DAY_FACTOR[level] * _VOLUME[kind][k] * _WEEKDAY_FACTOR[cal.day.weekday()]
            profile = PROFILES.get((kind, direction), PROFILES.get(("weekend", direction)))
            lam[:, d * 24 : d * 24 + 24] = factor * np.outer(
                [s.attributes["daily_volume_per_direction"] for s in stations], profile
            )
        lam *= np.repeat(rng.lognormal(0, 0.05, (n_st, ctx.days)), 24, axis=1)
        capacity = np.array(
            [[s.attributes["lanes_per_direction"] * LANE_CAPACITY] for s in stations]
        )
        lam = np.minimum(lam, capacity)
        counts = np.minimum(rng.poisson(lam), capacity).astype(np.int64)
        values[f"vehicles_{direction}bound"] = counts
    faults = inject_faults(ctx, FEED, stations, values)
    records, files = write_feed(ctx, sources_root, FEED, stations, values, faults)
    truth = {
        "sensor_stations": station_rows(FEED, stations),
        "sensor_feed_faults": faults.rows,
    }
    return SourceResult(SOURCE_ID, records, files, truth)
