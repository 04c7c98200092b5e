"""Lake maintenance: compact the small files micro-batches leave, then vacuum.

Every landing commit adds at least one Parquet file to its Delta table; the MQTT stream
commits every few seconds, so a year of 5-second micro-batches would leave millions of
files, and every reader (DuckDB's delta scan, Spark's snapshot read) lists and opens
each one. :func:`compact_lake` (the ``citylake_lake_maintenance`` DAG, daily, and
``citylake lake compact``) rewrites each table's small files into few large ones with
delta-rs ``optimize.compact`` (tables with at least ``CITYLAKE_COMPACT_MIN_FILES`` active
files; one new table version: the rows and the exactly-once app
transactions are unchanged) and then vacuums files no version younger than the
retention needs.

Retention (``CITYLAKE_LAKE_RETENTION_HOURS``, default 168 h = 7 days): time travel to any
version younger than that keeps working after a compaction, because vacuum deletes only
files removed from the table more than that long ago. Older versions lose their data
files (the log still lists them; reading them fails), so an audit or a rerun that must
see the lake as it was should happen within the retention. The Delta log itself, with
every batch's app transaction, is untouched: a batch landed before a compaction is still
recognised as landed after it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from deltalake import DeltaTable

from citylake.settings import Settings, load_settings

log = logging.getLogger(__name__)

TARGET_FILE_BYTES = 128 << 20


@dataclass(frozen=True)
class Compaction:
    table: str
    files_before: int
    files_after: int
    version_before: int
    version_after: int
    vacuumed: int  # files deleted from disk
    seconds: float

    @property
    def compacted(self) -> bool:
        return self.files_after < self.files_before


def summary(results: list[Compaction]) -> dict[str, int]:
    """What a maintenance run did, in counts (the DAG task's return value)."""
    return {
        "tables": len(results),
        "compacted": sum(r.compacted for r in results),
        "files_before": sum(r.files_before for r in results),
        "files_after": sum(r.files_after for r in results),
        "vacuumed": sum(r.vacuumed for r in results),
    }


def delta_tables(root: Path) -> list[Path]:
    """Every Delta table under the lake root (a folder holding a ``_delta_log``)."""
    return sorted(log_dir.parent for log_dir in root.glob("**/_delta_log") if log_dir.is_dir())


def compact_table(path: Path, retention_hours: int, min_files: int) -> Compaction:
    """Compact one table when it has at least ``min_files`` active files, then vacuum
    what is older than ``retention_hours``."""
    clock = time.perf_counter()
    table = DeltaTable(str(path))
    before = len(table.file_uris())
    version_before = table.version()
    if before >= min_files:
        table.optimize.compact(target_size=TARGET_FILE_BYTES)
    # Files removed by this compaction are younger than any retention: they stay for
    # time travel and go in a later run, once they have aged out.
    vacuumed = table.vacuum(
        retention_hours=retention_hours, dry_run=False, enforce_retention_duration=False
    )
    table = DeltaTable(str(path))
    return Compaction(
        table=str(path),
        files_before=before,
        files_after=len(table.file_uris()),
        version_before=version_before,
        version_after=table.version(),
        vacuumed=len(vacuumed),
        seconds=round(time.perf_counter() - clock, 3),
    )


def compact_lake(
    settings: Settings | None = None,
    retention_hours: int | None = None,
    min_files: int | None = None,
    progress: Callable[[Compaction], None] | None = None,
) -> list[Compaction]:
    """Compact and vacuum every Delta table of the lake; a table that fails (a concurrent
    writer won the commit) is logged and left for the next run, the others go on."""
    settings = settings or load_settings()
    hours = settings.lake_retention_hours if retention_hours is None else retention_hours
    min_files = settings.compact_min_files if min_files is None else min_files
    done: list[Compaction] = []
    failed: list[str] = []
    for path in delta_tables(settings.lake_root):
        try:
            result = compact_table(path, hours, min_files)
        except Exception as exc:  # one table's conflict must not stop the others
            log.warning("compaction of %s failed, left for the next run: %s", path, exc)
            failed.append(f"{path}: {exc}")
            continue
        done.append(result)
        if progress:
            progress(result)
        log.info(
            "%s: %d -> %d files (version %d -> %d), %d vacuumed in %.2fs",
            path,
            result.files_before,
            result.files_after,
            result.version_before,
            result.version_after,
            result.vacuumed,
            result.seconds,
        )
    if failed and not done:
        raise RuntimeError("no table could be compacted:\n" + "\n".join(failed))
    return done
