"""What the station sensor feeds share: stations, sensor faults and NDJSON delivery.

Each feed module (river stage, weather, air quality, manhole tilt, traffic counters)
builds its true series as arrays of shape (stations, intervals), already rounded to the
precision the station reports, injects its events, and then:

1. :func:`inject_faults` damages the arrays and the delivery the way field sensors do,
   at low rates (about one of each kind per :data:`STATION_DAYS_PER_FAULT` station-days),
   and returns one truth row per fault:

   - ``dropout``: the readings ``ts_from``..``ts_to`` never arrive;
   - ``stuck``: one measurement repeats its last good value for a while;
   - ``spike``: one value far beyond physics (the catalog's min/max), which landing
     validation must quarantine; spikes are the only out-of-range values delivered;
   - ``clock_skew``: the station's clock runs ``skew_minutes`` off, so ``ts`` of the
     readings ``ts_from``..``ts_to`` (true times) is shifted off the interval grid;
   - ``duplicate``: one message delivered twice (the copy a few lines later);
   - ``out_of_order``: one message written after the readings of later intervals.

   The first four change what a reader sees at those readings, so they are kept out of
   the windows the feed declares protected (its injected events), as the rain gauges
   keep dropouts out of storms: an event's expected level, recomputed from the
   delivered lines, is then exactly what its truth row says.
2. :func:`write_feed` serializes the messages in arrival order, one JSON object per
   line (``station_id``, ``district_code``, ``ts``, then the measurements), into one
   NDJSON file per day under ``sources_root/sensors/<feed>/<prefix>_YYYY-MM-DD.ndjson``:
   the embedded fallback of the MQTT stream ``sensors/<feed>/+``. Faults stay inside
   their day's file.

Index ``i`` of a series is the interval ending at ``start 00:00 + step × i`` (as for
the rain gauges), so a day's file holds ts 00:00 … 23:55 (5-minute feeds) or
00:00 … 23:00 (hourly feeds), ISO 8601 with ``+08:00``.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from citylake.democity.context import CST, CityContext
from citylake.democity.deliver import clear_drop
from citylake.democity.geography import Street

SENSORS_DIR = Path("sensors")
STATION_DAYS_PER_FAULT = 150  # per fault kind: ~1 dropout, 1 stuck run, ... per 150 station-days
FAULT_KINDS = ("dropout", "stuck", "spike", "clock_skew", "duplicate", "out_of_order")
VALUE_FAULTS = frozenset({"dropout", "stuck", "spike", "clock_skew"})
# Run lengths in hours (converted to intervals per feed); single-message faults are 1 reading.
_RUN_HOURS = {"dropout": (1, 6), "stuck": (3, 12), "clock_skew": (2, 10)}


@dataclass
class Station:
    station_id: str
    name: str
    district_code: str
    street_code: str
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Measure:
    """One field of the message after ``ts``; ``lo``/``hi`` are the catalog's physical range."""

    name: str
    kind: str  # double | integer | boolean | string (as in the catalog)
    decimals: int = 0
    lo: float | None = None
    hi: float | None = None
    spike: bool = False  # may carry a spike
    stuck: bool = False  # may get stuck


@dataclass(frozen=True)
class Feed:
    source_id: str
    folder: str  # sensors/<folder>, also the MQTT topic's middle level
    prefix: str  # file name prefix
    step_minutes: int
    fault_tag: str  # fault ids are "<tag>-F0001"
    measures: tuple[Measure, ...]

    @property
    def per_day(self) -> int:
        return 1440 // self.step_minutes

    @property
    def per_hour(self) -> int:
        return 60 // self.step_minutes

    def ts(self, ctx: CityContext, i: int) -> datetime:
        start = datetime.combine(ctx.start, datetime.min.time(), CST)
        return start + timedelta(minutes=self.step_minutes * i)

    def file_name(self, day: date) -> str:
        return f"{self.prefix}_{day.isoformat()}.ndjson"

    def measure(self, name: str) -> Measure:
        return next(m for m in self.measures if m.name == name)


def place_stations(
    ctx: CityContext,
    stream: str,
    count: int,
    make: Callable[[int, str, Street], Station],
) -> list[Station]:
    """``count`` stations, districts round robin (every district covered), a random street each.

    ``make(i, district_code, street)`` builds station ``i`` (0-based).
    """
    geo = ctx.need_geography()
    rng = ctx.rng(stream)
    out = []
    for i in range(count):
        district = geo.districts[i % len(geo.districts)]
        street = rng.choice(geo.streets_of(district.code))
        out.append(make(i, district.code, street))
    return out


