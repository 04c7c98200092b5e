"""Disaster pre-warnings as CAP 1.2 messages, delivered through a durable outbox.

``cap`` turns one lifecycle change of a warning (``WarningChange``: issued, upgraded,
downgraded, lifted) into a CAP 1.2 ``<alert>`` referencing the warning's earlier messages
and validates it against the OASIS schema; ``outbox`` queues the messages in SQLite and
POSTs them to the configured webhooks at least once, in order per receiver, with an
``Idempotency-Key`` so receivers keep each once; ``receiver`` is a loopback webhook for
tests and the demo. May import only the core (settings).
"""

from citylake.alerts.cap import (
    CapValidationError,
    WarningChange,
    cap_identifier,
    render_chain,
    to_cap,
    validate,
)
from citylake.alerts.outbox import DeliveryReport, Outbox, PendingMessage

__all__ = [
    "CapValidationError",
    "DeliveryReport",
    "Outbox",
    "PendingMessage",
    "WarningChange",
    "cap_identifier",
    "render_chain",
    "to_cap",
    "validate",
]
