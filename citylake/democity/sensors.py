"""Rain gauges: 5-minute rainfall per station (source ``rain_gauge``).

The weather is mostly dry with light showers, too light to ever reach a warning
(a shower is capped at 17 mm at a gauge, at most one a day, so 12 h hold < 50 mm).
On top of it we inject rainstorms shaped to reach exactly one target warning level of
the BRIEF at their core gauge(s): blue 50 mm/12 h, yellow 50 mm/6 h, orange 50 mm/3 h,
red 100 mm/3 h. Neighbouring gauges get a weaker copy. The level a gauge actually
reached is recomputed from the delivered series and kept at least a small margin
away from every threshold, so float rounding in a reader can never flip it.

All rain is kept in integer tenths of a mm (gauges tip at 0.1 mm) so sums are exact.
Index ``i`` of the series is the interval ending at ``start 00:00 + 5 min × i``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

from citylake.democity.context import CST, CityContext, Disruption, SourceResult
from citylake.democity.deliver import deliver_rain, rain_line

SOURCE_ID = "rain_gauge"
PER_DAY = 288
BASE_STATIONS = 10
LEVELS = ("blue", "yellow", "orange", "red")
# (level, window in 5-min intervals, threshold in tenths of a mm), checked highest first.
THRESHOLDS = (("red", 36, 1000), ("orange", 36, 500), ("yellow", 72, 500), ("blue", 144, 500))
CORE_MARGIN, EDGE_MARGIN = 30, 5  # tenths of a mm away from any threshold
# Per target level: duration range (intervals), core total range (mm), plateau-shaped?
_DESIGN = {
    "blue": ((126, 144), (60, 72), True),
    "yellow": ((60, 72), (58, 68), True),
    "orange": ((24, 33), (64, 82), False),
    "red": ((27, 34), (118, 140), False),
}
_EXTRA_LEVEL_WEIGHTS = (0.35, 0.3, 0.2, 0.15)
SHOWER_DAY_PROB = 0.2


@dataclass(frozen=True)
class Station:
    station_id: str
    name: str
    district_code: str
    street_code: str


def _stations(ctx: CityContext) -> list[Station]:
    geo = ctx.need_geography()
    rng = ctx.rng("rain_stations")
    # At least one gauge per district: warnings are issued by district.
    n = min(999, max(len(geo.districts), round(BASE_STATIONS * ctx.scale)))
    out = []
    for i in range(n):
        district = geo.districts[i % len(geo.districts)]  # round robin: every district covered
        street = rng.choice(geo.streets_of(district.code))
        name = f"{street.name.removesuffix('街道')}{i + 1}号雨量站"
        out.append(Station(f"RG-{i + 1:03d}", name, district.code, street.code))
    return out


def _background(ctx: CityContext, n_stations: int, n: int) -> np.ndarray:
    rng = ctx.np_rng("rain_background")
    rain = np.zeros((n_stations, n), dtype=np.int64)
    for day in range(ctx.days):
        if rng.random() >= SHOWER_DAY_PROB:
            continue
        dur = int(rng.integers(6, 37))
        first = day * PER_DAY + int(rng.integers(0, PER_DAY - dur))
        total = min(120.0, rng.lognormal(math.log(35), 0.6))  # tenths, city-wide
        shape = np.bartlett(dur + 2)[1:-1]
        factor = rng.uniform(0, 1.4, size=n_stations)
        factor[factor < 0.2] = 0.0  # the shower misses some gauges
        rain[:, first : first + dur] += np.rint(
            np.outer(factor * total, shape / shape.sum())
        ).astype(np.int64)
    drizzle = rng.random((n_stations, n)) < 0.0015
    rain += drizzle * rng.integers(1, 3, size=(n_stations, n))
    return rain


def _window_max(series: np.ndarray) -> dict[int, np.ndarray]:
    """Rolling sums ending at each index for the 3 h, 6 h and 12 h windows."""
    cs = np.concatenate(([0], np.cumsum(series)))
    idx = np.arange(1, len(cs))
    return {w: cs[idx] - cs[np.maximum(idx - w, 0)] for w in (36, 72, 144)}


def _level(sums: dict[int, np.ndarray]) -> tuple[str | None, int]:
    """Highest level reached and the distance (tenths) of the closest maximum to a threshold."""
    maxima = {w: int(s.max()) for w, s in sums.items()}
    margin = min(abs(maxima[w] - thr) for _, w, thr in THRESHOLDS)
    for name, w, thr in THRESHOLDS:
        if maxima[w] >= thr:
            return name, margin
    return None, margin


def _shape(rng: np.random.Generator, dur: int, plateau: bool) -> np.ndarray:
    x = np.linspace(0, 1, dur)
    if plateau:  # ramp up, a long steady middle, ramp down
        base = np.clip(np.minimum(x / 0.25, (1 - x) / 0.25), 0.05, 1.0)
    else:  # convective: sharp rise to an early peak, slower decay
        peak = rng.uniform(0.3, 0.45)
        base = np.where(x < peak, x / peak, ((1 - x) / (1 - peak)) ** 1.5) + 0.03
    w = base * rng.lognormal(0, 0.3, size=dur)
    return w / w.sum()


def _tune(
    bg: np.ndarray, lo: int, contrib: np.ndarray, target: str | None, margin: int
) -> tuple[np.ndarray, str | None] | None:
    """Scale ``contrib`` (float tenths starting at ``lo``) until the level is right and clear."""
    ctx_lo, ctx_hi = max(0, lo - 144), min(len(bg), lo + len(contrib) + 144)
    for step in range(40):
        f = 1.0 + (step + 1) // 2 * 0.02 * (1 if step % 2 else -1)  # 1, .98, 1.02, .96, ...
        if target is None:
            f = 0.97**step  # edge gauge: any level, only nudge away from thresholds
        add = np.rint(contrib * f).astype(np.int64)
        series = bg[ctx_lo:ctx_hi].copy()
        series[lo - ctx_lo : lo - ctx_lo + len(add)] += add
        level, gap = _level(_window_max(series))
        if gap >= margin and (target is None or level == target) and add.max() <= 800:
            return add, level
    return None


def _ts(ctx: CityContext, i: int) -> datetime:
    return datetime.combine(ctx.start, datetime.min.time(), CST) + timedelta(minutes=5 * i)


# (station index, role, target level, (rain added in tenths, level reached))
_Placement = tuple[int, str, str | None, tuple[np.ndarray, str | None]]


def _inject_events(
    ctx: CityContext, stations: list[Station], rain: np.ndarray
) -> list[dict[str, object]]:
    rng = ctx.np_rng("rain_events")
    n = rain.shape[1]
    rounds = math.ceil(ctx.scale)
    targets = [lv for _ in range(rounds) for lv in LEVELS]
    targets += [
        LEVELS[int(rng.choice(4, p=_EXTRA_LEVEL_WEIGHTS))] for _ in range(rounds * (ctx.days // 14))
    ]
    by_district: dict[str, list[int]] = {}
    for si, st in enumerate(stations):
        by_district.setdefault(st.district_code, []).append(si)
    districts = sorted(by_district)
    busy: dict[int, list[tuple[int, int]]] = {}
    rows: list[dict[str, object]] = []

    def free(si: int, a: int, b: int) -> bool:
        return all(b <= x or a >= y for x, y in busy.get(si, []))

    placed: list[tuple[int, int, str, list[_Placement], np.ndarray]] = []
    for target in targets:
        (lo_dur, hi_dur), (lo_mm, hi_mm), plateau = _DESIGN[target]
        for _attempt in range(400):
            dur = int(rng.integers(lo_dur, hi_dur + 1))
            edge = 72 if n > dur + 2 * 72 + 1 else 0  # keep 6 h of history before the storm
            first = int(rng.integers(edge, max(edge + 1, n - dur - edge)))
            span = (first - 144, first + dur + 144)  # 12 h either side stays this storm's
            members = by_district[districts[int(rng.integers(len(districts)))]]
            core = [si for si in members if free(si, *span)]
            if not core or first + dur > n:
                continue
            core = [core[int(rng.integers(len(core)))]]
            contrib = _shape(rng, dur, plateau) * rng.uniform(lo_mm, hi_mm) * 10
            tuned = _tune(rain[core[0]], first, contrib, target, CORE_MARGIN)
            if tuned is not None:
                break
        else:
            raise RuntimeError(
                f"no room for a {target} rainstorm in {ctx.days} days; use more days"
            )
        rain[core[0], first : first + dur] += tuned[0]
        busy.setdefault(core[0], []).append(span)
        placed.append((first, dur, target, [(core[0], "core", target, tuned)], contrib))
    # Second pass: weaker copies at neighbouring gauges that are still free, so edges
    # never take the room a later storm's core gauge needs in a short period.
    for first, dur, _target, plan, contrib in placed:
        span = (first - 144, first + dur + 144)
        core_si = plan[0][0]
        others = [si for si in range(len(stations)) if si != core_si and free(si, *span)]
        near = [
            si for si in others if stations[si].district_code == stations[core_si].district_code
        ]
        far = [si for si in others if si not in near]
        if far:
            near.append(far[int(rng.integers(len(far)))])  # storms cross district borders
        for si in near:
            edge_tuned = _tune(rain[si], first, contrib * rng.uniform(0.25, 0.7), None, EDGE_MARGIN)
            if edge_tuned is not None:
                plan.append((si, "edge", None, edge_tuned))
                rain[si, first : first + dur] += edge_tuned[0]
                busy.setdefault(si, []).append(span)
    # Number the storms in time order (placement order is by target level).
    for k, (first, dur, target, plan, _contrib) in enumerate(
        sorted(placed, key=lambda p: (p[0], p[3][0][0])), 1
    ):
        event_id = f"RS-{k:03d}"
        for si, role, _tgt, (add, level) in sorted(plan, key=lambda p: p[0]):
            rows.append(
                _event_row(
                    ctx, rain[si], event_id, stations[si], role, target, level, first, dur, add
                )
            )
            if role == "core" and level in ("orange", "red"):
                ctx.disruptions.append(
                    Disruption(
                        "rainstorm",
                        event_id,
                        stations[si].district_code,
                        _ts(ctx, first),
                        _ts(ctx, first + dur),
                        level,
                    )
                )
    return rows


def _event_row(
    ctx: CityContext,
    series: np.ndarray,
    event_id: str,
    st: Station,
    role: str,
    target: str,
    level: str | None,
    first: int,
    dur: int,
    add: np.ndarray,
) -> dict[str, object]:
    lo, hi = max(0, first - 144), min(len(series), first + dur + 144)
    sums = _window_max(series[lo:hi])
    crossed: dict[str, object] = {}
    for name, w, thr in THRESHOLDS:
        hits = np.flatnonzero(sums[w] >= thr)
        crossed[f"{name}_at"] = _ts(ctx, lo + int(hits[0])) if len(hits) else None
    return {
        "event_id": event_id,
        "station_id": st.station_id,
        "district_code": st.district_code,
        "role": role,
        "target_level": target,
        "expected_level": level,
        "start": _ts(ctx, first - 1),
        "peak": _ts(ctx, first + int(np.argmax(add))),
        "end": _ts(ctx, first + dur - 1),
        "total_mm": int(add.sum()) / 10,
        "max_3h_mm": int(sums[36].max()) / 10,
        "max_6h_mm": int(sums[72].max()) / 10,
        "max_12h_mm": int(sums[144].max()) / 10,
        **crossed,
    }


def _fault_row(
    ctx: CityContext, number: int, kind: str, station: Station, i: int, length: int, detail: str
) -> dict[str, object]:
    """The truth's record of one planted fault: readings ``i`` .. ``i + length - 1``."""
    return {
        "fault_id": f"SF-{number:03d}",
        "kind": kind,
        "station_id": station.station_id,
        "ts_from": _ts(ctx, i),
        "ts_to": _ts(ctx, i + length - 1),
        "file": f"rain_{_ts(ctx, i).date().isoformat()}.ndjson",
        "detail": detail,
    }


