"""``citylake run`` and the demo's DAG step: the city's DAGs through real Airflow, with progress."""

from __future__ import annotations

import time
from datetime import date
from typing import Annotated

import typer
from rich.console import Console

from citylake.orchestration.airflow_env import AirflowError, DagRunResult, run_dags
from citylake.settings import Settings, load_settings

console = Console()


def print_run(result: DagRunResult) -> None:
    colour = "green" if result.state == "success" else "red"
    failed = f" failed tasks: {', '.join(result.failed_tasks)}" if result.failed_tasks else ""
    console.print(
        f"  [{colour}]{result.dag_id}[/{colour}] {result.state} in {result.seconds:.0f}s "
        f"({len(result.tasks)} tasks){failed}"
    )


def run_city(logical_date: date, settings: Settings | None = None) -> float:
    """Every department DAG, then the Asset-triggered warehouse DAG; returns seconds."""
    settings = settings or load_settings()
    console.print(
        "[bold]Running the department ingestion DAGs, then the warehouse DAG their Assets "
        "trigger, through Airflow (one process, DAG.test)...[/bold]"
    )
    clock = time.perf_counter()
    run_dags(None, [logical_date], settings, on_result=print_run)
    return time.perf_counter() - clock


def run_command(
    logical_date: Annotated[
        str | None, typer.Option(help="DAG run date, YYYY-MM-DD (default: today)")
    ] = None,
    dag_id: Annotated[
        list[str] | None,
        typer.Option(
            "--dag-id", help="DAG(s) to run (default: every department, then the warehouse)"
        ),
    ] = None,
) -> None:
    """Run the city's DAGs once through real Airflow (the departments' API must be up)."""
    day = date.fromisoformat(logical_date) if logical_date else date.today()
    clock = time.perf_counter()
    try:
        if dag_id:
            run_dags(list(dag_id), [day], on_result=print_run)
        else:
            run_city(day)
    except AirflowError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"[green]done in {time.perf_counter() - clock:.0f}s[/green]")


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
