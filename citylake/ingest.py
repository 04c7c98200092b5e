"""Landing: extract a source's new batches, type, validate, and land them exactly once.

Per batch: type by the catalog, validate with Great Expectations, then either hold the
whole batch (failure rate above the source's threshold: nothing lands) or land the
passing rows in bronze and the failing ones in quarantine with the reasons. Bronze and
quarantine writes are idempotent Delta commits keyed by the batch id; the ledger row is
written last. A crash anywhere leaves a batch that the rerun completes, never doubles.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from citylake import lake, ledger
from citylake.casting import arrow_schema, cast_frame
from citylake.catalog import FieldType, RestApiConnector, Source, SqlConnector, default_catalog
from citylake.connectors import RawBatch, extract
from citylake.settings import Settings, load_settings

if TYPE_CHECKING:
    from quality.validate import Validator

log = logging.getLogger(__name__)

QUARANTINE_SCHEMA = pa.schema(
    [
        ("_batch_id", pa.string()),
        ("_source_ref", pa.string()),
        ("_row_number", pa.int64()),
        ("_loaded_at", pa.timestamp("us")),
        ("reasons", pa.string()),
        ("raw_record", pa.string()),
    ]
)


# Batches validated together (files of one drop folder); each still lands on its own.
GROUP_ROWS = 100_000
GROUP_BATCHES = 64


class BatchHeldError(RuntimeError):
    """One or more batches failed validation beyond the source's threshold (nothing of them landed)."""


@dataclass
class SourceReport:
    source_id: str
    batches: int = 0
    received: int = 0
    landed: int = 0
    quarantined: int = 0
    held: int = 0
    held_batches: list[str] = field(default_factory=list)
    seconds: float = 0.0
    data_docs: str | None = None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class _Prepared:
    batch: RawBatch
    frame: pd.DataFrame  # typed
    reasons: dict[int, list[str]]
    batch_failures: list[str] = field(default_factory=list)


def _prepare(source: Source, batch: RawBatch) -> tuple[_Prepared, pd.DataFrame]:
    """Type a batch and find what needs no GX: type errors, unparseable rows, exact copies.

    Returns the prepared batch and the rows to hand to Great Expectations.
    """
    typed, type_failures = cast_frame(source, batch.frame)
    reasons: dict[int, list[str]] = defaultdict(list)
    for row, found in type_failures.items():
        reasons[row].extend(found)
    payload = [c for c in typed.columns if c != "_row_number"]
    # An identical record delivered twice lands once; the copy is quarantined, not lost.
    duplicate = typed.duplicated(subset=payload, keep="first")
    first_of = typed[~duplicate].set_index(payload)["_row_number"] if duplicate.any() else None
    for idx in duplicate[duplicate].index:
        row = int(typed.at[idx, "_row_number"])
        original = first_of.get(tuple(typed.loc[idx, payload])) if first_of is not None else None
        reasons[row].append(f"duplicate delivery of row {original}")
    for err in batch.row_errors:
        reasons[err.row_number].append(err.reason)
    return _Prepared(batch, typed, reasons), typed[~duplicate]


def _validate_group(
    source: Source, batches: list[RawBatch], validator: Validator
) -> list[_Prepared]:
    """One Great Expectations run for several batches: its fixed cost (~0.3 s) dominates small files."""
    prepared: list[_Prepared] = []
    to_check: list[pd.DataFrame] = []
    for seq, batch in enumerate(batches):
        item, rows = _prepare(source, batch)
        prepared.append(item)
        to_check.append(rows.assign(_batch_seq=seq))
    result = validator.validate(source, pd.concat(to_check, ignore_index=True))
    for (seq, row), found in result.row_failures.items():
        prepared[seq].reasons[row].extend(found)
    for item in prepared:
        item.batch_failures = list(result.batch_failures)
    return prepared


def _raw_json(batch: RawBatch) -> dict[int, str]:
    raw = {
        int(r["_row_number"]): json.dumps(
            {k: v for k, v in r.items() if k != "_row_number"}, ensure_ascii=False
        )
        for r in batch.frame.to_dict(orient="records")
    }
    for err in batch.row_errors:
        raw[err.row_number] = json.dumps({"_unparsed": err.raw}, ensure_ascii=False)
    return raw


