"""Landing through real Great Expectations and real Delta tables, on small hand-made deliveries."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from citylake import lake
from citylake.landing import BatchHeldError, ingest_source, ledger
from citylake.settings import Settings, load_settings

HEADER = (
    "complaint_id,received_at,category,district_code,district,street_code,street,"
    "community_code,community,urgency,caller_phone,summary"
)


def complaint(
    n: int, category: str = "noise", urgency: str = "normal", phone: str = "13812345678"
) -> str:
    return f"C{n:06d},2026-09-01 08:{n % 60:02d}:00,{category},D01,东湖区,S0101,桥西街道,C010101,花园社区,{urgency},{phone},夜间施工噪音"


@pytest.fixture()
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CITYLAKE_HOME", str(tmp_path / "home"))
    return load_settings()


@pytest.fixture(scope="module")
def validator(tmp_path_factory: pytest.TempPathFactory):
    from quality.validate import Validator

    return Validator(tmp_path_factory.mktemp("gx"))


def drop(settings: Settings, name: str, lines: list[str], encoding: str = "utf-8") -> Path:
    folder = settings.sources_root / "hotline_12345" / "drop"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def bronze_rows(settings: Settings, source_id: str) -> int:
    return lake.read_table(settings.bronze_path(source_id)).num_rows


def test_csv_drop_lands_quarantines_and_reconciles(settings: Settings, validator) -> None:
    good = [complaint(n) for n in range(1, 39)]
    bad = [
        complaint(39, category="aliens"),  # not an allowed value
        "C000040,not-a-time,noise,D01,东湖区,S0101,桥西街道,C010101,花园社区,low,13812345678,x",
        "C000041,2026-09-01 09:00:00,noise,too,few,fields",
        complaint(42, phone="12345"),  # not a mobile number
    ]
    drop(settings, "complaints_2026-09-01.csv", [HEADER, *good, *bad, good[0]])
    report = ingest_source("hotline_complaints", settings, validator=validator)

    assert (report.received, report.landed, report.quarantined, report.held) == (43, 38, 5, 0)
    quarantine = lake.read_table(settings.quarantine_path("hotline_complaints")).to_pylist()
    reasons = {row["_row_number"]: row["reasons"] for row in quarantine}
    assert "expect_column_values_to_be_in_set(column=category)" in reasons[40]
    assert "is not a timestamp" in reasons[41]
    assert "expected 12 fields, found 6" in reasons[42]
    assert "valid_mobile" in reasons[43]
    assert "duplicate delivery of row 2" in reasons[44]
    assert json.loads(quarantine[0]["raw_record"])  # the raw values are kept for repair

    entries = ledger.read(settings).to_pylist()
    assert len(entries) == 1
    entry = entries[0]
    assert (
        entry["rows_received"]
        == entry["rows_landed"] + entry["rows_quarantined"] + entry["rows_held"]
    )
    assert entry["file_version"] == 1


def test_rerun_adds_nothing_and_changed_file_is_a_new_version(
    settings: Settings, validator
) -> None:
    path = drop(
        settings, "complaints_2026-09-02.csv", [HEADER, *(complaint(n) for n in range(1, 6))]
    )
    ingest_source("hotline_complaints", settings, validator=validator)
    ingest_source("hotline_complaints", settings, validator=validator)
    assert bronze_rows(settings, "hotline_complaints") == 5
    assert len(ledger.read(settings)) == 1

    path.write_text(
        "\n".join([HEADER, *(complaint(n) for n in range(1, 8))]) + "\n", encoding="utf-8"
    )
    report = ingest_source("hotline_complaints", settings, validator=validator)
    assert report.landed == 7
    versions = sorted(e["file_version"] for e in ledger.read(settings).to_pylist())
    assert versions == [1, 2]


def test_batch_over_failure_threshold_is_held_whole(settings: Settings, validator) -> None:
    drop(
        settings,
        "complaints_2026-09-03.csv",
        [HEADER, *(complaint(n, urgency="whenever") for n in range(1, 11))],
    )
    drop(settings, "complaints_2026-09-04.csv", [HEADER, complaint(50)])
    with pytest.raises(BatchHeldError, match=r"complaints_2026-09-03.csv.*10 of 10 rows failed"):
        ingest_source("hotline_complaints", settings, validator=validator)
    # The good file of the same run still landed; the held one landed nothing.
    assert bronze_rows(settings, "hotline_complaints") == 1
    held = [e for e in ledger.read(settings).to_pylist() if e["status"] == ledger.HELD]
    assert held and held[0]["rows_held"] == 10 and held[0]["rows_landed"] == 0


def test_undecodable_lines_are_quarantined_not_fatal(settings: Settings, validator) -> None:
    lines = [HEADER, *(complaint(n) for n in range(1, 10))]
    data = ("\n".join(lines) + "\n").encode("utf-8") + complaint(10).encode("gbk") + b"\n"
    folder = settings.sources_root / "hotline_12345" / "drop"
    folder.mkdir(parents=True)
    (folder / "complaints_2026-09-05.csv").write_bytes(data)
    report = ingest_source("hotline_complaints", settings, validator=validator)
    assert (report.landed, report.quarantined) == (9, 1)
    row = lake.read_table(settings.quarantine_path("hotline_complaints")).to_pylist()[0]
    assert row["_row_number"] == 11 and row["reasons"] == "undecodable"


def test_sql_source_is_incremental_by_cursor(settings: Settings, validator) -> None:
    db = settings.sources_root / "sql" / "service_center.sqlite"
    db.parent.mkdir(parents=True)
    con = sqlite3.connect(db)
    con.execute(
        "create table queue_ticket (ticket_seq integer primary key, ticket_id text not null unique,"
        " center_id text not null, center_name text not null, service_category text not null,"
        " resident_id text, issued_at text not null, called_at text, service_start text,"
        " service_end text, counter_no integer, status text not null)"
    )

    def add(seq: int, resident_id: str | None = None) -> None:
        con.execute(
            "insert into queue_ticket values (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                seq,
                f"T{seq}",
                "SC01",
                "东湖区行政服务中心",
                "tax",
                resident_id,
                "2026-09-01 09:00:00",
                "2026-09-01 09:05:00",
                "2026-09-01 09:05:00",
                "2026-09-01 09:15:00",
                3,
                "served",
            ),
        )
        con.commit()

    for seq in range(1, 6):
        add(seq)
    # The check char should be 3 (S = 174, 174 mod 11 = 9): the ticket is still somebody's,
    # so it lands, flagged, rather than being quarantined.
    add(6, resident_id="110101199003071235")
    first = ingest_source("svc_queue_tickets", settings, validator=validator)
    assert (first.landed, first.flagged, first.quarantined) == (6, 1, 0)
    flags = {
        r["ticket_id"]: r["_flags"]
        for r in lake.read_table(settings.bronze_path("svc_queue_tickets")).to_pylist()
    }
    assert flags["T6"] == "expect_column_values_to_be_valid_resident_id(column=resident_id)"
    assert all(flags[f"T{n}"] is None for n in range(1, 6))
    add(7)
    again = ingest_source("svc_queue_tickets", settings, validator=validator)
    assert (again.received, again.landed) == (1, 1)
    assert bronze_rows(settings, "svc_queue_tickets") == 7
    assert lake.read_table(settings.quarantine_path("svc_queue_tickets")).num_rows == 0
    entries = ledger.read(settings).to_pylist()
    assert [e["rows_flagged"] for e in entries] == [1, 0]
    con.close()
