"""File drop folders: CSV and NDJSON, each file taken once per version (name + digest).

A file is one batch (a large one lands in parts of ``CHUNK_ROWS`` records). Records that
cannot be parsed (wrong field count, bad JSON, undecodable bytes) become row errors for
quarantine; the rest of the file still lands. CSV is read by ``csv_reader``, NDJSON by
``ndjson_reader`` (a drop's small files several per DuckDB query), lines and encodings
by ``text_lines``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from citylake.catalog import FileDropConnector, Source
from citylake.connectors.base import RawBatch, RowError, SourceState, make_batch_id
from citylake.connectors.csv_reader import csv_file_chunks
from citylake.connectors.ndjson_reader import Chunk, ndjson_drop_chunks
from citylake.connectors.source_systems import drop_folder
from citylake.connectors.text_lines import (
    CHUNK_ROWS,
    detect_file_encoding,
)
from citylake.settings import Settings

log = logging.getLogger(__name__)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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
    chunks: Iterator[Chunk],
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

    def found() -> Iterator[tuple[Path, str, str]]:
        for path, sha in new_files(source, connector, settings, state):
            encoding = connector.encoding
            if encoding == "auto":
                encoding = detect_file_encoding(path)
                log.info("%s: %s detected as %s", source.id, path.name, encoding)
            yield path, encoding, sha

    # Streamed: a file of any size is read block by block and lands in parts.
    files: Iterator[tuple[Path, str, Iterator[Chunk]]]
    if connector.kind == "csv_drop":
        files = ((p, sha, csv_file_chunks(p, enc, CHUNK_ROWS)) for p, enc, sha in found())
    else:  # small files are read together (ndjson_reader.TOGETHER_BYTES)
        files = ndjson_drop_chunks(found(), declared, CHUNK_ROWS)
    for path, sha, chunks in files:
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
