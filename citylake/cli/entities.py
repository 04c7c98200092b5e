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

# Issue 11's targets: F1 over every mention, and over pairs touching a mention whose
# identifier is invalid or missing; the dimension's rows within 1 % of the true entities.
TARGET_F1 = {"citizens": 0.99, "enterprises": 0.99}
TARGET_DIRTY_F1 = 0.97
TARGET_COUNT_OFF = 0.01


def _f1_cell(value: float, target: float) -> str:
    return f"[{'green' if value >= target else 'red'}]{value:.4f}[/]"


@evaluate_app.command("entities")
def evaluate_entities(
    warehouse: Annotated[
        Path | None,
        typer.Option(help="DuckDB file to read (default: the build file)"),
    ] = None,
    check: Annotated[bool, typer.Option(help="exit 1 when a figure misses its target")] = False,
) -> None:
    """Pairwise precision, recall and F1 of unified citizens and enterprises, by identifier
    state, with the mentions the truth does not know and the entity counts."""
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
    scores, counts = evaluate(db, settings.truth_root)
    table = Table(
        "entities", "mentions", "identifier", "pairs (true)", "precision", "recall", "F1",
        "target", title=f"Entity resolution vs truth ({db.name})",
    )  # fmt: skip
    missed = []
    for s in scores:
        target = TARGET_F1[s.kind]
        if s.f1 < target:
            missed.append(f"{s.kind} F1")
        table.add_row(
            s.kind, f"{s.evaluated:,}", "all", f"{s.true_pairs:,}", f"{s.precision:.4f}",
            f"{s.recall:.4f}", _f1_cell(s.f1, target), f">= {target:.2f}",
        )  # fmt: skip
        for state, (n, pairs) in s.by_state.items():
            dirty = state != "valid"
            if dirty and pairs.f1 < TARGET_DIRTY_F1:
                missed.append(f"{s.kind} F1 ({state} identifier)")
            table.add_row(
                "", f"{n:,}", state, f"{pairs.true_pairs:,}", f"{pairs.precision:.4f}",
                f"{pairs.recall:.4f}",
                _f1_cell(pairs.f1, TARGET_DIRTY_F1) if dirty else f"{pairs.f1:.4f}",
                f">= {TARGET_DIRTY_F1:.2f}" if dirty else "",
            )  # fmt: skip
    console.print(table)
    for s in scores:
        reasons = ", ".join(
            f"{source}/{role} {n:,}" for (source, role), n in sorted(s.unmatched_by.items())
        )
        console.print(
            f"{s.kind}: {s.unmatched:,} of {s.mentions:,} mentions unscored (target 0)"
            + (f": no truth for {reasons}" if reasons else "")
        )
        if s.unmatched:
            missed.append(f"{s.kind} unscored")
    for c in counts:
        ok = abs(c.off) <= TARGET_COUNT_OFF
        if not ok:
            missed.append(f"{c.kind} count")
        console.print(
            f"{c.kind}: {c.dimension:,} rows in the dimension for {c.true_entities:,} true "
            f"entities ({c.of_which_outsiders:,} of them outsiders or newborns): "
            f"[{'green' if ok else 'red'}]{c.off:+.1%}[/] (target within "
            f"{TARGET_COUNT_OFF:.0%})"
        )
    if check and missed:
        console.print(f"[red]below target: {', '.join(missed)}[/red]")
        raise typer.Exit(1)
