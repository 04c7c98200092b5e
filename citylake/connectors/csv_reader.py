"""CSV drops read in chunks: Arrow's CSV reader where it is exact, Python's otherwise.

:func:`csv_file_chunks` reads a file chunk by chunk with Arrow while its lines allow
(:func:`arrow_csv_chunk`: no quote, no blank line, every line decodes and has the
header's fields); from the first chunk that does not, :func:`csv_chunks` (Python's
``csv`` module, line by line) reads the rest, so a quoted field spanning lines parses and
every malformed record becomes a row error naming its physical line. Both give the same
frames: object columns of str/None (an empty field is a missing value) and
``_row_number``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from citylake.connectors.base import RowError
from citylake.connectors.text_lines import CHUNK_ROWS, decoded, physical_lines, strip_ending


def csv_chunks(lines: Iterable[tuple[int, str | None, str]], chunk_rows: int | None):
    """(frame, row errors, header) per ``chunk_rows`` records (one chunk when None).

    Row numbers are physical line numbers of the whole file, in every chunk.
    """
    rows: list[list[object]] = []
    errors: list[RowError] = []
    last_line = [0]

    def good_lines() -> Iterator[str]:
        # Undecodable lines go to quarantine; the csv reader sees the rest, so quoted
        # fields spanning lines still parse and row numbers stay physical line numbers.
        for number, text, problem in lines:
            if text is None:
                errors.append(RowError(number, problem, "undecodable"))
                continue
            last_line[0] = number
            yield text + "\n"

    reader = csv.reader(good_lines(), strict=True)
    header: list[str] = []
    yielded = False
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(last_line[0], "", f"malformed CSV record: {exc}"))
            continue
        if not header:
            header = [h.strip().lstrip("\ufeff") for h in fields]
            continue
        if not "".join(fields).strip():  # a blank record
            continue
        if len(fields) != len(header):
            errors.append(
                RowError(
                    last_line[0],
                    ",".join(fields)[:2000],
                    f"expected {len(header)} fields, found {len(fields)}",
                )
            )
            continue
        # CSV cannot tell an empty string from a missing value; missing is what senders mean.
        rows.append([last_line[0], *(f if f != "" else None for f in fields)])
        if chunk_rows and len(rows) >= chunk_rows:
            yield pd.DataFrame(rows, columns=["_row_number", *header], dtype=object), errors, header
            rows, errors, yielded = [], [], True  # good_lines appends to the new list
    if rows or errors or not yielded:
        yield pd.DataFrame(rows, columns=["_row_number", *header], dtype=object), errors, header


def _read_arrow(data: bytes, encoding: str, header: list[str]) -> pa.Table | None:
    """``data`` (lines without the header) read by Arrow as text columns; None when Arrow
    refuses it (a wrong field count, bytes that do not decode)."""
    import pyarrow.csv as pacsv

    if encoding not in ("utf-8", "utf-8-sig"):
        try:
            data = data.decode(encoding).encode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        return pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=header, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                null_values=[""],
                strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None


def arrow_csv_chunk(
    group: list[tuple[int, bytes]], encoding: str, header: list[str]
) -> pd.DataFrame | None:
    """One chunk of physical lines read by Arrow's CSV reader, or None when Python's
    reader must read it (an undecodable line, a quote, a blank line, a wrong field count:
    the cases whose row numbers or errors only the line-by-line reader gets exactly).
    Without quotes, CSV is fields split on commas: both readers agree value for value."""
    data = b"\n".join(line for _, line in group)
    if b'"' in data or any(not line.strip() for _, line in group):
        return None
    table = _read_arrow(data, encoding, header)
    if table is None:
        return None
    if table.num_rows != len(group):
        return None
    numbers = [n for n, _ in group]
    # A record of empty fields is no record (the line-by-line reader skips it): a line of
    # commas and whitespace, Unicode's too (decoded to be sure when its first byte past
    # the commas and ASCII blanks could start a Unicode space).
    blank = [
        k
        for k, (_, line) in enumerate(group)
        if (not (bare := line.replace(b",", b"").lstrip(_ASCII_BLANK)) or bare[0] in _UNICODE_LEAD)
        and not bare.decode(encoding, "replace").strip()
    ]
    if blank:
        keep = sorted(set(range(len(group))) - set(blank))
        table = table.take(pa.array(keep, pa.int64()))
        numbers = [numbers[k] for k in keep]
    # Arrow-backed text columns: landing types them in Arrow without a copy to Python objects.
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    frame.insert(0, "_row_number", pd.Series(numbers, dtype=object))
    return frame


_ASCII_BLANK = b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
_UNICODE_LEAD = b"\xc2\xe1\xe2\xe3"  # of U+0085, U+00A0, U+1680, U+2000-U+205F, U+3000

# Bytes a line may start with when it could be blank or a record of nothing but commas
# and whitespace (Python's str.strip: ASCII whitespace, \x1c-\x1f, and the lead bytes of
# U+0085, U+00A0, U+1680, U+2000-U+205F and U+3000): only such chunks need looking at line
# by line; any other first byte makes a line a record.
_MAYBE_BLANK = np.zeros(256, dtype=bool)
_MAYBE_BLANK[list(b"," + _ASCII_BLANK + _UNICODE_LEAD)] = True
_READ = 8 << 20


@dataclass
class _Group:
    first: int  # the physical line number of its first line
    offset: int  # where it starts in the file
    data: bytes  # whole lines, each ending in LF (but a last line without one)
    ends: np.ndarray  # positions of its LFs


def _line_groups(path: Path, sizes: Iterator[int]) -> Iterator[_Group]:
    """The file cut after every ``next(sizes)`` LF-ended lines, found at C speed."""
    with path.open("rb") as fh:
        pending, offset, first = b"", 0, 1
        ends = np.zeros(0, dtype=np.intp)
        size = next(sizes)
        while True:
            block = fh.read(_READ)
            # Only the new bytes are searched: the pending ones' LFs are known.
            found = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10) + len(pending)
            ends = np.concatenate((ends, found))
            pending += block
            while len(ends) >= size:
                cut = int(ends[size - 1]) + 1
                yield _Group(first, offset, pending[:cut], ends[:size])
                pending, offset, first = pending[cut:], offset + cut, first + size
                ends = ends[size:] - cut
                size = next(sizes)
            if not block:
                if pending:
                    yield _Group(first, offset, pending, ends)
                return


def _python_from(
    path: Path, encoding: str, chunk_rows: int, group: _Group | None = None, header: bytes = b""
):
    """Python's reader from ``group`` on, ``header`` (line 1) first: the hand-over; the
    whole file when ``group`` is None."""
    from itertools import chain

    offset, first = (group.offset, group.first) if group is not None else (0, 1)

    def blocks() -> Iterator[bytes]:
        with path.open("rb") as fh:
            fh.seek(offset)
            yield from iter(lambda: fh.read(_READ), b"")

    rest = enumerate(physical_lines(blocks()), start=first)
    lines = chain([(1, header)], rest) if group is not None else rest
    yield from csv_chunks(_decode_numbered(lines, encoding), chunk_rows)


def _no_lone_cr(data: bytes) -> bool:
    """Every CR ends a line with the LF after it (a lone CR is a line end only to Python)."""
    return b"\r" not in data or data.count(b"\r") == data.count(b"\r\n")


def _arrow_group(group: _Group, encoding: str, header: list[str]) -> pd.DataFrame | None:
    """A chunk read by Arrow in one call, when no line in it can be blank (see
    _MAYBE_BLANK) and none holds a quote or a lone CR; else None."""
    data = group.data
    starts = np.concatenate(([0], group.ends[:-1] + 1)) if len(group.ends) else np.zeros(1, int)
    lines = len(group.ends) + (not data.endswith(b"\n"))
    starts = starts[:lines]
    if b'"' in data or _MAYBE_BLANK[np.frombuffer(data, dtype=np.uint8)[starts]].any():
        return None
    if not _no_lone_cr(data):
        return None
    table = _read_arrow(data, encoding, header)
    if table is None or table.num_rows != lines:
        return None
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    frame.insert(0, "_row_number", pd.Series(range(group.first, group.first + lines), dtype=object))
    return frame


def csv_file_chunks(path: Path, encoding: str, chunk_rows: int = CHUNK_ROWS):
    """The chunks of :func:`csv_chunks` for a whole file, read by Arrow while its lines
    allow: a chunk of lines at a time in one call (:func:`_arrow_group`), or, when some
    line might be blank, checked line by line first (:func:`arrow_csv_chunk`). From the
    first chunk neither may read (a quote, a lone CR, a blank line, a wrong field count,
    an undecodable line), Python's reader takes the rest of the file, header first (so a
    quoted field spanning lines still parses). A header Arrow cannot key by (missing,
    undecodable, blank or repeated names) leaves the whole file to Python's reader."""
    from itertools import chain, repeat

    groups = _line_groups(path, chain([1], repeat(chunk_rows)))
    head = next(groups, None)
    if head is None:  # an empty file
        yield from csv_chunks(iter(()), chunk_rows)
        return
    line = strip_ending(head.data)
    header = _header(line, encoding)
    if b"\r" in line or not header or not all(header) or len(set(header)) < len(header):
        yield from _python_from(path, encoding, chunk_rows)
        return
    yielded = False
    for group in groups:
        frame = _arrow_group(group, encoding, header)
        if frame is None and _no_lone_cr(group.data):
            numbered = enumerate(physical_lines([group.data]), start=group.first)
            frame = arrow_csv_chunk(list(numbered), encoding, header)
        if frame is None:
            yield from _python_from(path, encoding, chunk_rows, group, line)
            return
        yield frame, [], header
        yielded = True
    if not yielded:  # a header and no records: one empty part, as Python's reader gives
        yield pd.DataFrame(columns=["_row_number", *header], dtype=object), [], header


def _header(line: bytes, encoding: str) -> list[str]:
    try:
        names = next(csv.reader([line.decode(encoding)]), [])
    except (UnicodeDecodeError, csv.Error):
        return []
    return [h.strip().lstrip("\ufeff") for h in names]


def _decode_numbered(
    lines: Iterable[tuple[int, bytes]], encoding: str
) -> Iterator[tuple[int, str | None, str]]:
    for number, raw in lines:
        yield from decoded([raw], encoding, start=number)
