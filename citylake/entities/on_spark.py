"""The crosswalks at scale: Splink on Spark, written to the lake for the Spark warehouse.

dbt-spark's ``session`` method cannot run the crosswalks' dbt Python models, so the Spark
build (:func:`citylake.warehouse.spark_target.build_on_spark`) links between two dbt
invocations: after the mentions are built on Spark, :func:`link_on_spark` links them
(enterprises deterministically, citizens with Splink's Spark backend and the same
settings as on DuckDB), writes each crosswalk to ``<lake>/silver/entities/<model>/`` and
the build registers those folders as the tables the Python models would have made, so
the goldens, dimensions and every fact joining a crosswalk build on Spark too.

The DuckDB warehouse build (the warehouse DAG's ``dbt_build``) links in its dbt Python
models; with ``CITYLAKE_ENTITY_BACKEND=spark`` their Splink runs on the Spark session
instead of in-process DuckDB (``citylake.warehouse.entity_backend``), for a city whose
pairs outgrow one process.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from citylake.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

CITIZENS, ENTERPRISES = "int_citizen_crosswalk", "int_enterprise_crosswalk"


def checkpoints(settings: Settings) -> str:
    """Where Splink's Spark backend checkpoints (it breaks long lineages)."""
    return str(settings.home / "spark" / "checkpoints" / "splink")


def crosswalk_folder(settings: Settings, model: str) -> Path:
    return settings.lake_root / "silver" / "entities" / model


def _write(frame: pd.DataFrame, folder: Path) -> Path:
    """Replace the folder's one Parquet file in one step (readers see old or new)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "data.parquet"
    staged = folder / f".data.parquet.{os.getpid()}.partial"
    frame.to_parquet(staged, index=False)
    os.replace(staged, target)
    return target


def _drop_splink_views(spark: SparkSession) -> None:
    """Splink leaves its working tables as temporary views; they would show in every
    ``show tables`` of the session."""
    for table in spark.catalog.listTables():
        if table.isTemporary and table.name.startswith("__splink__"):
            spark.catalog.dropTempView(table.name)


def link_on_spark(
    spark: SparkSession,
    settings: Settings,
    person_mentions: pd.DataFrame,
    enterprise_mentions: pd.DataFrame,
) -> dict[str, Path]:
    """Link both kinds of mention (citizens on Splink's Spark backend) and write the
    crosswalks to the lake; returns model -> written file."""
    from citylake.entities.citizen_model import spark_db_api
    from citylake.entities.citizens import link_citizens
    from citylake.entities.enterprises import link_enterprises

    clock = time.perf_counter()
    firms = link_enterprises(enterprise_mentions)
    # Splink's checkpoints are scratch for this link only: a folder of its own, removed after.
    scratch = Path(checkpoints(settings)) / f"build-{uuid.uuid4().hex[:12]}"
    try:
        citizens = link_citizens(
            person_mentions,
            db_api_factory=lambda: spark_db_api(spark, str(scratch)),
            firms=firms[["source_id", "record_key", "role", "enterprise_key"]],
        )
    finally:
        _drop_splink_views(spark)
        shutil.rmtree(scratch, ignore_errors=True)
    written = {
        ENTERPRISES: _write(firms, crosswalk_folder(settings, ENTERPRISES)),
        CITIZENS: _write(citizens, crosswalk_folder(settings, CITIZENS)),
    }
    log.info(
        "crosswalks on Spark in %.1fs: %d citizen mentions -> %d citizens, "
        "%d enterprise mentions -> %d enterprises",
        time.perf_counter() - clock,
        len(citizens),
        citizens["citizen_key"].nunique(),
        len(firms),
        firms["enterprise_key"].nunique(),
    )
    return written
