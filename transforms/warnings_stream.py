"""Disaster pre-warnings, streaming: the batch job's engine, fed micro-batch by micro-batch.

Streams the feed files landing writes for the four warning feeds (``<lake>/feeds/<source>/``,
one Parquet file per committed batch), makes readings with the batch job's own
``feed_readings`` / ``route_readings`` and keeps one pickled :class:`DistrictEngine` per
(hazard, district) in Spark state (``applyInPandasWithState``, default state store). The
records equal ``transforms/warnings.py``'s over the same rows: Spark takes new files
oldest modification time first and landing sets that to the commit time, so no row of a
micro-batch arrived before one of an earlier micro-batch (a group sees one feed only);
each group's rows are fed sorted by ``replay.ARRIVAL``; the engine is deterministic.

Rain districts (a rain reading goes to every district's group) cannot be collected from
a stream: taken once at start-up from the rain gauges' bronze (or ``--district``). A
district first seen later gets its own group at once, the neighbour checks after a restart.

Watermark (``CITYLAKE_WARNINGS_WATERMARK``, 24 hours: a rain gauge's window) on
``reading_at``, for the query's event-time progress. It drops nothing: with
``NoTimeout`` Spark filters late rows only for event-time timeouts, and the engine judges
lateness itself ("late", "out_of_order") as in batch; dropping rows would break equality.

Sink (``foreachBatch``): records as ``<gold>/warning_records_stream/batch-<id>.parquet``
(written then renamed; a re-run batch id replaces its own file), then changes as CAP 1.2
messages into the outbox, delivered at once.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pickle
import signal
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import reduce
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import pandas as pd
import pyarrow as pa

from citylake.catalog import FieldType, Source, default_catalog
from citylake.settings import Settings, load_settings
from citylake.warnings import DistrictEngine, criteria, replay
from transforms.warnings import city_wide_districts, feed_readings, read_feeds, route_readings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery
    from pyspark.sql.streaming.state import GroupState

    from citylake.alerts import Outbox

__all__ = [
    "AlertPublisher",
    "RecordSink",
    "advance_engine",
    "committed_feed_files",
    "feed_schema",
    "main",
    "prune_feeds",
    "read_feed_streams",
    "start_query",
    "stream_readings",
    "stream_records",
    "write_batch_records",
]

log = logging.getLogger(__name__)

WARNING_SOURCES = tuple(source for source, _, _ in criteria.FEEDS.values())
STATE_SCHEMA = "engine binary"
# Spark DDL of the bronze types (landing's Arrow types); the other names are the same.
_SPARK_TYPES = {FieldType.integer: "bigint", FieldType.timestamp: "timestamp_ntz"}
_LINEAGE = (
    "_row_number bigint, _batch_id string, _loaded_at timestamp_ntz, "
    "_source_system string, _source_ref string"
)
# The records' Parquet schema from the engine's own DDL (one definition of a record).
_ALIAS = {"timestamp_ntz": "timestamp[us]", "int": "int32", "long": "int64", "boolean": "bool"}
_DDL = (c.split() for c in replay.RECORD_SCHEMA.split(","))
RECORD_ARROW = pa.schema([(name, pa.type_for_alias(_ALIAS.get(t, t))) for name, t in _DDL])
_SORT = ["hazard", "district_code", "at", "record", "station_id", "sequence", "reason"]


# -- the query ---------------------------------------------------------------------------


def feed_schema(source: Source) -> str:
    """The bronze columns of ``source`` (catalog declaration plus lineage) as Spark DDL."""
    declared = ", ".join(
        f"{f.name} {_SPARK_TYPES.get(f.type, f.type.value)}" for f in source.fields
    )
    return f"{declared}, {_LINEAGE}"


def read_feed_streams(
    spark: SparkSession, folders: Mapping[str, Path], max_files_per_trigger: int
) -> dict[str, DataFrame]:
    """One file stream per feed folder (created if absent: a feed not landed yet is empty)."""
    catalog = default_catalog()
    streams = {}
    for source_id, folder in folders.items():
        folder.mkdir(parents=True, exist_ok=True)
        streams[source_id] = (
            spark.readStream.schema(feed_schema(catalog[source_id]))
            .option("maxFilesPerTrigger", max_files_per_trigger)
            .parquet(str(folder))
        )
    return streams


def stream_readings(feeds: Mapping[str, DataFrame], districts: Sequence[str]) -> DataFrame:
    """The feeds' rows as routed readings, exactly as the batch job makes them."""
    parts = [feed_readings(frame, source_id) for source_id, frame in feeds.items()]
    return route_readings(reduce(lambda a, b: a.unionByName(b), parts), districts)


