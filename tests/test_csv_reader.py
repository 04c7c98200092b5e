"""The CSV drop reader: Arrow's reader where it is exact, Python's where it is not, the
same frames, errors and row numbers either way."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from citylake.connectors.csv_reader import csv_chunks, csv_file_chunks
from citylake.connectors.text_lines import decoded, file_blocks, physical_lines

HEADER = "complaint_id,received_at,category,summary\n"
LINES = [f"C{i:05d},2026-09-01 08:{i % 60:02d}:00,noise,夜间施工噪音{i}\n" for i in range(1, 26)]
PLAIN = "".join(LINES)


def lines(a: int, b: int | None = None) -> str:
    return "".join(LINES[a:b])


def line_by_line(path: Path, encoding: str, chunk_rows: int) -> list:
    lines = decoded(physical_lines(file_blocks(path)), encoding)
    return list(csv_chunks(lines, chunk_rows))


def same(a: list, b: list) -> None:
    """The same records, errors and header. Parts may be cut at other lines: Arrow's reader
    counts lines per part, Python's counts records, and a blank record is a line only."""
    assert a and b and {tuple(h) for *_, h in a} == {tuple(h) for *_, h in b}
    pd.testing.assert_frame_equal(
        pd.concat([f for f, _, _ in a], ignore_index=True).astype(object),
        pd.concat([f for f, _, _ in b], ignore_index=True).astype(object),
        check_dtype=False,
    )
    errors = [[(e.row_number, e.reason) for _, errs, _ in x for e in errs] for x in (a, b)]
    assert errors[0] == errors[1]


@pytest.mark.parametrize(
    ("name", "body", "encoding"),
    [
        ("plain, three chunks", HEADER + PLAIN, "utf-8"),
        ("GB18030", HEADER + PLAIN, "gb18030"),
        ("BOM", "\ufeff" + HEADER + PLAIN, "utf-8-sig"),
        ("empty fields and an empty record", HEADER + "C1,,noise,\n,,,\nC2,x,y,z\n", "utf-8"),
        ("quoted comma in the second chunk", HEADER + lines(0, 14) + 'C9,"a, b",x,y\n', "utf-8"),
        ("quoted newline", HEADER + 'C1,"line one\nline two",x,y\n' + PLAIN, "utf-8"),
        ("blank line", HEADER + lines(0, 5) + "\n" + lines(5), "utf-8"),
        ("wrong field count", HEADER + lines(0, 12) + "C7,only,three\n" + lines(12), "utf-8"),
        ("CRLF line ends", (HEADER + PLAIN).replace("\n", "\r\n"), "utf-8"),
        ("a lone CR ends a line", HEADER + lines(0, 13) + "C8,x,y,z\r" + lines(13), "utf-8"),
        ("whitespace-only line", HEADER + lines(0, 12) + "   \t\n" + lines(12), "utf-8"),
        ("first field empty", HEADER + lines(0, 12) + ",x,y,z\n" + lines(12), "utf-8"),
        (
            "record of Unicode spaces",
            HEADER + lines(0, 12) + "\u3000,,\u00a0,\n" + lines(12),
            "utf-8",
        ),
        ("long Unicode-space record", HEADER + lines(0, 3) + "\u3000\u3000\u3000,,,\n", "utf-8"),
        ("no LF at the end", HEADER + PLAIN.rstrip("\n"), "utf-8"),
        ("header only", HEADER, "utf-8"),
        ("empty file", "", "utf-8"),
    ],
)
def test_arrow_and_python_readers_agree(tmp_path: Path, name: str, body: str, encoding: str):
    path = tmp_path / "drop.csv"
    path.write_bytes(body.encode(encoding if encoding != "utf-8-sig" else "utf-8"))
    same(list(csv_file_chunks(path, encoding, chunk_rows=10)), line_by_line(path, encoding, 10))


def test_an_undecodable_line_is_a_row_error_with_its_line_number(tmp_path: Path) -> None:
    path = tmp_path / "drop.csv"
    path.write_bytes((HEADER + lines(0, 3)).encode() + b"C8,\xff\xfe,x,y\n" + lines(3).encode())
    chunks = list(csv_file_chunks(path, "utf-8", chunk_rows=100))
    errors = [e for _, errs, _ in chunks for e in errs]
    assert [(e.row_number, e.reason) for e in errors] == [(5, "undecodable")]
    assert sum(len(f) for f, _, _ in chunks) == 25


def test_arrow_reads_plain_lines_and_leaves_quotes_and_blank_lines_to_python() -> None:
    from citylake.connectors.csv_reader import arrow_csv_chunk

    header = HEADER.strip().split(",")

    def numbered(text: str) -> list[tuple[int, bytes]]:
        return list(enumerate((line.encode() for line in text.splitlines()), start=2))

    frame = arrow_csv_chunk(numbered(PLAIN), "utf-8", header)
    assert frame is not None and len(frame) == 25
    assert frame["_row_number"].tolist() == list(range(2, 27))
    assert frame.loc[0, "summary"] == "夜间施工噪音1"
    assert arrow_csv_chunk(numbered('C1,"a, b",x,y'), "utf-8", header) is None
    assert arrow_csv_chunk(numbered(lines(0, 2) + "\n" + lines(2, 4)), "utf-8", header) is None
    assert arrow_csv_chunk(numbered("C1,x,y"), "utf-8", header) is None  # 3 of 4 fields


def test_a_chunk_is_read_in_one_arrow_call_unless_a_line_could_be_blank(tmp_path: Path) -> None:
    from itertools import chain, repeat

    from citylake.connectors.csv_reader import _arrow_group, _line_groups

    header = HEADER.strip().split(",")
    path = tmp_path / "drop.csv"
    path.write_bytes((HEADER + PLAIN.replace("\n", "\r\n")).encode())
    _, group = _line_groups(path, chain([1], repeat(100)))
    frame = _arrow_group(group, "utf-8", header)
    assert frame is not None and frame["_row_number"].tolist() == list(range(2, 27))
    assert frame["summary"].iloc[-1] == "夜间施工噪音25"  # the CR is the line's end, not data
    for odd in (",x,y,z\n", " \n", "\u3000,a,b,c\n", 'C1,"q",x,y\n', "C1,x,y,z\rC2,x,y,z\n"):
        path.write_bytes((HEADER + lines(0, 3) + odd).encode())
        _, group = _line_groups(path, chain([1], repeat(100)))
        assert _arrow_group(group, "utf-8", header) is None, odd
