"""A landing suite run on an Arrow table: metrics by ``quality.arrow_metrics``, each
expectation judging its own with GX's code (``_validate``: ``mostly``, counts, the
unexpected rows), the suite's result assembled and stored as GX's ``ValidationDefinition.run``
stores one, so Data Docs render it like any other. ``quality.validate.Validator`` calls it
when the engine is "arrow".
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from citylake.landing.validation import BATCH_SEQ, ROW_ID
from quality import arrow_metrics
from quality.validate import RESULT_FORMAT

# What the results store keeps and Data Docs show of an Arrow-computed result: the counts
# and a sample of unexpected rows (every row is in the quarantine table, with its reasons).
STORED_FORMAT = {
    "result_format": "SUMMARY",
    "partial_unexpected_count": 20,
    "unexpected_index_column_names": [BATCH_SEQ, ROW_ID],
    "return_unexpected_index_query": False,
}


def _in_gx_order(expectations: list[Any]) -> list[Any]:
    """Grouped by column in order of first appearance, expectations without one grouped
    where the first of them is: the order GX's validator evaluates and reports in
    (``process_expectations_for_validation``), so a row's reasons read the same."""
    groups: dict[str, list[Any]] = {}
    for expectation in expectations:
        column = expectation.configuration.kwargs.get("column")
        groups.setdefault(column if isinstance(column, str) else "\0", []).append(expectation)
    return [e for group in groups.values() for e in group]


def run_suite(context: Any, definition: Any, table: pa.Table, run_id: Any) -> tuple[Any, str]:
    """The suite of ``definition`` on ``table``: the result with every unexpected row, and
    the batch identifier it is stored under (the stored copy keeps a sample, SUMMARY)."""
    from great_expectations import __version__ as gx_version
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )
    from great_expectations.validator.validator import calc_validation_statistics

    results, stored = [], []
    for expectation in _in_gx_order(definition.suite.expectations):
        try:
            computed = arrow_metrics.metrics(expectation, table)
            found = [
                expectation._validate(computed, runtime_configuration={"result_format": f})
                for f in (RESULT_FORMAT, STORED_FORMAT)
            ]
            exception = {"raised_exception": False}
        except arrow_metrics.MissingColumnError as exc:
            found = [{"success": False}] * 2
            exception = {"raised_exception": True, "exception_message": exc.args[0]}
        for into, one in zip((results, stored), found, strict=True):
            into.append(
                ExpectationValidationResult(
                    success=bool(one["success"]),
                    expectation_config=expectation.configuration,
                    result=one.get("result", {}),
                    exception_info={
                        "exception_traceback": None,
                        "exception_message": None,
                        **exception,
                    },
                )
            )
    asset = definition.data.data_asset
    batch_identifier = f"{asset.datasource.name}-{asset.name}"
    statistics = calc_validation_statistics(results)
    suite_result = ExpectationSuiteValidationResult(
        results=stored,
        success=statistics.success,
        suite_name=definition.suite.name,
        statistics={
            "evaluated_expectations": statistics.evaluated_expectations,
            "successful_expectations": statistics.successful_expectations,
            "unsuccessful_expectations": statistics.unsuccessful_expectations,
            "success_percent": statistics.success_percent,
        },
        meta={
            "great_expectations_version": gx_version,
            "metrics_engine": "citylake arrow (quality.arrow_metrics)",
            "active_batch_definition": {
                "datasource_name": asset.datasource.name,
                "data_connector_name": "fluent",
                "data_asset_name": asset.name,
                "batch_identifiers": {},
            },
            "batch_markers": {"rows": table.num_rows},
            "batch_spec": {"batch_data": "Arrow table"},
            "validation_id": definition.id,
            "checkpoint_id": None,
            "run_id": run_id,
            "validation_time": run_id.run_time,
            "batch_parameters": None,
        },
        batch_id=batch_identifier,
    )
    suite_id = ExpectationSuiteIdentifier(name=definition.suite.name)
    context.validation_results_store.store_validation_results(
        suite_validation_result=suite_result,
        suite_validation_result_identifier=ValidationResultIdentifier(
            expectation_suite_identifier=suite_id,
            run_id=run_id,
            batch_identifier=batch_identifier,
        ),
        expectation_suite_identifier=suite_id,
    )
    suite_result.results = results  # every unexpected row, for quarantine
    return suite_result, batch_identifier
