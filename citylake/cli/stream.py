"""`citylake stream`: the continuous MQTT subscribers of the sensor feeds."""

from __future__ import annotations

import logging

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def stream_command(
    source: list[str] = typer.Option(
        None, "--source", "-s", help="sensor source id (repeatable; default: every MQTT source)"
    ),
    max_seconds: float = typer.Option(
        None, help="stop gracefully after this many seconds (default: run until SIGTERM)"
    ),
    batch_messages: int = typer.Option(
        None, help="micro-batch size (CITYLAKE_STREAM_BATCH_MESSAGES)"
    ),
    batch_seconds: float = typer.Option(
        None, help="micro-batch age limit in seconds (CITYLAKE_STREAM_BATCH_SECONDS)"
    ),
    max_batch_messages: int = typer.Option(
        None,
        help="most messages a micro-batch takes under load (CITYLAKE_STREAM_MAX_BATCH_MESSAGES)",
    ),
    verbose: bool = typer.Option(True, help="log each micro-batch"),
) -> None:
    """Subscribe to the sensor topics and land micro-batches exactly once (SIGTERM: flush, ack, exit)."""
    from citylake.connectors.streaming import StreamConfig
    from citylake.orchestration.stream import run_stream

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # GX logs its own start-up at INFO, hundreds of lines; the service log is for batches.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    config = StreamConfig.from_env(
        batch_messages=batch_messages,
        batch_seconds=batch_seconds,
        max_batch_messages=max_batch_messages,
    )
    try:
        counts = run_stream(source or None, max_seconds, config=config)
    except (ConnectionError, ValueError, KeyError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    table = Table(
        "source", "batches", "received", "landed", "quarantined", "held", title="Streamed"
    )
    for source_id, c in counts.items():
        table.add_row(
            source_id, *(str(v) for v in (c.batches, c.received, c.landed, c.quarantined, c.held))
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("stream")(stream_command)
