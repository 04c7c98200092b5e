"""The citylake command line (Typer + Rich)."""

from __future__ import annotations

import logging
import time

import typer
from rich.console import Console
from rich.table import Table

from citylake.settings import load_settings

app = typer.Typer(
    help="citylake: the city data bureau's data platform.",
    no_args_is_help=True,
    add_completion=False,
)
catalog_app = typer.Typer(help="The source catalog.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")
sources_app = typer.Typer(help="The demo city's source systems.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")
console = Console()


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@catalog_app.command("list")
def catalog_list() -> None:
    """List the declared sources."""
    from citylake.catalog import default_catalog

    table = Table("id", "department", "connector", "cadence", "share", "fields")
    for s in default_catalog().values():
        table.add_row(
            s.id, s.department, s.connector.kind, s.cadence, s.share.kind, str(len(s.fields))
        )
    console.print(table)


@catalog_app.command("validate")
def catalog_validate(
    directory: str = typer.Argument(None, help="folder of *.yaml (default: the package's)"),
) -> None:
    """Validate source declarations; errors name file and field."""
    from pathlib import Path

    from citylake.catalog import CATALOG_DIR, CatalogError, load_catalog

    try:
        found = load_catalog(Path(directory) if directory else CATALOG_DIR)
    except CatalogError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"[green]{len(found)} source declarations valid[/green]")


def _register_generate() -> None:
    from citylake.cli_generate import generate_command
    from citylake.generate.api_server import serve_command

    app.command(
        "generate", help="Generate the demo city into its source systems (with ground truth)."
    )(generate_command)
    sources_app.command("serve")(serve_command)


_register_generate()

from citylake.cli_query import docs_command, lint_sql_command, query_command  # noqa: E402

app.command("query")(query_command)
app.command("docs")(docs_command)
app.command("lint-sql")(lint_sql_command)
from citylake.cli_quality import quality_app  # noqa: E402
from citylake.cli_stream import stream_command  # noqa: E402

app.command("stream")(stream_command)
app.add_typer(quality_app, name="quality")
from citylake.cli_entities import evaluate_app  # noqa: E402

app.add_typer(evaluate_app, name="evaluate")


@app.command()
def ingest(
    source: list[str] = typer.Argument(None, help="source ids (default: every catalog source)"),
    verbose: bool = typer.Option(True, help="log each batch"),
) -> None:
    """Land new batches of sources into bronze (outside Airflow, e.g. for a one-off)."""
    from citylake.catalog import default_catalog
    from citylake.ingest import BatchHeldError, ingest_source

    _logging(verbose)
    failed = False
    for source_id in source or list(default_catalog()):
        try:
            report = ingest_source(source_id)
            console.print(
                f"{source_id}: received {report.received}, landed {report.landed}, "
                f"quarantined {report.quarantined}"
            )
        except BatchHeldError as exc:
            failed = True
            console.print(f"[red]{exc}[/red]")
        except Exception as exc:  # one source down (its database, its API) stops only itself
            failed = True
            console.print(f"[red]{source_id}: failed: {type(exc).__name__}: {exc}[/red]")
    if failed:
        raise typer.Exit(1)


@app.command()
def build(
    verbose: bool = typer.Option(False),
    target: str = typer.Option("duckdb", help="duckdb (build + publish) or spark (build only)"),
) -> None:
    """dbt build (all models whose inputs exist), export marts for Spark, publish for readers."""
    from citylake import warehouse

    _logging(verbose)
    if target != "duckdb":
        from citylake.cli_query import build_other_target

        return build_other_target(target)
    result = warehouse.run_dbt(["build", *warehouse.MAIN_BUILD])
    warehouse.export_for_spark()
    console.print(
        f"dbt: {len(result.models)} models, {result.tests_passed} tests passed in {result.seconds}s"
    )
    warehouse.publish()


def _register_run() -> None:
    from citylake.cli_dags import run_command

    app.command("run")(run_command)


_register_run()


@app.command()
def summary() -> None:
    """Print what the last runs landed, built and produced."""
    print_summary()


def print_summary() -> None:
    from citylake.summary import collect

    settings = load_settings()
    result = collect(settings)
    table = Table("source", "batches", "received", "landed", "quarantined", "held", title="Landing")
    for s in result.sources:
        table.add_row(
            s.source_id, *(str(v) for v in (s.batches, s.received, s.landed, s.quarantined, s.held))
        )
    console.print(table)
    marts = Table(
        "mart", "rows", title=f"Warehouse ({result.models_built} models in {settings.serving_db})"
    )
    for name, rows in sorted(result.marts.items()):
        marts.add_row(name, str(rows))
    console.print(marts)
    console.print(
        f"Forecasts: {result.forecast_rows} center-category-hours for {result.forecast_centers} centers. "
        f"Warnings: {result.warnings_issued} issued, by level {result.warnings_by_level or '{}'}."
    )


@app.command()
def demo(
    skip_generate: bool = typer.Option(False, help="reuse the city already generated"),
) -> None:
    """Generate the demo city, run its DAGs once through Airflow, print the summary."""
    from citylake.cli_dags import run_city
    from citylake.cli_generate import generate_command
    from citylake.generate.api_server import serve

    settings = load_settings()
    clock = time.perf_counter()
    if not skip_generate:
        generate_command()
    logical = settings.demo_start.fromordinal(settings.demo_start.toordinal() + settings.demo_days)
    # The departments' REST APIs must answer while the DAG's ingest tasks call them.
    with serve(settings):
        seconds = run_city(logical, settings)
    console.print(f"[green]department DAGs and warehouse DAG succeeded in {seconds:.0f}s[/green]")
    print_summary()
    # One person, one record: the crosswalks scored against the city's truth.
    from citylake.cli_entities import evaluate_entities
    from citylake.warehouse import generate_docs

    evaluate_entities(warehouse=None, check=False)
    console.print(f"dbt docs (lineage graph): {generate_docs(settings)}")
    console.print(
        f"\nDemo done in {time.perf_counter() - clock:.0f}s. Open the UIs with [bold]make up[/bold]: "
        f"Airflow http://127.0.0.1:{settings.airflow_port}  Superset http://127.0.0.1:{settings.superset_port}"
        f"  (login {settings.admin_user} / {settings.admin_password}); GX Data Docs: "
        f"{settings.quality_docs_index}"
    )


@app.command()
def up() -> None:
    """Start Airflow (api-server + scheduler + dag-processor) and Superset on 127.0.0.1."""
    from citylake import services

    services.up()


@app.command()
def down() -> None:
    """Stop what `citylake up` started."""
    from citylake import services

    services.down()


if __name__ == "__main__":
    app()
