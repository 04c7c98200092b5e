"""Manhole-cover sensors: hourly tilt, water-level alarm and battery (source ``manhole_tilt``).

A seated cover reads a small installed tilt (under ``BACKGROUND_MAX_DEG``) with a
little noise. The ``water_level_alarm`` flag is raised in rain and sewage wells of a
district while an orange/red rainstorm there runs off (from the rain gauges'
disruptions), and now and then after a shower. The battery drains slowly (faster in a
few worn-out units).

Injected displacements (a few per run, ``DISPLACEMENTS_PER_SCALE`` per scale unit,
at least 3): a cover knocked askew by a vehicle, lifted by flood water during a
rainstorm (when one exists in the well's district) or flipped over, each staying
displaced until repaired hours later. Every displaced reading is at least
``ALARM_TILT_DEG`` + 2°, the alarm threshold such sensors ship with, and every
background reading below ``BACKGROUND_MAX_DEG``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from citylake.democity.context import CityContext, Disruption, SourceResult
from citylake.democity.geography import Street
from citylake.democity.sensor_common import (
    Feed,
    Measure,
    Station,
    inject_faults,
    place_stations,
    round_to,
    station_count,
    station_rows,
    write_feed,
)

SOURCE_ID = "manhole_tilt"
FEED = Feed(
    SOURCE_ID,
    folder="manhole_tilt",
    prefix="manhole",
    step_minutes=60,
    fault_tag="MH",
    measures=(
        Measure("tilt_deg", "double", 1, lo=0.0, hi=180.0, spike=True, stuck=True),
        Measure("water_level_alarm", "boolean"),
        Measure("battery_pct", "integer", lo=0, hi=100, spike=True, stuck=True),
    ),
)
BASE_SENSORS = 40
ALARM_TILT_DEG = 10.0
BACKGROUND_MAX_DEG = 5.0
DISPLACEMENTS_PER_SCALE = 4
WELL_TYPES = ("rainwater", "sewage", "power", "telecom", "water_supply")
_WET_WELLS = ("rainwater", "sewage")
# Tilt while displaced, per cause (degrees).
_CAUSE_TILT = {
    "vehicle_impact": (14.0, 45.0),
    "flood_lift": (20.0, 75.0),
    "cover_flipped": (150.0, 176.0),
}


def _stations(ctx: CityContext) -> list[Station]:
    rng = ctx.rng("manhole_well_types")

    def make(i: int, district_code: str, street: Street) -> Station:
        well = rng.choice(WELL_TYPES)
        return Station(
            f"MH-{i + 1:04d}",
            f"{street.name}{i + 1}号井盖",
            district_code,
            street.code,
            {"well_type": well},
        )

    n = station_count(ctx, BASE_SENSORS)
    return place_stations(ctx, "manhole_stations", n, make)


def _ts(ctx: CityContext, i: int) -> datetime:
    return FEED.ts(ctx, i)


def _index(ctx: CityContext, when: datetime) -> int:
    return int((when - _ts(ctx, 0)) / timedelta(hours=1))


def _background(ctx: CityContext, stations: list[Station]) -> dict[str, np.ndarray]:
    rng = ctx.np_rng("manhole_background")
    n_st, n = len(stations), ctx.days * 24
    base = rng.uniform(0.2, 2.5, (n_st, 1))
    daily = 0.1 * np.sin(2 * np.pi * (np.arange(n) % 24 - 9) / 24)
    tilt = np.clip(base + daily + rng.normal(0, 0.12, (n_st, n)), 0.0, BACKGROUND_MAX_DEG - 0.5)
    start = rng.uniform(40, 100, (n_st, 1))
    drain = rng.uniform(0.05, 0.5, (n_st, 1))
    worn = rng.random((n_st, 1)) < 0.05
    drain = np.where(worn, rng.uniform(1.0, 2.0, (n_st, 1)), drain)
    battery = np.clip(np.floor(start - drain * np.arange(n) / 24), 3, 100).astype(np.int64)
    water = np.zeros((n_st, n), dtype=bool)
    wet = np.array([s.attributes["well_type"] in _WET_WELLS for s in stations])
    showers = (rng.random((n_st, ctx.days)) < 0.004) & wet[:, None]
    for si, day in zip(*np.nonzero(showers), strict=True):
        i = int(day) * 24 + int(rng.integers(0, 22))
        water[si, i : i + int(rng.integers(1, 4))] = True
    storms = sorted((d for d in ctx.disruptions if d.kind == "rainstorm"), key=lambda d: d.ref)
    for storm in storms:
        a, b = _index(ctx, storm.start), _index(ctx, storm.end)
        for si, st in enumerate(stations):
            if st.district_code == storm.district_code and wet[si] and rng.random() < 0.5:
                lo = max(0, a + int(rng.integers(1, 3)))
                hi = min(n, b + int(rng.integers(1, 5)))
                water[si, lo:hi] = True
    return {"tilt_deg": tilt, "water_level_alarm": water, "battery_pct": battery}


def _displacements(
    ctx: CityContext, stations: list[Station], values: dict[str, np.ndarray]
) -> list[dict[str, object]]:
    rng = ctx.np_rng("manhole_displacements")
    n = ctx.days * 24
    count = max(3, round(DISPLACEMENTS_PER_SCALE * ctx.scale))
    storms = sorted(
        (d for d in ctx.disruptions if d.kind == "rainstorm"),
        key=lambda d: d.ref,
    )
    busy: set[int] = set()
    placed: list[tuple[int, int, int, str]] = []
    for k in range(count):
        cause = ("vehicle_impact", "cover_flipped")[k % 2]
        si = start = -1
        if storms and k % 3 == 2:  # every third: flood water lifts a cover during a storm
            storm = storms[int(rng.integers(len(storms)))]
            wells = [
                j
                for j, st in enumerate(stations)
                if st.district_code == storm.district_code
                and st.attributes["well_type"] in _WET_WELLS
                and j not in busy
            ]
            a = max(1, _index(ctx, storm.start) + 1)
            b = min(n - 4, _index(ctx, storm.end) + 2)
            if wells and a < b:
                si, start, cause = (
                    wells[int(rng.integers(len(wells)))],
                    int(rng.integers(a, b)),
                    "flood_lift",
                )
        if si < 0:
            free = [j for j in range(len(stations)) if j not in busy]
            si, start = free[int(rng.integers(len(free)))], int(rng.integers(1, max(2, n - 4)))
        hours = min(int(rng.integers(3, 31)), n - start)
        lo, hi = _CAUSE_TILT[cause]
        level = rng.uniform(lo, hi)
        tilt = level * rng.uniform(0.9, 1.0, hours) + rng.normal(0, 0.8, hours)
        tilt = np.clip(tilt, ALARM_TILT_DEG + 2, 179.5)
        values["tilt_deg"][si, start : start + hours] = tilt
        if cause == "flood_lift":
            values["water_level_alarm"][si, start : start + hours] = True
        # Reseated after repair: a new installed tilt.
        values["tilt_deg"][si, start + hours :] += rng.uniform(-0.3, 0.3)
        busy.add(si)
        placed.append((si, start, hours, cause))
    values["tilt_deg"] = round_to(np.clip(values["tilt_deg"], 0.0, 179.5), 1)
    rows = []
    for k, (si, start, hours, cause) in enumerate(sorted(placed, key=lambda p: (p[1], p[0])), 1):
        st = stations[si]
        seg = values["tilt_deg"][si, start : start + hours]
        peak = start + int(np.argmax(seg))
        row = {
            "event_id": f"MD-{k:03d}",
            "station_id": st.station_id,
            "district_code": st.district_code,
            "street_code": st.street_code,
            "cause": cause,
            "start": _ts(ctx, start),
            "peak": _ts(ctx, peak),
            "end": _ts(ctx, start + hours - 1),
            "peak_tilt_deg": float(values["tilt_deg"][si, peak]),
            "alarm_tilt_deg": ALARM_TILT_DEG,
            "water_level_alarm": bool(values["water_level_alarm"][si, start]),
        }
        rows.append(row)
        ctx.disruptions.append(
            Disruption(
                "manhole_displacement",
                str(row["event_id"]),
                st.district_code,
                _ts(ctx, start - 1),
                _ts(ctx, start + hours - 1),
                cause,
            )
        )
    return rows


def run(ctx: CityContext, sources_root: Path) -> SourceResult:
    stations = _stations(ctx)
    values = _background(ctx, stations)
    events = _displacements(ctx, stations, values)
    index = {s.station_id: si for si, s in enumerate(stations)}
    protected = [
        (
            index[str(e["station_id"])],
            _index(ctx, e["start"]) - 2,  # type: ignore[arg-type]
            _index(ctx, e["end"]) + 2,  # type: ignore[arg-type]
        )
        for e in events
    ]
    faults = inject_faults(ctx, FEED, stations, values, protected)
    records, files = write_feed(ctx, sources_root, FEED, stations, values, faults)
    truth = {
        "sensor_stations": station_rows(FEED, stations),
        "manhole_events": events,
        "sensor_feed_faults": faults.rows,
    }
    return SourceResult(SOURCE_ID, records, files, truth)
