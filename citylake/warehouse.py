"""The warehouse: dbt builds into a private DuckDB file, which is then published for readers.

DuckDB allows one writing process per file, and Superset opens the file per query, so
readers must never open the file dbt writes. dbt writes ``build.duckdb``; after a
successful build the file is copied and swapped in as ``serving.duckdb`` with an atomic
rename: a reader sees the old or the new warehouse, never half of one, and is never
blocked. Marts flagged ``meta.export_to_lake`` are also exported to the lake as Parquet
for the Spark jobs (which read no DuckDB).
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
from pathlib import Path

from citylake import pseudonym
from citylake.lake import replace_dir
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
    return settings.home / "dbt" / "target"


def run_dbt(args: list[str], settings: Settings | None = None) -> BuildResult:
    """Run one dbt command against the build file; raise DbtError naming what failed."""
    settings = settings or load_settings()
    target = args[args.index("--target") + 1] if "--target" in args[:-1] else "duckdb"
    if args[:1] == ["build"]:
        # The fct_source_quality mart reads the quality summary: refresh it from the ledger.
        from citylake import quality_summary

        quality_summary.refresh(settings)
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
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise DbtError(f"`dbt {' '.join(args)}` failed (exit {proc.returncode}):\n{tail}")
    if args[:1] == ["build"] and target != "spark":
        # Great Expectations checkpoint on the marts this build made (raises MartQualityError).
        from quality.marts import check_marts

        check_marts(settings, models=result.models)
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


def exported_models(settings: Settings) -> list[str]:
    """Models whose YAML/config sets ``meta.export_to_lake`` (from dbt's manifest)."""
    manifest = json.loads((target_dir(settings) / "manifest.json").read_text())
    names = []
    for node in manifest["nodes"].values():
        meta = node.get("config", {}).get("meta", {}) or node.get("meta", {})
        if node["resource_type"] == "model" and meta.get("export_to_lake"):
            names.append(node["name"])
    return sorted(names)


def export_for_spark(settings: Settings | None = None) -> dict[str, int]:
    """Write each exported mart to ``gold/<model>/data.parquet``; returns row counts."""
    import duckdb

    settings = settings or load_settings()
    counts: dict[str, int] = {}
    con = duckdb.connect(str(settings.build_db), read_only=True)
    try:
        for model in exported_models(settings):
            final = settings.gold_dir / model
            staged = settings.gold_dir / f".{model}.staging"
            shutil.rmtree(staged, ignore_errors=True)
            staged.mkdir(parents=True)
            con.execute(
                f"COPY (SELECT * FROM marts.{model}) TO '{staged / 'data.parquet'}' (FORMAT parquet)"
            )
            counts[model] = con.execute(f"SELECT count(*) FROM marts.{model}").fetchone()[0]
            replace_dir(staged, final)
            log.info("exported marts.%s to %s (%d rows)", model, final, counts[model])
    finally:
        con.close()
    return counts


def publish(settings: Settings | None = None) -> Path:
    """Copy the finished build's marts into a new file, swapped in as the serving file.

    Only the served schemas are copied (citylake.access): raw bronze, staging and the
    restricted identity tables never reach readers. The swap is an atomic rename.
    """
    settings = settings or load_settings()
    if not settings.build_db.exists():
        raise FileNotFoundError(
            f"nothing to publish: {settings.build_db} does not exist (run dbt build first)"
        )
    import duckdb

    # Fold any write-ahead log into the file first: the copy must be the whole database.
    with duckdb.connect(str(settings.build_db)) as con:
        con.execute("CHECKPOINT")
    staged = settings.serving_db.with_name(settings.serving_db.name + ".staging")
    from citylake.access import copy_served_schemas, write_policy

    served = copy_served_schemas(settings.build_db, staged)
    # Who may read what, from the marts' meta; written first, so invalid meta fails the
    # publish and readers keep the previous warehouse with its policy.
    write_policy(target_dir(settings) / "manifest.json", settings.serving_db, set(served))
    os.replace(staged, settings.serving_db)
    log.info("published %s -> %s", settings.build_db, settings.serving_db)
    return settings.serving_db


def docs_index(settings: Settings) -> Path:
    return settings.home / "docs" / "dbt" / "index.html"


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
    return page