def station_count(ctx: CityContext, base: int, floor: int | None = None) -> int:
    """``base`` stations at scale 1, never fewer than one per district."""
    districts = len(ctx.need_geography().districts)
    return min(999, max(floor or districts, districts, round(base * ctx.scale)))


def station_rows(feed: Feed, stations: Sequence[Station]) -> list[dict[str, object]]:
    """The ``sensor_stations`` truth rows (feed-specific attributes as sorted JSON)."""
    return [
        {
            "source_id": feed.source_id,
            "station_id": s.station_id,
            "name": s.name,
            "district_code": s.district_code,
            "street_code": s.street_code,
            "attributes": json.dumps(s.attributes, ensure_ascii=False, sort_keys=True),
        }
        for s in stations
    ]


def round_to(values: np.ndarray, decimals: int) -> np.ndarray:
    """Round to the reported precision (``+ 0.0`` turns -0.0 into 0.0)."""
    return np.round(values, decimals) + 0.0


# --------------------------------------------------------------------------- faults


@dataclass
class Faults:
    dropped: set[tuple[int, int]] = field(default_factory=set)
    duplicate: dict[tuple[int, int], int] = field(default_factory=dict)  # -> lines later
    late: dict[tuple[int, int], int] = field(default_factory=dict)  # -> intervals later
    skew: dict[tuple[int, int], int] = field(default_factory=dict)  # -> minutes
    rows: list[dict[str, object]] = field(default_factory=list)


def fault_count(n_stations: int, days: int) -> int:
    return max(1, round(n_stations * days / STATION_DAYS_PER_FAULT))


def _scalar(measure: Measure, value: Any) -> float | None:
    if measure.kind in ("double", "integer"):
        return float(value)
    return None


def _spike_value(rng: random.Random, measure: Measure) -> float:
    lo, hi = float(measure.lo or 0.0), float(measure.hi or 0.0)
    width = hi - lo
    if rng.random() < 0.75:
        value = hi + width * rng.uniform(0.25, 2.0)
    else:
        value = lo - width * rng.uniform(0.1, 1.0)
    return round(value, measure.decimals) if measure.decimals else float(round(value))


def inject_faults(
    ctx: CityContext,
    feed: Feed,
    stations: Sequence[Station],
    values: Mapping[str, np.ndarray],
    protected: Sequence[tuple[int, int, int]] = (),
) -> Faults:
    """Damage ``values`` in place (stuck, spike) and plan the delivery faults.

    ``protected`` holds (station index, first interval, last interval) windows where the
    value faults must not fall (the feed's injected events).
    """
    rng = ctx.rng(f"{feed.source_id}_faults")
    n_st = len(stations)
    ph, pd_ = feed.per_hour, feed.per_day
    count = fault_count(n_st, ctx.days)
    used: dict[int, list[tuple[int, int]]] = {}
    guard: dict[int, list[tuple[int, int]]] = {}
    for si, lo, hi in protected:
        guard.setdefault(si, []).append((lo, hi))
    out = Faults()
    spiky = [m for m in feed.measures if m.spike]
    sticky = [m for m in feed.measures if m.stuck]
    skews = [m * sign for m in range(2, 10) if m % feed.step_minutes for sign in (1, -1)]

    def clear(windows: dict[int, list[tuple[int, int]]], si: int, a: int, b: int) -> bool:
        return all(b < x or a > y for x, y in windows.get(si, []))

    for kind in FAULT_KINDS:
        if (kind == "spike" and not spiky) or (kind == "stuck" and not sticky):
            continue
        for _ in range(count):
            lo_h, hi_h = _RUN_HOURS.get(kind, (0, 0))
            length = rng.randint(lo_h * ph, hi_h * ph) if lo_h else 1
            later = rng.randint(2, 6) if kind == "out_of_order" else 0
            lines_later = rng.randint(1, 3) * n_st if kind == "duplicate" else 0
            tail = ph + later + lines_later // n_st + 1
            if n_st == 0 or pd_ - length - ph - tail <= 0:
                continue
            for _attempt in range(500):
                si = rng.randrange(n_st)
                day = rng.randrange(ctx.days)
                i = day * pd_ + rng.randrange(ph, pd_ - length - tail + 1)
                a, b = i - 1, i + length  # one interval of padding either side
                if not clear(used, si, a, b):
                    continue
                if kind in VALUE_FAULTS and not clear(guard, si, a - ph, b + ph):
                    continue
                break
            else:
                continue  # no room (short period, events everywhere): leave this fault out
            used.setdefault(si, []).append((a, b))
            measure: Measure | None = None
            true_value = delivered = None
            skew_minutes = None
            if kind == "dropout":
                out.dropped |= {(si, j) for j in range(i, i + length)}
                detail = f"{length} reading(s) missing"
            elif kind == "stuck":
                measure = sticky[rng.randrange(len(sticky))]
                arr = values[measure.name]
                true_value = _scalar(measure, arr[si, i])
                arr[si, i : i + length] = arr[si, i - 1]
                delivered = _scalar(measure, arr[si, i - 1])
                detail = f"{measure.name} repeats its last good value for {length} reading(s)"
            elif kind == "spike":
                measure = spiky[rng.randrange(len(spiky))]
                arr = values[measure.name]
                true_value = _scalar(measure, arr[si, i])
                delivered = _spike_value(rng, measure)
                arr[si, i] = delivered
                detail = f"{measure.name} beyond its physical range [{measure.lo}, {measure.hi}]"
            elif kind == "clock_skew":
                skew_minutes = skews[rng.randrange(len(skews))]
                for j in range(i, i + length):
                    out.skew[si, j] = skew_minutes
                detail = f"ts of {length} reading(s) shifted {skew_minutes:+d} minutes"
            elif kind == "duplicate":
                out.duplicate[si, i] = lines_later
                detail = f"message delivered twice, the copy {lines_later} lines later"
            else:
                out.late[si, i] = later
                detail = f"written after the readings of the next {later} intervals"
            out.rows.append(
                {
                    "source_id": feed.source_id,
                    "kind": kind,
                    "station_id": stations[si].station_id,
                    "field": measure.name if measure else None,
                    "ts_from": feed.ts(ctx, i),
                    "ts_to": feed.ts(ctx, i + length - 1),
                    "file": feed.file_name(feed.ts(ctx, i).date()),
                    "true_value": true_value,
                    "delivered_value": delivered,
                    "skew_minutes": skew_minutes,
                    "detail": detail,
                }
            )
    out.rows.sort(key=lambda r: (str(r["ts_from"]), str(r["station_id"]), str(r["kind"])))
    for k, row in enumerate(out.rows, 1):
        row["fault_id"] = f"{feed.fault_tag}-F{k:04d}"
    return out


