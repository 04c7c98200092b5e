"""The metrics of the landing suites' expectations, computed column-wise on Arrow.

Great Expectations stays the framework of record: the suites are GX suites, each
expectation's own ``_validate`` turns these metrics into its result (success, ``mostly``,
counts, the unexpected rows, exactly as with GX's pandas engine), and the results are
stored in GX's results store and rendered by its Data Docs. What changes is who computes
the metrics: GX's pandas engine makes several Python-level passes per expectation (a
regex is ``str.contains`` value by value), which cost more than the rest of landing;
here each is one vectorized Arrow call, or one Python call per *distinct* value where
the check is Python (identifier checksums). ``tests/test_arrow_metrics.py`` holds both
engines to the same findings on batches with every kind of defect.

Only the expectation types below are computed here; a suite with any other type is
validated by GX's own engine (``supports``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citylake.identity_columns import calendar_dates, valid_resident_ids, valid_usccs
from citylake.landing.arrow_keys import declared_distinct, duplicated_all
from citylake.landing.validation import BATCH_SEQ, ROW_ID
from quality.expectations import PLAIN_MOBILE

UNEXPECTED_COUNT = "unexpected_count"
UNEXPECTED_VALUES = "unexpected_values"
UNEXPECTED_INDEX_LIST = "unexpected_index_list"
FILTERED_ROW_COUNT = "filtered_row_count"


def _resident_id(value: object) -> bool:
    from citylake.identity import is_valid_resident_id

    return is_valid_resident_id(str(value))


def _uscc(value: object) -> bool:
    from citylake.identity import is_valid_uscc

    return is_valid_uscc(str(value))


def _mobile(value: object) -> bool:
    from citylake.identity import normalize_phone

    return normalize_phone(str(value)) is not None


# Python predicates of the custom expectations (quality.expectations), value by value.
_PREDICATES: dict[str, Callable[[object], bool]] = {
    "expect_column_values_to_be_valid_resident_id": _resident_id,
    "expect_column_values_to_be_valid_uscc": _uscc,
    "expect_column_values_to_be_valid_mobile": _mobile,
}
# The same checks over whole text columns (citylake.identity_columns), numpy arithmetic.
_COLUMNWISE: dict[str, Callable[[pa.Array], np.ndarray]] = {
    "expect_column_values_to_be_valid_resident_id": valid_resident_ids,
    "expect_column_values_to_be_valid_uscc": valid_usccs,
}
_COLUMN_MAP = {
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_be_between",
    "expect_column_values_to_match_regex",
    *_PREDICATES,
}
SUPPORTED = {
    "expect_column_to_exist",
    "expect_compound_columns_to_be_unique",
    "expect_column_pair_birth_date_to_match_resident_id",
    *_COLUMN_MAP,
}


def supports(expectations: list[Any]) -> bool:
    return all(e.expectation_type in SUPPORTED for e in expectations)


def _array(table: pa.Table, name: str) -> pa.Array:
    column = table.column(name)
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _present(values: pa.Array) -> np.ndarray:
    """Not missing, as pandas sees it: null and NaN are both missing."""
    missing = pc.is_null(values, nan_is_null=True)
    return ~missing.to_numpy(zero_copy_only=False)


def _by_distinct(values: pa.Array, check: Callable[[object], bool]) -> np.ndarray:
    """``check`` on each distinct value once, spread back over the rows (False for null)."""
    encoded = pc.dictionary_encode(values)
    verdicts = np.array([bool(check(v)) for v in encoded.dictionary.to_pylist()] or [True])
    indices = encoded.indices.fill_null(0).to_numpy(zero_copy_only=False)
    return verdicts[indices]


# A pattern whose classes are all explicit: RE2 (Arrow) finds a match wherever Python's
# re does not fail to (Python's \d, \w, \s also take non-ASCII characters, and its $ also
# matches before a final newline); the values RE2 does not match are asked again of Python.
_SHORTHAND = re.compile(r"\\[dDwWsSbBAZ]|\(\?")


def _matches(values: pa.Array, regex: str) -> np.ndarray:
    python = re.compile(regex)
    if _SHORTHAND.search(regex) is None and pa.types.is_string(values.type):
        try:
            found = pc.match_substring_regex(values, regex).fill_null(False)
        except pa.ArrowInvalid:  # a construct RE2 lacks
            pass
        else:
            ok = found.to_numpy(zero_copy_only=False).copy()
            retry = np.flatnonzero(~ok)
            if len(retry):
                again = values.take(pa.array(retry)).to_pylist()
                ok[retry] = [v is not None and python.search(v) is not None for v in again]
            return ok
    return _by_distinct(values, lambda v: python.search(str(v)) is not None)


def _in_set(values: pa.Array, value_set: list[Any]) -> np.ndarray:
    try:
        allowed = pa.array(value_set).cast(values.type)
        return pc.is_in(values, value_set=allowed).fill_null(False).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        members = set(value_set)
        return _by_distinct(values, lambda v: v in members)


def _between(values: pa.Array, kwargs: dict[str, Any]) -> np.ndarray:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    ok = pa.array(np.ones(len(values), dtype=bool))
    if low is not None:
        above = pc.greater if kwargs.get("strict_min") else pc.greater_equal
        ok = pc.and_(ok, above(values, low))
    if high is not None:
        below = pc.less if kwargs.get("strict_max") else pc.less_equal
        ok = pc.and_(ok, below(values, high))
    return ok.fill_null(False).to_numpy(zero_copy_only=False)


def _expected(expectation: Any, values: pa.Array) -> np.ndarray:
    """Per row: the value meets the expectation (only read where the value is present)."""
    kind, kwargs = expectation.expectation_type, expectation.configuration.kwargs
    if kind == "expect_column_values_to_not_be_null":
        return _present(values)
    if kind == "expect_column_values_to_be_in_set":
        return _in_set(values, list(kwargs["value_set"]))
    if kind == "expect_column_values_to_be_between":
        return _between(values, kwargs)
    if kind == "expect_column_values_to_match_regex":
        return _matches(values, kwargs["regex"])
    if kind == "expect_column_values_to_be_valid_mobile" and pa.types.is_string(values.type):
        # As the GX metric does: the plain 11-digit form by one regex, the rest normalized.
        ok = pc.match_substring_regex(values, PLAIN_MOBILE).fill_null(False)
        ok = ok.to_numpy(zero_copy_only=False).copy()
        rest = np.flatnonzero(~ok)
        if len(rest):
            ok[rest] = _by_distinct(values.take(pa.array(rest)), _mobile)
        return ok
    if pa.types.is_string(values.type) and kind in _COLUMNWISE:
        return _COLUMNWISE[kind](values)
    return _by_distinct(values, _PREDICATES[kind])


# An ID of 18 printable ASCII characters with 8 digits at positions 7-14 is one the
# per-row check reads as is (NFKC, strip and upper-casing leave it alone there); so is a
# birth date keyed as 2026-09-01.
_PLAIN_ID = r"^[!-~]{6}[0-9]{8}[!-~]{4}$"
_PLAIN_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _plain_dates(
    text: pa.Array, shape: str, start: int, *, dashed: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: whether the text has ``shape`` and holds a calendar date (8 digits from
    ``start``, or YYYY-MM-DD when ``dashed``), and that date as days since 1970-01-01 (what
    a date32 holds). Other rows are the per-row check's."""
    plain = pc.match_substring_regex(text, shape).fill_null(False)
    plain = plain.to_numpy(zero_copy_only=False).copy()
    days = np.zeros(len(text), dtype=np.int64)
    rows = np.flatnonzero(plain)
    if not len(rows):
        return plain, days
    picked = text.take(pa.array(rows, pa.int64()))
    if dashed:
        picked = pc.replace_substring(picked, "-", "")
    number = pc.cast(pc.utf8_slice_codeunits(picked, start, start + 8), pa.int64()).to_numpy()
    year, month, day = number // 10_000, number // 100 % 100, number % 100
    real = calendar_dates(year, month, day)
    # Not a calendar date: the per-row check does not judge it (True); it decides.
    plain[rows[~real]] = False
    y, m, d = year[real], month[real], day[real]
    first = (y - 1970).astype("datetime64[Y]") + (m - 1).astype("timedelta64[M]")
    days[rows[real]] = (first.astype("datetime64[D]") + (d - 1)).astype(np.int64)
    return plain, days


