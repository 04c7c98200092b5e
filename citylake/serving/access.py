"""Who may read which warehouse table: the access policy, generated from dbt's manifest.

Every mart declares in its dbt config::

    meta:
      owner: <department id, as in the source catalog, or data_bureau>
      share_class: unconditional | conditional | not_shared
      allowed_departments: [...]   # conditional only: who besides the owner may read
      pii: [columns]               # columns holding personal data (pseudonyms, masks)
      row_filter: <SQL predicate> | {department: <SQL predicate>}   # optional
      district_offices: own_rows   # optional: each district office reads its district's rows

Readers follow from the class: unconditional = every department; conditional = the
owner and the departments named; not_shared = the owner only. ``row_filter`` restricts
the rows other readers see (a string applies to every reader but the owner). Models in
``district_offices: own_rows`` lets each district office (a dashboard role, not a
department) read the rows whose ``district_code`` is its own, whatever the class: the
hotline's work orders are the district's to handle. Models in
the ``restricted`` schema hold raw identifiers: no serving role reads them. Staging and
bronze are not served to anyone.

The policy is written as JSON next to serving.duckdb at publish; ``citylake query``
enforces it and the dashboards will map its roles onto Superset.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SHARE_CLASSES = ("unconditional", "conditional", "not_shared")
META_KEYS = frozenset(
    {"owner", "share_class", "allowed_departments", "pii", "row_filter", "district_offices"}
)
DISTRICT_COLUMN = "district_code"
OWN_ROWS = "own_rows"
# Keys other configs legitimately put into a mart's meta (not part of the access contract).
OTHER_META_KEYS = frozenset({"export_to_lake"})
SERVED_SCHEMAS = ("marts",)
RESTRICTED_SCHEMA = "restricted"
DATA_BUREAU = "data_bureau"
POLICY_FILE = "access_policy.json"


class AccessPolicyError(ValueError):
    """A mart's access meta is missing or invalid; the message names the model and key."""


class AccessDenied(PermissionError):
    """A department asked for something the policy does not let it read."""


@dataclass(frozen=True)
class TablePolicy:
    table: str  # schema.name, lower case
    owner: str
    share_class: str
    readers: list[str]
    pii: list[str] = field(default_factory=list)
    # department -> SQL predicate applied to that department's reads
    row_filters: dict[str, str] = field(default_factory=dict)
    # district offices read their own district's rows (``meta.district_offices: own_rows``)
    district_offices: bool = False