# --------------------------------------------------------------------------- delivery


def _formatter(measure: Measure) -> Callable[[Any], str]:
    if measure.kind == "double":
        spec = f".{measure.decimals}f"
        return lambda v: format(v, spec)
    if measure.kind == "integer":
        return lambda v: str(int(v))
    if measure.kind == "boolean":
        return lambda v: "true" if v else "false"
    return lambda v: "null" if v is None else json.dumps(v, ensure_ascii=False)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_feed(
    ctx: CityContext,
    sources_root: Path,
    feed: Feed,
    stations: Sequence[Station],
    values: Mapping[str, np.ndarray],
    faults: Faults,
) -> tuple[int, list[Path]]:
    """Serialize every message in arrival order, one NDJSON file per day; (lines, files)."""
    n_st = len(stations)
    stamps = [feed.ts(ctx, i) for i in range(ctx.days * feed.per_day)]
    ts_text = [t.isoformat() for t in stamps]
    heads = [
        f'{{"station_id": "{s.station_id}", "district_code": "{s.district_code}", "ts": "'
        for s in stations
    ]
    columns = [(f', "{m.name}": ', _formatter(m), values[m.name].tolist()) for m in feed.measures]
    skew = faults.skew

    def line(si: int, i: int) -> str:
        ts = ts_text[i]
        if (si, i) in skew:
            ts = (stamps[i] + timedelta(minutes=skew[si, i])).isoformat()
        parts = [heads[si], ts, '"']
        for key, fmt, rows in columns:
            parts.append(key)
            parts.append(fmt(rows[si][i]))
        parts.append("}\n")
        return "".join(parts)

    folder = sources_root / SENSORS_DIR / feed.folder
    folder.mkdir(parents=True, exist_ok=True)
    clear_drop(folder, f"{feed.prefix}_*.ndjson")
    records, files = 0, []
    for day in range(ctx.days):
        first = day * feed.per_day
        order = [
            (si, i)
            for i in range(first, first + feed.per_day)
            for si in range(n_st)
            if (si, i) not in faults.dropped
        ]
        for key, later in sorted(faults.late.items()):
            if key[1] // feed.per_day == day:
                pos = order.index(key)
                order.insert(min(len(order), pos + later * n_st), order.pop(pos))
        for key, lines_later in sorted(faults.duplicate.items()):
            if key[1] // feed.per_day == day:
                order.insert(min(len(order), order.index(key) + lines_later + 1), key)
        text = "".join(line(si, i) for si, i in order)
        records += len(order)
        path = folder / feed.file_name(ctx.start + timedelta(days=day))
        _write_atomic(path, text.encode("utf-8"))
        files.append(path)
    return records, files
