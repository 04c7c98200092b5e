"""``citylake docs [serve]``: dbt's documentation, and both documentation sites served offline.

``citylake docs`` generates dbt's docs as before; ``citylake docs serve`` serves GX Data
Docs at ``/quality/`` and dbt's docs at ``/dbt/`` on 127.0.0.1 (``make up`` starts it),
with their CSS/JS vendored from docs_assets/ so nothing loads from a CDN.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from citylake.cli.output import console

errors = Console(stderr=True)

docs_app = typer.Typer(
    help="Documentation: dbt's docs (no subcommand), or serve them with GX Data Docs (serve).",
    invoke_without_command=True,
)


@docs_app.callback()
def docs(ctx: typer.Context) -> None:
    """Generate dbt's documentation with the lineage graph (after a build); print its path."""
    if ctx.invoked_subcommand is None:
        from citylake.cli.query import docs_command

        docs_command()


@docs_app.command("serve")
def serve_command(
    port: Annotated[
        int | None, typer.Option(help="port on 127.0.0.1 (default CITYLAKE_DOCS_PORT, 8090)")
    ] = None,
) -> None:
    """Serve GX Data Docs (/quality/) and dbt docs (/dbt/) on 127.0.0.1, fully offline."""
    import logging

    from citylake.serving import docs_server
    from citylake.serving.docs_site import DocsAssetError

    # A line per request and per localization pass: into the log file under `make up`.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        docs_server.serve(
            port=port,
            on_ready=lambda url: console.print(
                f"GX Data Docs {url}/quality/   dbt docs {url}/dbt/   (Ctrl-C stops)"
            ),
        )
    except DocsAssetError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


def register(app: typer.Typer) -> None:
    app.add_typer(docs_app, name="docs")