def advance_engine(
    key: tuple[Any, ...], frames: Iterator[pd.DataFrame], state: GroupState
) -> Iterator[pd.DataFrame]:
    """One group's new rows through its engine, kept pickled in the group's state."""
    hazard, district = (str(k) for k in key)
    engine = pickle.loads(state.get[0]) if state.exists else DistrictEngine(hazard, district)
    rows = pd.concat(list(frames), ignore_index=True)
    records = replay.run(engine, replay.readings(rows))  # readings() sorts by ARRIVAL
    state.update((pickle.dumps(engine, protocol=pickle.HIGHEST_PROTOCOL),))
    if records:
        yield replay.records_frame(records)


def stream_records(readings: DataFrame, watermark: str) -> DataFrame:
    """Every new record of every (hazard, district) group (``replay.RECORD_SCHEMA``)."""
    from pyspark.sql import functions as F
    from pyspark.sql.streaming.state import GroupStateTimeout

    # A watermark needs a TIMESTAMP: reading_at (wall clock) read in the session zone.
    return (
        readings.withColumn("_event_time", F.col("reading_at").cast("timestamp"))
        .withWatermark("_event_time", watermark)
        .groupBy("hazard", "district_key")
        .applyInPandasWithState(
            advance_engine,
            outputStructType=replay.RECORD_SCHEMA,
            stateStructType=STATE_SCHEMA,
            outputMode="append",
            timeoutConf=GroupStateTimeout.NoTimeout,
        )
    )


def start_query(
    records: DataFrame,
    sink: RecordSink,
    checkpoint: Path,
    *,
    once: bool = False,
    trigger_seconds: float = 5.0,
) -> StreamingQuery:
    """``once``: everything available now, then stop (tests, backfills); else every N s."""
    writer = records.writeStream.foreachBatch(sink).option("checkpointLocation", str(checkpoint))
    if once:
        writer = writer.trigger(availableNow=True)
    else:
        writer = writer.trigger(processingTime=f"{round(trigger_seconds * 1000)} milliseconds")
    return writer.start()


# -- the sink ----------------------------------------------------------------------------


def write_batch_records(records: pa.Table, folder: Path, batch_id: int) -> Path | None:
    """A micro-batch's records as ``batch-<id>.parquet``; a re-run replaces its own file."""
    target = folder / f"batch-{batch_id:012d}.parquet"
    if not records.num_rows:
        target.unlink(missing_ok=True)
        return None
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    table = (
        records.select(RECORD_ARROW.names)
        .cast(RECORD_ARROW)
        .sort_by([(c, "ascending") for c in _SORT])
    )
    partial = folder / f".{target.name}.tmp-{uuid.uuid4().hex}"
    try:
        pq.write_table(table, partial)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


def district_names(serving_db: Path) -> dict[str, str]:
    """District code -> name from the published ``marts.dim_geography`` ({} before a publish)."""
    if not serving_db.exists():
        return {}
    import duckdb

    try:
        with duckdb.connect(str(serving_db), read_only=True) as con:
            rows = con.execute(
                "select district_code, min(district_name) from marts.dim_geography"
                " where district_code is not null and district_name is not null group by 1"
            ).fetchall()
    except duckdb.Error as exc:
        log.warning("district names unavailable (%s): CAP messages name district codes", exc)
        return {}
    return {str(code): str(name) for code, name in rows}


