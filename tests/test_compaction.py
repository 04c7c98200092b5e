"""Compaction and vacuum of the lake's Delta tables (real delta-rs tables on disk)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from citylake import lake
from citylake.lake_maintenance import compact_lake, compact_table, delta_tables, summary

BATCHES = 30  # micro-batches, one Delta commit and one small file each


def _micro_batches(path: Path, first: int = 0, count: int = BATCHES) -> list[str]:
    ids = []
    for i in range(first, first + count):
        batch_id = f"mqtt-{i:04d}"
        rows = pa.table(
            {"reading_id": [f"{batch_id}-{k}" for k in range(20)], "value": [float(i)] * 20}
        )
        assert lake.append_batch(path, rows, batch_id, {"source_id": "rain_gauge"})
        ids.append(batch_id)
    return ids


@pytest.fixture()
def table(tmp_path: Path) -> tuple[Path, list[str]]:
    path = tmp_path / "lake" / "bronze" / "rain_gauge"
    return path, _micro_batches(path)


def test_compaction_rewrites_small_files_and_keeps_rows_and_batches(table) -> None:
    path, ids = table
    before = lake.read_table(path).sort_by("reading_id")
    result = compact_table(path, retention_hours=168, min_files=8)
    assert result.files_before == BATCHES and result.files_after == 1, result
    assert result.compacted and result.vacuumed == 0  # replaced files kept for time travel
    assert lake.read_table(path).sort_by("reading_id").equals(before)
    # Exactly-once survives: every batch landed before is still known as landed, and
    # landing one again writes nothing.
    assert lake.committed_in(lake.open_table(path), ids) == set(ids)
    again = pa.table({"reading_id": ["mqtt-0003-0"], "value": [3.0]})
    assert not lake.append_batch(path, again, ids[3], {"source_id": "rain_gauge"})
    assert lake.read_table(path).num_rows == BATCHES * 20


def test_time_travel_before_the_compaction_works_within_the_retention(table) -> None:
    path, _ = table
    version = DeltaTable(str(path)).version()
    as_it_was = lake.read_table(path).sort_by("reading_id")
    compact_table(path, retention_hours=168, min_files=8)
    _micro_batches(path, first=BATCHES, count=3)  # the stream goes on after it
    old = DeltaTable(str(path), version=version).to_pyarrow_table().sort_by("reading_id")
    assert old.equals(as_it_was)


def test_vacuum_removes_replaced_files_once_they_are_older_than_the_retention(table) -> None:
    path, _ = table
    version = DeltaTable(str(path)).version()
    compact_table(path, retention_hours=168, min_files=8)

    def parquet() -> list[Path]:
        return sorted(path.glob("*.parquet"))

    assert len(parquet()) == BATCHES + 1  # the replaced files stay for time travel
    # Vacuum reads when the log removed each file: with no retention left, all of them go.
    result = compact_table(path, retention_hours=0, min_files=8)
    assert result.vacuumed == BATCHES, result
    assert len(parquet()) == 1
    assert lake.read_table(path).num_rows == BATCHES * 20
    # Past the retention, time travel to before the compaction has no files to read.
    with pytest.raises(Exception, match=r"(?i)not found|no such file|does not exist"):
        DeltaTable(str(path), version=version).to_pyarrow_table()


def test_compact_lake_walks_every_table_and_skips_those_with_few_files(tmp_path, monkeypatch):
    from citylake.settings import load_settings

    monkeypatch.setenv("CITYLAKE_HOME", str(tmp_path))
    settings = load_settings()
    busy = settings.bronze_path("rain_gauge")
    quiet = settings.bronze_path("hotline_complaints")
    _micro_batches(busy)
    _micro_batches(quiet, count=2)
    assert delta_tables(settings.lake_root) == sorted([busy, quiet])
    results = {Path(r.table).name: r for r in compact_lake(settings)}
    assert results["rain_gauge"].files_after == 1
    assert not results["hotline_complaints"].compacted  # 2 files < CITYLAKE_COMPACT_MIN_FILES
    counts = summary(list(results.values()))
    assert counts["tables"] == 2 and counts["compacted"] == 1
    assert counts["files_before"] == BATCHES + 2 and counts["files_after"] == 3
