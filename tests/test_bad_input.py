"""Bad deliveries: each gives a clear error naming source, batch and row; nothing is lost;
the rest of the run goes on. Real Great Expectations, real Delta tables, real files, the
departments' API over real HTTP, PostgreSQL / MariaDB through ``require_service``."""

from __future__ import annotations

import json
import logging
import random
import uuid
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import require_service
from openpyxl import Workbook
from sqlalchemy.pool import NullPool

from citylake import lake
from citylake.connectors.base import SourceUnavailableError
from citylake.identity import make_resident_id
from citylake.landing import BatchHeldError, ingest_source, ledger
from citylake.settings import Settings, load_settings

HOTLINE = "hotline_complaints"
HEADER = (
    "complaint_id,received_at,category,district_code,district,street_code,street,"
    "community_code,community,urgency,caller_phone,summary"
)
PG_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def complaint(n: int, summary: str = "夜间施工噪音") -> str:
    return (
        f"C{n:06d},2026-09-01 08:{n % 60:02d}:00,noise,D01,东湖区,S0101,桥西街道,"
        f"C010101,花园社区,normal,13812345678,{summary}"
    )


@pytest.fixture()
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CITYLAKE_HOME", str(tmp_path / "home"))
    return load_settings()


@pytest.fixture(scope="module")
def validator(tmp_path_factory: pytest.TempPathFactory):
    from quality.validate import Validator

    return Validator(tmp_path_factory.mktemp("gx"), data_docs=False)


def hotline_drop(settings: Settings) -> Path:
    folder = settings.sources_root / "hotline_12345" / "drop"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write(folder: Path, name: str, lines: list[str], encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def quarantined(settings: Settings, source_id: str) -> dict[tuple[str, int], dict]:
    rows = lake.read_table(settings.quarantine_path(source_id)).to_pylist()
    return {(r["_source_ref"].split("@")[0].split("[")[0], r["_row_number"]): r for r in rows}


def entries(settings: Settings) -> dict[str, dict]:
    return {e["file_name"] or e["source_ref"]: e for e in ledger.read(settings).to_pylist()}


def balanced(settings: Settings) -> bool:
    return all(
        e["rows_received"] == e["rows_landed"] + e["rows_quarantined"] + e["rows_held"]
        for e in ledger.read(settings).to_pylist()
    )


def test_truncated_csv_keeps_the_cut_record_in_quarantine(settings: Settings, validator) -> None:
    folder = hotline_drop(settings)
    good = [complaint(n) for n in range(1, 9)]
    cut = complaint(9)[:40]  # the transfer stopped mid-record, without a final newline
    (folder / "complaints_2026-09-01.csv").write_bytes("\n".join([HEADER, *good, cut]).encode())
    quoted = [HEADER, *(complaint(n) for n in range(10, 15)), complaint(15, '"未闭合的引号')]
    (folder / "complaints_2026-09-02.csv").write_bytes("\n".join(quoted).encode())

    report = ingest_source(HOTLINE, settings, validator=validator)
    assert (report.received, report.landed, report.quarantined, report.held) == (15, 13, 2, 0)
    q = quarantined(settings, HOTLINE)
    row = q["complaints_2026-09-01.csv", 10]
    assert "expected 12 fields, found" in row["reasons"]
    assert json.loads(row["raw_record"])["_unparsed"] == cut  # kept for repair, not dropped
    assert row["_batch_id"] == entries(settings)["complaints_2026-09-01.csv"]["batch_id"]
    assert "malformed CSV record" in q["complaints_2026-09-02.csv", 7]["reasons"]
    assert balanced(settings)


def test_gbk_bytes_in_a_utf8_drop_hold_that_file_only(settings: Settings, validator) -> None:
    folder = hotline_drop(settings)
    write(
        folder, "complaints_2026-09-03.csv", [HEADER, *(complaint(n) for n in range(1, 11))], "gbk"
    )
    write(folder, "complaints_2026-09-04.csv", [HEADER, complaint(11)])
    with pytest.raises(BatchHeldError) as caught:
        ingest_source(HOTLINE, settings, validator=validator)
    message = str(caught.value)
    # Source, batch (file and digest) and rows are named; the next file still landed.
    assert message.startswith(f"{HOTLINE}: 1 batch(es) held")
    assert "complaints_2026-09-03.csv@sha256:" in message
    assert "10 of 10 rows failed" in message and "row 2: undecodable" in message
    assert lake.read_table(settings.bronze_path(HOTLINE)).num_rows == 1
    held = entries(settings)["complaints_2026-09-03.csv"]
    assert (held["status"], held["rows_held"], held["rows_landed"]) == (ledger.HELD, 10, 0)
    # Nothing lost: the file is still there and a later run holds it again, visibly.
    with pytest.raises(BatchHeldError, match=r"complaints_2026-09-03\.csv"):
        ingest_source(HOTLINE, settings, validator=validator)
    assert len(ledger.read(settings)) == 2 and balanced(settings)


def test_a_binary_file_in_a_csv_drop_is_held_not_landed(settings: Settings, validator) -> None:
    folder = hotline_drop(settings)
    rng = random.Random(7)
    blob = b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(6000))
    (folder / "complaints_2026-09-05.csv").write_bytes(blob)
    write(folder, "complaints_2026-09-06.csv", [HEADER, complaint(1), complaint(2)])
    with pytest.raises(BatchHeldError, match=r"complaints_2026-09-05.csv@sha256:\w+: held"):
        ingest_source(HOTLINE, settings, validator=validator)
    assert lake.read_table(settings.bronze_path(HOTLINE)).num_rows == 2
    held = entries(settings)["complaints_2026-09-05.csv"]
    assert held["status"] == ledger.HELD and held["rows_held"] == held["rows_received"] > 5
    assert balanced(settings)


