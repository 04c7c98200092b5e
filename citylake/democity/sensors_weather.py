"""Automatic weather stations: hourly temperature, humidity and wind (source ``weather_station``).

Temperature follows a climatology (daily mean by day of year, a day-to-day city-wide
anomaly, a warm bias per station) through a smooth diurnal curve from the daily minimum
near 05:00 to the daily maximum at 14:00 or 15:00, so the hourly reading at that hour
*is* the day's maximum. Humidity comes from the temperature and the day's dew point
(Magnus formula); wind has a daily regime, an afternoon maximum and a wandering
direction. Outside the injected heat wave a station's daily maximum stays at most
``BACKGROUND_MAX_C``, so no high-temperature warning is ever due there.

The injected heat wave (one per run, ``HEAT_DAYS`` days, city-wide) is shaped per
station to reach one level of the BRIEF's high-temperature signal:

- yellow: daily maximum ≥ 35 °C three days running;
- orange: ≥ 37 °C within 24 h;
- red: ≥ 40 °C within 24 h.

One station (the core) reaches red, the others in turn orange, yellow, and a near miss
(two hot days only, no warning). Daily maxima are kept ``MARGIN_C`` away from
35/37/40 °C. The expected level and when each level is first reached are recomputed
from the delivered hourly series: "daily" is the local calendar date of ``ts``;
``yellow_at`` is the first reading ≥ 35 °C on the third consecutive such day.
"""

from __future__ import annotations

import math
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

SOURCE_ID = "weather_station"
FEED = Feed(
    SOURCE_ID,
    folder="weather_station",
    prefix="weather",
    step_minutes=60,
    fault_tag="WS",
    measures=(
        Measure("temperature_c", "double", 1, lo=-40.0, hi=50.0, spike=True, stuck=True),
        Measure("humidity_pct", "integer", lo=0, hi=100, spike=True, stuck=True),
        Measure("wind_speed_ms", "double", 1, lo=0.0, hi=75.0, spike=True, stuck=True),
        Measure("wind_dir_deg", "integer", lo=0, hi=360, stuck=True),
    ),
)
BASE_STATIONS = 8
YELLOW_C, ORANGE_C, RED_C = 35.0, 37.0, 40.0
YELLOW_DAYS = 3
BACKGROUND_MAX_C = 34.3
MARGIN_C = 0.25
HEAT_DAYS = 6
# Peak daily maximum per target level; "near_miss" is ≥ 35 °C on two days only.
_PEAK = {
    "red": (40.4, 41.2),
    "orange": (37.5, 39.4),
    "yellow": (35.6, 36.6),
    "near_miss": (35.6, 36.5),
}
_ROLE_CYCLE = ("orange", "yellow", "near_miss")


def _stations(ctx: CityContext) -> list[Station]:
    rng = ctx.np_rng("weather_station_bias")

    def make(i: int, district_code: str, street: Street) -> Station:
        stem = street.name.removesuffix("街道")
        bias = round(float(rng.uniform(-0.6, 0.9)), 2)
        return Station(
            f"WS-{i + 1:03d}",
            f"{stem}自动气象站",
            district_code,
            street.code,
            {"warm_bias_c": bias},
        )

    return place_stations(ctx, "weather_stations", station_count(ctx, BASE_STATIONS), make)


