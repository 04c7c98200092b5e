"""What landing commits for a sensor source, as files a Spark file stream can read.

After a group of a ``kind: sensor`` source is committed to bronze, each batch that
landed rows gets one Parquet file in ``<lake>/feeds/<source_id>/`` holding exactly its
bronze rows (every bronze column, lineage included; timestamps wall-clock, microseconds,
no zone). The warnings stream (``transforms/warnings_stream.py``) reads these folders.

- **Atomic**: written under a hidden temporary name (Spark ignores ``.`` files), fsynced,
  then renamed, so a file stream never sees half a file.
- **Commit order**: named ``<_loaded_at %Y%m%dT%H%M%S%f>-<batch id>.parquet`` and with
  its modification time set to ``_loaded_at`` (nudged 1 ms forward so one writer's
  files never tie): Spark's file source takes new files oldest modification time first,
  so micro-batches follow the order landing committed the rows in, which is the warning
  engine's clock (``_loaded_at``, ``_source_ref``, ``_row_number``).
- **Once**: only batches this group newly committed get a file. A batch found already in
  bronze (a rerun, a redelivered MQTT batch) gets one only when its file is missing and it
  is younger than the feed retention: the crash between the bronze commit and this write.
  A crash after the ledger commit and before the file is written is not repaired for file
  and cursor sources (they never extract the batch again); the MQTT stream redelivers it.

Files are deleted by the warnings stream (retention ``CITYLAKE_FEED_RETENTION_DAYS``),
only once its checkpoint has committed them.
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq
from deltalake import DeltaTable

from citylake import lake
from citylake.catalog import Source
from citylake.landing import ledger
from citylake.settings import Settings

log = logging.getLogger(__name__)

SUFFIX = ".parquet"
_EPOCH = datetime(1970, 1, 1)


def feed_file_name(loaded_at: datetime, batch_id: str) -> str:
    """Lexical order of the names is commit order (``_loaded_at``, then the batch id)."""
    return f"{loaded_at:%Y%m%dT%H%M%S%f}-{batch_id}{SUFFIX}"


def write_feed_file(folder: Path, name: str, rows: pa.Table, mtime_ms: int | None = None) -> Path:
    """``rows`` as ``folder/name``, atomically; ``mtime_ms`` sets its modification time."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    partial = folder / f".{name}.tmp-{uuid.uuid4().hex}"
    try:
        with partial.open("wb") as out:
            pq.write_table(rows, out, coerce_timestamps="us")
            out.flush()
            os.fsync(out.fileno())  # the rename must never publish a file whose data is not on disk
        if mtime_ms is not None:
            os.utime(partial, ns=(mtime_ms * 1_000_000, mtime_ms * 1_000_000))
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


