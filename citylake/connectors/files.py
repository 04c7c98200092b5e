"""File drop folders: CSV and NDJSON, each file taken once per version (name + digest).

A file is one batch. Records that cannot be parsed (wrong field count, bad JSON,
undecodable bytes) become row errors for quarantine; the rest of the file still lands.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from citylake.catalog import FileDropConnector, Source
from citylake.connectors.base import RawBatch, RowError, SourceState, make_batch_id
from citylake.connectors.source_systems import drop_folder
from citylake.settings import Settings

log = logging.getLogger(__name__)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def detect_encoding(data: bytes) -> str:
    """UTF-8 (with or without BOM) or GB18030 (a GBK superset), for ``encoding: auto``.

    A strict decode decides (CJK text in GBK is practically never valid UTF-8);
    charset_normalizer only guesses when neither decodes cleanly, and the lines that
    still do not decode become row errors.
    """
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    for candidate in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(candidate)()
        try:
            for start in range(0, len(data), 1 << 20):
                decoder.decode(data[start : start + (1 << 20)])
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return candidate
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 1 << 20]).best()
    return best.encoding if best is not None else "gb18030"


# A CSV file with more records than this lands as several batches ("parts"), read as a
# stream: memory stays bounded by the part size whatever the file's size.
CHUNK_ROWS = 50_000
_BLOCK = 1 << 20


def _strip_ending(line: bytes) -> bytes:
    if line.endswith(b"\r\n"):
        return line[:-2]
    return line[:-1] if line.endswith((b"\n", b"\r")) else line


def _physical_lines(blocks: Iterable[bytes]) -> Iterator[bytes]:
    """The lines of a stream read in blocks, split exactly like ``bytes.splitlines``."""
    pending = b""
    for block in blocks:
        lines = (pending + block).splitlines(keepends=True)
        # The last line may continue in the next block (a CR there may precede an LF).
        pending = lines.pop() if lines and not lines[-1].endswith(b"\n") else b""
        for line in lines:
            yield _strip_ending(line)
    if pending:
        yield _strip_ending(pending)


def _decoded(
    lines: Iterable[bytes], encoding: str, start: int = 1
) -> Iterator[tuple[int, str | None, str]]:
    """(line number, text or None when undecodable, raw repr) for each physical line."""
    for number, raw in enumerate(lines, start=start):
        try:
            yield number, raw.decode(encoding), ""
        except UnicodeDecodeError as exc:
            yield number, None, f"bytes {raw[:200]!r} are not {encoding}: {exc.reason}"


def _decoded_lines(data: bytes, encoding: str) -> Iterator[tuple[int, str | None, str]]:
    return _decoded(data.splitlines(), encoding)


def _file_blocks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        yield from iter(lambda: fh.read(_BLOCK), b"")


def detect_file_encoding(path: Path) -> str:
    """:func:`detect_encoding` for a file of any size, read in blocks."""
    head = path.open("rb").read(len(codecs.BOM_UTF8))
    if head == codecs.BOM_UTF8:
        return "utf-8-sig"
    for candidate in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(candidate)()
        try:
            for block in _file_blocks(path):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return candidate
    with path.open("rb") as fh:
        return detect_encoding(fh.read(_BLOCK))


def _csv_chunks(lines: Iterable[tuple[int, str | None, str]], chunk_rows: int | None):
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


def _arrow_csv_chunk(
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


def _csv_file_chunks(path: Path, encoding: str, chunk_rows: int = CHUNK_ROWS):
    """The chunks of :func:`_csv_chunks` for a whole file, read by Arrow while its lines
    allow (:func:`_arrow_csv_chunk`); from the first chunk that does not, Python's reader
    takes the rest of the file (so a quoted field spanning lines still parses)."""
    from itertools import chain, islice

    physical = enumerate(_physical_lines(_file_blocks(path)), start=1)
    first = next(physical, None)
    header: list[str] = []
    if first is not None:
        try:
            names = next(csv.reader([first[1].decode(encoding)]), [])
        except (UnicodeDecodeError, csv.Error):
            names = []
        header = [h.strip().lstrip("\ufeff") for h in names]
    usable = bool(header) and len(set(header)) == len(header) and all(header)
    yielded = False
    while usable:
        group = list(islice(physical, chunk_rows))
        if not group:
            break
        frame = _arrow_csv_chunk(group, encoding, header)
        if frame is None:
            rest = chain([first], group, physical) if first else iter(())
            yield from _csv_chunks(_decode_numbered(rest, encoding), chunk_rows)
            return
        yield frame, [], header
        yielded = True
    if usable:
        if not yielded:
            yield pd.DataFrame(columns=["_row_number", *header], dtype=object), [], header
        return
    rest = chain([first], physical) if first else iter(())
    yield from _csv_chunks(_decode_numbered(rest, encoding), chunk_rows)


def _decode_numbered(
    lines: Iterable[tuple[int, bytes]], encoding: str
) -> Iterator[tuple[int, str | None, str]]:
    for number, raw in lines:
        yield from _decoded([raw], encoding, start=number)


def _ndjson_chunks(path: Path, encoding: str, declared: list[str]):
    """(frame, row errors, keys seen) per ``CHUNK_ROWS`` lines of an NDJSON file, streamed."""
    lines: list[bytes] = []
    first, yielded = 1, False
    for number, line in enumerate(_physical_lines(_file_blocks(path)), start=1):
        if not lines:
            first = number
        lines.append(line)
        if len(lines) >= CHUNK_ROWS:
            yield _parse_ndjson(b"\n".join(lines), encoding, declared, first)
            lines, yielded = [], True
    if lines or not yielded:
        yield _parse_ndjson(b"\n".join(lines), encoding, declared, first)


def _parse_csv(data: bytes, encoding: str, declared: list[str]):
    return next(_csv_chunks(_decoded_lines(data, encoding), None))


_SCAN = json.JSONDecoder().scan_once  # the C scanner json.loads uses, without its per-call overhead


def _parse_ndjson_fast(data: bytes, encoding: str, declared: list[str], first_line: int = 1):
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
        c: [v if v is None or type(v) is str else _raw(v) for v in (r.get(c) for r in records)]
        for c in columns
    }
    frame = pd.DataFrame({"_row_number": numbers, **values}, dtype=object)
    return frame, [], seen


def _parse_ndjson(data: bytes, encoding: str, declared: list[str], first_line: int = 1):
    """(frame, row errors, keys seen) of NDJSON ``data`` whose first line is ``first_line``."""
    if (fast := _parse_ndjson_fast(data, encoding, declared, first_line)) is not None:
        return fast
    rows: list[list[object]] = []
    errors: list[RowError] = []
    seen: list[str] = []
    for number, text, problem in _decoded(data.splitlines(), encoding, first_line):
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
        [[n, *[_raw(rec.get(c)) for c in columns]] for n, rec in rows],
        columns=["_row_number", *columns],
        dtype=object,
    )
    return frame, errors, seen


def _raw(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def new_files(
    source: Source, connector: FileDropConnector, settings: Settings, state: SourceState
) -> Iterator[tuple[Path, str]]:
    """(path, sha256) of each file in the drop folder not landed yet in this version."""
    folder = drop_folder(connector, settings)
    if not folder.is_dir():
        raise FileNotFoundError(f"{source.id}: drop folder {folder} does not exist")
    root = folder.resolve()
    for path in sorted(folder.glob(connector.pattern)):
        # A link or odd name must not make us read outside the drop folder.
        if not path.is_file() or path.resolve().parent != root:
            log.warning("%s: skipping %s: not a regular file inside %s", source.id, path, root)
            continue
        sha = _sha256(path)
        if (path.name, sha) in state.landed_files:
            continue
        yield path, sha


def _parts(
    source: Source,
    path: Path,
    sha: str,
    chunks: Iterator[tuple[pd.DataFrame, list[RowError], list[str]]],
) -> Iterator[tuple[pd.DataFrame, list[RowError], list[str], dict[str, object]]]:
    """Each chunk with its batch identity. A file in one chunk is one batch as ever; a
    larger one lands in parts, each its own batch (own id, ledger row, exactly-once). One
    chunk of look-ahead tells the last part, whose ledger row then says how many parts
    there are: the file counts as landed only when all of them are (ledger.source_state).
    """
    ref = f"{path.name}@sha256:{sha[:12]}"
    previous = next(chunks)
    part = 1
    for chunk in chunks:
        first = int(previous[0]["_row_number"].iloc[0]) if len(previous[0]) else 0
        yield (
            *previous,
            {
                "batch_id": make_batch_id(source.id, "file", path.name, sha, f"part {part}"),
                "ref": f"{ref} part {part} (from line {first})",
                "file_part": part,
            },
        )
        previous, part = chunk, part + 1
    if part == 1:
        yield *previous, {"batch_id": make_batch_id(source.id, "file", path.name, sha), "ref": ref}
    else:
        yield (
            *previous,
            {
                "batch_id": make_batch_id(source.id, "file", path.name, sha, f"part {part}"),
                "ref": f"{ref} part {part} of {part}",
                "file_part": part,
                "file_parts": part,
            },
        )


def extract_files(
    source: Source, connector: FileDropConnector, settings: Settings, state: SourceState
) -> Iterator[RawBatch]:
    declared = [f.name for f in source.fields]
    for path, sha in new_files(source, connector, settings, state):
        encoding = connector.encoding
        if encoding == "auto":
            encoding = detect_file_encoding(path)
            log.info("%s: %s detected as %s", source.id, path.name, encoding)
        # Streamed: a file of any size is read block by block and lands in parts.
        if connector.kind == "csv_drop":
            chunks = _csv_file_chunks(path, encoding, CHUNK_ROWS)
        else:
            chunks = _ndjson_chunks(path, encoding, declared)
        for frame, errors, delivered, identity in _parts(source, path, sha, chunks):
            # NDJSON frames carry every declared column; what was delivered is the keys seen.
            missing = [c for c in declared if c not in delivered] if delivered else []
            for name in declared:
                if name not in frame.columns:
                    frame[name] = None
            extra = [c for c in delivered if c not in declared]
            log.info(
                "%s: read %s (%d records, %d unparseable)",
                source.id,
                identity["ref"],
                len(frame),
                len(errors),
            )
            yield RawBatch(
                source_id=source.id,
                frame=frame,
                row_errors=errors,
                file_name=path.name,
                file_sha256=sha,
                extra_columns=extra,
                missing_columns=missing,
                **identity,  # type: ignore[arg-type]
            )
