"""Delivery into the real source systems and extraction back out of them.

PostgreSQL, MariaDB and Mosquitto are the services on loopback (required under CI,
skipped elsewhere when down); the API server runs in-process on a free port. Every
test uses its own PostgreSQL schema / MariaDB database / topic / endpoint and removes
it afterwards.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from conftest import require_service
from openpyxl import Workbook, load_workbook
from sqlalchemy.pool import NullPool

from citylake.catalog import Source
from citylake.connectors import SourceState, extract
from citylake.connectors import rest as rest_connector
from citylake.connectors.excel import ExcelBatch
from citylake.connectors.text_lines import detect_encoding
from citylake.democity.api_server import serve
from citylake.democity.systems import (
    NOTES_SHEET,
    DeliveryError,
    deliver_records,
    dispose_engines,
    reset_source,
)
from citylake.settings import Settings, load_settings

PG_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
MARIADB_URL = "mysql+pymysql://root@127.0.0.1:3306"
MQTT_URL = "mqtt://127.0.0.1:1883"
DAY = date(2026, 9, 1)

TICKET_SCHEMA = [
    {"name": "seq", "type": "integer", "nullable": False},
    {"name": "ticket_id", "type": "string", "nullable": False},
    {"name": "name", "type": "string"},
    {"name": "issued_at", "type": "timestamp"},
    {"name": "birth_date", "type": "date"},
    {"name": "amount", "type": "double"},
    {"name": "served", "type": "boolean"},
]


def _settings(tmp_path: Path, **changes: object) -> Settings:
    base = replace(
        load_settings(),
        home=tmp_path / "home",
        lake_root=tmp_path / "lake",
        sources_root=tmp_path / "sources",
        truth_root=tmp_path / "truth",
        source_postgres_url=None,
        source_mariadb_url=None,
        mqtt_url=None,
    )
    return replace(base, **changes)


def _source(
    source_id: str,
    connector: dict,
    schema: list[dict],
    *,
    primary_key: list[str],
    cursor: str | None = None,
    kind: str = "department",
) -> Source:
    return Source.model_validate(
        {
            "id": source_id,
            "department": "test_department",
            "system": "test system",
            "kind": kind,
            "connector": connector,
            "cadence": "@daily",
            "primary_key": primary_key,
            "cursor": cursor,
            "schema": schema,
            "share": {"kind": "unconditional"},
            "owner": "tests@citylake.gov",
            "staging": {"group": "test_department", "table": source_id},
        }
    )


def _tickets(first: int, count: int) -> list[dict]:
    names = ["张伟", '王"芳"', "李娜, 北京", "", None, "陈　静", "ＡＢＣ１２３", "O'Brien\\n\n😀"]
    return [
        {
            "seq": n,
            "ticket_id": f"T{n:05d}",
            "name": names[n % len(names)],
            "issued_at": datetime(2026, 9, 1, 8, 30) + timedelta(minutes=7 * n),
            "birth_date": date(1950, 1, 1) + timedelta(days=(400 * n) % 20000) if n % 5 else None,
            "amount": n * 1.25 if n % 4 else None,
            "served": n % 3 != 0,
        }
        for n in range(first, first + count)
    ]


def _norm(value: object) -> object:
    """Database values in the form the records were written in."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return value
    return value


def _expected_row(record: dict, engine: str) -> tuple:
    out = []
    for f in TICKET_SCHEMA:
        value = record[f["name"]]
        if engine == "sqlite" and isinstance(value, (datetime, date)):
            value = value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
        if f["type"] == "boolean" and engine in ("sqlite", "mariadb"):
            value = int(value)
        out.append(value)
    return tuple(out)


def _raw_expected(record: dict) -> dict:
    """What the sql connector hands to landing: raw strings."""
    out = {}
    for key, value in record.items():
        if value is None:
            out[key] = None
        elif isinstance(value, datetime):
            out[key] = value.isoformat(sep=" ")
        elif isinstance(value, float) and value.is_integer():
            out[key] = repr(value)
        else:
            out[key] = str(value)
    return out


