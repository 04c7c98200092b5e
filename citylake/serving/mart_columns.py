"""The served marts as dbt declares them: tables, columns, types and descriptions read from
dbt's manifest (the marts' enforced contracts), so Superset's datasets never drift from
the warehouse by hand."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

SERVING_SCHEMA = "marts"
# dbt contract data types -> the DuckDB type names Superset sees in the serving file.
_TYPES = {
    "string": "VARCHAR",
    "varchar": "VARCHAR",
    "text": "VARCHAR",
    "integer": "INTEGER",
    "int": "INTEGER",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "float": "DOUBLE",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
}


class ManifestError(FileNotFoundError):
    """dbt's manifest is missing or holds no served marts; the message says what to run."""


@dataclass(frozen=True)
class Mart:
    name: str
    description: str
    columns: dict[str, str]  # column -> DuckDB type, in contract order
    column_descriptions: dict[str, str] = field(default_factory=dict)
    share_class: str = ""


def duckdb_type(data_type: str) -> str:
    base = data_type.strip().lower().split("(")[0]
    return _TYPES.get(base, "DOUBLE" if base in ("decimal", "numeric") else base.upper())


def served_marts(manifest_path: Path) -> dict[str, Mart]:
    """Every model of the served schema in the manifest, with its contract's columns."""
    if not manifest_path.exists():
        raise ManifestError(
            f"no dbt manifest at {manifest_path}: build the warehouse first "
            "(`citylake build` or `make demo`)"
        )
    nodes = json.loads(manifest_path.read_text(encoding="utf-8"))["nodes"].values()
    marts = {}
    for node in nodes:
        if node.get("resource_type") != "model" or node.get("schema") != SERVING_SCHEMA:
            continue
        columns = node.get("columns") or {}
        marts[node["name"]] = Mart(
            name=node["name"],
            description=" ".join((node.get("description") or "").split()),
            columns={
                name: duckdb_type(col.get("data_type") or "varchar")
                for name, col in columns.items()
            },
            column_descriptions={
                name: " ".join((col.get("description") or "").split())
                for name, col in columns.items()
                if col.get("description")
            },
            share_class=str((node.get("config", {}).get("meta") or {}).get("share_class", "")),
        )
    if not marts:
        raise ManifestError(f"{manifest_path} declares no model in schema {SERVING_SCHEMA!r}")
    return marts