def test_excel_with_extra_sheets_reads_the_declared_one(
    settings: Settings, validator, caplog: pytest.LogCaptureFixture
) -> None:
    folder = settings.sources_root / "civil_affairs" / "social_assistance"
    folder.mkdir(parents=True)
    book = Workbook()
    notes = book.active
    notes.title = "填表说明"
    notes.append(["本表由民政局每月报送", None, "case_no"])  # a declared name, on the wrong sheet
    data = book.create_sheet("救助对象")
    data.append(["救助对象名单 2026年9月"])  # a title row above the header
    header = ["case_no", "assistance_type", "applicant_name", "resident_id", "household_size"]
    header += ["monthly_amount", "district", "street", "community", "address", "phone"]
    data.append([*header, "approved_on", "status"])
    for n in range(1, 5):
        rid = make_resident_id("330102", date(1960, 5, n), n)
        case = [f"JZ{n:04d}", "最低生活保障", f"王{n}", rid, 3, 1180.5, "东湖区"]
        data.append([*case, None, None, None, "13812345678", "2026-09-01", "在保"])
    pivot = book.create_sheet("透视")
    pivot.append(["assistance_type", "count"])
    pivot.append(["最低生活保障", 4])
    book.save(folder / "assistance_2026-09.xlsx")
    other = Workbook()
    other.active.title = "Sheet1"
    other.active.append(["case_no", "status"])
    other.save(folder / "assistance_2026-10.xlsx")

    with caplog.at_level(logging.INFO, logger="citylake.connectors.excel"):
        report = ingest_source("ca_social_assistance", settings, validator=validator)
    assert (report.landed, report.quarantined) == (4, 1)
    bronze = lake.read_table(settings.bronze_path("ca_social_assistance")).to_pylist()
    assert sorted(r["case_no"] for r in bronze) == ["JZ0001", "JZ0002", "JZ0003", "JZ0004"]
    assert "透视" not in json.dumps(bronze, ensure_ascii=False, default=str)
    assert any(
        "other sheets not read: ['填表说明', '透视']" in r.getMessage() for r in caplog.records
    )
    # The workbook without the declared sheet is one quarantined row that says so.
    (row,) = lake.read_table(settings.quarantine_path("ca_social_assistance")).to_pylist()
    assert "sheet '救助对象' not found; the workbook has ['Sheet1']" in row["reasons"]
    assert row["_source_ref"].startswith("assistance_2026-10.xlsx")


