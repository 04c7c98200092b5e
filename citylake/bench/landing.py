"""`make bench`: throughput of each layer at two scale factors, written to BENCHMARKS.md.

Each scale runs in its own temporary CITYLAKE_HOME: generate the city, land every source
(the same code the DAG tasks call), dbt build, the two Spark jobs. Next to landing, DuckDB
alone reads the same deliveries into Parquet: the practical ceiling for landing speed.
A large CSV (1 GB by default) is then landed in a child process whose peak memory (RSS)
is measured: large files are streamed in parts, so memory must not grow with the file.
Ratios are only compared within one run (this machine is shared and noisy); CPU seconds
are given next to wall seconds for the same reason.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
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
    scale: float | str
    step: str
    rows: int
    seconds: float
    cpu: float | None = None
    note: str = ""

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


# One of each kind: a database table, a CSV drop, a sensor stream.
CEILING_SOURCES = ("svc_queue_tickets", "hotline_complaints", "rain_gauge")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Result, wall seconds, CPU seconds of this process (all threads)."""
    clock, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - clock, time.process_time() - cpu


def duckdb_ceiling(sources_root: Path, out: Path) -> dict[str, tuple[int, float, float]]:
    """DuckDB alone: each delivery read and written as Parquet, no validation or lineage."""
    import duckdb
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    found: dict[str, tuple[int, float, float]] = {}

    def tickets() -> int:
        # DuckDB 2.0 here has no sqlite extension: pandas reads the table, DuckDB writes it.
        with sqlite3.connect(sources_root / "sql" / "service_center.sqlite") as db:
            frame = pd.read_sql("select * from queue_ticket", db)
        con.register("tickets", frame)
        con.execute(f"copy tickets to '{out / 'tickets.parquet'}' (format parquet)")
        return len(frame)

    n, wall, cpu = _timed(tickets)
    found["svc_queue_tickets"] = (n, wall, cpu)
    for source_id, pattern, reader in (
        ("hotline_complaints", "hotline_12345/drop/*.csv", "read_csv"),
        ("rain_gauge", "sensors/rain_gauge/rain_*.ndjson", "read_json"),
    ):
        target = out / f"{source_id}.parquet"

        def copy(reader: str = reader, pattern: str = pattern, target: Path = target) -> int:
            con.execute(
                f"copy (select * from {reader}('{sources_root / pattern}')) "
                f"to '{target}' (format parquet)"
            )
            return int(con.execute(f"select count(*) from '{target}'").fetchone()[0])

        found[source_id] = _timed(copy)
    con.close()
    return found