def _conform(rows: pa.Table, schema: pa.Schema) -> pa.Table:
    """``rows`` as read back from bronze would be: bronze's columns in its order and types,
    null where these rows have no value (a column an earlier schema version added)."""
    columns = [
        rows[f.name].cast(f.type)
        if f.name in rows.column_names
        else pa.nulls(rows.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _by_batch(rows: pa.Table) -> list[pa.Table]:
    """``rows`` split by ``_batch_id``, each part in ``_row_number`` order. A group's own
    commit holds its batches one after another, each in row order: then the parts are
    slices (no copy); rows read back from bronze are sorted first."""
    if rows.num_rows == 0:
        return []
    ids = rows["_batch_id"].combine_chunks().dictionary_encode()
    codes = ids.indices.to_numpy(zero_copy_only=False)
    numbers = rows["_row_number"].to_numpy()
    starts = np.flatnonzero(np.diff(codes)) + 1
    breaks = np.flatnonzero(np.diff(numbers) <= 0) + 1  # where row order restarts
    if len(starts) + 1 != len(ids.dictionary) or not np.isin(breaks, starts).all():
        rows = rows.sort_by([("_batch_id", "ascending"), ("_row_number", "ascending")])
        return _by_batch(rows)
    bounds = [0, *starts.tolist(), rows.num_rows]
    return [rows.slice(a, b - a) for a, b in pairwise(bounds)]


@dataclass(frozen=True)
class FeedMark:
    """Bronze as it was before a group landed: its version and which batches it held."""

    version: int | None
    committed: frozenset[str]


class FeedWriter:
    """One per ``LandingRun`` of a sensor source: ``before`` the group lands, ``after`` it."""

    def __init__(self, source: Source, settings: Settings) -> None:
        self.source = source
        self.bronze = settings.bronze_path(source.id)
        self.folder = settings.feed_path(source.id)
        self.retention = timedelta(days=settings.warnings_stream.feed_retention_days)
        self._last_ms = 0

    @staticmethod
    def for_source(source: Source, settings: Settings) -> FeedWriter | None:
        return FeedWriter(source, settings) if source.kind == "sensor" else None

    def before(self, batch_ids: list[str], tables: lake.OpenTables | None = None) -> FeedMark:
        table = tables.get(self.bronze) if tables is not None else lake.open_table(self.bronze)
        if table is None:
            return FeedMark(None, frozenset())
        return FeedMark(table.version(), frozenset(lake.committed_in(table, batch_ids)))

    def after(
        self,
        mark: FeedMark,
        entries: list[ledger.LedgerEntry],
        landed_rows: pa.Table | None = None,
        tables: lake.OpenTables | None = None,
    ) -> list[Path]:
        """Write the files of the group's batches that landed rows; returns the paths written.

        ``landed_rows``: what this group's bronze commit wrote, when the caller still holds
        it (it then need not be read back); batches an earlier, interrupted run committed
        are read from bronze.
        """
        landed = [e.batch_id for e in entries if e.status == ledger.LANDED and e.rows_landed]
        new = [b for b in landed if b not in mark.committed]
        again = [b for b in landed if b in mark.committed]
        if again:
            present = self._batches_with_files()
            again = [b for b in again if b not in present]
        if not new and not again:
            return []
        table = tables.get(self.bronze) if tables is not None else lake.open_table(self.bronze)
        if table is None:
            return []
        schema = pa.schema(table.schema().to_arrow())
        oldest = datetime.now(UTC).replace(tzinfo=None) - self.retention
        if landed_rows is not None and not again:
            return self._write(_conform(landed_rows, schema), set(), oldest, set(new))
        # The group's own commit added these files: read them, not the whole table.
        files = set(table.file_uris())
        if mark.version is not None and not again:
            files -= set(DeltaTable(str(self.bronze), version=mark.version).file_uris())
        dataset = pads.dataset(sorted(files), schema=schema, format="parquet")
        rows = dataset.to_table(filter=pc.field("_batch_id").isin(new + again))
        # _loaded_at is naive UTC (landing's clock).
        return self._write(rows, set(again), oldest)

    def _write(
        self, rows: pa.Table, recovered: set[str], oldest: datetime, only: set[str] | None = None
    ) -> list[Path]:
        """A file per batch of ``rows`` (of those in ``only``, when given)."""
        parts = [p for p in _by_batch(rows) if only is None or p["_batch_id"][0].as_py() in only]
        # Commit order: each batch's first row by (_loaded_at, _source_ref), as the engine sorts.
        parts = sorted(
            parts,
            key=lambda p: (pc.min(p["_loaded_at"]).as_py(), pc.min(p["_source_ref"]).as_py()),
        )
        written = []
        for part in parts:
            batch_id = part["_batch_id"][0].as_py()
            loaded_at = pc.min(part["_loaded_at"]).as_py()
            if batch_id in recovered and loaded_at < oldest:
                continue  # older than the retention: the stream may have pruned it already
            loaded_ms = (loaded_at - _EPOCH) // timedelta(milliseconds=1)
            self._last_ms = max(loaded_ms, self._last_ms + 1)
            name = feed_file_name(loaded_at, batch_id)
            written.append(write_feed_file(self.folder, name, part, self._last_ms))
            if batch_id in recovered:
                log.warning(
                    "%s batch %s: feed file %s written again", self.source.id, batch_id, name
                )
        return written

    def _batches_with_files(self) -> set[str]:
        if not self.folder.is_dir():
            return set()
        names = (e.name for e in os.scandir(self.folder) if e.name.endswith(SUFFIX))
        return {n[: -len(SUFFIX)].split("-", 1)[1] for n in names if "-" in n}
