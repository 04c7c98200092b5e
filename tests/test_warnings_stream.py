"""The warnings stream makes the batch job's records, micro-batch by micro-batch.

A small hand-made storm (four rain gauges in three districts, a river gauge rising over
its warning level, readings delivered out of order and one far behind the watermark) is
written as feed files the way landing writes them, streamed with ``availableNow`` one
file per source per micro-batch (the engines' state carries over), and compared with
``transforms.warnings.warning_records`` over the same rows. The CAP messages go to a
real receiver on 127.0.0.1; landing's feed files come from a real ``LandingRun``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from lxml import etree

from citylake.alerts.cap import CAP_NS, validate
from citylake.alerts.receiver import CapReceiver
from citylake.landing.feeds import feed_file_name, write_feed_file
from citylake.settings import Settings, load_settings
from citylake.warnings.replay import RECORD_COLUMNS, RECORD_SCHEMA

NS = {"cap": CAP_NS}
START = datetime(2026, 7, 1)  # readings 00:00 .. 06:55, twelve 5-minute steps an hour
HOURS = 7
DISTRICTS = ["310101", "310104", "310105"]
GAUGES = {"RG-001": "310101", "RG-002": "310101", "RG-003": "310104", "RG-004": "310105"}
STORM = [2.1, 2.6, 3.0, 2.4, 2.8, 2.2, 2.5, 3.1]  # mm per 5 min, never the same twice running


def rain_mm(station: str, step: int) -> float:
    at = START + timedelta(minutes=5 * step)
    if station == "RG-001" and 1 <= at.hour < 3:  # ~60 mm in 2 h: orange
        return STORM[step % len(STORM)]
    if station == "RG-003" and (at.hour, at.minute) >= (0, 50) and at.hour < 3:
        return [0.4, 0.6, 0.5][step % 3]  # the neighbour's rain: not an isolated storm
    if station == "RG-002" and at.hour < 3:
        return [0.1, 0.2][step % 2]
    return 0.0


def stage_m(step: int) -> float:
    """Rises 3 cm per 5 min over the 4.5 m warning level (from 02:05), then falls."""
    return round(3.8 + 0.03 * (step if step <= 40 else 80 - step), 2)


def hourly_rows() -> tuple[list[list[dict]], list[list[dict]]]:
    """Rain and river rows per delivery (one an hour), some delivered late."""
    rain: list[list[dict]] = [[] for _ in range(HOURS)]
    river: list[list[dict]] = [[] for _ in range(HOURS)]
    for step in range(HOURS * 12):
        at = START + timedelta(minutes=5 * (step + 1))  # end of the interval
        hour = min(step // 12, HOURS - 1)
        for station, district in GAUGES.items():
            delivery = hour
            if station == "RG-002" and step in (30, 31, 32):
                delivery = hour + 1  # an hour late: out of order at its gauge
            if station == "RG-004" and step == 40:
                delivery = HOURS - 1  # hours late: far behind the watermark
            rain[min(delivery, HOURS - 1)].append(
                {
                    "station_id": station,
                    "district_code": district,
                    "ts": at,
                    "rain_mm": rain_mm(station, step),
                }
            )
        river[hour].append(
            {
                "station_id": "RV-001",
                "district_code": "310104",
                "ts": at,
                "stage_m": stage_m(step),
                "warning_level_m": 4.5,
                "guaranteed_level_m": 5.5,
            }
        )
    return rain, river


LINEAGE = [
    ("_row_number", pa.int64()),
    ("_batch_id", pa.string()),
    ("_loaded_at", pa.timestamp("us")),
    ("_source_system", pa.string()),
    ("_source_ref", pa.string()),
]


def write_deliveries(
    folder: Path, source_id: str, deliveries: list[list[dict]], first: int = 0
) -> list[Path]:
    """Each delivery as landing writes it: bronze columns, lineage, commit-ordered files."""
    measures = [c for c in deliveries[0][0] if c not in ("station_id", "district_code", "ts")]
    schema = pa.schema(
        [("station_id", pa.string()), ("district_code", pa.string()), ("ts", pa.timestamp("us"))]
        + [(c, pa.float64()) for c in measures]
        + LINEAGE
    )
    paths = []
    for n, rows in enumerate(deliveries, start=first):
        loaded_at = datetime(2026, 7, 1, 12, 0) + timedelta(minutes=n, microseconds=n * 7)
        batch_id = f"{source_id}-test{n:04d}"
        lineage = {
            "_batch_id": batch_id,
            "_loaded_at": loaded_at,
            "_source_system": "test",
            "_source_ref": f"sensors/{source_id}/+",
        }
        table = pa.Table.from_pylist(
            [{**row, **lineage, "_row_number": i} for i, row in enumerate(rows, start=1)],
            schema=schema,
        )
        mtime_ms = int(time.time() * 1000) - 60_000 + n  # commit order, as landing sets it
        paths.append(write_feed_file(folder, feed_file_name(loaded_at, batch_id), table, mtime_ms))
    return paths


@dataclass
class StreamRun:
    home: Path
    folders: dict[str, Path]
    output: Path
    checkpoint: Path
    receiver: CapReceiver
    batches: int


@pytest.fixture(scope="module")
def stream_run(spark, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamRun]:
    """The storm streamed (one feed file per source per micro-batch), alerts on; the last
    hour arrives after the query stopped and is streamed by a new one from the checkpoint."""
    from transforms import warnings_stream as ws

    def stream_once(settings: Settings, folders: dict[str, Path], output: Path) -> None:
        feeds = ws.read_feed_streams(spark, folders, max_files_per_trigger=1)
        records = ws.stream_records(ws.stream_readings(feeds, DISTRICTS), "30 minutes")
        sink = ws.RecordSink(output, ws.AlertPublisher(output, settings.serving_db))
        query = ws.start_query(records, sink, settings.warnings_checkpoint, once=True)
        query.awaitTermination(300)
        assert not query.isActive and query.exception() is None

    home = tmp_path_factory.mktemp("warnings-stream")
    with CapReceiver() as receiver, pytest.MonkeyPatch.context() as patch:
        patch.setenv("CITYLAKE_HOME", str(home))
        patch.setenv("CITYLAKE_ALERT_WEBHOOKS", receiver.url)
        settings = load_settings()
        folders = {s: settings.feed_path(s) for s in ws.WARNING_SOURCES}
        rain, river = hourly_rows()
        output = settings.gold_dir / "warning_records_stream"
        write_deliveries(folders["rain_gauge"], "rain_gauge", rain[:-1])
        write_deliveries(folders["river_stage"], "river_stage", river[:-1])
        stream_once(settings, folders, output)
        write_deliveries(folders["rain_gauge"], "rain_gauge", rain[-1:], first=HOURS - 1)
        write_deliveries(folders["river_stage"], "river_stage", river[-1:], first=HOURS - 1)
        stream_once(settings, folders, output)
        batches = len(list((settings.warnings_checkpoint / "commits").glob("[0-9]*")))
        yield StreamRun(home, folders, output, settings.warnings_checkpoint, receiver, batches)


def records_of(spark, folder: Path):
    return spark.read.schema(RECORD_SCHEMA).parquet(str(folder)).select(*RECORD_COLUMNS)


def test_streaming_makes_the_batch_records(spark, stream_run: StreamRun) -> None:
    from transforms.warnings import sensor_readings, warning_records

    feeds = {
        s: spark.read.parquet(str(f)) for s, f in stream_run.folders.items() if any(f.iterdir())
    }
    batch = warning_records(sensor_readings(feeds)).select(*RECORD_COLUMNS).cache()
    stream = records_of(spark, stream_run.output).cache()

    assert stream_run.batches >= HOURS  # one delivery per micro-batch: state carried over
    assert batch.count() == stream.count() > 0
    assert batch.exceptAll(stream).count() == 0 and stream.exceptAll(batch).count() == 0
    kinds = {
        (r["record"], r["hazard"]) for r in batch.select("record", "hazard").distinct().collect()
    }
    # The storm and the flood both warned; quality control saw the late and out-of-order rows.
    assert {("change", "rainstorm"), ("change", "flood"), ("notice", "rainstorm")} <= kinds
    late = stream.where("reason = 'out_of_order'").select("station_id").distinct().collect()
    # RG-004's reading came hours behind the watermark, and still counted, as in batch.
    assert {r[0] for r in late} == {"RG-002", "RG-004"}


def test_a_rerun_batch_id_replaces_its_own_file(
    spark, stream_run: StreamRun, tmp_path: Path
) -> None:
    from transforms.warnings_stream import RecordSink

    frame = records_of(spark, stream_run.output)
    sink = RecordSink(tmp_path / "out")  # no alerts here: the outbox keeps each message once
    sink(frame, 7)
    sink(frame, 7)
    sink(frame.limit(5), 8)
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["batch-000000000007.parquet", "batch-000000000008.parquet"]
    assert records_of(spark, tmp_path / "out").count() == frame.count() + 5


def test_changes_arrive_as_cap_chained_across_micro_batches(spark, stream_run: StreamRun) -> None:
    changes = records_of(spark, stream_run.output).where("record = 'change'").toPandas()
    by_file = {
        p.name: pq.read_table(p).to_pandas() for p in stream_run.output.glob("batch-*.parquet")
    }
    received = stream_run.receiver.messages
    assert len(received) == len(changes) > 0
    for xml in received.values():
        validate(xml)  # CAP 1.2 schema
    types = {etree.fromstring(x).findtext("cap:msgType", namespaces=NS) for x in received.values()}
    # The flood is lifted in the hour the second query streamed: its Cancel references
    # the messages the first query sent (the chain is read back from the stream's output).
    assert types == {"Alert", "Update", "Cancel"}
    chained_across = False
    for warning_id, chain in changes.groupby("warning_id"):
        chain = chain.sort_values("sequence")
        files = {
            name
            for name, frame in by_file.items()
            if ((frame["warning_id"] == warning_id) & (frame["record"] == "change")).any()
        }
        chained_across |= len(files) > 1
        earlier: list[str] = []
        for sequence in chain["sequence"]:
            identifier = f"citylake-{warning_id}-{sequence}"
            root = etree.fromstring(received[identifier])
            references = root.findtext("cap:references", namespaces=NS) or ""
            assert [ref.split(",")[1] for ref in references.split()] == earlier
            earlier.append(identifier)
        order = [i for i in stream_run.receiver.order if i.startswith(f"citylake-{warning_id}-")]
        assert order == earlier  # each chain arrived in sequence order
    assert chained_across, "no warning's changes spanned two micro-batches"


def test_retention_deletes_only_old_files_the_checkpoint_committed(stream_run: StreamRun) -> None:
    from transforms.warnings_stream import committed_feed_files, prune_feeds

    rain = stream_run.folders["rain_gauge"]
    committed = committed_feed_files(stream_run.checkpoint)
    assert {p.resolve() for p in rain.glob("*.parquet")} <= committed
    expired = sorted(rain.glob("*.parquet"))[:2]
    unread = write_feed_file(rain, "29990101T000000000000-later.parquet", pa.table({"x": [1]}))
    old = time.time() - 10 * 86400
    for path in (*expired, unread):
        os.utime(path, (old, old))
    before = set(rain.glob("*.parquet"))
    deleted = prune_feeds([rain], stream_run.checkpoint, retention_days=7)
    assert sorted(deleted) == [p.resolve() for p in expired] and unread.exists()
    assert set(rain.glob("*.parquet")) == before - set(deleted)


@pytest.fixture(scope="module")
def validator(tmp_path_factory: pytest.TempPathFactory):
    from quality.validate import Validator

    return Validator(tmp_path_factory.mktemp("gx"))


@pytest.fixture()
def lake_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CITYLAKE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CITYLAKE_MQTT_URL", raising=False)  # sensor drops land from files
    return load_settings()


def test_landing_writes_one_feed_file_per_committed_sensor_batch(
    lake_settings: Settings, validator
) -> None:
    from citylake.catalog import default_catalog
    from citylake.connectors.stream_messages import Message, now_utc
    from citylake.orchestration.stream import land_messages, stream_landing

    settings = lake_settings
    source = default_catalog()["river_stage"]
    rows = [
        {
            "station_id": f"RV-{i % 3 + 1:03d}",
            "district_code": "310104",
            "ts": (START + timedelta(minutes=5 * (i // 3))).isoformat(),
            "stage_m": 3.0,
            "warning_level_m": 4.5,
            "guaranteed_level_m": 5.5,
        }
        for i in range(12)
    ]
    messages = [
        Message(f"sensors/river_stage/{r['station_id']}", json.dumps(r).encode(), i, 1, now_utc())
        for i, r in enumerate(rows, start=1)
    ]
    entries = []
    for run_id, part in (("run1", messages[:7]), ("run1", messages[7:]), ("run2", messages[:7])):
        run = stream_landing(source, settings, validator, run_id)
        entries.append(land_messages(run, "sensors/river_stage/+", part))
    assert entries[2].batch_id == entries[0].batch_id  # redelivered whole: a no-op

    files = sorted(settings.feed_path("river_stage").iterdir())
    assert [f.name.split("-", 1)[1] for f in files] == [
        f"{entries[0].batch_id}.parquet",
        f"{entries[1].batch_id}.parquet",
    ]
    assert files[0].stat().st_mtime_ns < files[1].stat().st_mtime_ns
    first = pq.read_table(files[0])
    assert first.num_rows == entries[0].rows_landed == 7
    assert first.schema.field("ts").type == pa.timestamp("us")  # wall clock, no zone
    assert first.schema.field("_loaded_at").type == pa.timestamp("us")
    assert {"_batch_id", "_source_ref", "_row_number", "stage_m"} <= set(first.column_names)
    loaded_at = first.column("_loaded_at")[0].as_py()
    assert files[0].name == feed_file_name(loaded_at, entries[0].batch_id)


def test_rain_drops_land_as_feed_files_once_and_a_crash_before_them_is_repaired(
    lake_settings: Settings, validator
) -> None:
    import shutil

    from citylake.landing import ingest_source

    settings = lake_settings
    drop = settings.sources_root / "sensors" / "rain_gauge"
    drop.mkdir(parents=True)
    rain, _ = hourly_rows()
    for day, rows in enumerate(rain[:3], start=1):
        lines = [json.dumps({**r, "ts": r["ts"].isoformat()}) for r in rows]
        (drop / f"rain_2026-07-0{day}.ndjson").write_text("\n".join(lines) + "\n")
    feeds = settings.feed_path("rain_gauge")

    report = ingest_source("rain_gauge", settings, validator=validator)
    files = sorted(feeds.iterdir())
    assert len(files) == report.batches == 3  # one group, one file per batch
    assert sum(pq.read_metadata(f).num_rows for f in files) == report.landed
    assert [f.stat().st_mtime_ns for f in files] == sorted(f.stat().st_mtime_ns for f in files)

    ingest_source("rain_gauge", settings, validator=validator)  # nothing new
    assert sorted(feeds.iterdir()) == files

    # A crash after the bronze commit, before the feed files and the ledger: the rerun
    # finds the batches in bronze (nothing lands twice) and writes the missing files.
    shutil.rmtree(settings.ledger_path)
    for f in files[1:]:
        f.unlink()
    again = ingest_source("rain_gauge", settings, validator=validator)
    assert again.batches == 3 and sorted(feeds.iterdir()) == files
    assert sum(pq.read_metadata(f).num_rows for f in files) == report.landed
