"""MQTT messages into raw batches: what the stream subscriber hands to landing.

A micro-batch is the messages one subscriber buffered, in receipt order. Its id is
derived from its content (the sorted digests of topic + payload), so a batch that lands,
then is redelivered whole by the broker because the crash came before the acknowledgement,
gets the same id and the lake's app transaction (``citylake:<batch id>``) makes it a
no-op. A redelivery grouped differently (the time trigger fired at another moment) has a
new id; landing (``check_landed_keys``) quarantines its rows whose primary key already sits
in bronze as ``duplicate delivery`` (accounted for, never counted as a failure, never
landed twice).

Payloads that are not UTF-8 JSON objects become row errors of their batch; values of the
wrong type fail in the catalog typing. Both are quarantined with the source, batch and row
named; the rest of the batch lands (unless the source's failure threshold holds it).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from citylake.catalog import Source
from citylake.connectors.base import RawBatch, RowError, make_batch_id
from citylake.settings import Settings


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


def keep_held(settings: Settings, source: Source, batch_id: str, messages: list[Message]) -> Path:
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


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