def _faults(
    ctx: CityContext, stations: list[Station], busy_rows: list[dict[str, object]]
) -> tuple[
    set[tuple[int, int]],
    dict[tuple[int, int], int],
    dict[tuple[int, int], int],
    list[dict[str, object]],
]:
    """Dropouts (away from storms), duplicated messages and late (out-of-order) messages."""
    rng = ctx.rng("rain_faults")
    storms = {(str(r["station_id"]), r["start"], r["end"]) for r in busy_rows}
    count = math.ceil(ctx.scale)
    dropped: set[tuple[int, int]] = set()
    duplicate: dict[tuple[int, int], int] = {}  # (station, i) -> lines later the copy appears
    late: dict[tuple[int, int], int] = {}  # (station, i) -> intervals later it is written
    rows: list[dict[str, object]] = []
    for kind in ("dropout", "duplicate", "out_of_order"):
        for _ in range(count):
            for _attempt in range(2000):
                si = rng.randrange(len(stations))
                day = rng.randrange(ctx.days)
                i = day * PER_DAY + rng.randrange(12, PER_DAY - 40)
                length = rng.randint(12, 36) if kind == "dropout" else 1
                a, b = _ts(ctx, i - 144), _ts(ctx, i + length + 144)
                # Only a gap could change a storm's window sums; copies and late lines cannot.
                clash = kind == "dropout" and any(
                    s == stations[si].station_id and not (b <= t0 or a >= t1)
                    for s, t0, t1 in storms
                )
                keys = {(si, j) for j in range(i, i + length)}
                if not clash and not keys & (dropped | set(duplicate) | set(late)):
                    break
            else:
                continue  # a short period stormy at every gauge: leave this fault out
            detail = ""
            if kind == "dropout":
                dropped |= keys
                detail = f"{length} readings missing"
            elif kind == "duplicate":
                duplicate[si, i] = rng.randint(1, 5) * len(stations)
                detail = "message delivered twice"
            else:
                late[si, i] = rng.randint(3, 12)
                detail = f"written after the readings of the next {late[si, i]} intervals"
            rows.append(_fault_row(ctx, len(rows) + 1, kind, stations[si], i, length, detail))
    return dropped, duplicate, late, rows


