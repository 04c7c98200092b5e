"""The per-source quality summary, computed from a real (small) ingest ledger in a tmp lake."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from citylake import lake
from citylake.catalog import default_catalog
from citylake.landing import ledger, quality_summary
from citylake.landing.steps import QUARANTINE_SCHEMA
from citylake.settings import Settings, load_settings

AS_OF = datetime(2026, 10, 27, 12, 0)
HOUR = timedelta(hours=1)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CITYLAKE_HOME", str(tmp_path))
    return load_settings()


def record(
    settings: Settings,
    source_id: str,
    n: int,
    finished: datetime,
    *,
    received: int,
    quarantined: int = 0,
    held: bool = False,
) -> str:
    batch_id = f"{source_id}-{n:04d}"
    ledger.record(
        settings,
        ledger.LedgerEntry(
            batch_id=batch_id,
            source_id=source_id,
            source_system="test",
            source_ref=f"file_{n}.csv",
            file_name=f"file_{n}.csv",
            file_sha256=f"{n:064d}",
            file_version=1,
            cursor_lo=None,
            cursor_hi=None,
            status=ledger.HELD if held else ledger.LANDED,
            rows_received=received,
            rows_landed=0 if held else received - quarantined,
            rows_quarantined=0 if held else quarantined,
            rows_held=received if held else 0,
            schema_version=1,
            schema_note="",
            message="held: 30 of 50 rows failed" if held else f"{received - quarantined} landed",
            run_id="test",
            started_at=finished - timedelta(seconds=5),
            finished_at=finished,
            seconds=5.0,
        ),
    )
    return batch_id


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (None, "never"),
        (timedelta(0), "fresh"),
        (1.5 * HOUR, "fresh"),
        (1.5 * HOUR + timedelta(seconds=1), "late"),
        (3 * HOUR, "late"),
        (3 * HOUR + timedelta(seconds=1), "stale"),
    ],
)
def test_freshness_is_the_age_in_cadence_intervals(age: timedelta | None, expected: str) -> None:
    assert quality_summary.classify(age, HOUR) == expected


def test_expected_interval_follows_the_cron_cadence() -> None:
    assert quality_summary.expected_interval("@hourly", AS_OF) == HOUR
    assert quality_summary.expected_interval("@daily", AS_OF) == 24 * HOUR
    assert quality_summary.expected_interval("0 6 * * 1", AS_OF) == timedelta(days=7)


def test_summary_from_a_real_ledger(settings: Settings) -> None:
    catalog = default_catalog()
    # river_stage (hourly): 25 batches of 100; the 5 oldest quarantined 10 rows each, the
    # last 20 none. Last landing 2 h before AS_OF: late (1.5 h < 2 h <= 3 h).
    for n in range(25):
        finished = AS_OF - 2 * HOUR - (24 - n) * timedelta(minutes=10)
        record(settings, "river_stage", n, finished, received=100, quarantined=10 if n < 5 else 0)
    # hotline_complaints (daily): clean, held, then 10 of 50 quarantined; 10 h ago: fresh.
    record(settings, "hotline_complaints", 1, AS_OF - 30 * HOUR, received=100)
    record(settings, "hotline_complaints", 2, AS_OF - 20 * HOUR, received=50, held=True)
    last = record(settings, "hotline_complaints", 3, AS_OF - 10 * HOUR, received=50, quarantined=10)
    reasons = [
        {
            "_batch_id": last,
            "_source_ref": "file_3.csv",
            "_row_number": row,
            "_loaded_at": AS_OF - 10 * HOUR,
            "reasons": f"type: phone='x{row}' is not a string",
            "raw_record": "{}",
        }
        for row in (7, 3)
    ]
    lake.append_batch(
        settings.quarantine_path("hotline_complaints"),
        pa.Table.from_pylist(reasons, schema=QUARANTINE_SCHEMA),
        last,
        {},
    )
    # weather_station (hourly): one batch 5 h ago: stale. air_quality: nothing: never.
    record(settings, "weather_station", 1, AS_OF - 5 * HOUR, received=10)
    sources = [
        catalog[s] for s in ("river_stage", "hotline_complaints", "weather_station", "air_quality")
    ]

    summary = quality_summary.summarize(settings, AS_OF, sources).set_index("source_id")

    river = summary.loc["river_stage"]
    assert (river["batches"], river["rows_received"], river["rows_quarantined"]) == (25, 2500, 50)
    assert river["failure_rate"] == pytest.approx(50 / 2500)
    assert (river["recent_batches"], river["recent_rows_received"]) == (20, 2000)
    assert river["recent_failure_rate"] == 0
    assert river["freshness"] == "late"
    assert river["age_minutes"] == pytest.approx(120)
    assert river["expected_interval_minutes"] == 60

    hotline = summary.loc["hotline_complaints"]
    assert (hotline["batches"], hotline["landed_batches"], hotline["held_batches"]) == (3, 2, 1)
    # Not landed: 50 held + 10 quarantined of 200 received.
    assert hotline["failure_rate"] == pytest.approx(60 / 200)
    assert hotline["recent_failure_rate"] == pytest.approx(60 / 200)
    assert hotline["rows_landed"] + hotline["rows_quarantined"] + hotline["rows_held"] == 200
    assert hotline["freshness"] == "fresh"
    assert hotline["last_landed_at"] == AS_OF - 10 * HOUR
    # The latest problem batch, with its first quarantined row as the example.
    assert hotline["last_error"].startswith(f"batch {last} (file_3.csv): landed")
    assert hotline["last_error"].endswith("e.g. row 3: type: phone='x3' is not a string")
    assert hotline["last_error_at"] == AS_OF - 10 * HOUR

    assert summary.loc["weather_station", "freshness"] == "stale"
    assert summary.loc["weather_station", "last_error"] is None
    never = summary.loc["air_quality"]
    assert (never["freshness"], never["batches"], never["rows_received"]) == ("never", 0, 0)
    assert never["failure_rate"] is None or never["failure_rate"] != never["failure_rate"]


def test_refresh_overwrites_one_row_per_catalog_source(settings: Settings) -> None:
    # A lake without a ledger yet (a first build): every source is "never".
    assert set(quality_summary.refresh(settings, AS_OF)["freshness"]) == {"never"}
    record(settings, "river_stage", 1, AS_OF - HOUR, received=10, quarantined=1)
    quality_summary.refresh(settings, AS_OF)
    quality_summary.refresh(settings, AS_OF + HOUR)
    table = quality_summary.read(settings)
    assert len(table) == len(default_catalog())
    assert table["source_id"].is_unique
    assert (table["as_of"] == AS_OF + HOUR).all()
    river = table.set_index("source_id").loc["river_stage"]
    assert (river["rows_received"], river["rows_quarantined"]) == (10, 1)
    assert river["freshness"] == "late"  # 2 h after a 1-hour cadence's landing
    assert set(table["freshness"]) <= set(quality_summary.FRESHNESS)
