"""``citylake ingest|build|summary|demo``: the pipeline outside (or through) Airflow."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from citylake.cli.output import console, setup_logging
from citylake.settings import Settings, load_settings

if TYPE_CHECKING:
    from citylake.alerts.receiver import CapReceiver


def ingest(
    source: list[str] = typer.Argument(None, help="source ids (default: every catalog source)"),
    verbose: bool = typer.Option(True, help="log each batch"),
) -> None:
    """Land new batches of sources into bronze (outside Airflow, e.g. for a one-off)."""
    from datetime import UTC, datetime

    from citylake.catalog import default_catalog
    from citylake.landing import BatchHeldError
    from citylake.orchestration.pipeline import build_landing_docs
    from citylake.orchestration.pipeline import ingest as ingest_one

    setup_logging(verbose)
    failed = False
    started = datetime.now(UTC)
    for source_id in source or list(default_catalog()):
        try:
            report = ingest_one(source_id, docs=False)
            console.print(
                f"{source_id}: received {report.received}, landed {report.landed} "
                f"({report.flagged} flagged), quarantined {report.quarantined}"
            )
        except BatchHeldError as exc:
            failed = True
            console.print(f"[red]{exc}[/red]")
        except Exception as exc:  # one source down (its database, its API) stops only itself
            failed = True
            console.print(f"[red]{source_id}: failed: {type(exc).__name__}: {exc}[/red]")
    # Once for the whole run, held batches' results included.
    docs = build_landing_docs(started)
    if docs is not None:
        console.print(f"GX Data Docs: {docs}")
    if failed:
        raise typer.Exit(1)


def build(
    verbose: bool = typer.Option(False),
    target: str = typer.Option(
        "duckdb", help="duckdb (every warehouse step) or spark (dbt build only)"
    ),
    until: str = typer.Option(None, help="stop after this step (e.g. publish: no Superset import)"),
) -> None:
    """The warehouse DAG's steps, in its order: quality summary, dbt build, GX checkpoint,
    exports, Spark jobs, dbt build of their outputs, checkpoint, publish, Superset import."""
    from citylake.orchestration.pipeline import WAREHOUSE_STEPS, Step, run_warehouse

    setup_logging(verbose)
    if target != "duckdb":
        from citylake.cli.query import build_other_target

        return build_other_target(target)
    total = len(WAREHOUSE_STEPS)

    def progress(step: Step, seconds: float, result: object) -> None:
        n = [s.task_id for s in WAREHOUSE_STEPS].index(step.task_id) + 1
        console.print(f"[{n}/{total}] {step.task_id} ({seconds:.0f}s): {result}")

    try:
        run_warehouse(until=until, progress=progress)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


def summary() -> None:
    """Print what the last runs landed, built and produced."""
    print_summary()


def print_summary() -> None:
    from citylake.cli.summary import collect

    settings = load_settings()
    result = collect(settings)
    table = Table(
        "source", "batches", "received", "landed", "flagged", "quarantined", "held",
        title="Landing (flagged rows landed, with an identifier failing its checksum)",
    )  # fmt: skip
    for s in result.sources:
        counts = (s.batches, s.received, s.landed, s.flagged, s.quarantined, s.held)
        table.add_row(s.source_id, *(str(v) for v in counts))
    console.print(table)
    marts = Table(
        "mart", "rows", title=f"Warehouse ({result.models_built} models in {settings.serving_db})"
    )
    for name, rows in sorted(result.marts.items()):
        marts.add_row(name, str(rows))
    console.print(marts)
    console.print(
        f"Forecasts: {result.forecast_rows} center-category-hours for {result.forecast_centers} centers. "
        f"Warnings: {result.warnings_issued} issued; changes by hazard "
        f"{result.warnings_by_hazard or '{}'}; {result.sensor_fault_notices} sensor-fault "
        "notices for the data bureau."
    )
    if result.dedicated_counter_hours:
        saved = 1 - result.pooled_counter_hours / result.dedicated_counter_hours
        console.print(
            f"Staffing plan: at the peak hour {result.pooled_peak} general counters instead of "
            f"{result.dedicated_peak} dedicated ones (all centres); counter-hours "
            f"{result.pooled_counter_hours:,} vs {result.dedicated_counter_hours:,} ({saved:.0%} saved by pooling)."
        )
    if result.staffing:
        _print_staffing(result.staffing)


def _print_staffing(centers: list) -> None:
    table = Table(
        "centre",
        "peak",
        "counter-h",
        "saved",
        "Erlang≠sim",
        "cuts wait",
        "open/plan",
        "idle",
        title="Staffing per centre (dedicated → general counters)",
    )
    for c in centers:
        d, p = c.dedicated_counter_hours, c.pooled_counter_hours
        table.add_row(
            c.center_id,
            f"{c.dedicated_peak}→{c.pooled_peak}",
            f"{d:,}→{p:,}",
            f"{1 - p / d:.0%}" if d else "-",
            f"{c.hours_erlang_disagrees}/{c.hours} h",
            f"{c.hours_plan_cuts_waiting}/{c.replay_hours} h",
            f"{c.counter_hours_open:,}/{c.counter_hours_planned:,}",
            f"{c.idle_counter_hours:,}",
        )
    console.print(table)
    console.print(
        "peak and counter-hours over the forecast horizon; Erlang≠sim: hours where the SimPy "
        "check of the real category mix changed Erlang C's count. Replayed over the last "
        "backtest window: hours where the plan would have cut waiting (target missed with "
        "fewer counters open than planned), counter-hours really open vs planned, and "
        "counter-hours open beyond the plan (idle)."
    )


@contextmanager
def _demo_alert_receiver(settings: Settings) -> Iterator[CapReceiver | None]:
    """A loopback CAP receiver as the webhook, unless the installation configured its own."""
    from citylake.alerts.receiver import CapReceiver

    if settings.alerts.webhooks:
        yield None
        return
    receiver = CapReceiver(out_dir=settings.home / "alerts" / "received")
    # Set for this process only: the warehouse DAG runs in it (DAG.test) and reads settings.
    os.environ["CITYLAKE_ALERT_WEBHOOKS"] = receiver.url
    try:
        yield receiver
    finally:
        os.environ.pop("CITYLAKE_ALERT_WEBHOOKS", None)
        receiver.stop()


def demo(
    skip_generate: bool = typer.Option(False, help="reuse the city already generated"),
) -> None:
    """Generate the demo city, run its DAGs once through Airflow, print the summary."""
    from citylake.cli.complaints_eval import evaluate_complaints
    from citylake.cli.dags import run_city
    from citylake.cli.entities import evaluate_entities
    from citylake.cli.forecasts import evaluate_forecasts
    from citylake.cli.generate import generate_command
    from citylake.cli.warnings_eval import evaluate_warnings
    from citylake.democity.api_server import serve
    from citylake.warehouse import generate_docs

    settings = load_settings()
    clock = time.perf_counter()
    if not skip_generate:
        generate_command()
    logical = settings.demo_start.fromordinal(settings.demo_start.toordinal() + settings.demo_days)
    # The departments' REST APIs must answer while the DAG's ingest tasks call them, and
    # with no webhook configured, a loopback receiver stands in for the warning service.
    with serve(settings), _demo_alert_receiver(settings) as receiver:
        seconds = run_city(logical, settings)
    console.print(f"[green]department DAGs and warehouse DAG succeeded in {seconds:.0f}s[/green]")
    print_summary()
    if receiver is not None:
        console.print(
            f"CAP alerts: {len(receiver.messages)} messages delivered to the demo receiver "
            f"({receiver.out_dir}; the outbox: {settings.alerts_outbox})."
        )
    # One person, one record: the crosswalks scored against the city's truth.
    evaluate_entities(warehouse=None, check=False)
    # The forecasts' rolling-origin backtest scored against the truth (per series: the CLI).
    evaluate_forecasts(backtest=None, per_series=False, check=False)
    # The pre-warnings against the injected storms, heat wave, flood and smog episode.
    evaluate_warnings(records=None, check=False)
    # The complaint triage on the held-out weeks, beside its ceiling and a baseline.
    evaluate_complaints(unseen=True)
    console.print(f"dbt docs (lineage graph): {generate_docs(settings)}")
    console.print(
        f"\nDemo done in {time.perf_counter() - clock:.0f}s. Open the UIs with [bold]make up[/bold]: "
        f"Airflow http://127.0.0.1:{settings.airflow_port}  Superset http://127.0.0.1:{settings.superset_port}"
        f"  (login {settings.admin_user} / {settings.admin_password}); GX Data Docs: "
        f"{settings.quality_docs_index}"
    )


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
    app.command("build")(build)
    app.command("summary")(summary)
    app.command("demo")(demo)
