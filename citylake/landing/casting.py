"""Typing raw values by the catalog schema: the only change bronze makes to what arrived.

A value that does not parse as its declared type is a row-level failure (the row goes
to quarantine with the column and value named), never a failure of the whole batch.
Timestamps are city local time (Asia/Shanghai) without zone: offsets in the raw value
are converted to it.
"""

from __future__ import annotations

import contextlib
import re
from collections import defaultdict

import numpy as np
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
    if isinstance(raw.dtype, pd.ArrowDtype):  # value by value is Python's business
        raw = raw.astype(object).where(raw.notna(), None)
    text = raw.where(raw.isna(), raw.astype(str).str.strip())
    text = text.mask(text == "")
    if kind == FieldType.string:
        return raw.astype("string")
    if kind == FieldType.integer:
        number = pd.to_numeric(text, errors="coerce")
        # Beyond int64 is not an integer we can hold: a type failure, not a crash.
        whole = number.where(number.isna() | ((number == number.round()) & (number.abs() < 2**63)))
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


# Fast path: values in the common strict form are cast by Arrow in one vectorized call;
# any other non-empty value takes the per-value pandas path above, so the result is the
# same as casting everything that way (which cost ~1 s per 50k rows x 12 columns).
_FAST: dict[FieldType, tuple[str, pa.DataType]] = {
    FieldType.integer: (r"^-?\d{1,18}$", pa.int64()),
    FieldType.double: (r"^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?$", pa.float64()),
    FieldType.timestamp: (
        r"^\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d{1,6})?)?)?$",
        pa.timestamp("us"),
    ),
    FieldType.date: (r"^\d{4}-\d\d-\d\d$", pa.date32()),
}
_AWARE = r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d{1,6})?)?(?:Z|[+-]\d\d:?\d\d)$"
_PANDAS_TYPES = {
    pa.int64(): pd.Int64Dtype(),
    pa.float64(): pd.Float64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}


def _offset_first(text: pa.Array) -> bool:
    """Whether the first value looks zoned: then the column is tested for offsets first
    (a sensor's, all zoned), else for the naive form first (a department's, all naive),
    so the usual column takes one regex pass, not two."""
    import pyarrow.compute as pc

    first = pc.drop_null(text.slice(0, 64))
    return bool(len(first)) and re.match(_AWARE, first[0].as_py()) is not None


def _with_offsets(
    text: pa.Array, values: pa.Array, fits: pa.Array, aware: pa.Array
) -> tuple[pa.Array, pa.Array]:
    """Add the ISO timestamps with a zone offset (``aware``): to UTC, then city local time,
    no zone."""
    import pyarrow.compute as pc

    if not pc.any(aware).as_py():
        return values, fits
    utc = pc.cast(pc.if_else(aware, text, pa.scalar(None, pa.string())), pa.timestamp("us", "UTC"))
    local = pc.local_timestamp(pc.cast(utc, pa.timestamp("us", tz=LOCAL_TZ)))
    return pc.if_else(aware, local, values), pc.or_(fits, aware)