def _daily(ctx: CityContext, stations: list[Station]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Background daily max, min and dew point per station and day (°C)."""
    rng = ctx.np_rng("weather_daily")
    days = ctx.days
    doy = np.array([(ctx.start + timedelta(days=d)).timetuple().tm_yday for d in range(days)])
    mean = 17.0 + 11.5 * np.cos(2 * math.pi * (doy - 200) / 365.25)
    anomaly = np.zeros(days)
    for d in range(days):
        anomaly[d] = (0.7 * anomaly[d - 1] if d else 0.0) + rng.normal(0, 1.4)
    bias = np.array([[s.attributes["warm_bias_c"]] for s in stations])
    n_st = len(stations)
    tmax = mean + 3.8 + anomaly + bias + rng.normal(0, 0.35, (n_st, days))
    tmin = mean - 3.7 + 0.6 * anomaly + 0.5 * bias + rng.normal(0, 0.35, (n_st, days))
    hot = tmax > BACKGROUND_MAX_C
    tmax[hot] = BACKGROUND_MAX_C - rng.uniform(0, 0.8, size=int(hot.sum()))
    tmin = np.minimum(tmin, tmax - 3.0)
    dew = tmin - rng.uniform(0.5, 3.0, (n_st, days))
    return tmax, tmin, dew


def _heat_wave(
    ctx: CityContext, stations: list[Station], tmax: np.ndarray, tmin: np.ndarray, dew: np.ndarray
) -> tuple[int, int, list[str | None]]:
    """Overwrite the wave's days; returns (first day, length, target level per station)."""
    rng = ctx.np_rng("weather_heat_wave")
    length = min(HEAT_DAYS, ctx.days)
    lo = 1 if ctx.days >= length + 2 else 0
    # Heat waves come in the warm part of the period: weight the start by the background.
    starts = np.arange(lo, ctx.days - length - lo + 1)
    warmth = np.array([tmax[:, d : d + length].mean() for d in starts])
    weights = np.exp((warmth - warmth.max()) / 1.5)
    first = int(rng.choice(starts, p=weights / weights.sum()))
    w = np.sin(np.pi * (np.arange(length) + 1) / (length + 1))
    w = w / w.max()
    order = rng.permutation(len(stations))
    roles: list[str | None] = [None] * len(stations)
    for k, si in enumerate(order):
        roles[si] = "red" if k == 0 else _ROLE_CYCLE[(k - 1) % len(_ROLE_CYCLE)]
    thresholds = (YELLOW_C, ORANGE_C, RED_C)
    for si, role in enumerate(roles):
        peak = rng.uniform(*_PEAK[str(role)])
        jitter = rng.normal(0, 0.4, length)
        if role == "near_miss":
            top = set(np.argsort(-w, kind="stable")[:2].tolist())
            values = np.array(
                [
                    max(YELLOW_C + 0.3, peak - (1 - w[k]) * 4 + jitter[k])
                    if k in top
                    else min(34.5, peak - 1.5 - (1 - w[k]) * 4 + jitter[k])
                    for k in range(length)
                ]
            )
        else:  # every day >= 35.3 °C; the peak day alone decides orange/red
            values = YELLOW_C + 0.3 + (peak - YELLOW_C - 0.3) * w
            top = int(np.argmax(values))
            values = np.clip(values + jitter, YELLOW_C + 0.3, peak)
            values[top] = peak
        values = np.round(values, 1)
        for thr in thresholds:  # keep every daily maximum clear of a threshold, same side
            near = np.abs(values - thr) < MARGIN_C
            values[near] = np.where(values[near] >= thr, thr + MARGIN_C, thr - MARGIN_C)
        span = slice(first, first + length)
        # The day before and after lead in and out (still below 35 °C: no longer run).
        for edge, wave_day in ((first - 1, 0), (first + length, length - 1)):
            if 0 <= edge < ctx.days:
                lead = tmax[si, edge] + 0.6 * (values[wave_day] - tmax[si, edge])
                tmax[si, edge] = min(BACKGROUND_MAX_C, max(tmax[si, edge], lead))
                tmin[si, edge] = min(tmin[si, edge] + 2.0, tmax[si, edge] - 5.0)
        tmax[si, span] = values
        tmin[si, span] = values - rng.uniform(7.0, 9.5, size=length)
        dew[si, span] = tmin[si, span] - rng.uniform(2.0, 5.0, size=length)
    return first, length, roles


def _hourly(ctx: CityContext, tmax: np.ndarray, tmin: np.ndarray) -> np.ndarray:
    """Cosine-eased diurnal curve through (05:00, min) and (14/15:00, max) of each day."""
    rng = ctx.np_rng("weather_hourly")
    n_st, days = tmax.shape
    n = days * 24
    hours = np.arange(n)
    out = np.zeros((n_st, n))
    for si in range(n_st):
        peak_hour = 14 + (rng.random(days) < 0.5)
        xs = [-10.0]
        vs = [tmax[si, 0] - 1.0]
        for d in range(days):
            xs += [d * 24 + 5.0, d * 24 + float(peak_hour[d])]
            vs += [tmin[si, d], tmax[si, d]]
        xs.append(n + 5.0)
        vs.append(tmin[si, -1])
        x, v = np.array(xs), np.array(vs)
        k = np.clip(np.searchsorted(x, hours, side="right") - 1, 0, len(x) - 2)
        frac = (hours - x[k]) / (x[k + 1] - x[k])
        curve = v[k] + (v[k + 1] - v[k]) * (1 - np.cos(np.pi * frac)) / 2
        anchor = np.isin(hours, x)
        curve = curve + np.where(anchor, 0.0, rng.normal(0, 0.25, n))
        cap = np.repeat(tmax[si], 24)  # the anchor hour holds the day's maximum exactly
        out[si] = np.minimum(curve, cap)
    return round_to(out, 1)


def _humidity(temp: np.ndarray, dew: np.ndarray) -> np.ndarray:
    def magnus(t: np.ndarray) -> np.ndarray:
        return np.exp(17.625 * t / (243.04 + t))

    dew_h = np.repeat(dew, 24, axis=1)
    rh = 100 * magnus(np.minimum(dew_h, temp)) / magnus(temp)
    return np.clip(np.rint(rh), 15, 100).astype(np.int64)


def _wind(ctx: CityContext, n_st: int, days: int) -> tuple[np.ndarray, np.ndarray]:
    rng = ctx.np_rng("weather_wind")
    n = days * 24
    regime = np.repeat(rng.gamma(2.0, 1.2, days), 24)
    diurnal = 1.2 * np.clip(np.sin(np.pi * ((np.arange(n) % 24) - 8) / 12), 0, None)
    speed = regime + diurnal + rng.normal(0, 0.5, (n_st, n)) + rng.uniform(-0.4, 0.4, (n_st, 1))
    prevailing = np.repeat(rng.choice([45.0, 90.0, 135.0, 315.0], days), 24)
    drift = np.cumsum(rng.normal(0, 6, (n_st, n)), axis=1) * 0.2
    direction = np.rint(prevailing + drift + rng.normal(0, 20, (n_st, n))) % 360
    return round_to(np.clip(speed, 0, None), 1), direction.astype(np.int64)


def _ts(ctx: CityContext, i: int) -> datetime:
    return FEED.ts(ctx, i)


def heat_level(temps: np.ndarray) -> tuple[str | None, dict[str, int | None]]:
    """Level reached by an hourly series starting at 00:00 (whole days) and the first index
    at which each level was reached."""
    days = len(temps) // 24
    daily = temps[: days * 24].reshape(days, 24)
    reached: dict[str, int | None] = {"yellow": None, "orange": None, "red": None}
    run = 0
    for d in range(days):
        run = run + 1 if daily[d].max() >= YELLOW_C else 0
        if run >= YELLOW_DAYS and reached["yellow"] is None:
            reached["yellow"] = d * 24 + int(np.flatnonzero(daily[d] >= YELLOW_C)[0])
    for name, thr in (("orange", ORANGE_C), ("red", RED_C)):
        hits = np.flatnonzero(temps >= thr)
        reached[name] = int(hits[0]) if len(hits) else None
    level = next((k for k in ("red", "orange", "yellow") if reached[k] is not None), None)
    return level, reached


def _longest_run(temps: np.ndarray) -> int:
    days = len(temps) // 24
    best = run = 0
    for d in range(days):
        run = run + 1 if temps[d * 24 : d * 24 + 24].max() >= YELLOW_C else 0
        best = max(best, run)
    return best


def run(ctx: CityContext, sources_root: Path) -> SourceResult:
    stations = _stations(ctx)
    tmax, tmin, dew = _daily(ctx, stations)
    first, length, roles = _heat_wave(ctx, stations, tmax, tmin, dew)
    temp = _hourly(ctx, tmax, tmin)
    speed, direction = _wind(ctx, len(stations), ctx.days)
    values = {
        "temperature_c": temp,
        "humidity_pct": _humidity(temp, dew),
        "wind_speed_ms": speed,
        "wind_dir_deg": direction,
    }
    lo, hi = first * 24, (first + length) * 24 - 1
    protected = [(si, lo - 24, hi + 24) for si in range(len(stations))]
    events = []
    for si, st in enumerate(stations):  # faults stay a day clear of the wave: same levels
        series = temp[si]
        level, at = heat_level(series)
        peak = lo + int(np.argmax(series[lo : hi + 1]))
        events.append(
            {
                "event_id": "HW-001",
                "station_id": st.station_id,
                "district_code": st.district_code,
                "role": "core" if roles[si] == "red" else "edge",
                "target_level": None if roles[si] == "near_miss" else roles[si],
                "expected_level": level,
                "start": _ts(ctx, lo),
                "peak": _ts(ctx, peak),
                "end": _ts(ctx, hi),
                "max_temp_c": float(series[peak]),
                "hot_days_running": _longest_run(series),
                **{f"{k}_at": None if v is None else _ts(ctx, v) for k, v in at.items()},
            }
        )
        if roles[si] == "red":
            ctx.disruptions.append(
                Disruption(
                    "heat_wave", "HW-001", st.district_code, _ts(ctx, lo), _ts(ctx, hi), str(level)
                )
            )
    values = {name: arr.copy() for name, arr in values.items()}
    faults = inject_faults(ctx, FEED, stations, values, protected)
    records, files = write_feed(ctx, sources_root, FEED, stations, values, faults)
    truth = {
        "sensor_stations": station_rows(FEED, stations),
        "heat_events": events,
        "sensor_feed_faults": faults.rows,
    }
    return SourceResult(SOURCE_ID, records, files, truth)
