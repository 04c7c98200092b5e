"""``citylake evaluate warnings``: the pre-warnings scored against the injected events."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from citylake.cli.evaluate import evaluate_app
from citylake.settings import load_settings

console = Console(width=140)


def _minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


@evaluate_app.command("warnings")
def evaluate_warnings(
    records: Annotated[
        Path | None,
        typer.Option(help="warning records parquet (default: the lake's gold/warning_records)"),
    ] = None,
    check: Annotated[bool, typer.Option(help="exit 1 when a target is missed")] = False,
) -> None:
    """Per hazard and level: events warned and missed, false warnings, median and worst
    lead time; sensor faults that caused a warning; each beside its target."""
    import pandas as pd

    from citylake.warnings import evaluate as ev

    settings = load_settings()
    path = records or settings.gold_dir / "warning_records"
    if not path.exists():
        console.print(f"[red]no warning records at {path}: run the warehouse DAG first[/red]")
        raise typer.Exit(1)
    frame = pd.read_parquet(path)
    changes = frame[frame["record"] == "change"].copy()
    changes["at"] = pd.to_datetime(changes["at"])
    try:
        scores, events, totals = ev.score(changes, settings.truth_root)
    except FileNotFoundError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error

    table = Table(
        "hazard",
        "level",
        "events",
        "warned",
        "missed",
        "false",
        "median lead (min)",
        "worst lead (min)",
        title=f"Warnings vs the injected events ({path})",
    )
    for s in scores:
        if s.events or s.false_warnings:
            table.add_row(
                s.hazard,
                s.level,
                str(s.events),
                str(s.warned),
                f"[red]{s.missed}[/red]" if s.missed else "0",
                str(s.false_warnings),
                _minutes(s.median_lead_minutes),
                _minutes(s.worst_lead_minutes),
            )
    console.print(table)
    console.print(
        "Lead = observed crossing minus the first time the district was warned at that "
        f"level or higher (positive: before; counted from at most {ev.MAX_LEAD.total_seconds() / 3600:g} h before). "
        f"A false warning raises a level no event of the district reaches within "
        f"{ev.FALSE_WINDOW.total_seconds() / 3600:g} h."
    )
    checks = _checks(scores, events, totals)
    result = Table("target", "figure", "target", "met", title="Targets")
    failed = []
    for name, figure, target, ok in checks:
        result.add_row(name, figure, target, "[green]yes[/green]" if ok else "[red]no[/red]")
        if not ok:
            failed.append(name)
    console.print(result)
    if check and failed:
        raise typer.Exit(1)


def _checks(scores: list, events: object, totals: dict) -> list[tuple[str, str, str, bool]]:
    import pandas as pd

    from citylake.warnings import evaluate as ev

    assert isinstance(events, pd.DataFrame)
    by = {(s.hazard, s.level): s for s in scores}
    out = []
    for hazard, level, label in (
        ("rainstorm", "red", "red rainstorms warned"),
        ("rainstorm", "orange", "orange rainstorms warned"),
        ("flood", "yellow", "river over its warning level warned"),
        ("flood", "red", "river over its guaranteed level warned"),
        ("heat", "yellow", "heat wave warned"),
        ("air_quality", "orange", "AQI > 300 episode warned"),
    ):
        s = by.get((hazard, level))
        if s is not None and s.events:
            out.append((label, f"{s.warned} of {s.events}", "all", s.warned == s.events))
    rain = events[(events["hazard"] == "rainstorm")]["lead_minutes"].dropna()
    median = float(rain.median()) if len(rain) else float("nan")
    out.append(
        (
            "median rainstorm lead (min, all levels)",
            f"{median:.0f}",
            f">= {ev.TARGET_MEDIAN_RAIN_LEAD_MINUTES:.0f}",
            median >= ev.TARGET_MEDIAN_RAIN_LEAD_MINUTES,
        )
    )
    rate = totals["false_per_district_week"]
    out.append(
        (
            "false warnings per district-week",
            f"{rate:.2f} ({totals['false_warnings']} in {totals['district_weeks']:.0f})",
            f"<= {ev.TARGET_FALSE_PER_DISTRICT_WEEK:g}",
            rate <= ev.TARGET_FALSE_PER_DISTRICT_WEEK,
        )
    )
    out.append(
        (
            "warnings caused by a sensor fault",
            str(totals["caused_by_sensor_fault"]),
            "0",
            totals["caused_by_sensor_fault"] == 0,
        )
    )
    return out
