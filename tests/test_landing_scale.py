"""Landing at scale: large files in parts, many batches per commit, still exactly once.

Real Great Expectations and real Delta tables; crashes are injected by making one lake
or ledger write raise, as a killed process would leave it.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd
import pytest
from deltalake import DeltaTable

from citylake import lake
from citylake.catalog import FieldType
from citylake.connectors import files, ndjson_reader, text_lines
from citylake.landing import casting, ingest_source, ledger, steps
from citylake.settings import Settings, load_settings

HEADER = (
    "complaint_id,received_at,category,district_code,district,street_code,street,"
    "community_code,community,urgency,caller_phone,summary"
)


def complaint(n: int, category: str = "noise") -> str:
    return (
        f"C{n:06d},2026-09-01 08:{n % 60:02d}:00,{category},D01,东湖区,S0101,桥西街道,"
        f"C010101,花园社区,normal,13812345678,夜间施工噪音"
    )


@pytest.fixture()
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CITYLAKE_HOME", str(tmp_path / "home"))
    return load_settings()


@pytest.fixture(scope="module")
def validator(tmp_path_factory: pytest.TempPathFactory):
    from quality.validate import Validator

    return Validator(tmp_path_factory.mktemp("gx"), data_docs=False)


def drop(settings: Settings, name: str, lines: list[str]) -> Path:
    folder = settings.sources_root / "hotline_12345" / "drop"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    return path


def bronze(settings: Settings) -> pd.DataFrame:
    return lake.read_table(settings.bronze_path("hotline_complaints")).to_pandas()


def test_stream_splits_lines_like_splitlines_across_blocks() -> None:
    rng = random.Random(7)
    pieces = [b"a", b"bc", b"\r", b"\n", b"\r\n", b"", b"\xff\xfe", "东".encode()]
    for _ in range(300):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        cuts = sorted(rng.sample(range(len(data) + 1), min(len(data) + 1, rng.randint(0, 6))))
        blocks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        assert list(text_lines.physical_lines(blocks)) == data.splitlines(), (data, cuts)


def test_ndjson_in_parts_reads_like_the_whole_file(tmp_path: Path) -> None:
    lines = [json.dumps({"id": n, "v": n / 2, "note": "东" * (n % 3)}) for n in range(1, 12)]
    lines[3] = '{"id": 4, "v": '  # line 4: cut off
    lines[6] = ""  # line 7: blank
    lines[8] = "[1, 2]"  # line 9: not an object
    path = tmp_path / "kiosk.ndjson"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    whole, whole_errors, seen = ndjson_reader.parse_ndjson(path.read_bytes(), "utf-8", ["id", "v"])
    chunks = list(ndjson_reader.ndjson_file_chunks(path, "utf-8", ["id", "v"], chunk_rows=3))
    assert len(chunks) == 4
    parts = pd.concat([frame for frame, _, _ in chunks], ignore_index=True)
    assert parts.equals(whole) and whole["_row_number"].tolist() == [1, 2, 3, 5, 6, 8, 10, 11]
    errors = [(e.row_number, e.reason) for _, errs, _ in chunks for e in errs]
    assert errors == [(e.row_number, e.reason) for e in whole_errors]
    assert [n for n, _ in errors] == [4, 9] and seen == ["id", "v", "note"]


def test_fast_typing_matches_value_by_value_typing() -> None:
    samples = {
        FieldType.integer: ["1", " 2 ", "+3", "-4", "007", "3.0", "3.5", "x", "", None, "1e3"],
        FieldType.double: ["1", "1.5", " -2.25 ", ".5", "5.", "1e-3", "NaN", "inf", "1,5", None],
        FieldType.timestamp: [
            "2026-09-01T08:00:00",
            "2026-09-01 08:00",
            "2026-09-01",
            "2026-09-01T08:00:00+08:00",
            "2026-09-01T00:00:00Z",
            "2026-09-01T08:00:00.25-05:00",
            "01/09/2026 08:00",
            "",
            None,
        ],
        FieldType.date: ["2026-09-01", "2026-09-01T00:00:00", "2026/09/01", "2026-13-01", None],
        FieldType.boolean: ["true", "T", "1", "no", "N", "maybe", "", None, " Yes "],
    }
    # A zoned first value makes typing look for offsets first (casting._offset_first).
    zoned_first = [*samples[FieldType.timestamp][3:], *samples[FieldType.timestamp][:3]]
    for kind, values in [*samples.items(), (FieldType.timestamp, zoned_first)]:
        raw = pd.Series(values, dtype=object)
        fast, bad = casting._cast_column(raw, kind)
        slow = casting._cast_series(raw, kind)
        slow_bad = raw.notna() & (raw.astype(str).str.strip() != "") & slow.isna()
        for value, a, b in zip(values, slow.tolist(), fast.tolist(), strict=True):
            assert (pd.isna(a) and pd.isna(b)) or a == b, (kind, value, a, b)
        assert bad.tolist() == slow_bad.tolist(), kind
    # An impossible date inside a column of good ones fails alone, not the whole column.
    cast, bad = casting._cast_column(
        pd.Series(["2026-09-01T08:00:00", "2026-02-30T00:00:00"], dtype=object),
        FieldType.timestamp,
    )
    assert cast.notna().tolist() == [True, False] and bad.tolist() == [False, True]


def test_large_file_lands_in_parts_exactly_once(
    settings: Settings, validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "CHUNK_ROWS", 10)
    monkeypatch.setattr(steps, "GROUP_BATCHES", 1)  # one commit per part: crash between parts
    lines = [HEADER, *[complaint(n) for n in range(1, 26)]]
    lines[13] = "C000013,2026-09-01 09:00:00,noise,too,few"  # line 14: wrong field count
    drop(settings, "complaints_2026-09-01.csv", lines)

    real_append = lake.append_batches
    calls = {"bronze": 0}

    def crash_on_second_part(path: Path, rows, batch_ids, metadata, *tables):
        if path == settings.bronze_path("hotline_complaints"):
            calls["bronze"] += 1
            if calls["bronze"] == 2:
                raise OSError("killed while landing part 2")  # in the writer's thread
        return real_append(path, rows, batch_ids, metadata, *tables)

    monkeypatch.setattr(lake, "append_batches", crash_on_second_part)
    with pytest.raises(OSError, match="part 2"):
        ingest_source("hotline_complaints", settings, validator=validator)
    assert len(bronze(settings)) == 10  # part 1 only
    state = ledger.source_state(settings, "hotline_complaints", False)
    assert not state.landed_files  # the file is not taken until every part landed

    monkeypatch.setattr(lake, "append_batches", real_append)
    report = ingest_source("hotline_complaints", settings, validator=validator)
    landed = bronze(settings)
    assert len(landed) == 24 and landed["complaint_id"].is_unique  # 25 records, one unparseable
    quarantine = lake.read_table(settings.quarantine_path("hotline_complaints")).to_pylist()
    assert [(q["_row_number"], q["reasons"]) for q in quarantine] == [
        (14, "expected 12 fields, found 5")
    ]
    # Row numbers are the file's physical lines in every part.
    assert sorted(landed["_row_number"]) == [n for n in range(2, 27) if n != 14]
    entries = sorted(ledger.read(settings).to_pylist(), key=lambda e: e["file_part"])
    assert [e["file_part"] for e in entries] == [1, 2, 3]
    assert [e["file_parts"] for e in entries] == [None, None, 3]
    for e in entries:
        assert e["rows_received"] == e["rows_landed"] + e["rows_quarantined"] + e["rows_held"]
    assert sum(e["rows_received"] for e in entries) == 25
    assert report.received == 25  # the rerun re-read part 1; its commit was a no-op
    assert ingest_source("hotline_complaints", settings, validator=validator).batches == 0


def test_many_files_one_commit_each_batch_exactly_once(
    settings: Settings, validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for day in range(1, 6):
        rows = [complaint(day * 100 + n) for n in range(1, 8)]
        drop(settings, f"complaints_2026-09-0{day}.csv", [HEADER, *rows, rows[0]])

    real_record = ledger.record_many

    def crash(settings_: Settings, entries, *tables):
        raise OSError("killed before the ledger commit")

    monkeypatch.setattr(ledger, "record_many", crash)
    with pytest.raises(OSError, match="ledger"):
        ingest_source("hotline_complaints", settings, validator=validator)
    monkeypatch.setattr(ledger, "record_many", real_record)
    ingest_source("hotline_complaints", settings, validator=validator)

    landed = bronze(settings)
    assert len(landed) == 35 and landed["complaint_id"].is_unique
    table = DeltaTable(str(settings.bronze_path("hotline_complaints")))
    # One commit for the five files (the rerun found them all there and wrote nothing).
    assert table.version() == 0
    for batch_id in landed["_batch_id"].unique():
        assert table.transaction_version(f"citylake:{batch_id}") == 1
    quarantined = lake.read_table(settings.quarantine_path("hotline_complaints")).num_rows
    entries = ledger.read(settings).to_pylist()
    assert len(entries) == 5 and quarantined == 5  # each file's repeated last record
    assert sum(e["rows_received"] for e in entries) == 40
    assert all(e["status"] == ledger.LANDED for e in entries)
