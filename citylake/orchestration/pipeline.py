"""The pipeline's steps, each one function: the DAGs make one task per step, and
``citylake ingest`` / ``citylake build`` call the same functions in the same order.

This is where the stages meet: landing gets Great Expectations' validator from
``quality``, the warehouse build is followed by the GX checkpoint on its marts, the Spark
jobs read the exports, publish swaps the serving file, Superset imports the dashboards.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from citylake.settings import Settings, load_settings

if TYPE_CHECKING:
    from citylake.landing import SourceReport

log = logging.getLogger(__name__)


def ingest(
    source_id: str,
    run_id: str = "manual",
    settings: Settings | None = None,
    *,
    docs: bool = True,
) -> SourceReport:
    """Land a source's new batches with the catalog's GX suite (raises BatchHeldError).

    ``docs=False`` stores the validation results without rendering them: a run of many
    sources renders its Data Docs once at its end (:func:`build_landing_docs`).
    """
    from citylake.landing import ingest_source
    from quality.validate import Validator

    settings = settings or load_settings()
    # Data Docs load their CSS/JS from docs_assets/, never a CDN (localized after each build).
    validator = Validator(settings.quality_home, after_docs=localize_docs)
    return ingest_source(source_id, settings, run_id, validator=validator, build_docs=docs)


def build_landing_docs(since: datetime, settings: Settings | None = None) -> Path | None:
    """Render the Data Docs of every landing validation stored since ``since`` (the start
    of an ingest run): once per run, not once per source. Returns the index page."""
    from quality.validate import Validator

    settings = settings or load_settings()
    validator = Validator(settings.quality_home, after_docs=localize_docs)
    return validator.build_docs_since(since)


def localize_docs(site: Path) -> object:
    """Point a freshly built Data Docs site at the vendored assets. Missing assets make the
    docs unstyled offline, which is worth a warning, never a failed ingestion."""
    from citylake.serving.docs_site import DocsAssetError, localize_site

    try:
        return localize_site(site)
    except DocsAssetError as error:
        log.warning("Data Docs at %s left with CDN links: %s", site, error)
        return None


# -- the warehouse run, step by step ---------------------------------------------------


def refresh_quality_summary(settings: Settings) -> dict[str, Any]:
    """Freshness and failure rates per source from the ledger (fct_source_quality's input)."""
    from citylake.landing import quality_summary

    table = quality_summary.refresh(settings)
    return {"sources": len(table)}


def dbt_build(settings: Settings) -> dict[str, Any]:
    """dbt build of every model but the Spark jobs' outputs (tests included)."""
    from citylake import warehouse

    result = warehouse.run_dbt(["build", *warehouse.MAIN_BUILD], settings)
    return {
        "models": len(result.models),
        "tests_passed": result.tests_passed,
        "seconds": result.seconds,
    }


def check_marts(settings: Settings) -> dict[str, Any]:
    """Great Expectations checkpoint on the marts the last dbt build made (raises MartQualityError)."""
    from citylake import warehouse
    from quality.marts import check_marts as gx_check_marts

    models = warehouse.last_results(settings).models
    outcome = gx_check_marts(settings, models=models, after_docs=localize_docs)
    return {"marts": len(outcome.results), "success": outcome.success}


def export_marts(settings: Settings) -> dict[str, int]:
    """Marts flagged ``meta.export_to_lake`` into ``gold/<mart>/data.parquet`` for Spark."""
    from citylake import warehouse

    return warehouse.export_for_spark(settings)


def spark_counter_demand(settings: Settings) -> int:
    """Forecasts of every centre's visits by hour and day, with the backtest behind them."""
    from transforms import counter_demand

    return counter_demand.main([])


def spark_staffing_plan(settings: Settings) -> int:
    """Dedicated and general counter plans per centre and hour from the demand forecast."""
    from transforms import staffing_plan

    return staffing_plan.main([])


def spark_warnings(settings: Settings) -> int:
    """Disaster pre-warnings: every landed sensor reading replayed per hazard and district."""
    from transforms import warnings

    return warnings.main([])


def triage_complaints(settings: Settings) -> dict[str, Any]:
    """12345 complaints triaged (level, department, category, queue) and weekly hotspots."""
    from citylake.complaints import job

    return job.run(settings.build_db, settings.gold_dir)


def publish_alerts(settings: Settings) -> dict[str, Any]:
    """Each new warning change as a CAP 1.2 message, queued in the outbox and delivered."""
    import duckdb

    from citylake.alerts import Outbox
    from citylake.alerts.changes import render_records

    con = duckdb.connect(str(settings.build_db), read_only=True)
    try:
        rows = con.execute(
            "select 'change' as record, warning_id, change_sequence as sequence, hazard, "
            "district_code, level, action, changed_at as at, is_predicted as predicted, "
            "evidence_json as detail from marts.fct_warning_changes "
            "order by warning_id, change_sequence"
        ).df()
        names = dict(
            con.execute(
                "select distinct district_code, district_name from marts.dim_geography"
            ).fetchall()
        )
    finally:
        con.close()
    outbox = Outbox()
    queued = outbox.enqueue(render_records(rows.to_dict("records"), names))
    report = outbox.deliver()
    return {"changes": len(rows), "queued": queued, "delivery": report.summary()}


def dbt_build_spark_outputs(settings: Settings) -> dict[str, Any]:
    """dbt build of the models over the Spark jobs' outputs."""
    from citylake import warehouse

    result = warehouse.run_dbt(["build", "--select", "tag:spark_output"], settings)
    return {
        "models": len(result.models),
        "tests_passed": result.tests_passed,
        "seconds": result.seconds,
    }


def publish(settings: Settings) -> str:
    """The marts schema into a new serving file, swapped in; the access policy beside it."""
    from citylake import warehouse

    return str(warehouse.publish(settings))


def superset_import(settings: Settings) -> str:
    """Superset's metadata initialized once, then the dashboards under ``dashboards/`` imported."""
    from citylake.serving import superset

    superset.ensure_initialized(settings)
    superset.import_dashboards(settings)
    return "imported"


def _record_step(
    settings: Settings, task_id: str, started: datetime, status: str, summary: str
) -> None:
    """One warehouse step's run into ``gold/pipeline_step_runs`` (pipeline health)."""
    import pyarrow as pa

    from citylake import lake_history

    schema = pa.schema(
        [
            ("task_id", pa.string()),
            ("started_at", pa.timestamp("us")),
            ("finished_at", pa.timestamp("us")),
            ("status", pa.string()),
            ("summary", pa.string()),
        ]
    )
    row = {
        "task_id": task_id,
        "started_at": started,
        "finished_at": _wall_clock(),
        "status": status,
        "summary": summary[:2000],
    }
    try:
        lake_history.append(settings.gold_dir / "pipeline_step_runs", [row], schema, keep=1000)
    except OSError as error:  # the history is a report: never fail the step over it
        log.warning("could not record the run of %s: %s", task_id, error)


def _wall_clock() -> datetime:
    """Now, as the lake's wall-clock time (Asia/Shanghai, naive)."""
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)


