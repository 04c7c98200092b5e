"""`make bench`: throughput of each layer at two scale factors, written to BENCHMARKS.md.

Each scale runs in its own temporary CITYLAKE_HOME: generate the city, land every source
(the same code the DAG tasks call), dbt build, the two Spark jobs. Next to landing, DuckDB
alone reads the same deliveries into Parquet: the practical ceiling for landing speed.
Ratios are only compared within one run (this machine is noisy).
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from citylake.settings import load_settings


@dataclass
class Row:
    scale: float
    step: str
    rows: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


CEILING_SOURCES = ("svc_queue_tickets", "hotline_complaints", "rain_gauge")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    clock = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - clock


def duckdb_ceiling(sources_root: Path, out: Path) -> dict[str, tuple[int, float]]:
    """DuckDB alone: each delivery read and written as Parquet, no validation or lineage."""
    import duckdb
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    found: dict[str, tuple[int, float]] = {}
    clock = time.perf_counter()
    with sqlite3.connect(sources_root / "sql" / "service_center.sqlite") as db:
        tickets = pd.read_sql("select * from queue_ticket", db)
    con.register("tickets", tickets)
    con.execute(f"copy tickets to '{out / 'tickets.parquet'}' (format parquet)")
    found["svc_queue_tickets"] = (len(tickets), time.perf_counter() - clock)
    for source_id, pattern, reader in (
        ("hotline_complaints", "hotline_12345/drop/*.csv", "read_csv"),
        ("rain_gauge", "sensors/rain_gauge/rain_*.ndjson", "read_json"),
    ):
        clock = time.perf_counter()
        target = out / f"{source_id}.parquet"
        con.execute(f"copy (select * from {reader}('{sources_root / pattern}')) to '{target}' (format parquet)")
        rows = con.execute(f"select count(*) from '{target}'").fetchone()[0]
        found[source_id] = (rows, time.perf_counter() - clock)
    con.close()
    return found


def bench_scale(scale: float, days: int) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix=f"citylake-bench-{scale}-") as tmp:
        os.environ["CITYLAKE_HOME"] = tmp
        os.environ["CITYLAKE_SOURCE_API_URL"] = f"http://127.0.0.1:{_free_port()}"
        settings = load_settings()
        from citylake import warehouse
        from citylake.catalog import default_catalog
        from citylake.generate import generate_city
        from citylake.generate.api_server import serve
        from citylake.ingest import ingest_source
        from quality.validate import Validator
        from transforms import counter_demand, rain_warnings

        rows: list[Row] = []
        report, seconds = _timed(
            lambda: generate_city(
                settings.sources_root, settings.truth_root, seed=42, days=days, start=settings.demo_start, scale=scale
            )
        )
        rows.append(Row(scale, "generate city", sum(report.records.values()), seconds))
        validator = Validator(settings.quality_home)
        total_rows, total_seconds = 0, 0.0
        with serve(settings):
            for source_id in default_catalog():
                landed, seconds = _timed(lambda s=source_id: ingest_source(s, settings, validator=validator))
                total_rows, total_seconds = total_rows + landed.received, total_seconds + seconds
                if source_id in CEILING_SOURCES:
                    rows.append(Row(scale, f"land {source_id}", landed.received, seconds))
        rows.append(Row(scale, f"land all {len(default_catalog())} sources", total_rows, total_seconds))
        for source_id, (n, seconds) in duckdb_ceiling(settings.sources_root, Path(tmp) / "ceiling").items():
            rows.append(Row(scale, f"duckdb alone {source_id}", n, seconds))
        built, seconds = _timed(lambda: warehouse.run_dbt(["build", "--exclude", "tag:spark_output"], settings))
        exported = warehouse.export_for_spark(settings)
        rows.append(Row(scale, f"dbt build ({len(built.models)} models)", sum(exported.values()), seconds))
        forecast, seconds = _timed(lambda: counter_demand.main([]))
        rows.append(Row(scale, "spark counter_demand (rows out)", forecast, seconds))
        _, seconds = _timed(lambda: rain_warnings.main([]))
        rows.append(Row(scale, "spark rain_warnings (rows in)", exported.get("fct_rain_5min", 0), seconds))
        # The session's scratch dirs live in this scale's home, which is about to go.
        from citylake.spark import get_spark

        get_spark("citylake-bench").stop()
        return rows


def render(rows: list[Row], command: str) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Made by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}. One run; compare ratios within it.",
        "",
        "| scale | step | rows | seconds | rows/s |",
        "|---:|---|---:|---:|---:|",
    ]
    lines += [f"| {r.scale:g} | {r.step} | {r.rows:,} | {r.seconds:.2f} | {r.rate:,.0f} |" for r in rows]
    by = {(r.scale, r.step): r for r in rows}
    lines += ["", "Landing vs DuckDB alone on the same deliveries (seconds ratio, lower is better):", ""]
    for (scale, step), r in by.items():
        if step.startswith("land "):
            ceiling = by.get((scale, step.replace("land ", "duckdb alone ")))
            if ceiling and ceiling.seconds:
                lines.append(f"- scale {scale:g}, {step[5:]}: {r.seconds / ceiling.seconds:.1f}x")
    lines += [
        "",
        "Landing includes typing, Great Expectations validation, quarantine, the Delta commit and the",
        "ledger row per batch; the first source landed also pays Great Expectations' import (~10 s).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", default="1,3", help="comma-separated scale factors")
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--output", default=str(load_settings().project_dir / "BENCHMARKS.md"))
    args = parser.parse_args(argv)
    rows: list[Row] = []
    for scale in (float(s) for s in args.scales.split(",")):
        print(f"benchmarking scale {scale:g} ({args.days} days)...", flush=True)
        rows += bench_scale(scale, args.days)
    command = f"make bench  # python -m citylake.bench --scales {args.scales} --days {args.days}"
    text = render(rows, command)
    Path(args.output).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
