"""Micro-batches of MQTT messages, landed through the normal ingest path exactly once.

A micro-batch is the messages one subscriber buffered, in receipt order. Its id is
derived from its content (the sorted digests of topic + payload), so a batch that lands,
then is redelivered whole by the broker because the crash came before the acknowledgement,
gets the same id and the lake's app transaction (``citylake:<batch id>``) makes it a
no-op. A redelivery grouped differently (the time trigger fired at another moment) has a
new id; its rows whose primary key already sits in bronze are quarantined as
``duplicate delivery`` (like a file's re-sent record: accounted for, never counted as a
failure, never landed twice).

Payloads that are not UTF-8 JSON objects become row errors of their batch; values of the
wrong type fail in the catalog typing. Both are quarantined with the source, batch and row
named; the rest of the batch lands (unless the source's failure threshold holds it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from citylake import lake, ledger, schema_drift
from citylake.catalog import Source
from citylake.connectors.base import RawBatch, RowError, make_batch_id
from citylake.ingest import land_batch, validate_group
from citylake.settings import Settings

if TYPE_CHECKING:
    from quality.validate import Validator

log = logging.getLogger(__name__)

DUPLICATE_PREFIX = "duplicate delivery"
LOGGED_ROWS = 20  # quarantined rows named in the log per batch; all are in the quarantine table


@dataclass(frozen=True)
class Message:
    """One received MQTT message, as much as landing and acknowledging need."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    received_at: datetime  # UTC, naive
    generation: int = 0  # the connection it arrived on (acks go back on that one only)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.topic.encode() + b"\x00" + self.payload).hexdigest()


