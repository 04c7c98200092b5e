"""The generated DAGs: their shape from the catalog, and real Airflow runs of department DAGs."""

from __future__ import annotations

import re
import socket
import sqlite3
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from citylake import lake
from citylake.catalog import default_catalog
from citylake.landing import ledger
from citylake.orchestration.dag_plan import (
    INGEST_DAG_PREFIX,
    LOCAL_TZ,
    MAINTENANCE_DAG_ID,
    POOLS,
    WAREHOUSE_DAG_ID,
    bronze_asset_uri,
    cadence_due,
    cadence_period,
    pool_for,
)
from citylake.orchestration.pipeline import WAREHOUSE_STEPS
from citylake.settings import Settings, load_settings

START = date(2026, 9, 1)


@pytest.fixture(scope="module")
def bag(tmp_path_factory: pytest.TempPathFactory) -> object:
    with pytest.MonkeyPatch.context() as patch:
        # Airflow imported here must not write ~/airflow (another module may have set it first).
        patch.setenv("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow")))
        from airflow.dag_processing.dagbag import DagBag

        return DagBag(dag_folder=str(load_settings().dags_dir))


def ingest_dags(bag) -> dict[str, object]:
    return {k: v for k, v in bag.dags.items() if k.startswith(INGEST_DAG_PREFIX)}


def test_dagbag_has_one_dag_per_department_and_one_task_per_source(bag) -> None:
    assert bag.import_errors == {}
    catalog = default_catalog()
    departments = {s.department for s in catalog.values()}
    assert set(ingest_dags(bag)) == {f"{INGEST_DAG_PREFIX}{d}" for d in departments}
    assert set(bag.dags) == set(ingest_dags(bag)) | {WAREHOUSE_DAG_ID, MAINTENANCE_DAG_ID}
    assert bag.dags[MAINTENANCE_DAG_ID].task_ids == ["compact_lake"]
    tasks = Counter(t for dag in ingest_dags(bag).values() for t in dag.task_ids)
    assert tasks == Counter({f"ingest_{s}": 1 for s in catalog}) + Counter(
        {"quality_docs": len(departments)}
    )
    for source in catalog.values():
        dag = bag.dags[f"{INGEST_DAG_PREFIX}{source.department}"]
        assert f"ingest_{source.id}" in dag.task_ids
    # Data Docs once per run, after every ingest task, whatever each of them did.
    for dag in ingest_dags(bag).values():
        docs = dag.get_task("quality_docs")
        assert docs.upstream_task_ids == {t for t in dag.task_ids if t.startswith("ingest_")}
        assert docs.is_teardown and docs.trigger_rule == "all_done_setup_success"


def test_department_schedule_is_its_most_frequent_cadence(bag) -> None:
    catalog = default_catalog()
    for dag_id, dag in ingest_dags(bag).items():
        cadences = [
            catalog[t.removeprefix("ingest_")].cadence
            for t in dag.task_ids
            if t.startswith("ingest_")
        ]
        assert cadence_period(dag.schedule) == min(map(cadence_period, cadences)), dag_id
        assert dag.max_active_runs == 1
    # A department with an hourly sensor feed and a weekly file runs hourly.
    assert bag.dags[f"{INGEST_DAG_PREFIX}ecology_environment"].schedule == "@hourly"


def test_scheduled_runs_follow_each_sources_own_cadence() -> None:
    city = ZoneInfo(LOCAL_TZ)
    monday = datetime(2026, 9, 7, tzinfo=city)
    assert monday.weekday() == 0
    # A daily source in an hourly department: only the midnight run (city time) ingests it.
    assert cadence_due("@daily", "@hourly", monday)
    assert not cadence_due("@daily", "@hourly", monday + timedelta(hours=1))
    assert cadence_due("@daily", "@hourly", monday.astimezone(ZoneInfo("UTC")))
    # A Monday 06:00 file: the 06:00 hourly run, or the daily run closing Monday.
    assert cadence_due("0 6 * * 1", "@hourly", monday + timedelta(hours=6))
    assert not cadence_due("0 6 * * 1", "@hourly", monday + timedelta(hours=7))
    assert not cadence_due("0 6 * * 1", "@daily", monday)
    assert cadence_due("0 6 * * 1", "@daily", monday + timedelta(days=1))
    # A source on its department's own schedule is always due.
    assert cadence_due("0 6 5 * *", "0 6 5 * *", monday)


