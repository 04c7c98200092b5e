"""Running dbt against the private build file, and reading what a run built.

``run_dbt`` runs exactly the dbt command asked for: the steps around a build (quality
summary, the GX checkpoint on the marts, exports, publish) are their own pipeline steps
(``citylake.orchestration.pipeline``), visible as tasks in the warehouse DAG.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa

from citylake.serving import docs_site, pseudonym
from citylake.settings import Settings, load_settings

log = logging.getLogger(__name__)


# The main build: everything but the marts the Spark jobs produce (built after them).
# dbt's unit tests run in CI (tests/test_dbt_unit.py), not in production builds: they
# introspect the bronze relations, which a fresh build file does not have yet.
MAIN_BUILD = ("--exclude", "tag:spark_output", "--exclude-resource-type", "unit_test")


class DbtError(RuntimeError):
    """dbt failed; the message carries the failing nodes and the log tail."""


@dataclass
class BuildResult:
    command: list[str]
    seconds: float
    status_counts: dict[str, int] = field(default_factory=dict)
    models: list[str] = field(default_factory=list)
    tests_passed: int = 0
    tests_failed: int = 0


def dbt_env(settings: Settings, target: str = "duckdb") -> dict[str, str]:
    env = dict(os.environ)
    # The pseudonymization key (a demo key is generated into the home; never in prod).
    env[pseudonym.KEY_ENV] = pseudonym.ensure_key(settings.home, target)
    env.update(
        CITYLAKE_BUILD_DB=str(settings.build_db),
        CITYLAKE_LAKE_ROOT=str(settings.lake_root),
        DBT_PROFILES_DIR=str(settings.dbt_project_dir),
        DBT_PROJECT_DIR=str(settings.dbt_project_dir),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DBT_USE_COLORS="false",
        DBT_LOG_PATH=str(settings.home / "dbt" / "logs"),
        DBT_TARGET_PATH=str(settings.home / "dbt" / "target"),
    )
    return env


def dbt_executable() -> str:
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def target_dir(settings: Settings) -> Path:
    return settings.dbt_target_dir


def run_dbt(args: list[str], settings: Settings | None = None) -> BuildResult:
    """Run one dbt command against the build file; raise DbtError naming what failed."""
    settings = settings or load_settings()
    target = args[args.index("--target") + 1] if "--target" in args[:-1] else "duckdb"
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    command = [dbt_executable(), *args]
    log.info("dbt: %s", " ".join(args))
    clock = time.perf_counter()
    proc = subprocess.run(
        command,
        cwd=settings.dbt_project_dir,
        env=dbt_env(settings, target),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - clock
    for line in proc.stdout.splitlines():
        log.info("dbt | %s", line)
    result = _read_run_results(settings, command, seconds)
    _keep_results(settings, args)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise DbtError(f"`dbt {' '.join(args)}` failed (exit {proc.returncode}):\n{tail}")
    return result


def _read_run_results(settings: Settings, command: list[str], seconds: float) -> BuildResult:
    result = BuildResult(command=command, seconds=round(seconds, 2))
    path = target_dir(settings) / "run_results.json"
    if not path.exists():
        return result
    data = json.loads(path.read_text())
    for node in data.get("results", []):
        status = node["status"]
        result.status_counts[status] = result.status_counts.get(status, 0) + 1
        unique_id: str = node["unique_id"]
        if unique_id.startswith("model.") and status == "success":
            result.models.append(unique_id.split(".")[-1])
        elif unique_id.startswith(("test.", "unit_test.")):
            if status == "pass":
                result.tests_passed += 1
            elif status in {"fail", "error"}:
                result.tests_failed += 1
    return result


RESULTS_SCHEMA = pa.schema(
    [
        ("invocation_id", pa.string()),
        ("command", pa.string()),
        ("unique_id", pa.string()),
        ("resource_type", pa.string()),
        ("node_name", pa.string()),
        ("status", pa.string()),
        ("failures", pa.int64()),
        ("execution_seconds", pa.float64()),
        ("completed_at", pa.timestamp("us")),
        ("message", pa.string()),
    ]
)


def _keep_results(settings: Settings, args: list[str]) -> None:
    """Every build's and test's result, kept in ``gold/dbt_results`` (pipeline health)."""
    from citylake import lake_history

    path = target_dir(settings) / "run_results.json"
    if not path.exists() or not args or args[0] not in ("build", "test", "run"):
        return
    data = json.loads(path.read_text())
    invocation = str(data.get("metadata", {}).get("invocation_id", ""))
    finished = data.get("metadata", {}).get("generated_at")
    rows = []
    for node in data.get("results", []):
        unique_id = str(node["unique_id"])
        timing = [t for t in node.get("timing") or [] if t.get("name") == "execute"]
        completed = (timing[0].get("completed_at") if timing else None) or finished
        rows.append(
            {
                "invocation_id": invocation,
                "command": " ".join(args),
                "unique_id": unique_id,
                "resource_type": unique_id.split(".")[0],
                "node_name": unique_id.split(".")[-1],
                "status": str(node.get("status")),
                "failures": int(node.get("failures") or 0),
                "execution_seconds": float(node.get("execution_time") or 0.0),
                # run_results stamps are UTC; the lake keeps wall-clock Asia/Shanghai.
                "completed_at": _local(completed),
                "message": (node.get("message") or None),
            }
        )
    if rows:
        lake_history.append(settings.gold_dir / "dbt_results", rows, RESULTS_SCHEMA, keep=50)


def _local(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)


def last_results(settings: Settings) -> BuildResult:
    """What the last dbt command built and tested (its run_results.json)."""
    return _read_run_results(settings, [], 0.0)


def docs_index(settings: Settings) -> Path:
    return settings.dbt_docs_index


def generate_docs(settings: Settings | None = None) -> Path:
    """``dbt docs generate --static`` (one self-contained page with the lineage graph),
    published to ``<home>/docs/dbt/index.html``. Run after a build: the catalog is read
    from the build file. ``--no-compile``: the page shows each model's source SQL, and a
    source missing from the lake (a job not yet run) cannot fail the documentation."""
    settings = settings or load_settings()
    run_dbt(["docs", "generate", "--static", "--no-compile"], settings)
    page = docs_index(settings)
    page.parent.mkdir(parents=True, exist_ok=True)
    staged = page.with_name(page.name + ".staging")
    shutil.copyfile(target_dir(settings) / "static_index.html", staged)
    os.replace(staged, page)
    # Nothing remote may load when the page is opened offline (fails naming the asset).
    try:
        docs_site.localize_site(page.parent, settings=settings)
    except docs_site.DocsAssetError as error:  # unstyled offline is worth a warning only
        log.warning("dbt docs at %s left with external links: %s", page, error)
    return page