@dataclass(frozen=True)
class AccessPolicy:
    departments: list[str]
    tables: dict[str, TablePolicy]
    restricted: list[str] = field(default_factory=list)
    generated_at: str = ""

    def readable(self, department: str) -> dict[str, str | None]:
        """Tables ``department`` may read -> its row filter (None = every row)."""
        return {
            name: t.row_filters.get(department)
            for name, t in sorted(self.tables.items())
            if department in t.readers
        }

    def check_department(self, department: str) -> None:
        if department not in self.departments:
            raise AccessDenied(
                f"unknown department {department!r}; known: {', '.join(self.departments)}"
            )

    def to_json(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at,
            "departments": self.departments,
            "roles": {
                d: {
                    "tables": [
                        {"table": name, "row_filter": rf} for name, rf in self.readable(d).items()
                    ]
                }
                for d in self.departments
            },
            "tables": {name: asdict(t) for name, t in sorted(self.tables.items())},
            "restricted": self.restricted,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AccessPolicy:
        return cls(
            departments=list(data["departments"]),
            tables={name: TablePolicy(**t) for name, t in data["tables"].items()},
            restricted=list(data.get("restricted", [])),
            generated_at=data.get("generated_at", ""),
        )


def catalog_departments() -> list[str]:
    from citylake.catalog import default_catalog

    return sorted({s.department for s in default_catalog().values()} | {DATA_BUREAU})


def _model_meta(node: dict[str, Any]) -> dict[str, Any]:
    return dict(node.get("config", {}).get("meta") or node.get("meta") or {})


def _table_policy(node: dict[str, Any], departments: list[str]) -> TablePolicy:
    name = f"{node['schema']}.{node['alias'] or node['name']}".lower()
    where = f"model {node['name']} ({node.get('original_file_path', '?')})"
    meta = _model_meta(node)
    unknown = set(meta) - META_KEYS - OTHER_META_KEYS
    if unknown:
        raise AccessPolicyError(
            f"{where}: unknown meta keys {sorted(unknown)}; the access keys are {sorted(META_KEYS)}"
        )
    for key in ("owner", "share_class"):
        if not meta.get(key):
            raise AccessPolicyError(f"{where}: meta.{key} is missing (every mart declares it)")
    owner, share_class = meta["owner"], meta["share_class"]
    if owner not in departments:
        raise AccessPolicyError(f"{where}: meta.owner {owner!r} is not a department id")
    if share_class not in SHARE_CLASSES:
        raise AccessPolicyError(
            f"{where}: meta.share_class {share_class!r} is not one of {SHARE_CLASSES}"
        )
    allowed = list(meta.get("allowed_departments") or [])
    if share_class == "conditional" and not allowed:
        raise AccessPolicyError(f"{where}: conditional sharing needs meta.allowed_departments")
    if share_class != "conditional" and allowed:
        raise AccessPolicyError(
            f"{where}: meta.allowed_departments only applies to conditional, not {share_class}"
        )
    bad = sorted(set(allowed) - set(departments))
    if bad:
        raise AccessPolicyError(f"{where}: meta.allowed_departments {bad} are not department ids")
    columns = {c.lower() for c in node.get("columns", {})}
    pii = [str(c).lower() for c in meta.get("pii") or []]
    missing = sorted(set(pii) - columns) if columns else []
    if missing:
        raise AccessPolicyError(f"{where}: meta.pii names columns it does not document: {missing}")

    if share_class == "unconditional":
        readers = list(departments)
    elif share_class == "conditional":
        readers = sorted({owner, *allowed})
    else:
        readers = [owner]

    raw_filter = meta.get("row_filter")
    row_filters: dict[str, str] = {}
    if isinstance(raw_filter, str) and raw_filter.strip():
        row_filters = {d: raw_filter for d in readers if d != owner}
    elif isinstance(raw_filter, dict):
        outsiders = sorted(set(raw_filter) - set(readers))
        if outsiders:
            raise AccessPolicyError(f"{where}: meta.row_filter names non-readers {outsiders}")
        row_filters = {str(d): str(f) for d, f in raw_filter.items()}
    elif raw_filter is not None:
        raise AccessPolicyError(f"{where}: meta.row_filter must be a SQL predicate or a mapping")
    for department, predicate in row_filters.items():
        _check_predicate(predicate, f"{where}: meta.row_filter for {department}")
    offices = meta.get("district_offices")
    if offices not in (None, OWN_ROWS):
        raise AccessPolicyError(f"{where}: meta.district_offices must be {OWN_ROWS!r}")
    if offices and columns and DISTRICT_COLUMN not in columns:
        raise AccessPolicyError(
            f"{where}: meta.district_offices needs a documented {DISTRICT_COLUMN} column"
        )
    return TablePolicy(
        table=name,
        owner=owner,
        share_class=share_class,
        readers=readers,
        pii=pii,
        row_filters=row_filters,
        district_offices=offices == OWN_ROWS,
    )


def _check_predicate(predicate: str, where: str) -> None:
    """A row filter is a plain boolean expression: no subqueries, no statements."""
    import sqlglot
    from sqlglot import exp

    try:
        parsed = sqlglot.parse_one(predicate, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise AccessPolicyError(f"{where}: not a SQL predicate: {exc}") from exc
    if parsed.find(exp.Query, exp.Table) is not None:
        raise AccessPolicyError(f"{where}: a row filter may not contain queries or tables")


def build_policy(manifest: dict[str, Any], departments: list[str] | None = None) -> AccessPolicy:
    """The policy for every served model in ``manifest``; raise on a model without valid meta."""
    departments = departments or catalog_departments()
    tables: dict[str, TablePolicy] = {}
    restricted: list[str] = []
    errors: list[str] = []
    for node in manifest["nodes"].values():
        if node["resource_type"] not in {"model", "seed", "snapshot"}:
            continue
        schema = str(node["schema"]).lower()
        if schema == RESTRICTED_SCHEMA:
            restricted.append(f"{schema}.{node['alias'] or node['name']}".lower())
        elif schema in SERVED_SCHEMAS:
            try:
                policy = _table_policy(node, departments)
            except AccessPolicyError as exc:
                errors.append(str(exc))
                continue
            tables[policy.table] = policy
    if errors:
        raise AccessPolicyError("invalid access meta:\n  " + "\n  ".join(sorted(errors)))
    return AccessPolicy(
        departments=departments,
        tables=tables,
        restricted=sorted(restricted),
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def policy_path(serving_db: Path) -> Path:
    return serving_db.with_name(POLICY_FILE)


def write_policy(manifest_path: Path, serving_db: Path, served: set[str] | None = None) -> Path:
    """Generate the policy from the manifest and write it atomically next to serving_db.

    ``served``: the tables the serving file holds; marts not built (e.g. a Spark job's
    output not produced yet) are left out of the policy.
    """
    policy = build_policy(json.loads(manifest_path.read_text()))
    if served is not None:
        tables = {n: t for n, t in policy.tables.items() if n in served}
        policy = AccessPolicy(policy.departments, tables, policy.restricted, policy.generated_at)
    final = policy_path(serving_db)
    staged = final.with_name(final.name + ".staging")
    staged.write_text(json.dumps(policy.to_json(), indent=2, ensure_ascii=False) + "\n")
    staged.replace(final)
    return final


def load_policy(serving_db: Path) -> AccessPolicy:
    path = policy_path(serving_db)
    if not path.exists():
        raise FileNotFoundError(
            f"no access policy at {path}: publish the warehouse first (`citylake build`)"
        )
    return AccessPolicy.from_json(json.loads(path.read_text()))


def copy_served_schemas(build_db: Path, target: Path) -> dict[str, int]:
    """Write a new DuckDB file at ``target`` holding only the served schemas' tables.

    The serving file is what Superset and departments open: bronze, staging and
    restricted (raw identifiers) stay in the build file. A fresh file rather than a copy
    with schemas dropped, because DuckDB leaves dropped tables' bytes in free blocks.
    Table and column comments (dbt's persist_docs) are carried over. Returns rows per table.
    """
    import duckdb

    def literal(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    def ident(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    target.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    schemas = ", ".join(literal(s) for s in SERVED_SCHEMAS)
    with duckdb.connect(str(target)) as con:
        con.execute(f"attach {literal(str(build_db))} as build (read_only)")
        tables = con.execute(
            "select schema_name, table_name, comment from duckdb_tables() "
            f"where database_name = 'build' and schema_name in ({schemas}) order by all"
        ).fetchall()
        for schema, table, comment in tables:
            name = f"{ident(schema)}.{ident(table)}"
            con.execute(f"create schema if not exists {ident(schema)}")
            con.execute(f"create table {name} as select * from build.{name}")
            if comment:
                con.execute(f"comment on table {name} is {literal(comment)}")
            counts[f"{schema}.{table}"] = con.execute(f"select count(*) from {name}").fetchone()[0]
        column_comments = con.execute(
            "select schema_name, table_name, column_name, comment from duckdb_columns() "
            f"where database_name = 'build' and schema_name in ({schemas}) "
            "and comment is not null and comment <> ''"
        ).fetchall()
        for schema, table, column, comment in column_comments:
            if f"{schema}.{table}" in counts:
                con.execute(
                    f"comment on column {ident(schema)}.{ident(table)}.{ident(column)} "
                    f"is {literal(comment)}"
                )
        views = con.execute(
            "select schema_name || '.' || view_name from duckdb_views() "
            f"where database_name = 'build' and schema_name in ({schemas})"
        ).fetchall()
        if views:
            raise AccessPolicyError(
                f"served schemas may hold tables only (views would read unserved schemas): {views}"
            )
        con.execute("detach build")
        con.execute("checkpoint")
    return counts
