"""``citylake generate``: write the demo city into its source systems, with ground truth.

Defaults come from settings at call time (not at import), so ``CITYLAKE_DEMO_*``
variables set after import still apply, and ``generate_command()`` can be called
directly from Python (``citylake demo`` does) with the same defaults as the CLI.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from citylake.settings import load_settings

console = Console()


def generate_command(
    scale: Annotated[
        float, typer.Option(help="size factor: citizens, centers, gauges, complaints")
    ] = 1.0,
    days: Annotated[
        int | None, typer.Option(help="days to generate (default: CITYLAKE_DEMO_DAYS)")
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="first day, YYYY-MM-DD (default: CITYLAKE_DEMO_START)")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="random seed (default: CITYLAKE_DEMO_SEED)")
    ] = None,
) -> None:
    """Generate the demo city into the sources root and its ground truth into the truth root."""
    from citylake.democity import generate_city

    settings = load_settings()
    try:
        first_day = date.fromisoformat(start) if start else settings.demo_start
    except ValueError as exc:
        raise typer.BadParameter(f"--start must be YYYY-MM-DD, got {start!r}") from exc
    report = generate_city(
        settings.sources_root,
        settings.truth_root,
        seed=settings.demo_seed if seed is None else seed,
        days=settings.demo_days if days is None else days,
        start=first_day,
        scale=scale,
    )
    table = Table("source", "records", "files", "seconds", title="Demo city generated")
    for source_id, count in report.records.items():
        table.add_row(
            source_id,
            f"{count:,}",
            str(len(report.files.get(source_id, []))),
            f"{report.step_seconds.get(source_id, 0):.2f}",
        )
    truth_rows = sum(report.truth_records.values())
    table.add_row(
        "[dim]ground truth[/dim]",
        f"{truth_rows:,}",
        str(len(report.files.get("truth", []))),
        f"{report.step_seconds.get('truth', 0):.2f}",
    )
    console.print(table)
    console.print(
        f"{report.days} days from {report.start}, seed {report.seed}, scale {report.scale:g}: "
        f"{report.files_written} files in {report.seconds:.1f}s.\n"
        f"Sources in {settings.sources_root}\nTruth in {settings.truth_root}"
    )


sources_app = typer.Typer(help="The demo city's source systems.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    from citylake.democity.api_server import serve_command

    app.command(
        "generate", help="Generate the demo city into its source systems (with ground truth)."
    )(generate_command)
    sources_app.command("serve")(serve_command)
    app.add_typer(sources_app, name="sources")
