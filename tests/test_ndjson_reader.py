"""NDJSON drops: DuckDB's reader where it is exact, the line reader otherwise, the same
parts, frames, keys and errors either way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citylake.connectors import ndjson_reader

DECLARED = ["id", "v", "missing"]


def record(n: int) -> dict:
    found: dict = {"id": n, "v": n / 3, "note": "东" * (n % 3)}
    if n % 4 == 0:
        found["extra"] = n * 1e20  # an undeclared key, in some parts only
    if n == 5:
        found["z"] = None
    return found


def same(path: Path, chunk_rows: int) -> list:
    fast = list(ndjson_reader.ndjson_file_chunks(path, "utf-8", DECLARED, chunk_rows))
    slow = list(ndjson_reader._line_chunks(path, "utf-8", DECLARED, chunk_rows))
    assert len(fast) == len(slow)
    for (fa, ea, ka), (fb, eb, kb) in zip(fast, slow, strict=True):
        assert ka == kb
        a = fa.astype(object).where(fa.notna(), None)
        b = fb.astype(object).where(fb.notna(), None)
        assert a.equals(b)
        assert [(e.row_number, e.reason) for e in ea] == [(e.row_number, e.reason) for e in eb]
    return fast


@pytest.mark.parametrize(
    ("name", "lines", "by_duckdb"),
    [
        (
            "numbers, text, an extra key in some parts",
            [json.dumps(record(n)) for n in range(1, 12)],
            True,
        ),
        (
            "unicode escaped and not",
            [json.dumps(record(n), ensure_ascii=n % 2 == 0) for n in range(1, 12)],
            True,
        ),
        (
            "booleans only in a column",
            [json.dumps({"id": n, "ok": n % 2 == 0}) for n in range(1, 8)],
            True,
        ),
        ("a boolean beside text", ['{"id": 1, "v": true}', '{"id": 2, "v": "true"}'], False),
        ("an object value", ['{"id": 1, "v": {"k": [1, 2]}}', '{"id": 2, "v": 3}'], False),
        ("text that looks nested", ['{"id": 1, "v": "x: [1]"}'] * 3, True),
        ("a blank line", ['{"id": 1}', "", '{"id": 3}'], False),
        ("not JSON", ['{"id": 1}', '{"id": 2, "v": ', '{"id": 3}'], False),
        ("not an object", ['{"id": 1}', "[1, 2]", '{"id": 3}'], False),
        ("an empty object", ['{"id": 1}', "{}", '{"id": 3}'], True),
    ],
)
def test_duckdb_and_line_readers_agree(tmp_path: Path, name: str, lines: list, by_duckdb: bool):
    path = tmp_path / "feed.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert (ndjson_reader._duckdb_layout(path, "utf-8", 4) is not None) == by_duckdb, name
    same(path, 4)


def test_crlf_and_no_final_newline_go_to_the_line_reader(tmp_path: Path) -> None:
    path = tmp_path / "feed.ndjson"
    path.write_bytes(b'{"id": 1}\r\n{"id": 2}\r\n')
    assert ndjson_reader._duckdb_layout(path, "utf-8", 4) is None
    same(path, 4)
    path.write_bytes(b'{"id": 1}\n{"id": 2}')
    assert ndjson_reader._duckdb_layout(path, "utf-8", 4) is not None
    assert [f["_row_number"].tolist() for f, _, _ in same(path, 1)] == [[1], [2]]
    path.write_bytes(b"")
    assert same(path, 4)[0][0].empty


DROP = {
    "a_uniform.ndjson": [
        json.dumps({"id": n, "v": n / 7, "note": "东" * (n % 3)}) for n in range(9)
    ],
    "b_uniform_other_keys.ndjson": [json.dumps({"v": n * 1e20, "id": str(n)}) for n in range(5)],
    "c_escaped.ndjson": [
        json.dumps({"id": n, "v": 'é "q" \\ /'}, ensure_ascii=True) for n in range(4)
    ],
    "d_blank_line.ndjson": ['{"id": 1}', "", '{"id": 3}'],
    "e_key_varies.ndjson": ['{"id": 1, "v": 2}', '{"id": 2}', '{"v": 3, "id": 3}'],
    "f_boolean.ndjson": [json.dumps({"id": n, "ok": n % 2 == 0}) for n in range(5)],
    "g_not_json.ndjson": ['{"id": 1}', '{"id": 2, "v": ', '{"id": 3}'],
    "h_uniform_big_numbers.ndjson": [json.dumps({"id": 10**25 + n, "v": -0.0}) for n in range(6)],
    # DuckDB's own name for a row's file in a multi-file read: such a file is read alone.
    "k_key_named_file_index.ndjson": [json.dumps({"file_index": n, "id": n}) for n in range(3)],
}


@pytest.mark.parametrize("together_bytes", [1 << 20, 1])
def test_files_read_together_equal_each_read_alone(tmp_path: Path, together_bytes: int) -> None:
    files = []
    for name, lines in DROP.items():
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append((path, "utf-8", name))
    (tmp_path / "i_crlf.ndjson").write_bytes(b'{"id": 1}\r\n{"id": 2}\r\n')
    (tmp_path / "j_empty.ndjson").write_bytes(b"")
    files += [(tmp_path / n, "utf-8", n) for n in ("i_crlf.ndjson", "j_empty.ndjson")]
    read = list(ndjson_reader.ndjson_drop_chunks(files, DECLARED, 2, together_bytes))
    assert [tag for _, tag, _ in read] == [tag for _, _, tag in files]
    by_query = {tag for _, tag, chunks in read if chunks.gi_code.co_name == "_table_parts"}
    if together_bytes > 1:  # the uniform files, in one query; the rest alone
        assert by_query == {
            "a_uniform.ndjson",
            "b_uniform_other_keys.ndjson",
            "c_escaped.ndjson",
            "h_uniform_big_numbers.ndjson",
        }
    else:
        assert not by_query
    for path, _, chunks in read:
        got = list(chunks)
        want = list(ndjson_reader._line_chunks(path, "utf-8", DECLARED, 2))
        assert len(got) == len(want), path.name
        for (fa, ea, ka), (fb, eb, kb) in zip(got, want, strict=True):
            assert ka == kb, path.name
            a = fa.astype(object).where(fa.notna(), None)
            b = fb.astype(object).where(fb.notna(), None)
            assert a.equals(b), path.name
            assert [(e.row_number, e.reason) for e in ea] == [(e.row_number, e.reason) for e in eb]
