"""The alerts' durable outbox: CAP messages are never lost and, to a receiver, never doubled.

A SQLite file (``Settings.alerts_outbox``, default ``<home>/alerts/outbox.sqlite``) holds

- ``messages``: one row per CAP identifier, in delivery order (``position``);
- ``deliveries``: one row per (identifier, endpoint) with attempts, the next attempt's
  time, the last status / error and the delivery time.

Guarantees:

- **Nothing lost.** ``enqueue`` commits a message before anything is sent; a failed POST
  (non-2xx, refused connection, timeout) is recorded with its error and retried later with
  exponential back-off (5 s doubling per attempt, capped at 10 min; settings
  ``CITYLAKE_ALERT_RETRY_DELAY_SECONDS`` / ``..._MAX_...``). A message is never dropped:
  ``pending()`` lists it with its attempts and last error until a 2xx.
- **At least once, effectively once.** A delivery is marked only after the receiver
  answered 2xx, in its own transaction, so a crash between the POST and the mark sends it
  again. Every POST carries ``Idempotency-Key: <CAP identifier>`` and the identifier is
  deterministic (``cap_identifier``), so the receiver drops the repeat: at-least-once
  delivery plus the key is effectively once.
- **No duplicate enqueue.** Identifiers are unique (INSERT OR IGNORE): a batch job that
  re-derives the same changes enqueues nothing new. The stored message stands even if the
  re-derived one differs (a sent CAP message is immutable; a correction is a new Update).
- **Order per receiver.** A warning's messages are enqueued in sequence order (a gap is
  refused) and sent oldest first; while an earlier message of a warning is undelivered to
  an endpoint, its later ones wait, so an Update never overtakes its Alert. Other warnings
  are not held up by it. A later message is only sent after the earlier one's 2xx, which
  holds across concurrent ``deliver`` calls too (they may then both send a message: the
  key absorbs that).
- **Crash-safe file.** WAL journal, ``synchronous=FULL``, every change in a short
  ``BEGIN IMMEDIATE`` transaction; no transaction is open while a request is on the wire.

Every endpoint owes every message: ``deliver`` routes the whole outbox to each endpoint it
is given (``CITYLAKE_ALERT_WEBHOOKS`` by default), so a receiver configured later catches
up in order. With no endpoint configured the messages stay queued and are reported as
unrouted.
"""

from __future__ import annotations

import heapq
import logging
import os
import signal
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

from citylake.alerts.cap import CAP_NS, WarningChange, cap_identifier, msg_type, validate
from citylake.alerts.reports import (
    DeliveryReport,
    EndpointReport,
    EndpointStatus,
    OutboxStatus,
    PendingMessage,
)
from citylake.alerts.transport import post
from citylake.settings import load_settings

__all__ = [
    "DeliveryReport",
    "EndpointReport",
    "EndpointStatus",
    "Outbox",
    "OutboxStatus",
    "PendingMessage",
    "backoff",
]

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    position INTEGER PRIMARY KEY AUTOINCREMENT,  -- delivery order, never reused
    identifier TEXT NOT NULL UNIQUE,
    warning_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    msg_type TEXT NOT NULL,
    sent TEXT NOT NULL,
    xml BLOB NOT NULL,
    enqueued_at REAL NOT NULL,
    UNIQUE (warning_id, sequence)
);
CREATE TABLE IF NOT EXISTS deliveries (
    identifier TEXT NOT NULL REFERENCES messages (identifier),
    endpoint TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL,  -- NULL: due now
    last_attempt_at REAL,
    last_status INTEGER,
    last_error TEXT,
    delivered_at REAL,
    PRIMARY KEY (identifier, endpoint)
);
CREATE INDEX IF NOT EXISTS deliveries_open ON deliveries (endpoint, delivered_at);
"""


def backoff(attempts: int, first: float = 5.0, cap: float = 600.0) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: first, doubling, capped."""
    return min(cap, first * 2 ** min(max(attempts - 1, 0), 60))


