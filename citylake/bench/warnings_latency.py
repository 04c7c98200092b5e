"""Streaming latency of a warning: a reading published on MQTT to its CAP alert delivered.

Everything real and on loopback: the broker (CITYLAKE_MQTT_URL, default
mqtt://127.0.0.1:1883), the MQTT subscriber landing micro-batches through ``LandingRun``
(with its production batch triggers), the feed files landing writes, the Spark Structured
Streaming warnings job (its production trigger), the outbox, and a CAP receiver as the
webhook. A storm is played at a fixed pace (one 5-minute step of three gauges every
``step_seconds``): its core gauge crosses blue, yellow, orange and red, a neighbour gets
half of it, and the storm passes. Each CAP message's latency is the time it reached the
receiver minus the time the last reading of its step was published (a change is decided
on the reading that completes its step's evidence).

``python -m citylake.bench.warnings_latency [step_seconds]``.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

T0 = datetime(2026, 9, 10, 12, 0)
CORE, EDGE, DRY = ("RG-901", "339902"), ("RG-902", "339902"), ("RG-903", "339903")
# 5-minute rain (mm) at the core gauge: a convective cell reaching red, then passing.
STORM = [0.0] * 6 + [0.5, 1.0, 2.0, 3.0, 3.5, 4.0, 4.5, 5.0, 5.0, 5.0, 5.0, 5.0, 4.5, 4.0]
STORM += [3.5, 3.0, 2.5, 2.0, 1.5, 1.0, 0.5] + [0.0] * 30
STORMS = 3  # played one after the other: each is issued, upgraded, downgraded and lifted


@dataclass(frozen=True)
class Latency:
    messages: int
    median_seconds: float
    p95_seconds: float
    max_seconds: float
    landing_batch_seconds: float
    trigger_seconds: float


def _readings(step: int) -> list[dict[str, object]]:
    at = (T0 + timedelta(minutes=5 * (step + 1))).isoformat()
    core = STORM[step % len(STORM)]
    return [
        {"station_id": CORE[0], "district_code": CORE[1], "ts": at, "rain_mm": core},
        {"station_id": EDGE[0], "district_code": EDGE[1], "ts": at, "rain_mm": core / 2},
        {"station_id": DRY[0], "district_code": DRY[1], "ts": at, "rain_mm": 0.0},
    ]


def measure(step_seconds: float = 2.0, mqtt_url: str = "mqtt://127.0.0.1:1883") -> Latency:
    from citylake.alerts.receiver import CapReceiver
    from citylake.catalog import default_catalog
    from citylake.connectors.streaming import StreamConfig
    from citylake.democity.systems import publish_records
    from citylake.orchestration.stream import Streamer
    from citylake.settings import load_settings
    from citylake.warehouse.spark_session import get_spark
    from transforms import warnings_stream as ws

    tag = uuid.uuid4().hex[:8]
    os.environ["CITYLAKE_HOME"] = tempfile.mkdtemp(prefix=f"warnings-latency-{tag}-")
    os.environ["CITYLAKE_MQTT_URL"] = mqtt_url
    receiver = CapReceiver()
    os.environ["CITYLAKE_ALERT_WEBHOOKS"] = receiver.url
    settings = load_settings()
    config = StreamConfig.from_env(
        topic_prefix=f"citylake-bench/{tag}/",
        client_id_prefix=f"citylake-bench-{tag}",
        session_expiry=60,
    )
    source = default_catalog()["rain_gauge"]
    streamer = Streamer([source], settings, config)
    landing = threading.Thread(target=streamer.run, kwargs={"max_seconds": 1800}, daemon=True)
    landing.start()
    if not streamer.ready.wait(300):
        raise RuntimeError("the MQTT subscriber did not start")

    spark = get_spark("citylake-bench-warnings-latency")
    folders = {s: settings.feed_path(s) for s in ws.WARNING_SOURCES}
    conf = settings.warnings_stream
    feeds = ws.read_feed_streams(spark, folders, conf.max_files_per_trigger)
    readings = ws.stream_readings(feeds, [CORE[1], DRY[1]])
    records = ws.stream_records(readings, conf.watermark)
    output = settings.gold_dir / "warning_records_stream"
    sink = ws.RecordSink(output, ws.AlertPublisher(output, settings.serving_db))
    query = ws.start_query(
        records, sink, settings.warnings_checkpoint, trigger_seconds=conf.trigger_seconds
    )
    connector = source.connector.model_copy(
        update={"topic": config.topic_prefix + source.connector.topic}
    )
    published: dict[datetime, float] = {}
    arrived: dict[str, float] = {}

    def watch() -> None:
        while not done.is_set():
            for key in list(receiver.messages):
                arrived.setdefault(key, time.monotonic())
            time.sleep(0.05)

    done = threading.Event()
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        for step in range(STORMS * len(STORM)):
            tick = time.monotonic()
            publish_records(source, connector, _readings(step), mqtt_url)
            published[T0 + timedelta(minutes=5 * (step + 1))] = time.monotonic()
            time.sleep(max(0.0, step_seconds - (time.monotonic() - tick)))
        deadline = time.monotonic() + 120
        expected = len(receiver.messages)
        while time.monotonic() < deadline:  # settle: no new message for two triggers
            time.sleep(2 * conf.trigger_seconds + config.batch_seconds)
            if len(receiver.messages) == expected:
                break
            expected = len(receiver.messages)
    finally:
        done.set()
        watcher.join(5)
        query.stop()
        streamer.request_stop()
        landing.join(120)
        receiver.stop()
        spark.stop()
    latencies = []
    for key, xml in receiver.messages.items():
        sent = re.search(rb"<sent>([^<+]+)", xml)
        if sent is None or key not in arrived:
            continue
        at = datetime.fromisoformat(sent.group(1).decode())
        if at in published:
            latencies.append(arrived[key] - published[at])
    if not latencies:
        raise RuntimeError("no CAP message reached the receiver")
    latencies.sort()
    return Latency(
        messages=len(latencies),
        median_seconds=latencies[len(latencies) // 2],
        p95_seconds=latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))],
        max_seconds=latencies[-1],
        landing_batch_seconds=config.batch_seconds,
        trigger_seconds=conf.trigger_seconds,
    )


def markdown(result: Latency) -> list[str]:
    return [
        "",
        "## Warnings: streaming latency, reading published on MQTT to CAP alert delivered",
        "",
        f"A storm played at one 5-minute step every few seconds through the broker, the "
        f"MQTT landing stream (micro-batches of {result.landing_batch_seconds:g} s), the feed "
        f"files, the Spark warnings stream (trigger {result.trigger_seconds:g} s) and the "
        f"outbox to a loopback webhook: {result.messages} CAP messages, median "
        f"{result.median_seconds:.1f} s, 95th percentile {result.p95_seconds:.1f} s, "
        f"worst {result.max_seconds:.1f} s (target: p95 under 60 s).",
    ]


def main(argv: list[str]) -> None:
    from citylake.settings import load_settings

    url = load_settings().mqtt_url or "mqtt://127.0.0.1:1883"
    step = float(argv[0]) if argv else 2.0
    result = measure(step, url)
    print("\n".join(markdown(result)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
