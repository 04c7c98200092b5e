"""Air-quality monitors: hourly PM2.5, PM10, O3 and the AQI (source ``air_quality``).

The AQI follows HJ 633-2012 (环境空气质量指数（AQI）技术规定（试行）), Table 1. For each
pollutant P with concentration C between the breakpoints BP_lo ≤ C ≤ BP_hi:

    IAQI_P = (IAQI_hi − IAQI_lo) / (BP_hi − BP_lo) × (C − BP_lo) + IAQI_lo

rounded *up* to an integer (进位取整, as the national release platform reports it), and
AQI = max(IAQI_P). When AQI > 50 the pollutant(s) with the largest IAQI are the primary
pollutant(s). Breakpoints used (µg/m³; CO in mg/m³), from Table 1:

    IAQI        0    50   100   150   200   300   400   500
    SO2 24h     0    50   150   475   800  1600  2100  2620
    SO2 1h      0   150   500   650   800   (above 800: use the 24 h value)
    NO2 24h     0    40    80   180   280   565   750   940
    NO2 1h      0   100   200   700  1200  2340  3090  3840
    PM10 24h    0    50   150   250   350   420   500   600
    CO 24h      0     2     4    14    24    36    48    60
    CO 1h       0     5    10    35    60    90   120   150
    O3 1h       0   160   200   300   400   800  1000  1200
    O3 8h       0   100   160   215   265   800   (above 800: use the 1 h value)
    PM2.5 24h   0    35    75   115   150   250   350   500

The monitors publish an hourly (real-time, 实时报) AQI: O3 against the 1-hour
breakpoints, and the 1-hour PM2.5 and PM10 concentrations against the 24-hour
breakpoints (Table 1 has no 1-hour rows for particulates, and that is how the hourly
AQI is published in practice). Above a table's last breakpoint the IAQI is reported
as 500. Concentrations are whole µg/m³, so the IAQI is computed exactly (integers).

Bands (BRIEF; HJ 633 categories): 0–50 excellent (优), 51–100 good (良), 101–150
light (轻度污染), 151–200 moderate (中度污染), 201–300 heavy (重度污染), > 300 severe
(严重污染).

Background air stays at most "light" (AQI ≤ 150). The injected pollution episode (one
per run) is a regional haze of ``EPISODE_HOURS`` building up slowly and cleared by a
front: the core monitor reaches "severe" (AQI > 300), the others in turn "heavy"
(201–300) and "moderate" (151–200), each maximum kept ``MARGIN`` from the band edges.
The reached band and the first ts above 100/150/200/300 are recomputed from the
delivered values.
"""

from __future__ import annotations

import math
from datetime import datetime
from fractions import Fraction
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
    station_count,
    station_rows,
    write_feed,
)

SOURCE_ID = "air_quality"
FEED = Feed(
    SOURCE_ID,
    folder="air_quality",
    prefix="air",
    step_minutes=60,
    fault_tag="AQ",
    measures=(
        Measure("pm25_ug_m3", "integer", lo=0, hi=1500, spike=True, stuck=True),
        Measure("pm10_ug_m3", "integer", lo=0, hi=5000, spike=True, stuck=True),
        Measure("o3_ug_m3", "integer", lo=0, hi=1000, spike=True, stuck=True),
        Measure("aqi", "integer", lo=0, hi=500),
        Measure("primary_pollutant", "string"),
    ),
)
BASE_STATIONS = 8

