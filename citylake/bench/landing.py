"""Landing benchmarks: DuckDB alone on the same deliveries, and one large CSV.

:func:`duckdb_ceiling` reads each kind of delivery (a database table, a CSV drop, a sensor
feed) into Parquet with DuckDB alone: the practical ceiling for landing speed.
:func:`bench_big_csv` lands a large CSV (1 GB by default) in a child process whose peak
memory (RSS) is measured: large files are streamed in parts, so memory must not grow with
the file. ``citylake.bench.run`` drives them (``make bench``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
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


# One of each kind: a database table, a CSV drop, an Excel drop, a REST API, a sensor feed.
CEILING_SOURCES = (
    "svc_queue_tickets",
    "hotline_complaints",
    "edu_enrolment",
    "mi_enrolment",
    "rain_gauge",
)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Result, wall seconds, CPU seconds of this process (all threads)."""
    clock, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - clock, time.process_time() - cpu


def duckdb_ceiling(settings: Any, out: Path) -> dict[str, tuple[int, float, float]]:
    """DuckDB alone: each delivery read and written as Parquet, no validation or lineage.

    DuckDB here has no sqlite, Excel or HTTP reader (its extensions would download): the
    table is read by pandas, the workbook by openpyxl (read-only, values only) and the API
    pages by httpx, and DuckDB writes what they read; that reading is the least any
    landing of those deliveries pays. The REST API must be served while this runs.
    """
    import duckdb
    import pandas as pd

    from citylake.catalog import default_catalog

    sources_root = settings.sources_root
    catalog = default_catalog()
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    found: dict[str, tuple[int, float, float]] = {}

    def write(name: str, frame: pd.DataFrame) -> int:
        con.register(name, frame)
        con.execute(f"copy {name} to '{out / (name + '.parquet')}' (format parquet)")
        con.unregister(name)
        return len(frame)

    def tickets() -> int:
        with sqlite3.connect(sources_root / "sql" / "service_center.sqlite") as db:
            return write("tickets", pd.read_sql("select * from queue_ticket", db))

    def workbooks(source_id: str = "edu_enrolment") -> int:
        from openpyxl import load_workbook

        connector = catalog[source_id].connector
        n = 0
        for path in sorted((sources_root / connector.path).glob(connector.pattern)):
            book = load_workbook(path, read_only=True, data_only=True)
            rows = list(book[connector.sheet].iter_rows(values_only=True))
            book.close()
            frame = pd.DataFrame(rows[1:], columns=[f"c{i}" for i in range(len(rows[0]))])
            n += write("workbook", frame.astype(str))
        return n

    def api_pages(source_id: str = "mi_enrolment") -> int:
        import httpx

        from citylake.connectors.source_systems import api_url

        connector = catalog[source_id].connector
        items: list[dict] = []
        page: int | None = 1
        with httpx.Client(timeout=60) as client:
            while page is not None:
                body = client.get(
                    api_url(connector.endpoint, settings),
                    params={"page": page, "page_size": connector.page_size},
                ).json()
                items += body["items"]
                page = int(body["next_page"]) if body.get("next_page") else None
        pages = out / "api_pages.ndjson"
        pages.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items))
        con.execute(
            f"copy (select * from read_json('{pages}')) to '{out / 'api.parquet'}' (format parquet)"
        )
        return len(items)

    found["svc_queue_tickets"] = timed(tickets)
    found["edu_enrolment"] = timed(workbooks)
    found["mi_enrolment"] = timed(api_pages)
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

        found[source_id] = timed(copy)
    con.close()
    return found


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


def _peak_rss_kb() -> float:
    """This process's peak resident memory in KiB: VmHWM, the high-water mark of its own
    address space. ``getrusage``'s ru_maxrss survives ``exec``, so a child of a parent
    that once held 3 GB reports 3 GB whatever it used itself."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return float(line.split()[1])
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _land_one(source_id: str) -> None:
    """Child process: land one source, print rows, seconds and peak RSS as JSON."""
    from citylake.landing import ingest_source
    from quality.validate import Validator

    settings = load_settings()
    validator = Validator(settings.quality_home, data_docs=False)
    report, seconds, cpu = timed(lambda: ingest_source(source_id, settings, validator=validator))
    peak_kb = _peak_rss_kb()
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
    n, seconds, cpu = timed(
        lambda: (
            con.execute(f"copy (select * from read_csv('{csv}')) to '{out}' (format parquet)"),
            int(con.execute(f"select count(*) from '{out}'").fetchone()[0]),
        )[1]
    )
    peak_kb = _peak_rss_kb()
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
        n, seconds, cpu = timed(lambda: write_big_csv(drop, megabytes))
        os.sync()  # its pages written out now, not while the first reader is timed
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


def child_main(argv: list[str] | None = None) -> None:
    """The child processes of :func:`bench_big_csv` (``python -m citylake.bench.landing``)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--land-one")
    parser.add_argument("--duckdb-csv", nargs=2)
    args = parser.parse_args(argv)
    if args.land_one:
        _land_one(args.land_one)
    elif args.duckdb_csv:
        _duckdb_csv(Path(args.duckdb_csv[0]), Path(args.duckdb_csv[1]))
    else:
        parser.error("run `python -m citylake.bench` for the benchmarks")


if __name__ == "__main__":
    child_main()
