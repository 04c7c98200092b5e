"""The warehouse: dbt builds (DuckDB by default, Spark as a second target), exports for
the Spark jobs, and the published serving file readers open.

Public surface below; ``duckdb_plugin`` is loaded by dbt-duckdb (profiles.yml),
``spark_session`` gives the Spark jobs their session, ``spark_target`` builds the dbt
project on Spark. May import: ``catalog``, ``settings``, ``lake``, ``serving`` (access
policy and pseudonym key for publish and dbt's environment). Never ``quality`` or
``landing``: the pipeline composes those steps (``orchestration.pipeline``).
"""

from citylake.warehouse.dbt import (
    MAIN_BUILD,
    BuildResult,
    DbtError,
    dbt_env,
    dbt_executable,
    docs_index,
    generate_docs,
    last_results,
    run_dbt,
    target_dir,
)
from citylake.warehouse.publish import export_for_spark, exported_models, publish

__all__ = [
    "MAIN_BUILD",
    "BuildResult",
    "DbtError",
    "dbt_env",
    "dbt_executable",
    "docs_index",
    "export_for_spark",
    "exported_models",
    "generate_docs",
    "last_results",
    "publish",
    "run_dbt",
    "target_dir",
]