class Outbox:
    """``Outbox(path)``: ``enqueue`` CAP messages, ``deliver`` them, inspect ``pending``/``status``."""

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        retry_delay: float | None = None,
        max_retry_delay: float | None = None,
    ) -> None:
        settings = load_settings()
        self.path = Path(path) if path is not None else settings.alerts_outbox
        self.webhooks = settings.alerts.webhooks
        alerts = settings.alerts
        self.retry_delay = alerts.retry_delay_seconds if retry_delay is None else retry_delay
        self.max_retry_delay = (
            alerts.max_retry_delay_seconds if max_retry_delay is None else max_retry_delay
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode = WAL")  # persistent: readers never block the sender
            conn.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # Autocommit mode: transactions are explicit (see _transaction), never implicit.
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous = FULL")  # a committed delivery survives power loss
            conn.execute("PRAGMA foreign_keys = ON")
            yield conn
        finally:
            conn.close()

    def enqueue(
        self,
        changes_with_xml: Iterable[tuple[WarningChange, bytes]],
        endpoints: Sequence[str] | None = None,
        now: datetime | None = None,
    ) -> int:
        """Queue each change's CAP message once; returns how many messages were new.

        Every message is validated first (nothing a receiver would refuse is queued) and
        routed to ``endpoints`` (default ``CITYLAKE_ALERT_WEBHOOKS``). Each warning's
        messages must arrive in sequence order without gaps (a ValueError names the gap;
        nothing of the batch is queued then).
        """
        items = list(changes_with_xml)
        for change, xml in items:
            validate(xml)
            if (found := _identifier_of(xml)) != cap_identifier(change):
                raise ValueError(f"message {found} does not belong to {cap_identifier(change)}")
        targets = _checked_endpoints(self.webhooks if endpoints is None else endpoints)
        clock = _timestamp(now)
        new = 0
        with self._connect() as conn, _transaction(conn):
            for change, xml in _delivery_order(items):
                identifier = cap_identifier(change)
                stored = conn.execute(
                    "SELECT xml FROM messages WHERE identifier = ?", (identifier,)
                ).fetchone()
                if stored is not None:
                    if bytes(stored[0]) != xml:
                        log.warning(
                            "%s re-derived differently; the queued message stands", identifier
                        )
                else:
                    (last,) = conn.execute(
                        "SELECT MAX(sequence) FROM messages WHERE warning_id = ?",
                        (change.warning_id,),
                    ).fetchone()
                    expected = 0 if last is None else last + 1
                    if change.sequence != expected:
                        raise ValueError(
                            f"{change.warning_id}: sequence {change.sequence} enqueued before "
                            f"{expected} (each warning's messages go out in order)"
                        )
                    conn.execute(
                        "INSERT OR IGNORE INTO messages (identifier, warning_id, sequence,"
                        " msg_type, sent, xml, enqueued_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (
                            identifier,
                            change.warning_id,
                            change.sequence,
                            msg_type(change),
                            change.at.isoformat(),
                            xml,
                            clock,
                        ),
                    )
                    new += 1
                conn.executemany(
                    "INSERT OR IGNORE INTO deliveries (identifier, endpoint) VALUES (?, ?)",
                    [(identifier, endpoint) for endpoint in targets],
                )
        return new

    def deliver(
        self,
        endpoints: Sequence[str] | None = None,
        now: datetime | None = None,
        timeout: float = 5.0,
    ) -> DeliveryReport:
        """POST every due message to each endpoint, oldest first; record 2xx or the failure.

        ``now`` (tz-aware; default the wall clock) decides what is due and stamps the
        records, so tests step through the back-off without sleeping.
        """
        targets = _checked_endpoints(self.webhooks if endpoints is None else endpoints)
        clock = _timestamp(now)
        crash_after_post = load_settings().alerts.crash_after_post
        with self._connect() as conn:
            if targets:
                with _transaction(conn):
                    conn.executemany(
                        "INSERT OR IGNORE INTO deliveries (identifier, endpoint)"
                        " SELECT identifier, ? FROM messages",
                        [(endpoint,) for endpoint in targets],
                    )
            report = DeliveryReport({e: EndpointReport() for e in targets}, _unrouted(conn))
            for endpoint in targets:
                self._deliver_to(
                    conn, endpoint, clock, timeout, crash_after_post, report.by_endpoint[endpoint]
                )
        return report

    def _deliver_to(
        self,
        conn: sqlite3.Connection,
        endpoint: str,
        clock: float,
        timeout: float,
        crash_after_post: bool,
        report: EndpointReport,
    ) -> None:
        rows = conn.execute(
            "SELECT d.identifier, m.warning_id, m.xml, d.attempts, d.next_attempt_at"
            " FROM deliveries d JOIN messages m USING (identifier)"
            " WHERE d.endpoint = ? AND d.delivered_at IS NULL ORDER BY m.position",
            (endpoint,),
        ).fetchall()
        key = "identifier = ? AND endpoint = ?"
        held: set[str] = set()  # warnings with an undelivered earlier message
        unreachable = False
        for identifier, warning_id, xml, attempts, next_attempt_at in rows:
            if unreachable or warning_id in held or (next_attempt_at or 0) > clock:
                held.add(warning_id)
                report.waiting += 1
                continue
            # The attempt is on record before the request, so a crash mid-request still counts.
            with _transaction(conn):
                conn.execute(
                    f"UPDATE deliveries SET attempts = attempts + 1, last_attempt_at = ? WHERE {key}",
                    (clock, identifier, endpoint),
                )
            outcome = post(endpoint, identifier, bytes(xml), timeout)
            if outcome.ok:
                if crash_after_post:
                    os.kill(os.getpid(), signal.SIGKILL)  # test hook: die before the mark
                with _transaction(conn):
                    conn.execute(
                        "UPDATE deliveries SET delivered_at = ?, last_status = ?,"
                        f" last_error = NULL, next_attempt_at = NULL WHERE {key}",
                        (clock, outcome.status, identifier, endpoint),
                    )
                report.delivered += 1
                continue
            delay = backoff(attempts + 1, self.retry_delay, self.max_retry_delay)
            with _transaction(conn):
                conn.execute(
                    "UPDATE deliveries SET next_attempt_at = ?, last_status = ?, last_error = ?"
                    f" WHERE {key}",
                    (clock + delay, outcome.status, outcome.error, identifier, endpoint),
                )
            log.warning(
                "alert %s to %s failed (%s), retry in %g s",
                identifier,
                endpoint,
                outcome.error,
                delay,
            )
            report.failed += 1
            report.errors.append(f"{identifier}: {outcome.error}")
            held.add(warning_id)
            # No answer at all: the rest would only time out too; they wait for the next run.
            unreachable = outcome.status is None

    def pending(self, endpoint: str | None = None) -> list[PendingMessage]:
        """Undelivered messages per endpoint in delivery order, plus unrouted ones (endpoint None)."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT m.identifier, d.endpoint, m.warning_id, m.sequence, m.msg_type, m.sent,"
                " COALESCE(d.attempts, 0), d.next_attempt_at, d.last_status, d.last_error"
                " FROM messages m LEFT JOIN deliveries d USING (identifier)"
                " WHERE (d.endpoint IS NULL OR d.delivered_at IS NULL)"
                " AND (? IS NULL OR d.endpoint = ?)"
                " ORDER BY m.position, d.endpoint",
                (endpoint, endpoint),
            ).fetchall()
        return [PendingMessage(*row[:7], _datetime(row[7]), *row[8:]) for row in rows]

    def status(self) -> OutboxStatus:
        with self._connect() as conn:
            (messages,) = conn.execute("SELECT COUNT(*) FROM messages").fetchone()
            rows = conn.execute(
                "SELECT endpoint, COUNT(delivered_at), SUM(delivered_at IS NULL),"
                " SUM(delivered_at IS NULL AND attempts > 0), MAX(delivered_at)"
                " FROM deliveries GROUP BY endpoint ORDER BY endpoint"
            ).fetchall()
            unrouted = _unrouted(conn)
        return OutboxStatus(
            path=self.path,
            messages=messages,
            unrouted=unrouted,
            by_endpoint={
                endpoint: EndpointStatus(delivered, pending, retrying, _datetime(last))
                for endpoint, delivered, pending, retrying, last in rows
            },
        )


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    # IMMEDIATE takes the write lock up front: two deliverers never interleave an update.
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _unrouted(conn: sqlite3.Connection) -> int:
    (count,) = conn.execute(
        "SELECT COUNT(*) FROM messages m"
        " WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.identifier = m.identifier)"
    ).fetchone()
    return int(count)


def _delivery_order(
    items: list[tuple[WarningChange, bytes]],
) -> Iterator[tuple[WarningChange, bytes]]:
    """Each warning's chain in sequence order, chains interleaved oldest first."""
    chains: dict[str, list[tuple[WarningChange, bytes]]] = {}
    for item in items:
        chains.setdefault(item[0].warning_id, []).append(item)
    for chain in chains.values():
        chain.sort(key=lambda item: item[0].sequence)
    # merge never reorders within one chain, whatever the times say.
    return heapq.merge(*chains.values(), key=lambda item: (item[0].at, item[0].warning_id))


def _identifier_of(xml: bytes) -> str:
    root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    return root.findtext(f"{{{CAP_NS}}}identifier") or ""


def _checked_endpoints(endpoints: Iterable[str]) -> list[str]:
    checked = []
    for endpoint in endpoints:
        parts = urlsplit(endpoint)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"alert endpoint {endpoint!r} is not an http(s) URL")
        if endpoint not in checked:
            checked.append(endpoint)
    return checked


def _timestamp(now: datetime | None) -> float:
    if now is None:
        return datetime.now(UTC).timestamp()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (a naive time is ambiguous)")
    return now.timestamp()


def _datetime(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)
