"""Streaming throughput: messages/s landed (typed, GX-validated, in Delta, ledgered, acked).

``python -m citylake.bench.stream [messages] [batch sizes...]`` against the broker at
CITYLAKE_MQTT_URL (default mqtt://127.0.0.1:1883). Each run has its own lake (a temp
home), topic prefix and client ids. The subscriber is connected before publishing, so
the broker streams everything at once (Receive Maximum 65535): landing is the bottleneck.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta

from citylake.catalog import default_catalog

SOURCE = "river_stage"


def _readings(n: int) -> list[dict]:
    start = datetime(2026, 9, 1)
    return [
        {
            "station_id": f"RV-{i % 20 + 1:03d}",
            "district_code": "310104",
            "ts": (start + timedelta(minutes=5 * (i // 20))).isoformat(),
            "stage_m": round(2.0 + (i % 13) * 0.1, 2),
            "warning_level_m": 4.5,
            "guaranteed_level_m": 5.5,
        }
        for i in range(n)
    ]


def measure(messages: int, batch_messages: int, mqtt_url: str) -> dict[str, float]:
    import threading

    from citylake.connectors.streaming import StreamConfig
    from citylake.democity.systems import publish_records
    from citylake.orchestration.stream import Streamer
    from citylake.settings import load_settings

    tag = uuid.uuid4().hex[:8]
    os.environ["CITYLAKE_HOME"] = tempfile.mkdtemp(prefix=f"stream-bench-{tag}-")
    os.environ["CITYLAKE_MQTT_URL"] = mqtt_url
    config = StreamConfig.from_env(
        batch_messages=batch_messages,
        batch_seconds=2.0,
        topic_prefix=f"citylake-bench/{tag}/",
        client_id_prefix=f"citylake-bench-{tag}",
        session_expiry=60,
    )
    source = default_catalog()[SOURCE]
    streamer = Streamer([source], load_settings(), config)
    thread = threading.Thread(target=streamer.run, kwargs={"max_seconds": 1800}, daemon=True)
    thread.start()
    if not streamer.ready.wait(300):
        raise RuntimeError("subscriber did not start")
    connector = source.connector.model_copy(
        update={"topic": config.topic_prefix + source.connector.topic}
    )
    clock = time.perf_counter()
    publish_records(source, connector, _readings(messages), mqtt_url)
    published = time.perf_counter() - clock
    report = streamer.reports[SOURCE]
    while report.received < messages:
        time.sleep(0.05)
    seconds = time.perf_counter() - clock
    streamer.request_stop()
    thread.join(120)
    return {
        "batch_messages": batch_messages,
        "messages": messages,
        "batches": report.batches,
        "landed": report.landed,
        "publish_seconds": round(published, 2),
        "seconds": round(seconds, 2),
        "messages_per_second": round(messages / seconds, 1),
    }


def main(argv: list[str]) -> None:
    messages = int(argv[0]) if argv else 5000
    sizes = [int(a) for a in argv[1:]] or [100, 1000]
    from citylake.settings import load_settings

    url = load_settings().mqtt_url or "mqtt://127.0.0.1:1883"
    for size in sizes:
        print(measure(messages, size, url), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
