"""Files delivered again under another name: their rows go to quarantine, not to bronze twice.

A file dropped again under the same name with the same bytes is already known to the
ledger and never read again (connectors.files.new_files). The same bytes under a new
name (``complaints_0901 (1).csv``, a re-sent export) would land every record a second
time: here such a batch is marked with the delivery it repeats, and landing quarantines
each of its rows as a duplicate delivery (kept, counted, never silently dropped; a
duplicate does not count towards holding the batch).
"""

from __future__ import annotations

import logging

from citylake.connectors.base import RawBatch, SourceState

log = logging.getLogger(__name__)

REASON = "duplicate delivery of file"


class RedeliveryCheck:
    """Sets ``duplicate_of`` on a file whose bytes already landed under another name."""

    def __init__(self, state: SourceState) -> None:
        self._seen: dict[str, str] = {sha: name for name, sha in sorted(state.landed_files)}

    def apply(self, batch: RawBatch) -> RawBatch:
        sha, name = batch.file_sha256, batch.file_name
        # A header-only file (a day with nothing to deliver) has the same bytes every day:
        # that is not a re-delivery.
        if sha and name and batch.rows_received:
            first = self._seen.setdefault(sha, name)
            if first != name:
                batch.duplicate_of = first
                log.warning(
                    "%s batch %s: %s has the same bytes as %s, delivered before: its %d rows "
                    "go to quarantine as duplicates",
                    batch.source_id,
                    batch.batch_id,
                    name,
                    first,
                    batch.rows_received,
                )
        return batch


def reasons(batch: RawBatch) -> str | None:
    """The quarantine reason for every row of a re-delivered file (None for other batches)."""
    return f"{REASON} {batch.duplicate_of}" if batch.duplicate_of else None
