"""The steps of landing a batch: type, validate, decide, write (``LandingRun`` runs them).

Per batch: type by the catalog, validate with Great Expectations, then either hold the
whole batch (failure rate above the source's threshold: nothing lands) or land the
passing rows in bronze and the failing ones in quarantine with the reasons. Bronze and
quarantine writes are idempotent Delta commits keyed by the batch id; the ledger row is
written last. A crash anywhere leaves a batch that the rerun completes, never doubles.

For speed, batches go in groups (up to GROUP_ROWS rows / GROUP_BATCHES batches): one
Great Expectations run per group, and one bronze, one quarantine and one ledger commit
per group, each commit carrying one app transaction per batch of the group.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citylake import lake
from citylake.catalog import FieldType, Source
from citylake.connectors import RawBatch
from citylake.landing import ledger, redelivery
from citylake.landing.arrow_keys import all_distinct, declare_distinct, duplicated_later
from citylake.landing.casting import BRONZE_TYPES, arrow_schema, cast_table
from citylake.landing.validation import BATCH_SEQ, BatchValidator
from citylake.settings import Settings

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


# Batches validated together and landed in one commit per table (each keeps its own
# app transaction and ledger row): GX's fixed cost and Delta's per-commit cost are paid
# per group, not per batch.
GROUP_ROWS = 200_000
GROUP_BATCHES = 64


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class Prepared:
    batch: RawBatch
    table: pa.Table  # typed, _row_number first
    reasons: dict[int, list[str]]
    batch_failures: list[str] = field(default_factory=list)
    # Rows that land but carry a finding (an identifier failing its checksum off the key).
    flags: dict[int, list[str]] = field(default_factory=dict)
    # Columns that keep the type bronze holds them as (schema_drift); the rest as declared.
    conflicts: dict[str, FieldType] = field(default_factory=dict)
    # No two rows share the primary key (checked here; the suite need not hash it again).
    keys_distinct: bool = False


def _prepare(source: Source, batch: RawBatch) -> tuple[Prepared, pa.Table]:
    """Type a batch and find what needs no GX: type errors, unparseable rows, exact copies.

    Returns the prepared batch and the rows to hand to Great Expectations.
    """
    conflicts = dict(batch.frame.attrs.get(BRONZE_TYPES) or {})
    typed, type_failures = cast_table(source, batch.frame, conflicts)
    reasons: dict[int, list[str]] = defaultdict(list)
    for row, found in type_failures.items():
        reasons[row].extend(found)
    payload = [c for c in typed.column_names if c != "_row_number"]
    # An identical record delivered twice lands once; the copy is quarantined, not lost.
    # Rows with distinct keys cannot be copies of each other: checking the key is enough
    # in the usual batch, and far cheaper than comparing whole records.
    keys = list(source.primary_key)
    keys_distinct = bool(keys) and all_distinct(typed, keys)
    if keys_distinct:
        duplicate = np.zeros(typed.num_rows, dtype=bool)
    else:
        duplicate, first = duplicated_later(typed, payload)
    if duplicate.any():
        numbers = typed["_row_number"].to_numpy()
        for idx in np.flatnonzero(duplicate):
            reasons[int(numbers[idx])].append(f"duplicate delivery of row {numbers[first[idx]]}")
    for err in batch.row_errors:
        reasons[err.row_number].append(err.reason)
    if again := redelivery.reasons(batch):  # the same bytes landed before under another name
        for row in typed["_row_number"].to_pylist():
            reasons[row].append(again)
    prepared = Prepared(batch, typed, reasons, conflicts=conflicts, keys_distinct=keys_distinct)
    return prepared, typed.filter(pa.array(~duplicate)) if duplicate.any() else typed


def prepare_group(source: Source, batches: list[RawBatch]) -> tuple[list[Prepared], pa.Table]:
    """Each batch prepared, and the rows Great Expectations validates for all of them
    (with ``_batch_seq``; noted distinct on the suite's key when every batch's key is)."""
    prepared: list[Prepared] = []
    to_check: list[pa.Table] = []
    for seq, batch in enumerate(batches):
        item, rows = _prepare(source, batch)
        prepared.append(item)
        to_check.append(rows.append_column(BATCH_SEQ, pa.repeat(pa.scalar(seq), rows.num_rows)))
    # Batches of one source differ only by undeclared columns: missing ones become null.
    table = pa.concat_tables(to_check, promote_options="permissive")
    if all(item.keys_distinct for item in prepared):  # the suite's key: batch and primary key
        table = declare_distinct(table, [BATCH_SEQ, *source.primary_key])
    return prepared, table


def validate_group(
    source: Source, batches: list[RawBatch], validator: BatchValidator
) -> list[Prepared]:
    """One Great Expectations run for several batches: its fixed cost (~0.3 s) dominates small files."""
    prepared, table = prepare_group(source, batches)
    result = validator.validate(source, table)
    for (seq, row), found in result.row_failures.items():
        prepared[seq].reasons[row].extend(found)
    for (seq, row), found in result.row_flags.items():
        prepared[seq].flags.setdefault(row, []).extend(found)
    for item in prepared:
        item.batch_failures = list(result.batch_failures)
    return prepared


def _raw_json(batch: RawBatch, rows: set[int]) -> dict[int, str]:
    """The record as delivered, as JSON, for the quarantined ``rows`` only (serializing
    every row of a batch cost more than landing it)."""
    frame = batch.frame
    picked = frame[frame["_row_number"].isin(rows)] if rows else frame.iloc[:0]
    raw = {
        int(r["_row_number"]): json.dumps(
            {k: v for k, v in r.items() if k != "_row_number"}, ensure_ascii=False, default=str
        )
        for r in picked.to_dict(orient="records")
    }
    for err in batch.row_errors:
        raw[err.row_number] = json.dumps({"_unparsed": err.raw}, ensure_ascii=False)
    return raw


@dataclass
class Outcome:
    """What one batch writes: bronze and quarantine rows (None when held) and its ledger row."""

    entry: ledger.LedgerEntry
    bronze: pa.Table | None = None
    quarantine: pa.Table | None = None


def _decide(
    source: Source,
    prepared: Prepared,
    run_id: str,
    file_version: int | None,
    started: datetime,
) -> Outcome:
    """Hold the batch or split it into bronze and quarantine rows (nothing is written here)."""
    batch, table, batch_failures = prepared.batch, prepared.table, prepared.batch_failures
    reasons = dict(prepared.reasons)
    # A quarantined row's flags are among its reasons; a landed row keeps them in _flags.
    for row, found in prepared.flags.items():
        if row in reasons:
            reasons[row] = [*reasons[row], *found]
    received = batch.rows_received
    # A re-sent copy of a record is the sender's habit, not bad content: it is
    # quarantined but does not count towards holding the batch.
    failed = [
        r for r, why in reasons.items() if not all(w.startswith("duplicate delivery") for w in why)
    ]
    failure_rate = len(failed) / received if received else 0.0
    schema_note = batch.schema_note  # renames, added and missing columns (schema_drift)
    hold = bool(batch_failures) or (
        failure_rate > source.landing.max_failure_rate
        and len(failed) >= source.landing.min_failed_rows
    )
    loaded_at = _now()
    bronze = quarantine = None
    if hold:
        why = (
            f"batch-level expectations failed: {batch_failures}"
            if batch_failures
            else f"{len(failed)} of {received} rows failed ({failure_rate:.1%} > "
            f"{source.landing.max_failure_rate:.0%} allowed)"
        )
        examples = "; ".join(f"row {r}: {', '.join(v)}" for r, v in sorted(reasons.items())[:3])
        message = f"held: {why}" + (f"; e.g. {examples}" if examples else "")
        landed = quarantined = flagged = 0
        held = received
        status = ledger.HELD
        log.error("%s batch %s (%s): %s", source.id, batch.batch_id, batch.ref, message)
    else:
        numbers = table["_row_number"]
        if reasons:
            failed_rows = pa.array(list(reasons), pa.int64())
            table = table.filter(pc.invert(pc.is_in(numbers, value_set=failed_rows)))
        schema = arrow_schema(source, table.column_names, prepared.conflicts)
        bronze = table.select(schema.names).cast(schema)
        n = bronze.num_rows
        if prepared.flags:
            flags = pa.array(
                [
                    "; ".join(prepared.flags[r]) if r in prepared.flags else None
                    for r in bronze["_row_number"].to_pylist()
                ],
                pa.string(),
            )
        else:
            flags = pa.nulls(n, pa.string())
        flagged = n - flags.null_count
        bronze = (
            bronze.append_column("_batch_id", pa.repeat(pa.scalar(batch.batch_id), n))
            .append_column("_loaded_at", pa.repeat(pa.scalar(loaded_at, pa.timestamp("us")), n))
            .append_column("_source_system", pa.repeat(pa.scalar(source.system), n))
            .append_column("_source_ref", pa.repeat(pa.scalar(batch.ref), n))
            .append_column("_flags", flags)
        )
        raw = _raw_json(batch, set(reasons))
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
        landed, quarantined, held = n, quarantine.num_rows, 0
        status = ledger.LANDED
        message = f"{landed} landed ({flagged} flagged), {quarantined} quarantined"
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
        rows_flagged=flagged,
        schema_version=batch.schema_version,
        schema_note=schema_note,
        schema_columns=batch.schema_columns,
        file_part=batch.file_part,
        file_parts=batch.file_parts,
        message=message,
        run_id=run_id,
        started_at=started,
        finished_at=started,  # set once written
        seconds=0.0,
    )
    return Outcome(entry, bronze, quarantine)


def decide_group(
    source: Source,
    items: list[tuple[Prepared, int | None]],
    run_id: str,
    stop_at_held: bool = False,
) -> list[Outcome]:
    """Hold or split each validated batch (each with its file version); nothing is written.
    With ``stop_at_held`` (cursor sources) nothing after the first held batch is decided."""
    started = _now()
    outcomes: list[Outcome] = []
    for prepared, version in items:
        outcomes.append(_decide(source, prepared, run_id, version, started))
        if stop_at_held and outcomes[-1].entry.status == ledger.HELD:
            break
    return outcomes


def write_group(
    source: Source,
    outcomes: list[Outcome],
    settings: Settings,
    run_id: str,
    before_ledger: Callable[[list[ledger.LedgerEntry], pa.Table | None], object] | None = None,
    tables: lake.OpenTables | None = None,
) -> list[ledger.LedgerEntry]:
    """Write decided batches as one group (``tables``: the writer's open tables).

    One bronze commit, one quarantine commit and one ledger commit per group, each
    carrying one app transaction per batch: a batch is still exactly-once on its own
    (a rerun skips the batches a table already holds), and a Delta commit (~50-100 ms)
    is paid per group instead of three times per batch. The ledger is written last.
    ``before_ledger`` runs after the table commits and before the ledger's, with the rows
    bronze's commit wrote: what it writes (a sensor's feed files) is redone by a rerun when
    a crash comes between the two.
    """
    clock = time.perf_counter()
    written = [o for o in outcomes if o.bronze is not None]
    bronze = None
    if written:
        ids = [o.entry.batch_id for o in written]
        meta = {"citylake.run_id": run_id}
        bronze = pa.concat_tables([o.bronze for o in written], promote_options="default")
        lake.append_batches(settings.bronze_path(source.id), bronze, ids, meta, tables)
        quarantine = pa.concat_tables([o.quarantine for o in written])
        lake.append_batches(settings.quarantine_path(source.id), quarantine, ids, meta, tables)
    finished, share = _now(), round((time.perf_counter() - clock) / max(len(outcomes), 1), 3)
    entries = [o.entry for o in outcomes]
    for entry in entries:
        entry.finished_at, entry.seconds = finished, share
    if before_ledger is not None:
        before_ledger(entries, bronze)
    ledger.record_many(settings, entries, tables)
    return entries
