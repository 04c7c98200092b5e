"""River stage gauges: 5-minute water level per station (source ``river_stage``).

Every gauge has its two official levels, carried in each message and in truth
(``sensor_stations`` attributes and ``river_events``): the *warning level* (警戒水位),
above which dikes are patrolled and a warning is issued, and the *guaranteed level*
(保证水位), the highest stage the dikes are designed to hold. Stage is in metres above
the gauge datum, reported to the centimetre; all arithmetic is in integer centimetres.

Background: a station's normal stage, a slow fluctuation, the semidiurnal tide on the
tidal main river and gauge noise, always at least ``BACKGROUND_GAP_CM`` below the
warning level, so only the injected events cross it.

Injected flood rise (one per scale unit, at least one): where possible it follows an
orange/red rainstorm at a gauge in the storm's district, a few hours after the storm
began. The *core* gauge rises smoothly above the warning level and then above the
guaranteed level, peaks and recedes; an *edge* gauge (preferably on the same river,
later) rises above the warning level only; a *near-miss* gauge rises but stays below
it. The level each gauge reached ("above" is strictly greater) and the first ts above
each level are recomputed from the delivered series.
"""

from __future__ import annotations

import math
from datetime import datetime
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

SOURCE_ID = "river_stage"
FEED = Feed(
    SOURCE_ID,
    folder="river_stage",
    prefix="river",
    step_minutes=5,
    fault_tag="RV",
    measures=(
        Measure("stage_m", "double", 2, lo=-2.0, hi=20.0, spike=True, stuck=True),
        Measure("warning_level_m", "double", 2, lo=0.0, hi=20.0),
        Measure("guaranteed_level_m", "double", 2, lo=0.0, hi=20.0),
    ),
)
BASE_STATIONS = 8
RIVERS = (("云江", True), ("青溪", False), ("临湖港", False))  # (name, tidal)
BACKGROUND_GAP_CM = 40
LEVELS = ("warning", "guaranteed")
PER_HOUR = 12
# Peak above the target level (cm) per role: core > guaranteed, edge > warning only.
_CORE_OVER = (25, 70)
_MARGIN_CM = 10  # the reached maximum stays this far from any level it must not flip


def _stations(ctx: CityContext) -> list[Station]:
    rng = ctx.np_rng("river_station_levels")

    def make(i: int, district_code: str, street: Street) -> Station:
        river, tidal = RIVERS[i % len(RIVERS)]
        normal = int(rng.integers(180, 421))
        warning = 5 * round((normal + rng.uniform(110, 190)) / 5)
        guaranteed = warning + 5 * round(rng.uniform(70, 140) / 5)
        stem = street.name.removesuffix("街道")
        return Station(
            f"RV-{i + 1:03d}",
            f"{river}{stem}水位站",
            district_code,
            street.code,
            {
                "river": river,
                "tidal": tidal,
                "normal_stage_m": normal / 100,
                "warning_level_m": warning / 100,
                "guaranteed_level_m": guaranteed / 100,
            },
        )

    return place_stations(ctx, "river_stations", station_count(ctx, BASE_STATIONS), make)


def _cm(st: Station, key: str) -> int:
    return round(float(st.attributes[key]) * 100)


def _background(ctx: CityContext, stations: list[Station], n: int) -> np.ndarray:
    rng = ctx.np_rng("river_background")
    hours = np.arange(n) / PER_HOUR
    out = np.zeros((len(stations), n), dtype=np.int64)
    knots = np.arange(0, n + 72, 72)  # a slow component knotted every 6 h
    for si, st in enumerate(stations):
        walk = np.zeros(len(knots))
        for k in range(1, len(knots)):
            walk[k] = 0.9 * walk[k - 1] + rng.normal(0, 4.0)
        slow = np.interp(np.arange(n), knots, walk)
        tide = 0.0
        if st.attributes["tidal"]:
            amp, phase = rng.uniform(15, 35), rng.uniform(0, 2 * math.pi)
            tide = amp * np.sin(2 * math.pi * hours / 12.42 + phase)
        noise = rng.normal(0, 0.8, size=n)
        normal, warning = _cm(st, "normal_stage_m"), _cm(st, "warning_level_m")
        series = np.rint(normal + slow + tide + noise).astype(np.int64)
        out[si] = np.clip(series, normal - 80, warning - BACKGROUND_GAP_CM)
    return out


