"""Row keys over several Arrow columns, for duplicate checks without per-row Python.

Nulls are one value, equal to each other, and so is NaN, as in pandas' ``duplicated``.
Everything is hashing (Arrow's dictionary encoding) and O(n) numpy: no sort.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_LIMIT = 1 << 62  # combined codes stay below this (int64)


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


def group_numbers(table: pa.Table, columns: list[str]) -> tuple[np.ndarray, int]:
    """Per row the number of its key (the values in ``columns``) in order of first
    appearance (0, 1, 2, ...), and the number of distinct keys."""
    codes, size = np.zeros(table.num_rows, dtype=np.int64), 1
    for name in columns:
        values, count = _encode(_column(table, name))
        if size * max(count, 1) >= _LIMIT:  # renumber before the product could overflow
            codes, size = _encode(pa.array(codes))
        codes, size = codes * max(count, 1) + values, size * max(count, 1)
    return _encode(pa.array(codes))


def all_distinct(table: pa.Table, columns: list[str]) -> bool:
    """No two rows share their values in ``columns``."""
    if len(columns) == 1 and table.num_rows:  # one hash count, no codes
        values = _column(table, columns[0])
        if not pa.types.is_null(values.type):
            return pc.count_distinct(values, mode="all").as_py() == table.num_rows
    return group_numbers(table, columns)[1] == table.num_rows


def duplicated_all(table: pa.Table, columns: list[str]) -> np.ndarray:
    """Rows whose key occurs more than once (pandas ``duplicated(keep=False)``)."""
    numbers, groups = group_numbers(table, columns)
    if groups == table.num_rows:
        return np.zeros(table.num_rows, dtype=bool)
    return np.bincount(numbers, minlength=groups)[numbers] > 1


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
