"""``citylake query --as DEPARTMENT "SQL"``: a department's read of the serving warehouse."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()
errors = Console(stderr=True)


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def query_command(
    sql: Annotated[str, typer.Argument(help="one SELECT query")],
    department: Annotated[
        str, typer.Option("--as", help="the department querying (its access role)")
    ],
    output: Annotated[OutputFormat, typer.Option("--format", help="output format")] = (
        OutputFormat.table
    ),
    limit: Annotated[int, typer.Option(help="rows shown in table format")] = 100,
) -> None:
    """Query the published warehouse as a department; only tables it may read, filtered."""
    from citylake.serving.access import AccessDenied, load_policy
    from citylake.serving.sql_guard import QueryRejected, run_query
    from citylake.settings import load_settings

    settings = load_settings()
    try:
        policy = load_policy(settings.serving_db)
        columns, rows, checked = run_query(sql, department, policy, settings.serving_db)
    except (AccessDenied, QueryRejected) as exc:
        errors.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(2) from exc
    except FileNotFoundError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc

    if output is OutputFormat.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    elif output is OutputFormat.json:
        records = [{c: _jsonable(v) for c, v in zip(columns, row, strict=True)} for row in rows]
        sys.stdout.write(json.dumps(records, ensure_ascii=False, indent=1) + "\n")
    else:
        table = Table(*columns)
        for row in rows[:limit]:
            table.add_row(*("" if v is None else str(v) for v in row))
        console.print(table)
        note = f"{len(rows)} rows as {department} from {', '.join(checked.tables) or 'no table'}"
        if checked.filtered:
            note += f" (row filter on {', '.join(checked.filtered)})"
        if len(rows) > limit:
            note += f"; first {limit} shown"
        errors.print(note)


def build_other_target(target: str) -> None:
    """``citylake build --target spark``: the same dbt project built on local Spark."""
    if target != "spark":
        errors.print(f"[red]unknown target {target!r}: duckdb or spark[/red]")
        raise typer.Exit(2)
    from citylake.warehouse.dbt import DbtError
    from citylake.warehouse.spark_target import build_on_spark

    try:
        result = build_on_spark()
    except DbtError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(
        f"dbt on Spark: {len(result.models)} models, {result.tests_passed} tests passed "
        f"({result.tests_failed} failed) in {result.seconds}s"
    )


def docs_command() -> None:
    """Generate dbt's documentation with the lineage graph (after a build); print its path."""
    from citylake.warehouse.dbt import DbtError, generate_docs

    try:
        page = generate_docs()
    except DbtError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"dbt docs (lineage graph): {page}")


def lint_sql_command(
    paths: Annotated[
        list[str] | None, typer.Argument(help="files/folders under dbt_project")
    ] = None,
    fix: Annotated[bool, typer.Option(help="apply sqlfluff's fixes")] = False,
) -> None:
    """sqlfluff on the dbt project (dbt templater, duckdb target, this home's lake)."""
    import subprocess
    from pathlib import Path

    from citylake.settings import load_settings
    from citylake.warehouse.dbt import dbt_env

    settings = load_settings()
    env = dbt_env(settings)
    # Its own target dir: linting never replaces the manifest publish reads.
    env["DBT_TARGET_PATH"] = str(settings.home / "dbt" / "target-lint")
    sqlfluff = Path(sys.executable).parent / "sqlfluff"
    command = [str(sqlfluff), "fix" if fix else "lint", *(paths or ["models", "tests"])]
    proc = subprocess.run(command, cwd=settings.dbt_project_dir, env=env, check=False)
    raise typer.Exit(proc.returncode)


def register(app: typer.Typer) -> None:
    app.command("query")(query_command)
    # `citylake docs` (this command) and `citylake docs serve`: citylake.cli.docs_serve.
    app.command("lint-sql")(lint_sql_command)
