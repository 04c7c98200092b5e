"""`citylake quality ...`: the per-source quality summary and where the GX Data Docs are."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from citylake.settings import load_settings

quality_app = typer.Typer(
    help="Data quality: per-source summary, GX Data Docs.", no_args_is_help=True
)
console = Console()

_COLOURS = {"fresh": "green", "late": "yellow", "stale": "red", "never": "dim"}


def _pct(value: object) -> str:
    return "-" if value is None or value != value else f"{float(value):.1%}"  # NaN check


@quality_app.command("summary")
def summary_command(
    write: bool = typer.Option(True, help="also overwrite the lake table gold/quality_summary"),
    errors: bool = typer.Option(False, help="print each source's last error"),
) -> None:
    """Freshness and failure rates per catalog source, from the ingest ledger."""
    from citylake.landing import quality_summary

    settings = load_settings()
    frame = quality_summary.refresh(settings) if write else quality_summary.summarize(settings)
    table = Table(
        "source",
        "cadence",
        "last landed (UTC)",
        "freshness",
        "batches",
        "held",
        "received",
        "landed",
        "quarantined",
        "fail % all",
        f"fail % last {quality_summary.RECENT_BATCHES}",
        title=f"Source quality as of {frame['as_of'].iloc[0]:%Y-%m-%d %H:%M} UTC"
        if len(frame)
        else "",
    )
    for row in frame.itertuples():
        colour = _COLOURS[row.freshness]
        landed_at = (
            "-"
            if row.last_landed_at is None or row.last_landed_at != row.last_landed_at
            else f"{row.last_landed_at:%Y-%m-%d %H:%M}"
        )
        table.add_row(
            row.source_id,
            row.cadence,
            landed_at,
            f"[{colour}]{row.freshness}[/{colour}]",
            str(row.batches),
            str(row.held_batches),
            str(row.rows_received),
            str(row.rows_landed),
            str(row.rows_quarantined),
            _pct(row.failure_rate),
            _pct(row.recent_failure_rate),
        )
    console.print(table)
    if errors:
        for row in frame.itertuples():
            if row.last_error:
                console.print(
                    f"[bold]{row.source_id}[/bold] {row.last_error_at:%Y-%m-%d %H:%M}: {row.last_error}"
                )
    if write:
        console.print(f"Written to {quality_summary.table_path(settings)}")
    console.print(f"GX Data Docs: {settings.quality_docs_index}")


@quality_app.command("docs")
def docs_command() -> None:
    """Print where the GX Data Docs index is (built by every ingest run)."""
    settings = load_settings()
    index = settings.quality_docs_index
    if not index.exists():
        console.print(f"[yellow]No Data Docs yet at {index}: run an ingest first.[/yellow]")
        raise typer.Exit(1)
    console.print(str(index))


def register(app: typer.Typer) -> None:
    app.add_typer(quality_app, name="quality")
