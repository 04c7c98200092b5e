"""``citylake warnings stream``: the disaster pre-warnings as a Spark Structured Streaming query."""

from __future__ import annotations

import logging

import typer

warnings_app = typer.Typer(help="Disaster pre-warnings.", no_args_is_help=True)


@warnings_app.command("stream")
def stream_command(
    once: bool = typer.Option(
        False, "--once", help="process every feed file there now, then stop (backfill, tests)"
    ),
    trigger_seconds: float = typer.Option(
        None, help="micro-batch interval (CITYLAKE_WARNINGS_TRIGGER_SECONDS)"
    ),
    max_files_per_trigger: int = typer.Option(
        None, help="feed files per source per micro-batch (CITYLAKE_WARNINGS_MAX_FILES_PER_TRIGGER)"
    ),
    watermark: str = typer.Option(None, help="watermark delay (CITYLAKE_WARNINGS_WATERMARK)"),
    district: list[str] = typer.Option(
        None, help="rain districts (repeatable; default: the rain gauges' bronze snapshot)"
    ),
) -> None:
    """Judge each landed sensor batch as it arrives, as the batch job would; CAP alerts out.

    Runs until SIGTERM / Ctrl-C, which lets the running micro-batch finish and stops.
    """
    from transforms import warnings_stream

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("py4j").setLevel(logging.WARNING)
    argv = ["--once"] if once else []
    for flag, value in (
        ("--trigger-seconds", trigger_seconds),
        ("--max-files-per-trigger", max_files_per_trigger),
        ("--watermark", watermark),
    ):
        if value is not None:
            argv += [flag, str(value)]
    for code in district or []:
        argv += ["--district", code]
    warnings_stream.main(argv)


def register(app: typer.Typer) -> None:
    app.add_typer(warnings_app, name="warnings")
