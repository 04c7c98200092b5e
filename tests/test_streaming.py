"""The MQTT subscriber against the real Mosquitto on 127.0.0.1:1883.

Each test has its own lake (CITYLAKE_HOME in tmp_path), its own topic prefix and client
ids, so runs never see each other's messages or sessions. Readings are published by the
generator's own publisher (``democity.systems.publish_records``, QoS 1, waits for PUBACKs).
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from conftest import require_service

from citylake import lake
from citylake.catalog import default_catalog
from citylake.landing import ledger
from citylake.settings import load_settings

MQTT_URL = "mqtt://127.0.0.1:1883"
SOURCE = "river_stage"


@pytest.fixture
def stream_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    require_service("Mosquitto", "127.0.0.1", 1883)
    tag = uuid.uuid4().hex[:10]
    env = {
        "CITYLAKE_HOME": str(tmp_path / "home"),
        "CITYLAKE_MQTT_URL": MQTT_URL,
        "CITYLAKE_STREAM_TOPIC_PREFIX": f"citylake-test/{tag}/",
        "CITYLAKE_STREAM_CLIENT_ID_PREFIX": f"citylake-test-{tag}",
        # Long enough to outlive a restart, short enough not to pile up on the broker.
        "CITYLAKE_STREAM_SESSION_EXPIRY": "300",
        # Batches of exactly the size trigger, never grown under load: the tests below
        # count on where a batch ends (the one that grows sets its own limit).
        "CITYLAKE_STREAM_MAX_BATCH_MESSAGES": "1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def readings(n: int, offset: int = 0, stations: int = 7) -> list[dict]:
    """River stage readings with distinct (station_id, ts) keys, valid by the catalog."""
    start = datetime(2026, 9, 1)
    out = []
    for i in range(offset, offset + n):
        out.append(
            {
                "station_id": f"RV-{i % stations + 1:03d}",
                "district_code": "310104",
                "ts": (start + timedelta(minutes=5 * (i // stations))).isoformat(),
                "stage_m": round(2.0 + (i % 13) * 0.1, 2),
                "warning_level_m": 4.5,
                "guaranteed_level_m": 5.5,
            }
        )
    return out


def key_of(record: dict) -> tuple[str, pd.Timestamp]:
    return record["station_id"], pd.Timestamp(record["ts"])


def publish(records: list[dict], prefix: str) -> None:
    from citylake.democity.systems import publish_records

    source = default_catalog()[SOURCE]
    connector = source.connector.model_copy(update={"topic": prefix + source.connector.topic})
    publish_records(source, connector, records, MQTT_URL)


def publish_raw(payload: bytes, topic: str) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"raw-{uuid.uuid4().hex[:8]}")
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def ledger_frame() -> pd.DataFrame:
    frame = ledger.read(load_settings()).to_pandas()
    return frame[frame["source_id"] == SOURCE]


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def assert_balanced(frame: pd.DataFrame) -> None:
    assert (
        frame["rows_received"]
        == frame["rows_landed"] + frame["rows_quarantined"] + frame["rows_held"]
    ).all()


def bronze_keys() -> pd.DataFrame:
    return lake.read_table(load_settings().bronze_path(SOURCE)).to_pandas()


class InProcess:
    """The streamer on a thread of the test process (GX imported once per session)."""

    def __init__(self, **config: object) -> None:
        from citylake.connectors.streaming import StreamConfig, sensor_sources
        from citylake.orchestration.stream import Streamer

        self.streamer = Streamer(sensor_sources([SOURCE]), config=StreamConfig.from_env(**config))
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.counts = self.streamer.run(max_seconds=300)
        except BaseException as exc:  # surfaced in the test thread
            self.errors.append(exc)
            self.streamer.ready.set()

    def __enter__(self) -> InProcess:
        self.thread.start()
        assert self.streamer.ready.wait(120), "streamer never subscribed"
        assert not self.errors, self.errors
        return self

    def __exit__(self, *exc: object) -> None:
        self.streamer.request_stop()
        self.thread.join(120)
        assert not self.thread.is_alive()
        assert not self.errors, self.errors


def test_subscriber_lands_every_published_reading(stream_env: dict[str, str]) -> None:
    records = readings(230)
    with InProcess(batch_messages=50, batch_seconds=0.5):
        publish(records, stream_env["CITYLAKE_STREAM_TOPIC_PREFIX"])
        wait_for(
            lambda: ledger_frame()["rows_received"].sum() >= len(records), 120, "230 rows landed"
        )
    bronze = bronze_keys()
    assert len(bronze) == len(records)
    assert set(zip(bronze["station_id"], bronze["ts"], strict=True)) == {key_of(r) for r in records}
    frame = ledger_frame()
    assert_balanced(frame)
    assert frame["rows_landed"].sum() == len(records)
    assert frame["rows_quarantined"].sum() == 0
    # Size-triggered batches hold exactly 50; only the time trigger cuts smaller ones.
    assert frame["rows_received"].max() <= 50
    assert (frame["status"] == ledger.LANDED).all()
    assert bronze["_batch_id"].nunique() == len(frame)


def test_batches_grow_under_load_up_to_their_limit(stream_env: dict[str, str]) -> None:
    """While one batch lands (held here a second before its acknowledgement), the rest
    buffer; the next batch takes all of them up to the limit, not the size trigger."""
    records = readings(500)
    with InProcess(
        batch_messages=10, batch_seconds=0.2, max_batch_messages=200, pause_before_ack=1.0
    ):
        publish(records, stream_env["CITYLAKE_STREAM_TOPIC_PREFIX"])
        wait_for(lambda: ledger_frame()["rows_received"].sum() >= 500, 120, "500 rows landed")
    frame = ledger_frame()
    assert_balanced(frame)
    assert frame["rows_landed"].sum() == 500 and len(bronze_keys()) == 500
    # The first batch takes what arrived by its trigger (at most 200); at least 300 more
    # arrive during its second, so the next takes exactly the limit.
    sizes = sorted(frame["rows_received"], reverse=True)
    assert sizes[0] == 200, sizes
    assert len(sizes) <= 5, sizes


def test_bad_payloads_are_quarantined_naming_source_batch_and_row(
    stream_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    prefix = stream_env["CITYLAKE_STREAM_TOPIC_PREFIX"]
    good = readings(30)
    wrong_type = {**readings(1, offset=30)[0], "stage_m": "high"}
    caplog.set_level(logging.WARNING, logger="citylake.landing.run")
    # A long age limit: all 32 messages share one batch, so row numbers are their order.
    with InProcess(batch_messages=32, batch_seconds=30):
        publish(good[:10], prefix)
        publish_raw(b"stage=3.2 at RV-001", f"{prefix}sensors/river_stage/RV-001")
        publish([wrong_type], prefix)
        publish(good[10:], prefix)
        wait_for(lambda: ledger_frame()["rows_received"].sum() >= 32, 120, "32 rows accounted")
    frame = ledger_frame()
    assert_balanced(frame)
    assert len(frame) == 1
    entry = frame.iloc[0]
    assert (entry["rows_received"], entry["rows_landed"], entry["rows_quarantined"]) == (32, 30, 2)
    quarantine = lake.read_table(load_settings().quarantine_path(SOURCE)).to_pandas()
    by_row = dict(zip(quarantine["_row_number"], quarantine["reasons"], strict=True))
    assert set(by_row) == {11, 12}
    assert "is not JSON" in by_row[11] and "sensors/river_stage/RV-001" in by_row[11]
    assert "stage_m='high' is not a double" in by_row[12]
    assert "stage=3.2 at RV-001" in quarantine.set_index("_row_number").at[11, "raw_record"]
    messages = [r.getMessage() for r in caplog.records if "quarantined" in r.getMessage()]
    batch_id = entry["batch_id"]
    assert any(
        m.startswith(f"{SOURCE} batch {batch_id} row 11 ") and "not JSON" in m for m in messages
    ), messages
    assert any(m.startswith(f"{SOURCE} batch {batch_id} row 12 ") for m in messages), messages
    assert set(zip(*[bronze_keys()[c] for c in ("station_id", "ts")], strict=True)) == {
        key_of(r) for r in good
    }


class Subprocess:
    """`citylake stream` as a real process, its log lines read on a thread."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        command = [str(Path(sys.executable).parent / "citylake"), "stream", "--source", SOURCE]
        self.proc = subprocess.Popen(
            [*command, *args],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_line(self, needle: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            self.log.append(line)
            if needle in line:
                return line
        raise AssertionError(f"no {needle!r} in the subscriber's output:\n{''.join(self.log)}")


def test_restart_after_sigkill_loses_nothing_and_duplicates_nothing(
    stream_env: dict[str, str],
) -> None:
    prefix = stream_env["CITYLAKE_STREAM_TOPIC_PREFIX"]
    first, while_down = readings(50), readings(40, offset=50)
    # Run 1 lands its first batch of 20, then pauses before acknowledging: killed there.
    run1 = Subprocess(
        {**stream_env, "CITYLAKE_STREAM_TEST_PAUSE_BEFORE_ACK": "120"},
        "--batch-messages",
        "20",
        "--batch-seconds",
        "30",
    )
    try:
        run1.wait_line("subscribed to", 180)
        publish(first, prefix)
        run1.wait_line("not acknowledged yet", 120)
    finally:
        run1.proc.send_signal(signal.SIGKILL)
        run1.proc.wait(30)
    assert run1.proc.returncode == -signal.SIGKILL
    landed_before = ledger_frame()
    assert landed_before["rows_landed"].sum() == 20  # landed, never acknowledged
    # While it is down the broker queues for its persistent session.
    publish(while_down, prefix)
    # Run 2 groups differently (25 per batch): the 20 redelivered readings come back in a
    # batch with a new id, and the primary key keeps them out of bronze.
    run2 = Subprocess(stream_env, "--batch-messages", "25", "--batch-seconds", "1")
    try:
        run2.wait_line("session present: True", 180)
        wait_for(lambda: ledger_frame()["rows_landed"].sum() >= 90, 180, "90 rows landed")
    finally:
        run2.proc.send_signal(signal.SIGTERM)
        run2.proc.wait(60)
    assert run2.proc.returncode == 0, "".join(run2.log)

    published = {key_of(r) for r in first + while_down}
    bronze = bronze_keys()
    keys = list(zip(bronze["station_id"], bronze["ts"], strict=True))
    assert len(keys) == len(set(keys)) == 90
    assert set(keys) == published
    frame = ledger_frame()
    assert_balanced(frame)
    assert frame["rows_landed"].sum() == 90
    # Every redelivered copy is accounted for in quarantine as a duplicate delivery.
    quarantine = lake.read_table(load_settings().quarantine_path(SOURCE)).to_pandas()
    assert frame["rows_quarantined"].sum() == len(quarantine)
    assert quarantine["reasons"].str.startswith("duplicate delivery: key already landed").all()
    assert frame["rows_received"].sum() == 90 + len(quarantine)


def test_a_batch_redelivered_whole_is_a_no_op(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same messages in any order -> same batch id -> the lake's app transaction skips it."""
    import json

    from citylake.connectors.stream_messages import Message, now_utc
    from citylake.orchestration.stream import land_messages, stream_landing
    from quality.validate import Validator

    monkeypatch.setenv("CITYLAKE_HOME", str(tmp_path))
    settings = load_settings()
    source = default_catalog()[SOURCE]
    messages = [
        Message(f"sensors/river_stage/{r['station_id']}", json.dumps(r).encode(), i, 1, now_utc())
        for i, r in enumerate(readings(12), start=1)
    ]
    validator = Validator(settings.quality_home)
    first = land_messages(
        stream_landing(source, settings, validator, "run1"), "sensors/river_stage/+", messages
    )
    again = land_messages(
        stream_landing(source, settings, validator, "run2"), "sensors/river_stage/+", messages[::-1]
    )
    assert again.batch_id == first.batch_id
    assert len(bronze_keys()) == 12
    frame = ledger_frame()
    assert len(frame) == 1 and frame.iloc[0]["rows_landed"] == 12


def test_a_held_stream_batch_is_kept_before_it_is_acknowledged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream has no file to retry from: a held batch's messages are written to lake/held."""
    import json

    from citylake.connectors.stream_messages import Message, now_utc
    from citylake.orchestration.stream import land_messages, stream_landing
    from quality.validate import Validator

    monkeypatch.setenv("CITYLAKE_HOME", str(tmp_path))
    settings = load_settings()
    payloads = [json.dumps(r).encode() for r in readings(4)] + [b"garbage"] * 6
    messages = [
        Message("sensors/river_stage/RV-001", p, i, 1, now_utc())
        for i, p in enumerate(payloads, start=1)
    ]
    entry = land_messages(
        stream_landing(
            default_catalog()[SOURCE], settings, Validator(settings.quality_home), "run1"
        ),
        "sensors/river_stage/+",
        messages,
    )
    assert (entry.status, entry.rows_held, entry.rows_landed) == (ledger.HELD, 10, 0)
    assert "6 of 10 rows failed" in entry.message
    kept = settings.lake_root / "held" / SOURCE / f"{entry.batch_id}.ndjson"
    lines = [json.loads(line) for line in kept.read_text().splitlines()]
    assert [line["payload"].encode() for line in lines] == payloads
    assert lake.open_table(settings.bronze_path(SOURCE)) is None