def land_batch(
    source: Source,
    prepared: _Prepared,
    settings: Settings,
    run_id: str,
    file_version: int | None = None,
) -> ledger.LedgerEntry:
    started = _now()
    clock = time.perf_counter()
    batch, frame, batch_failures = prepared.batch, prepared.frame, prepared.batch_failures
    reasons = dict(prepared.reasons)
    received = batch.rows_received
    # A re-sent copy of a record is the sender's habit, not bad content: it is
    # quarantined but does not count towards holding the batch.
    failed = [
        r for r, why in reasons.items() if not all(w.startswith("duplicate delivery") for w in why)
    ]
    failure_rate = len(failed) / received if received else 0.0
    schema_note = "; ".join(
        part
        for part in (
            f"undeclared columns kept: {batch.extra_columns}" if batch.extra_columns else "",
            f"declared columns missing: {batch.missing_columns}" if batch.missing_columns else "",
        )
        if part
    )
    hold = bool(batch_failures) or (
        failure_rate > source.landing.max_failure_rate
        and len(failed) >= source.landing.min_failed_rows
    )
    loaded_at = _now()
    if hold:
        why = (
            f"batch-level expectations failed: {batch_failures}"
            if batch_failures
            else f"{len(failed)} of {received} rows failed ({failure_rate:.1%} > "
            f"{source.landing.max_failure_rate:.0%} allowed)"
        )
        examples = "; ".join(f"row {r}: {', '.join(v)}" for r, v in sorted(reasons.items())[:3])
        message = f"held: {why}" + (f"; e.g. {examples}" if examples else "")
        landed = quarantined = 0
        held = received
        status = ledger.HELD
        log.error("%s batch %s (%s): %s", source.id, batch.batch_id, batch.ref, message)
    else:
        good = frame[~frame["_row_number"].isin(reasons.keys())]
        bronze = pa.Table.from_pandas(
            good, schema=arrow_schema(source, frame), preserve_index=False
        )
        n = bronze.num_rows
        bronze = (
            bronze.append_column("_batch_id", pa.array([batch.batch_id] * n, pa.string()))
            .append_column("_loaded_at", pa.array([loaded_at] * n, pa.timestamp("us")))
            .append_column("_source_system", pa.array([source.system] * n, pa.string()))
            .append_column("_source_ref", pa.array([batch.ref] * n, pa.string()))
        )
        meta = {"citylake.source_ref": batch.ref, "citylake.run_id": run_id}
        lake.append_batch(settings.bronze_path(source.id), bronze, batch.batch_id, meta)
        raw = _raw_json(batch)
        quarantine = pa.Table.from_pylist(
            [
                {
                    "_batch_id": batch.batch_id,
                    "_source_ref": batch.ref,
                    "_row_number": row,
                    "_loaded_at": loaded_at,
                    "reasons": "; ".join(found),
                    "raw_record": raw.get(row, ""),
                }
                for row, found in sorted(reasons.items())
            ],
            schema=QUARANTINE_SCHEMA,
        )
        lake.append_batch(settings.quarantine_path(source.id), quarantine, batch.batch_id, meta)
        landed, quarantined, held = n, quarantine.num_rows, 0
        status = ledger.LANDED
        message = f"{landed} landed, {quarantined} quarantined"
        log.info(
            "%s batch %s (%s): received %d, %s",
            source.id,
            batch.batch_id,
            batch.ref,
            received,
            message,
        )
    entry = ledger.LedgerEntry(
        batch_id=batch.batch_id,
        source_id=source.id,
        source_system=source.system,
        source_ref=batch.ref,
        file_name=batch.file_name,
        file_sha256=batch.file_sha256,
        file_version=file_version,
        cursor_lo=batch.cursor_lo,
        cursor_hi=batch.cursor_hi,
        status=status,
        rows_received=received,
        rows_landed=landed,
        rows_quarantined=quarantined,
        rows_held=held,
        schema_version=1,
        schema_note=schema_note,
        message=message,
        run_id=run_id,
        started_at=started,
        finished_at=_now(),
        seconds=round(time.perf_counter() - clock, 3),
    )
    ledger.record(settings, entry)
    return entry


def ingest_source(
    source_id: str,
    settings: Settings | None = None,
    run_id: str = "manual",
    validator: Validator | None = None,
) -> SourceReport:
    """Land everything new from one source. Raises BatchHeldError after landing the rest."""
    from quality.validate import Validator

    settings = settings or load_settings()
    catalog = default_catalog()
    if source_id not in catalog:
        raise KeyError(f"unknown source {source_id!r}; the catalog has {sorted(catalog)}")
    source = catalog[source_id]
    validator = validator or Validator(settings.quality_home)
    clock = time.perf_counter()
    cursor_is_int = (
        bool(source.cursor) and source.field(source.cursor or "").type == FieldType.integer
    )
    state = ledger.source_state(settings, source.id, cursor_is_int)
    report = SourceReport(source_id=source.id)
    # Cursor sources land one batch at a time: after a held batch nothing later may land.
    ordered = isinstance(source.connector, SqlConnector | RestApiConnector)
    group: list[RawBatch] = []

    def land_group() -> bool:
        """Validate and land the pending batches; False once a cursor source held one."""
        for item in _validate_group(source, group, validator):
            name = item.batch.file_name
            # A changed file under a known name is its next version.
            version = state.file_versions.get(name, 0) + 1 if name else None
            entry = land_batch(source, item, settings, run_id, version)
            report.batches += 1
            report.received += entry.rows_received
            report.landed += entry.rows_landed
            report.quarantined += entry.rows_quarantined
            report.held += entry.rows_held
            if entry.status == ledger.HELD:
                report.held_batches.append(f"{item.batch.ref}: {entry.message}")
                if ordered:
                    return False
        group.clear()
        return True

    stopped = False
    for batch in extract(source, settings, state):
        group.append(batch)
        rows = sum(len(b.frame) for b in group)
        if (ordered or rows >= GROUP_ROWS or len(group) >= GROUP_BATCHES) and not land_group():
            stopped = True
            break
    if group and not stopped:
        land_group()
    report.seconds = round(time.perf_counter() - clock, 2)
    docs = validator.build_docs()
    report.data_docs = str(docs) if docs else None
    log.info(
        "%s: %d batches, received %d, landed %d, quarantined %d, held %d in %.1fs",
        source.id,
        report.batches,
        report.received,
        report.landed,
        report.quarantined,
        report.held,
        report.seconds,
    )
    if report.held_batches:
        raise BatchHeldError(
            f"{source.id}: {len(report.held_batches)} batch(es) held, nothing of them landed:\n  "
            + "\n  ".join(report.held_batches)
        )
    return report
