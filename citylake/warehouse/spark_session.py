"""The one way citylake starts Spark, and the one way Spark jobs publish their output.

Airflow DAG modules import this file while parsing, so pyspark is imported inside the
functions only: parsing a DAG must not pay for (or depend on) a JVM.

Timestamps are interpreted in the session zone (Asia/Shanghai) by SQL, parquet and the
Arrow paths (``createDataFrame(pandas_df)``, ``toPandas``, ``applyInPandas``), but
``Row``-based ``createDataFrame`` and ``collect()`` use the OS zone of the Python process.
Move timestamps between Python and Spark through pandas.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from citylake.settings import load_settings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

SESSION_TIME_ZONE = "Asia/Shanghai"


def splink_jar() -> str | None:
    """Splink's similarity UDFs (Jaro-Winkler on Spark), shipped inside its wheel: found
    without importing Splink, so starting Spark does not pay for it."""
    import importlib.util

    spec = importlib.util.find_spec("splink")
    if spec is None or spec.origin is None:
        return None
    jars = sorted((Path(spec.origin).parent / "internals/files/spark_jars").glob("*spark4.x.jar"))
    return str(jars[-1]) if jars else None


def get_spark(app_name: str) -> SparkSession:
    """Return the process's Spark session, creating it from settings on first use.

    ``getOrCreate`` lets several Airflow tasks running in one process share one JVM;
    for an existing session only runtime SQL options can still change.
    """
    from pyspark.sql import SparkSession

    settings = load_settings()
    spark_home = settings.home / "spark"
    local_dir = spark_home / "local"
    warehouse_dir = spark_home / "warehouse"
    derby_dir = spark_home / "derby"
    for directory in (local_dir, warehouse_dir, derby_dir):
        directory.mkdir(parents=True, exist_ok=True)

    # Python workers are started with this interpreter; any other one lacks pandas/pyarrow
    # and every applyInPandas fails on import.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    # Spark otherwise picks the first non-loopback interface for the driver; this platform
    # runs on loopback unless a cluster is configured (CITYLAKE_SPARK_DRIVER_HOST).
    driver_host = settings.spark_driver_host
    os.environ.setdefault("SPARK_LOCAL_IP", driver_host)

    builder = (
        SparkSession.builder.appName(app_name)
        .master(settings.spark_master)
        .config("spark.driver.memory", settings.spark_driver_memory)
        .config("spark.pyspark.python", sys.executable)
        .config("spark.pyspark.driver.python", sys.executable)
        # Source timestamps are Chinese wall-clock times; one zone for parsing and display.
        .config("spark.sql.session.timeZone", SESSION_TIME_ZONE)
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", driver_host)
        .config("spark.driver.bindAddress", driver_host)
        # Progress bars garble Airflow task logs.
        .config("spark.ui.showConsoleProgress", "false")
        # The default of 200 partitions makes every small shuffle slow on a laptop.
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # Keep scratch, warehouse and a possible Derby metastore out of the working directory.
        .config("spark.local.dir", str(local_dir))
        .config("spark.sql.warehouse.dir", str(warehouse_dir))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={derby_dir}")
    )
    jar = splink_jar()
    if jar:  # the entity linker's Splink comparisons on Spark
        builder = builder.config("spark.jars", jar)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    return session


def write_parquet_atomically(df: DataFrame, path: Path) -> int:
    """Write ``df`` as a parquet folder at ``path`` and return its row count.

    Timestamp columns are written as wall-clock local time (TIMESTAMP_NTZ in the session
    zone), the convention of every table in the lake.

    Spark writes into a hidden sibling folder first; only a finished write is renamed to
    ``path``, so a reader finds the old complete output, the new complete output, or (for
    the instant between the two renames) no folder at all, never a partial one. A failed
    job removes its staging folder; a killed one leaves a hidden ``.<name>.tmp-*`` sibling,
    which no reader of ``path`` sees. Renames are only atomic on one local filesystem; object storage needs a table
    format instead.
    """
    import pyarrow.parquet as pq
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampType

    from citylake.lake import replace_dir

    # The lake keeps local wall-clock time (DuckDB TIMESTAMP, Spark TIMESTAMP_NTZ). A
    # session-zone TIMESTAMP would be stored as a UTC instant, which DuckDB and dbt show
    # 8 hours early.
    df = df.select(
        *(
            F.col(field.name).cast("timestamp_ntz").alias(field.name)
            if isinstance(field.dataType, TimestampType)
            else F.col(field.name)
            for field in df.schema.fields
        )
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    staging = path.parent / f".{path.name}.tmp-{token}"

    try:
        df.write.mode("errorifexists").parquet(str(staging))
        # Parquet footers hold the row counts: counting ``df`` would rerun the whole job,
        # and Spark's reader warns about (and is meant to skip) a dot-prefixed folder.
        rows = sum(pq.ParquetFile(part).metadata.num_rows for part in staging.glob("*.parquet"))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

    replace_dir(staging, path)
    return rows


def read_delta_snapshot(spark: SparkSession, path: Path) -> DataFrame | None:
    """A Delta table's current snapshot, read from its log's active Parquet files.

    Spark here has no Delta jars (nothing downloads at run time); the files the log says
    are live are exactly the committed snapshot, so a plain Parquet read of them is
    consistent. None when the table does not exist or holds no file yet.
    """
    from deltalake import DeltaTable

    if not (Path(path) / "_delta_log").is_dir():
        return None
    uris = DeltaTable(str(path)).file_uris()
    if not uris:
        return None
    # mergeSchema: columns added by later batches (schema evolution) stay readable.
    return spark.read.option("mergeSchema", "true").parquet(*uris)
