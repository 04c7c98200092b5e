"""A Spark standalone cluster (one master, one worker) from the pip-installed Spark.

The same jobs that run in ``local[*]`` run on it unchanged when ``CITYLAKE_SPARK_MASTER``
names its master: this is how the platform proves that (a test runs a job both ways and
compares), and how a developer tries a job on a cluster without one. Both daemons run on
127.0.0.1 as child processes and are stopped by PID; nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["StandaloneCluster", "standalone_cluster"]

HOST = "127.0.0.1"


@dataclass(frozen=True)
class StandaloneCluster:
    master_url: str
    ui_url: str
    pids: tuple[int, ...]

    def state(self) -> dict:
        """The master's JSON status: workers, active and completed applications."""
        with urllib.request.urlopen(f"{self.ui_url}/json/", timeout=5) as response:
            return json.load(response)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _spark_class() -> tuple[Path, Path]:
    import pyspark

    home = Path(pyspark.__file__).parent
    return home, home / "bin" / "spark-class"


@contextmanager
def standalone_cluster(
    work_dir: Path, cores: int = 2, memory: str = "2g", timeout: float = 90.0
) -> Iterator[StandaloneCluster]:
    """Start a master and one worker, wait until the worker has registered, yield, stop."""
    spark_home, spark_class = _spark_class()
    work_dir.mkdir(parents=True, exist_ok=True)
    port, ui_port, worker_ui = _free_port(), _free_port(), _free_port()
    env = os.environ | {
        "SPARK_HOME": str(spark_home),
        "SPARK_LOCAL_IP": HOST,
        "SPARK_LOG_DIR": str(work_dir / "logs"),
    }
    master_url, ui_url = f"spark://{HOST}:{port}", f"http://{HOST}:{ui_port}"
    commands = [
        [str(spark_class), "org.apache.spark.deploy.master.Master", "--host", HOST,
         "--port", str(port), "--webui-port", str(ui_port)],
        [str(spark_class), "org.apache.spark.deploy.worker.Worker", master_url, "--host", HOST,
         "--cores", str(cores), "--memory", memory, "--webui-port", str(worker_ui),
         "--work-dir", str(work_dir / "work")],
    ]  # fmt: skip
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for name, command in zip(("master", "worker"), commands, strict=True):
            log = (work_dir / f"{name}.log").open("wb")
            # A session of its own, so stopping it reaches the JVM spark-class execs into.
            processes.append(
                subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
            )
        cluster = StandaloneCluster(master_url, ui_url, tuple(p.pid for p in processes))
        _wait_for_worker(cluster, processes, work_dir, timeout)
        yield cluster
    finally:
        for process in reversed(processes):
            _stop(process)


def _wait_for_worker(
    cluster: StandaloneCluster,
    processes: list[subprocess.Popen[bytes]],
    work_dir: Path,
    timeout: float,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(
                    f"a Spark daemon exited with {process.returncode}; see {work_dir}/*.log"
                )
        try:
            if cluster.state().get("aliveworkers", 0) >= 1:
                return
        except (OSError, ValueError):
            pass  # the master's UI is not up yet, or serves its HTML before its JSON
        time.sleep(0.5)
    raise TimeoutError(f"no Spark worker registered within {timeout:.0f}s; see {work_dir}/*.log")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
