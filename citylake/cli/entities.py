"""``citylake evaluate entities``: the entity crosswalks scored against the generator's truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from citylake.cli.evaluate import evaluate_app
from citylake.settings import load_settings

console = Console(width=120)

TARGET_F1 = {"citizens": 0.98, "enterprises": 0.97}


@evaluate_app.command("entities")
def evaluate_entities(
    warehouse: Annotated[
        Path | None,
        typer.Option(help="DuckDB file to read (default: the build file)"),
    ] = None,
    check: Annotated[
        bool, typer.Option(help="exit 1 when an F1 is below its target (0.98 / 0.97)")
    ] = False,
) -> None:
    """Pairwise precision, recall and F1 of unified citizens and enterprises."""
    from citylake.entities.evaluate import evaluate

    settings = load_settings()
    # The crosswalks live in the build file's intermediate schema: publish serves marts only.
    db = warehouse or settings.build_db
    if not db.exists():
        console.print(f"[red]no warehouse at {db}: run `citylake build` first[/red]")
        raise typer.Exit(1)
    if not (settings.truth_root / "record_entities.parquet").exists():
        console.print(
            f"[red]no truth in {settings.truth_root}: run `citylake generate` first[/red]"
        )
        raise typer.Exit(1)
    scores = evaluate(db, settings.truth_root)
    table = Table(
        "entities",
        "mentions",
        "evaluated",
        "true",
        "predicted",
        "precision",
        "recall",
        "F1",
        "target",
        title=f"Entity resolution vs truth ({db.name})",
    )
    below = []
    for s in scores:
        target = TARGET_F1[s.kind]
        ok = s.f1 >= target
        if not ok:
            below.append(s.kind)
        table.add_row(
            s.kind,
            f"{s.mentions:,}",
            f"{s.evaluated:,}",
            f"{s.true_entities:,}",
            f"{s.predicted_entities:,}",
            f"{s.precision:.4f}",
            f"{s.recall:.4f}",
            f"[{'green' if ok else 'red'}]{s.f1:.4f}[/]",
            f"{target:.2f}",
        )
    console.print(table)
    console.print(
        "pairs: "
        + "; ".join(
            f"{s.kind} {s.correct_pairs:,} correct of {s.predicted_pairs:,} predicted, "
            f"{s.true_pairs:,} true ({s.unmatched:,} mentions not in truth)"
            for s in scores
        )
    )
    if check and below:
        raise typer.Exit(1)
