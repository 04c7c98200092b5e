"""The dbt project built on Spark (dbt-spark, session method) from the same bronze as DuckDB."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import duckdb
import macro_project
import pandas as pd
import pytest

from citylake.serving import pseudonym
from citylake.settings import Settings
from citylake.warehouse import spark_target as dbt_spark

PROJECT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def spark_build(spark, built_city: Settings) -> dict:
    result = dbt_spark.build_on_spark(settings=built_city, spark=spark)
    print(f"dbt on Spark: {len(result.models)} models in {result.seconds}s")
    return {"result": result, "settings": built_city, "spark": spark}


def test_spark_pseudonym_is_hmac_sha256(spark_build: dict) -> None:
    spark, settings = spark_build["spark"], spark_build["settings"]
    key = pseudonym.ensure_key(settings.home, "spark")
    for value in ["11010519491231002X", "张三", "13812345678"]:
        got = spark.sql(f"select {pseudonym.FUNCTION}('{value}') as p").toPandas()["p"][0]
        assert got == hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def test_access_macros_through_dbt_on_spark(spark, spark_build: dict, tmp_path: Path) -> None:
    """The same macros compiled by dbt-spark give the same values as Python (and DuckDB)."""
    settings = spark_build["settings"]
    root = macro_project.make_project(tmp_path / "project")
    dbt_spark.build_on_spark(["run"], settings=settings, spark=spark, project_dir=root)
    frame = spark.sql("select id, p, name_masked, phone_masked from main.access_macros").toPandas()
    got = {
        int(r.id): tuple(
            None if v is None else str(v) for v in (r.p, r.name_masked, r.phone_masked)
        )
        for r in frame.itertuples()
    }
    key = pseudonym.ensure_key(settings.home, "spark")
    assert got == macro_project.expected(key)


def test_bronze_tables_hold_only_the_active_delta_files(spark_build: dict) -> None:
    """A Delta table's folder also holds files removed from the table; Spark must not see them."""
    from deltalake import DeltaTable

    spark, settings = spark_build["spark"], spark_build["settings"]
    listed = spark.sql("show tables in bronze").collect()
    tables = sorted(r.tableName for r in listed if not r.isTemporary)
    assert len(tables) >= 20, tables
    for name in tables:
        path = settings.bronze_path(name)
        expected = DeltaTable(str(path)).to_pyarrow_table().num_rows
        counted = spark.sql(f"select count(*) as n from bronze.{name}").toPandas()["n"][0]
        assert counted == expected, name


def test_project_builds_on_spark_like_on_duckdb(spark_build: dict) -> None:
    result, settings, spark = spark_build["result"], spark_build["settings"], spark_build["spark"]
    assert result.models, "nothing was built on Spark"
    assert result.tests_failed == 0
    marts = {r.tableName for r in spark.sql("show tables in marts").collect()}
    con = duckdb.connect(str(settings.serving_db), read_only=True)
    try:
        duck = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
        compared = sorted(marts & duck)
        assert compared, f"no mart built on both engines (spark {marts}, duckdb {duck})"
        # The marts behind the crosswalks build on Spark too (once duckdb_only there).
        joined = {"dim_citizen", "dim_enterprise", "fct_queue_ticket", "fct_licence"}
        assert joined <= set(compared), joined - set(compared)
        for table in compared:
            on_duckdb = con.execute(f"select count(*) from marts.{table}").fetchone()[0]
            on_spark = spark.sql(f"select count(*) as n from marts.{table}").toPandas()["n"][0]
            assert on_spark == on_duckdb, (
                f"marts.{table}: Spark {on_spark} rows, DuckDB {on_duckdb}"
            )
    finally:
        con.close()
    print(f"{len(compared)} marts with equal row counts on both engines: {compared}")


def test_crosswalks_linked_on_spark_match_duckdb(spark_build: dict) -> None:
    """Splink on Spark (the Spark build's crosswalks, in the lake) links every mention to
    the same citizen or enterprise, by the same rule, as Splink on DuckDB did."""
    from citylake.entities.on_spark import CITIZENS, ENTERPRISES, checkpoints, crosswalk_folder

    settings = spark_build["settings"]
    con = duckdb.connect(str(settings.build_db), read_only=True)
    try:
        for model, key in ((ENTERPRISES, "enterprise_key"), (CITIZENS, "citizen_key")):
            on_duckdb = con.execute(
                f"select mention_id, {key}, match_rule from intermediate.{model}"
            ).df()
            on_spark = pd.read_parquet(crosswalk_folder(settings, model) / "data.parquet")
            both = on_duckdb.merge(on_spark, on="mention_id", suffixes=("_duckdb", "_spark"))
            assert len(both) == len(on_duckdb) == len(on_spark) > 0, model
            differ = both[
                (both[f"{key}_duckdb"] != both[f"{key}_spark"])
                | (both["match_rule_duckdb"] != both["match_rule_spark"])
            ]
            assert differ.empty, differ.head(10).to_string()
            rules = on_spark["match_rule"].value_counts().to_dict()
            print(f"{model}: {len(both)} mentions alike on both engines {rules}")
        # The probabilistic path really ran on Spark: some citizen mention (the loop's
        # last model) linked by Splink; its checkpoints were scratch, gone after the link.
        assert rules.get("splink", 0) > 0, rules
        assert not list(Path(checkpoints(settings)).glob("build-*"))
    finally:
        con.close()


def test_spark_leaves_no_metastore_in_the_repository(spark_build: dict) -> None:
    for leftover in ("metastore_db", "derby.log", "spark-warehouse"):
        assert not (PROJECT / leftover).exists(), leftover
        assert not (PROJECT / "dbt_project" / leftover).exists(), leftover


def test_entity_backend_setting_picks_splinks_database(
    spark, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CITYLAKE_ENTITY_BACKEND: the warehouse build's crosswalk runs Splink in process
    (duckdb, the default) or on the Spark session (spark); anything else is refused."""
    from citylake.settings import load_settings
    from citylake.warehouse.entity_backend import splink_backend

    monkeypatch.setenv("CITYLAKE_HOME", str(tmp_path))
    assert splink_backend(load_settings()) is None
    monkeypatch.setenv("CITYLAKE_ENTITY_BACKEND", "spark")
    factory = splink_backend(load_settings())
    assert factory is not None
    api = factory()
    assert type(api).__name__ == "SparkAPI" and api.spark is spark  # the process's session
    monkeypatch.setenv("CITYLAKE_ENTITY_BACKEND", "postgres")
    with pytest.raises(ValueError, match="CITYLAKE_ENTITY_BACKEND='postgres'"):
        splink_backend(load_settings())
