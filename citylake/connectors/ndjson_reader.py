"""NDJSON files read in parts: by DuckDB's JSON reader where that is exact, else line by line.

Each part is (frame, row errors, keys seen): a text frame with ``_row_number`` (the
file's physical line) and the declared columns, then any other key in order of first
appearance. A value is kept as text: a string as is, a number as Python's ``str`` of it
(DuckDB renders numbers the same way: checked on thousands of doubles and integers past
int64; not past a double's range, where Python writes 1e400 as inf and DuckDB keeps the
digits, both typing it as the same infinity), null as None, and a boolean, object or
array as Python writes it.

DuckDB reads a file when the reading cannot differ from the line reader's: UTF-8
without BOM, one JSON object on every line, no blank line, no CR, no boolean, object or
array value (DuckDB writes those its own way). Otherwise, or when DuckDB refuses the
file, the line reader takes the whole file: bad lines become row errors with their line
numbers, the rest lands. A drop's files are read together (``ndjson_drop_chunks``):
those whose every line has the same keys and only scalar values by one DuckDB query per
24 MB of them, any other alone as above.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa

from citylake.connectors.base import RowError
from citylake.connectors.text_lines import CHUNK_ROWS, decoded, file_blocks, physical_lines

log = logging.getLogger(__name__)

Chunk = tuple[pd.DataFrame, list[RowError], list[str]]
T = TypeVar("T")


def ndjson_file_chunks(
    path: Path, encoding: str, declared: list[str], chunk_rows: int = CHUNK_ROWS
) -> Iterator[Chunk]:
    """The parts of an NDJSON file, ``chunk_rows`` lines each, streamed."""
    layout = _duckdb_layout(path, encoding, chunk_rows)
    if layout is None:
        yield from _line_chunks(path, encoding, declared, chunk_rows)
    else:
        yield from _duckdb_chunks(path, declared, layout, chunk_rows)


# --- DuckDB -----------------------------------------------------------------


def _scan(path: Path) -> int | None:
    """The file's lines (LFs counted by numpy, without holding the GIL), when no line
    ends in CR; else None. DuckDB skips blank lines and drops CRs: its count of objects
    must equal this for its line numbers to be the file's (a blank line makes it differ)."""
    lines, last = 0, b"\n"
    for block in file_blocks(path):
        if b"\r" in block:
            return None
        lines += int(np.count_nonzero(np.frombuffer(block, dtype=np.uint8) == _LF))
        last = block[-1:]
    if lines == 0 and last == b"\n":
        return None  # empty file: the line reader says so
    return lines + (last != b"\n")


_LF = ord("\n")


# A line whose text could hold a boolean, object or array value ("true", "false", "[", a
# second "{"): a string can trip this, such a value never escapes it.
_MAYBE_NOT_SCALAR = (
    "contains(json, 'true') or contains(json, 'false') or contains(json, '[') "
    "or contains(json[2:], '{')"
)
# One pass: the distinct key lists (a line that is no object has none).
_SHAPE = (
    f"select json_keys(json) as keys, count(*) as lines, bool_or({_MAYBE_NOT_SCALAR}) as odd "
    "from read_ndjson_objects(?) group by keys"
)
_NOT_OBJECTS = "select count(*) from read_ndjson_objects(?) where json_type(json) <> 'OBJECT'"
# Exact, and per part: each part's keys in order of first appearance.
_KEYS = """
with lines as (
    select row_number() over () as line, json from read_ndjson_objects(?)
), keyed as (
    select line, unnest(json_keys(json)) as key,
           unnest(range(len(json_keys(json)))) as position, json
    from lines
)
select (line - 1) // ? as part, key, min(line) as first, arg_min(position, line) as position,
       bool_or(json_type(json -> key) in ('OBJECT', 'ARRAY')) as nested,
       bool_or(json_type(json -> key) = 'BOOLEAN') as boolean,
       bool_or(json_type(json -> key) not in ('BOOLEAN', 'NULL')) as other
from keyed group by part, key order by part, first, position
"""


