"""city_pipeline: the whole platform once, generated from the source catalog.

ingest (one task per catalog source) -> dbt build -> Spark jobs -> dbt build of their
outputs -> publish the serving warehouse -> import the Superset dashboards.

Tasks only call citylake functions; heavy imports (GX, Spark, duckdb) happen inside them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, get_current_context, task

from citylake.catalog import default_catalog

DEFAULT_ARGS = {
    "owner": "data-bureau",
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=15),
}


@dag(
    dag_id="city_pipeline",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["citylake"],
    doc_md=__doc__,
)
def city_pipeline() -> None:
    @task
    def ingest(source_id: str) -> dict[str, object]:
        from dataclasses import asdict

        from citylake.ingest import ingest_source

        run_id = str(get_current_context()["run_id"])
        return asdict(ingest_source(source_id, run_id=run_id))

    @task
    def dbt_build() -> dict[str, object]:
        from citylake import warehouse

        result = warehouse.run_dbt(["build", "--exclude", "tag:spark_output"])
        exported = warehouse.export_for_spark()
        return {"models": result.models, "tests_passed": result.tests_passed, "exported": exported}

    @task
    def spark_counter_demand() -> int:
        from transforms import counter_demand

        return counter_demand.main([])

    @task
    def spark_rain_warnings() -> int:
        from transforms import rain_warnings

        return rain_warnings.main([])

    @task
    def dbt_build_spark_outputs() -> dict[str, object]:
        from citylake import warehouse

        result = warehouse.run_dbt(["build", "--select", "tag:spark_output"])
        return {"models": result.models, "tests_passed": result.tests_passed}

    @task
    def publish() -> str:
        from citylake import warehouse

        return str(warehouse.publish())

    @task
    def superset_import() -> None:
        from citylake import superset

        superset.ensure_initialized()
        superset.import_dashboards()

    landed = [
        ingest.override(task_id=f"ingest_{source_id}")(source_id)
        for source_id in default_catalog()
    ]
    built = dbt_build()
    spark_jobs = [spark_counter_demand(), spark_rain_warnings()]
    landed >> built >> spark_jobs
    spark_built = dbt_build_spark_outputs()
    spark_jobs >> spark_built
    published = publish()
    spark_built >> published >> superset_import()


city_pipeline()