def _index_list(table: pa.Table, rows: np.ndarray, columns: list[str]) -> list[dict[str, Any]]:
    picked = table.select([BATCH_SEQ, ROW_ID, *columns]).take(pa.array(rows, pa.int64()))
    return picked.to_pylist()


def _map_metrics(
    expectation: Any, table: pa.Table, considered: np.ndarray, bad: np.ndarray, columns: list[str]
) -> dict[str, Any]:
    metric = expectation.map_metric
    rows = np.flatnonzero(bad)
    listed = _index_list(table, rows, columns)
    if len(columns) == 1:
        values: list[Any] = [r[columns[0]] for r in listed]
    elif expectation.expectation_type == "expect_compound_columns_to_be_unique":
        values = [{c: r[c] for c in columns} for r in listed]
    else:
        values = [tuple(r[c] for c in columns) for r in listed]
    return {
        "table.row_count": table.num_rows,
        "table.columns": table.column_names,
        "column_values.nonnull.unexpected_count": int(table.num_rows - considered.sum()),
        f"{metric}.{UNEXPECTED_COUNT}": len(rows),
        f"{metric}.{UNEXPECTED_VALUES}": values,
        f"{metric}.{UNEXPECTED_INDEX_LIST}": listed,
        f"{metric}.{FILTERED_ROW_COUNT}": int(considered.sum()),
    }


