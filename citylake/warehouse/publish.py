"""Readers never open the file dbt writes: exports for Spark and the published serving file.

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
from pathlib import Path

from citylake.lake import replace_dir
from citylake.settings import Settings, load_settings
from citylake.warehouse.dbt import target_dir

log = logging.getLogger(__name__)


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

    Only the served schemas are copied (citylake.serving.access): raw bronze, staging and the
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
    from citylake.serving.access import copy_served_schemas, write_policy

    served = copy_served_schemas(settings.build_db, staged)
    # Who may read what, from the marts' meta; written first, so invalid meta fails the
    # publish and readers keep the previous warehouse with its policy.
    write_policy(target_dir(settings) / "manifest.json", settings.serving_db, set(served))
    os.replace(staged, settings.serving_db)
    log.info("published %s -> %s", settings.build_db, settings.serving_db)
    return settings.serving_db