def superset_roles(settings: Settings) -> dict[str, Any]:
    """A Superset role per department, district office, planners, emergency managers and
    data engineers, with row-level security, from the marts' access policy."""
    from citylake.serving.superset_roles import apply_roles

    report = apply_roles(settings)
    for warning in report.warnings:
        log.warning("superset roles: %s", warning)
    return {
        "roles": len(report.roles),
        "changed": report.changed,
        "warnings": len(report.warnings),
    }


@dataclass(frozen=True)
class Step:
    task_id: str
    run: Callable[[Settings], Any]
    after: tuple[str, ...] = ()

    def __call__(self, settings: Settings) -> Any:
        """Run the step and record the run (status, time, its summary) for the dashboards."""
        started = _wall_clock()
        try:
            result = self.run(settings)
        except BaseException as error:
            _record_step(
                settings, self.task_id, started, "failed", f"{type(error).__name__}: {error}"
            )
            raise
        _record_step(settings, self.task_id, started, "success", str(result))
        return result

    @property
    def doc(self) -> str:
        return (self.run.__doc__ or self.task_id).strip().splitlines()[0]


# In order; ``after`` is what the DAG waits for (the two Spark jobs run side by side).
WAREHOUSE_STEPS: tuple[Step, ...] = (
    Step("refresh_quality_summary", refresh_quality_summary),
    Step("dbt_build", dbt_build, ("refresh_quality_summary",)),
    Step("check_marts", check_marts, ("dbt_build",)),
    Step("export_marts", export_marts, ("check_marts",)),
    Step("spark_counter_demand", spark_counter_demand, ("export_marts",)),
    Step("spark_warnings", spark_warnings, ("export_marts",)),
    Step("spark_staffing_plan", spark_staffing_plan, ("spark_counter_demand",)),
    Step("triage_complaints", triage_complaints, ("export_marts",)),
    Step(
        "dbt_build_spark_outputs",
        dbt_build_spark_outputs,
        ("spark_staffing_plan", "spark_warnings", "triage_complaints"),
    ),
    Step("check_spark_output_marts", check_marts, ("dbt_build_spark_outputs",)),
    Step("publish", publish, ("check_spark_output_marts",)),
    Step("publish_alerts", publish_alerts, ("check_spark_output_marts",)),
    Step("superset_import", superset_import, ("publish",)),
    Step("superset_roles", superset_roles, ("superset_import",)),
)


def run_warehouse(
    settings: Settings | None = None,
    until: str | None = None,
    progress: Callable[[Step, float, Any], None] | None = None,
) -> dict[str, Any]:
    """Run the warehouse steps in order (``until``: stop after that step)."""
    settings = settings or load_settings()
    names = [s.task_id for s in WAREHOUSE_STEPS]
    if until is not None and until not in names:
        raise ValueError(f"unknown step {until!r}; the steps are {names}")
    results: dict[str, Any] = {}
    for step in WAREHOUSE_STEPS:
        clock = time.perf_counter()
        results[step.task_id] = step(settings)
        seconds = time.perf_counter() - clock
        log.info("%s done in %.1fs: %s", step.task_id, seconds, results[step.task_id])
        if progress:
            progress(step, seconds, results[step.task_id])
        if step.task_id == until:
            break
    return results
