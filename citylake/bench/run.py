"""`make bench`: throughput of each layer at two scale factors, written to BENCHMARKS.md.

Each scale runs in its own temporary CITYLAKE_HOME: generate the city, land every source
(the same code the DAG tasks call), dbt build, the Spark jobs, entity resolution, and the
counter-demand forecasts beside per-series Prophet. Next to landing, DuckDB alone reads
the same deliveries into Parquet: the practical ceiling for landing speed. Then a
synthetic panel of hourly series measures forecasting throughput at many series, and a
large CSV (1 GB by default) is landed in a child process whose peak memory (RSS) is
measured. Ratios are only compared within one run (the machine is shared and noisy); CPU
seconds are given next to wall seconds for the same reason.

BENCHMARKS.md is rewritten from the top down to the line ``<!-- notes -->``; what
follows that line (hand-written notes on earlier runs) is kept.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from citylake.bench import forecasts
from citylake.bench.forecast_city import bench_city
from citylake.bench.landing import (
    CEILING_SOURCES,
    Row,
    bench_big_csv,
    duckdb_ceiling,
    free_port,
    timed,
)
from citylake.settings import load_settings

NOTES_MARK = "<!-- notes -->"


def bench_scale(
    scale: float, days: int, warehouse_steps: bool = True, dashboards: bool = False
) -> tuple[list[Row], list[forecasts.ForecastBench]]:
    with tempfile.TemporaryDirectory(prefix=f"citylake-bench-{scale}-") as tmp:
        os.environ["CITYLAKE_HOME"] = tmp
        os.environ["CITYLAKE_SOURCE_API_URL"] = f"http://127.0.0.1:{free_port()}"
        settings = load_settings()
        from citylake import warehouse
        from citylake.catalog import default_catalog
        from citylake.democity import generate_city
        from citylake.democity.api_server import serve
        from citylake.landing import ingest_source
        from quality.validate import Validator

        rows: list[Row] = []
        report, seconds, cpu = timed(
            lambda: generate_city(
                settings.sources_root,
                settings.truth_root,
                seed=42,
                days=days,
                start=settings.demo_start,
                scale=scale,
            )
        )
        rows.append(Row(scale, "generate city", sum(report.records.values()), seconds, cpu))
        os.sync()  # the deliveries written out now, not while the first sources land
        # Great Expectations' import (~10 s) is paid once per process, not per source.
        validator, seconds, cpu = timed(lambda: Validator(settings.quality_home))
        rows.append(Row(scale, "start Great Expectations (once)", 0, seconds, cpu))
        total = Row(scale, f"land all {len(default_catalog())} sources", 0, seconds, cpu)
        with serve(settings):
            for source_id in default_catalog():
                landed, seconds, cpu = timed(
                    lambda s=source_id: ingest_source(
                        s, settings, validator=validator, build_docs=False
                    )
                )
                total.rows += landed.received
                total.seconds += seconds
                total.cpu = (total.cpu or 0.0) + cpu
                if source_id in CEILING_SOURCES:
                    rows.append(Row(scale, f"land {source_id}", landed.received, seconds, cpu))
            # Data Docs once for the run, as the ingest DAGs and `citylake ingest` render them.
            _, seconds, cpu = timed(validator.build_docs)
            rows.append(Row(scale, "render the run's Data Docs (once)", 0, seconds, cpu))
            total.seconds += seconds
            total.cpu = (total.cpu or 0.0) + cpu
            rows.append(total)
            ceiling = duckdb_ceiling(settings, Path(tmp) / "ceiling")
        for source_id, (n, seconds, cpu) in ceiling.items():
            rows.append(Row(scale, f"duckdb alone {source_id}", n, seconds, cpu))
        for row in rows:  # in the log now: a later step's failure must not lose them
            print(f"  {row.step}: {row.rows:,} rows, {row.seconds:.2f} s, {row.cpu or 0:.2f} CPU s")
        forecast_rows: list[forecasts.ForecastBench] = []
        if warehouse_steps:
            rows += _warehouse_steps(scale, settings, warehouse, forecast_rows)
            if dashboards:
                _dashboard_lines.extend(_dashboards(settings))
        return rows, forecast_rows


_dashboard_lines: list[str] = []


def _dashboards(settings: Any) -> list[str]:
    """Import the dashboards into this home's Superset and time them in Chromium."""
    from citylake.bench import dashboards as bench_dashboards
    from citylake.orchestration import pipeline

    pipeline.dbt_build_spark_outputs(settings)  # the staffing and warnings marts
    pipeline.publish(settings)
    pipeline.superset_import(settings)
    return bench_dashboards.markdown(bench_dashboards.measure(settings))


