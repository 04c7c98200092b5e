"""What the outbox reports: one delivery run, what is still pending, the outbox's state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

__all__ = ["DeliveryReport", "EndpointReport", "EndpointStatus", "OutboxStatus", "PendingMessage"]


@dataclass
class EndpointReport:
    delivered: int = 0
    failed: int = 0  # attempted in this run and not delivered (retried later)
    waiting: int = 0  # not attempted: back-off not over, behind an earlier message, or unreachable
    errors: list[str] = field(default_factory=list)  # "<identifier>: <error>"


@dataclass
class DeliveryReport:
    by_endpoint: dict[str, EndpointReport]
    unrouted: int = 0  # queued messages with no endpoint to go to

    @property
    def delivered(self) -> int:
        return sum(r.delivered for r in self.by_endpoint.values())

    @property
    def failed(self) -> int:
        return sum(r.failed for r in self.by_endpoint.values())

    @property
    def waiting(self) -> int:
        return sum(r.waiting for r in self.by_endpoint.values())

    @property
    def complete(self) -> bool:
        """Everything queued has reached every endpoint."""
        return self.failed == self.waiting == self.unrouted == 0

    def summary(self) -> str:
        lines = [f"delivered {self.delivered}, failed {self.failed}, waiting {self.waiting}"]
        if self.unrouted:
            lines.append(f"{self.unrouted} queued with no endpoint (CITYLAKE_ALERT_WEBHOOKS)")
        for endpoint, r in self.by_endpoint.items():
            lines.append(f"  {endpoint}: {r.delivered} / {r.failed} / {r.waiting}")
            lines += [f"    {e}" for e in r.errors]
        return "\n".join(lines)


@dataclass(frozen=True)
class PendingMessage:
    identifier: str
    endpoint: str | None  # None: queued, no endpoint configured yet
    warning_id: str
    sequence: int
    msg_type: str
    sent: str
    attempts: int
    next_attempt_at: datetime | None  # None: due now
    last_status: int | None
    last_error: str | None


@dataclass(frozen=True)
class EndpointStatus:
    delivered: int
    pending: int
    retrying: int  # pending after at least one failed attempt
    last_delivered_at: datetime | None


@dataclass(frozen=True)
class OutboxStatus:
    path: Path
    messages: int
    unrouted: int
    by_endpoint: dict[str, EndpointStatus]
