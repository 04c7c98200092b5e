"""``citylake catalog list|validate|dbt-sources``: the source catalog."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from citylake.cli.output import console

catalog_app = typer.Typer(help="The source catalog.", no_args_is_help=True)


@catalog_app.command("list")
def catalog_list() -> None:
    """List the declared sources."""
    from citylake.catalog import default_catalog

    table = Table("id", "department", "connector", "cadence", "share", "fields")
    for s in default_catalog().values():
        table.add_row(
            s.id, s.department, s.connector.kind, s.cadence, s.share.kind, str(len(s.fields))
        )
    console.print(table)


@catalog_app.command("validate")
def catalog_validate(
    directory: str = typer.Argument(None, help="folder of *.yaml (default: the package's)"),
) -> None:
    """Validate source declarations; errors name file and field."""
    from citylake.catalog import CATALOG_DIR, CatalogError, load_catalog

    try:
        found = load_catalog(Path(directory) if directory else CATALOG_DIR)
    except CatalogError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"[green]{len(found)} source declarations valid[/green]")


@catalog_app.command("dbt-sources")
def catalog_dbt_sources(
    check: bool = typer.Option(
        False, help="only compare: exit 1 naming the files that differ from the catalog"
    ),
) -> None:
    """Write the dbt project's bronze source declarations from the catalog."""
    from citylake.catalog import default_catalog
    from citylake.catalog.dbt_sources import stale_files, write_sources
    from citylake.settings import load_settings

    models = load_settings().dbt_project_dir / "models"
    catalog = default_catalog()
    if check:
        stale = stale_files(catalog, models)
        for path in stale:
            console.print(f"[red]{path} differs from the catalog[/red]")
        if stale:
            console.print("run `citylake catalog dbt-sources` and commit the result")
            raise typer.Exit(1)
        console.print("[green]dbt sources match the catalog[/green]")
        return
    for path in write_sources(catalog, models):
        console.print(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.add_typer(catalog_app, name="catalog")
