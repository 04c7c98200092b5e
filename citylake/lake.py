"""Lake I/O: Delta tables written from Python (delta-rs), read as Arrow.

Exactly-once rests on Delta's application transactions: every batch write carries
``Transaction(app_id="citylake:<batch id>")`` in the same atomic commit as its rows,
so "was this batch written?" is answered by the table itself, and a crash before
the commit leaves nothing visible.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import TableNotFoundError

_APP_PREFIX = "citylake:"


def open_table(path: Path) -> DeltaTable | None:
    try:
        return DeltaTable(str(path))
    except TableNotFoundError:
        return None


class OpenTables:
    """Delta tables kept open by one writer, in one thread: a table's log is read once,
    then only the commits after the version it holds (its own writes advance it).
    Reopening read the whole log for each group a landing run commits."""

    def __init__(self) -> None:
        self._open: dict[Path, DeltaTable] = {}

    def get(self, path: Path) -> DeltaTable | None:
        table = self._open.get(path)
        if table is None:
            table = open_table(path)
            if table is not None:
                self._open[path] = table
        else:
            table.update_incremental()  # another writer's commits (maintenance, a rerun)
        return table


def committed_in(table: DeltaTable | None, batch_ids: list[str]) -> set[str]:
    """Those of ``batch_ids`` committed to ``table`` (at the version it holds)."""
    if table is None:
        return set()
    return {b for b in batch_ids if table.transaction_version(_APP_PREFIX + b) is not None}


def append_batches(
    path: Path,
    rows: pa.Table,
    batch_ids: list[str],
    metadata: dict[str, str],
    tables: OpenTables | None = None,
) -> list[str]:
    """Append the rows of several batches as ONE atomic commit carrying one app
    transaction per batch, so each batch stays individually exactly-once.

    ``rows`` must hold a ``_batch_id`` column when it holds several batches. Batches
    already in the table are left out (a rerun after a crash between two group commits);
    returns the ids written. New columns evolve the schema (``schema_mode="merge"``);
    empty batches still commit, so they are recorded as done.
    One commit per group instead of per batch: a Delta commit costs ~50-100 ms here,
    which dominated landing many small files.
    """
    if not batch_ids:
        return []
    # Opened once: to check the batches, then to write.
    table = tables.get(path) if tables is not None else open_table(path)
    done = committed_in(table, batch_ids)
    todo = [b for b in batch_ids if b not in done]
    if not todo:
        return []
    if done:
        import pyarrow.compute as pc

        rows = rows.filter(pc.is_in(rows["_batch_id"], pa.array(todo, pa.string())))
    path.parent.mkdir(parents=True, exist_ok=True)
    crash_point("before_commit", path, rows)
    write_deltalake(
        table if table is not None else str(path),
        rows,
        mode="append",
        schema_mode="merge",
        commit_properties=CommitProperties(
            app_transactions=[Transaction(app_id=_APP_PREFIX + b, version=1) for b in todo],
            custom_metadata={"citylake.batch_ids": ",".join(todo), **metadata},
        ),
    )
    return todo


def crash_point(stage: str, path: Path, rows: pa.Table) -> None:
    """Test-only fault injection (tests/test_exactly_once.py), inert unless asked for.

    ``CITYLAKE_CRASH_AT=before_commit`` (or ``before_commit@<part of the table path>``)
    writes the rows' Parquet data file into the table folder, as delta-rs does before
    its commit, then SIGKILLs this process: no cleanup, no commit, an orphan file.
    """
    from citylake.settings import load_settings

    wanted = load_settings().crash_at
    if not wanted:
        return
    at, _, where = wanted.partition("@")
    if at != stage or (where and where not in str(path)):
        return
    import signal
    import uuid

    import pyarrow.parquet as pq

    path.mkdir(parents=True, exist_ok=True)
    pq.write_table(rows, path / f"part-00000-{uuid.uuid4()}-c000.snappy.parquet")
    os.kill(os.getpid(), signal.SIGKILL)


def append_batch(path: Path, rows: pa.Table, batch_id: str, metadata: dict[str, str]) -> bool:
    """Append one batch's ``rows`` as one atomic commit tagged with ``batch_id``.

    Returns False (writing nothing) when the batch is already in the table, so reruns
    are no-ops. New columns evolve the schema; empty batches still commit.
    """
    return bool(append_batches(path, rows, [batch_id], metadata))


def append_rows(path: Path, rows: pa.Table, tables: OpenTables | None = None) -> None:
    """Plain atomic append (for small metadata tables whose readers dedupe)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = tables.get(path) if tables is not None else None
    write_deltalake(
        table if table is not None else str(path), rows, mode="append", schema_mode="merge"
    )


def read_table(
    path: Path, columns: list[str] | None = None, where: pc.Expression | None = None
) -> pa.Table:
    """The current snapshot as Arrow (the rows ``where`` holds); an absent table reads as empty."""
    table = open_table(path)
    if table is None:
        return pa.table({})
    return table.to_pyarrow_dataset().to_table(columns=columns, filter=where)


def dataset(path: Path) -> pads.Dataset:
    """Zero-copy Arrow dataset over the current snapshot (DuckDB scans it directly)."""
    table = open_table(path)
    if table is None:
        raise FileNotFoundError(f"no Delta table at {path}")
    return table.to_pyarrow_dataset()


def replace_dir(staged: Path, final: Path) -> None:
    """Swap a fully written folder in for ``final`` by renames: a reader sees the old
    folder, the new one, or (between the two renames) none, never a partial one."""
    import shutil

    old = final.with_name(f".{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    staged.rename(final)
    shutil.rmtree(old, ignore_errors=True)
