"""`citylake lake compact`: compact the lake's small files and vacuum (the maintenance DAG's task)."""

from __future__ import annotations

import typer
from rich.table import Table

from citylake.cli.output import console

lake_app = typer.Typer(help="Lake maintenance: compaction and vacuum.", no_args_is_help=True)


@lake_app.command("compact")
def compact_command(
    retention_hours: int = typer.Option(
        None, help="keep replaced files this long for time travel (CITYLAKE_LAKE_RETENTION_HOURS)"
    ),
    min_files: int = typer.Option(
        None, help="compact tables with at least this many files (CITYLAKE_COMPACT_MIN_FILES)"
    ),
) -> None:
    """Compact every Delta table with many small files, then vacuum past the retention."""
    from citylake.lake_maintenance import compact_lake, summary
    from citylake.settings import load_settings

    settings = load_settings()
    table = Table(title=f"Lake maintenance ({settings.lake_root})")
    for column in ("table", "files before", "files after", "vacuumed", "seconds"):
        table.add_column(column, justify="left" if column == "table" else "right")

    def row(r) -> None:
        name = str(r.table).removeprefix(str(settings.lake_root) + "/")
        console.print(f"  {name}: {r.files_before} -> {r.files_after} files", highlight=False)
        table.add_row(name, f"{r.files_before:,}", f"{r.files_after:,}", f"{r.vacuumed:,}",
                      f"{r.seconds:.2f}")  # fmt: skip

    results = compact_lake(settings, retention_hours, min_files, progress=row)
    console.print(table)
    counts = summary(results)
    console.print(
        f"{counts['compacted']} of {counts['tables']} tables compacted: "
        f"{counts['files_before']:,} -> {counts['files_after']:,} active files, "
        f"{counts['vacuumed']:,} old files vacuumed"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(lake_app, name="lake")
