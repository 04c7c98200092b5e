"""Running Airflow for citylake: its environment, metadata DB, and DAG test runs.

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


def _run(args: list[str], settings: Settings, timeout: float | None = None) -> subprocess.CompletedProcess:
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
    if marker.exists() and marker.read_text() == settings.airflow_db_url:
        return
    proc = _run(["db", "migrate"], settings, timeout=600)
    if proc.returncode != 0:
        raise AirflowError(f"airflow db migrate failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    marker.write_text(settings.airflow_db_url)


def test_dag(dag_id: str, logical_date: date, settings: Settings | None = None) -> float:
    """Run one DAG run in-process with ``airflow dags test``; returns seconds. Raises on failure."""
    settings = settings or load_settings()
    ensure_airflow_db(settings)
    clock = time.perf_counter()
    env = airflow_env(settings)
    log_file = settings.home / "logs" / f"{dag_id}-{logical_date.isoformat()}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("w") as out:
        proc = subprocess.run(
            [airflow_executable(), "dags", "test", dag_id, logical_date.isoformat()],
            env=env,
            cwd=settings.home,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    seconds = time.perf_counter() - clock
    text = log_file.read_text(errors="replace")
    # `dags test` can exit 0 on a failed run; the run's own final line is the verdict.
    finished = [line for line in text.splitlines() if "DagRun Finished" in line]
    if proc.returncode != 0 or not finished or "state=success" not in finished[-1]:
        tail = "\n".join(text.splitlines()[-60:])
        raise AirflowError(f"DAG {dag_id} run {logical_date} failed (full log: {log_file}):\n{tail}")
    return seconds
