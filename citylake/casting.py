"""Typing raw values by the catalog schema: the only change bronze makes to what arrived.

A value that does not parse as its declared type is a row-level failure (the row goes
to quarantine with the column and value named), never a failure of the whole batch.
Timestamps are city local time (Asia/Shanghai) without zone: offsets in the raw value
are converted to it.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict

import pandas as pd
import pyarrow as pa

from citylake.catalog import FieldType, Source

LOCAL_TZ = "Asia/Shanghai"

ARROW_TYPES: dict[FieldType, pa.DataType] = {
    FieldType.string: pa.string(),
    FieldType.integer: pa.int64(),
    FieldType.double: pa.float64(),
    FieldType.boolean: pa.bool_(),
    FieldType.date: pa.date32(),
    FieldType.timestamp: pa.timestamp("us"),
}

_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}


def _to_local_naive(text: str) -> pd.Timestamp:
    ts = pd.Timestamp(text)
    if ts.tzinfo is not None:
        ts = ts.tz_convert(LOCAL_TZ).tz_localize(None)
    return ts


def _cast_series(raw: pd.Series, kind: FieldType) -> pd.Series:
    """Cast one column; unparseable values become NA (the caller reports them)."""
    text = raw.where(raw.isna(), raw.astype(str).str.strip())
    text = text.mask(text == "")
    if kind == FieldType.string:
        return raw.astype("string")
    if kind == FieldType.integer:
        number = pd.to_numeric(text, errors="coerce")
        whole = number.where(number.isna() | (number == number.round()))
        return whole.astype("Int64")
    if kind == FieldType.double:
        return pd.to_numeric(text, errors="coerce").astype("Float64")
    if kind == FieldType.boolean:
        lowered = text.str.lower()
        return lowered.map(lambda v: True if v in _TRUE else False if v in _FALSE else None).astype(
            "boolean"
        )

    return _parse_timestamps(text).dt.date if kind == FieldType.date else _parse_timestamps(text)


def _parse_timestamps(text: pd.Series) -> pd.Series:
    """ISO 8601 vectorized (the common case), anything else value by value."""
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    present = text.notna()
    aware = present & text.astype(str).str.contains(r"(?:[+-]\d\d:?\d\d|Z)$", regex=True)
    if aware.any():
        parsed = pd.to_datetime(text[aware], format="ISO8601", errors="coerce", utc=True)
        out[aware] = parsed.dt.tz_convert(LOCAL_TZ).dt.tz_localize(None).astype("datetime64[us]")
    naive = present & ~aware
    if naive.any():
        out[naive] = pd.to_datetime(text[naive], format="ISO8601", errors="coerce")
    retry = present & out.isna()
    for idx in retry[retry].index:
        with contextlib.suppress(ValueError, OverflowError):
            out[idx] = _to_local_naive(str(text[idx]))
    return out


def cast_frame(source: Source, raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, list[str]]]:
    """Typed frame with the catalog's columns (plus undeclared ones as strings).

    Returns the frame and, per ``_row_number``, the type failures found.
    """
    failures: dict[int, list[str]] = defaultdict(list)
    typed = pd.DataFrame({"_row_number": raw["_row_number"].astype("int64")})
    for f in source.fields:
        column = (
            raw[f.name] if f.name in raw.columns else pd.Series([None] * len(raw), dtype=object)
        )
        column = column.reset_index(drop=True)
        cast = _cast_series(column, f.type).reset_index(drop=True)
        bad = column.notna() & (column.astype(str).str.strip() != "") & cast.isna()
        for idx in bad[bad].index:
            failures[int(typed["_row_number"].iat[idx])].append(
                f"type: {f.name}={str(column.iat[idx])[:80]!r} is not a {f.type.value}"
            )
        typed[f.name] = cast.values
    declared = {f.name for f in source.fields}
    for extra in raw.columns:
        if extra != "_row_number" and extra not in declared:
            # Schema evolution: an undeclared column is kept, as delivered, as text.
            typed[extra] = raw[extra].astype("string").values
    return typed, dict(failures)


def arrow_schema(source: Source, frame: pd.DataFrame) -> pa.Schema:
    fields = [pa.field("_row_number", pa.int64())]
    fields += [pa.field(f.name, ARROW_TYPES[f.type]) for f in source.fields]
    declared = {f.name for f in source.fields} | {"_row_number"}
    fields += [pa.field(c, pa.string()) for c in frame.columns if c not in declared]
    return pa.schema(fields)