def _shape(rise: int, recess: int) -> np.ndarray:
    """Smooth rise 0 → 1 over ``rise`` intervals, then a recession back to 0."""
    up = (1 - np.cos(np.pi * np.arange(1, rise + 1) / rise)) / 2
    down = (1 - np.arange(1, recess + 1) / recess) ** 2
    return np.concatenate((up, down))


def _level(peak: int, st: Station) -> str | None:
    if peak > _cm(st, "guaranteed_level_m"):
        return "guaranteed"
    if peak > _cm(st, "warning_level_m"):
        return "warning"
    return None


def _fits(peak: int, st: Station, target: str | None) -> bool:
    warning, guaranteed = _cm(st, "warning_level_m"), _cm(st, "guaranteed_level_m")
    if target == "guaranteed":
        return peak > guaranteed + _MARGIN_CM
    if target == "warning":
        return warning + _MARGIN_CM < peak < guaranteed - _MARGIN_CM
    return peak < warning - _MARGIN_CM


def _tune(
    series: np.ndarray, first: int, shape: np.ndarray, st: Station, target: str | None
) -> np.ndarray | None:
    """Contribution (cm) that makes the gauge reach ``target`` with a clear margin."""
    warning, guaranteed = _cm(st, "warning_level_m"), _cm(st, "guaranteed_level_m")
    goal = {
        "guaranteed": guaranteed + sum(_CORE_OVER) // 2,
        "warning": (warning + guaranteed) // 2,
        None: warning - 25,
    }[target]
    seg = series[first : first + len(shape)]
    base_at_peak = int(seg[int(np.argmax(shape))])
    height = max(5, goal - base_at_peak)
    for step in range(40):
        h = height + (step + 1) // 2 * 3 * (1 if step % 2 else -1)  # 0, -3, +3, -6, ...
        add = np.rint(shape * h).astype(np.int64)
        if _fits(int((seg + add).max()), st, target):
            return add
    return None


def _ts(ctx: CityContext, i: int) -> datetime:
    return FEED.ts(ctx, i)


