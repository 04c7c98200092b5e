"""``citylake dashboards roles``: Superset roles and row-level security from the marts."""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from citylake.cli.dashboards import dashboards_app
from citylake.cli.output import console


class DemoUsers(StrEnum):
    none = "none"
    demo = "demo"


@dashboards_app.command("roles")
def roles_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show what would change, change nothing")
    ] = False,
    users: Annotated[
        DemoUsers,
        typer.Option(help="'demo': also create one demo user per role (demo_<role>)"),
    ] = DemoUsers.none,
    demo_password: Annotated[
        str | None,
        typer.Option(help="password of demo users created now (default: generated, shown once)"),
    ] = None,
) -> None:
    """Derive Superset roles (departments, district offices, Planner, EmergencyManager,
    DataEngineer) and RLS filters from the published access policy and apply them."""
    from citylake.serving.superset import SupersetError
    from citylake.serving.superset_roles import apply_roles

    # apply_roles logs its warnings for the pipeline; here they are printed below instead.
    logging.getLogger("citylake.serving.superset_roles").addHandler(logging.NullHandler())
    try:
        report = apply_roles(dry_run=dry_run, users=users.value, demo_password=demo_password)
    except (SupersetError, FileNotFoundError) as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(1) from exc

    verb = "would change" if dry_run else "changed"
    table = Table(title="Superset roles" + (" (dry run)" if dry_run else ""))
    table.add_column("role", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("datasets", justify="right", no_wrap=True)
    table.add_column("RLS", justify="right", no_wrap=True)
    table.add_column("SQL Lab", no_wrap=True)
    table.add_column(verb)
    for outcome in report.roles:
        table.add_row(
            escape(outcome.role),
            outcome.kind,
            str(outcome.datasets),
            str(outcome.rls_filters),
            "yes" if outcome.sqllab else "no",
            escape("; ".join(outcome.changes)) or "-",
        )
    console.print(table)
    for line in report.removed:
        console.print(f"{verb}: {escape(line)}")
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    if report.demo_password and demo_password is None:
        console.print(f"demo users created; their password (shown once): {report.demo_password}")
    roles_changed = sum(1 for outcome in report.roles if outcome.changes)
    console.print(
        f"{verb}: {roles_changed} of {len(report.roles)} roles, {len(report.removed)} removals"
        if report.changed
        else "no changes"
    )
