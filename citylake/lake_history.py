"""Operational history kept in the lake for the pipeline-health dashboard: small Parquet
files appended under ``gold/<table>/`` (one per event, written then renamed), pruned to
the newest ``keep``. Plain files, so dbt reads them with ``read_parquet`` like the Spark
jobs' outputs, and a failed writer never leaves half a file behind."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


def append(
    folder: Path, rows: Sequence[dict[str, Any]], schema: pa.Schema, keep: int = 500
) -> Path:
    """Write ``rows`` as one new file in ``folder`` and drop all but the newest ``keep``."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    target = folder / f"{stamp}-{uuid.uuid4().hex[:8]}.parquet"
    staged = folder / f".{target.name}.{os.getpid()}.tmp"
    pq.write_table(pa.Table.from_pylist(list(rows), schema=schema), staged)
    staged.replace(target)
    files = sorted(folder.glob("*.parquet"))
    for old in files[: max(0, len(files) - keep)]:
        old.unlink(missing_ok=True)
    return target
