"""Great Expectations checkpoints on the built marts, run after ``dbt build``.

The suites follow from the dbt project itself (``manifest.json``): every mart's
not_null / unique / accepted_values / range_between / unique_combination_of_columns /
relationships test and not_null constraint becomes a GX expectation, so the YAML stays
the one place a rule is declared. Business rules dbt does not state column by column are
added here (shares within [0, 1], minutes never negative, an event never before the one
it follows). The marts are read from the build DuckDB file into pandas (GX's SQL
datasource fails on DuckDB, see STACK.md) and the results go into the same Data Docs site
as landing validation (``<home>/quality``).

Entry point: :func:`check_marts` (the `check_marts` step of ``citylake.orchestration.pipeline``, right after each dbt build).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from citylake.settings import Settings, load_settings

log = logging.getLogger(__name__)

DATASOURCE = "citylake_marts"

# Events that follow one another in a mart: (model, earlier column, later column).
ORDERED_EVENTS: tuple[tuple[str, str, str], ...] = (
    ("fct_queue_ticket", "issued_at", "called_at"),
    ("fct_queue_ticket", "service_start", "service_end"),
    ("fct_application", "submitted_at", "completed_at"),
    ("fct_appointment", "booked_at", "slot_at"),
)


class MartQualityError(RuntimeError):
    """A mart failed its Great Expectations checkpoint; the message names mart and rule."""


@dataclass(frozen=True)
class Rule:
    """One expectation to run on one mart, with where it came from."""

    model: str
    kind: str  # not_null | unique | in_set | between | compound_unique | in_reference | ordered
    columns: tuple[str, ...]
    origin: str  # "dbt: <test>" or "business rule"
    values: tuple[Any, ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    reference: tuple[str, str] | None = None  # (model, column) for relationships


@dataclass
class MartResult:
    model: str
    rows: int
    expectations: int
    failures: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.failures


@dataclass
class MartsValidation:
    results: dict[str, MartResult] = field(default_factory=dict)
    docs_index: Path | None = None
    seconds: float = 0.0

    @property
    def success(self) -> bool:
        return all(r.success for r in self.results.values())

    @property
    def expectations(self) -> int:
        return sum(r.expectations for r in self.results.values())

    def failures(self) -> list[str]:
        return [f"marts.{m}: {f}" for m, r in self.results.items() for f in r.failures]


def _model_of(test: dict[str, Any], nodes: dict[str, Any]) -> str | None:
    attached = test.get("attached_node") or ""
    node = nodes.get(attached)
    if node and node["resource_type"] == "model" and node["fqn"][1:2] == ["marts"]:
        return str(node["name"])
    return None


def _reference_of(kwargs: dict[str, Any]) -> tuple[str, str] | None:
    target = str(kwargs.get("to", ""))
    if target.startswith("ref('") and target.endswith("')"):
        return target[5:-2], str(kwargs["field"])
    return None


def rules_from_manifest(manifest: dict[str, Any]) -> dict[str, list[Rule]]:
    """The expectations each mart's dbt YAML implies, plus the business rules."""
    nodes: dict[str, Any] = manifest["nodes"]
    marts = {
        n["name"]: n
        for n in nodes.values()
        if n["resource_type"] == "model" and n["fqn"][1:2] == ["marts"]
    }
    rules: dict[str, list[Rule]] = {name: [] for name in marts}
    for test in nodes.values():
        meta = test.get("test_metadata") if test["resource_type"] == "test" else None
        model = _model_of(test, nodes) if meta else None
        if not meta or model is None:
            continue
        name, kwargs = meta["name"], meta.get("kwargs", {})
        column = kwargs.get("column_name")
        origin = f"dbt: {name}"
        if name == "not_null":
            rules[model].append(Rule(model, "not_null", (column,), origin))
        elif name == "unique":
            rules[model].append(Rule(model, "unique", (column,), origin))
        elif name == "accepted_values":
            rules[model].append(Rule(model, "in_set", (column,), origin, tuple(kwargs["values"])))
        elif name == "range_between":
            rules[model].append(
                Rule(
                    model,
                    "between",
                    (column,),
                    origin,
                    min_value=kwargs.get("min_value"),
                    max_value=kwargs.get("max_value"),
                )
            )
        elif name == "unique_combination_of_columns":
            rules[model].append(Rule(model, "compound_unique", tuple(kwargs["columns"]), origin))
        elif name == "relationships" and (reference := _reference_of(kwargs)):
            rules[model].append(Rule(model, "in_reference", (column,), origin, reference=reference))
    for model, node in marts.items():
        declared = {(r.kind, r.columns) for r in rules[model]}
        for column, spec in node.get("columns", {}).items():
            constrained = any(c.get("type") == "not_null" for c in spec.get("constraints", []))
            if constrained and ("not_null", (column,)) not in declared:
                rules[model].append(Rule(model, "not_null", (column,), "dbt: not_null constraint"))
            # Business rules by the vocabulary's column names.
            if column.startswith("share_"):
                rules[model].append(
                    Rule(model, "between", (column,), "business rule", min_value=0, max_value=1)
                )
            elif column.endswith("_minutes") or column.endswith("_days"):
                rules[model].append(Rule(model, "between", (column,), "business rule", min_value=0))
    for model, earlier, later in ORDERED_EVENTS:
        if model in rules:
            rules[model].append(Rule(model, "ordered", (earlier, later), "business rule"))
    return rules


