"""Lake I/O: Delta tables written from Python (delta-rs), read as Arrow.

Exactly-once rests on Delta's application transactions: every batch write carries
``Transaction(app_id="citylake:<batch id>")`` in the same atomic commit as its rows,
so "was this batch written?" is answered by the table itself, and a crash before
the commit leaves nothing visible.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pads
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import TableNotFoundError

_APP_PREFIX = "citylake:"


def open_table(path: Path) -> DeltaTable | None:
    try:
        return DeltaTable(str(path))
    except TableNotFoundError:
        return None


def batch_committed(path: Path, batch_id: str) -> bool:
    """True when ``batch_id`` was committed to the Delta table at ``path``."""
    table = open_table(path)
    return table is not None and table.transaction_version(_APP_PREFIX + batch_id) is not None


def append_batch(path: Path, rows: pa.Table, batch_id: str, metadata: dict[str, str]) -> bool:
    """Append ``rows`` as one atomic commit tagged with ``batch_id``.

    Returns False (writing nothing) when the batch is already in the table, so
    reruns are no-ops. New columns evolve the schema (``schema_mode="merge"``).
    Empty batches still commit, so the batch is recorded as done.
    """
    if batch_committed(path, batch_id):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    write_deltalake(
        str(path),
        rows,
        mode="append",
        schema_mode="merge",
        commit_properties=CommitProperties(
            app_transactions=[Transaction(app_id=_APP_PREFIX + batch_id, version=1)],
            custom_metadata={"citylake.batch_id": batch_id, **metadata},
        ),
    )
    return True


def append_rows(path: Path, rows: pa.Table) -> None:
    """Plain atomic append (for small metadata tables whose readers dedupe)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_deltalake(str(path), rows, mode="append", schema_mode="merge")


def read_table(path: Path, columns: list[str] | None = None) -> pa.Table:
    """The current snapshot as Arrow; an absent table reads as empty."""
    table = open_table(path)
    if table is None:
        return pa.table({})
    return table.to_pyarrow_dataset().to_table(columns=columns)


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
