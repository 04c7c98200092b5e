"""Validate one landing batch with Great Expectations, using a suite derived from the catalog.

The suite says, per source: declared columns present, not-null for non-nullable columns,
compound uniqueness of the primary key, allowed values, numeric ranges, regexes, and the
identifier checksums. Row-level results name the failing ``_row_number`` values, which is
what quarantine needs; failures of severity ``warning`` (identifier checksums off the key)
come back apart, as flags on rows that land.

The metrics are computed column-wise on Arrow (``quality.arrow_suite``) unless
``CITYLAKE_VALIDATION_ENGINE=gx`` asks GX's pandas engine; either way each expectation's
GX code judges them and GX stores the results and renders the Data Docs.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from citylake.catalog import FieldType, IdentityKind, Source
from citylake.landing.validation import BATCH_SEQ, ROW_ID

log = logging.getLogger(__name__)


@dataclass
class BatchValidation:
    row_failures: dict[tuple[int, int], list[str]] = field(default_factory=dict)  # (batch seq, row)
    # Failed expectations of severity "warning": the row lands, flagged (see FLAG_SEVERITY).
    row_flags: dict[tuple[int, int], list[str]] = field(default_factory=dict)
    batch_failures: list[str] = field(default_factory=list)  # expectations without row detail
    expectations: int = 0
    success: bool = True


# An identifier that fails its checksum (or disagrees with the birth date beside it) on a
# column that is not the source's key is a flag, not a reason to quarantine: the record is
# still somebody's, and entity resolution exists for exactly those records. GX's own
# severity carries the distinction into its results and Data Docs.
FLAG_SEVERITY = "warning"


def _flag_or_fail(column: str, source: Source) -> dict[str, Any]:
    return {} if column in source.primary_key else {"severity": FLAG_SEVERITY}


def build_expectations(source: Source) -> list[Any]:
    import great_expectations as gx

    from quality import expectations as custom

    found: list[Any] = [
        gx.expectations.ExpectColumnToExist(column=f.name) for f in source.fields if not f.nullable
    ]
    # Keys are unique within a batch (one file or cursor range); several batches are
    # validated in one run to spread GX's fixed cost, so the batch is part of the key.
    found.append(
        gx.expectations.ExpectCompoundColumnsToBeUnique(
            column_list=[BATCH_SEQ, *source.primary_key]
        )
    )
    for f in source.fields:
        if not f.nullable:
            found.append(gx.expectations.ExpectColumnValuesToNotBeNull(column=f.name))
        if f.allowed_values is not None:
            found.append(
                gx.expectations.ExpectColumnValuesToBeInSet(
                    column=f.name, value_set=f.allowed_values
                )
            )
        if (f.min is not None or f.max is not None) and f.type in (
            FieldType.integer,
            FieldType.double,
        ):
            found.append(
                gx.expectations.ExpectColumnValuesToBeBetween(
                    column=f.name, min_value=f.min, max_value=f.max
                )
            )
        if f.regex is not None:
            found.append(
                gx.expectations.ExpectColumnValuesToMatchRegex(column=f.name, regex=f.regex)
            )
        if f.identity == IdentityKind.resident_id:
            found.append(
                custom.ExpectColumnValuesToBeValidResidentId(
                    column=f.name, **_flag_or_fail(f.name, source)
                )
            )
        elif f.identity == IdentityKind.uscc:
            found.append(
                custom.ExpectColumnValuesToBeValidUscc(
                    column=f.name, **_flag_or_fail(f.name, source)
                )
            )
        elif f.identity == IdentityKind.phone:
            found.append(custom.ExpectColumnValuesToBeValidMobile(column=f.name))
    for born, resident_id in source.birth_date_pairs:
        found.append(
            custom.ExpectColumnPairBirthDateToMatchResidentId(
                column_A=born, column_B=resident_id, **_flag_or_fail(resident_id, source)
            )
        )
    return found


def _describe(config: Any) -> str:
    kwargs = {k: v for k, v in config.kwargs.items() if k not in {"batch_id", "result_format"}}
    detail = ", ".join(f"{k}={v}" for k, v in kwargs.items() if k != "value_set")
    return f"{config.type}({detail})"


def _exception_message(info: dict[str, Any]) -> str | None:
    """GX nests exception info per metric when a metric raised; find the first message."""
    if info.get("exception_message"):
        return str(info["exception_message"])
    for value in info.values():
        if isinstance(value, dict) and value.get("exception_message"):
            return str(value["exception_message"])
    return None


def _columns_of(expectation: Any) -> list[str]:
    found = [getattr(expectation, k, None) for k in ("column", "column_A", "column_B")]
    return [c for c in found if c] + list(getattr(expectation, "column_list", None) or [])


def gx_frame(frame: pd.DataFrame, expectations: list[Any]) -> pd.DataFrame:
    """The frame GX sees: only the columns some expectation reads, in dtypes its pandas
    engine handles fast.

    GX's pandas engine wants plain numpy/object columns, not pandas' nullable extension
    types. Converting everything to object (Python objects per value) cost more than the
    validation itself on large batches; numbers become float64/int64 (GX then compares
    vectorized), timestamps stay datetime64 (only null checks read them), text becomes
    object with None. Columns read by custom expectations get Python objects, as their
    per-value functions expect.
    """
    import numpy as np

    custom = {
        c
        for e in expectations
        if not type(e).__module__.startswith("great_expectations.")
        for c in _columns_of(e)
    }
    wanted = {c for e in expectations for c in _columns_of(e)}
    out: dict[str, Any] = {}
    for name in frame.columns:
        if name not in wanted and name not in (ROW_ID, BATCH_SEQ):
            continue
        column = frame[name]
        kind = column.dtype
        fast = pd.api.types.is_numeric_dtype(kind) or pd.api.types.is_datetime64_any_dtype(kind)
        if name in custom or not fast or pd.api.types.is_bool_dtype(kind):
            out[name] = column.astype(object).where(column.notna(), None)
        elif pd.api.types.is_datetime64_any_dtype(kind):
            out[name] = column
        elif column.isna().any():
            out[name] = column.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            whole = pd.api.types.is_integer_dtype(kind)
            out[name] = column.to_numpy(dtype=np.int64 if whole else np.float64)
    return pd.DataFrame(out, index=frame.index)


# Who computes the expectations' metrics: "arrow" (quality.arrow_metrics, column-wise) or
# "gx" (GX's own pandas engine). Either way GX's expectations judge them and GX stores
# and renders the results.
ENGINES = ("arrow", "gx")
ENGINE_ENV = "CITYLAKE_VALIDATION_ENGINE"


# Every unexpected row, for quarantine (what landing reads of a result).
RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": [BATCH_SEQ, ROW_ID],
    "return_unexpected_index_query": False,
}


def _run_id() -> Any:
    from great_expectations.core.run_identifier import RunIdentifier

    return RunIdentifier(run_time=datetime.now(UTC))


class Validator:
    """One GX context per ingest run; suites are declared from the catalog (an unchanged
    one is kept as stored)."""

    def __init__(
        self,
        project_root: Path,
        *,
        data_docs: bool = True,
        after_docs: Callable[[Path], object] | None = None,
        engine: str | None = None,
    ) -> None:
        self.engine = engine or os.environ.get(ENGINE_ENV, "arrow")
        if self.engine not in ENGINES:
            raise ValueError(f"{ENGINE_ENV}={self.engine!r}: expected one of {', '.join(ENGINES)}")
        # data_docs=False: results are still stored, just not rendered (bulk test runs).
        self.data_docs = data_docs
        # Called with the site folder after each build: the orchestration passes
        # citylake.serving.docs_site.localize_site (vendored CSS/JS instead of CDNs).
        self.after_docs = after_docs
        import great_expectations as gx

        # Registers the custom expectations before the context loads stored suites using them.
        import quality.expectations  # noqa: F401

        project_root.mkdir(parents=True, exist_ok=True)
        self._gx = gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.context = gx.get_context(mode="file", project_root_dir=str(project_root))
        # Progress bars would flood the Airflow task logs, once per batch.
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        # Kept across runs with its assets (add_or_update would drop them), so a suite the
        # catalog has not changed is not declared again (_stored).
        try:
            self._datasource = self.context.data_sources.get("citylake_landing")
        except KeyError:
            self._datasource = self.context.data_sources.add_pandas("citylake_landing")
        self._definitions: dict[str, Any] = {}
        self._new_results: list[Any] = []

    def _stored(self, source: Source, name: str, expectations: list[Any]) -> Any | None:
        """The validation definition an earlier run stored, when its suite says the same
        and its data asset is still declared (GX's add_or_update compares expectations
        pairwise: ~0.2 s a source, each run). Anything else (none stored, another suite,
        a run killed half-way through declaring them) is declared afresh."""
        from great_expectations.exceptions import DataContextError
        from pydantic.v1 import ValidationError

        def plain(found: list[Any]) -> list[dict[str, Any]]:
            return [
                {k: v for k, v in e.configuration.to_json_dict().items() if k != "id"}
                for e in found
            ]

        try:
            self._datasource.get_asset(source.id).get_batch_definition("batch")
            stored = self.context.validation_definitions.get(name)
        except (DataContextError, ValidationError, LookupError, KeyError):
            return None
        return stored if plain(stored.suite.expectations) == plain(expectations) else None

    def _definition(self, source: Source) -> Any:
        if source.id in self._definitions:
            return self._definitions[source.id]
        gx = self._gx
        name = f"landing.{source.id}"
        expectations = build_expectations(source)
        if (stored := self._stored(source, name, expectations)) is not None:
            self._definitions[source.id] = stored
            return stored
        suite = gx.ExpectationSuite(name=name, expectations=expectations)
        suite = self.context.suites.add_or_update(suite)
        try:
            asset = self._datasource.get_asset(source.id)
        except LookupError:
            asset = self._datasource.add_dataframe_asset(name=source.id)
        try:
            batch_def = asset.get_batch_definition("batch")
        except (KeyError, LookupError):
            batch_def = asset.add_batch_definition_whole_dataframe("batch")
        definition = self.context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=f"landing.{source.id}", data=batch_def, suite=suite)
        )
        self._definitions[source.id] = definition
        return definition

    def validate(self, source: Source, table: pa.Table) -> BatchValidation:
        """Validate rows of one or more batches; ``table`` carries _batch_seq and _row_number."""
        from quality import arrow_metrics

        definition = self._definition(source)
        expectations = definition.suite.expectations
        if self.engine == "arrow" and arrow_metrics.supports(expectations):
            result, batch_identifier = self._run_arrow(definition, table)
        else:
            plain = gx_frame(table.to_pandas(), expectations)
            result, batch_identifier = self._run_gx(definition, plain)
        return self._outcome(result, batch_identifier, definition.suite.name, source)

    def _run_gx(self, definition: Any, plain: pd.DataFrame) -> tuple[Any, str | None]:
        # GX runs catalog regexes through str.contains, which warns about groups in them.
        warnings.filterwarnings(
            "ignore", message="This pattern is interpreted as a regular expression"
        )
        result = definition.run(
            run_id=_run_id(),
            batch_parameters={"dataframe": plain},
            result_format=RESULT_FORMAT,
        )
        return result, result.meta.get("active_batch_definition", {}).get("batch_identifier")

    def _run_arrow(self, definition: Any, table: pa.Table) -> tuple[Any, str]:
        from quality.arrow_suite import run_suite

        return run_suite(self.context, definition, table, _run_id())

    def _outcome(
        self, result: Any, batch_identifier: str | None, suite_name: str, source: Source
    ) -> BatchValidation:
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        # The same identifier GX stores the result under: Data Docs then render only new results.
        self._new_results.append(
            ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite_name),
                run_id=result.meta["run_id"],
                batch_identifier=batch_identifier or f"{self._datasource.name}-{source.id}",
            )
        )
        outcome = BatchValidation(expectations=len(result.results), success=bool(result.success))
        failures: dict[tuple[int, int], list[str]] = defaultdict(list)
        flags: dict[tuple[int, int], list[str]] = defaultdict(list)
        for res in result.results:
            if res.success:
                continue
            name = _describe(res.expectation_config)
            # FailureSeverity is a str enum: compare its value, not its str().
            flag = getattr(res.expectation_config, "severity", None) == FLAG_SEVERITY
            rows = (res.result or {}).get("unexpected_index_list")
            if rows:
                into = flags if flag else failures
                for item in rows:
                    into[int(item[BATCH_SEQ]), int(item[ROW_ID])].append(name)
            else:
                error = _exception_message(res.exception_info or {})
                outcome.batch_failures.append(f"{name}: {error}" if error else name)
        outcome.row_failures = dict(failures)
        outcome.row_flags = dict(flags)
        return outcome

    def build_docs_since(self, since: datetime) -> Path | None:
        """Render every landing result stored since ``since`` (by any process: the run's
        ingest tasks each stored theirs) into Data Docs; returns the index page."""
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        keys = self.context.validation_results_store.list_keys()
        self._new_results.extend(k for k in keys if k.run_id.run_time >= since)
        return self.build_docs()

    def build_docs(self) -> Path | None:
        """Render this run's validation results into Data Docs; returns the index page.

        Rendering every stored result each time grows with the lake's age (30 s at a
        few hundred results here), so only results new since the last call are rendered.
        """
        new, self._new_results = self._new_results, []
        if not self.data_docs:
            return None
        self.context.build_data_docs(resource_identifiers=new or None)
        for site in self.context.get_docs_sites_urls():
            url = site.get("site_url") or ""
            if url.startswith("file://"):
                index = Path(url.removeprefix("file://"))
                if self.after_docs is not None:
                    self.after_docs(index.parent)
                return index
        return None
