"""Excel workbook drops (.xlsx): the declared sheet of each new file is one batch.

Read streaming (openpyxl read-only, cached formula values). The header is the first
row naming a declared field within ``HEADER_SEARCH_ROWS`` (departments put a title row
above it), else the first non-empty row. Cell values become the raw strings a person
reads in Excel: integer-valued numbers without ``.0``, dates as ``YYYY-MM-DD`` (for
declared date columns) or ``YYYY-MM-DD HH:MM:SS``, booleans as true/false. A row with
values beyond the header's columns is a row error (quarantined, never dropped).

The other sheets (a notes sheet, a pivot) are not read; their names are reported on
the batch (``ExcelBatch.other_sheets``) and in the log. A workbook that cannot be
opened, or lacks the declared sheet, becomes one batch holding a single row error, so
the file is recorded and held, and the rest of the drop still lands.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import pandas as pd

from citylake.catalog import FieldType, FileDropConnector, Source
from citylake.connectors.base import RawBatch, RowError, SourceState, make_batch_id
from citylake.connectors.files import new_files
from citylake.settings import Settings

log = logging.getLogger(__name__)

HEADER_SEARCH_ROWS = 20


@dataclass
class ExcelBatch(RawBatch):
    sheet: str | None = None  # the sheet read
    other_sheets: list[str] = field(default_factory=list)  # present in the workbook, not read


def _cell_text(value: object, ftype: FieldType | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if ftype == FieldType.date and value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    text = str(value)
    return text if text != "" else None


def _header_index(rows: list[tuple[int, tuple]], declared: set[str]) -> int | None:
    first_nonempty = None
    for i, (_, cells) in enumerate(rows):
        names = {str(c).strip() for c in cells if c is not None}
        if not names:
            continue
        if first_nonempty is None:
            first_nonempty = i
        if names & declared:
            return i
    return first_nonempty


def _read_sheet(ws: object, source: Source) -> tuple[pd.DataFrame, list[RowError], list[str]]:
    declared = [f.name for f in source.fields]
    types = {f.name: f.type for f in source.fields}
    rows_iter = enumerate(ws.iter_rows(values_only=True), start=1)  # type: ignore[attr-defined]
    head: list[tuple[int, tuple]] = []
    for number, cells in rows_iter:
        head.append((number, tuple(cells)))
        if len(head) >= HEADER_SEARCH_ROWS:
            break
    at = _header_index(head, set(declared))
    if at is None:  # an empty sheet
        return pd.DataFrame(columns=["_row_number", *declared], dtype=object), [], []
    cells = list(head[at][1])
    while cells and cells[-1] is None:
        cells.pop()
    header: list[str] = []
    for i, c in enumerate(cells, start=1):
        name = str(c).strip() if c is not None and str(c).strip() else f"column_{i}"
        header.append(name if name not in header else f"{name}_{i}")  # no duplicate columns
    width = len(header)
    ftypes = [types.get(name) for name in header]
    records: list[list[object]] = []
    errors: list[RowError] = []

    def take(number: int, row: tuple) -> None:
        values = list(row)
        while values and values[-1] is None:
            values.pop()
        if not values or all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            return
        if len(values) > width:
            raw = ",".join("" if v is None else str(v) for v in values)
            errors.append(
                RowError(number, raw[:2000], f"expected {width} fields, found {len(values)}")
            )
            return
        values += [None] * (width - len(values))
        records.append([number, *(_cell_text(v, t) for v, t in zip(values, ftypes, strict=True))])

    for number, row in head[at + 1 :]:
        take(number, row)
    for number, row in rows_iter:
        take(number, tuple(row))
    frame = pd.DataFrame(records, columns=["_row_number", *header], dtype=object)
    return frame, errors, header


def _read_workbook(
    path: Path, source: Source, connector: FileDropConnector
) -> tuple[pd.DataFrame, list[RowError], list[str], str | None, list[str]]:
    from openpyxl import load_workbook

    declared = [f.name for f in source.fields]
    empty = pd.DataFrame(columns=["_row_number", *declared], dtype=object)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # any unreadable file: corrupt zip, not a workbook, bad XML
        reason = f"not a readable Excel workbook: {type(exc).__name__}: {exc}"
        return empty, [RowError(0, path.name, reason)], [], None, []
    try:
        names = list(wb.sheetnames)
        wanted = connector.sheet or (names[0] if names else None)
        if wanted not in names:
            reason = f"sheet {wanted!r} not found; the workbook has {names}"
            return empty, [RowError(0, path.name, reason)], [], None, names
        ws = wb[wanted]
        ws.reset_dimensions()  # some writers declare a wrong range; read what is there
        frame, errors, header = _read_sheet(ws, source)
        return frame, errors, header, wanted, [n for n in names if n != wanted]
    except Exception as exc:  # damaged sheet XML half-way through
        reason = f"Excel sheet unreadable: {type(exc).__name__}: {exc}"
        return empty, [RowError(0, path.name, reason)], [], None, []
    finally:
        wb.close()


def extract_excel(
    source: Source, connector: FileDropConnector, settings: Settings, state: SourceState
) -> Iterator[ExcelBatch]:
    declared = [f.name for f in source.fields]
    for path, sha in new_files(source, connector, settings, state):
        frame, errors, header, sheet, others = _read_workbook(path, source, connector)
        missing = [c for c in declared if c not in frame.columns]
        for name in missing:
            frame[name] = None
        extra = [c for c in header if c not in declared]
        log.info(
            "%s: read %s sheet %r (%d records, %d unparseable)%s",
            source.id,
            path.name,
            sheet,
            len(frame),
            len(errors),
            f"; other sheets not read: {others}" if others else "",
        )
        yield ExcelBatch(
            source_id=source.id,
            batch_id=make_batch_id(source.id, "file", path.name, sha),
            ref=f"{path.name}[{sheet or '?'}]@sha256:{sha[:12]}",
            frame=frame,
            row_errors=errors,
            file_name=path.name,
            file_sha256=sha,
            extra_columns=extra,
            missing_columns=missing if sheet else [],
            sheet=sheet,
            other_sheets=others,
        )
