"""The ingest ledger: one row per batch, the record that every delivered row is accounted for.

``rows_received = rows_landed + rows_quarantined + rows_held`` holds for every row;
``rows_flagged`` counts the landed rows that carry a flag (bronze's ``_flags``).
The ledger row is written last, after bronze and quarantine committed, so a batch
whose ledger row says ``landed`` is complete. It is also the extraction state:
cursor high-water marks and files already taken are read back from it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

import pyarrow as pa

from citylake import lake
from citylake.connectors.base import SourceState
from citylake.settings import Settings

LANDED = "landed"
HELD = "held"
FAILED = "failed"

SCHEMA = pa.schema(
    [
        ("batch_id", pa.string()),
        ("source_id", pa.string()),
        ("source_system", pa.string()),
        ("source_ref", pa.string()),
        ("file_name", pa.string()),
        ("file_sha256", pa.string()),
        ("file_version", pa.int64()),
        ("cursor_lo", pa.string()),
        ("cursor_hi", pa.string()),
        ("status", pa.string()),
        ("rows_received", pa.int64()),
        ("rows_landed", pa.int64()),
        ("rows_quarantined", pa.int64()),
        ("rows_held", pa.int64()),
        ("schema_version", pa.int64()),
        ("schema_note", pa.string()),
        ("message", pa.string()),
        ("run_id", pa.string()),
        ("started_at", pa.timestamp("us")),
        ("finished_at", pa.timestamp("us")),
        ("seconds", pa.float64()),
        ("schema_columns", pa.string()),  # the delivered column names schema_version stands for
        ("file_part", pa.int64()),  # a large file's part (null: the whole file is one batch)
        ("file_parts", pa.int64()),  # on a large file's last part: how many parts it has
        # landed rows carrying a flag (in bronze's _flags); part of rows_landed
        ("rows_flagged", pa.int64()),
    ]
)


@dataclass
class LedgerEntry:
    batch_id: str
    source_id: str
    source_system: str
    source_ref: str
    file_name: str | None
    file_sha256: str | None
    file_version: int | None
    cursor_lo: str | None
    cursor_hi: str | None
    status: str
    rows_received: int
    rows_landed: int
    rows_quarantined: int
    rows_held: int
    schema_version: int
    schema_note: str
    message: str
    run_id: str
    started_at: datetime
    finished_at: datetime
    seconds: float
    schema_columns: str | None = None
    file_part: int | None = None
    file_parts: int | None = None
    rows_flagged: int = 0

    def __post_init__(self) -> None:
        total = self.rows_landed + self.rows_quarantined + self.rows_held
        if total != self.rows_received:
            raise AssertionError(
                f"{self.source_id} batch {self.batch_id}: received {self.rows_received} "
                f"!= landed {self.rows_landed} + quarantined {self.rows_quarantined} + held {self.rows_held}"
            )


def record(settings: Settings, entry: LedgerEntry) -> None:
    """Append the batch's row. A batch recorded again (held, then landed on a rerun) gets a
    newer row; :func:`read` keeps the latest per batch. Appends stay cheap as the ledger
    grows, where a merge would rewrite files on every batch."""
    rows = pa.Table.from_pylist([asdict(entry)], schema=SCHEMA)
    lake.append_rows(settings.ledger_path, rows)


def record_many(
    settings: Settings, entries: list[LedgerEntry], tables: lake.OpenTables | None = None
) -> None:
    """Append the rows of a group of batches in one commit (written after their data)."""
    if entries:
        rows = pa.Table.from_pylist([asdict(e) for e in entries], schema=SCHEMA)
        lake.append_rows(settings.ledger_path, rows, tables)


def read(settings: Settings, source_id: str | None = None) -> pa.Table:
    """The ledger, one row per batch (its latest record); one source's rows when named
    (a landing run reads only its own: the ledger holds every source's history)."""
    import pyarrow.compute as pc

    where = pc.field("source_id") == source_id if source_id is not None else None
    table = lake.read_table(settings.ledger_path, where=where)
    if not table.num_columns:
        return SCHEMA.empty_table()
    # A ledger written before a column was added reads with that column empty.
    frame = table.to_pandas().reindex(columns=SCHEMA.names)
    frame = frame.sort_values(["finished_at"], kind="stable")
    latest = frame.drop_duplicates("batch_id", keep="last").sort_values(["source_id", "started_at"])
    return pa.Table.from_pandas(latest, schema=SCHEMA, preserve_index=False)


def source_state(
    settings: Settings, source_id: str, cursor_is_integer: bool, rows: pa.Table | None = None
) -> SourceState:
    """What has landed of the source; ``rows``: its ledger rows when already read."""
    mine = (rows if rows is not None else read(settings, source_id)).to_pandas()
    done = mine[mine["status"] == LANDED]
    high: str | None = None
    cursors = done["cursor_hi"].dropna()
    if len(cursors):
        high = str(max(cursors, key=int) if cursor_is_integer else max(cursors))
    whole = done[done["file_name"].notna() & done["file_part"].isna()]
    files = set(zip(whole["file_name"], whole["file_sha256"], strict=True))
    # A file landed in parts is taken only once every part landed: after a crash
    # between parts, the rerun reads it again and the landed parts are no-ops.
    parts = done[done["file_name"].notna() & done["file_part"].notna()]
    for (name, sha), got in parts.groupby(["file_name", "file_sha256"]):
        expected = got["file_parts"].dropna()
        if len(expected) and got["file_part"].nunique() == int(expected.max()):
            files.add((name, sha))
    versions = mine.dropna(subset=["file_name"]).groupby("file_name")["file_sha256"].nunique()
    return SourceState(
        cursor_high=high,
        landed_files=frozenset(files),
        file_versions={str(k): int(v) for k, v in versions.items()},
    )
