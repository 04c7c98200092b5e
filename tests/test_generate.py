"""The demo city generator: determinism, the delivery contract and the truth behind it.

A small city (scale 0.5, two weeks around the 2026 Mid-Autumn holiday) keeps it fast:
2026-09-20 is a Sunday worked to make up for the National Day bridge, 2026-09-25 is
the Mid-Autumn Festival.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import holidays
import numpy as np
import pandas as pd
import pytest

from citylake.democity import generate_city
from citylake.democity.deliver import COMPLAINT_COLUMNS, QUEUE_TICKET_COLUMNS
from citylake.democity.truth import read_truth
from citylake.identity import (
    birth_date_from_resident_id,
    gender_from_resident_id,
    is_valid_resident_id,
    normalize_phone,
)

START, DAYS, SCALE, SEED = date(2026, 9, 14), 14, 0.5, 11
MAKEUP_SUNDAY, MID_AUTUMN = date(2026, 9, 20), date(2026, 9, 25)
LEVEL_WINDOWS = (("red", 36, 1000), ("orange", 36, 500), ("yellow", 72, 500), ("blue", 144, 500))


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("city")
    for run in ("a", "b"):
        generate_city(
            root / run / "sources",
            root / run / "truth",
            seed=SEED,
            days=DAYS,
            start=START,
            scale=SCALE,
        )
    return {"sources": root / "a" / "sources", "truth": root / "a" / "truth", "root": root}


def truth(city: dict[str, Path], name: str) -> pd.DataFrame:
    return read_truth(city["truth"], name).to_pandas()


def tickets(city: dict[str, Path]) -> pd.DataFrame:
    with sqlite3.connect(city["sources"] / "sql" / "service_center.sqlite") as con:
        return pd.read_sql("select * from queue_ticket order by ticket_seq", con)


def files_of(tree: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(tree)): p.read_bytes() for p in sorted(tree.rglob("*")) if p.is_file()
    }


def test_same_arguments_give_byte_identical_files(city: dict[str, Path]) -> None:
    a, b = files_of(city["root"] / "a"), files_of(city["root"] / "b")
    assert a.keys() == b.keys()
    # At least: the queue db, the daily drops of complaints and rain, the truth tables + manifest.
    assert len(a) >= 1 + 2 * DAYS + 12
    assert [name for name in a if a[name] != b[name]] == []


def test_rerun_replaces_the_previous_delivery(tmp_path: Path) -> None:
    kwargs = {"seed": 3, "start": START, "scale": 0.3}
    generate_city(tmp_path / "s", tmp_path / "t", days=8, **kwargs)
    report = generate_city(tmp_path / "s", tmp_path / "t", days=4, **kwargs)
    assert len(list((tmp_path / "s" / "hotline_12345" / "drop").iterdir())) == 4
    assert len(list((tmp_path / "s" / "sensors" / "rain_gauge").iterdir())) == 4
    with sqlite3.connect(tmp_path / "s" / "sql" / "service_center.sqlite") as con:
        last = con.execute("select max(issued_at), count(*) from queue_ticket").fetchone()
    assert last[0] < "2026-09-18" and last[1] == report.records["svc_queue_tickets"]
    assert not list(tmp_path.rglob(".*.tmp"))


def test_delivery_contract(city: dict[str, Path]) -> None:
    with sqlite3.connect(city["sources"] / "sql" / "service_center.sqlite") as con:
        columns = [r[1] for r in con.execute("pragma table_info(queue_ticket)")]
    assert tuple(columns) == QUEUE_TICKET_COLUMNS
    drops = sorted((city["sources"] / "hotline_12345" / "drop").glob("complaints_*.csv"))
    assert drops[0].name == f"complaints_{START}.csv" and len(drops) == DAYS
    with drops[0].open(encoding="utf-8", newline="") as fh:
        assert tuple(next(csv.reader(fh))) == COMPLAINT_COLUMNS
    line = (city["sources"] / "sensors" / "rain_gauge" / f"rain_{START}.ndjson").open().readline()
    record = json.loads(line)
    assert list(record) == ["station_id", "district_code", "ts", "rain_mm"]
    assert record["ts"] == f"{START}T00:00:00+08:00"


def test_resident_ids_agree_with_the_citizen_behind_them(city: dict[str, Path]) -> None:
    citizens = truth(city, "citizens").set_index("citizen_id")
    links = truth(city, "identity_links")
    ids = links[links["field"] == "resident_id"]
    assert len(ids) > 100 and ids["corruption"].eq("check_char").any()
    for row in ids.itertuples():
        citizen = citizens.loc[row.citizen_id]
        assert row.true_value == citizen["resident_id"]
        if row.corruption is None:
            assert row.delivered_value == row.true_value
            assert is_valid_resident_id(row.delivered_value, as_of=START)
            assert birth_date_from_resident_id(row.delivered_value) == citizen["birth_date"]
            assert gender_from_resident_id(row.delivered_value) == citizen["gender"]
        else:
            assert not is_valid_resident_id(row.delivered_value)
    assert all(is_valid_resident_id(r) for r in citizens["resident_id"])
    assert citizens["resident_id"].is_unique and citizens["phone"].is_unique


def test_truth_covers_every_delivered_identifier(city: dict[str, Path]) -> None:
    links = truth(city, "identity_links")
    delivered = tickets(city).dropna(subset=["resident_id"])
    known = links[links["source_id"] == "svc_queue_tickets"].set_index("record_id")
    assert set(delivered["ticket_id"]) == set(known.index)
    assert (
        known.loc[delivered["ticket_id"], "delivered_value"].to_numpy() == delivered["resident_id"]
    ).all()
    share = len(delivered) / len(tickets(city))
    assert 0.07 < share < 0.13
    # Complaint callers: the linked ones normalize to the citizen's phone, strangers to nobody's.
    callers = links[links["field"] == "caller_phone"].set_index("record_id")
    phones = set(truth(city, "citizens")["phone"])
    for path in sorted((city["sources"] / "hotline_12345" / "drop").glob("*.csv")):
        for row in csv.DictReader(path.open(encoding="utf-8", newline="")):
            if row["complaint_id"] in callers.index:
                assert (
                    normalize_phone(row["caller_phone"])
                    == callers.loc[row["complaint_id"], "true_value"]
                )
            elif row["caller_phone"]:
                assert normalize_phone(row["caller_phone"]) not in phones


def test_queue_times_are_ordered_and_counters_serve_one_at_a_time(city: dict[str, Path]) -> None:
    t = tickets(city)
    assert t["ticket_seq"].tolist() == list(range(1, len(t) + 1))
    assert t["issued_at"].is_monotonic_increasing and t["ticket_id"].is_unique
    assert t["issued_at"].str.slice(11, 13).astype(int).between(9, 16).all()
    served, no_show = t[t["status"] == "served"], t[t["status"] == "no_show"]
    assert (served["issued_at"] <= served["called_at"]).all()
    assert (served["called_at"] == served["service_start"]).all()
    assert (served["service_start"] < served["service_end"]).all()
    assert no_show["service_start"].isna().all() and no_show["called_at"].notna().all()
    assert 0.01 < len(no_show) / len(t) < 0.08
    busy = t.assign(until=t["service_end"].fillna(t["called_at"]))
    for _, group in busy.groupby(["center_id", "counter_no"]):
        g = group.sort_values("called_at")
        assert (g["called_at"].iloc[1:].to_numpy() >= g["until"].iloc[:-1].to_numpy()).all()
    waits = pd.to_datetime(served["called_at"]) - pd.to_datetime(served["issued_at"])
    assert timedelta(minutes=1) < waits.mean() < timedelta(minutes=60)


def test_closed_on_holidays_and_weekends_open_on_makeup_days(city: dict[str, Path]) -> None:
    cn = holidays.China(years=[2026])
    open_days = set(tickets(city)["issued_at"].str.slice(0, 10))
    period = [START + timedelta(days=i) for i in range(DAYS)]
    assert open_days == {d.isoformat() for d in period if cn.is_working_day(d)}
    assert MAKEUP_SUNDAY.isoformat() in open_days and MID_AUTUMN.isoformat() not in open_days
    intensity = truth(city, "demand_intensity")
    assert not intensity.loc[intensity["date"] == MID_AUTUMN, "open"].any()
    assert (intensity.loc[intensity["date"] == MID_AUTUMN, "lambda"] == 0).all()
    assert intensity.loc[intensity["date"] == MAKEUP_SUNDAY, "lambda"].sum() > 0
    calendar = truth(city, "calendar").set_index("date")
    assert calendar.loc[MAKEUP_SUNDAY, "makeup_workday"] and not calendar.loc[MID_AUTUMN, "working"]


def _rain_series(city: dict[str, Path]) -> dict[str, dict[datetime, int]]:
    series: dict[str, dict[datetime, int]] = defaultdict(dict)
    for path in sorted((city["sources"] / "sensors" / "rain_gauge").glob("rain_*.ndjson")):
        for line in path.read_text().splitlines():
            r = json.loads(line)
            series[r["station_id"]][datetime.fromisoformat(r["ts"])] = round(r["rain_mm"] * 10)
    return series


def test_each_rain_level_is_reached_by_an_injected_storm(city: dict[str, Path]) -> None:
    series = _rain_series(city)
    first = datetime.fromisoformat(f"{START}T00:00:00+08:00")
    events = truth(city, "rain_events")
    for row in events.itertuples():
        values = series[row.station_id]
        stamps = [first + timedelta(minutes=5 * i) for i in range(DAYS * 288)]
        tenths = np.array([values.get(ts, 0) for ts in stamps])  # dropouts are never in storms
        cs = np.concatenate(([0], np.cumsum(tenths)))
        start = stamps.index(row.start.to_pydatetime()) + 1
        end = min(len(stamps), stamps.index(row.end.to_pydatetime()) + 144)
        reached = None
        for level, window, threshold in LEVEL_WINDOWS:
            sums = [cs[t + 1] - cs[max(0, t + 1 - window)] for t in range(start, end)]
            if max(sums) >= threshold:
                reached = level
                break
        assert reached == row.expected_level, row
    core = events[events["role"] == "core"]
    assert (core["expected_level"] == core["target_level"]).all()
    assert set(core["expected_level"]) == {"blue", "yellow", "orange", "red"}


def test_sensor_faults_are_in_the_files(city: dict[str, Path]) -> None:
    faults = truth(city, "sensor_faults").set_index("kind")
    folder = city["sources"] / "sensors" / "rain_gauge"

    def keys(kind: str) -> list[tuple[str, str]]:
        lines = (folder / faults.loc[kind, "file"]).read_text().splitlines()
        return [(r["station_id"], r["ts"]) for r in map(json.loads, lines)]

    dup = (faults.loc["duplicate", "station_id"], faults.loc["duplicate", "ts_from"].isoformat())
    assert keys("duplicate").count(dup) == 2
    late = keys("out_of_order")
    station = faults.loc["out_of_order", "station_id"]
    own = [ts for s, ts in late if s == station]
    assert own != sorted(own)
    gone = faults.loc["dropout"]
    missing = {ts for s, ts in keys("dropout") if s == gone["station_id"]}
    assert gone["ts_from"].isoformat() not in missing and gone["ts_to"].isoformat() not in missing
    total = len(_rain_series(city))
    assert total == 5  # 10 gauges at scale 1


def test_complaints_have_truth_and_codes(city: dict[str, Path]) -> None:
    rows = [
        row
        for path in sorted((city["sources"] / "hotline_12345" / "drop").glob("*.csv"))
        for row in csv.DictReader(path.open(encoding="utf-8", newline=""))
    ]
    known = truth(city, "complaints").set_index("complaint_id")
    assert {r["complaint_id"] for r in rows} == set(known.index)
    assert set(known["competent_level"]) <= {"community", "street", "district", "department"}
    geography = truth(city, "geography").set_index("community_code")
    for r in rows:
        if r["community_code"]:
            assert geography.loc[r["community_code"], "community"] == r["community"]
            assert r["community_code"].startswith(r["street_code"])
        assert r["received_at"].startswith(r["complaint_id"][2:6])


def test_cli_command_uses_settings_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from citylake.cli.generate import generate_command

    monkeypatch.setenv("CITYLAKE_HOME", str(tmp_path))
    monkeypatch.setenv("CITYLAKE_DEMO_DAYS", "3")
    generate_command(scale=0.3, start="2026-09-30")  # called from Python, as `citylake demo` does
    assert len(list((tmp_path / "sources" / "hotline_12345" / "drop").glob("*.csv"))) == 3
    manifest = json.loads((tmp_path / "truth" / "manifest.json").read_text())
    assert manifest["days"] == 3 and manifest["start"] == "2026-09-30"