def _as_text(column: pd.Series) -> pa.Array | None:
    """The raw column as Arrow text, or None when some value is not text (a typed API value)."""
    dtype = column.dtype
    if isinstance(dtype, pd.ArrowDtype) and pa.types.is_string(dtype.pyarrow_dtype):
        return pa.array(column.array)  # the reader's own Arrow buffers, no copy
    try:
        return pa.array(column.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None


def _cast_arrow(column: pd.Series, kind: FieldType) -> tuple[pa.Array, np.ndarray]:
    """Cast one raw column (0..n-1 index) to its Arrow type; returns the values and a
    mask of the non-empty values that did not parse."""
    import pyarrow.compute as pc

    target = ARROW_TYPES[kind]
    nothing = np.zeros(len(column), dtype=bool)
    text = _as_text(column)
    if kind == FieldType.string:
        if text is None:  # numbers from an API in a text column: as pandas writes them
            text = pa.array(column.astype("string"), type=pa.string(), from_pandas=True)
        return text, nothing
    if text is None:
        return _by_pandas(column, kind, column.notna() & (column.astype(str).str.strip() != ""))
    trimmed = pc.utf8_trim_whitespace(text)
    present = pc.fill_null(pc.not_equal(trimmed, ""), False)
    if kind == FieldType.boolean:
        lowered = pc.utf8_lower(trimmed)
        values = pc.if_else(
            pc.is_in(lowered, pa.array(sorted(_TRUE))),
            True,
            pc.if_else(pc.is_in(lowered, pa.array(sorted(_FALSE))), False, None),
        )
        fits = pc.is_valid(values)
    else:
        pattern, _ = _FAST[kind]
        none = pa.scalar(None, pa.string())
        aware = None
        if kind == FieldType.timestamp and _offset_first(trimmed):
            aware = pc.fill_null(pc.match_substring_regex(trimmed, _AWARE), False)
        try:
            if aware is not None and pc.all(pc.or_(aware, pc.invert(present))).as_py():
                # Every value carries its offset (a sensor feed's): no naive ones to look for.
                unfit = pa.array(np.zeros(len(trimmed), dtype=bool))
                values, fits = _with_offsets(trimmed, pa.nulls(len(trimmed), target), unfit, aware)
            else:
                fits = pc.fill_null(pc.match_substring_regex(trimmed, pattern), False)
                values = pc.cast(pc.if_else(fits, trimmed, none), target)
                if kind == FieldType.timestamp:
                    if aware is None and pc.any(pc.and_(present, pc.invert(fits))).as_py():
                        aware = pc.fill_null(pc.match_substring_regex(trimmed, _AWARE), False)
                    if aware is not None:
                        values, fits = _with_offsets(trimmed, values, fits, aware)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # e.g. 2026-02-30: per value
            return _by_pandas(column, kind, pd.Series(present.to_numpy(zero_copy_only=False)))
    slow = pc.and_(present, pc.invert(fits)).to_numpy(zero_copy_only=False)
    if slow.any():  # values in another form: the pandas path, for those values only
        rows = np.flatnonzero(slow)
        again = _cast_series(column.iloc[rows], kind)
        patch = pa.array(again.astype(object).where(again.notna(), None), type=target)
        values = pc.replace_with_mask(values, pa.array(slow), patch)
    missing = values.is_null().to_numpy(zero_copy_only=False)
    return values, present.to_numpy(zero_copy_only=False) & missing


def _by_pandas(
    column: pd.Series, kind: FieldType, present: pd.Series
) -> tuple[pa.Array, np.ndarray]:
    cast = _cast_series(column, kind)
    values = pa.array(cast.astype(object).where(cast.notna(), None), type=ARROW_TYPES[kind])
    bad = present.to_numpy(dtype=bool) & values.is_null().to_numpy(zero_copy_only=False)
    return values, bad


def _cast_column(column: pd.Series, kind: FieldType) -> tuple[pd.Series, pd.Series]:
    """``_cast_arrow`` as pandas (nullable dtypes; dates as ``datetime.date`` objects)."""
    values, bad = _cast_arrow(column, kind)
    cast = values.to_pandas(types_mapper=_PANDAS_TYPES.get)
    if kind == FieldType.date:
        cast = cast.astype(object).where(cast.notna(), None)
    cast.index = column.index
    return cast, pd.Series(bad, index=column.index)


# Columns whose bronze type differs from what this batch would write (a catalog type
# changed after the column landed): {column: bronze's type}, set by schema_drift.DriftTracker on
# the raw frame's ``attrs``. Bronze's type wins: rows whose value does not fit it go to
# quarantine as a type conflict, instead of a Delta schema mismatch failing the table.
BRONZE_TYPES = "citylake.bronze_types"

_KIND_OF_ARROW: dict[pa.DataType, FieldType] = {
    pa.string(): FieldType.string,
    pa.large_string(): FieldType.string,
    pa.string_view(): FieldType.string,
    pa.int64(): FieldType.integer,
    pa.float64(): FieldType.double,
    pa.bool_(): FieldType.boolean,
    pa.date32(): FieldType.date,
    pa.timestamp("us"): FieldType.timestamp,
}


def type_conflicts(source: Source, bronze: pa.Schema) -> dict[str, FieldType]:
    """Columns (declared, or undeclared and so written as text) whose type in the bronze
    table at hand differs from the type this batch would give them."""
    declared = {f.name: f.type for f in source.fields}
    found: dict[str, FieldType] = {}
    for column in bronze:
        if column.name.startswith("_"):
            continue  # lineage columns
        kind = _KIND_OF_ARROW.get(column.type)
        if kind is not None and kind != declared.get(column.name, FieldType.string):
            found[column.name] = kind
    return found


def cast_table(
    source: Source, raw: pd.DataFrame, conflicts: dict[str, FieldType] | None = None
) -> tuple[pa.Table, dict[int, list[str]]]:
    """Typed Arrow table with the catalog's columns (plus undeclared ones as strings),
    ``_row_number`` first. ``conflicts``: columns that keep bronze's type (schema_drift).

    Returns the table and, per ``_row_number``, the type failures found.
    """
    failures: dict[int, list[str]] = defaultdict(list)
    conflicts = conflicts or {}
    numbers = raw["_row_number"].to_numpy(dtype=np.int64)
    columns: dict[str, pa.Array] = {"_row_number": pa.array(numbers, pa.int64())}

    def cast_into(name: str, column: pd.Series, declared: FieldType) -> None:
        kind = conflicts.get(name, declared)
        values, bad = _cast_arrow(column, kind)
        for idx in np.flatnonzero(bad):
            value = str(column.iat[idx])[:80]
            failures[int(numbers[idx])].append(
                f"type: {name}={value!r} is not a {kind.value}"
                if kind == declared
                else f"type conflict: {name}={value!r} is not a {kind.value}, the type bronze "
                f"holds {name} as (this batch would write {declared.value})"
            )
        columns[name] = values

    for f in source.fields:
        column = (
            raw[f.name] if f.name in raw.columns else pd.Series([None] * len(raw), dtype=object)
        )
        cast_into(f.name, column.reset_index(drop=True), f.type)
    declared = {f.name for f in source.fields}
    for extra in raw.columns:
        if extra == "_row_number" or extra in declared:
            continue
        # Schema evolution: an undeclared column is kept, as delivered, as text (unless
        # bronze already holds it with another type).
        cast_into(extra, raw[extra].reset_index(drop=True), FieldType.string)
    return pa.table(columns), dict(failures)


def arrow_schema(
    source: Source, columns: list[str], conflicts: dict[str, FieldType] | None = None
) -> pa.Schema:
    conflicts = conflicts or {}
    fields = [pa.field("_row_number", pa.int64())]
    fields += [pa.field(f.name, ARROW_TYPES[conflicts.get(f.name, f.type)]) for f in source.fields]
    declared = {f.name for f in source.fields} | {"_row_number"}
    fields += [
        pa.field(c, ARROW_TYPES[conflicts.get(c, FieldType.string)])
        for c in columns
        if c not in declared
    ]
    return pa.schema(fields)


def cast_values(values: list[object], kind: FieldType) -> tuple[list[object], list[int]]:
    """Values of any Python type cast to a catalog type exactly as landing casts a column,
    as Python objects (int, float, bool, date, datetime); returns them and the positions
    that did not parse. For writers that must hold the declared type (the demo city's SQL
    tables), so what they accept is what landing accepts."""
    if kind == FieldType.string:
        raise ValueError("cast_values is for typed columns; text is written as delivered")
    cast, bad = _cast_column(pd.Series(values, dtype=object), kind)
    out: list[object] = []
    for value in cast.tolist():
        if value is None or value is pd.NA or value is pd.NaT:
            out.append(None)
        elif isinstance(value, pd.Timestamp):
            out.append(value.to_pydatetime())
        elif kind == FieldType.integer:
            out.append(int(value))
        elif kind == FieldType.double:
            out.append(float(value))
        elif kind == FieldType.boolean:
            out.append(bool(value))
        else:
            out.append(value)
    return out, [int(i) for i in bad[bad].index]
