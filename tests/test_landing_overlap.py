"""Landing over two cores: the read-ahead and write-behind threads keep delivery order,
raise what failed in the caller's thread, and stop cleanly; the writer's open Delta
tables see other writers' commits; feed files split a group's rows by batch."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from citylake import lake
from citylake.landing.feeds import _by_batch
from citylake.landing.overlap import ReadAhead, WriteBehind, quick_handover


def test_read_ahead_yields_in_order_from_its_own_thread() -> None:
    threads: set[str] = set()

    def source():
        for n in range(50):
            threads.add(threading.current_thread().name)
            yield n

    assert list(ReadAhead(source(), depth=3, name="reader-x")) == list(range(50))
    assert threads == {"reader-x"}


def test_read_ahead_raises_the_sources_error_after_what_came_before() -> None:
    def source():
        yield 1
        yield 2
        raise FileNotFoundError("drop folder gone")

    got = []
    with pytest.raises(FileNotFoundError, match="drop folder gone"):
        for n in ReadAhead(source()):
            got.append(n)
    assert got == [1, 2]


def test_closing_read_ahead_stops_and_closes_the_source_in_its_thread() -> None:
    closed_in: list[str] = []
    produced: list[int] = []

    def source():
        try:
            for n in range(1_000):
                produced.append(n)
                yield n
        finally:  # a database connection the source opened is closed where it was opened
            closed_in.append(threading.current_thread().name)

    reader = ReadAhead(source(), depth=2, name="reader-y")
    first = [n for n, _ in zip(reader, range(3), strict=False)]
    reader.close()
    assert first == [0, 1, 2]
    assert closed_in == ["reader-y"]
    assert len(produced) < 10  # it stopped near where the consumer did


def test_write_behind_runs_jobs_in_order_one_in_flight() -> None:
    done: list[int] = []
    running = {"now": 0, "most": 0}

    def job(n: int):
        def run() -> None:
            running["now"] += 1
            running["most"] = max(running["most"], running["now"])
            time.sleep(0.01)
            done.append(n)
            running["now"] -= 1

        return run

    writer: WriteBehind[None] = WriteBehind()
    for n in range(5):
        writer.submit(job(n))
    writer.run(job(5))  # the last one inline, after the others
    writer.close()
    assert done == [0, 1, 2, 3, 4, 5]
    assert running["most"] == 1


def test_write_behind_raises_a_failed_job_before_the_next_is_handed_over() -> None:
    done: list[str] = []

    def fail() -> None:
        raise OSError("disk full while committing group 1")

    writer: WriteBehind[None] = WriteBehind()
    writer.submit(fail)
    with pytest.raises(OSError, match="group 1"):
        writer.submit(lambda: done.append("group 2"))
    writer.close()
    assert done == []  # nothing after a failed group is written


def test_quick_handover_restores_the_switch_interval_when_the_last_run_ends() -> None:
    import sys

    before = sys.getswitchinterval()
    outer = quick_handover(0.0005)
    inner = quick_handover(0.0005)  # a second landing in another thread of the process
    outer.__enter__()
    inner.__enter__()
    assert sys.getswitchinterval() == pytest.approx(0.0005)
    outer.__exit__(None, None, None)  # the first one ends: the other still overlaps
    assert sys.getswitchinterval() == pytest.approx(0.0005)
    inner.__exit__(None, None, None)
    assert sys.getswitchinterval() == before


def test_open_tables_see_commits_made_by_another_writer(tmp_path: Path) -> None:
    path = tmp_path / "t"
    tables = lake.OpenTables()
    assert tables.get(path) is None  # not created yet
    write_deltalake(str(path), pa.table({"a": [1]}), mode="append")
    first = tables.get(path)
    assert first is not None and first.version() == 0
    write_deltalake(str(path), pa.table({"a": [2]}), mode="append")  # someone else
    again = tables.get(path)
    assert again is first and again.version() == 1
    lake.append_batches(path, pa.table({"a": [3], "_batch_id": ["b1"]}), ["b1"], {}, tables)
    assert tables.get(path).version() == 2
    assert lake.committed_in(tables.get(path), ["b1", "b2"]) == {"b1"}


def test_feed_rows_split_by_batch_in_row_order() -> None:
    rows = pa.table(
        {
            "_batch_id": ["b", "b", "a", "a", "a", "c"],
            "_row_number": [1, 2, 1, 5, 9, 3],
        }
    )
    # As a group's commit holds them: each batch one run, in row order: slices.
    parts = _by_batch(rows)
    assert [p["_batch_id"][0].as_py() for p in parts] == ["b", "a", "c"]
    assert [p["_row_number"].to_pylist() for p in parts] == [[1, 2], [1, 5, 9], [3]]
    # Read back from bronze in any order: sorted first.
    shuffled = rows.take([3, 0, 5, 2, 4, 1])
    parts = _by_batch(shuffled)
    assert {p["_batch_id"][0].as_py(): p["_row_number"].to_pylist() for p in parts} == {
        "a": [1, 5, 9],
        "b": [1, 2],
        "c": [3],
    }
    assert _by_batch(rows.slice(0, 0)) == []