class MissingColumnError(KeyError):
    """A column an expectation reads is not in the batch (GX reports it the same way)."""


def metrics(expectation: Any, table: pa.Table) -> dict[str, Any]:
    """What ``expectation._validate`` reads, computed on ``table``."""
    kind, kwargs = expectation.expectation_type, expectation.configuration.kwargs
    if kind == "expect_column_to_exist":
        return {"table.columns": table.column_names}
    if kind == "expect_compound_columns_to_be_unique":
        columns = list(kwargs["column_list"])
    elif kind == "expect_column_pair_birth_date_to_match_resident_id":
        columns = [kwargs["column_A"], kwargs["column_B"]]
    else:
        columns = [kwargs["column"]]
    for name in columns:
        if name not in table.column_names:
            raise MissingColumnError(f'Error: The column "{name}" in BatchData does not exist.')
    if kind == "expect_compound_columns_to_be_unique":
        # Rows missing every value are not judged (GX's default ignore_row_if).
        present = np.zeros(table.num_rows, dtype=bool)
        for name in columns:
            present |= _present(_array(table, name))
        if declared_distinct(table, columns):
            bad = np.zeros(table.num_rows, dtype=bool)
        else:
            bad = duplicated_all(table, columns) & present
        return _map_metrics(expectation, table, present, bad, columns)
    if kind == "expect_column_pair_birth_date_to_match_resident_id":
        from quality.expectations import birth_date_matches_resident_id

        born, resident = _array(table, columns[0]), _array(table, columns[1])
        both = _present(born) & _present(resident)
        bad = np.zeros(table.num_rows, dtype=bool)
        rest = both.copy()
        if pa.types.is_string(resident.type) and (
            pa.types.is_date32(born.type) or pa.types.is_string(born.type)
        ):
            plain, encoded = _plain_dates(resident, _PLAIN_ID, 6)
            if pa.types.is_date32(born.type):
                dated = np.ones(len(born), dtype=bool)
                days = born.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False)
            else:  # a birth date keyed as 2026-09-01: the per-row check reads it as a date
                dated, days = _plain_dates(born, _PLAIN_DATE, 0, dashed=True)
            fast = both & plain & dated
            bad[fast] = encoded[fast] != days[fast]
            rest &= ~(plain & dated)
        rows = np.flatnonzero(rest)
        pairs = zip(
            born.take(pa.array(rows, pa.int64())).to_pylist(),
            resident.take(pa.array(rows, pa.int64())).to_pylist(),
            strict=True,
        )
        bad[rows] = [not birth_date_matches_resident_id(a, b) for a, b in pairs]
        return _map_metrics(expectation, table, both, bad, columns)
    values = _array(table, columns[0])
    present = _present(values)
    if kind == "expect_column_values_to_not_be_null":
        return _map_metrics(expectation, table, present, ~present, columns)
    bad = present & ~_expected(expectation, values)
    return _map_metrics(expectation, table, present, bad, columns)
