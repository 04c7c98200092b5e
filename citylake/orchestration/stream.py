"""The continuous stream: MQTT subscribers (``connectors.streaming``) landing through
``landing.LandingRun``, acknowledging a message only after its micro-batch is committed.

One ``LandingRun`` per source lives as long as the stream (ledger state, schema history
and bronze types read once), with ``check_landed_keys`` on: a redelivered message
regrouped into a new micro-batch is a duplicate delivery, not a second reading. A held
micro-batch has no file to retry from, so its messages are kept under ``lake/held``
before they are acknowledged.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

from citylake.catalog import Source
from citylake.connectors.stream_messages import Message, keep_held, now_utc, to_raw_batch
from citylake.connectors.streaming import StreamConfig, Subscriber, sensor_sources
from citylake.landing import LandingRun, SourceReport, ledger
from citylake.orchestration.pipeline import localize_docs
from citylake.settings import Settings, load_settings
from quality.validate import Validator

log = logging.getLogger(__name__)


def stream_landing(
    source: Source, settings: Settings, validator: Validator, run_id: str
) -> LandingRun:
    return LandingRun(source, settings, validator, run_id, check_landed_keys=True)


def land_messages(
    run: LandingRun, topic_filter: str, messages: list[Message]
) -> ledger.LedgerEntry:
    """Type, validate and land one micro-batch; returns its ledger entry (written last)."""
    (entry,) = run.land([to_raw_batch(run.source, topic_filter, messages)])
    if entry.status == ledger.HELD:
        kept = keep_held(run.settings, run.source, entry.batch_id, messages)
        log.error(
            "%s batch %s held; its %d messages are kept in %s",
            run.source.id,
            entry.batch_id,
            len(messages),
            kept,
        )
    return entry


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
        self._validator: Validator | None = None
        # One landing run per source for the stream's life; its report is the source's counts.
        self._runs: dict[str, LandingRun] = {}

    @property
    def reports(self) -> dict[str, SourceReport]:
        """What each source has landed so far (filled once :meth:`run` has started)."""
        return {source_id: run.report for source_id, run in self._runs.items()}

    def request_stop(self, *_: object) -> None:
        self.stop_event.set()

    def _land(self, sub: Subscriber, messages: list[Message]) -> None:
        entry = land_messages(self._runs[sub.source.id], sub.topic, messages)
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
            self._land(sub, sub.take(self.config.batch_limit))

    def run(self, max_seconds: float | None = None) -> dict[str, SourceReport]:
        """Subscribe and land until stopped (signal, :meth:`request_stop` or ``max_seconds``)."""
        # GX takes ~10 s to import and set up: before connecting, so nothing waits on it.
        self._validator = Validator(self.settings.quality_home, after_docs=localize_docs)
        self._runs = {
            s.id: stream_landing(s, self.settings, self._validator, self.run_id)
            for s in self.sources
        }
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
                        self._land(sub, sub.take(self.config.batch_limit))
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
        return self.reports


def run_stream(
    source_ids: list[str] | None = None,
    max_seconds: float | None = None,
    settings: Settings | None = None,
    config: StreamConfig | None = None,
) -> dict[str, SourceReport]:
    """The `citylake stream` service: SIGTERM/SIGINT stop it gracefully."""
    streamer = Streamer(sensor_sources(source_ids), settings, config)
    signal.signal(signal.SIGTERM, streamer.request_stop)
    signal.signal(signal.SIGINT, streamer.request_stop)
    return streamer.run(max_seconds)
