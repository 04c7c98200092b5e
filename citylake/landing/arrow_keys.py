"""Row keys over several Arrow columns, for duplicate checks without per-row Python.

Nulls are one value, equal to each other, and so is NaN, as in pandas' ``duplicated``.
Everything is hashing (Arrow's dictionary encoding) and O(n) numpy: no sort.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_LIMIT = 1 << 62  # combined codes stay below this (int64)

# Schema metadata: column lists already found to hold no repeated key in a table's rows
# (landing checks each batch's primary key itself), so a uniqueness check on the same
# columns of the same rows need not hash them again.
_DISTINCT = b"citylake.distinct_columns"


def declare_distinct(table: pa.Table, columns: list[str]) -> pa.Table:
    """``table`` noting that no two of its rows share their values in ``columns``."""
    known = [*_declared(table), sorted(columns)]
    metadata = {**(table.schema.metadata or {}), _DISTINCT: json.dumps(known).encode()}
    return table.replace_schema_metadata(metadata)


def declared_distinct(table: pa.Table, columns: list[str]) -> bool:
    """Whether ``table`` notes ``columns`` as holding no repeated key."""
    return sorted(columns) in _declared(table)


def _declared(table: pa.Table) -> list[list[str]]:
    raw = (table.schema.metadata or {}).get(_DISTINCT)
    return json.loads(raw) if raw else []


def _column(table: pa.Table, name: str) -> pa.Array:
    column = table.column(name)
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_floating(array.type):
        # NaN and null are both "missing" to pandas: one key value.
        array = pc.if_else(pc.is_nan(array), pa.scalar(None, array.type), array)
    return array


def _encode(values: pa.Array) -> tuple[np.ndarray, int]:
    """Per row the number of its value in order of first appearance, and how many there are."""
    encoded = pc.dictionary_encode(values, null_encoding="encode")
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), len(encoded.dictionary)


def _codes(table: pa.Table, columns: list[str]) -> tuple[np.ndarray, int]:
    """Per row a code of its key below ``size`` (equal keys, equal codes; not every code
    need be used), and ``size``."""
    codes, size = np.zeros(table.num_rows, dtype=np.int64), 1
    for name in columns:
        values, count = _encode(_column(table, name))
        if size * max(count, 1) >= _LIMIT:  # renumber before the product could overflow
            codes, size = _encode(pa.array(codes))
        codes, size = codes * max(count, 1) + values, size * max(count, 1)
    return codes, size


def _dense(size: int, rows: int) -> bool:
    """Codes few enough to count in an array (a sensor's stations x readings times):
    cheaper than hashing them again."""
    return size <= 4 * rows + 1024


def group_numbers(table: pa.Table, columns: list[str]) -> tuple[np.ndarray, int]:
    """Per row the number of its key (the values in ``columns``) in order of first
    appearance (0, 1, 2, ...), and the number of distinct keys."""
    return _encode(pa.array(_codes(table, columns)[0]))


def all_distinct(table: pa.Table, columns: list[str]) -> bool:
    """No two rows share their values in ``columns``."""
    if len(columns) == 1 and table.num_rows:  # one hash count, no codes
        values = _column(table, columns[0])
        if not pa.types.is_null(values.type):
            return pc.count_distinct(values, mode="all").as_py() == table.num_rows
    codes, size = _codes(table, columns)
    if _dense(size, table.num_rows):
        return int(np.bincount(codes, minlength=size).max(initial=0)) <= 1
    return _encode(pa.array(codes))[1] == table.num_rows


def duplicated_all(table: pa.Table, columns: list[str]) -> np.ndarray:
    """Rows whose key occurs more than once (pandas ``duplicated(keep=False)``)."""
    codes, size = _codes(table, columns)
    if not _dense(size, table.num_rows):
        codes, size = _encode(pa.array(codes))
        if size == table.num_rows:
            return np.zeros(table.num_rows, dtype=bool)
    return np.bincount(codes, minlength=size)[codes] > 1


def duplicated_later(table: pa.Table, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Rows repeating an earlier row's key (pandas ``duplicated(keep="first")``), and for
    every row the position of the first row with its key."""
    numbers, _ = group_numbers(table, columns)
    if not len(numbers):
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64)
    # Numbers count up in order of first appearance: a row is its key's first exactly
    # when its number exceeds every number before it.
    seen = np.maximum.accumulate(numbers)
    first = np.empty(len(numbers), dtype=bool)
    first[0] = True
    first[1:] = numbers[1:] > seen[:-1]
    return ~first, np.flatnonzero(first)[numbers]