def _expectation(rule: Rule, reference_values: dict[tuple[str, str], list[Any]]) -> Any:
    import great_expectations as gx

    e = gx.expectations
    meta = {"origin": rule.origin}
    if rule.kind == "not_null":
        return e.ExpectColumnValuesToNotBeNull(column=rule.columns[0], meta=meta)
    if rule.kind == "unique":
        return e.ExpectColumnValuesToBeUnique(column=rule.columns[0], meta=meta)
    if rule.kind == "in_set":
        return e.ExpectColumnValuesToBeInSet(
            column=rule.columns[0], value_set=list(rule.values), meta=meta
        )
    if rule.kind == "between":
        return e.ExpectColumnValuesToBeBetween(
            column=rule.columns[0], min_value=rule.min_value, max_value=rule.max_value, meta=meta
        )
    if rule.kind == "compound_unique":
        return e.ExpectCompoundColumnsToBeUnique(column_list=list(rule.columns), meta=meta)
    if rule.kind == "in_reference" and rule.reference is not None:
        return e.ExpectColumnValuesToBeInSet(
            column=rule.columns[0], value_set=reference_values[rule.reference], meta=meta
        )
    if rule.kind == "ordered":
        return e.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=rule.columns[1],
            column_B=rule.columns[0],
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta=meta,
        )
    raise ValueError(f"unknown rule kind {rule.kind!r} for marts.{rule.model}")


def _describe(result: Any) -> str:
    config = result.expectation_config
    kwargs = {
        k: v
        for k, v in config.kwargs.items()
        if k in {"column", "column_list", "column_A", "column_B", "min_value", "max_value"}
    }
    origin = (config.meta or {}).get("origin", "")
    unexpected = (result.result or {}).get("unexpected_count")
    detail = f", {unexpected} unexpected rows" if unexpected is not None else ""
    return f"{config.type} {kwargs} ({origin}{detail})"


def check_marts(
    settings: Settings | None = None,
    models: list[str] | None = None,
    raise_on_failure: bool = True,
    after_docs: Callable[[Path], object] | None = None,
) -> MartsValidation:
    """Validate the built marts with GX, render Data Docs; raise MartQualityError on failure.

    ``models`` limits the run (default: every mart present in the build file);
    ``after_docs(site folder)`` runs after the Data Docs build (see ``Validator``).
    """
    import time

    import duckdb
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    settings = settings or load_settings()
    clock = time.perf_counter()
    manifest_path = settings.home / "dbt" / "target" / "manifest.json"
    rules = rules_from_manifest(json.loads(manifest_path.read_text()))
    settings.quality_home.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(settings.quality_home))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    datasource = context.data_sources.add_or_update_pandas(DATASOURCE)
    outcome = MartsValidation()
    new_results: list[Any] = []
    con = duckdb.connect(str(settings.build_db), read_only=True)
    try:
        built = {
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
        wanted = sorted(m for m in rules if m in built and (models is None or m in models))
        references = {r.reference for m in wanted for r in rules[m] if r.reference}
        reference_values = {
            (model, column): [
                v[0]
                for v in con.execute(f'select distinct "{column}" from marts."{model}"').fetchall()
            ]
            for model, column in references
            if model in built
        }
        for model in wanted:
            frame = con.execute(f'select * from marts."{model}"').df()
            suite = context.suites.add_or_update(
                gx.ExpectationSuite(
                    name=f"marts.{model}",
                    expectations=[
                        _expectation(r, reference_values)
                        for r in rules[model]
                        if r.reference is None or r.reference in reference_values
                    ],
                )
            )
            try:
                asset = datasource.get_asset(model)
            except LookupError:
                asset = datasource.add_dataframe_asset(name=model)
            try:
                batch_def = asset.get_batch_definition("mart")
            except (KeyError, LookupError):
                batch_def = asset.add_batch_definition_whole_dataframe("mart")
            definition = context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=f"marts.{model}", data=batch_def, suite=suite)
            )
            # GX's pandas engine wants plain object/float columns, not nullable extension types.
            plain = frame.astype(object).where(frame.notna(), None)
            run_id = RunIdentifier(run_name="marts", run_time=datetime.now(UTC))
            result = definition.run(
                run_id=run_id,
                batch_parameters={"dataframe": plain},
                result_format={"result_format": "SUMMARY"},
            )
            # The identifier GX stores the result under: Data Docs then render only this run.
            new_results.append(
                ValidationResultIdentifier(
                    expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
                    run_id=run_id,
                    batch_identifier=result.meta.get("active_batch_definition", {}).get(
                        "batch_identifier"
                    )
                    or f"{DATASOURCE}-{model}",
                )
            )
            outcome.results[model] = MartResult(
                model=model,
                rows=len(frame),
                expectations=len(result.results),
                failures=[_describe(r) for r in result.results if not r.success],
            )
    finally:
        con.close()
    outcome.docs_index = _build_docs(context, new_results)
    if after_docs is not None and outcome.docs_index is not None:
        after_docs(outcome.docs_index.parent)
    outcome.seconds = round(time.perf_counter() - clock, 2)
    log.info(
        "GX on marts: %d marts, %d expectations, %d failures in %.1fs",
        len(outcome.results),
        outcome.expectations,
        len(outcome.failures()),
        outcome.seconds,
    )
    if raise_on_failure and not outcome.success:
        raise MartQualityError("marts failed their checkpoint:\n" + "\n".join(outcome.failures()))
    return outcome


def _build_docs(context: Any, identifiers: list[Any]) -> Path | None:
    """Render only this run's results (rendering the whole store grows with the lake's age)."""
    context.build_data_docs(resource_identifiers=identifiers or None)
    for site in context.get_docs_sites_urls():
        url = site.get("site_url") or ""
        if url.startswith("file://"):
            return Path(url.removeprefix("file://"))
    return None
