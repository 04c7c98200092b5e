"""What the Airflow DAGs look like, derived from the source catalog (no Airflow import here).

One ingestion DAG per department (``citylake_ingest_<department>``), one ingest task per
catalog source, and one warehouse DAG scheduled on the bronze Assets the dbt project
reads. ``dags/citylake_dags.py`` turns these plans into Airflow objects; keeping the
decisions here makes them testable without parsing DAGs and keeps the DAG file thin.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from citylake.catalog import (
    FileDropConnector,
    MqttConnector,
    RestApiConnector,
    Source,
    SqlConnector,
    cadence_period,
)

INGEST_DAG_PREFIX = "citylake_ingest_"
WAREHOUSE_DAG_ID = "citylake_warehouse"
MAINTENANCE_DAG_ID = "citylake_lake_maintenance"
MAINTENANCE_SCHEDULE = "30 3 * * *"  # daily at 03:30 city time, when nothing lands
LOCAL_TZ = "Asia/Shanghai"  # cadences are the city's wall-clock times

# One pool per source system, so a slow department database is never hit by more than
# this many concurrent extractions, whatever number of DAG runs are active (catch-up,
# backfill, manual triggers). Sized in this one place; orchestration.ensure_pools
# creates them in the metadata DB.
POOLS: dict[str, int] = {
    "src_postgresql": 2,
    "src_mariadb": 2,
    "src_sqlite": 1,  # one writer-free reader per file is plenty and avoids lock waits
    "src_api": 2,
    "src_files": 3,
    "src_mqtt": 2,
}

# Cadences at most this long must all have landed before the warehouse builds (AssetAll);
# slower ones (weekly, monthly deliveries) trigger a build on their own (AssetAny), else
# the daily build would wait a month for a monthly file.
GATING_PERIOD = timedelta(days=1)


@dataclass(frozen=True)
class IngestPlan:
    source_id: str
    department: str
    cadence: str
    pool: str

    @property
    def task_id(self) -> str:
        return f"ingest_{self.source_id}"

    @property
    def asset_uri(self) -> str:
        return bronze_asset_uri(self.source_id)


@dataclass(frozen=True)
class DepartmentPlan:
    department: str
    schedule: str  # the shortest cadence of its sources
    sources: tuple[IngestPlan, ...]

    @property
    def dag_id(self) -> str:
        return f"{INGEST_DAG_PREFIX}{self.department}"


@dataclass(frozen=True)
class WarehousePlan:
    gating: tuple[str, ...]  # asset URIs that must all have new events (AssetAll)
    any_of: tuple[str, ...]  # asset URIs that each trigger a build (AssetAny)


def bronze_asset_uri(source_id: str) -> str:
    return f"citylake://bronze/{source_id}"


def pool_for(source: Source) -> str:
    connector = source.connector
    if isinstance(connector, SqlConnector):
        return f"src_{connector.system}"
    if isinstance(connector, RestApiConnector):
        return "src_api"
    if isinstance(connector, MqttConnector):
        return "src_mqtt"
    if isinstance(connector, FileDropConnector):
        return "src_files"
    raise ValueError(f"{source.id}: no pool for connector {connector!r}")


def cadence_due(cadence: str, schedule: str, at: datetime) -> bool:
    """Whether a source's cadence fires within its department's run at ``at``.

    A department run at ``at`` covers (at - its schedule's period, at], in city time.
    A daily source in an hourly department is due only in the run at midnight.
    """
    from zoneinfo import ZoneInfo

    from croniter import croniter

    if cadence == schedule:
        return True
    local = at.astimezone(ZoneInfo(LOCAL_TZ))
    return croniter(cadence, local - cadence_period(schedule)).get_next(datetime) <= local


def department_plans(catalog: dict[str, Source]) -> list[DepartmentPlan]:
    by_department: dict[str, list[Source]] = defaultdict(list)
    for source in catalog.values():
        by_department[source.department].append(source)
    plans = []
    for department, sources in sorted(by_department.items()):
        sources.sort(key=lambda s: s.id)
        # The department's DAG runs at its most frequent source's cadence; slower
        # sources are polled then too, and incremental extraction lands nothing new.
        schedule = min((s.cadence for s in sources), key=cadence_period)
        plans.append(
            DepartmentPlan(
                department=department,
                schedule=schedule,
                sources=tuple(
                    IngestPlan(s.id, department, s.cadence, pool_for(s)) for s in sources
                ),
            )
        )
    return plans


def warehouse_plan(catalog: dict[str, Source]) -> WarehousePlan:
    """The warehouse waits for every catalog source's bronze table: the dbt project's
    sources are generated from the catalog (``citylake catalog dbt-sources``), so the
    catalog is what dbt reads; nothing is scanned at DAG parse time."""
    inputs = sorted(catalog)
    gating = tuple(
        bronze_asset_uri(s) for s in inputs if cadence_period(catalog[s].cadence) <= GATING_PERIOD
    )
    any_of = tuple(
        bronze_asset_uri(s) for s in inputs if cadence_period(catalog[s].cadence) > GATING_PERIOD
    )
    return WarehousePlan(gating=gating, any_of=any_of)