# A stuck logger repeats a non-zero reading (tenths of a mm) for three hours; a phantom
# burst is heavy rain at one gauge that no other gauge sees. Either would reach a warning
# level if counted: the warnings' quality control must catch them.
STUCK_TENTHS, STUCK_STEPS = (15, 25), 36
PHANTOM_TENTHS, PHANTOM_STEPS = (50, 90), 9


def _gauge_faults(
    ctx: CityContext, stations: list[Station], rain: np.ndarray, first_id: int
) -> list[dict[str, object]]:
    """Stuck and phantom-burst faults written into ``rain``, on days dry at every gauge."""
    rng = ctx.rng("rain_gauge_faults")
    rows: list[dict[str, object]] = []
    for kind in ("stuck", "phantom_burst"):
        for _ in range(math.ceil(ctx.scale)):
            length = STUCK_STEPS if kind == "stuck" else PHANTOM_STEPS
            for _attempt in range(2000):
                si = rng.randrange(len(stations))
                i = rng.randrange(144, rain.shape[1] - length - 144)
                # Dry everywhere from 6 h before to 6 h after (no storm, no shower).
                if int(rain[:, i - 72 : i + length + 72].sum()) <= 2 * len(stations):
                    break
            else:
                continue
            if kind == "stuck":
                value = rng.randint(*STUCK_TENTHS)
                rain[si, i : i + length] = value
                detail = f"rain_mm repeats {value / 10} for {length} readings"
            else:
                burst = [rng.randint(*PHANTOM_TENTHS) for _ in range(length)]
                rain[si, i : i + length] = burst
                detail = f"{sum(burst) / 10} mm in {length * 5} minutes that no other gauge saw"
            rows.append(
                _fault_row(ctx, first_id + len(rows), kind, stations[si], i, length, detail)
            )
    return rows


