"""The identifier checks of ``identity``, over whole Arrow text columns at once.

Each gives, per value, exactly what its per-value counterpart gives
(``tests/test_identity.py`` holds them to it): a value that could pass is 18 ASCII bytes,
so the candidates are viewed as an (n, 18) byte matrix and the checksum and the birth date
are numpy arithmetic. Nulls come back False (callers judge only values present).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citylake.identity import (
    PROVINCE_PREFIXES,
    RESIDENT_ID_CHECK_CHARS,
    RESIDENT_ID_WEIGHTS,
    USCC_ALPHABET,
    USCC_WEIGHTS,
)

_RESIDENT_SHAPE = r"^[0-9]{17}[0-9X]$"
_USCC_SHAPE = "^[" + USCC_ALPHABET + "]{18}$"
_CHECK = np.frombuffer(RESIDENT_ID_CHECK_CHARS.encode(), dtype=np.uint8)
_USCC_VALUES = np.full(256, -1, dtype=np.int64)
_USCC_VALUES[np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)] = np.arange(len(USCC_ALPHABET))
_USCC_CHARS = np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)
_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def calendar_dates(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Per element: year (>= 1), month and day make a date of the Gregorian calendar, as
    ``datetime.date`` would accept it."""
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _DAYS[np.clip(month, 0, 12)] + ((month == 2) & leap)
    return (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)


def _candidates(values: pa.Array, shape: str) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the values matching ``shape`` (18 ASCII characters) and their bytes."""
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    fits = pc.match_substring_regex(values, shape).fill_null(False)
    rows = np.flatnonzero(fits.to_numpy(zero_copy_only=False))
    if not len(rows):
        return rows, np.zeros((0, 18), dtype=np.int64)
    picked = values.take(pa.array(rows, pa.int64()))
    _, offsets, data = picked.buffers()
    start = int(np.frombuffer(offsets, dtype=np.int32)[picked.offset])
    body = np.frombuffer(data, dtype=np.uint8)[start : start + 18 * len(rows)]
    return rows, body.reshape(len(rows), 18).astype(np.int64)


def valid_resident_ids(values: pa.Array) -> np.ndarray:
    """``identity.is_valid_resident_id`` of every value (without ``as_of``)."""
    ok = np.zeros(len(values), dtype=bool)
    rows, chars = _candidates(values, _RESIDENT_SHAPE)
    if not len(rows):
        return ok
    digits = chars[:, :17] - ord("0")
    province = np.isin(digits[:, 0] * 10 + digits[:, 1], [int(p) for p in PROVINCE_PREFIXES])
    year = digits[:, 6:10] @ np.array([1000, 100, 10, 1])
    month = digits[:, 10:12] @ np.array([10, 1])
    day = digits[:, 12:14] @ np.array([10, 1])
    dated = calendar_dates(year, month, day) & (year >= 1900) & (year <= 2099)
    check = _CHECK[(digits @ np.array(RESIDENT_ID_WEIGHTS)) % 11] == chars[:, 17]
    ok[rows] = province & dated & check
    return ok


def valid_usccs(values: pa.Array) -> np.ndarray:
    """``identity.is_valid_uscc`` of every value."""
    ok = np.zeros(len(values), dtype=bool)
    rows, chars = _candidates(values, _USCC_SHAPE)
    if not len(rows):
        return ok
    numbers = _USCC_VALUES[chars[:, :17]]
    expected = _USCC_CHARS[(31 - (numbers @ np.array(USCC_WEIGHTS)) % 31) % 31]
    ok[rows] = expected == chars[:, 17]
    return ok
