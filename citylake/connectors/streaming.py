"""The continuous sensor feeds: one MQTT subscriber per sensor source, buffering micro-batches.

``citylake.orchestration.stream.Streamer`` runs the subscribers and lands what they buffer
through ``citylake.landing.LandingRun``; this module only talks MQTT.

Delivery guarantee, end to end:

- Each subscriber is an MQTT v5 client with a stable client id
  (``<prefix>-<source id>``), ``clean_start=False`` and a session expiry, so the broker
  keeps its subscription and queues QoS 1 messages while it is down.
- ``manual_ack=True``: a message is acknowledged (PUBACK) only after the micro-batch
  holding it is durably in the lake (bronze + quarantine Delta commits, then the
  ledger row) by the normal ingest path (catalog typing, Great Expectations,
  quarantine, ledger). A crash before the acknowledgement makes the broker redeliver;
  the redelivery is absorbed by the lake's exactly-once app transaction (same content,
  same batch id) or by the primary key (``stream_messages``). So: no loss, no duplicate.
- The client announces a Receive Maximum (``CITYLAKE_STREAM_RECEIVE_MAXIMUM``): how many
  unacknowledged messages the broker may send ahead. It must exceed the micro-batch size,
  or the broker would wait for acknowledgements that wait for a full batch.
- A micro-batch flushes at ``CITYLAKE_STREAM_BATCH_MESSAGES`` messages or
  ``CITYLAKE_STREAM_BATCH_SECONDS`` after its first message, whichever comes first, and
  takes everything buffered by then up to ``CITYLAKE_STREAM_MAX_BATCH_MESSAGES``: under
  load the batches grow while the previous one lands, so the fixed cost of a batch
  (validation set-up, three Delta commits) is paid per thousands of messages, and the
  delay stays about one batch's landing time.
- SIGTERM/SIGINT: stop taking messages (later ones stay unacknowledged, so the broker
  keeps them), land and acknowledge what is buffered, disconnect, exit 0.

Settings: the ``CITYLAKE_STREAM_*`` variables in ``citylake.settings``.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from citylake.catalog import MqttConnector, Source, default_catalog
from citylake.connectors.stream_messages import Message, now_utc
from citylake.settings import StreamSettings, load_settings

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class StreamConfig(StreamSettings):
    """The stream settings (``citylake.settings``) with per-run overrides, checked."""

    @classmethod
    def from_env(cls, **overrides: object) -> StreamConfig:
        values = asdict(load_settings().stream)
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

    @property
    def batch_limit(self) -> int:
        """The most messages one micro-batch takes (never below the size trigger)."""
        return max(self.batch_messages, self.max_batch_messages)


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
