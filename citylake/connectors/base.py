"""The raw batch every connector yields, and the state it resumes from."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa


class SourceUnavailableError(RuntimeError):
    """The source system cannot be read at all (database down, table gone); names the source."""


@dataclass(frozen=True)
class RowError:
    """A record that could not be parsed into fields (malformed line, undecodable bytes)."""

    row_number: int
    raw: str
    reason: str


@dataclass
class RawBatch:
    source_id: str
    batch_id: str
    ref: str  # human-readable lineage: file name and digest, or cursor range
    # Text columns (str/None; Arrow-backed where a reader built them in Arrow) plus the
    # int column _row_number.
    frame: pd.DataFrame
    row_errors: list[RowError] = field(default_factory=list)
    file_name: str | None = None
    file_sha256: str | None = None
    cursor_lo: str | None = None
    cursor_hi: str | None = None
    extra_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    # Set by citylake.landing.schema_drift.DriftTracker at landing: delivered column set, its version, note.
    schema_columns: str | None = None
    schema_version: int = 1
    schema_note: str = ""
    # Set by citylake.landing.redelivery.RedeliveryCheck: the earlier delivery with the same bytes, if any.
    duplicate_of: str | None = None
    # A file too large for one batch lands in parts (connectors.text_lines.CHUNK_ROWS): the
    # part's number, and on the last part only, the number of parts.
    file_part: int | None = None
    file_parts: int | None = None

    @property
    def rows_received(self) -> int:
        return len(self.frame) + len(self.row_errors)


@dataclass(frozen=True)
class SourceState:
    """What already landed, read from the ingest ledger (the lake is the state)."""

    cursor_high: str | None = None
    landed_files: frozenset[tuple[str, str]] = frozenset()  # (file name, sha256)
    file_versions: Mapping[str, int] = field(default_factory=dict)  # digests seen per file name


def make_batch_id(source_id: str, *parts: str) -> str:
    """Deterministic: the same delivery always gets the same id, so reruns are no-ops."""
    digest = hashlib.sha256("\x1f".join([source_id, *parts]).encode()).hexdigest()[:20]
    return f"{source_id}-{digest}"


def text_column(values: Sequence[object], render: Callable[[object], str | None]) -> pd.Series:
    """Delivered values as a text column, Arrow-backed (landing types it in Arrow without a
    copy to Python objects): text as is, integers as their digits (what ``str`` writes,
    converted in Arrow), anything else through ``render`` value by value."""
    try:
        inferred = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        inferred = None
    kind = inferred.type if inferred is not None else None
    if kind is not None and (
        pa.types.is_string(kind) or pa.types.is_integer(kind) or pa.types.is_null(kind)
    ):
        text = inferred.cast(pa.string())
    else:
        text = pa.array(
            [v if v is None or type(v) is str else render(v) for v in values], type=pa.string()
        )
    return pd.Series(pd.arrays.ArrowExtensionArray(text))
