"""The station sensor feeds (river, weather, air, manhole, traffic): delivery, events, faults.

Only the rain gauges (whose storms the river and manhole feeds follow) and the five feeds
run, on a small city (scale 0.5) over twelve days that include the start of the 2026
National Day holiday, so these tests stay fast and independent of the other sources.
Every injected event is re-derived here from the delivered NDJSON lines, not from the
generator's arrays.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from citylake.catalog import MqttConnector, Source, default_catalog
from citylake.democity import (
    sensors,
    sensors_air,
    sensors_manhole,
    sensors_river,
    sensors_traffic,
    sensors_weather,
    truth,
)
from citylake.democity.context import CityContext
from citylake.democity.geography import build_geography
from citylake.democity.sensor_common import FAULT_KINDS, Feed

START, DAYS, SCALE, SEED = date(2026, 9, 24), 12, 0.5, 5
FEEDS: tuple[ModuleType, ...] = (
    sensors_river,
    sensors_weather,
    sensors_air,
    sensors_manhole,
    sensors_traffic,
)
DEPARTMENTS = {
    "river_stage": "water_resources",
    "weather_station": "meteorology",
    "air_quality": "ecology_environment",
    "manhole_tilt": "urban_management",
    "traffic_counter": "transport",
}
TRUTH_TABLES = (
    "sensor_stations",
    "river_events",
    "heat_events",
    "air_episodes",
    "manhole_events",
    "sensor_feed_faults",
)


def build(root: Path, *, days: int = DAYS, scale: float = SCALE) -> dict[str, int]:
    ctx = CityContext(seed=SEED, start=START, days=days, scale=scale)
    ctx.geography = build_geography()
    tables: dict[str, list[dict[str, object]]] = {}
    records = {}
    for module in (sensors, *FEEDS):
        result = module.run(ctx, root / "sources")
        records[module.SOURCE_ID] = result.records
        for name, rows in result.truth.items():
            tables.setdefault(name, []).extend(rows)
    truth.write_truth(root / "truth", tables)  # rows must fit the declared truth schemas
    return records


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("feeds")
    build(root / "a")
    build(root / "b")
    return {"sources": root / "a" / "sources", "truth": root / "a" / "truth", "root": root}


def table(city: dict[str, Path], name: str) -> pd.DataFrame:
    return truth.read_truth(city["truth"], name).to_pandas()


def folder(city: dict[str, Path], feed: Feed) -> Path:
    return city["sources"] / "sensors" / feed.folder


def lines(city: dict[str, Path], feed: Feed) -> list[tuple[str, dict]]:
    """(file name, record) for every delivered line, in file and line order."""
    out = []
    for path in sorted(folder(city, feed).glob(f"{feed.prefix}_*.ndjson")):
        out += [(path.name, json.loads(text)) for text in path.read_text("utf-8").splitlines()]
    return out


def faults(city: dict[str, Path], feed: Feed) -> pd.DataFrame:
    df = table(city, "sensor_feed_faults")
    return df[df["source_id"] == feed.source_id]


def spikes(city: dict[str, Path], feed: Feed) -> set[tuple[str, str, str]]:
    f = faults(city, feed)
    f = f[f["kind"] == "spike"]
    return {(r.station_id, r.ts_from.isoformat(), r.field) for r in f.itertuples()}


def series(city: dict[str, Path], feed: Feed, field: str) -> dict[str, dict[datetime, float]]:
    """station -> ts -> value, spikes (listed in truth) left out, duplicates collapsed."""
    bad = spikes(city, feed)
    out: dict[str, dict[datetime, float]] = defaultdict(dict)
    for _, r in lines(city, feed):
        if (r["station_id"], r["ts"], field) not in bad:
            out[r["station_id"]][datetime.fromisoformat(r["ts"])] = r[field]
    return out


def test_same_arguments_give_byte_identical_feeds(city: dict[str, Path]) -> None:
    def tree(base: Path) -> dict[str, bytes]:
        return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*.*"))}

    a, b = tree(city["root"] / "a"), tree(city["root"] / "b")
    assert a.keys() == b.keys()
    assert [name for name in a if a[name] != b[name]] == []
    for module in FEEDS:
        assert len(list(folder(city, module.FEED).iterdir())) == DAYS
    assert {f"{t}.parquet" for t in TRUTH_TABLES} <= {p.name for p in city["truth"].iterdir()}


def test_catalog_declares_every_feed_as_an_mqtt_stream() -> None:
    catalog = default_catalog()
    rain = catalog["rain_gauge"].connector
    assert isinstance(rain, MqttConnector) and rain.topic == "sensors/rain_gauge/+"
    assert (rain.fallback_path, rain.pattern) == ("sensors/rain_gauge", "rain_*.ndjson")
    for module in FEEDS:
        feed: Feed = module.FEED
        source = catalog[feed.source_id]
        assert source.kind == "sensor" and source.department == DEPARTMENTS[source.id]
        assert source.primary_key == ["station_id", "ts"] and source.share.kind == "unconditional"
        c = source.connector
        assert isinstance(c, MqttConnector)
        assert (c.topic, c.qos) == (f"sensors/{feed.folder}/+", 1)
        assert (c.fallback_path, c.pattern) == (f"sensors/{feed.folder}", f"{feed.prefix}_*.ndjson")
        names = [f.name for f in source.fields]
        assert names == ["station_id", "district_code", "ts", *(m.name for m in feed.measures)]
        for m in feed.measures:  # the generator's spikes are beyond the declared range
            declared = source.field(m.name)
            assert declared.type.value == m.kind
            if m.lo is not None:
                assert (declared.min, declared.max) == (m.lo, m.hi)


def _violations(source: Source, record: dict) -> list[str]:
    bad = []
    for f in source.fields:
        v = record.get(f.name)
        if v is None:
            if not f.nullable:
                bad.append(f.name)
            continue
        kind = f.type.value
        ok = {
            "string": isinstance(v, str),
            "integer": isinstance(v, int) and not isinstance(v, bool),
            "double": isinstance(v, int | float) and not isinstance(v, bool),
            "boolean": isinstance(v, bool),
            "timestamp": isinstance(v, str)
            and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", v) is not None,
        }[kind]
        if ok and f.min is not None and not f.min <= v <= f.max:  # type: ignore[operator]
            ok = False
        if ok and f.regex and not re.search(f.regex, v):
            ok = False
        if not ok:
            bad.append(f.name)
    return bad


@pytest.mark.parametrize("module", FEEDS, ids=lambda m: m.SOURCE_ID)
def test_every_line_validates_except_the_injected_spikes(
    city: dict[str, Path], module: ModuleType
) -> None:
    feed: Feed = module.FEED
    source = default_catalog()[feed.source_id]
    stations = table(city, "sensor_stations")
    stations = stations[stations["source_id"] == feed.source_id].set_index("station_id")
    geography = {s.code: s.district_code for s in build_geography().streets}
    assert (stations["street_code"].map(geography) == stations["district_code"]).all()
    failed = set()
    delivered = lines(city, feed)
    for name, record in delivered:
        assert list(record) == [f.name for f in source.fields]
        assert name == f"{feed.prefix}_{record['ts'][:10]}.ndjson"
        assert stations.loc[record["station_id"], "district_code"] == record["district_code"]
        failed |= {(record["station_id"], record["ts"], f) for f in _violations(source, record)}
    assert failed == spikes(city, feed) and failed
    assert len(delivered) > len(stations) * DAYS * feed.per_day * 0.97


@pytest.mark.parametrize("module", FEEDS, ids=lambda m: m.SOURCE_ID)
def test_faults_are_in_the_files_as_recorded(city: dict[str, Path], module: ModuleType) -> None:
    feed: Feed = module.FEED
    recorded = faults(city, feed)
    assert set(recorded["kind"]) == set(FAULT_KINDS)
    assert recorded["fault_id"].is_unique
    step = timedelta(minutes=feed.step_minutes)
    for f in recorded.itertuples():
        texts = (folder(city, feed) / f.file).read_text("utf-8").splitlines()
        own = [(t, json.loads(t)) for t in texts]
        own = [(t, r) for t, r in own if r["station_id"] == f.station_id]
        at = [datetime.fromisoformat(r["ts"]) for _, r in own]
        t0, t1 = f.ts_from.to_pydatetime(), f.ts_to.to_pydatetime()
        span = [t0 + k * step for k in range(int((t1 - t0) / step) + 1)]
        if f.kind == "dropout":
            assert not [t for t in at if t0 <= t <= t1]
        elif f.kind == "stuck":
            values = [r[f.field] for _, r in own if t0 <= datetime.fromisoformat(r["ts"]) <= t1]
            assert len(values) == len(span) and set(values) == {f.delivered_value}
        elif f.kind == "spike":
            (value,) = [r[f.field] for _, r in own if r["ts"] == t0.isoformat()]
            assert value == f.delivered_value != f.true_value
        elif f.kind == "clock_skew":
            shift = timedelta(minutes=int(f.skew_minutes))
            assert all(t + shift in at and t not in at for t in span)
        elif f.kind == "duplicate":
            copies = [t for t, r in own if r["ts"] == t0.isoformat()]
            assert len(copies) == 2 and copies[0] == copies[1]
        else:  # out_of_order: written after a later reading of the same station
            pos = at.index(t0)
            assert any(t > t0 for t in at[:pos])


def test_river_flood_crosses_warning_then_guaranteed(city: dict[str, Path]) -> None:
    feed = sensors_river.FEED
    stage = series(city, feed, "stage_m")
    levels = {
        r["station_id"]: (r["warning_level_m"], r["guaranteed_level_m"])
        for _, r in lines(city, feed)
    }
    events = table(city, "river_events")
    assert set(events["expected_level"].fillna("none")) == {"guaranteed", "warning", "none"}
    core = events[events["role"] == "core"]
    assert (core["expected_level"] == "guaranteed").all() and len(core) >= 1
    for e in events.itertuples():
        assert levels[e.station_id] == (e.warning_level_m, e.guaranteed_level_m)
        s = stage[e.station_id]
        window = sorted(t for t in s if e.start <= t <= e.end)
        warning = [t for t in window if s[t] > e.warning_level_m]
        guaranteed = [t for t in window if s[t] > e.guaranteed_level_m]
        reached = "guaranteed" if guaranteed else "warning" if warning else None
        assert reached == e.expected_level
        assert (warning[0] if warning else None) == (
            None if pd.isna(e.warning_at) else e.warning_at
        )
        if guaranteed:
            assert guaranteed[0] == e.guaranteed_at and e.warning_at < e.guaranteed_at
        peak = max(window, key=lambda t: s[t])
        assert s[peak] == e.peak_stage_m and s[e.peak.to_pydatetime()] == e.peak_stage_m
        if warning:
            back = [t for t in window if t > peak and s[t] <= e.warning_level_m]
            assert back[0] == e.below_warning_at
    # Outside the floods no gauge ever reaches its warning level: no false alarms due.
    windows = defaultdict(list)
    for e in events.itertuples():
        windows[e.station_id].append((e.start, e.end))
    for station, values in stage.items():
        for t, v in values.items():
            if v > levels[station][0]:
                assert any(a <= t <= b for a, b in windows[station]), (station, t, v)


def _heat_level(hourly: dict[datetime, float]) -> tuple[str | None, dict[str, datetime | None]]:
    by_day: dict[date, list[tuple[datetime, float]]] = defaultdict(list)
    for t, v in sorted(hourly.items()):
        by_day[t.date()].append((t, v))
    at: dict[str, datetime | None] = {"yellow": None, "orange": None, "red": None}
    run = 0
    for day in sorted(by_day):
        readings = by_day[day]
        run = run + 1 if max(v for _, v in readings) >= 35 else 0
        if run >= 3 and at["yellow"] is None:
            at["yellow"] = next(t for t, v in readings if v >= 35)
    for name, threshold in (("orange", 37), ("red", 40)):
        at[name] = next((t for t, v in sorted(hourly.items()) if v >= threshold), None)
    level = next((k for k in ("red", "orange", "yellow") if at[k] is not None), None)
    return level, at


def test_heat_wave_reaches_each_high_temperature_level(city: dict[str, Path]) -> None:
    temps = series(city, sensors_weather.FEED, "temperature_c")
    events = table(city, "heat_events").set_index("station_id")
    assert set(events.index) == set(temps)
    assert {"red", "orange", "yellow"} <= set(events["expected_level"].dropna())
    assert (events.loc[events["role"] == "core", "expected_level"] == "red").all()
    for station, hourly in temps.items():
        # Station clocks may be skewed a few minutes: the reading still belongs to its hour.
        level, at = _heat_level(hourly)
        e = events.loc[station]
        assert level == e["expected_level"], station
        for name in ("yellow", "orange", "red"):
            expected = e[f"{name}_at"]
            assert at[name] == (None if pd.isna(expected) else expected.to_pydatetime())
    core = events[events["role"] == "core"].iloc[0]
    daily = pd.Series(temps[core.name]).groupby(lambda t: t.date()).max()
    hot = (daily >= 35).astype(int)
    assert hot.groupby((hot == 0).cumsum()).sum().max() >= 3  # 35 °C three days running
    assert (daily >= 37).any() and (daily >= 40).any()


@pytest.mark.parametrize(
    ("row", "concentration", "expected"),
    [
        ("pm25_24h", 0, 0),
        ("pm25_24h", 35, 50),
        ("pm25_24h", 36, 52),  # 51.25, rounded up
        ("pm25_24h", 75, 100),
        ("pm25_24h", 80, 107),  # 100 + 50 × 5/40 = 106.25
        ("pm25_24h", 115, 150),
        ("pm25_24h", 150, 200),
        ("pm25_24h", 200, 250),
        ("pm25_24h", 250, 300),
        ("pm25_24h", 300, 350),
        ("pm25_24h", 500, 500),
        ("pm25_24h", 640, 500),  # beyond the table: reported as 500
        ("pm10_24h", 200, 125),
        ("pm10_24h", 385, 250),  # 200 + 100 × 35/70
        ("pm10_24h", 420, 300),
        ("o3_1h", 160, 50),
        ("o3_1h", 250, 125),
        ("o3_1h", 600, 250),
        ("no2_1h", 100, 50),
        ("co_24h", 3, 75),
    ],
)
def test_iaqi_matches_hand_checked_values(row: str, concentration: float, expected: int) -> None:
    assert sensors_air.iaqi(row, concentration) == expected


def test_aqi_bands() -> None:
    cases = {0: "excellent", 50: "excellent", 51: "good", 100: "good", 101: "light"}
    cases |= {150: "light", 151: "moderate", 200: "moderate", 201: "heavy", 300: "heavy"}
    cases |= {301: "severe", 500: "severe"}
    assert {aqi: sensors_air.band(aqi) for aqi in cases} == cases


def test_air_pollution_episode_and_delivered_aqi(city: dict[str, Path]) -> None:
    feed = sensors_air.FEED
    names = {"pm25_ug_m3": ("pm25_24h", "PM2.5"), "pm10_ug_m3": ("pm10_24h", "PM10")}
    names["o3_ug_m3"] = ("o3_1h", "O3")
    bad = {(s, ts) for s, ts, _ in spikes(city, feed)}
    aqi: dict[str, dict[datetime, int]] = defaultdict(dict)
    for _, r in lines(city, feed):
        if (r["station_id"], r["ts"]) in bad:
            continue
        parts = {label: sensors_air.iaqi(row, r[f]) for f, (row, label) in names.items()}
        top = max(parts.values())
        assert r["aqi"] == top
        primary = ",".join(k for k, v in parts.items() if v == top) if top > 50 else None
        assert r["primary_pollutant"] == primary
        aqi[r["station_id"]][datetime.fromisoformat(r["ts"])] = r["aqi"]
    events = table(city, "air_episodes")
    assert events.loc[events["role"] == "core", "expected_band"].eq("severe").all()
    assert {"severe", "heavy", "moderate"} <= set(events["expected_band"])
    for e in events.itertuples():
        s = aqi[e.station_id]
        window = {t: v for t, v in s.items() if e.start < t <= e.end}
        assert max(window.values()) == e.max_aqi and sensors_air.band(e.max_aqi) == e.expected_band
        assert e.expected_band == e.target_band
        over = [t for t in sorted(window) if window[t] > 200]
        assert (over[0] if over else None) == (None if pd.isna(e.over_200_at) else e.over_200_at)
        outside = [v for t, v in s.items() if not e.start < t <= e.end]
        assert max(outside) <= 150  # AQI above 150 only in the episode


def test_manhole_displacements(city: dict[str, Path]) -> None:
    feed = sensors_manhole.FEED
    tilt = series(city, feed, "tilt_deg")
    water = series(city, feed, "water_level_alarm")
    events = table(city, "manhole_events")
    assert len(events) >= 3 and "flood_lift" in set(events["cause"])
    for e in events.itertuples():
        s = tilt[e.station_id]
        window = {t: v for t, v in s.items() if e.start <= t <= e.end}
        assert min(window.values()) >= e.alarm_tilt_deg + 2
        assert max(window.values()) == e.peak_tilt_deg == s[e.peak.to_pydatetime()]
        if e.cause == "flood_lift":
            assert water[e.station_id][e.start.to_pydatetime()] is True
    inside = {
        (e.station_id, t)
        for e in events.itertuples()
        for t in tilt[e.station_id]
        if e.start <= t <= e.end
    }
    background = [v for st, s in tilt.items() for t, v in s.items() if (st, t) not in inside]
    assert max(background) < sensors_manhole.BACKGROUND_MAX_DEG
    assert any(v for s in water.values() for v in s.values())  # storms raise the alarm


def test_traffic_follows_the_working_day_and_holiday_profiles(city: dict[str, Path]) -> None:
    feed = sensors_traffic.FEED
    bad = {(station, ts) for station, ts, _ in spikes(city, feed)}
    rows = pd.DataFrame(
        [r for _, r in lines(city, feed) if (r["station_id"], r["ts"]) not in bad]
    ).drop_duplicates(["station_id", "ts"])
    rows["day"] = rows["ts"].str.slice(0, 10)
    rows["hour"] = rows["ts"].str.slice(11, 13).astype(int)

    def hourly(day: str, column: str) -> pd.Series:
        return rows[rows["day"] == day].groupby("hour")[column].mean()

    workday = "2026-09-29"  # a Tuesday
    assert hourly(workday, "vehicles_inbound").idxmax() in (7, 8, 9)
    assert hourly(workday, "vehicles_outbound").idxmax() in (17, 18, 19)
    totals = rows.groupby("day")[["vehicles_inbound", "vehicles_outbound"]].sum().sum(axis=1)
    assert totals["2026-10-03"] < 0.85 * totals[workday]  # National Day holiday
    exodus = rows[(rows["day"] == "2026-10-01") & rows["hour"].between(7, 12)]
    assert exodus["vehicles_outbound"].sum() > 1.5 * exodus["vehicles_inbound"].sum()
    assert sensors_traffic.day_types(CityContext(SEED, START, DAYS, SCALE).calendar)[7] == "exodus"


def test_five_feeds_at_scale_1_for_56_days_are_fast(tmp_path: Path) -> None:
    ctx = CityContext(seed=SEED, start=date(2026, 9, 1), days=56, scale=1.0)
    ctx.geography = build_geography()
    clock = time.perf_counter()
    counts = {m.SOURCE_ID: m.run(ctx, tmp_path).records for m in FEEDS}
    assert time.perf_counter() - clock < 10
    assert counts["river_stage"] > 8 * 56 * 288 * 0.99  # 8 gauges, 5-minute
    assert counts["traffic_counter"] > 12 * 56 * 24 * 0.99  # 12 counters, hourly
