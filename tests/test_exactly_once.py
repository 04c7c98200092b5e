"""Exactly once: a killed landing leaves nothing partial; reruns land each batch once.

The crash is real: ``citylake.landing`` runs in a subprocess that is SIGKILLed between
writing a batch's Parquet data file and committing it to the Delta log (the test-only
hook ``CITYLAKE_CRASH_AT`` in citylake.lake), so no Python cleanup runs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from citylake import lake
from citylake.landing import ingest_source, ledger
from citylake.orchestration.pipeline import ingest
from citylake.settings import Settings, load_settings

SOURCE = "hotline_complaints"
HEADER = (
    "complaint_id,received_at,category,district_code,district,street_code,street,"
    "community_code,community,urgency,caller_phone,summary"
)
RUNNER = """
import sys
from citylake.orchestration.pipeline import ingest
report = ingest(sys.argv[1])
print(f"landed {report.landed}")
"""


def complaint(n: int, category: str = "noise") -> str:
    return (
        f"C{n:06d},2026-09-01 08:{n % 60:02d}:00,{category},D01,东湖区,S0101,桥西街道,"
        f"C010101,花园社区,normal,13812345678,夜间施工噪音"
    )


@pytest.fixture()
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CITYLAKE_HOME", str(tmp_path / "home"))
    settings = load_settings()
    folder = settings.sources_root / "hotline_12345" / "drop"
    folder.mkdir(parents=True)
    lines = [HEADER, *(complaint(n) for n in range(1, 21)), complaint(21, category="aliens")]
    (folder / "complaints_2026-09-01.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return settings


def run_ingest(settings: Settings, tmp_path: Path, crash_at: str) -> subprocess.CompletedProcess:
    script = tmp_path / "run_ingest.py"  # a file: `python -c` with GX can exit silently
    script.write_text(RUNNER, encoding="utf-8")
    env = {**os.environ, "CITYLAKE_HOME": str(settings.home), "CITYLAKE_CRASH_AT": crash_at}
    return subprocess.run(
        [sys.executable, str(script), SOURCE],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[1],
    )


def parquet_files(path: Path) -> set[str]:
    return {p.name for p in path.glob("*.parquet")} if path.exists() else set()


def committed_files(path: Path) -> set[str]:
    table = lake.open_table(path)
    return {Path(f).name for f in table.file_uris()} if table is not None else set()


def test_kill_between_parquet_write_and_commit_then_rerun_lands_once(
    settings: Settings, tmp_path: Path
) -> None:
    bronze, quarantine = settings.bronze_path(SOURCE), settings.quarantine_path(SOURCE)

    # 1. Killed before the bronze commit: a data file on disk, nothing in the table.
    crashed = run_ingest(settings, tmp_path, "before_commit@bronze")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    orphans = parquet_files(bronze)
    assert orphans, "the crash hook should have left the written Parquet file behind"
    assert lake.open_table(bronze) is None  # no commit, no table: readers see nothing
    assert len(ledger.read(settings)) == 0

    # 2. Killed before the quarantine commit: bronze committed, quarantine and ledger not.
    crashed = run_ingest(settings, tmp_path, "before_commit@quarantine")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    assert lake.read_table(bronze).num_rows == 20
    assert orphans.isdisjoint(committed_files(bronze))  # the first run's file stays orphaned
    assert lake.open_table(quarantine) is None
    assert len(ledger.read(settings)) == 0

    # 3. The rerun completes the batch: bronze is not doubled, quarantine and ledger land.
    report = ingest(SOURCE, settings=settings)
    assert (report.received, report.quarantined) == (21, 1)
    assert lake.read_table(bronze).num_rows == 20
    assert lake.read_table(quarantine).num_rows == 1
    (entry,) = ledger.read(settings).to_pylist()
    assert (entry["status"], entry["rows_landed"], entry["rows_quarantined"]) == (
        ledger.LANDED,
        20,
        1,
    )
    # Readers go through the Delta log only: the orphan files are on disk, never read.
    assert len(parquet_files(bronze)) > len(committed_files(bronze))
    rows = lake.read_table(bronze, columns=["complaint_id"]).column(0).to_pylist()
    assert sorted(rows) == [f"C{n:06d}" for n in range(1, 21)]

    # 4. Running again adds nothing.
    assert ingest(SOURCE, settings=settings).batches == 0
    assert lake.read_table(bronze).num_rows == 20
    assert len(ledger.read(settings)) == 1


def test_batch_rerun_after_ledger_loss_adds_nothing(settings: Settings) -> None:
    """Bronze and quarantine know their batches themselves (Delta app transactions): if the
    ledger row is lost (a crash after both commits, before the ledger write), the rerun
    re-extracts the batch, writes nothing twice and records the ledger row again."""
    from quality.validate import Validator

    validator = Validator(settings.quality_home, data_docs=False)
    first = ingest_source(SOURCE, settings, validator=validator)
    assert (first.landed, first.quarantined) == (20, 1)
    versions = {
        name: lake.open_table(path).version()  # type: ignore[union-attr]
        for name, path in (
            ("bronze", settings.bronze_path(SOURCE)),
            ("quarantine", settings.quarantine_path(SOURCE)),
        )
    }
    shutil.rmtree(settings.ledger_path)

    again = ingest_source(SOURCE, settings, validator=validator)
    assert again.batches == 1  # the ledger forgot it, so it was extracted again...
    assert lake.read_table(settings.bronze_path(SOURCE)).num_rows == 20  # ...but not re-landed
    assert lake.read_table(settings.quarantine_path(SOURCE)).num_rows == 1
    for name, path in (
        ("bronze", settings.bronze_path(SOURCE)),
        ("quarantine", settings.quarantine_path(SOURCE)),
    ):
        assert lake.open_table(path).version() == versions[name], name  # type: ignore[union-attr]
    (entry,) = ledger.read(settings).to_pylist()
    assert entry["rows_received"] == 21
