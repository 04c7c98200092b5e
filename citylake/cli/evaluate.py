"""``citylake evaluate ...``: the platform scored against the demo city's truth."""

from __future__ import annotations

import typer

evaluate_app = typer.Typer(
    help="Score the platform against the demo city's truth.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    # Importing the command modules attaches their commands to ``evaluate_app``.
    from citylake.cli import complaints_eval, entities, forecasts, warnings_eval  # noqa: F401

    app.add_typer(evaluate_app, name="evaluate")
