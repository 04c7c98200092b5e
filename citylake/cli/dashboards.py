"""``citylake dashboards import|export|roles``: Superset assets and access as code."""

from __future__ import annotations

from pathlib import Path

import typer

from citylake.cli.output import console

dashboards_app = typer.Typer(
    help="Superset dashboards, datasets and roles as code (dashboards/).", no_args_is_help=True
)


@dashboards_app.command("import")
def import_command() -> None:
    """Load dashboards/ into Superset (updates what exists, matched by uuid)."""
    from citylake.serving import superset

    summary = superset.import_dashboards()
    for kind, found in summary.items():
        console.print(f"{kind}: {found['files']} files, {found['rows']} in Superset")


@dashboards_app.command("export")
def export_command(
    directory: Path | None = typer.Option(None, help="where to write (default: dashboards/)"),
) -> None:
    """Write what users changed in Superset's UI back into dashboards/ as YAML."""
    from citylake.serving.dashboards_export import export_dashboards

    report = export_dashboards(dashboards_dir=directory)
    console.print(
        f"charts changed {report.changed_charts or '-'}; new {report.new_charts or '-'}; "
        f"dashboards changed {report.changed_dashboards or '-'}; {report.unchanged} unchanged"
    )


def register(app: typer.Typer) -> None:
    # Importing the command modules attaches their commands to ``dashboards_app``.
    from citylake.cli import dashboards_roles  # noqa: F401

    app.add_typer(dashboards_app, name="dashboards")
