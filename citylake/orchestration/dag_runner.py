"""Run citylake DAGs through real Airflow in ONE process (``python -m citylake.orchestration.dag_runner``).

``airflow dags test`` pays ~15 s of start-up per DAG (imports, parsing, DB sync); the
23 department DAGs would spend minutes on that alone. Here Airflow, Great Expectations
and the DAG folder are loaded once, then each DAG run goes through ``DAG.test()``: a
real DagRun in the metadata DB, real task instances with retries, pools ignored (one
task at a time), Asset events recorded on success.

``--city`` runs every department DAG, then asks Airflow's scheduler logic
(``DagModel.dags_needing_dagruns``) whether the warehouse DAG's Asset condition is met
by the events just recorded, and only then runs it and consumes its queued events,
as the scheduler does for an asset-triggered run.

Started by citylake.orchestration.airflow_env (which sets Airflow's environment); each finished run
is appended as one JSON line to ``--results``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from datetime import date, datetime
from pathlib import Path
from unittest import mock

from citylake.orchestration.dag_plan import INGEST_DAG_PREFIX, LOCAL_TZ, WAREHOUSE_DAG_ID

log = logging.getLogger("citylake.orchestration.dag_runner")


def _logical(day: date) -> datetime:
    import pendulum

    return pendulum.datetime(day.year, day.month, day.day, tz=LOCAL_TZ)


def _run(dag, logical_date: datetime | None, results: Path) -> dict[str, object]:
    from airflow.utils.session import create_session

    clock = time.perf_counter()
    log.info("running %s for %s", dag.dag_id, logical_date)
    dag_run = dag.test(logical_date=logical_date)
    with create_session() as session:
        tasks = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances(session=session)}
        tries = {ti.task_id: ti.try_number for ti in dag_run.get_task_instances(session=session)}
    record: dict[str, object] = {
        "dag_id": dag.dag_id,
        "run_id": dag_run.run_id,
        "logical_date": logical_date.isoformat() if logical_date else None,
        "state": str(dag_run.state),
        "seconds": round(time.perf_counter() - clock, 1),
        "tasks": tasks,
        "tries": tries,
    }
    with results.open("a") as out:
        out.write(json.dumps(record) + "\n")
    return record


def warehouse_due() -> bool:
    """The scheduler's own test: are the warehouse's queued Asset events enough to run it?"""
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        _, triggered = DagModel.dags_needing_dagruns(session)
        session.rollback()  # it may lock rows; decide only
    return WAREHOUSE_DAG_ID in triggered


def consume_warehouse_events(before: datetime) -> int:
    """Drop the queued Asset events a warehouse run has just used (the scheduler does this too)."""
    from airflow.models.asset import AssetDagRunQueue
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    with create_session() as session:
        result = session.execute(
            delete(AssetDagRunQueue).where(
                AssetDagRunQueue.target_dag_id == WAREHOUSE_DAG_ID,
                AssetDagRunQueue.created_at <= before,
            )
        )
        return int(result.rowcount or 0)


def parse_and_sync():
    """Parse the DAG folder once, write it to the metadata DB, make sure the warehouse listens.

    Asset events only queue runs of unpaused DAGs, so the warehouse DAG is unpaused
    before any ingest task can land something (department DAGs stay as they are).
    """
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import update

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    bundle = manager.get_bundle("dags-folder")
    bundle.initialize()
    bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")
    sync_bag_to_db(bag, bundle.name, bundle.version)
    with create_session() as session:
        session.execute(
            update(DagModel).where(DagModel.dag_id == WAREHOUSE_DAG_ID).values(is_paused=False)
        )
    return bag


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--date", action="append", default=[], help="logical date(s), YYYY-MM-DD")
    parser.add_argument("--dag", action="append", default=[], help="DAG id(s) to run in order")
    parser.add_argument(
        "--city", action="store_true", help="all department DAGs, then the warehouse if due"
    )
    parser.add_argument("--results", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    from airflow.sdk import timezone

    bag = parse_and_sync()
    days = [date.fromisoformat(d) for d in args.date] or [date.today()]
    departments = sorted(d for d in bag.dags if d.startswith(INGEST_DAG_PREFIX))
    for dag_id in args.dag:
        if dag_id not in bag.dags:
            raise SystemExit(f"no DAG {dag_id!r}; the DAG folder has {sorted(bag.dags)}")
    ok = True
    # DAG.test() re-parses the whole DAG folder and re-writes all 25 DAGs to the DB before
    # every run (~2-4 s each); the folder was parsed and synced above and does not change
    # during this process, so reuse that.
    with (
        mock.patch("airflow.dag_processing.dagbag.BundleDagBag", return_value=bag),
        mock.patch("airflow.dag_processing.dagbag.sync_bag_to_db"),
    ):
        for day in days:
            for dag_id in departments if args.city else args.dag:
                record = _run(bag.dags[dag_id], _logical(day), args.results)
                ok = ok and record["state"] == "success"
            if not args.city:
                continue
            if not warehouse_due():
                # Only possible when an input failed to land: the warehouse waits for it.
                log.error("%s: the warehouse's Asset condition is not met", day)
                ok = False
                continue
            started = timezone.utcnow()
            record = _run(bag.dags[WAREHOUSE_DAG_ID], _logical(day), args.results)
            log.info("consumed %d queued asset events", consume_warehouse_events(started))
            ok = ok and record["state"] == "success"
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
