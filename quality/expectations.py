"""Custom column expectations for government identifiers (checksums per GB 11643 / GB 32100)."""

from __future__ import annotations

from typing import ClassVar

import pandas as pd
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics import (
    ColumnMapMetricProvider,
    column_condition_partial,
)


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
        from citylake.identity import normalize_phone

        # Spaces, dashes and +86 are how people key numbers: staging normalizes them.
        # Landing only refuses what is no mobile number at all.
        return column.map(lambda v: normalize_phone(str(v)) is not None)


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