@cache
def _database() -> Any:
    import duckdb

    # One in-memory database per process (opening one costs ~25 ms, a file ~15 ms to read);
    # each reader takes its own cursor on it.
    return duckdb.connect()


@dataclass
class _Layout:
    keys: dict[int, list[str]]  # per part of chunk_rows lines, in order of first appearance
    booleans: set[str]  # keys whose every value is a JSON boolean or null


def _duckdb_layout(path: Path, encoding: str, chunk_rows: int) -> _Layout | None:
    """What the line reader would find in each part (keys, boolean columns), when DuckDB
    may read the file; else None."""
    import duckdb

    if not _utf8(encoding):
        return None
    lines = _scan(path)
    if lines is None:
        return None
    with _database().cursor() as con:
        try:
            shapes = con.execute(_SHAPE, [str(path)]).fetchall()
            if sum(n for _, n, _ in shapes) != lines:
                return None
            if any(not keys for keys, _, _ in shapes):  # {} or a line that is no object
                (not_objects,) = con.execute(_NOT_OBJECTS, [str(path)]).fetchone() or (1,)
                if not_objects:
                    return None
            if len(shapes) == 1 and not shapes[0][2]:  # the same keys and scalars on every line
                return _uniform(shapes[0][0], lines, chunk_rows)
            found = con.execute(_KEYS, [str(path), chunk_rows]).fetchall()
        except duckdb.Error as exc:  # a line that is not JSON, bytes that are not UTF-8
            log.info("%s: read line by line (%s)", path.name, str(exc).splitlines()[0])
            return None
    keys: dict[int, list[str]] = {}
    booleans: set[str] = set()
    others: set[str] = set()
    for part, key, _, _, nested, boolean, other in found:
        if nested or key.startswith("$"):  # DuckDB writes objects and arrays its own way
            return None
        keys.setdefault(int(part), []).append(key)
        booleans |= {key} if boolean else set()
        others |= {key} if other else set()
    if booleans & others:  # true beside text: "true" would not tell them apart
        return None
    return _Layout(keys, booleans)


