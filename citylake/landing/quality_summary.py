"""Quality per source, from the ingest ledger: freshness and failure rates, one row each.

Written to the lake as ``gold/quality_summary/data.parquet`` (replaced on each refresh),
which dbt reads as the source
``quality.source_summary`` for the mart ``fct_source_quality`` the dashboards query.

Definitions (as of the refresh time ``as_of``, UTC):

- ``expected_interval_minutes``: the gap between the next two runs of the source's
  catalog cadence (cron or ``@hourly``/``@daily``).
- ``freshness``: age of the last landed batch ``<= 1.5`` intervals is ``fresh``,
  ``<= 3`` intervals ``late``, beyond ``stale``; ``never`` when nothing has landed.
- ``failure_rate``: rows that did not land (quarantined + held) / rows received, all
  time; ``recent_failure_rate`` the same over the source's last ``RECENT_BATCHES``
  batches. Null when no rows were received. Quarantined rows include re-sent copies
  (``duplicate delivery``): they did not land either.
- ``last_error``: the latest batch that held, or quarantined rows, with an example reason.
"""

from __future__ import annotations

import logging
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from citylake import lake
from citylake.catalog import Source, default_catalog
from citylake.landing import ledger
from citylake.settings import Settings, load_settings

log = logging.getLogger(__name__)

RECENT_BATCHES = 20
FRESH_INTERVALS = 1.5
LATE_INTERVALS = 3.0
FRESHNESS = ("fresh", "late", "stale", "never")

SCHEMA = pa.schema(
    [
        ("source_id", pa.string()),
        ("department", pa.string()),
        ("source_kind", pa.string()),
        ("connector", pa.string()),
        ("cadence", pa.string()),
        ("expected_interval_minutes", pa.float64()),
        ("last_landed_at", pa.timestamp("us")),
        ("last_batch_at", pa.timestamp("us")),
        ("age_minutes", pa.float64()),
        ("freshness", pa.string()),
        ("batches", pa.int64()),
        ("landed_batches", pa.int64()),
        ("held_batches", pa.int64()),
        ("rows_received", pa.int64()),
        ("rows_landed", pa.int64()),
        ("rows_quarantined", pa.int64()),
        ("rows_held", pa.int64()),
        ("failure_rate", pa.float64()),
        ("recent_batches", pa.int64()),
        ("recent_rows_received", pa.int64()),
        ("recent_failure_rate", pa.float64()),
        ("last_status", pa.string()),
        ("last_error", pa.string()),
        ("last_error_at", pa.timestamp("us")),
        ("as_of", pa.timestamp("us")),
    ]
)


def expected_interval(cadence: str, as_of: datetime) -> timedelta:
    """The gap between the cadence's next two runs after ``as_of``."""
    from croniter import croniter

    runs = croniter(cadence, as_of)
    first = runs.get_next(datetime)
    return runs.get_next(datetime) - first


def classify(age: timedelta | None, interval: timedelta) -> str:
    """fresh / late / stale by the age of the last landing in cadence intervals; never without one."""
    if age is None:
        return "never"
    if age <= interval * FRESH_INTERVALS:
        return "fresh"
    if age <= interval * LATE_INTERVALS:
        return "late"
    return "stale"


def _rate(failed: int, received: int) -> float | None:
    return round(failed / received, 6) if received else None


def _example_reason(settings: Settings, source_id: str, batch_id: str) -> str:
    """The first quarantine reason of a batch (row number and why)."""
    table = lake.open_table(settings.quarantine_path(source_id))
    if table is None:
        return ""
    rows = (
        table.to_pyarrow_dataset()
        .to_table(
            columns=["_row_number", "reasons"], filter=pc.field("_batch_id") == pa.scalar(batch_id)
        )
        .to_pandas()
        .sort_values("_row_number")
    )
    if rows.empty:
        return ""
    first = rows.iloc[0]
    return f"row {int(first['_row_number'])}: {first['reasons']}"


def _last_error(settings: Settings, mine: pd.DataFrame) -> tuple[str | None, datetime | None]:
    bad = mine[(mine["status"] != ledger.LANDED) | (mine["rows_quarantined"] > 0)]
    if bad.empty:
        return None, None
    last = bad.iloc[-1]
    text = f"batch {last['batch_id']} ({last['source_ref']}): {last['status']}, {last['message']}"
    if last["status"] == ledger.LANDED:
        example = _example_reason(settings, str(last["source_id"]), str(last["batch_id"]))
        if example:
            text += f"; e.g. {example}"
    return text[:2000], last["finished_at"].to_pydatetime()


