"""Running Airflow for citylake: its environment, metadata DB, pools, and DAG runs.

Airflow is configured only through environment variables derived from citylake's
settings, so its home, metadata DB and ports follow the same configuration as
everything else (SQLite under .citylake by default, PostgreSQL by URL at scale).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from citylake.settings import Settings, load_settings

log = logging.getLogger(__name__)


class AirflowError(RuntimeError):
    pass


def airflow_executable() -> str:
    candidate = Path(sys.executable).parent / "airflow"
    return str(candidate) if candidate.exists() else "airflow"


def airflow_env(settings: Settings) -> dict[str, str]:
    home = settings.airflow_home
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(settings.dags_dir),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__PARALLELISM="4",
        AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG="2",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=settings.airflow_db_url,
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{settings.airflow_port}/execution/",
        AIRFLOW__API__HOST="127.0.0.1",
        AIRFLOW__API__PORT=str(settings.airflow_port),
        AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{settings.airflow_port}",
        AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(home / "logs"),
        # Log servers otherwise listen on 0.0.0.0.
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT="8793",
        AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK="False",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{settings.admin_user}:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(home / "passwords.json"),
        AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL="30",
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="30",
        CITYLAKE_PROJECT_DIR=str(settings.project_dir),
        CITYLAKE_HOME=str(settings.home),
        CITYLAKE_LAKE_ROOT=str(settings.lake_root),
        CITYLAKE_SOURCES_ROOT=str(settings.sources_root),
        CITYLAKE_WAREHOUSE_DIR=str(settings.warehouse_dir),
        NO_PROXY="*",
    )
    return env


def _run(
    args: list[str], settings: Settings, timeout: float | None = None
) -> subprocess.CompletedProcess:
    env = airflow_env(settings)
    log.info("airflow %s", " ".join(args))
    return subprocess.run(
        [airflow_executable(), *args],
        env=env,
        cwd=settings.home,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ensure_airflow_db(settings: Settings | None = None) -> None:
    """Migrate the metadata DB once (idempotent) and write the local admin password."""
    settings = settings or load_settings()
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    passwords = settings.airflow_home / "passwords.json"
    passwords.write_text(json.dumps({settings.admin_user: settings.admin_password}))
    marker = settings.airflow_home / ".migrated"
    if not (marker.exists() and marker.read_text() == settings.airflow_db_url):
        proc = _run(["db", "migrate"], settings, timeout=600)
        if proc.returncode != 0:
            raise AirflowError(
                f"airflow db migrate failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            )
        marker.write_text(settings.airflow_db_url)
    ensure_pools(settings)


def ensure_pools(settings: Settings) -> None:
    """Create or resize the per-source-system pools (dag_plan.POOLS); idempotent, one CLI call."""
    from citylake.orchestration.dag_plan import POOLS

    wanted = {
        name: {"slots": slots, "description": f"concurrent extractions from {name[4:]} sources"}
        for name, slots in POOLS.items()
    }
    text = json.dumps(wanted, sort_keys=True)
    marker = settings.airflow_home / ".pools"
    if marker.exists() and marker.read_text() == text + settings.airflow_db_url:
        return
    pools_file = settings.airflow_home / "pools.json"
    pools_file.write_text(text)
    proc = _run(["pools", "import", str(pools_file)], settings, timeout=300)
    if proc.returncode != 0:
        raise AirflowError(
            f"airflow pools import failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        )
    marker.write_text(text + settings.airflow_db_url)


@dataclass
class DagRunResult:
    dag_id: str
    run_id: str
    logical_date: str | None
    state: str
    seconds: float
    tasks: dict[str, str]
    tries: dict[str, int]

    @property
    def failed_tasks(self) -> list[str]:
        return sorted(t for t, s in self.tasks.items() if s != "success")


def run_dags(
    dag_ids: list[str] | None,
    logical_dates: list[date],
    settings: Settings | None = None,
    *,
    check: bool = True,
    on_result: Callable[[DagRunResult], None] | None = None,
) -> list[DagRunResult]:
    """Run DAGs through real Airflow in one process (citylake.orchestration.dag_runner); None = the whole city.

    The whole city is every department DAG, then the warehouse DAG once Airflow finds
    its Asset condition met. ``on_result`` sees each run as it finishes. With ``check``,
    raises AirflowError naming the failed runs and tasks (full log in <home>/logs).
    """
    settings = settings or load_settings()
    ensure_airflow_db(settings)
    logs = settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    log_file = logs / f"dag-runner-{stamp}.log"
    results = logs / f"dag-runner-{stamp}.jsonl"
    results.unlink(missing_ok=True)
    args = [sys.executable, "-m", "citylake.orchestration.dag_runner", "--results", str(results)]
    args += [a for d in logical_dates for a in ("--date", d.isoformat())]
    args += ["--city"] if dag_ids is None else [a for d in dag_ids for a in ("--dag", d)]
    found: list[DagRunResult] = []

    def collect() -> None:
        lines = results.read_text().splitlines() if results.exists() else []
        for line in lines[len(found) :]:
            found.append(DagRunResult(**json.loads(line)))
            if on_result:
                on_result(found[-1])

    with log_file.open("w") as out:
        proc = subprocess.Popen(
            args, env=airflow_env(settings), cwd=settings.home, stdout=out, stderr=subprocess.STDOUT
        )
        while proc.poll() is None:
            time.sleep(1)
            collect()
    collect()
    failed = [r for r in found if r.state != "success"]
    if check and (proc.returncode != 0 or failed):
        tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-40:])
        what = "; ".join(
            f"{r.dag_id} {r.state} (tasks {', '.join(r.failed_tasks)})" for r in failed
        )
        raise AirflowError(
            f"DAG runs failed: {what or f'runner exited {proc.returncode}'} (full log: {log_file}):\n{tail}"
        )
    return found