def _raw(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def batch_id_for(source_id: str, messages: list[Message]) -> str:
    """The same messages give the same id, whatever order the broker redelivered them in."""
    content = hashlib.sha256("\n".join(sorted(m.digest for m in messages)).encode()).hexdigest()
    return make_batch_id(source_id, "mqtt", content)


def to_raw_batch(source: Source, topic_filter: str, messages: list[Message]) -> RawBatch:
    """Parse the payloads (row = 1-based position in the batch); unparseable ones become row errors."""
    declared = [f.name for f in source.fields]
    records: list[tuple[int, dict]] = []
    errors: list[RowError] = []
    seen: list[str] = []
    for row, msg in enumerate(messages, start=1):
        try:
            text = msg.payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.append(
                RowError(
                    row,
                    repr(msg.payload[:2000]),
                    f"payload on {msg.topic} is not UTF-8: {exc.reason}",
                )
            )
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            errors.append(
                RowError(row, text[:2000], f"payload on {msg.topic} is not JSON: {exc.msg}")
            )
            continue
        if not isinstance(record, dict):
            errors.append(
                RowError(row, text[:2000], f"payload on {msg.topic} is not a JSON object")
            )
            continue
        seen.extend(k for k in record if k not in seen)
        records.append((row, record))
    columns = [*declared, *[k for k in seen if k not in declared]]
    frame = pd.DataFrame(
        [[row, *[_raw(rec.get(c)) for c in columns]] for row, rec in records],
        columns=["_row_number", *columns],
        dtype=object,
    )
    first, last = messages[0].received_at, messages[-1].received_at
    return RawBatch(
        source_id=source.id,
        batch_id=batch_id_for(source.id, messages),
        ref=(
            f"mqtt {topic_filter}: {len(messages)} messages received "
            f"{first.isoformat(timespec='milliseconds')}..{last.isoformat(timespec='milliseconds')}Z"
        ),
        frame=frame,
        row_errors=errors,
        extra_columns=[k for k in seen if k not in declared],
        missing_columns=[c for c in declared if c not in seen] if records else [],
    )


def _landed_keys(settings: Settings, source: Source, typed: pd.DataFrame) -> pd.DataFrame:
    """Rows of bronze (key columns + _batch_id) with a key in ``typed``, read by a pushed-down filter."""
    keys = list(source.primary_key)
    table = lake.open_table(settings.bronze_path(source.id))
    if table is None or typed.empty:
        return pd.DataFrame(columns=[*keys, "_batch_id"])
    dataset = table.to_pyarrow_dataset()
    condition = None
    for name in keys:
        values = typed[name].dropna()
        if values.empty:
            return pd.DataFrame(columns=[*keys, "_batch_id"])
        field_type = dataset.schema.field(name).type
        array = pa.Array.from_pandas(values).cast(field_type)
        bounds = pc.min_max(array)
        # The range lets Parquet statistics skip files; isin makes the match exact.
        part = (pc.field(name) >= bounds["min"]) & (pc.field(name) <= bounds["max"])
        if not pa.types.is_floating(field_type):
            part = part & pc.field(name).isin(pc.unique(array))
        condition = part if condition is None else condition & part
    found = dataset.to_table(columns=[*keys, "_batch_id"], filter=condition)
    return found.to_pandas()


def _mark_landed_duplicates(
    settings: Settings, source: Source, batch_id: str, typed: pd.DataFrame, reasons: dict
) -> int:
    """Add a duplicate-delivery reason to rows whose key an earlier batch already landed."""
    keys = list(source.primary_key)
    candidates = typed[~typed["_row_number"].isin(reasons.keys())]
    landed = _landed_keys(settings, source, candidates)
    landed = landed[landed["_batch_id"] != batch_id]  # this batch's own partial commit
    if landed.empty:
        return 0
    hits = candidates.merge(landed.drop_duplicates(keys), on=keys, how="inner")
    for row, earlier in zip(hits["_row_number"], hits["_batch_id"], strict=True):
        reasons.setdefault(int(row), []).append(
            f"{DUPLICATE_PREFIX}: key already landed in batch {earlier}"
        )
    return len(hits)


def _keep_held(settings: Settings, source: Source, batch_id: str, messages: list[Message]) -> Path:
    """A held stream batch has no file to retry from: keep its messages before acknowledging them."""
    folder = settings.lake_root / "held" / source.id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{batch_id}.ndjson"
    lines = [
        json.dumps(
            {
                "topic": m.topic,
                "received_at": m.received_at.isoformat(),
                "payload": m.payload.decode("utf-8", "replace"),
            },
            ensure_ascii=False,
        )
        for m in messages
    ]
    staged = path.with_name(f".{path.name}.tmp")
    staged.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(staged, path)
    return path


class SchemaTracker:
    """``schema_drift.track`` over a stream: the source's schema history is read from the
    ledger once per subscriber, then extended batch by batch, as in a file ingest run."""

    def __init__(self, source: Source, settings: Settings) -> None:
        self._pending: list[RawBatch] = []
        self._tracked = schema_drift.track(source, settings, self._feed())

    def _feed(self) -> Iterator[RawBatch]:
        while True:
            yield self._pending.pop()

    def __call__(self, batch: RawBatch) -> RawBatch:
        self._pending.append(batch)
        return next(self._tracked)


def land_messages(
    source: Source,
    topic_filter: str,
    messages: list[Message],
    settings: Settings,
    validator: Validator,
    run_id: str,
    tracker: SchemaTracker | None = None,
) -> ledger.LedgerEntry:
    """Type, validate and land one micro-batch; returns its ledger entry (written last)."""
    tracker = tracker or SchemaTracker(source, settings)
    batch = tracker(to_raw_batch(source, topic_filter, messages))
    (prepared,) = validate_group(source, [batch], validator)
    _mark_landed_duplicates(settings, source, batch.batch_id, prepared.frame, prepared.reasons)
    failed = [
        (row, found)
        for row, found in sorted(prepared.reasons.items())
        if not all(w.startswith(DUPLICATE_PREFIX) for w in found)
    ]
    for row, found in failed[:LOGGED_ROWS]:
        log.warning(
            "%s batch %s row %d (topic %s): quarantined: %s",
            source.id,
            batch.batch_id,
            row,
            messages[row - 1].topic,
            "; ".join(found),
        )
    if len(failed) > LOGGED_ROWS:
        log.warning(
            "%s batch %s: %d more rows quarantined (reasons in the quarantine table)",
            source.id,
            batch.batch_id,
            len(failed) - LOGGED_ROWS,
        )
    entry = land_batch(source, prepared, settings, run_id)
    if entry.status == ledger.HELD:
        kept = _keep_held(settings, source, batch.batch_id, messages)
        log.error(
            "%s batch %s held; its %d messages are kept in %s",
            source.id,
            batch.batch_id,
            len(messages),
            kept,
        )
    return entry


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