def load_open_chains(folder: Path) -> dict[str, dict[int, dict[str, Any]]]:
    """The change records of every warning not yet lifted, from the stream's own output."""
    import pyarrow.dataset as pads

    chains: dict[str, dict[int, dict[str, Any]]] = {}
    if not folder.is_dir():
        return chains
    dataset = pads.dataset(str(folder), schema=RECORD_ARROW, format="parquet")
    for row in dataset.to_table(filter=pads.field("record") == "change").to_pylist():
        chains.setdefault(row["warning_id"], {})[int(row["sequence"])] = row
    return {w: c for w, c in chains.items() if c[max(c)]["action"] != "lifted"}


class AlertPublisher:
    """Changes -> CAP messages -> outbox -> delivered. A message references its warning's
    earlier ones, made by earlier micro-batches: open warnings' changes are kept here (read
    at start-up from the stream's output, dropped once lifted), and the whole chain is
    enqueued each time (the outbox keeps what it holds), so nothing is ever missing."""

    def __init__(self, records_dir: Path, serving_db: Path, outbox: Outbox | None = None) -> None:
        from citylake.alerts import Outbox

        self.outbox = outbox or Outbox()
        self.serving_db = serving_db
        self.chains = load_open_chains(records_dir)
        self.owed = True  # deliver once at start: what an earlier run left queued

    def publish(self, changes: Iterable[Mapping[str, Any]]) -> int:
        """Queue and deliver; returns how many messages were new to the outbox."""
        from citylake.alerts.changes import render_records

        touched: dict[str, None] = {}  # the warnings this batch changed, in order
        for row in changes:
            touched[str(row["warning_id"])] = None
            self.chains.setdefault(str(row["warning_id"]), {})[int(row["sequence"])] = dict(row)
        rendered = []
        names = district_names(self.serving_db) if touched else {}
        for warning_id in touched:
            chain = self.chains[warning_id]
            try:
                rendered += render_records([chain[s] for s in sorted(chain)], names)
            except ValueError as exc:  # an incomplete history: the others still go out
                log.error("warning %s: no CAP message (%s)", warning_id, exc)
        queued = self.outbox.enqueue(rendered) if rendered else 0
        if rendered or self.owed:
            report = self.outbox.deliver()
            # Only a failed or held-back delivery is retried by a later micro-batch.
            self.owed = bool(report.failed or report.waiting)
            if queued or report.failed:
                log.info("alerts: %d queued; %s", queued, report.summary())
        for warning_id in touched:
            chain = self.chains[warning_id]
            if chain[max(chain)]["action"] == "lifted":
                del self.chains[warning_id]
        return queued


class RecordSink:
    """The ``foreachBatch`` function: records to Parquet per batch id, changes to alerts."""

    def __init__(self, output: Path, alerts: AlertPublisher | None = None) -> None:
        self.output = output
        self.alerts = alerts
        self.rows = 0

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        records = batch.toArrow()  # one execution of the micro-batch; records are few
        write_batch_records(records, self.output, batch_id)
        self.rows += records.num_rows
        if self.alerts is not None:
            changes = [r for r in records.to_pylist() if r["record"] == "change"]
            self.alerts.publish(changes)


# -- retention of the feed files ---------------------------------------------------------


def committed_feed_files(checkpoint: Path) -> set[Path]:
    """Files a committed micro-batch has read: the file sources log each file with its
    batch (``sources/<n>/<batch>[.compact]``, JSON lines); ``commits/<batch>`` commits it."""
    commits = [int(p.name) for p in (checkpoint / "commits").glob("*") if p.name.isdigit()]
    if not commits:
        return set()
    last = max(commits)
    found = set()
    for entry_log in (checkpoint / "sources").glob("*/*"):
        if entry_log.name.startswith(".") or not entry_log.name.split(".")[0].isdigit():
            continue
        for line in entry_log.read_text(encoding="utf-8").splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("batchId", last + 1) <= last:
                    found.add(Path(unquote(urlparse(entry["path"]).path)).resolve())
    return found


