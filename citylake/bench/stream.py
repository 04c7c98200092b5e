"""The MQTT stream under a sustained load: messages/s landed and publish-to-bronze latency.

    python -m citylake.bench.stream --rate 5000 --seconds 300

A publisher process sends river-stage readings at a fixed rate (QoS 1, as the gauges
do) to the broker at CITYLAKE_MQTT_URL (default mqtt://127.0.0.1:1883) and records when
it sent each one; ``citylake stream``'s Streamer lands them in this process, exactly as
in production: typed, GX-validated, in Delta, ledgered, acknowledged after the commit.
Each run has its own lake (a temp home), topic prefix and client ids. Reported: the
sustained rate (messages over the time from the first publish to the last one visible
in bronze), and the delay from publish to visible in bronze (a row's ``_loaded_at``,
stamped just before its commit) at the median, 95th percentile and worst.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

SOURCE = "river_stage"
STATIONS = 20
START = datetime(2026, 9, 1)


def reading(i: int) -> dict:
    """The i-th reading: station ``i % STATIONS``, every five minutes (unique keys)."""
    return {
        "station_id": f"RV-{i % STATIONS + 1:03d}",
        "district_code": "310104",
        "ts": (START + timedelta(minutes=5 * (i // STATIONS))).isoformat(),
        "stage_m": round(2.0 + (i % 13) * 0.1, 2),
        "warning_level_m": 4.5,
        "guaranteed_level_m": 5.5,
    }


def index_of(station_id: str, ts: datetime) -> int:
    return int((ts - START) / timedelta(minutes=5)) * STATIONS + int(station_id[3:]) - 1


def publish(url: str, topic_prefix: str, rate: float, seconds: float, out: Path) -> None:
    """Send ``rate * seconds`` readings paced at ``rate``/s; save each send time (epoch s)."""
    import numpy as np
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from citylake.catalog import default_catalog
    from citylake.democity.delivery_values import json_line
    from citylake.democity.systems import topic_for

    source = default_catalog()[SOURCE]
    connector = source.connector.model_copy(update={"topic": topic_prefix + source.connector.topic})
    parts = urlsplit(url)  # as the subscriber and the generator read CITYLAKE_MQTT_URL
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-gauges-{os.getpid()}")
    if parts.username:
        client.username_pw_set(parts.username, parts.password)
    client.max_inflight_messages_set(1000)
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
    client.loop_start()
    n = int(rate * seconds)
    sent = np.empty(n)
    pending: deque = deque()
    begin = time.time()
    for i in range(n):
        ahead = begin + i / rate - time.time()
        if ahead > 0.005:  # pace in small sleeps, not per message
            time.sleep(ahead)
        record = reading(i)
        info = client.publish(
            topic_for(connector, record["station_id"]), json_line(record).encode(), qos=1
        )
        sent[i] = time.time()
        pending.append(info)
        if len(pending) >= 1000:
            pending.popleft().wait_for_publish(60)
    while pending:
        pending.popleft().wait_for_publish(60)
    client.disconnect()
    client.loop_stop()
    np.save(out, sent)


@dataclass(frozen=True)
class StreamBench:
    rate: float  # asked of the publisher
    seconds: float
    messages: int
    landed: int
    batches: int
    sustained: float  # messages/s, first publish to last visible
    p50: float
    p95: float
    worst: float
    largest_batch: int

    def row(self) -> str:
        return (
            f"| {self.rate:,.0f} | {self.seconds:.0f} | {self.messages:,} | {self.landed:,} | "
            f"{self.batches:,} | {self.largest_batch:,} | {self.sustained:,.0f} | "
            f"{self.p50:.1f} | {self.p95:.1f} | {self.worst:.1f} |"
        )


HEADER = (
    "| rate asked (msg/s) | seconds | messages | landed | batches | largest batch | "
    "sustained (msg/s) | delay p50 (s) | p95 (s) | worst (s) |\n"
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def markdown(result: StreamBench, command: str) -> list[str]:
    """A BENCHMARKS.md section: the stream under a sustained load, against its targets."""
    met = (
        result.seconds >= 300
        and result.sustained >= 5000
        and result.p95 < 10
        and result.landed == result.messages
    )
    return [
        "## MQTT stream under a sustained load",
        "",
        f"`{command}`: a publisher process sends river-stage readings (QoS 1) at the asked",
        "rate; `citylake stream`'s subscriber lands them in micro-batches that grow under",
        "load, acknowledging each message after its batch's commit. Delay: publish to",
        "visible in bronze (the row's `_loaded_at`, stamped just before the commit).",
        "",
        HEADER,
        result.row(),
        "",
        f"Target: >= 5,000 msg/s sustained over 5 minutes, p95 delay < 10 s: "
        f"{'met' if met else 'not met'}.",
    ]


def measure(rate: float, seconds: float, mqtt_url: str, max_batch: int = 20_000) -> StreamBench:
    import threading

    import numpy as np

    from citylake import lake
    from citylake.connectors.streaming import StreamConfig
    from citylake.landing import ledger
    from citylake.orchestration.stream import Streamer
    from citylake.settings import load_settings

    tag = uuid.uuid4().hex[:8]
    home = tempfile.mkdtemp(prefix=f"stream-bench-{tag}-")
    os.environ["CITYLAKE_HOME"] = home
    os.environ["CITYLAKE_MQTT_URL"] = mqtt_url
    config = StreamConfig.from_env(
        batch_messages=1000,
        batch_seconds=1.0,
        max_batch_messages=max_batch,
        topic_prefix=f"citylake-bench/{tag}/",
        client_id_prefix=f"citylake-bench-{tag}",
        session_expiry=120,
        docs_seconds=3600,
    )
    settings = load_settings()
    from citylake.catalog import default_catalog

    streamer = Streamer([default_catalog()[SOURCE]], settings, config)
    thread = threading.Thread(target=streamer.run, kwargs={"max_seconds": seconds * 4 + 600})
    thread.start()
    if not streamer.ready.wait(300):
        raise RuntimeError("subscriber did not start")
    sent_file = Path(home) / "sent.npy"
    command = [sys.executable, "-m", "citylake.bench.stream", "publish", "--url", mqtt_url,
               "--topic-prefix", config.topic_prefix, "--rate", str(rate),
               "--seconds", str(seconds), "--out", str(sent_file)]  # fmt: skip
    subprocess.run(command, check=True, timeout=seconds * 3 + 300)
    n = int(rate * seconds)
    deadline = time.monotonic() + seconds * 2 + 300
    while streamer.reports[SOURCE].received < n and time.monotonic() < deadline:
        time.sleep(0.2)
    streamer.request_stop()
    thread.join(600)
    report = streamer.reports[SOURCE]
    sent = np.load(sent_file)
    bronze = lake.read_table(
        settings.bronze_path(SOURCE), ["station_id", "ts", "_loaded_at"]
    ).to_pandas()
    index = [index_of(s, t) for s, t in zip(bronze["station_id"], bronze["ts"], strict=True)]
    visible = bronze["_loaded_at"].astype("int64").to_numpy() / 1e6  # UTC, microseconds
    delay = visible - sent[index]
    entries = ledger.read(settings).to_pandas()
    shutil.rmtree(home, ignore_errors=True)
    return StreamBench(
        rate=rate,
        seconds=seconds,
        messages=n,
        landed=int(report.landed),
        batches=int(report.batches),
        sustained=n / (visible.max() - sent.min()),
        p50=float(np.percentile(delay, 50)),
        p95=float(np.percentile(delay, 95)),
        worst=float(delay.max()),
        largest_batch=int(entries["rows_received"].max()),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command")
    pub = sub.add_parser("publish", help="(internal) the publisher process")
    pub.add_argument("--url", required=True)
    pub.add_argument("--topic-prefix", required=True)
    pub.add_argument("--rate", type=float, required=True)
    pub.add_argument("--seconds", type=float, required=True)
    pub.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rate", type=float, default=5000.0, help="messages per second sent")
    parser.add_argument("--seconds", type=float, default=300.0, help="how long to send")
    parser.add_argument("--max-batch", type=int, default=20_000, help="micro-batch limit")
    args = parser.parse_args(argv)
    if args.command == "publish":
        publish(args.url, args.topic_prefix, args.rate, args.seconds, args.out)
        return
    from citylake.settings import load_settings

    url = load_settings().mqtt_url or "mqtt://127.0.0.1:1883"
    result = measure(args.rate, args.seconds, url, args.max_batch)
    command = f"python -m citylake.bench.stream --rate {args.rate:g} --seconds {args.seconds:g}"
    print("\n".join(markdown(result, command)), flush=True)


if __name__ == "__main__":
    main()