def _uniform(keys: list[str], lines: int, chunk_rows: int) -> _Layout:
    return _Layout({part: list(keys) for part in range(-(-lines // chunk_rows))}, set())


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _read_query(keys: list[str], first: str = "") -> str:
    """Every key as text (DuckDB's JSON reader, one object per line), after ``first``."""
    if not keys:
        return f"select {first}1 as _none from read_ndjson_objects(?)"
    spec = ", ".join(f"{_sql_text(c)}: 'VARCHAR'" for c in keys)
    return f"select {first}* from read_json(?, format='newline_delimited', columns={{{spec}}})"


def _duckdb_chunks(
    path: Path, declared: list[str], layout: _Layout, chunk_rows: int
) -> Iterator[Chunk]:
    keys = layout.keys
    every = list(dict.fromkeys(k for part in sorted(keys) for k in keys[part]))
    with _database().cursor() as con:
        reader = con.sql(_read_query(every), params=[str(path)]).to_arrow_reader(chunk_rows)
        schema = reader.schema
        pending: list[pa.RecordBatch] = []
        held, part = 0, 0
        for batch in reader:
            pending.append(batch)
            held += batch.num_rows
            while held >= chunk_rows:  # parts of exactly chunk_rows lines, as the line reader's
                table = pa.Table.from_batches(pending, schema=schema)
                yield _part(table.slice(0, chunk_rows), declared, layout, part, chunk_rows)
                rest = table.slice(chunk_rows)
                pending, held, part = rest.to_batches(), rest.num_rows, part + 1
        if held or part == 0:
            table = pa.Table.from_batches(pending, schema=schema)
            yield _part(table, declared, layout, part, chunk_rows)


def _part(
    table: pa.Table, declared: list[str], layout: _Layout, part: int, chunk_rows: int
) -> Chunk:
    import pyarrow.compute as pc

    seen = layout.keys.get(part, [])
    first = part * chunk_rows + 1
    data: dict[str, object] = {"_row_number": range(first, first + table.num_rows)}
    for name in [*declared, *[k for k in seen if k not in declared]]:
        if name not in seen or name not in table.column_names:
            data[name] = [None] * table.num_rows
            continue
        values = table.column(name)
        if name in layout.booleans:  # as Python writes a bool
            values = pc.if_else(pc.equal(values, "true"), "True", "False")
        # Arrow-backed: landing types them in Arrow without a copy to Python objects.
        data[name] = values.to_pandas(types_mapper=pd.ArrowDtype)
    return pd.DataFrame(data), [], seen


# --- DuckDB, many files ---------------------------------------------------------------


# Files read by one DuckDB query (their shapes, then their values), up to this many bytes
# in all: a drop of a few dozen small files read one by one cost twice what reading them
# at once did (each query's fixed cost, and one file keeps one of DuckDB's threads busy).
# Not more: landing waits for the first query (24 MB of a sensor's day files measured best
# between 12 and 64 MB).
TOGETHER_BYTES = 24 << 20


def ndjson_drop_chunks(
    files: Iterable[tuple[Path, str, T]],
    declared: list[str],
    chunk_rows: int = CHUNK_ROWS,
    together_bytes: int = TOGETHER_BYTES,
) -> Iterator[tuple[Path, T, Iterator[Chunk]]]:
    """Each of ``files`` (path, encoding, tag) with its parts, in order; the parts are
    those :func:`ndjson_file_chunks` gives. Files with one key list on every line and
    only scalar values are read together, up to ``together_bytes`` per query; any other
    file alone."""
    pending: list[tuple[Path, str, T]] = []
    size = 0
    for item in files:
        pending.append(item)
        size += item[0].stat().st_size
        if size >= together_bytes:
            yield from _together(pending, declared, chunk_rows)
            pending, size = [], 0
    if pending:
        yield from _together(pending, declared, chunk_rows)


# DuckDB's number of the file a row of a multi-file read came from (a virtual column: a
# key of that name would hide it, so such a file is read alone).
_FILE = "file_index"
# A line DuckDB cannot read is a shape of its own (no keys): its file is read alone.
_SHAPES = (
    f"select filename, json_keys(json) as keys, count(*) as lines, "
    f"bool_or({_MAYBE_NOT_SCALAR}) as odd "
    "from read_ndjson_objects(?, filename=true, ignore_errors=true) group by all"
)


def _together(
    items: list[tuple[Path, str, T]], declared: list[str], chunk_rows: int
) -> Iterator[tuple[Path, T, Iterator[Chunk]]]:
    import duckdb
    import pyarrow.compute as pc

    lines = {p: n for p, enc, _ in items if _utf8(enc) and (n := _scan(p)) is not None}
    uniform: dict[Path, list[str]] = {}
    table = None
    if len(lines) > 1:
        with _database().cursor() as con:
            try:
                shapes = con.execute(_SHAPES, [[str(p) for p in lines]]).fetchall()
            except duckdb.Error:  # e.g. a file gone: each file alone says what
                shapes = []
            found: dict[str, list[tuple[list[str], int, bool]]] = {}
            for name, keys, n, odd in shapes:
                found.setdefault(name, []).append((keys, n, odd))
            for path, n in lines.items():
                match found.get(str(path), []):
                    case [(keys, got, False)] if keys and got == n and _FILE not in keys:
                        uniform[path] = keys
            if len(uniform) > 1:
                every = list(dict.fromkeys(k for keys in uniform.values() for k in keys))
                table = con.sql(
                    _read_query(every, f"{_FILE}, "), params=[[str(p) for p in uniform]]
                ).to_arrow_table()
    offset, index = 0, {p: k for k, p in enumerate(uniform)}
    for path, encoding, tag in items:
        if table is None or path not in uniform:
            yield path, tag, ndjson_file_chunks(path, encoding, declared, chunk_rows)
            continue
        rows = table.slice(offset, lines[path])
        offset += rows.num_rows
        if not pc.all(pc.equal(rows[_FILE], index[path])).as_py():
            raise RuntimeError(f"{path}: DuckDB's rows of this file are not where expected")
        layout = _uniform(uniform[path], lines[path], chunk_rows)
        yield path, tag, _table_parts(rows, declared, layout, chunk_rows)


def _table_parts(
    rows: pa.Table, declared: list[str], layout: _Layout, chunk_rows: int
) -> Iterator[Chunk]:
    for part in range(-(-rows.num_rows // chunk_rows)):
        yield _part(rows.slice(part * chunk_rows, chunk_rows), declared, layout, part, chunk_rows)


def _utf8(encoding: str) -> bool:
    return encoding.lower().replace("_", "-") in ("utf-8", "utf8", "ascii")


# --- line by line -------------------------------------------------------------------


def _line_chunks(
    path: Path, encoding: str, declared: list[str], chunk_rows: int
) -> Iterator[Chunk]:
    lines: list[bytes] = []
    first, yielded = 1, False
    for number, line in enumerate(physical_lines(file_blocks(path)), start=1):
        if not lines:
            first = number
        lines.append(line)
        if len(lines) >= chunk_rows:
            yield parse_ndjson(b"\n".join(lines), encoding, declared, first)
            lines, yielded = [], True
    if lines or not yielded:
        yield parse_ndjson(b"\n".join(lines), encoding, declared, first)


_SCAN = json.JSONDecoder().scan_once  # the C scanner json.loads uses, without its per-call overhead


def _parse_fast(data: bytes, encoding: str, declared: list[str], first_line: int = 1):
    """The usual file (every line decodes and is one JSON object) parsed ~3x faster than
    line by line with ``json.loads``, the frame built column by column. None when any line
    is not such a line: the per-line parser then names it."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    text = text.replace("\r\n", "\n")
    if "\r" in text:  # a lone CR also ends a line for the per-line parser
        return None
    numbers: list[int] = []
    records: list[dict] = []
    try:
        for number, line in enumerate(text.split("\n"), start=first_line):
            line = line.strip()
            if not line:
                continue
            record, end = _SCAN(line, 0)
            if end != len(line) or type(record) is not dict:
                return None
            numbers.append(number)
            records.append(record)
    except (StopIteration, ValueError):  # the C scanner's "no JSON value here"
        return None
    seen = list(dict.fromkeys(key for record in records for key in record))
    columns = [*declared, *[k for k in seen if k not in declared]]
    values = {
        c: [v if v is None or type(v) is str else raw_text(v) for v in (r.get(c) for r in records)]
        for c in columns
    }
    frame = pd.DataFrame({"_row_number": numbers, **values}, dtype=object)
    return frame, [], seen


def parse_ndjson(data: bytes, encoding: str, declared: list[str], first_line: int = 1) -> Chunk:
    """(frame, row errors, keys seen) of NDJSON ``data`` whose first line is ``first_line``."""
    if (fast := _parse_fast(data, encoding, declared, first_line)) is not None:
        return fast
    rows: list[list[object]] = []
    errors: list[RowError] = []
    seen: list[str] = []
    for number, text, problem in decoded(data.splitlines(), encoding, first_line):
        if text is None:
            errors.append(RowError(number, problem, "undecodable"))
            continue
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            errors.append(RowError(number, text[:2000], f"not JSON: {exc.msg}"))
            continue
        if not isinstance(record, dict):
            errors.append(RowError(number, text[:2000], "not a JSON object"))
            continue
        for key in record:
            if key not in seen:
                seen.append(key)
        rows.append([number, record])
    columns = [*declared, *[k for k in seen if k not in declared]]
    frame = pd.DataFrame(
        [[n, *[raw_text(rec.get(c)) for c in columns]] for n, rec in rows],
        columns=["_row_number", *columns],
        dtype=object,
    )
    return frame, errors, seen


def raw_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
