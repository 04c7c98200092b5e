"""Text deliveries read as lines: encodings, and physical lines streamed from a file.

Shared by the CSV and NDJSON readers: a file is read in blocks and split exactly like
``bytes.splitlines``, each line numbered as the file's physical line, so a quarantined
record names the line a person finds in the file.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from pathlib import Path


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
BLOCK = 1 << 20


def strip_ending(line: bytes) -> bytes:
    if line.endswith(b"\r\n"):
        return line[:-2]
    return line[:-1] if line.endswith((b"\n", b"\r")) else line


def physical_lines(blocks: Iterable[bytes]) -> Iterator[bytes]:
    """The lines of a stream read in blocks, split exactly like ``bytes.splitlines``."""
    pending = b""
    for block in blocks:
        lines = (pending + block).splitlines(keepends=True)
        # The last line may continue in the next block (a CR there may precede an LF).
        pending = lines.pop() if lines and not lines[-1].endswith(b"\n") else b""
        for line in lines:
            yield strip_ending(line)
    if pending:
        yield strip_ending(pending)


def decoded(
    lines: Iterable[bytes], encoding: str, start: int = 1
) -> Iterator[tuple[int, str | None, str]]:
    """(line number, text or None when undecodable, raw repr) for each physical line."""
    for number, raw in enumerate(lines, start=start):
        try:
            yield number, raw.decode(encoding), ""
        except UnicodeDecodeError as exc:
            yield number, None, f"bytes {raw[:200]!r} are not {encoding}: {exc.reason}"


def file_blocks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        yield from iter(lambda: fh.read(BLOCK), b"")


def detect_file_encoding(path: Path) -> str:
    """:func:`detect_encoding` for a file of any size, read in blocks."""
    head = path.open("rb").read(len(codecs.BOM_UTF8))
    if head == codecs.BOM_UTF8:
        return "utf-8-sig"
    for candidate in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(candidate)()
        try:
            for block in file_blocks(path):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return candidate
    with path.open("rb") as fh:
        return detect_encoding(fh.read(BLOCK))
