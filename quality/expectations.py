"""Custom expectations for government identifiers (checksums per GB 11643 / GB 32100),
and the consistency of a birth date with the resident ID that encodes it."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import ClassVar, Literal

import pandas as pd
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import (
    ColumnMapExpectation,
    ColumnPairMapExpectation,
)
from great_expectations.expectations.metrics import (
    ColumnMapMetricProvider,
    column_condition_partial,
)
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnPairMapMetricProvider,
    column_pair_condition_partial,
)

PLAIN_MOBILE = r"^1[3-9][0-9]{9}$"  # how nearly every mobile number arrives


class ColumnValuesValidResidentId(ColumnMapMetricProvider):
    condition_metric_name = "column_values.valid_resident_id"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: object) -> pd.Series:
        from citylake.identity import is_valid_resident_id

        return column.map(lambda v: is_valid_resident_id(str(v)))


class ColumnValuesValidUscc(ColumnMapMetricProvider):
    condition_metric_name = "column_values.valid_uscc"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: object) -> pd.Series:
        from citylake.identity import is_valid_uscc

        return column.map(lambda v: is_valid_uscc(str(v)))


class ColumnValuesValidMobile(ColumnMapMetricProvider):
    condition_metric_name = "column_values.valid_mobile"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: object) -> pd.Series:
        import pyarrow as pa
        import pyarrow.compute as pc

        from citylake.identity import normalize_phone

        # Spaces, dashes and +86 are how people key numbers: staging normalizes them.
        # Landing only refuses what is no mobile number at all. Numbers already in the
        # plain 11-digit form (nearly all) pass one vectorized regex; the rest are
        # normalized one by one (per value for every row cost ~1 s per 50k rows).

        text = column.astype(str)
        # type=string: an empty column (every phone missing) would infer Arrow's null type.
        values = pa.array(text.to_numpy(object), type=pa.string())
        plain = pc.match_substring_regex(values, PLAIN_MOBILE)
        ok = pd.Series(plain.to_numpy(zero_copy_only=False), index=column.index, dtype=bool)
        if not ok.all():
            rest = ~ok
            ok[rest] = [normalize_phone(v) is not None for v in text[rest]]
        return ok


class ExpectColumnValuesToBeValidResidentId(ColumnMapExpectation):
    """Resident identity numbers have 18 characters, a real birth date and a correct check char."""

    map_metric = "column_values.valid_resident_id"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


class ExpectColumnValuesToBeValidUscc(ColumnMapExpectation):
    """Unified social credit codes have 18 characters of the code alphabet and a correct check char."""

    map_metric = "column_values.valid_uscc"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


class ExpectColumnValuesToBeValidMobile(ColumnMapExpectation):
    """A mainland mobile number (11 digits starting 1[3-9]) in any common keyed form."""

    map_metric = "column_values.valid_mobile"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


# The ways departments key a date (dirt.DATE_FORMATS): 2026-09-01, 2026/09/01, 20260901,
# 2026年09月01日 (digits possibly full-width, which NFKC folds).
_DATE_TEXT = re.compile(r"^(\d{4})\D?(\d{1,2})\D?(\d{1,2})\D?$")


def parse_birth_date(value: object) -> date | None:
    """A birth date as delivered (typed date or keyed text); None when it is not one."""
    import unicodedata

    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = _DATE_TEXT.match(unicodedata.normalize("NFKC", str(value)).strip())
    if match is None:
        return None
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


def birth_date_matches_resident_id(born: object, resident_id: object) -> bool:
    """False only when both are readable and disagree.

    An ID that is not 18 characters with a calendar date in positions 7-14, or a birth
    date that is not a date, is another expectation's finding (checksum, type), not this
    one's: one defect is reported once. Formatting (full-width digits, spaces, a lower
    case x) is folded first, as staging does.
    """
    from citylake.identity import birth_date_from_resident_id, normalize_resident_id

    day = parse_birth_date(born)
    if day is None or resident_id is None or not isinstance(resident_id, str):
        return True
    try:
        encoded = birth_date_from_resident_id(normalize_resident_id(resident_id) or "")
    except ValueError:
        return True
    return encoded == day


class ColumnPairBirthDateMatchesResidentId(ColumnPairMapMetricProvider):
    condition_metric_name = "column_pair_values.birth_date_matches_resident_id"
    condition_domain_keys = (
        "batch_id",
        "table",
        "column_A",
        "column_B",
        "row_condition",
        "condition_parser",
        "ignore_row_if",
    )
    condition_value_keys = ()

    @column_pair_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_A: pd.Series, column_B: pd.Series, **kwargs: object) -> pd.Series:
        return pd.Series(
            [birth_date_matches_resident_id(a, b) for a, b in zip(column_A, column_B, strict=True)],
            index=column_A.index,
        )


class ExpectColumnPairBirthDateToMatchResidentId(ColumnPairMapExpectation):
    """``column_A`` (a birth date) equals the birth date encoded in ``column_B`` (a resident ID).

    Rows where either is missing are not judged (``ignore_row_if``): a missing value is
    the not-null expectation's business.
    """

    ignore_row_if: Literal["both_values_are_missing", "either_value_is_missing", "neither"] = (
        "either_value_is_missing"
    )
    map_metric = "column_pair_values.birth_date_matches_resident_id"
    success_keys: ClassVar[tuple[str, ...]] = ("column_A", "column_B", "ignore_row_if", "mostly")
    args_keys: ClassVar[tuple[str, ...]] = ("column_A", "column_B")
