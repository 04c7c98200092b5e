"""The continuous sensor feeds: one MQTT subscriber per sensor source, landing micro-batches.

Delivery guarantee, end to end:

- Each subscriber is an MQTT v5 client with a stable client id
  (``<prefix>-<source id>``), ``clean_start=False`` and a session expiry, so the broker
  keeps its subscription and queues QoS 1 messages while it is down.
- ``manual_ack=True``: a message is acknowledged (PUBACK) only after the micro-batch
  holding it is durably in the lake (bronze + quarantine Delta commits, then the
  ledger row) by the normal ingest path (catalog typing, Great Expectations,
  quarantine, ledger). A crash before the acknowledgement makes the broker redeliver;
  the redelivery is absorbed by the lake's exactly-once app transaction (same content,
  same batch id) or by the primary key (``stream_batches``). So: no loss, no duplicate.
- The client announces a Receive Maximum (``CITYLAKE_STREAM_RECEIVE_MAXIMUM``): how many
  unacknowledged messages the broker may send ahead. It must exceed the micro-batch size,
  or the broker would wait for acknowledgements that wait for a full batch.
- A micro-batch flushes at ``CITYLAKE_STREAM_BATCH_MESSAGES`` messages or
  ``CITYLAKE_STREAM_BATCH_SECONDS`` after its first message, whichever comes first.
- SIGTERM/SIGINT: stop taking messages (later ones stay unacknowledged, so the broker
  keeps them), land and acknowledge what is buffered, disconnect, exit 0.

Settings (environment, with defaults):

| variable | default | meaning |
|---|---|---|
| CITYLAKE_STREAM_BATCH_MESSAGES | 500 | micro-batch size trigger |
| CITYLAKE_STREAM_BATCH_SECONDS | 5 | micro-batch age trigger (seconds since its first message) |
| CITYLAKE_STREAM_CLIENT_ID_PREFIX | citylake-stream | client id = <prefix>-<source id> (stable: it names the session) |
| CITYLAKE_STREAM_TOPIC_PREFIX | (empty) | prepended to the catalog topics (tests, multi-tenant brokers) |
| CITYLAKE_STREAM_SESSION_EXPIRY | 604800 | seconds the broker keeps a disconnected session (7 days) |
| CITYLAKE_STREAM_RECEIVE_MAXIMUM | 65535 | unacknowledged messages the broker may send ahead |
| CITYLAKE_STREAM_DOCS_SECONDS | 300 | how often GX Data Docs are rebuilt while streaming |
| CITYLAKE_STREAM_TEST_PAUSE_BEFORE_ACK | 0 | fault injection for the restart test: sleep between landing and acknowledging |
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlsplit

from citylake import ledger
from citylake.catalog import MqttConnector, Source, default_catalog
from citylake.settings import Settings, load_settings
from citylake.stream_batches import Message, SchemaTracker, land_messages, now_utc

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class StreamConfig:
    batch_messages: int = 500
    batch_seconds: float = 5.0
    client_id_prefix: str = "citylake-stream"
    topic_prefix: str = ""
    session_expiry: int = 7 * 24 * 3600
    receive_maximum: int = 65535
    docs_seconds: float = 300.0
    pause_before_ack: float = 0.0

    @classmethod
    def from_env(cls, **overrides: object) -> StreamConfig:
        env = os.environ.get
        values: dict[str, object] = {
            "batch_messages": int(env("CITYLAKE_STREAM_BATCH_MESSAGES", "500")),
            "batch_seconds": float(env("CITYLAKE_STREAM_BATCH_SECONDS", "5")),
            "client_id_prefix": env("CITYLAKE_STREAM_CLIENT_ID_PREFIX", "citylake-stream"),
            "topic_prefix": env("CITYLAKE_STREAM_TOPIC_PREFIX", ""),
            "session_expiry": int(env("CITYLAKE_STREAM_SESSION_EXPIRY", str(7 * 24 * 3600))),
            "receive_maximum": int(env("CITYLAKE_STREAM_RECEIVE_MAXIMUM", "65535")),
            "docs_seconds": float(env("CITYLAKE_STREAM_DOCS_SECONDS", "300")),
            "pause_before_ack": float(env("CITYLAKE_STREAM_TEST_PAUSE_BEFORE_ACK", "0")),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        config = cls(**values)  # type: ignore[arg-type]
        if config.batch_messages < 1 or config.batch_seconds <= 0:
            raise ValueError("micro-batches need batch_messages >= 1 and batch_seconds > 0")
        if config.receive_maximum <= config.batch_messages:
            raise ValueError(
                f"receive maximum {config.receive_maximum} must exceed the micro-batch size "
                f"{config.batch_messages}: the broker would stop sending before a batch fills"
            )
        return config


def sensor_sources(only: list[str] | None = None) -> list[Source]:
    """Catalog sources with an MQTT connector (all of them, or the named ones)."""
    catalog = default_catalog()
    if only:
        unknown = [s for s in only if s not in catalog]
        if unknown:
            raise KeyError(f"unknown source(s) {unknown}; the catalog has {sorted(catalog)}")
        chosen = [catalog[s] for s in only]
    else:
        chosen = [s for s in catalog.values() if isinstance(s.connector, MqttConnector)]
    not_mqtt = [s.id for s in chosen if not isinstance(s.connector, MqttConnector)]
    if not_mqtt:
        raise ValueError(f"not MQTT sources (nothing to stream): {not_mqtt}")
    return [s for s in chosen if isinstance(s.connector, MqttConnector)]


@dataclass
class Counts:
    batches: int = 0
    received: int = 0
    landed: int = 0
    quarantined: int = 0
    held: int = 0


class Subscriber:
    """One source's MQTT client and its buffer of received, not yet acknowledged messages."""

    def __init__(self, source: Source, config: StreamConfig, mqtt_url: str) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        assert isinstance(source.connector, MqttConnector)
        self.source = source
        self.qos = source.connector.qos
        self.topic = config.topic_prefix + source.connector.topic
        self.client_id = f"{config.client_id_prefix}-{source.id}"
        parts = urlsplit(mqtt_url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 1883
        self.where = f"{self._host}:{self._port}"
        self._lock = threading.Lock()
        self._buffer: deque[Message] = deque()
        self._generation = 0
        self._closing = False
        self.subscribed = threading.Event()
        self.refused: str | None = None
        self.counts = Counts()
        self.tracker: SchemaTracker | None = None

        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if parts.username:
            self.client.username_pw_set(parts.username, parts.password)
        self._properties = Properties(PacketTypes.CONNECT)
        self._properties.SessionExpiryInterval = config.session_expiry
        self._properties.ReceiveMaximum = config.receive_maximum
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect

    # paho's network thread calls these.
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.refused = str(reason_code)
            log.error(
                "%s: broker %s refused the connection: %s", self.source.id, self.where, reason_code
            )
            return
        with self._lock:
            self._generation += 1
        log.info(
            "%s: connected to %s as %s (session present: %s)",
            self.source.id,
            self.where,
            self.client_id,
            flags.session_present,
        )
        # Re-subscribing a kept session changes nothing; on a new session it creates it.
        client.subscribe(self.topic, qos=self.qos)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        failed = [str(rc) for rc in reason_codes if rc.is_failure]
        if failed:
            self.refused = f"subscription to {self.topic} refused: {failed}"
            log.error("%s: %s", self.source.id, self.refused)
        else:
            log.info("%s: subscribed to %s (QoS %d)", self.source.id, self.topic, self.qos)
        self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if not self._closing:
            log.warning(
                "%s: disconnected from %s (%s); paho reconnects",
                self.source.id,
                self.where,
                reason_code,
            )

    def _on_message(self, client, userdata, message) -> None:
        with self._lock:
            if self._closing:
                return  # not acknowledged: the broker keeps it for the next session
            self._buffer.append(
                Message(
                    topic=message.topic,
                    payload=bytes(message.payload),
                    mid=message.mid,
                    qos=message.qos,
                    received_at=now_utc(),
                    generation=self._generation,
                )
            )

    # The main thread calls these.
    def start(self) -> None:
        try:
            self.client.connect(
                self._host, self._port, keepalive=60, clean_start=False, properties=self._properties
            )
        except OSError as exc:
            raise ConnectionError(
                f"{self.source.id}: cannot reach the MQTT broker at {self.where}: {exc}"
            ) from exc
        self.client.loop_start()

    def wait_subscribed(self, timeout: float = CONNECT_TIMEOUT_SECONDS) -> None:
        if not self.subscribed.wait(timeout) or self.refused:
            raise ConnectionError(
                f"{self.source.id}: no subscription to {self.topic} on {self.where} "
                f"({self.refused or f'nothing in {timeout:.0f} s'})"
            )

    def pending(self) -> int:
        with self._lock:
            return len(self._buffer)

    def due(self, config: StreamConfig) -> bool:
        """A full batch is buffered, or its first message waited ``batch_seconds``."""
        with self._lock:
            if not self._buffer:
                return False
            if len(self._buffer) >= config.batch_messages:
                return True
            age = (now_utc() - self._buffer[0].received_at).total_seconds()
        return age >= config.batch_seconds

    def take(self, limit: int) -> list[Message]:
        with self._lock:
            return [self._buffer.popleft() for _ in range(min(limit, len(self._buffer)))]

    def acknowledge(self, messages: list[Message]) -> int:
        """PUBACK in receipt order. Messages from an earlier connection are skipped: the
        broker redelivers those on the new one, and the lake absorbs the copy."""
        with self._lock:
            generation = self._generation
        acked = 0
        for msg in messages:
            if msg.qos and msg.generation == generation:
                self.client.ack(msg.mid, msg.qos)
                acked += 1
        return acked

    def close(self) -> None:
        with self._lock:
            self._closing = True

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Streamer:
    """Runs the subscribers and lands their micro-batches on one thread (one GX context)."""

    def __init__(
        self,
        sources: list[Source],
        settings: Settings | None = None,
        config: StreamConfig | None = None,
        run_id: str | None = None,
    ) -> None:
        self.settings = settings or load_settings()
        if not self.settings.mqtt_url:
            raise ValueError("CITYLAKE_MQTT_URL is not set: there is no broker to subscribe to")
        self.config = config or StreamConfig.from_env()
        self.sources = sources
        self.run_id = run_id or f"stream-{now_utc():%Y%m%dT%H%M%S}"
        self.stop_event = threading.Event()
        self.subscribers: list[Subscriber] = []
        self.ready = threading.Event()
        self._validator = None

    def request_stop(self, *_: object) -> None:
        self.stop_event.set()

    def _land(self, sub: Subscriber, messages: list[Message]) -> None:
        if sub.tracker is None:
            sub.tracker = SchemaTracker(sub.source, self.settings)
        entry: ledger.LedgerEntry = land_messages(
            sub.source,
            sub.topic,
            messages,
            self.settings,
            self._validator,
            self.run_id,
            sub.tracker,
        )
        c = sub.counts
        c.batches += 1
        c.received += entry.rows_received
        c.landed += entry.rows_landed
        c.quarantined += entry.rows_quarantined
        c.held += entry.rows_held
        if self.config.pause_before_ack:
            log.warning(
                "%s batch %s landed, not acknowledged yet (test pause %.0fs)",
                sub.source.id,
                entry.batch_id,
                self.config.pause_before_ack,
            )
            time.sleep(self.config.pause_before_ack)
        sub.acknowledge(messages)
        log.info(
            "%s batch %s: %d received, %d landed, %d quarantined, %d held; acknowledged",
            sub.source.id,
            entry.batch_id,
            entry.rows_received,
            entry.rows_landed,
            entry.rows_quarantined,
            entry.rows_held,
        )

    def _flush(self, sub: Subscriber) -> None:
        while sub.pending():
            self._land(sub, sub.take(self.config.batch_messages))

    def run(self, max_seconds: float | None = None) -> dict[str, Counts]:
        """Subscribe and land until stopped (signal, :meth:`request_stop` or ``max_seconds``)."""
        from quality.validate import Validator

        # GX takes ~10 s to import and set up: before connecting, so nothing waits on it.
        self._validator = Validator(self.settings.quality_home)
        assert self.settings.mqtt_url
        deadline = time.monotonic() + max_seconds if max_seconds else None
        self.subscribers = [
            Subscriber(s, self.config, self.settings.mqtt_url) for s in self.sources
        ]
        last_docs = time.monotonic()
        try:
            for sub in self.subscribers:
                sub.start()
            for sub in self.subscribers:
                sub.wait_subscribed()
            self.ready.set()
            log.info(
                "streaming %d source(s): %s",
                len(self.subscribers),
                [s.source.id for s in self.subscribers],
            )
            while not self.stop_event.is_set():
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    break
                landed_any = False
                for sub in self.subscribers:
                    if sub.due(self.config):
                        self._land(sub, sub.take(self.config.batch_messages))
                        landed_any = True
                if now - last_docs >= self.config.docs_seconds:
                    self._validator.build_docs()
                    last_docs = now
                if not landed_any:
                    self.stop_event.wait(0.05)
            # Graceful stop: take nothing new, land and acknowledge what is buffered.
            for sub in self.subscribers:
                sub.close()
            for sub in self.subscribers:
                self._flush(sub)
            self._validator.build_docs()
        finally:
            for sub in self.subscribers:
                sub.stop()
        return {sub.source.id: sub.counts for sub in self.subscribers}


def run_stream(
    source_ids: list[str] | None = None,
    max_seconds: float | None = None,
    settings: Settings | None = None,
    config: StreamConfig | None = None,
) -> dict[str, Counts]:
    """The `citylake stream` service: SIGTERM/SIGINT stop it gracefully."""
    streamer = Streamer(sensor_sources(source_ids), settings, config)
    signal.signal(signal.SIGTERM, streamer.request_stop)
    signal.signal(signal.SIGINT, streamer.request_stop)
    return streamer.run(max_seconds)