def bench_scale(scale: float, days: int, warehouse_steps: bool = True) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix=f"citylake-bench-{scale}-") as tmp:
        os.environ["CITYLAKE_HOME"] = tmp
        os.environ["CITYLAKE_SOURCE_API_URL"] = f"http://127.0.0.1:{_free_port()}"
        settings = load_settings()
        from citylake import warehouse
        from citylake.catalog import default_catalog
        from citylake.democity import generate_city
        from citylake.democity.api_server import serve
        from citylake.landing import ingest_source
        from quality.validate import Validator

        rows: list[Row] = []
        report, seconds, cpu = _timed(
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
        # Great Expectations' import (~10 s) is paid once per process, not per source.
        validator, seconds, cpu = _timed(lambda: Validator(settings.quality_home))
        rows.append(Row(scale, "start Great Expectations (once)", 0, seconds, cpu))
        total = Row(scale, f"land all {len(default_catalog())} sources", 0, seconds, cpu)
        with serve(settings):
            for source_id in default_catalog():
                landed, seconds, cpu = _timed(
                    lambda s=source_id: ingest_source(s, settings, validator=validator)
                )
                total.rows += landed.received
                total.seconds += seconds
                total.cpu = (total.cpu or 0.0) + cpu
                if source_id in CEILING_SOURCES:
                    rows.append(Row(scale, f"land {source_id}", landed.received, seconds, cpu))
        rows.append(total)
        ceiling = duckdb_ceiling(settings.sources_root, Path(tmp) / "ceiling")
        for source_id, (n, seconds, cpu) in ceiling.items():
            rows.append(Row(scale, f"duckdb alone {source_id}", n, seconds, cpu))
        if warehouse_steps:
            rows += _warehouse_steps(scale, settings, warehouse)
        return rows


def _warehouse_steps(scale: float, settings: Any, warehouse: Any) -> list[Row]:
    from citylake.orchestration import pipeline
    from transforms import counter_demand, rain_warnings

    rows: list[Row] = []
    pipeline.refresh_quality_summary(settings)
    built, seconds, _ = _timed(
        lambda: warehouse.run_dbt(["build", *warehouse.MAIN_BUILD], settings)
    )
    _, check_seconds, _ = _timed(lambda: pipeline.check_marts(settings))
    exported = warehouse.export_for_spark(settings)
    rows.append(
        Row(scale, f"dbt build ({len(built.models)} models)", sum(exported.values()), seconds)
    )
    rows.append(Row(scale, "GX checkpoint on the marts", len(built.models), check_seconds))
    # Entity resolution alone (linking only, on the mentions this build made).
    from citylake.bench.entities import measure

    for linked in measure(settings):
        note = f"F1 {linked.f1:.4f}" if linked.f1 is not None else ""
        rows.append(
            Row(scale, f"link {linked.kind} (mentions)", linked.mentions, linked.seconds, note=note)
        )
    forecast, seconds, _ = _timed(lambda: counter_demand.main([]))
    rows.append(Row(scale, "spark counter_demand (rows out)", forecast, seconds))
    _, seconds, _ = _timed(lambda: rain_warnings.main([]))
    rows.append(
        Row(scale, "spark rain_warnings (rows in)", exported.get("fct_rain_5min", 0), seconds)
    )
    # The session's scratch dirs live in this scale's home, which is about to go.
    from citylake.warehouse.spark_session import get_spark

    get_spark("citylake-bench").stop()
    return rows


# --- one large CSV, landed in a child process whose peak RSS is measured -------------

_BIG_HEADER = (
    "complaint_id,received_at,category,district_code,district,street_code,street,"
    "community_code,community,urgency,caller_phone,summary\n"
)
_CATEGORIES = ("noise", "sanitation", "road", "water", "housing", "market", "traffic", "other")


def write_big_csv(path: Path, megabytes: int) -> int:
    """A hotline drop of about ``megabytes`` MB (unique ids, one bad record per 100k)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    target = megabytes << 20
    n = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(_BIG_HEADER)
        written = len(_BIG_HEADER)
        while written < target:
            lines = []
            for _ in range(10_000):
                n += 1
                category = _CATEGORIES[n % 8] if n % 100_000 else "aliens"
                lines.append(
                    f"B{n:09d},2026-09-{1 + n % 28:02d} {n % 24:02d}:{n % 60:02d}:{n % 59:02d},"
                    f"{category},339902,青山区,33990201,翠苑街道,3399020101,花园社区,normal,"
                    f"1381234{n % 10_000:04d},夜间施工噪音持续到凌晨，影响休息，请尽快处理\n"
                )
            block = "".join(lines)
            fh.write(block)
            written += len(block.encode("utf-8"))
    return n


def _land_one(source_id: str) -> None:
    """Child process: land one source, print rows, seconds and peak RSS as JSON."""
    from citylake.landing import ingest_source
    from quality.validate import Validator

    settings = load_settings()
    validator = Validator(settings.quality_home, data_docs=False)
    report, seconds, cpu = _timed(lambda: ingest_source(source_id, settings, validator=validator))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "rows": report.received,
                "landed": report.landed,
                "batches": report.batches,
                "seconds": seconds,
                "cpu": cpu,
                "peak_mb": peak_kb / 1024,
            }
        )
    )


def _duckdb_csv(csv: Path, out: Path) -> None:
    """Child process: DuckDB alone reads the CSV into Parquet."""
    import duckdb

    con = duckdb.connect()
    n, seconds, cpu = _timed(
        lambda: (
            con.execute(f"copy (select * from read_csv('{csv}')) to '{out}' (format parquet)"),
            int(con.execute(f"select count(*) from '{out}'").fetchone()[0]),
        )[1]
    )
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": n, "seconds": seconds, "cpu": cpu, "peak_mb": peak_kb / 1024}))


def _child(args: list[str], home: str) -> dict[str, float]:
    env = {**os.environ, "CITYLAKE_HOME": home}
    done = subprocess.run(
        [sys.executable, "-m", "citylake.bench.landing", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_big_csv(megabytes: int) -> list[Row]:
    label = f"{megabytes / 1024:g} GB CSV" if megabytes >= 1024 else f"{megabytes} MB CSV"
    with tempfile.TemporaryDirectory(prefix="citylake-bench-big-") as tmp:
        os.environ["CITYLAKE_HOME"] = tmp
        settings = load_settings()
        drop = settings.sources_root / "hotline_12345" / "drop" / "complaints_big.csv"
        n, seconds, cpu = _timed(lambda: write_big_csv(drop, megabytes))
        size_mb = drop.stat().st_size / (1 << 20)
        rows = [Row(label, f"write the file ({size_mb:,.0f} MB)", n, seconds, cpu)]
        got = _child(["--land-one", "hotline_complaints"], tmp)
        rows.append(
            Row(
                label,
                "land hotline_complaints (streamed in parts)",
                int(got["rows"]),
                got["seconds"],
                got["cpu"],
                f"peak RSS {got['peak_mb']:,.0f} MB, {int(got['batches'])} parts",
            )
        )
        ceiling = _child(["--duckdb-csv", str(drop), str(Path(tmp) / "big.parquet")], tmp)
        rows.append(
            Row(
                label,
                "duckdb alone hotline_complaints",
                int(ceiling["rows"]),
                ceiling["seconds"],
                ceiling["cpu"],
                f"peak RSS {ceiling['peak_mb']:,.0f} MB",
            )
        )
        return rows


def render(rows: list[Row], command: str) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Made by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}. One run; compare ratios "
        "within it (the machine is shared: wall seconds stretch with its load, CPU seconds "
        "less so).",
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
    lines += [
        "",
        "Landing vs DuckDB alone on the same deliveries (seconds ratio, lower is better; "
        "CPU-seconds ratio in brackets):",
        "",
    ]
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
                lines.append(f"- {name}, {step[5:]}: {r.seconds / ceiling.seconds:.1f}x{cpu}")
    lines += [
        "",
        "Landing includes extraction, typing, Great Expectations validation of every batch,",
        "quarantine, the Delta commits (one bronze, one quarantine and one ledger commit per",
        "group of batches, one app transaction per batch) and Data Docs for each source.",
        "Great Expectations' import is timed once, apart.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", default="1,10", help="comma-separated scale factors")
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--big-csv-mb", type=int, default=1024, help="0 skips the large file")
    parser.add_argument(
        "--no-warehouse", action="store_true", help="landing only (skip dbt and Spark)"
    )
    parser.add_argument("--output", default=str(load_settings().project_dir / "BENCHMARKS.md"))
    parser.add_argument("--land-one", help=argparse.SUPPRESS)
    parser.add_argument("--duckdb-csv", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.land_one:
        return _land_one(args.land_one)
    if args.duckdb_csv:
        return _duckdb_csv(Path(args.duckdb_csv[0]), Path(args.duckdb_csv[1]))
    rows: list[Row] = []
    for scale in (float(s) for s in args.scales.split(",") if s):
        print(f"benchmarking scale {scale:g} ({args.days} days)...", flush=True)
        rows += bench_scale(scale, args.days, warehouse_steps=not args.no_warehouse)
    if args.big_csv_mb:
        print(f"benchmarking a {args.big_csv_mb} MB CSV...", flush=True)
        rows += bench_big_csv(args.big_csv_mb)
    flags = f"--scales {args.scales} --days {args.days} --big-csv-mb {args.big_csv_mb}"
    flags += " --no-warehouse" if args.no_warehouse else ""
    command = f"python -m citylake.bench {flags}"
    if argv is None and sys.argv[1:] == []:
        command = f"make bench  # {command}"
    text = render(rows, command)
    Path(args.output).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