def test_json_with_wrong_types_from_the_api_and_a_ndjson_drop(
    settings: Settings, validator
) -> None:
    from citylake.connectors.source_systems import api_store
    from citylake.democity.api_server import serve

    def incident(n: int, **changes: object) -> dict:
        return {
            "incident_id": f"EM{n:05d}",
            "incident_type": "火灾",
            "level": "一般",
            "occurred_at": "2026-09-01T08:00:00+08:00",
            "reported_at": "2026-09-01T08:05:00+08:00",
            "district_code": "D01",
            "casualties": 0,
            "status": "处置中",
            "updated_at": f"2026-09-01 09:{n:02d}:00",
            **changes,
        }

    records = [incident(n) for n in range(1, 9)]
    records[2] = incident(3, casualties="两人")  # text for an integer
    records[4] = incident(5, occurred_at=1756684800)  # epoch seconds for a timestamp
    records[6] = incident(7, casualties=[1, 2])  # a list for an integer
    store = api_store("/emergency/incidents", settings)
    store.parent.mkdir(parents=True)
    store.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    server = serve(settings, port=0)
    try:
        api = replace(settings, source_api_url=server.url)
        report = ingest_source("em_incidents", api, validator=validator)
    finally:
        server.stop()
    assert (report.received, report.landed, report.quarantined) == (8, 5, 3)
    reasons = {
        r["_row_number"]: r["reasons"]
        for r in lake.read_table(settings.quarantine_path("em_incidents")).to_pylist()
    }
    assert "type: casualties='两人' is not a integer" in reasons[3]
    assert "type: occurred_at='1756684800' is not a timestamp" in reasons[5]
    assert "type: casualties='[1, 2]' is not a integer" in reasons[7]
    (entry,) = ledger.read(settings).to_pylist()
    assert entry["source_ref"].startswith("/emergency/incidents pages 1-1")

    kiosk = settings.sources_root / "service_center" / "kiosk"
    kiosk.mkdir(parents=True)
    line = {"session_id": "K1", "kiosk_id": "KS01", "center_id": "SC01"}
    (kiosk / "kiosk_2026-09-01.ndjson").write_text(
        json.dumps({**line, "started_at": "2026-09-01 09:00:00"})
        + "\n"
        + json.dumps({**line, "session_id": "K2", "started_at": True})
        + "\n[1, 2, 3]\n{not json\n"
    )
    report = ingest_source("svc_kiosk_sessions", settings, validator=validator)
    assert report.received == 4 and report.quarantined >= 3
    reasons = {
        r["_row_number"]: r["reasons"]
        for r in lake.read_table(settings.quarantine_path("svc_kiosk_sessions")).to_pylist()
    }
    assert "started_at='True' is not a timestamp" in reasons[2]
    assert reasons[3] == "not a JSON object" and reasons[4].startswith("not JSON")