def run(ctx: CityContext, sources_root: Path) -> SourceResult:
    stations = _stations(ctx)
    n = ctx.days * PER_DAY
    rain = _background(ctx, len(stations), n)
    events = _inject_events(ctx, stations, rain)
    dropped, duplicate, late, fault_rows = _faults(ctx, stations, events)
    fault_rows += _gauge_faults(ctx, stations, rain, len(fault_rows) + 1)
    values = rain.tolist()
    ts = [_ts(ctx, i).isoformat() for i in range(n)]
    by_day: dict[date, list[str]] = {}
    records = 0
    for day in range(ctx.days):
        first = day * PER_DAY
        order = [
            (s, i)
            for i in range(first, first + PER_DAY)
            for s in range(len(stations))
            if (s, i) not in dropped
        ]
        for key, later in sorted(late.items()):
            if key[1] // PER_DAY == day:  # faults stay inside their day's file
                pos = order.index(key)
                order.insert(min(len(order), pos + later * len(stations)), order.pop(pos))
        for key, later in sorted(duplicate.items()):
            if key[1] // PER_DAY == day:
                order.insert(min(len(order), order.index(key) + later), key)
        lines = [
            rain_line(stations[s].station_id, stations[s].district_code, ts[i], values[s][i])
            for s, i in order
        ]
        records += len(lines)
        by_day[ctx.start + timedelta(days=day)] = lines
    files = deliver_rain(sources_root, by_day)
    truth = {
        "rain_stations": [
            {
                "station_id": s.station_id,
                "name": s.name,
                "district_code": s.district_code,
                "street_code": s.street_code,
            }
            for s in stations
        ],
        "rain_events": events,
        "sensor_faults": fault_rows,
    }
    return SourceResult(SOURCE_ID, records, files, truth)
