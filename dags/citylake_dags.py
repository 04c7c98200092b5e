"""citylake's Airflow DAGs, generated from the source catalog (citylake.orchestration.dag_plan).

- ``citylake_ingest_<department>``: one DAG per department, one ingest task per source,
  scheduled at the department's most frequent source cadence; in scheduled and backfill
  runs a source whose own cadence does not fire in that run is skipped. Each task
  retries with exponential back-off, takes a slot of its source system's pool, and on
  success updates the Asset ``citylake://bronze/<source_id>`` (its event carries the
  counts). A ``quality_docs`` teardown task ends each run: it renders the GX Data Docs of
  the validations the run's ingest tasks stored, whatever they did.
- ``citylake_warehouse``: scheduled on the bronze Assets the dbt project reads; one task
  per warehouse step (``citylake.orchestration.pipeline.WAREHOUSE_STEPS``).
- ``citylake_lake_maintenance``: daily; compacts the Delta tables' small files and
  vacuums what the retention no longer needs (``citylake.lake_maintenance``).

Tasks only call citylake functions; heavy imports (GX, Spark, duckdb) happen inside
them. Parsing reads only the YAML catalog: no file scanning, no dbt.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, AssetAll, AssetAny, dag, get_current_context, task, teardown

from citylake.catalog import default_catalog
from citylake.orchestration.dag_plan import (
    LOCAL_TZ,
    MAINTENANCE_DAG_ID,
    MAINTENANCE_SCHEDULE,
    WAREHOUSE_DAG_ID,
    DepartmentPlan,
    IngestPlan,
    cadence_due,
    department_plans,
    warehouse_plan,
)
from citylake.orchestration.pipeline import WAREHOUSE_STEPS, Step
from citylake.settings import load_settings

log = logging.getLogger("citylake.dags")

SETTINGS = load_settings()  # environment only: no I/O
START = pendulum.datetime(
    SETTINGS.demo_start.year, SETTINGS.demo_start.month, SETTINGS.demo_start.day, tz=LOCAL_TZ
)
OWNER = {"owner": "data-bureau"}


def bronze_asset(uri: str) -> Asset:
    return Asset(name=uri.removeprefix("citylake://").replace("/", "_"), uri=uri, group="bronze")


def ingest_task(plan: IngestPlan, schedule: str):
    asset = bronze_asset(plan.asset_uri)

    @task(
        task_id=plan.task_id,
        pool=plan.pool,
        outlets=[asset],
        retries=SETTINGS.ingest_retries,
        retry_delay=timedelta(seconds=SETTINGS.retry_delay_seconds),
        retry_exponential_backoff=True,
        max_retry_delay=timedelta(seconds=SETTINGS.max_retry_delay_seconds),
        # Two runs of one source never extract concurrently (cursor and ledger state).
        max_active_tis_per_dag=1,
        execution_timeout=timedelta(hours=2),
        doc_md=f"Land new batches of `{plan.source_id}` (cadence `{plan.cadence}`, pool `{plan.pool}`).",
    )
    def ingest() -> dict[str, object]:
        from dataclasses import asdict

        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

        context = get_current_context()
        run_id = str(context["run_id"])
        # Scheduled and backfill runs follow each source's own cadence inside its
        # department's schedule; a manual run (the demo, an operator) ingests everything.
        run_type = getattr(context["dag_run"].run_type, "value", context["dag_run"].run_type)
        logical = context["logical_date"]
        if run_type in {"scheduled", "backfill"} and not cadence_due(
            plan.cadence, schedule, logical
        ):
            raise AirflowSkipException(
                f"{plan.source_id}: cadence {plan.cadence} does not fire in this {schedule} run ({logical})"
            )
        if plan.pool == "src_mqtt" and SETTINGS.mqtt_url:
            # With a broker, `citylake stream` lands this feed continuously; reading the
            # fallback drop too would land every reading twice. The event still marks
            # the feed's bronze as moving on, so the warehouse's gate opens.
            log.info("ingest %s: landed continuously by `citylake stream`", plan.source_id)
            context["outlet_events"][asset].extra = {"source_id": plan.source_id, "streamed": True}
            return {"source_id": plan.source_id, "streamed": True}
        from citylake.landing import BatchHeldError
        from citylake.orchestration.pipeline import ingest

        log.info("ingest %s: run %s, pool %s", plan.source_id, run_id, plan.pool)
        try:
            # Data Docs are rendered once for the whole run, by its quality_docs task.
            report = ingest(plan.source_id, run_id=run_id, docs=False)
        except BatchHeldError as exc:
            # Bad data, not a flaky system: retrying lands nothing more, so fail now.
            raise AirflowFailException(str(exc)) from exc
        counts = {
            "batches": report.batches,
            "received": report.received,
            "landed": report.landed,
            "quarantined": report.quarantined,
            "held": report.held,
        }
        log.info(
            "ingest %s: run %s: %s",
            plan.source_id,
            run_id,
            ", ".join(f"{k} {v}" for k, v in counts.items()),
        )
        # The Asset event carries the counts, so the warehouse run can tell what arrived.
        context["outlet_events"][asset].extra = {"source_id": plan.source_id, **counts}
        return asdict(report)

    return ingest()


def department_dag(plan: DepartmentPlan) -> None:
    @dag(
        dag_id=plan.dag_id,
        schedule=plan.schedule,
        start_date=START,
        catchup=False,  # history is loaded with `airflow backfill create` over a date range
        max_active_runs=1,
        default_args=OWNER,
        tags=["citylake", "ingest", plan.department],
        doc_md=(
            f"Ingest the {plan.department} department's sources into bronze: "
            + ", ".join(f"`{s.source_id}` ({s.cadence}, {s.pool})" for s in plan.sources)
        ),
    )
    def ingest_department() -> None:
        ingested = [ingest_task(source, plan.schedule) for source in plan.sources]
        ingested >> quality_docs_task()

    ingest_department()


def quality_docs_task():
    # A teardown: it runs once every ingest task is done, whatever each did (held batches
    # are what the docs must show), and the run's state stays the ingest tasks' own.
    @teardown
    @task(
        task_id="quality_docs",
        execution_timeout=timedelta(minutes=30),
        doc_md="Render the GX Data Docs of every validation this run's ingest tasks stored.",
    )
    def quality_docs() -> str | None:
        from citylake.orchestration.pipeline import build_landing_docs

        started = get_current_context()["dag_run"].start_date
        index = build_landing_docs(started)
        return str(index) if index else None

    return quality_docs()


def warehouse_schedule() -> AssetAll | AssetAny:
    plan = warehouse_plan(default_catalog())
    gating = [bronze_asset(uri) for uri in plan.gating]
    any_of = [bronze_asset(uri) for uri in plan.any_of]
    if gating and any_of:
        return AssetAny(AssetAll(*gating), *any_of)
    return AssetAll(*gating) if gating else AssetAny(*any_of)


def step_task(step: Step):
    @task(task_id=step.task_id, doc_md=step.doc)
    def run_step() -> object:
        return step(load_settings())

    return run_step()


@dag(
    dag_id=WAREHOUSE_DAG_ID,
    schedule=warehouse_schedule(),
    start_date=START,
    catchup=False,
    max_active_runs=1,  # dbt writes one build file
    # It runs only when ingestion lands something, so it listens from the start:
    # a paused DAG would not even queue the Asset events.
    is_paused_upon_creation=False,
    default_args={**OWNER, "retries": 1, "retry_delay": timedelta(minutes=2)},
    tags=["citylake", "warehouse"],
    doc_md="One task per step of `citylake.orchestration.pipeline.WAREHOUSE_STEPS` "
    "(quality summary, dbt build, GX checkpoint on the marts, exports, Spark jobs, dbt build "
    "of their outputs, its checkpoint, publish, Superset import), when the bronze tables dbt "
    "reads have landed. `citylake build` runs the same steps in the same order.",
)
def citylake_warehouse() -> None:
    tasks = {}
    for step in WAREHOUSE_STEPS:
        tasks[step.task_id] = step_task(step)
        for upstream in step.after:
            tasks[upstream] >> tasks[step.task_id]


@dag(
    dag_id=MAINTENANCE_DAG_ID,
    schedule=MAINTENANCE_SCHEDULE,
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args={**OWNER, "retries": 1, "retry_delay": timedelta(minutes=10)},
    tags=["citylake", "maintenance"],
    doc_md="Compact every Delta table of the lake with many small files (micro-batches) and "
    "vacuum files older than `CITYLAKE_LAKE_RETENTION_HOURS`; time travel works within that "
    "retention. See `citylake.lake_maintenance`.",
)
def citylake_lake_maintenance() -> None:
    @task(task_id="compact_lake", execution_timeout=timedelta(hours=2))
    def compact_lake() -> dict[str, int]:
        from citylake import lake_maintenance

        return lake_maintenance.summary(lake_maintenance.compact_lake(load_settings()))

    compact_lake()


for _plan in department_plans(default_catalog()):
    department_dag(_plan)
citylake_warehouse()
citylake_lake_maintenance()
