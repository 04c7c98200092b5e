"""Departments' ad-hoc SQL on the serving warehouse, checked against the access policy.

The statement is parsed with sqlglot (DuckDB dialect) and must be exactly one query
(SELECT, possibly with CTEs, subqueries and set operations). Every table reference is
resolved to ``schema.table`` (CTE names only where the CTE is in scope; quoting and case
do not matter: DuckDB matches identifiers case-insensitively) and each must be readable
by the department. Table functions (``read_parquet``, ``query_table``...) and functions
that reach outside the warehouse are refused. Row filters are applied by replacing the
table with a filtered subquery, and what runs is the SQL regenerated from the checked
tree (without comments), never the submitted text. The connection is also read-only
with external access disabled, so a gap in these checks still cannot read files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from citylake.serving.access import AccessDenied, AccessPolicy

DEFAULT_SCHEMA = "marts"
DATABASE_NAMES = frozenset({"serving"})
# Statement kinds that are never part of a query, wherever they appear in the tree.
_FORBIDDEN_NODES: tuple[type[exp.Expression], ...] = tuple(
    getattr(exp, name)
    for name in (
        "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "Command", "Copy",
        "Attach", "Detach", "Pragma", "Set", "Use", "Transaction", "Commit", "Rollback",
        "Describe", "LoadData", "Install", "Export", "Summarize", "Into",
    )
    if hasattr(exp, name)
)  # fmt: skip
# Scalar functions that read the environment, settings or files.
_FORBIDDEN_FUNCTIONS = frozenset(
    {"getenv", "current_setting", "getvariable", "load_extension", "glob", "sniff_csv"}
)
_FORBIDDEN_PREFIXES = ("read_", "duckdb_", "pragma_", "query", "parquet_", "iceberg_", "delta_")


class QueryRejected(ValueError):
    """The SQL is not a single, plain query."""


@dataclass(frozen=True)
class CheckedQuery:
    sql: str  # what will run
    tables: list[str]  # schema.table read, sorted
    filtered: list[str]  # tables a row filter was applied to


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    return node.sql_name().lower()


def _visible_ctes(table: exp.Table) -> set[str]:
    """CTE names in scope at ``table``: walk up to each WITH that encloses it."""
    names: set[str] = set()
    child: exp.Expression = table
    parent = table.parent
    while parent is not None:
        # sqlglot names the arg "with_" (older releases: "with").
        with_ = (
            parent.args.get("with_", parent.args.get("with"))
            if isinstance(parent, exp.Query)
            else None
        )
        if isinstance(with_, exp.With):
            ctes = list(with_.expressions)
            inside = next((i for i, c in enumerate(ctes) if c is child), None)
            if inside is None:
                names.update(c.alias_or_name.lower() for c in ctes)
            else:
                # A CTE sees the ones before it (and itself when recursive).
                upto = inside + 1 if with_.args.get("recursive") else inside
                names.update(c.alias_or_name.lower() for c in ctes[:upto])
        child, parent = parent, parent.parent
    return names


def _resolve(table: exp.Table) -> str:
    catalog = table.catalog.lower() if table.catalog else ""
    if catalog and catalog not in DATABASE_NAMES:
        raise AccessDenied(f"database {table.catalog!r} is not the serving warehouse")
    schema = table.db.lower() if table.db else DEFAULT_SCHEMA
    return f"{schema}.{table.name.lower()}"


def check_query(sql: str, department: str, policy: AccessPolicy) -> CheckedQuery:
    """Validate ``sql`` for ``department``; return the SQL to run. Raises on any violation."""
    policy.check_department(department)
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        raise QueryRejected(f"not valid SQL: {exc}") from exc
    if len(statements) != 1:
        raise QueryRejected(f"exactly one statement allowed, got {len(statements)}")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise QueryRejected(f"only SELECT queries are allowed, not {tree.key.upper()}")

    for node in tree.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            raise QueryRejected(f"{node.key.upper()} is not allowed in a query")
        if isinstance(node, exp.Func):
            name = _function_name(node)
            if name in _FORBIDDEN_FUNCTIONS or name.startswith(_FORBIDDEN_PREFIXES):
                raise QueryRejected(f"function {name}() is not allowed")

    readable = policy.readable(department)
    read: set[str] = set()
    filtered: set[str] = set()
    for table in list(tree.find_all(exp.Table)):
        if not isinstance(table.this, exp.Identifier):
            raise QueryRejected(f"table functions are not allowed: {table.this.sql('duckdb')}")
        if not table.db and not table.catalog and table.name.lower() in _visible_ctes(table):
            continue
        name = _resolve(table)
        if name not in readable:
            why = "does not exist or is not shared with"
            if name in policy.tables:
                why = f"is {policy.tables[name].share_class} and not readable by"
            raise AccessDenied(f"table {name} {why} department {department}")
        read.add(name)
        schema, bare = name.split(".")
        qualified = exp.table_(bare, db=schema, quoted=True)
        predicate = readable[name]
        if predicate:
            filtered.add(name)
            alias = table.alias or bare
            subquery = (
                exp.select("*")
                .from_(qualified)
                .where(sqlglot.parse_one(predicate, read="duckdb"))
                .subquery(exp.to_identifier(alias, quoted=True))
            )
            table.replace(subquery)
        else:
            qualified.set("alias", table.args.get("alias"))
            table.replace(qualified)
    run_sql = tree.sql(dialect="duckdb", comments=False)
    return CheckedQuery(sql=run_sql, tables=sorted(read), filtered=sorted(filtered))


def connect_serving(serving_db: Path) -> Any:
    """A read-only connection that cannot touch files, extensions or settings."""
    import duckdb

    if not serving_db.exists():
        raise FileNotFoundError(f"{serving_db} does not exist: publish the warehouse first")
    con = duckdb.connect(
        str(serving_db),
        read_only=True,
        config={
            "enable_external_access": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        },
    )
    con.execute("SET lock_configuration = true")
    return con


def run_query(
    sql: str, department: str, policy: AccessPolicy, serving_db: Path
) -> tuple[list[str], list[tuple[Any, ...]], CheckedQuery]:
    """Check and run ``sql`` as ``department``: (column names, rows, what was checked)."""
    checked = check_query(sql, department, policy)
    con = connect_serving(serving_db)
    try:
        cursor = con.execute(checked.sql)
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    finally:
        con.close()
    return columns, rows, checked