def summarize(
    settings: Settings,
    as_of: datetime | None = None,
    sources: list[Source] | None = None,
    recent: int = RECENT_BATCHES,
) -> pd.DataFrame:
    """One row per catalog source (also those that never landed anything)."""
    as_of = as_of or datetime.now(UTC).replace(tzinfo=None)
    sources = sources if sources is not None else list(default_catalog().values())
    frame = ledger.read(settings).to_pandas().sort_values("finished_at", kind="stable")
    rows = []
    for source in sources:
        mine = frame[frame["source_id"] == source.id]
        landed = mine[mine["status"] == ledger.LANDED]
        last_landed = landed["finished_at"].max() if len(landed) else None
        age = as_of - last_landed.to_pydatetime() if last_landed is not None else None
        interval = expected_interval(source.cadence, as_of)
        window = mine.tail(recent)
        not_landed = int(mine["rows_quarantined"].sum() + mine["rows_held"].sum())
        recent_not_landed = int(window["rows_quarantined"].sum() + window["rows_held"].sum())
        error, error_at = _last_error(settings, mine)
        rows.append(
            {
                "source_id": source.id,
                "department": source.department,
                "source_kind": source.kind,
                "connector": source.connector.kind,
                "cadence": source.cadence,
                "expected_interval_minutes": interval.total_seconds() / 60,
                "last_landed_at": last_landed,
                "last_batch_at": mine["finished_at"].max() if len(mine) else None,
                "age_minutes": round(age.total_seconds() / 60, 2) if age is not None else None,
                "freshness": classify(age, interval),
                "batches": len(mine),
                "landed_batches": len(landed),
                "held_batches": int((mine["status"] == ledger.HELD).sum()),
                "rows_received": int(mine["rows_received"].sum()),
                "rows_landed": int(mine["rows_landed"].sum()),
                "rows_quarantined": int(mine["rows_quarantined"].sum()),
                "rows_held": int(mine["rows_held"].sum()),
                "failure_rate": _rate(not_landed, int(mine["rows_received"].sum())),
                "recent_batches": len(window),
                "recent_rows_received": int(window["rows_received"].sum()),
                "recent_failure_rate": _rate(recent_not_landed, int(window["rows_received"].sum())),
                "last_status": str(mine["status"].iloc[-1]) if len(mine) else None,
                "last_error": error,
                "last_error_at": error_at,
                "as_of": as_of,
            }
        )
    return pd.DataFrame(rows, columns=SCHEMA.names)


def table_path(settings: Settings) -> Path:
    return settings.gold_dir / "quality_summary"


def refresh(settings: Settings | None = None, as_of: datetime | None = None) -> pd.DataFrame:
    """Recompute the summary from the ledger and swap it in as ``gold/quality_summary``.

    Plain Parquet in a folder swapped by renames (``lake.replace_dir``): readers (dbt-duckdb,
    the Spark target's gold views) see the old summary or the new one, never a mix.
    """
    import pyarrow.parquet as pq

    settings = settings or load_settings()
    summary = summarize(settings, as_of)
    final = table_path(settings)
    staged = final.with_name(f".{final.name}.{os.getpid()}.staging")
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    pq.write_table(
        pa.Table.from_pandas(summary, schema=SCHEMA, preserve_index=False),
        staged / "data.parquet",
    )
    lake.replace_dir(staged, final)
    log.info("quality summary: %d sources written to %s", len(summary), final)
    _snapshot_ledger(settings)
    return summary


def _snapshot_ledger(settings: Settings) -> None:
    """The ledger as plain Parquet (``gold/landing_batches``): one row per batch for the
    pipeline-health dashboard's failure rates over time and reconciliation check."""
    import pyarrow.parquet as pq

    final = settings.gold_dir / "landing_batches"
    staged = final.with_name(f".{final.name}.{os.getpid()}.staging")
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    pq.write_table(ledger.read(settings), staged / "data.parquet")
    lake.replace_dir(staged, final)


def read(settings: Settings | None = None) -> pd.DataFrame:
    settings = settings or load_settings()
    return pd.read_parquet(table_path(settings) / "data.parquet")
