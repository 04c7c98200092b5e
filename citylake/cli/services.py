"""``citylake up|down``: the local Airflow and Superset services."""

from __future__ import annotations

import typer


def up() -> None:
    """Start Airflow (api-server + scheduler + dag-processor) and Superset on 127.0.0.1."""
    from citylake.orchestration import services

    services.up()


def down() -> None:
    """Stop what `citylake up` started."""
    from citylake.orchestration import services

    services.down()


def register(app: typer.Typer) -> None:
    app.command("up")(up)
    app.command("down")(down)