def _index(ctx: CityContext, when: datetime) -> int:
    return int((when - _ts(ctx, 0)).total_seconds() // 300)


def _inject(
    ctx: CityContext, stations: list[Station], stage: np.ndarray
) -> tuple[list[dict[str, object]], list[tuple[int, int, int]]]:
    rng = ctx.np_rng("river_events")
    n = stage.shape[1]
    busy: dict[int, list[tuple[int, int]]] = {}
    rows: list[dict[str, object]] = []
    protected: list[tuple[int, int, int]] = []

    def free(si: int, a: int, b: int) -> bool:
        return all(b < x or a > y for x, y in busy.get(si, []))

    storms = sorted(
        (d for d in ctx.disruptions if d.kind == "rainstorm" and d.severity in ("orange", "red")),
        key=lambda d: d.ref,
    )
    count = max(1, round(ctx.scale))
    placed: list[tuple[int, list[tuple[int, str, str | None, int, np.ndarray]]]] = []
    for k in range(count):
        rise = int(rng.integers(8, 17)) * PER_HOUR
        recess = int(rng.integers(18, 37)) * PER_HOUR
        room = n - 2 * PER_HOUR
        if rise + recess > room:  # a short period: a faster flood
            f = room / (rise + recess)
            rise, recess = max(6, int(rise * f)), max(6, int(recess * f))
        length = rise + recess
        choice: tuple[int, int] | None = None
        storm = storms[k] if k < len(storms) else None
        if storm is not None:  # the rise follows the rainstorm in its district
            first = _index(ctx, storm.start) + int(rng.integers(1, 4)) * PER_HOUR
            first = min(first, n - length - PER_HOUR)
            local = [
                si
                for si, st in enumerate(stations)
                if st.district_code == storm.district_code and free(si, first, first + length)
            ]
            if local and first >= PER_HOUR:
                choice = (local[int(rng.integers(len(local)))], first)
        for _attempt in range(400):
            if choice is not None:
                break
            first = int(rng.integers(PER_HOUR, max(PER_HOUR + 1, n - length - PER_HOUR)))
            si = int(rng.integers(len(stations)))
            if free(si, first - 144, first + length + 144):
                choice = (si, first)
        if choice is None:
            raise RuntimeError(f"no room for a river flood in {ctx.days} days; use more days")
        core, first = choice
        shape = _shape(rise, recess)
        add = _tune(stage[core], first, shape, stations[core], "guaranteed")
        if add is None:  # pragma: no cover - the background is far below the levels
            raise RuntimeError("could not shape the river flood")
        plan = [(core, "core", "guaranteed", first, add)]
        busy.setdefault(core, []).append((first - 144, first + length + 144))
        # Edge gauges: same river first (the flood wave travels downstream), then others.
        river = stations[core].attributes["river"]
        others = sorted(
            (si for si in range(len(stations)) if si != core),
            key=lambda si: (stations[si].attributes["river"] != river, rng.random()),
        )
        for target in ("warning", None):
            for si in others:
                lag = int(rng.integers(2, 5)) * PER_HOUR
                start = min(first + lag, n - length - 1)
                if start < 1 or not free(si, start - 144, start + length + 144):
                    continue
                edge_add = _tune(stage[si], start, shape, stations[si], target)
                if edge_add is None:
                    continue
                plan.append((si, "edge", target, start, edge_add))
                busy.setdefault(si, []).append((start - 144, start + length + 144))
                others.remove(si)
                break
        for si, _role, _target, start, a in plan:
            stage[si, start : start + len(a)] += a
            protected.append((si, start - PER_HOUR, start + len(a) + PER_HOUR))
        placed.append((first, plan))
    for k, (_first, plan) in enumerate(sorted(placed, key=lambda p: (p[0], p[1][0][0])), 1):
        event_id = f"RF-{k:03d}"
        for si, role, target, start, a in plan:
            row = _event_row(ctx, stage[si], stations[si], event_id, role, target, start, len(a))
            rows.append(row)
            if role == "core":
                ctx.disruptions.append(
                    Disruption(
                        "river_flood",
                        event_id,
                        stations[si].district_code,
                        _ts(ctx, start - 1),
                        _ts(ctx, start + len(a) - 1),
                        str(row["expected_level"]),
                    )
                )
    rows.sort(key=lambda r: (str(r["event_id"]), str(r["station_id"])))
    return rows, protected


def _event_row(
    ctx: CityContext,
    series: np.ndarray,
    st: Station,
    event_id: str,
    role: str,
    target: str | None,
    first: int,
    length: int,
) -> dict[str, object]:
    seg = series[first : first + length]
    peak = int(np.argmax(seg))
    warning, guaranteed = _cm(st, "warning_level_m"), _cm(st, "guaranteed_level_m")

    def first_above(level: int) -> datetime | None:
        hits = np.flatnonzero(seg > level)
        return _ts(ctx, first + int(hits[0])) if len(hits) else None

    below = None
    if seg.max() > warning:
        after = np.flatnonzero(seg[peak:] <= warning)
        below = _ts(ctx, first + peak + int(after[0])) if len(after) else None
    return {
        "event_id": event_id,
        "station_id": st.station_id,
        "district_code": st.district_code,
        "role": role,
        "target_level": target,
        "expected_level": _level(int(seg.max()), st),
        "warning_level_m": warning / 100,
        "guaranteed_level_m": guaranteed / 100,
        "start": _ts(ctx, first - 1),
        "warning_at": first_above(warning),
        "guaranteed_at": first_above(guaranteed),
        "peak": _ts(ctx, first + peak),
        "peak_stage_m": int(seg.max()) / 100,
        "below_warning_at": below,
        "end": _ts(ctx, first + length - 1),
    }


def run(ctx: CityContext, sources_root: Path) -> SourceResult:
    stations = _stations(ctx)
    n = ctx.days * FEED.per_day
    stage = _background(ctx, stations, n)
    events, protected = _inject(ctx, stations, stage)
    values = {
        "stage_m": stage / 100,
        "warning_level_m": np.repeat(
            [[_cm(s, "warning_level_m") / 100] for s in stations], n, axis=1
        ),
        "guaranteed_level_m": np.repeat(
            [[_cm(s, "guaranteed_level_m") / 100] for s in stations], n, axis=1
        ),
    }
    faults = inject_faults(ctx, FEED, stations, values, protected)
    records, files = write_feed(ctx, sources_root, FEED, stations, values, faults)
    truth = {
        "sensor_stations": station_rows(FEED, stations),
        "river_events": events,
        "sensor_feed_faults": faults.rows,
    }
    return SourceResult(SOURCE_ID, records, files, truth)
