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
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from citylake.catalog import FileDropConnector, Source
from citylake.connectors.base import RawBatch, RowError, SourceState, make_batch_id
from citylake.settings import Settings
from citylake.source_systems import drop_folder

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


def _decoded_lines(data: bytes, encoding: str) -> Iterator[tuple[int, str | None, str]]:
    """(line number, text or None when undecodable, raw repr) for each physical line."""
    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            yield number, raw.decode(encoding), ""
        except UnicodeDecodeError as exc:
            yield number, None, f"bytes {raw[:200]!r} are not {encoding}: {exc.reason}"


def _parse_csv(data: bytes, encoding: str, declared: list[str]):
    rows: list[list[object]] = []
    errors: list[RowError] = []
    last_line = [0]

    def good_lines() -> Iterator[str]:
        # Undecodable lines go to quarantine; the csv reader sees the rest, so quoted
        # fields spanning lines still parse and row numbers stay physical line numbers.
        for number, text, problem in _decoded_lines(data, encoding):
            if text is None:
                errors.append(RowError(number, problem, "undecodable"))
                continue
            last_line[0] = number
            yield text + "\n"

    reader = csv.reader(good_lines(), strict=True)
    header: list[str] = []
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
        if not any(f.strip() for f in fields):
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
    frame = pd.DataFrame(rows, columns=["_row_number", *header], dtype=object)
    return frame, errors, header


def _parse_ndjson(data: bytes, encoding: str, declared: list[str]):
    rows: list[list[object]] = []
    errors: list[RowError] = []
    seen: list[str] = []
    for number, text, problem in _decoded_lines(data, encoding):
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


def extract_files(
    source: Source, connector: FileDropConnector, settings: Settings, state: SourceState
) -> Iterator[RawBatch]:
    declared = [f.name for f in source.fields]
    parse = _parse_csv if connector.kind == "csv_drop" else _parse_ndjson
    for path, sha in new_files(source, connector, settings, state):
        data = path.read_bytes()
        encoding = connector.encoding
        if encoding == "auto":
            encoding = detect_encoding(data)
            log.info("%s: %s detected as %s", source.id, path.name, encoding)
        frame, errors, delivered = parse(data, encoding, declared)
        missing = [c for c in declared if c not in frame.columns]
        for name in missing:
            frame[name] = None
        extra = [c for c in delivered if c not in declared]
        log.info(
            "%s: read %s (%d records, %d unparseable)",
            source.id,
            path.name,
            len(frame),
            len(errors),
        )
        yield RawBatch(
            source_id=source.id,
            batch_id=make_batch_id(source.id, "file", path.name, sha),
            ref=f"{path.name}@sha256:{sha[:12]}",
            frame=frame,
            row_errors=errors,
            file_name=path.name,
            file_sha256=sha,
            extra_columns=extra,
            missing_columns=missing,
        )
