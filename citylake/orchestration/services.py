"""`make up` / `make down`: the local UIs on 127.0.0.1.

Airflow's api-server, scheduler and dag-processor each run in their own process
group (pid files under AIRFLOW_HOME), because SIGTERM to a parent leaves children
running; `down` stops the whole groups. The warnings stream is the exception: its Spark
JVM is in its group and would die under the query, so SIGTERM goes to the leader alone,
which finishes the running micro-batch, stops the query and Spark; the group is
SIGKILLed only if it is still there after the grace period.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from citylake.orchestration.airflow_env import airflow_env, airflow_executable, ensure_airflow_db
from citylake.settings import Settings, load_settings

log = logging.getLogger(__name__)

AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor")
SOURCE_API = "source-api"
STREAM = "stream"  # the MQTT subscribers (citylake stream), when a broker is configured
WARNINGS_STREAM = "warnings-stream"  # citylake warnings stream (Spark Structured Streaming)
DOCS = "docs"  # citylake docs serve: GX Data Docs and dbt docs, CSS/JS vendored (offline)
# Seconds a component has after SIGTERM before its group is killed.
GRACE = {WARNINGS_STREAM: 90.0}


def _pid_file(settings: Settings, component: str) -> Path:
    return settings.airflow_home / "run" / f"{component}.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _wait_http(url: str, timeout: float, log_file: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=3) as resp:
                if resp.status < 500:
                    return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"{url} not healthy after {timeout:.0f}s; see {log_file}")


def _spawn(settings: Settings, name: str, args: list[str], env: dict[str, str]) -> None:
    """Start ``args`` in its own process group with a pid file, unless already running."""
    pid_file = _pid_file(settings, name)
    if pid_file.exists() and _alive(int(pid_file.read_text())):
        log.info("%s already running (pid %s)", name, pid_file.read_text())
        return
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    log_file = settings.airflow_home / "logs" / f"{name}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        proc = subprocess.Popen(
            args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    pid_file.write_text(str(proc.pid))


def start_airflow(settings: Settings) -> None:
    ensure_airflow_db(settings)
    env = airflow_env(settings)
    for component in AIRFLOW_COMPONENTS:
        args = [airflow_executable(), component]
        if component == "api-server":
            args += ["--host", "127.0.0.1", "--port", str(settings.airflow_port)]
        elif component == "scheduler":
            # The log server would listen on all interfaces; the api-server reads the
            # local log folder directly on one machine.
            args.append("--skip-serve-logs")
        _spawn(settings, component, args, env)
    _wait_http(
        f"http://127.0.0.1:{settings.airflow_port}/api/v2/monitor/health",
        120,
        settings.airflow_home / "logs" / "api-server.log",
    )


def start_source_api(settings: Settings) -> None:
    """The demo departments' REST APIs, which the scheduled ingest tasks call."""
    citylake = str(Path(sys.executable).parent / "citylake")
    _spawn(settings, SOURCE_API, [citylake, "sources", "serve"], airflow_env(settings))
    _wait_http(
        settings.source_api_url.rstrip("/") + "/health",
        30,
        settings.airflow_home / "logs" / f"{SOURCE_API}.log",
    )


def start_stream(settings: Settings) -> None:
    """The sensor feeds' subscribers; SIGTERM (make down) lands and acknowledges what they hold."""
    citylake = str(Path(sys.executable).parent / "citylake")
    _spawn(settings, STREAM, [citylake, "stream"], airflow_env(settings))


def start_warnings_stream(settings: Settings) -> None:
    """The warnings stream over the feed files every sensor landing writes (DAG or MQTT)."""
    citylake = str(Path(sys.executable).parent / "citylake")
    _spawn(settings, WARNINGS_STREAM, [citylake, "warnings", "stream"], airflow_env(settings))


def start_docs(settings: Settings) -> None:
    """The documentation server (GX Data Docs at /quality/, dbt docs at /dbt/)."""
    citylake = str(Path(sys.executable).parent / "citylake")
    args = [citylake, "docs", "serve", "--port", str(settings.docs_port)]
    _spawn(settings, DOCS, args, airflow_env(settings))
    _wait_http(
        f"http://127.0.0.1:{settings.docs_port}/",
        30,
        settings.airflow_home / "logs" / f"{DOCS}.log",
    )


def stop_airflow(settings: Settings) -> None:
    for component in (*AIRFLOW_COMPONENTS, SOURCE_API, STREAM, WARNINGS_STREAM, DOCS):
        pid_file = _pid_file(settings, component)
        if not pid_file.exists():
            continue
        pid = int(pid_file.read_text())
        if _alive(pid):
            if component == WARNINGS_STREAM:
                os.kill(pid, signal.SIGTERM)  # the leader stops the query, then its JVM
            else:
                os.killpg(pid, signal.SIGTERM)
            for _ in range(int(GRACE.get(component, 15.0) / 0.5)):
                if not _alive(pid):
                    break
                time.sleep(0.5)
            else:
                os.killpg(pid, signal.SIGKILL)
        pid_file.unlink()


def up() -> None:
    from rich.console import Console

    from citylake.serving import superset

    console = Console()
    settings = load_settings()
    console.print(
        "Starting Airflow (api-server, scheduler, dag-processor) and the departments' API..."
    )
    start_airflow(settings)
    start_source_api(settings)
    if settings.mqtt_url:
        start_stream(settings)
    # Sensor batches landed by the DAG tasks (no broker) write feed files too.
    start_warnings_stream(settings)
    start_docs(settings)
    console.print("Starting Superset...")
    superset.ensure_initialized()
    if settings.serving_db.exists():
        superset.import_dashboards()
    else:
        console.print(
            "[yellow]No published warehouse yet: run `make demo` to get dashboards.[/yellow]"
        )
    superset.start()
    console.print(
        f"[green]Airflow[/green]  http://127.0.0.1:{settings.airflow_port}  "
        f"login {settings.admin_user} / {settings.admin_password}\n"
        f"[green]Superset[/green] http://127.0.0.1:{settings.superset_port}  "
        f"login {settings.admin_user} / {settings.admin_password}\n"
        f"[green]Docs[/green]     http://127.0.0.1:{settings.docs_port}/quality/  (GX Data Docs)  "
        f"http://127.0.0.1:{settings.docs_port}/dbt/  (dbt docs)\n"
        "Stop with `make down`."
    )


def down() -> None:
    from citylake.serving import superset

    settings = load_settings()
    stop_airflow(settings)
    superset.stop()