IAQI_STEPS = (0, 50, 100, 150, 200, 300, 400, 500)
BREAKPOINTS: dict[str, tuple[float, ...]] = {
    "so2_24h": (0, 50, 150, 475, 800, 1600, 2100, 2620),
    "so2_1h": (0, 150, 500, 650, 800),
    "no2_24h": (0, 40, 80, 180, 280, 565, 750, 940),
    "no2_1h": (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    "pm10_24h": (0, 50, 150, 250, 350, 420, 500, 600),
    "co_24h": (0, 2, 4, 14, 24, 36, 48, 60),
    "co_1h": (0, 5, 10, 35, 60, 90, 120, 150),
    "o3_1h": (0, 160, 200, 300, 400, 800, 1000, 1200),
    "o3_8h": (0, 100, 160, 215, 265, 800),
    "pm25_24h": (0, 35, 75, 115, 150, 250, 350, 500),
}
# Message field -> (breakpoint row used for the hourly AQI, name as a primary pollutant).
HOURLY_ROWS = {
    "pm25_ug_m3": ("pm25_24h", "PM2.5"),
    "pm10_ug_m3": ("pm10_24h", "PM10"),
    "o3_ug_m3": ("o3_1h", "O3"),
}
BANDS = (
    (50, "excellent"),
    (100, "good"),
    (150, "light"),
    (200, "moderate"),
    (300, "heavy"),
    (500, "severe"),
)
BAND_EDGES = (100, 150, 200, 300)
MARGIN = 5
EPISODE_HOURS = (60, 90)
# Target AQI maximum per band for the episode.
_TARGET = {"severe": (315, 370), "heavy": (220, 285), "moderate": (160, 192)}
_ROLE_CYCLE = ("heavy", "moderate")


def iaqi(row: str, concentration: float) -> int:
    """Individual AQI of one concentration against one breakpoint row (HJ 633-2012 Table 1)."""
    bps = BREAKPOINTS[row]
    c = Fraction(str(concentration))
    if c < 0:
        raise ValueError(f"negative concentration {concentration}")
    if c > bps[-1]:
        if len(bps) < len(IAQI_STEPS):  # SO2 1 h > 800, O3 8 h > 800: the standard says
            raise ValueError(f"{row} above {bps[-1]}: use the other averaging period")
        return IAQI_STEPS[-1]
    k = next(k for k in range(1, len(bps)) if c <= bps[k])
    lo, hi = Fraction(str(bps[k - 1])), Fraction(str(bps[k]))
    value = IAQI_STEPS[k - 1] + (IAQI_STEPS[k] - IAQI_STEPS[k - 1]) * (c - lo) / (hi - lo)
    return math.ceil(value)


def band(aqi: int) -> str:
    return next(name for top, name in BANDS if aqi <= top) if aqi <= 500 else "severe"


def _iaqi_array(row: str, conc: np.ndarray) -> np.ndarray:
    """Vectorized :func:`iaqi` for whole-number concentrations (exact integer arithmetic)."""
    bps = np.array(BREAKPOINTS[row], dtype=np.int64)
    steps = np.array(IAQI_STEPS[: len(bps)], dtype=np.int64)
    c = np.clip(conc.astype(np.int64), 0, None)
    k = np.clip(np.searchsorted(bps, c, side="left"), 1, len(bps) - 1)
    num = (steps[k] - steps[k - 1]) * (c - bps[k - 1])
    den = bps[k] - bps[k - 1]
    out = steps[k - 1] + (num + den - 1) // den
    return np.where(c > bps[-1], IAQI_STEPS[-1], out)


def aqi_arrays(values: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Hourly AQI and primary pollutant(s) (None when AQI ≤ 50) from the concentrations."""
    parts = {name: _iaqi_array(row, values[field]) for field, (row, name) in HOURLY_ROWS.items()}
    aqi = np.maximum.reduce(list(parts.values()))
    primary = np.full(aqi.shape, None, dtype=object)
    labels = np.full(aqi.shape, "", dtype=object)
    for name, sub in parts.items():
        hit = sub == aqi
        labels[hit] = np.where(labels[hit] == "", name, labels[hit] + "," + name)
    over = aqi > 50
    primary[over] = labels[over]
    return aqi, primary


def _stations(ctx: CityContext) -> list[Station]:
    def make(i: int, district_code: str, street: Street) -> Station:
        stem = street.name.removesuffix("街道")
        return Station(f"AQ-{i + 1:03d}", f"{stem}空气质量监测站", district_code, street.code)

    return place_stations(ctx, "air_stations", station_count(ctx, BASE_STATIONS), make)


def _background(ctx: CityContext, n_st: int) -> dict[str, np.ndarray]:
    rng = ctx.np_rng("air_background")
    days, n = ctx.days, ctx.days * 24
    level = np.zeros(days)
    for d in range(days):
        level[d] = (0.75 * level[d - 1] if d else 0.0) + rng.normal(0, 0.3)
    hourly_level = np.interp(np.arange(n) / 24, np.arange(days) + 0.5, level)
    hour = np.arange(n) % 24
    diurnal = (
        1 + 0.18 * np.cos(2 * np.pi * (hour - 8) / 24) + 0.1 * np.cos(4 * np.pi * (hour - 8) / 24)
    )
    site = rng.uniform(0.85, 1.2, (n_st, 1))
    pm25 = 28 * np.exp(hourly_level) * diurnal * site * rng.lognormal(0, 0.15, (n_st, n))
    pm25 = np.where(pm25 > 105, 105 - rng.uniform(0, 15, pm25.shape), pm25)
    pm10 = pm25 * rng.uniform(1.35, 1.9, (n_st, n)) + rng.normal(0, 4, (n_st, n))
    pm10 = np.where(pm10 > 240, 240 - rng.uniform(0, 20, pm10.shape), np.maximum(pm10, pm25))
    sun = np.clip(np.sin(np.pi * (hour - 8) / 12), 0, None) ** 1.5
    strength = np.repeat(rng.uniform(50, 150, days), 24)
    o3 = 22 + strength * sun * rng.lognormal(0, 0.1, (n_st, n)) + rng.normal(0, 4, (n_st, n))
    o3 = np.clip(o3, 2, 250)
    return {
        "pm25_ug_m3": np.rint(np.clip(pm25, 1, None)).astype(np.int64),
        "pm10_ug_m3": np.rint(pm10).astype(np.int64),
        "o3_ug_m3": np.rint(o3).astype(np.int64),
    }


def _episode_shape(hours: int) -> np.ndarray:
    """Slow build-up (with a night-time maximum each day), plateau, a front clears it."""
    clear = max(3, hours // 12)
    build = hours - clear
    x = np.arange(build) / max(1, build - 1)
    ramp = np.clip(x / 0.7, 0, 1) ** 1.3
    night = 1 + 0.12 * np.cos(2 * np.pi * (np.arange(build) - 22) / 24)
    up = ramp * night
    down = up[-1] * (1 - np.arange(1, clear + 1) / clear) ** 2
    return np.concatenate((up, down)) / max(up.max(), 1e-9)


def _shaped(
    base: dict[str, np.ndarray], coarse: float, shape: np.ndarray, height: float
) -> tuple[int, dict[str, np.ndarray]]:
    """Episode concentrations for a haze of ``height`` µg/m³ PM2.5, and their AQI maximum."""
    add = shape * height
    trial = {
        "pm25_ug_m3": np.rint(base["pm25_ug_m3"] + add).astype(np.int64),
        "pm10_ug_m3": np.rint(base["pm10_ug_m3"] + coarse * add).astype(np.int64),
        "o3_ug_m3": np.rint(base["o3_ug_m3"] * (1 - 0.5 * shape)).astype(np.int64),
    }
    return int(aqi_arrays(trial)[0].max()), trial


def _inject(
    ctx: CityContext, stations: list[Station], values: dict[str, np.ndarray]
) -> tuple[int, int, list[str]]:
    rng = ctx.np_rng("air_episode")
    n = ctx.days * 24
    hours = min(int(rng.integers(*EPISODE_HOURS)), n - 2)
    first = int(rng.integers(1, max(2, n - hours)))
    shape = _episode_shape(hours)
    roles = [""] * len(stations)
    for k, si in enumerate(rng.permutation(len(stations))):
        roles[si] = "severe" if k == 0 else _ROLE_CYCLE[(k - 1) % len(_ROLE_CYCLE)]
    span = slice(first, first + hours)
    for si, role in enumerate(roles):
        lo, hi = _TARGET[role]
        goal = rng.uniform(lo, hi)
        coarse = rng.uniform(1.1, 1.3)
        base = {f: values[f][si, span].copy() for f in HOURLY_ROWS}

        # The episode's AQI maximum grows with the haze height: bisect for the goal.
        low, high = 0.0, 100.0
        while _shaped(base, coarse, shape, high)[0] < goal:
            high *= 2
        for _ in range(40):
            mid = (low + high) / 2
            low, high = (mid, high) if _shaped(base, coarse, shape, mid)[0] < goal else (low, mid)
        top, trial = _shaped(base, coarse, shape, high)
        if band(top) != role or any(abs(top - e) < MARGIN for e in BAND_EDGES):
            raise RuntimeError(f"could not shape the {role} episode at {stations[si].station_id}")
        for f, arr in trial.items():
            values[f][si, span] = arr
    return first, hours, roles


def _ts(ctx: CityContext, i: int) -> datetime:
    return FEED.ts(ctx, i)


def run(ctx: CityContext, sources_root: Path) -> SourceResult:
    stations = _stations(ctx)
    values = _background(ctx, len(stations))
    first, hours, roles = _inject(ctx, stations, values)
    last = first + hours - 1
    aqi, _primary = aqi_arrays(values)
    events = []
    for si, st in enumerate(stations):
        window = aqi[si, first : last + 1]
        peak = first + int(np.argmax(window))
        crossed = {}
        for edge in BAND_EDGES:
            hits = np.flatnonzero(window > edge)
            crossed[f"over_{edge}_at"] = _ts(ctx, first + int(hits[0])) if len(hits) else None
        events.append(
            {
                "event_id": "AP-001",
                "station_id": st.station_id,
                "district_code": st.district_code,
                "role": "core" if roles[si] == "severe" else "edge",
                "target_band": roles[si],
                "expected_band": band(int(window.max())),
                "start": _ts(ctx, first - 1),
                "peak": _ts(ctx, peak),
                "end": _ts(ctx, last),
                "max_aqi": int(window.max()),
                "max_pm25_ug_m3": int(values["pm25_ug_m3"][si, peak]),
                **crossed,
            }
        )
        if roles[si] == "severe":
            ctx.disruptions.append(
                Disruption(
                    "air_pollution",
                    "AP-001",
                    st.district_code,
                    _ts(ctx, first - 1),
                    _ts(ctx, last),
                    band(int(window.max())),
                )
            )
    protected = [(si, first - 24, last + 24) for si in range(len(stations))]
    faults = inject_faults(ctx, FEED, stations, values, protected)
    # The monitor computes the AQI from what it measured, faults included.
    values["aqi"], values["primary_pollutant"] = aqi_arrays(values)
    records, files = write_feed(ctx, sources_root, FEED, stations, values, faults)
    truth = {
        "sensor_stations": station_rows(FEED, stations),
        "air_episodes": events,
        "sensor_feed_faults": faults.rows,
    }
    return SourceResult(SOURCE_ID, records, files, truth)
