"""Delivery into the demo city's source systems: the contract the ingestion reads.

Layout under ``sources_root`` (the catalog YAMLs in ``citylake/sources`` point here):

a) ``sql/service_center.sqlite``, table ``queue_ticket`` (see ``QUEUE_TICKET_DDL``);
   ``ticket_seq`` increases with ``issued_at`` and is the incremental cursor.
b) ``hotline_12345/drop/complaints_YYYY-MM-DD.csv``: one UTF-8 file per day, header
   ``COMPLAINT_COLUMNS``, CRLF line ends (RFC 4180, as department exports do).
c) ``sensors/rain_gauge/rain_YYYY-MM-DD.ndjson``: one JSON object per line, files by
   the date of ``ts`` (the end of the 5-minute interval).

Every file is written under a temporary dot-name and renamed into place, so a reader
globbing the drop folder (or opening the database) never sees a half-written file.
A rerun first removes the previous delivery of the same sources.
"""

from __future__ import annotations

import csv
import io
import os
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path

QUEUE_DB = Path("sql") / "service_center.sqlite"
COMPLAINTS_DIR = Path("hotline_12345") / "drop"
WORK_ORDERS_DIR = Path("hotline_12345") / "work_orders"
RAIN_DIR = Path("sensors") / "rain_gauge"

QUEUE_TICKET_COLUMNS: tuple[str, ...] = (
    "ticket_seq",
    "ticket_id",
    "center_id",
    "center_name",
    "service_category",
    "resident_id",
    "issued_at",
    "called_at",
    "service_start",
    "service_end",
    "counter_no",
    "status",
)
QUEUE_TICKET_DDL = """
CREATE TABLE queue_ticket (
    ticket_seq INTEGER PRIMARY KEY,
    ticket_id TEXT NOT NULL UNIQUE,
    center_id TEXT NOT NULL,
    center_name TEXT NOT NULL,
    service_category TEXT NOT NULL,
    resident_id TEXT NULL,
    issued_at TEXT NOT NULL,
    called_at TEXT NULL,
    service_start TEXT NULL,
    service_end TEXT NULL,
    counter_no INTEGER NULL,
    status TEXT NOT NULL CHECK (status IN ('served', 'no_show'))
)
"""
COMPLAINT_COLUMNS: tuple[str, ...] = (
    "complaint_id",
    "received_at",
    "category",
    "district_code",
    "district",
    "street_code",
    "street",
    "community_code",
    "community",
    "urgency",
    "caller_phone",
    "summary",
)


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp")


def _write_bytes(path: Path, data: bytes) -> None:
    tmp = _tmp(path)
    tmp.write_bytes(data)
    os.replace(tmp, path)


def clear_drop(folder: Path, pattern: str) -> None:
    """Remove a previous delivery (and leftovers of an interrupted one) from a drop folder."""
    if not folder.is_dir():
        return
    for path in [*folder.glob(pattern), *folder.glob(f".{pattern}.tmp")]:
        path.unlink()


def deliver_queue_tickets(sources_root: Path, rows: Iterable[Sequence[object]]) -> list[Path]:
    """Write the queue system's database; rows in ``QUEUE_TICKET_COLUMNS`` order."""
    path = sources_root / QUEUE_DB
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    for leftover in (tmp, Path(f"{tmp}-journal")):
        leftover.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    try:
        con.execute(QUEUE_TICKET_DDL)
        placeholders = ",".join("?" * len(QUEUE_TICKET_COLUMNS))
        con.executemany(f"INSERT INTO queue_ticket VALUES ({placeholders})", rows)
        con.commit()
    finally:
        con.close()
    os.replace(tmp, path)  # replaces the previous delivery in one step
    return [path]


def deliver_complaints(
    sources_root: Path, by_day: Mapping[date, Sequence[Mapping[str, object]]]
) -> list[Path]:
    """One CSV per day; every day of the period gets a file, even an empty one."""
    folder = sources_root / COMPLAINTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    clear_drop(folder, "complaints_*.csv")
    written = []
    for day in sorted(by_day):
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(COMPLAINT_COLUMNS)
        for row in by_day[day]:
            writer.writerow(["" if row[c] is None else row[c] for c in COMPLAINT_COLUMNS])
        path = folder / f"complaints_{day.isoformat()}.csv"
        _write_bytes(path, buf.getvalue().encode("utf-8"))
        written.append(path)
    return written


def deliver_work_orders(
    sources_root: Path,
    by_day: Mapping[date, Sequence[Mapping[str, object]]],
    columns: Sequence[str],
    days: Sequence[date],
) -> list[Path]:
    """The work-order log: one CSV per day of the period (header only on a quiet day)."""
    folder = sources_root / WORK_ORDERS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    clear_drop(folder, "work_orders_*.csv")
    written = []
    for day in days:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(columns)
        for row in by_day.get(day, ()):
            writer.writerow(["" if row[c] is None else row[c] for c in columns])
        path = folder / f"work_orders_{day.isoformat()}.csv"
        _write_bytes(path, buf.getvalue().encode("utf-8"))
        written.append(path)
    return written


def deliver_rain(sources_root: Path, by_day: Mapping[date, Sequence[str]]) -> list[Path]:
    """One NDJSON file per day from already-serialized lines (order is part of the data)."""
    folder = sources_root / RAIN_DIR
    folder.mkdir(parents=True, exist_ok=True)
    clear_drop(folder, "rain_*.ndjson")
    written = []
    for day in sorted(by_day):
        path = folder / f"rain_{day.isoformat()}.ndjson"
        _write_bytes(path, "".join(f"{line}\n" for line in by_day[day]).encode("utf-8"))
        written.append(path)
    return written


def rain_line(station_id: str, district_code: str, ts: str, tenths: int) -> str:
    """One gauge message; rain in integer tenths of a mm, printed without float noise."""
    return (
        f'{{"station_id": "{station_id}", "district_code": "{district_code}", '
        f'"ts": "{ts}", "rain_mm": {tenths // 10}.{tenths % 10}}}'
    )