def test_a_link_out_of_the_drop_folder_is_never_read(
    settings: Settings, validator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = hotline_drop(settings)
    secret = tmp_path / "outside" / "secret.csv"
    secret.parent.mkdir()
    write(secret.parent, secret.name, [HEADER, complaint(99, summary="不应读取的机密")])
    (folder / "complaints_2026-09-07.csv").symlink_to(
        Path("..") / ".." / ".." / ".." / "outside" / "secret.csv"
    )
    assert (folder / "complaints_2026-09-07.csv").resolve() == secret.resolve()
    write(folder, "complaints_2026-09-08.csv", [HEADER, complaint(1)])
    with caplog.at_level(logging.WARNING):
        report = ingest_source(HOTLINE, settings, validator=validator)
    assert report.landed == 1
    bronze = lake.read_table(settings.bronze_path(HOTLINE)).to_pylist()
    assert [r["complaint_id"] for r in bronze] == ["C000001"]
    assert [e["file_name"] for e in ledger.read(settings).to_pylist()] == [
        "complaints_2026-09-08.csv"
    ]
    assert any(
        HOTLINE in r.getMessage() and "complaints_2026-09-07.csv" in r.getMessage()
        for r in caplog.records
    )


def test_duplicate_deliveries_land_once(settings: Settings, validator) -> None:
    folder = hotline_drop(settings)
    lines = [HEADER, *(complaint(n) for n in range(1, 6)), complaint(2)]  # a row sent twice
    first = write(folder, "complaints_2026-09-09.csv", lines)
    assert ingest_source(HOTLINE, settings, validator=validator).landed == 5

    first.write_bytes(first.read_bytes())  # the same file dropped again
    assert ingest_source(HOTLINE, settings, validator=validator).batches == 0
    write(folder, "complaints_2026-09-09 (1).csv", lines)  # the same bytes under a new name
    report = ingest_source(HOTLINE, settings, validator=validator)
    assert (report.landed, report.quarantined, report.held) == (0, 6, 0)

    assert lake.read_table(settings.bronze_path(HOTLINE)).num_rows == 5
    q = quarantined(settings, HOTLINE)
    assert q["complaints_2026-09-09.csv", 7]["reasons"] == "duplicate delivery of row 3"
    again = q["complaints_2026-09-09 (1).csv", 2]["reasons"]
    assert again == "duplicate delivery of file complaints_2026-09-09.csv"
    assert len(q) == 7 and balanced(settings)


def test_a_source_database_that_is_down_fails_that_source_only(
    settings: Settings, validator
) -> None:
    """tax_registration's MariaDB is down; svc_queue_tickets' PostgreSQL is up."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    from citylake.catalog import default_catalog
    from citylake.democity.systems import deliver_records, dispose_engines

    database = f"citylake_t_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{database}"')
    try:
        live = replace(
            settings,
            source_postgres_url=f"postgresql+psycopg2://postgres@127.0.0.1:5432/{database}",
            source_mariadb_url="mysql+pymysql://root@127.0.0.1:1",  # nothing listens there
        )
        tickets = [
            {
                "ticket_id": f"T{n}",
                "center_id": "SC01",
                "center_name": "东湖区行政服务中心",
                "service_category": "tax",
                "resident_id": None,
                "issued_at": "2026-09-01 09:00:00",
                "called_at": "2026-09-01 09:05:00",
                "service_start": "2026-09-01 09:05:00",
                "service_end": "2026-09-01 09:15:00",
                "counter_no": 3,
                "status": "served",
            }
            for n in range(1, 4)
        ]
        deliver_records(default_catalog()["svc_queue_tickets"], tickets, live)
        with pytest.raises(SourceUnavailableError) as caught:
            ingest_source("tax_registration", live, validator=validator)
        message = str(caught.value)
        assert message.startswith("tax_registration: mariadb source database")
        assert "127.0.0.1:1" in message and "unreachable" in message
        # The run goes on: the next source lands from its (up) database.
        report = ingest_source("svc_queue_tickets", live, validator=validator)
        assert (report.landed, report.quarantined) == (3, 0)
        assert {e["source_id"] for e in ledger.read(settings).to_pylist()} == {"svc_queue_tickets"}
    finally:
        dispose_engines()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.dispose()


def test_a_birth_date_contradicting_the_resident_id_lands_flagged(
    settings: Settings, validator
) -> None:
    """The column-pair expectation (birth_date vs positions 7-14 of resident_id), in any of
    the date formats departments key; a malformed ID is the checksum's finding, not this one's.
    Neither quarantines the dose (resident_id is not its key): it lands with the finding in
    ``_flags``, for entity resolution to link the child despite the typo."""
    folder = settings.sources_root / "health" / "vaccination"
    folder.mkdir(parents=True)
    born = date(2025, 3, 7)
    rid = make_resident_id("330102", born, 12)
    header = (
        "dose_id,person_name,resident_id,birth_date,guardian_name,contact_phone,vaccine,"
        "dose_no,vaccinated_on,clinic,community"
    )

    def dose(n: int, birth: str, resident_id: str = rid) -> str:
        return f"V{n},李{n},{resident_id},{birth},李父,13812345678,乙肝疫苗,1,2026-09-01,东湖社区卫生服务中心,"

    lines = [
        header,
        dose(1, "2025-03-07"),
        dose(2, "2025/03/07"),
        dose(3, "20250307"),
        dose(4, "2025年03月07日"),
        dose(5, "2025-03-08"),  # one day off: contradicts the ID
        dose(6, "2024年03月07日"),  # another year: contradicts the ID
        dose(7, ""),  # no birth date: not judged
        dose(8, "2025-03-07", resident_id=rid[:-1] + ("0" if rid[-1] != "0" else "1")),
        dose(9, "2000-01-01", resident_id=rid[:15]),  # no readable ID birth date: not judged
    ]
    write(folder, "vaccination_2026-09-07.csv", lines, "gb18030")
    report = ingest_source("health_vaccination", settings, validator=validator)
    assert (report.received, report.landed, report.quarantined) == (9, 9, 0)
    assert report.flagged == 4
    bronze = lake.read_table(settings.bronze_path("health_vaccination")).to_pylist()
    reasons = {r["_row_number"]: r["_flags"] for r in bronze if r["_flags"]}
    assert sorted(reasons) == [6, 7, 9, 10]
    pair = "expect_column_pair_birth_date_to_match_resident_id(column_A=birth_date, column_B=resident_id)"
    assert reasons[6] == pair and reasons[7] == pair
    checksum = "expect_column_values_to_be_valid_resident_id(column=resident_id)"
    assert reasons[9] == checksum and reasons[10] == checksum  # one defect, reported once
