"""Where the warehouse build's citizen crosswalk runs Splink (``CITYLAKE_ENTITY_BACKEND``).

``duckdb`` (default): Splink's own in-process DuckDB inside the dbt Python model.
``spark``: Splink's Spark backend on the process's Spark session, for a city whose
candidate pairs outgrow one process; the crosswalk is the same (``tests/test_dbt_spark.py``
compares the two engines mention by mention).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from citylake.settings import Settings

BACKENDS = ("duckdb", "spark")


def splink_backend(settings: Settings) -> Callable[[], Any] | None:
    """None for Splink's in-process DuckDB, or a factory of Splink's Spark backend."""
    backend = settings.entity_backend
    if backend not in BACKENDS:
        raise ValueError(f"CITYLAKE_ENTITY_BACKEND={backend!r}: expected one of {BACKENDS}")
    if backend == "duckdb":
        return None

    def spark_api() -> Any:
        from citylake.entities.citizen_model import spark_db_api
        from citylake.entities.on_spark import checkpoints
        from citylake.warehouse.spark_session import get_spark

        return spark_db_api(get_spark("citylake-entities"), checkpoints(settings))

    return spark_api