def prune_feeds(
    folders: Iterable[Path], checkpoint: Path, retention_days: float, now: float | None = None
) -> list[Path]:
    """Delete feed files older than the retention that the stream has committed, and
    temporary files of crashed writes older than it; returns what was deleted."""
    cutoff = (time.time() if now is None else now) - retention_days * 86400
    committed = committed_feed_files(checkpoint)
    deleted = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for entry in os.scandir(folder):
            path = Path(entry.path).resolve()
            if entry.stat().st_mtime >= cutoff:
                continue
            if entry.name.startswith(".") or path in committed:
                path.unlink(missing_ok=True)
                deleted.append(path)
    log.info("feed retention: %d file(s) older than %g days deleted", len(deleted), retention_days)
    return deleted


# -- the service -------------------------------------------------------------------------


def startup_districts(spark: SparkSession, settings: Settings) -> list[str]:
    """The rain districts from the rain gauges' bronze snapshot (the batch job's list)."""
    rain = {criteria.FEEDS[h][0] for h in replay.CITY_WIDE}
    feeds = read_feeds(spark, {s: settings.bronze_path(s) for s in sorted(rain)})
    if not feeds:
        log.warning("no rain gauge landed yet: rain readings go to their own district only")
        return []
    return city_wide_districts(stream_readings(feeds, []))


def main(argv: list[str] | None = None) -> int:
    """Run the warnings stream until SIGTERM (or, with ``--once``, over what is there)."""
    from citylake.warehouse.spark_session import get_spark

    settings = load_settings()
    conf = settings.warnings_stream
    parser = argparse.ArgumentParser(description="Disaster pre-warnings, streaming.")
    parser.add_argument("--once", action="store_true", help="process what is there, then stop")
    parser.add_argument("--trigger-seconds", type=float, default=conf.trigger_seconds)
    parser.add_argument("--max-files-per-trigger", type=int, default=conf.max_files_per_trigger)
    parser.add_argument("--watermark", default=conf.watermark)
    parser.add_argument("--output", type=Path, default=settings.gold_dir / "warning_records_stream")
    parser.add_argument("--checkpoint", type=Path, default=settings.warnings_checkpoint)
    parser.add_argument("--district", action="append", help="rain districts (default: bronze)")
    args = parser.parse_args(argv)

    spark = get_spark("citylake-warnings-stream")
    folders = {s: settings.feed_path(s) for s in WARNING_SOURCES}
    districts = args.district or startup_districts(spark, settings)
    feeds = read_feed_streams(spark, folders, args.max_files_per_trigger)
    records = stream_records(stream_readings(feeds, districts), args.watermark)
    sink = RecordSink(args.output, AlertPublisher(args.output, settings.serving_db))
    query = start_query(
        records, sink, args.checkpoint, once=args.once, trigger_seconds=args.trigger_seconds
    )
    log.info(
        "warnings stream %s: %d rain districts, output %s", query.id, len(districts), args.output
    )

    stopping = threading.Event()
    previous = {
        s: signal.signal(s, lambda *_: stopping.set()) for s in (signal.SIGTERM, signal.SIGINT)
    }
    retention = conf.feed_retention_days
    pruned_at = 0.0
    try:
        while query.isActive:
            if stopping.is_set():  # let a running micro-batch finish (else it re-runs)
                deadline = time.monotonic() + 60
                while query.status.get("isTriggerActive") and time.monotonic() < deadline:
                    time.sleep(0.2)
                query.stop()
                break
            if time.monotonic() - pruned_at > 3600:
                prune_feeds(folders.values(), args.checkpoint, retention)
                pruned_at = time.monotonic()
            query.awaitTermination(1)  # raises if the query failed
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if (failure := query.exception()) is not None:
        raise RuntimeError(f"warnings stream failed: {failure}")
    prune_feeds(folders.values(), args.checkpoint, retention)
    log.info("warnings stream stopped: %d records written", sink.rows)
    return sink.rows


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    main()
