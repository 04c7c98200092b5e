"""The citylake command line (Typer + Rich): one module per command group, each with a
``register(app)`` that adds its commands."""

from __future__ import annotations

import typer

from citylake.cli import (
    alerts,
    catalog,
    dags,
    dashboards,
    docs_serve,
    evaluate,
    generate,
    lake,
    pipeline,
    quality,
    query,
    services,
    stream,
    warnings,
)

app = typer.Typer(
    help="citylake: the city data bureau's data platform.",
    no_args_is_help=True,
    add_completion=False,
)

for _group in (
    catalog,
    generate,
    pipeline,
    dags,
    stream,
    lake,
    query,
    quality,
    evaluate,
    alerts,
    warnings,
    dashboards,
    docs_serve,
    services,
):
    _group.register(app)

if __name__ == "__main__":
    app()