def test_ingest_tasks_retry_with_backoff_in_their_systems_pool(bag) -> None:
    settings = load_settings()
    catalog = default_catalog()
    seen_pools = set()
    for dag in ingest_dags(bag).values():
        for task in (t for t in dag.tasks if t.task_id.startswith("ingest_")):
            source = catalog[task.task_id.removeprefix("ingest_")]
            assert task.pool == pool_for(source) and task.pool in POOLS
            assert task.retries == settings.ingest_retries >= 1
            assert task.retry_exponential_backoff
            assert task.retry_delay == timedelta(seconds=settings.retry_delay_seconds)
            assert task.max_retry_delay == timedelta(seconds=settings.max_retry_delay_seconds)
            assert [a.uri for a in task.outlets] == [bronze_asset_uri(source.id)]
            seen_pools.add(task.pool)
    assert {"src_postgresql", "src_mariadb", "src_api", "src_files", "src_mqtt"} <= seen_pools


def _assets(condition) -> Iterator[tuple[str, str]]:
    """(enclosing condition kind, asset uri) for every asset in a schedule expression."""
    for item in condition.objects:
        if hasattr(item, "objects"):
            yield from _assets(item)
        else:
            yield type(condition).__name__, item.uri


def test_warehouse_runs_on_the_bronze_assets_dbt_reads(bag) -> None:
    from airflow.sdk import AssetAll, AssetAny

    settings = load_settings()
    catalog = default_catalog()
    dag = bag.dags[WAREHOUSE_DAG_ID]
    assert isinstance(dag.schedule, AssetAll | AssetAny)
    found = {uri: kind for kind, uri in _assets(dag.schedule)}
    # What the dbt project declares as bronze sources (read here, never at DAG parse time).
    inputs = sorted(
        table["identifier"]
        for path in (settings.dbt_project_dir / "models").glob("staging/*/_*__sources.yml")
        for source in yaml.safe_load(path.read_text(encoding="utf-8"))["sources"]
        for table in source["tables"]
    )
    assert inputs == sorted(catalog)
    assert {"svc_queue_tickets", "rain_gauge", "hotline_complaints"} <= set(inputs)
    assert set(found) == {bronze_asset_uri(s) for s in inputs}
    for source_id in inputs:
        # Daily and faster inputs must all land; slower ones trigger a build on their own.
        daily = cadence_period(catalog[source_id].cadence) <= timedelta(days=1)
        assert found[bronze_asset_uri(source_id)] == ("AssetAll" if daily else "AssetAny")
    # Every warehouse step is its own task, in the order `citylake build` runs them.
    assert (
        set(dag.task_ids)
        == {s.task_id for s in WAREHOUSE_STEPS}
        == {
            "refresh_quality_summary",
            "dbt_build",
            "check_marts",
            "export_marts",
            "spark_counter_demand",
            "spark_warnings",
            "spark_staffing_plan",
            "triage_complaints",
            "dbt_build_spark_outputs",
            "check_spark_output_marts",
            "publish",
            "publish_alerts",
            "superset_import",
            "superset_roles",
        }
    )
    assert dag.get_task("dbt_build").upstream_task_ids == {"refresh_quality_summary"}
    assert dag.get_task("check_marts").upstream_task_ids == {"dbt_build"}
    assert dag.get_task("spark_staffing_plan").upstream_task_ids == {"spark_counter_demand"}
    assert dag.get_task("triage_complaints").upstream_task_ids == {"export_marts"}
    assert dag.get_task("dbt_build_spark_outputs").upstream_task_ids == {
        "spark_staffing_plan",
        "spark_warnings",
        "triage_complaints",
    }
    assert dag.get_task("publish").upstream_task_ids == {"check_spark_output_marts"}
    assert dag.get_task("publish_alerts").upstream_task_ids == {"check_spark_output_marts"}
    assert dag.get_task("superset_import").upstream_task_ids == {"publish"}
    assert dag.get_task("superset_roles").upstream_task_ids == {"superset_import"}
    order = [s.task_id for s in WAREHOUSE_STEPS]
    for step in WAREHOUSE_STEPS:  # the linear order never runs a step before its inputs
        assert all(order.index(up) < order.index(step.task_id) for up in step.after)


# Real Airflow runs: the health department (PostgreSQL births register + weekly CSV) with
# its PostgreSQL server down, culture & tourism (a daily CSV drop) and the lake
# maintenance, for two logical dates in one runner process.
DOWN_DAG = f"{INGEST_DAG_PREFIX}health"
FILE_DAG = f"{INGEST_DAG_PREFIX}culture_tourism"
DATES = [START + timedelta(days=5), START + timedelta(days=6)]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the socket is


