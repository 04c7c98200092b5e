"""``citylake evaluate complaints``: the triage scored against the demo city's truth."""

from __future__ import annotations

import math
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from citylake.cli.evaluate import evaluate_app
from citylake.settings import load_settings

console = Console(width=150)


def _pair(accuracy: float | None, f1: float | None) -> str:
    if accuracy is None or f1 is None or math.isnan(accuracy):
        return "-"
    return f"{accuracy:.3f} / {f1:.3f}"


@evaluate_app.command("complaints")
def evaluate_complaints(
    unseen: Annotated[
        bool, typer.Option(help="also retrain without a few situations and score those")
    ] = True,
) -> None:
    """Accuracy / macro-F1 of the competent level, department and inferred category on the
    held-out later weeks, beside the ceiling (the generator's rule on the text) and a
    majority baseline; urgent complaints in the queue's top decile; unseen situations."""
    from citylake.complaints import evaluate as ev
    from citylake.complaints.inputs import read_hotspots, read_inputs, read_output

    settings = load_settings()
    try:
        triaged = read_output(settings.gold_dir)
        truth = ev.read_truth(settings.truth_root)
    except FileNotFoundError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    until = triaged["train_until"].iloc[0]
    held = int(triaged["is_out_of_sample"].sum())
    table = Table(
        "target", "triage acc / F1", "ceiling acc / F1", "majority acc / F1", "operator acc / F1",
        title=(
            f"Complaint triage on the {held} complaints received from {until:%Y-%m-%d} "
            f"(trained on {int((~triaged['is_out_of_sample']).sum())} earlier ones' closures)"
        ),
    )  # fmt: skip
    for s in ev.score_targets(triaged, truth):
        table.add_row(
            s.target,
            _pair(s.accuracy, s.macro_f1),
            _pair(s.ceiling_accuracy, s.ceiling_f1),
            _pair(s.majority_accuracy, s.majority_f1),
            _pair(s.operator_accuracy, s.operator_f1),
        )
    console.print(table)
    console.print(
        "Ceiling: the generator's own rule applied to the situation and place the caller "
        "described; it misses only the documented ambiguous situations."
    )
    queue = ev.score_queue(triaged, truth)
    console.print(
        f"Truly urgent complaints (public-safety hazards): {queue.urgent}; in the top decile "
        f"of the held-out period's priority: {queue.in_top_decile:.1%}; in the top decile "
        f"of their day's queue: {queue.in_top_decile_of_day:.1%}."
    )
    try:
        cells = read_hotspots(settings.gold_dir)
    except FileNotFoundError as error:
        console.print(f"[yellow]{error}[/yellow]")
    else:
        table = Table(
            "weekly list", "planted weeks", "flagged", "precision", "recall",
            title="Hotspots (Poisson on exposure, Bonferroni per week) vs the planted ones",
        )  # fmt: skip
        for h in ev.score_hotspots(cells, triaged, settings.truth_root):
            table.add_row(
                h.kind, str(h.planted_weeks), str(h.flagged),
                f"{h.precision:.2f}" if not math.isnan(h.precision) else "-",
                f"{h.recall:.2f}" if not math.isnan(h.recall) else "-",
            )  # fmt: skip
        console.print(table)
    routing = _mart(settings, "fct_complaint_routing")
    if routing is not None:
        r = ev.score_routing(routing, truth)
        console.print(
            f"Routing (held-out, {r.closed} closed): {r.routed_up:.0%} sent straight past the "
            f"community, {r.right:.1%} of them to the truly competent level; over-routed "
            f"{r.over_routed:.1%}. Saved {r.hops_saved:,} hops and {r.hours_saved:,.0f} h of "
            f"the {r.hours_before_competent:,.0f} h the log's lower levels held them "
            f"({r.hours_saved / r.hours_before_competent:.0%} of what perfect routing saves)."
            if r.closed and r.hours_before_competent
            else "Routing: no held-out closed complaints to score."
        )
    evidence = _mart(settings, "fct_complaint_evidence")
    if evidence is not None:
        e = ev.score_evidence(evidence, settings.truth_root)
        console.print(
            f"Sensor evidence: {e.cover_complaints} complaints were caused by a displaced "
            f"manhole cover; {e.linked:.0%} carry a tilt link to that cover's station. "
            f"{e.tilt_links} complaints carry a tilt link; for {e.causal:.0%} it is the "
            "cover that caused the call (the rest: a tilted cover nearby, not the cause)."
        )
    if unseen:
        scores = ev.score_unseen(read_inputs(settings.build_db), truth, until)
        table = Table(
            "target", "triage acc / F1", "ceiling acc / F1", "majority acc / F1",
            title=(
                f"Situations the model never saw ({', '.join(ev.UNSEEN_SITUATIONS)}): "
                f"{scores[0].n if scores else 0} held-out complaints"
            ),
        )  # fmt: skip
        for s in scores:
            table.add_row(
                s.target,
                _pair(s.accuracy, s.macro_f1),
                _pair(s.ceiling_accuracy, s.ceiling_f1),
                _pair(s.majority_accuracy, s.majority_f1),
            )
        console.print(table)


def _mart(settings: object, mart: str) -> object:
    """A mart from the serving file, or None before the first run built it."""
    import duckdb

    path = settings.serving_db  # type: ignore[attr-defined]
    if not path.exists():
        return None
    with duckdb.connect(str(path), read_only=True) as con:
        try:
            return con.execute(f"select * from marts.{mart}").df()
        except duckdb.CatalogException:
            return None