# ------------------------------------------------------------------ SQL systems


@pytest.fixture(params=["postgresql", "mariadb", "sqlite"])
def sql_system(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, str, Settings]]:
    """(engine, database name, settings) with a private PG schema / MariaDB database / SQLite file."""
    engine = request.param
    database = f"citylake_t_{uuid.uuid4().hex[:10]}"
    if engine == "postgresql":
        require_service("PostgreSQL", "127.0.0.1", 5432)
        settings = _settings(tmp_path, source_postgres_url=PG_URL)
    elif engine == "mariadb":
        require_service("MariaDB", "127.0.0.1", 3306)
        settings = _settings(tmp_path, source_mariadb_url=MARIADB_URL)
    else:
        settings = _settings(tmp_path)
    yield engine, database, settings
    dispose_engines()
    if engine == "postgresql":
        admin = sa.create_engine(PG_URL, poolclass=NullPool)
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{database}" CASCADE')
        admin.dispose()
    elif engine == "mariadb":
        admin = sa.create_engine(MARIADB_URL, poolclass=NullPool)
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{database}`")
        admin.dispose()


def _sql_source(engine: str, database: str, schema: list[dict] = TICKET_SCHEMA) -> Source:
    return _source(
        "test_tickets",
        {"kind": "sql", "system": engine, "database": database, "table": "ticket"},
        schema,
        primary_key=["ticket_id"],
        cursor="seq",
    )


def _read_table(settings: Settings, source: Source) -> list[tuple]:
    from citylake.connectors.source_systems import sql_location

    location = sql_location(source.connector, settings)  # type: ignore[arg-type]
    engine = sa.create_engine(location.url, poolclass=NullPool)
    try:
        table = sa.Table(location.table, sa.MetaData(schema=location.schema), autoload_with=engine)
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.select(table).order_by(table.c.seq))]
    finally:
        engine.dispose()


def test_sql_delivery_round_trip_and_incremental_extract(sql_system) -> None:
    engine, database, settings = sql_system
    source = _sql_source(engine, database)
    first = _tickets(1, 40)
    written = deliver_records(source, first, settings)
    assert written == [f"{engine}:{database}.ticket"]

    rows = _read_table(settings, source)
    assert [tuple(_norm(v) for v in row) for row in rows] == [
        _expected_row(r, engine) for r in first
    ]

    # The sql connector reads it all, then only what arrives after its cursor.
    batches = list(extract(source, settings, SourceState()))
    assert sum(len(b.frame) for b in batches) == 40
    frame = batches[0].frame
    got = frame.drop(columns="_row_number").to_dict(orient="records")
    expected = [_raw_expected(r) for r in first]
    for want, have in zip(expected, got, strict=True):
        for key in ("seq", "ticket_id", "name", "issued_at"):
            assert have[key] == want[key], (key, have, want)
        # MariaDB DOUBLE reflects as a 10-place Decimal ("1.2500000000"): same number.
        assert (have["amount"] is None) == (want["amount"] is None)
        if want["amount"] is not None:
            assert float(have["amount"]) == float(want["amount"])
    assert batches[-1].cursor_hi == "40"

    second = _tickets(41, 15)
    deliver_records(source, second, settings)
    state = SourceState(cursor_high=batches[-1].cursor_hi)
    new = list(extract(source, settings, state))
    assert [b.frame["ticket_id"].tolist() for b in new] == [[r["ticket_id"] for r in second]]
    assert new[0].cursor_lo == "40" and new[0].cursor_hi == "55"
    assert list(extract(source, settings, SourceState(cursor_high="55"))) == []

    # A rerun of the generator replaces the previous delivery.
    deliver_records(source, _tickets(1, 5), settings, reset=True)
    assert [row[1] for row in _read_table(settings, source)] == [f"T{n:05d}" for n in range(1, 6)]


def test_sql_assigned_cursor_added_column_and_type_errors(sql_system) -> None:
    engine, database, settings = sql_system
    source = _sql_source(engine, database)
    records = [{k: v for k, v in r.items() if k != "seq"} for r in _tickets(1, 6)]
    deliver_records(source, records, settings)
    # The department's schema change: a new column appears in later rows.
    later = [{**r, "channel": "wechat"} for r in records[:2]]
    deliver_records(source, later, settings)
    rows = _read_table(settings, source)
    assert [row[0] for row in rows] == list(range(1, 9))  # numbered by the database
    assert [row[-1] for row in rows] == [None] * 6 + ["wechat"] * 2
    batch = next(iter(extract(source, settings, SourceState(cursor_high="6"))))
    assert batch.extra_columns == ["channel"]
    assert batch.frame["seq"].tolist() == ["7", "8"]

    bad = [{**records[0], "issued_at": "2026/09/01 8点"}]
    with pytest.raises(DeliveryError, match=r"test_tickets: record 0: issued_at="):
        deliver_records(source, bad, settings)
    assert len(_read_table(settings, source)) == 8  # nothing of the failed delivery


# ------------------------------------------------------------------ files

PERSON_SCHEMA = [
    {"name": "person_id", "type": "string", "nullable": False},
    {"name": "name", "type": "string"},
    {"name": "address", "type": "string"},
    {"name": "visits", "type": "integer"},
    {"name": "score", "type": "double"},
    {"name": "birth_date", "type": "date"},
    {"name": "registered_at", "type": "timestamp"},
]
PEOPLE = [
    {
        "person_id": "110101199003074514",
        "name": "张三",
        "address": "朝阳区建国路８８号，3单元",
        "visits": 3,
        "score": 2.5,
        "birth_date": date(1990, 3, 7),
        "registered_at": datetime(2026, 9, 1, 8, 30),
    },
    {
        "person_id": "440106198512120021",
        "name": '李"小"龙 ',
        "address": None,
        "visits": 12,
        "score": 80.0,
        "birth_date": date(1985, 12, 12),
        "registered_at": datetime(2026, 9, 1, 17, 5, 9),
    },
    {
        "person_id": "320102200001011234",
        "name": "歐陽　娜",
        "address": "鼓楼区\n中山路1号",
        "visits": None,
        "score": None,
        "birth_date": None,
        "registered_at": datetime(2026, 9, 1, 23, 59, 59),
    },
]


def _people_raw(date_only: bool = True) -> list[dict]:
    out = []
    for p in PEOPLE:
        out.append(
            {
                "person_id": p["person_id"],
                "name": p["name"],
                "address": p["address"],
                "visits": None if p["visits"] is None else str(p["visits"]),
                "score": None if p["score"] is None else p["score"],
                "birth_date": None if p["birth_date"] is None else p["birth_date"].isoformat(),
                "registered_at": p["registered_at"].isoformat(sep=" "),
            }
        )
    return out


def _records(batch) -> list[dict]:
    return batch.frame.drop(columns="_row_number").to_dict(orient="records")


def test_gbk_csv_round_trip_and_auto_detection(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    connector = {"kind": "csv_drop", "path": "civil/drop", "pattern": "*.csv", "encoding": "gbk"}
    source = _source("test_people", connector, PERSON_SCHEMA, primary_key=["person_id"])
    written = deliver_records(source, PEOPLE, settings, day=DAY)
    path = Path(written[0])
    assert path.name == "test_people_2026-09-01.csv"
    data = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert data.decode("gbk").startswith(
        "person_id,name,address,visits,score,birth_date,registered_at\r\n"
    )
    assert detect_encoding(data) == "gb18030"
    assert not list(path.parent.glob(".*"))  # no temp file left behind

    expected = _people_raw()
    for row in expected:
        row["score"] = None if row["score"] is None else repr(row["score"])
    (batch,) = extract(source, settings, SourceState())
    assert _records(batch) == expected
    assert batch.row_errors == [] and batch.file_name == path.name

    with pytest.raises(DeliveryError, match=r"test_people: .*'😀' cannot be written in gbk"):
        deliver_records(source, [{**PEOPLE[0], "name": "表情😀"}], settings, day=DAY)

    auto = _source(
        "test_people", {**connector, "encoding": "auto"}, PERSON_SCHEMA, primary_key=["person_id"]
    )
    (batch,) = extract(auto, settings, SourceState())
    assert _records(batch) == expected

    # A UTF-8 delivery into the same "auto" folder is detected as such.
    deliver_records(auto, PEOPLE[:1], settings, day=DAY + timedelta(days=1), encoding="utf-8")
    second = Path(settings.sources_root / "civil/drop/test_people_2026-09-02.csv").read_bytes()
    assert detect_encoding(second) == "utf-8"
    landed = frozenset({(batch.file_name, batch.file_sha256)})
    (batch2,) = extract(auto, settings, SourceState(landed_files=landed))
    assert _records(batch2) == expected[:1]


def test_file_names_follow_declared_pattern_and_reset(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    connector = {"kind": "ndjson_drop", "path": "drop", "pattern": "people_*.ndjson"}
    source = _source("test_people", connector, PERSON_SCHEMA, primary_key=["person_id"])
    # Without a day, records are filed by the date of their first timestamp field.
    late = {**PEOPLE[0], "registered_at": datetime(2026, 9, 2, 0, 0, 1)}
    written = deliver_records(source, [*PEOPLE, late], settings)
    assert [Path(p).name for p in written] == [
        "people_2026-09-01.ndjson",
        "people_2026-09-02.ndjson",
    ]
    first_line = json.loads(Path(written[0]).read_text(encoding="utf-8").splitlines()[0])
    assert first_line["birth_date"] == "1990-03-07" and first_line["name"] == "张三"
    deliver_records(source, PEOPLE[:1], settings, day=DAY, reset=True)
    assert sorted(p.name for p in (settings.sources_root / "drop").iterdir()) == [
        "people_2026-09-01.ndjson"
    ]
    reset_source(source, settings)
    assert list((settings.sources_root / "drop").iterdir()) == []


def test_excel_data_sheet_notes_sheet_and_bad_rows(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    connector = {"kind": "excel_drop", "path": "housing/xlsx", "pattern": "*.xlsx", "sheet": "数据"}
    source = _source("test_permits", connector, PERSON_SCHEMA, primary_key=["person_id"])
    (written,) = deliver_records(source, PEOPLE, settings, day=DAY)
    path = Path(written)
    assert path.name == "test_permits_2026-09-01.xlsx"
    wb = load_workbook(path, read_only=True)
    assert wb.sheetnames == ["数据", NOTES_SHEET]
    wb.close()
    first_bytes = path.read_bytes()
    deliver_records(source, PEOPLE, settings, day=DAY)
    assert path.read_bytes() == first_bytes  # deterministic workbook

    (batch,) = extract(source, settings, SourceState())
    assert isinstance(batch, ExcelBatch)
    assert batch.sheet == "数据" and batch.other_sheets == [NOTES_SHEET]
    expected = _people_raw()
    for row in expected:  # Excel shows 80.0 as 80
        row["score"] = {2.5: "2.5", 80.0: "80", None: None}[row["score"]]
    assert _records(batch) == expected
    assert batch.frame["_row_number"].tolist() == [2, 3, 4]

    # A department's own workbook: a title row, the header, a row too wide, an empty row.
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    wb.create_sheet("数据")
    data = wb["数据"]
    data.append(["2026年9月 住房数据"])
    data.append(["person_id", "name", "visits"])
    data.append(["110101199003074514", "张三", 3])
    data.append(["440106198512120021", "李四", 4, "多余"])
    data.append([])
    data.append(["320102200001011234", None, 5.0])
    wb.save(path.parent / "hand_made.xlsx")
    state = SourceState(landed_files=frozenset({(batch.file_name, batch.file_sha256)}))
    (hand,) = extract(source, settings, state)
    assert hand.file_name == "hand_made.xlsx" and hand.other_sheets == ["Sheet1"]
    assert hand.frame[["_row_number", "person_id", "name", "visits"]].values.tolist() == [
        [3, "110101199003074514", "张三", "3"],
        [6, "320102200001011234", None, "5"],
    ]
    assert [(e.row_number, e.reason) for e in hand.row_errors] == [
        (4, "expected 3 fields, found 4")
    ]
    assert hand.missing_columns == ["address", "score", "birth_date", "registered_at"]

    # Not a workbook at all: one row error for the file, nothing raised.
    (path.parent / "broken.xlsx").write_bytes(b"this is not a zip file")
    broken = [b for b in extract(source, settings, SourceState()) if b.file_name == "broken.xlsx"]
    assert len(broken) == 1 and "not a readable Excel workbook" in broken[0].row_errors[0].reason


# ------------------------------------------------------------------ MQTT

READING_SCHEMA = [
    {"name": "station_id", "type": "string", "nullable": False},
    {"name": "ts", "type": "timestamp", "nullable": False},
    {"name": "rain_mm", "type": "double"},
]


def test_mqtt_publishes_every_record_and_writes_the_fallback(tmp_path: Path) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    require_service("Mosquitto", "127.0.0.1", 1883)
    token = uuid.uuid4().hex[:10]
    topic = f"citylake-test/{token}/rain/+"
    connector = {"kind": "mqtt", "topic": topic, "qos": 1, "fallback_path": "sensors/rain"}
    source = _source(
        "test_rain", connector, READING_SCHEMA, primary_key=["station_id", "ts"], kind="sensor"
    )
    records = [
        {
            "station_id": f"RG-{s:03d}",
            "ts": datetime(2026, 9, 1, 0, 5) + timedelta(minutes=5 * i),
            "rain_mm": round(0.1 * ((i * 7 + s) % 30), 1),
        }
        for i in range(100)
        for s in (1, 2, 3)
    ]

    received: list[tuple[str, bytes, int]] = []
    done = threading.Event()
    subscribed = threading.Event()
    client_id = f"citylake-test-{token}"

    def on_connect(client, userdata, flags, reason_code, properties):
        client.subscribe(topic, qos=1)

    def on_subscribe(client, userdata, mid, reason_codes, properties):
        subscribed.set()

    def on_message(client, userdata, message):
        received.append((message.topic, message.payload, message.qos))
        if len(received) >= len(records):
            done.set()

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    sub.on_connect, sub.on_subscribe, sub.on_message = on_connect, on_subscribe, on_message
    sub.connect("127.0.0.1", 1883)
    sub.loop_start()
    try:
        assert subscribed.wait(10), "subscription not acknowledged"
        settings = _settings(tmp_path, mqtt_url=MQTT_URL)
        written = deliver_records(source, records, settings)
        assert written[0].startswith("mqtt://127.0.0.1:1883/citylake-test/")
        assert done.wait(15), f"received {len(received)} of {len(records)} messages"
    finally:
        sub.disconnect()
        sub.loop_stop()
        # Drop the persistent session from the broker.
        cleaner = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        cleaner.connect("127.0.0.1", 1883)
        cleaner.disconnect()

    assert {q for _, _, q in received} == {1}
    got = sorted((t, json.loads(p)["ts"], json.loads(p)["rain_mm"]) for t, p, _ in received)
    want = sorted(
        (f"citylake-test/{token}/rain/{r['station_id']}", r["ts"].isoformat(sep=" "), r["rain_mm"])
        for r in records
    )
    assert got == want

    # The same records are in the fallback drop, which the mqtt connector reads.
    fallback = Path(written[1])
    assert fallback == settings.sources_root / "sensors/rain/test_rain_2026-09-01.ndjson"
    batches = list(extract(source, settings, SourceState()))
    assert sum(len(b.frame) for b in batches) == len(records)
    assert batches[0].frame.iloc[0][["station_id", "ts", "rain_mm"]].tolist() == [
        "RG-001",
        "2026-09-01 00:05:00",
        "0.1",
    ]


# ------------------------------------------------------------------ REST API

PERMIT_SCHEMA = [
    {"name": "permit_id", "type": "string", "nullable": False},
    {"name": "holder", "type": "string"},
    {"name": "updated_at", "type": "timestamp", "nullable": False},
]


def _permits(first: int, count: int, minute: int = 0) -> list[dict]:
    # Two records share each updated_at: ties must not be lost or read twice.
    return [
        {
            "permit_id": f"P{n:04d}",
            "holder": f"持证人{n}",
            "updated_at": f"2026-09-01 10:{minute + n // 2:02d}:00",
        }
        for n in range(first, first + count)
    ]


def test_api_server_paginates_and_rest_connector_retries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rest_connector, "BACKOFF_SECONDS", 0.05)
    endpoint = f"/test_{uuid.uuid4().hex[:8]}/permits"
    source = _source(
        "test_permits",
        {"kind": "rest_api", "endpoint": endpoint, "page_size": 10},
        PERMIT_SCHEMA,
        primary_key=["permit_id"],
    )
    settings = _settings(tmp_path)
    first = list(reversed(_permits(0, 25)))  # delivered out of order; served by (updated_at, key)
    deliver_records(source, first, settings)

    with serve(settings, port=0, sources=[source]) as server:
        settings = replace(settings, source_api_url=server.url)
        with httpx.Client(base_url=server.url) as client:
            page1 = client.get(endpoint, params={"page": 1, "page_size": 10}).json()
            page3 = client.get(endpoint, params={"page": 3, "page_size": 10}).json()
            since = client.get(
                endpoint, params={"updated_since": "2026-09-01 10:11:00", "page_size": 10}
            ).json()
            health = client.get("/health").json()
            missing = client.get("/nope")
        assert page1["total"] == 25 and page1["page"] == 1 and page1["next_page"] == 2
        assert [i["permit_id"] for i in page1["items"]] == [f"P{n:04d}" for n in range(10)]
        assert page3["next_page"] is None and len(page3["items"]) == 5
        assert since["total"] == 3 and [i["permit_id"] for i in since["items"]] == [
            "P0022",
            "P0023",
            "P0024",
        ]
        assert health["endpoints"] == [endpoint] and missing.status_code == 404

        # Two 503s, then the 3 pages: the connector retries and gets everything.
        server.inject_failures(2, status=503, retry_after=None)
        before = server.requests
        batches = list(extract(source, settings, SourceState()))
        assert server.requests - before == 5
        assert [r["permit_id"] for b in batches for r in _records(b)] == [
            f"P{n:04d}" for n in range(25)
        ]
        high = batches[-1].cursor_hi
        assert high == "2026-09-01 10:12:00\tP0024"

        # New records, one sharing the last updated_at; a 429 with Retry-After on the way.
        deliver_records(source, _permits(25, 4), settings)
        server.inject_failures(1, status=429, retry_after=1)
        clock = time.perf_counter()
        (batch,) = extract(source, settings, SourceState(cursor_high=high))
        assert time.perf_counter() - clock >= 1.0  # Retry-After honoured
        assert batch.frame["permit_id"].tolist() == ["P0025", "P0026", "P0027", "P0028"]
        assert batch.cursor_lo == high and batch.cursor_hi == "2026-09-01 10:14:00\tP0028"
        assert list(extract(source, settings, SourceState(cursor_high=batch.cursor_hi))) == []

        # A source whose API keeps failing fails clearly, naming source, URL and status.
        monkeypatch.setattr(rest_connector, "MAX_ATTEMPTS", 3)
        server.inject_failures(100, status=503, retry_after=None)
        with pytest.raises(rest_connector.RestSourceError) as failure:
            list(extract(source, settings, SourceState()))
        message = str(failure.value)
        assert "test_permits" in message and server.url + endpoint in message
        assert "failed 3 times" in message and "HTTP 503" in message