def _warehouse_steps(
    scale: float, settings: Any, warehouse: Any, forecast_rows: list[forecasts.ForecastBench]
) -> list[Row]:
    from citylake.orchestration import pipeline
    from transforms import counter_demand, staffing_plan, warnings

    rows: list[Row] = []
    pipeline.refresh_quality_summary(settings)
    built, seconds, _ = timed(lambda: warehouse.run_dbt(["build", *warehouse.MAIN_BUILD], settings))
    _, check_seconds, _ = timed(lambda: pipeline.check_marts(settings))
    exported = warehouse.export_for_spark(settings)
    rows.append(
        Row(scale, f"dbt build ({len(built.models)} models)", sum(exported.values()), seconds)
    )
    rows.append(Row(scale, "GX checkpoint on the marts", len(built.models), check_seconds))
    # Entity resolution alone (linking only, on the mentions this build made).
    from citylake.bench.entities import measure

    for linked in measure(settings):
        note = f"F1 {linked.f1:.4f}" if linked.f1 is not None else ""
        print(f"  link {linked.kind}: {linked.mentions:,} mentions, {linked.seconds:.2f} s, {note}")
        rows.append(
            Row(scale, f"link {linked.kind} (mentions)", linked.mentions, linked.seconds, note=note)
        )
    forecast, seconds, _ = timed(lambda: counter_demand.main([]))
    rows.append(Row(scale, "spark counter_demand (rows out)", forecast, seconds))
    from citylake.warehouse.spark_session import get_spark

    forecast_rows += bench_city(get_spark("citylake-bench"), scale, settings.gold_dir, seconds)
    planned, seconds, _ = timed(lambda: staffing_plan.main([]))
    rows.append(Row(scale, "spark staffing_plan (centre-hours out)", planned, seconds))
    readings = sum(warnings_input_rows(settings).values())
    _, seconds, _ = timed(lambda: warnings.main([]))
    rows.append(Row(scale, "spark warnings (readings replayed)", readings, seconds))
    # The session's scratch dirs live in this scale's home, which is about to go.
    get_spark("citylake-bench").stop()
    return rows


