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
from pathlib import Path

import pandas as pd

from citylake.connectors.base import RowError
from citylake.connectors.text_lines import CHUNK_ROWS, decoded, file_blocks, physical_lines


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


def arrow_csv_chunk(
    group: list[tuple[int, bytes]], encoding: str, header: list[str]
) -> pd.DataFrame | None:
    """One chunk of physical lines read by Arrow's CSV reader, or None when Python's
    reader must read it (an undecodable line, a quote, a blank line, a wrong field count:
    the cases whose row numbers or errors only the line-by-line reader gets exactly).
    Without quotes, CSV is fields split on commas: both readers agree value for value."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    data = b"\n".join(line for _, line in group)
    if b'"' in data or any(not line.strip() for _, line in group):
        return None
    if encoding not in ("utf-8", "utf-8-sig"):
        try:
            data = data.decode(encoding).encode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        table = pacsv.read_csv(
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
    if table.num_rows != len(group):
        return None
    numbers = [n for n, _ in group]
    # A record of empty fields is no record (the line-by-line reader skips it): a line of
    # commas and whitespace (Unicode's too, so short ones are decoded to be sure).
    blank = [
        k
        for k, (_, line) in enumerate(group)
        if len(bare := line.replace(b",", b"").strip()) < 8
        and not bare.decode(encoding, "replace").strip()
    ]
    if blank:
        keep = sorted(set(range(len(group))) - set(blank))
        table = table.take(pa.array(keep, pa.int64()))
        numbers = [numbers[k] for k in keep]
    frame = table.to_pandas()
    frame.insert(0, "_row_number", pd.Series(numbers, dtype=object))
    return frame


def csv_file_chunks(path: Path, encoding: str, chunk_rows: int = CHUNK_ROWS):
    """The chunks of :func:`csv_chunks` for a whole file, read by Arrow while its lines
    allow (:func:`arrow_csv_chunk`); from the first chunk that does not, Python's reader
    takes the rest of the file, header first (so a quoted field spanning lines still
    parses). A header Arrow cannot key by (missing, undecodable, blank or repeated
    names) leaves the whole file to Python's reader."""
    from itertools import chain, islice

    physical = enumerate(physical_lines(file_blocks(path)), start=1)
    first = next(physical, None)
    header = _header(first[1], encoding) if first is not None else []
    if first is None or not header or not all(header) or len(set(header)) < len(header):
        rest = chain([first], physical) if first is not None else iter(())
        yield from csv_chunks(_decode_numbered(rest, encoding), chunk_rows)
        return
    yielded = False
    for group in iter(lambda: list(islice(physical, chunk_rows)), []):
        frame = arrow_csv_chunk(group, encoding, header)
        if frame is None:
            rest = chain([first], group, physical)
            yield from csv_chunks(_decode_numbered(rest, encoding), chunk_rows)
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
