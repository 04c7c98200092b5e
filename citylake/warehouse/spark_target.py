"""Build the dbt project on Spark (dbt-spark ``method: session``, local PySpark).

dbt-spark's session method runs every statement on ``SparkSession.builder.getOrCreate()``,
so dbt is invoked in this process (``dbtRunner``) after the session has been prepared:

- Sources are read from dbt's manifest (``dbt parse`` on the spark target). Bronze is
  Delta, but this Spark has no Delta jars (nothing may download): each bronze source is
  read from its Delta log's active Parquet files (``DeltaTable.file_uris()``: the current
  snapshot, never files a later commit removed) and copied into the table dbt's
  ``source()`` names (``bronze.<id>``), as the DuckDB target's delta plugin does: one
  consistent snapshot per build, and a persistent table (staging views may not reference
  temporary views). Sources with a ``read_parquet`` external location (the Spark jobs'
  outputs in gold) become external Parquet tables over that folder.
- ``citylake_pseudonym`` is created as a temporary SQL function with the key (never in SQL
  text that dbt writes to disk).
- dbt gets its own target path, so a Spark build never overwrites the manifest the DuckDB
  warehouse publishes from.

Models tagged ``duckdb_only`` (the crosswalks, dbt Python models) do not run here: the
build links the mentions on Spark between two dbt invocations (:func:`link_entities`).
Tables go to the in-memory catalog under ``<home>/spark/warehouse`` (no Hive metastore, no
derby.log or spark-warehouse in the working directory).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from citylake.serving import pseudonym
from citylake.settings import Settings, load_settings
from citylake.warehouse.dbt import BuildResult, DbtError, dbt_env

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

TARGET = "spark"
EXCLUDE_TAG = "duckdb_only"


def spark_target_dir(settings: Settings) -> Path:
    return settings.home / "dbt" / "target-spark"


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _gold_folder(external_location: str) -> Path | None:
    """The folder of ``read_parquet('<folder>/*.parquet')`` (the DuckDB target's location)."""
    match = re.search(r"read_parquet\(\s*'([^']+)'", external_location)
    return Path(match.group(1)).parent if match else None


def register_sources(spark: SparkSession, manifest: dict[str, Any]) -> dict[str, str]:
    """Create every source dbt will read as a Spark table; returns table -> how it was made.

    A source whose data does not exist yet (a Spark job not run, a source never landed) is
    left out: the models reading it fail, as they do on DuckDB.
    """
    import pyarrow.parquet as pq
    from deltalake import DeltaTable

    made: dict[str, str] = {}
    schemas: set[str] = set()

    def ensure_schema(schema: str) -> None:
        if schema not in schemas:
            spark.sql(f"create database if not exists {_quote(schema)}")
            schemas.add(schema)

    for source in manifest["sources"].values():
        meta = {**(source.get("source_meta") or {}), **(source.get("meta") or {})}
        schema, identifier = source["schema"], source["identifier"]
        table = f"{_quote(schema)}.{_quote(identifier)}"
        delta_path = meta.get("delta_table_path")
        external = meta.get("external_location")
        if delta_path and (Path(delta_path) / "_delta_log").is_dir():
            delta = DeltaTable(str(delta_path))
            uris = delta.file_uris()
            ensure_schema(schema)
            view = f"citylake_source_{schema}_{identifier}"
            with tempfile.TemporaryDirectory(prefix="citylake-empty-") as empty:
                if uris:
                    # mergeSchema: columns added by later batches (schema evolution) stay readable.
                    frame = spark.read.option("mergeSchema", "true").parquet(*uris)
                else:
                    # A table that exists but holds no rows yet (only empty deliveries):
                    # an empty file with the Delta schema, as DuckDB's reader sees it.
                    pq.write_table(delta.to_pyarrow_table(), f"{empty}/empty.parquet")
                    frame = spark.read.parquet(empty)
                frame.createOrReplaceTempView(view)
                spark.sql(f"drop table if exists {table}")
                spark.sql(f"create table {table} using parquet as select * from {_quote(view)}")
            spark.catalog.dropTempView(view)
            made[f"{schema}.{identifier}"] = f"delta snapshot, {len(uris)} files"
        elif external and (folder := _gold_folder(external)) and any(folder.glob("*.parquet")):
            ensure_schema(schema)
            spark.sql(f"drop table if exists {table}")
            location = str(folder).replace("'", "\\'")
            spark.sql(f"create table {table} using parquet location '{location}'")
            made[f"{schema}.{identifier}"] = f"parquet folder {folder}"
    return made


def clear_orphaned_schemas(spark: SparkSession, manifest: dict[str, Any]) -> list[str]:
    """Remove warehouse folders of the project's schemas that the catalog does not know.

    Without a metastore the catalog lives in the session: a table written by an earlier
    process is an orphaned folder, and Spark refuses to create a managed table over it.
    Schemas the session already holds (a second build in one process) are left alone.
    """
    import shutil
    from urllib.parse import urlparse

    root = Path(urlparse(spark.conf.get("spark.sql.warehouse.dir")).path)
    schemas = {n["schema"] for n in manifest["nodes"].values() if n.get("schema")}
    schemas |= {s["schema"] for s in manifest["sources"].values()}
    cleared = []
    for schema in sorted(schemas):
        folder = root / f"{schema.lower()}.db"
        if folder.is_dir() and not spark.catalog.databaseExists(schema):
            shutil.rmtree(folder)
            cleared.append(schema)
    return cleared


def prepare_session(
    spark: SparkSession, settings: Settings, manifest: dict[str, Any]
) -> dict[str, str]:
    """Everything dbt's models expect of a Spark session, before dbt runs."""
    key = pseudonym.ensure_key(settings.home, TARGET)
    spark.sql(pseudonym.spark_function_sql(key))
    # dbt-spark drops and recreates a table; without a metastore the catalog forgets tables
    # between processes while their folders remain under the warehouse dir.
    spark.conf.set("spark.sql.legacy.allowNonEmptyLocationInCTAS", "true")
    cleared = clear_orphaned_schemas(spark, manifest)
    if cleared:
        log.info("removed orphaned warehouse folders of schemas %s", cleared)
    return register_sources(spark, manifest)


# Spark's parser requires a length for VARCHAR; the project (casts and the contracts' column
# types) says varchar as DuckDB does. Spark's string is the same type without a limit.
_BARE_VARCHAR = re.compile(r"\b(varchar|character\s+varying)\b(?!\s*\()", re.IGNORECASE)


def spark_sql(sql: str) -> str:
    """The project's SQL as Spark accepts it (today: bare VARCHAR becomes STRING)."""
    return _BARE_VARCHAR.sub("string", sql)


@contextmanager
def _varchar_as_string() -> Iterator[None]:
    """Route dbt-spark's session cursor through :func:`spark_sql` while dbt runs."""
    from dbt.adapters.spark import session

    original = session.Cursor.execute

    def execute(self: Any, sql: str, *parameters: Any) -> None:
        original(self, spark_sql(sql), *parameters)

    session.Cursor.execute = execute  # type: ignore[method-assign]
    try:
        yield
    finally:
        session.Cursor.execute = original  # type: ignore[method-assign]


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


# The crosswalks are dbt Python models (DuckDB only); on Spark they are linked between the
# two dbt invocations and everything downstream of them is built second.
CROSSWALK_MODELS = ("int_citizen_crosswalk", "int_enterprise_crosswalk")
MENTION_MODELS = {"int_citizen_crosswalk": "int_person_mentions",
                  "int_enterprise_crosswalk": "int_enterprise_mentions"}  # fmt: skip
ENTITY_BUILD = [
    "build", "--resource-type", "model", "--select", f"tag:{EXCLUDE_TAG}+",
    "--exclude", *CROSSWALK_MODELS, "tag:spark_output",
]  # fmt: skip


def _relation(manifest: dict[str, Any], model: str) -> str | None:
    for node in manifest["nodes"].values():
        if node.get("resource_type") == "model" and node.get("name") == model:
            return f"{_quote(node['schema'])}.{_quote(node.get('alias') or model)}"
    return None


def link_entities(spark: SparkSession, settings: Settings, manifest: dict[str, Any]) -> bool:
    """Link the mentions the first invocation built, with Splink on this session, and make
    the crosswalks the tables dbt's ``ref`` names (folders in the lake); False when the
    project has no crosswalks or their mentions were not built."""
    from citylake.entities.on_spark import CITIZENS, ENTERPRISES, crosswalk_folder, link_on_spark

    relations = {m: _relation(manifest, m) for m in (*CROSSWALK_MODELS, *MENTION_MODELS.values())}
    if None in relations.values():
        return False
    mentions = {}
    for crosswalk, model in MENTION_MODELS.items():
        table = relations[model]
        if not spark.catalog.tableExists(table.replace("`", "")):
            log.warning("%s not built on Spark: the entity marts are skipped", model)
            return False
        mentions[crosswalk] = spark.table(table).toPandas()
    link_on_spark(spark, settings, mentions[CITIZENS], mentions[ENTERPRISES])
    for crosswalk in CROSSWALK_MODELS:
        table = str(relations[crosswalk])
        location = str(crosswalk_folder(settings, crosswalk)).replace("'", "\\'")
        spark.sql(f"drop table if exists {table}")
        spark.sql(f"create table {table} using parquet location '{location}'")
    return True


def build_on_spark(
    args: list[str] | None = None,
    settings: Settings | None = None,
    spark: SparkSession | None = None,
    project_dir: Path | None = None,
) -> BuildResult:
    """Run ``dbt <args>`` on the spark target in this process.

    The default builds seeds and every model but the Spark jobs' outputs, without data
    tests (those run on the DuckDB build, and each costs Spark seconds of planning: 400
    tests would take longer than the whole DuckDB pipeline), in two invocations: first
    everything not downstream of a model tagged duckdb_only (the crosswalks), then, once
    :func:`link_entities` has linked the mentions on Spark, the rest.
    """
    from dbt.cli.main import dbtRunner

    from citylake.warehouse.spark_session import get_spark

    settings = settings or load_settings()
    spark = spark or get_spark("citylake-dbt")
    clock = time.perf_counter()
    args = list(args or ["build", "--resource-type", "seed", "--resource-type", "model"])
    default = not any(a in args for a in ("--select", "-s", "--selector", "--exclude"))
    if default:
        # Descendants too: a fact keyed through the Splink crosswalk cannot build before
        # the crosswalks exist; they are linked next and built in a second invocation.
        args += ["--exclude", f"tag:{EXCLUDE_TAG}+", "tag:spark_output"]
    env = dbt_env(settings, TARGET)
    env["DBT_TARGET_PATH"] = str(spark_target_dir(settings))
    if project_dir is not None:  # another project (tests), with its profiles.yml
        env.update(DBT_PROJECT_DIR=str(project_dir), DBT_PROFILES_DIR=str(project_dir))
    command = [*args, "--target", TARGET]
    with _environment(env):
        parsed = dbtRunner().invoke(["parse", "--target", TARGET])
        if not parsed.success:
            raise DbtError(f"dbt parse failed on the spark target: {parsed.exception}")
        manifest = json.loads((spark_target_dir(settings) / "manifest.json").read_text())
        tables = prepare_session(spark, settings, manifest)
        log.info("sources on Spark: %d tables (%s)", len(tables), ", ".join(sorted(tables)))
        with _varchar_as_string():
            outcomes = [(command, dbtRunner().invoke(command))]
            if default and outcomes[0][1].success and link_entities(spark, settings, manifest):
                second = [*ENTITY_BUILD, "--target", TARGET]
                outcomes.append((second, dbtRunner().invoke(second)))
    seconds = time.perf_counter() - clock
    result = BuildResult(command=["dbt", *command], seconds=round(seconds, 2))
    failures: list[str] = []
    nodes = [n for _, o in outcomes for n in (getattr(o.result, "results", None) or [])]
    for node in nodes:
        status = str(node.status)
        result.status_counts[status] = result.status_counts.get(status, 0) + 1
        unique_id = node.node.unique_id
        if unique_id.startswith("model.") and status == "success":
            result.models.append(node.node.name)
        elif unique_id.startswith("test."):
            if status == "pass":
                result.tests_passed += 1
            elif status in {"fail", "error"}:
                result.tests_failed += 1
        if status in {"error", "fail"}:
            failures.append(f"{unique_id}: {status}: {(node.message or '').strip()[:500]}")
    for invoked, outcome in outcomes:
        if not outcome.success:
            detail = "\n".join(failures) or repr(outcome.exception)
            raise DbtError(f"`dbt {' '.join(invoked)}` failed on Spark:\n{detail}")
    return result