@pytest.fixture(scope="module")
def dag_runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from citylake.democity import generate_city
    from citylake.orchestration.airflow_env import run_dags

    home: Path = tmp_path_factory.mktemp("citylake-dags")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CITYLAKE_HOME", str(home))
        patch.delenv("AIRFLOW_HOME", raising=False)
        for name in (
            "CITYLAKE_SOURCE_POSTGRES_URL",
            "CITYLAKE_SOURCE_MARIADB_URL",
            "CITYLAKE_MQTT_URL",
        ):
            patch.delenv(name, raising=False)
        settings = load_settings()
        generate_city(
            settings.sources_root, settings.truth_root, seed=3, days=7, start=START, scale=0.2
        )
        # The department's PostgreSQL server is down: nothing listens there.
        patch.setenv(
            "CITYLAKE_SOURCE_POSTGRES_URL",
            f"postgresql+psycopg2://citylake@127.0.0.1:{closed_port()}/citylake_sources",
        )
        patch.setenv("CITYLAKE_INGEST_RETRIES", "2")
        patch.setenv("CITYLAKE_RETRY_DELAY_SECONDS", "1")
        patch.setenv("CITYLAKE_MAX_RETRY_DELAY_SECONDS", "3")
        # A handful of commits is enough to compact in this small run.
        patch.setenv("CITYLAKE_COMPACT_MIN_FILES", "2")
        results = run_dags([DOWN_DAG, FILE_DAG, MAINTENANCE_DAG_ID], DATES, check=False)
    return {"settings": settings, "results": results}


@pytest.mark.slow
def test_source_database_down_fails_only_that_source_after_retries(dag_runs: dict) -> None:
    settings: Settings = dag_runs["settings"]
    health = [r for r in dag_runs["results"] if r.dag_id == DOWN_DAG]
    assert len(health) == 2
    for run in health:
        assert run.state == "failed"
        assert run.tasks == {
            "ingest_health_births": "failed",
            "ingest_health_vaccination": "success",
            "quality_docs": "success",  # the docs show what landed and what did not
        }
        # First try plus CITYLAKE_INGEST_RETRIES retries, each after a back-off.
        assert run.tries["ingest_health_births"] == 3
    entries = ledger.read(settings).to_pandas()
    assert "health_births" not in set(entries["source_id"])
    vaccination = entries[entries["source_id"] == "health_vaccination"]
    assert len(vaccination) > 0 and (vaccination["status"] == ledger.LANDED).all()
    assert lake.read_table(settings.bronze_path("health_vaccination")).num_rows == int(
        vaccination["rows_landed"].sum()
    )
    # The task logs say which source failed and why, and what each batch and source landed.
    log_text = "\n".join(p.read_text() for p in (settings.home / "logs").glob("dag-runner-*.log"))
    assert "ingest_health_births" in log_text and "Connection refused" in log_text
    assert re.search(
        r"ingest health_vaccination: run manual__\S+: batches [1-9]\d*, received \d+, "
        r"landed \d+, quarantined \d+, held 0",
        log_text,
    )
    assert re.search(r"health_vaccination batch health_vaccination-\w+ .*received \d+", log_text)


@pytest.mark.slow
def test_backfill_over_two_logical_dates_lands_each_batch_once(dag_runs: dict) -> None:
    settings: Settings = dag_runs["settings"]
    runs = [r for r in dag_runs["results"] if r.dag_id == FILE_DAG]
    assert [r.state for r in runs] == ["success", "success"]
    assert [r.logical_date[:10] for r in runs] == [d.isoformat() for d in DATES]
    entries = ledger.read(settings).to_pandas()
    permits = entries[entries["source_id"] == "ct_entertainment_permits"]
    # The first date landed the delivered files; the second found nothing new.
    assert set(permits["run_id"]) == {runs[0].run_id}
    assert permits["batch_id"].is_unique
    assert lake.read_table(settings.bronze_path("ct_entertainment_permits")).num_rows == int(
        permits["rows_landed"].sum()
    )


@pytest.mark.slow
def test_lake_maintenance_compacts_between_runs_without_breaking_exactly_once(
    dag_runs: dict,
) -> None:
    """The maintenance DAG ran after each date's ingestion: the tables it found with two or
    more files now have one, their rows are intact, and the second date's ingestion
    (after the first compaction) still landed nothing twice (the test above)."""
    from deltalake import DeltaTable

    settings: Settings = dag_runs["settings"]
    runs = [r for r in dag_runs["results"] if r.dag_id == MAINTENANCE_DAG_ID]
    assert [r.state for r in runs] == ["success", "success"], runs
    ledger_table = DeltaTable(str(settings.ledger_path))
    history = [h["operation"] for h in ledger_table.history()]
    assert "OPTIMIZE" in history, history
    assert len(ledger_table.file_uris()) == 1
    entries = ledger.read(settings).to_pandas()
    assert len(entries) > 2


@pytest.mark.slow
def test_pools_exist_with_their_sizes(dag_runs: dict) -> None:
    settings: Settings = dag_runs["settings"]
    db = settings.airflow_db_url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as con:
        pools = dict(con.execute("select pool, slots from slot_pool").fetchall())
    assert {name: pools.get(name) for name in POOLS} == POOLS