def warnings_input_rows(settings: Any) -> dict[str, int]:
    """Landed readings of each feed the warnings judge (what the job replays)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    from citylake.warnings import FEEDS

    counts = {}
    for source, _, _ in FEEDS.values():
        path = settings.bronze_path(source)
        if (path / "_delta_log").is_dir():
            # delta-rs returns Arrow through the C data interface (arro3): read it as pyarrow.
            actions = pa.table(DeltaTable(str(path)).get_add_actions(flatten=True))
            counts[source] = int(pc.sum(actions["num_records"]).as_py() or 0)
    return counts


def render(rows: list[Row], command: str) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Made by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}. One run; compare ratios "
        "within it (wall seconds stretch with the machine's load, CPU seconds less so).",
        "",
        "| scale | step | rows | seconds | CPU s | rows/s | note |",
        "|---:|---|---:|---:|---:|---:|---|",
    ]
    lines += [
        f"| {r.scale if isinstance(r.scale, str) else format(r.scale, 'g')} | {r.step} | "
        f"{r.rows:,} | {r.seconds:.2f} | {'' if r.cpu is None else format(r.cpu, '.2f')} | "
        f"{r.rate:,.0f} | {r.note} |"
        for r in rows
    ]
    by = {(r.scale, r.step.split(" (")[0]): r for r in rows}
    ratios = []
    for (scale, step), r in by.items():
        if step.startswith("land ") and not step.startswith("land all"):
            ceiling = by.get((scale, step.replace("land ", "duckdb alone ")))
            if ceiling and ceiling.seconds:
                cpu = (
                    f" ({r.cpu / ceiling.cpu:.1f}x CPU)"
                    if r.cpu is not None and ceiling.cpu
                    else ""
                )
                name = scale if isinstance(scale, str) else f"scale {scale:g}"
                ratios.append(f"- {name}, {step[5:]}: {r.seconds / ceiling.seconds:.1f}x{cpu}")
    if ratios:
        lines += [
            "",
            "Landing vs DuckDB alone on the same deliveries (seconds ratio, lower is better; "
            "CPU-seconds ratio in brackets):",
            "",
            *ratios,
            "",
            "Landing includes extraction, typing, Great Expectations validation of every batch",
            "(its results stored in GX's store), quarantine, the Delta commits (one bronze, one",
            "quarantine and one ledger commit per group of batches, one app transaction per",
            "batch) and, for sensors, the feed files. Data Docs are rendered once per run, as",
            "the ingest DAGs do: their row is part of the 'land all' total. Great Expectations'",
            "import is timed once, apart.",
        ]
    return "\n".join(lines) + "\n"


def write(path: Path, text: str) -> None:
    """``text`` above the notes mark, the notes already in ``path`` kept below it."""
    notes = ""
    if path.exists():
        old = path.read_text(encoding="utf-8")
        if NOTES_MARK in old:
            notes = old[old.index(NOTES_MARK) :]
    path.write_text(text + ("\n" + notes if notes else ""), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", default="1,10", help="comma-separated scale factors")
    parser.add_argument("--days", type=int, default=56, help="days of the generated city")
    parser.add_argument("--big-csv-mb", type=int, default=1024, help="0 skips the large file")
    parser.add_argument(
        "--no-warehouse", action="store_true", help="landing only (skip dbt and Spark)"
    )
    parser.add_argument(
        "--forecast-series",
        type=int,
        default=10_000,
        help="series in the synthetic forecasting panel (0 skips it)",
    )
    parser.add_argument(
        "--choice-series",
        type=int,
        default=300,
        help="panel series also forecast with the full backtest choice",
    )
    parser.add_argument(
        "--warnings-latency",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="MQTT reading to CAP alert latency (needs the broker)",
    )
    parser.add_argument(
        "--dashboards",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time the Superset dashboards in Chromium (smallest scale)",
    )
    parser.add_argument(
        "--febrl",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the citizen linker on FEBRL3 beside Splink's own model",
    )
    parser.add_argument(
        "--stream-seconds",
        type=float,
        default=300,
        help="MQTT stream under a sustained load for this long (0 skips it)",
    )
    parser.add_argument("--stream-rate", type=float, default=6000, help="messages/s sent")
    parser.add_argument("--output", default=str(load_settings().project_dir / "BENCHMARKS.md"))
    args = parser.parse_args(argv)
    febrl_lines = ""
    latency_lines: list[str] = []
    rows: list[Row] = []
    forecast_rows: list[forecasts.ForecastBench] = []
    scales = [float(s) for s in args.scales.split(",") if s]
    for scale in scales:
        print(f"benchmarking scale {scale:g} ({args.days} days)...", flush=True)
        landed, forecast = bench_scale(
            scale,
            args.days,
            warehouse_steps=not args.no_warehouse,
            dashboards=args.dashboards and scale == min(scales),
        )
        rows += landed
        forecast_rows += forecast
    if args.forecast_series:
        print(f"benchmarking forecasts on {args.forecast_series:,} series...", flush=True)
        with tempfile.TemporaryDirectory(prefix="citylake-bench-panel-") as tmp:
            os.environ["CITYLAKE_HOME"] = tmp
            from citylake.warehouse.spark_session import get_spark

            spark = get_spark("citylake-bench-forecasts")
            forecast_rows += forecasts.bench_panel(spark, args.forecast_series, args.choice_series)
            spark.stop()
    if args.warnings_latency:
        print("benchmarking the warnings stream's latency...", flush=True)
        from citylake.bench import warnings_latency

        url = load_settings().mqtt_url or "mqtt://127.0.0.1:1883"
        latency_lines = warnings_latency.markdown(warnings_latency.measure(2.0, url))
    stream_lines: list[str] = []
    if args.stream_seconds:
        print(f"benchmarking the MQTT stream at {args.stream_rate:g} msg/s...", flush=True)
        from citylake.bench import stream

        url = load_settings().mqtt_url or "mqtt://127.0.0.1:1883"
        result = stream.measure(args.stream_rate, args.stream_seconds, url)
        stream_lines = stream.markdown(
            result,
            f"python -m citylake.bench.stream --rate {args.stream_rate:g} "
            f"--seconds {args.stream_seconds:g}",
        )
    if args.febrl:
        print("benchmarking entity resolution on FEBRL3...", flush=True)
        from citylake.bench import febrl

        febrl_lines = febrl.markdown(febrl.measure())
    if args.big_csv_mb:
        print(f"benchmarking a {args.big_csv_mb} MB CSV...", flush=True)
        rows += bench_big_csv(args.big_csv_mb)
    flags = (
        f"--scales {args.scales} --days {args.days} --big-csv-mb {args.big_csv_mb} "
        f"--forecast-series {args.forecast_series} --choice-series {args.choice_series}"
    )
    flags += " --no-warehouse" if args.no_warehouse else ""
    flags += "" if args.warnings_latency else " --no-warnings-latency"
    flags += "" if args.dashboards else " --no-dashboards"
    flags += "" if args.febrl else " --no-febrl"
    flags += f" --stream-seconds {args.stream_seconds:g} --stream-rate {args.stream_rate:g}"
    command = f"python -m citylake.bench {flags}"
    if argv is None and sys.argv[1:] == []:
        command = f"make bench  # {command}"
    text = render(rows, command)
    if forecast_rows:
        text += "\n".join(forecasts.markdown(forecast_rows)) + "\n"
    if latency_lines:
        text += "\n".join(latency_lines) + "\n"
    if stream_lines:
        text += "\n" + "\n".join(stream_lines) + "\n"
    if _dashboard_lines:
        text += "\n".join(_dashboard_lines) + "\n"
    if febrl_lines:
        text += "\n" + febrl_lines + "\n"
    write(Path(args.output), text)
    print(text)


if __name__ == "__main__":
    main()
