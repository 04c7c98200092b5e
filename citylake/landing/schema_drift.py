"""Schema drift at landing: declared renames mapped, new columns kept, the rest reported.

What a department delivers can differ from its catalog declaration in three ways, each
handled without failing the source:

* a column the catalog declares as renamed (``renamed_from``) arrives under its old
  name: the values land under the declared name and the batch's ledger row says so;
* an undeclared column arrives: it is kept as text and added to bronze (Delta schema
  evolution, ``schema_mode="merge"``);
* a declared column is missing while an unknown one is present: likely an undeclared
  rename, reported as ``column X missing, unknown column Y present``; the unknown column
  is still kept, the missing one lands empty.

A value that does not fit its declared type is a row-level failure: the row goes to
quarantine (casting.py). So is a value that does not fit the type bronze already holds
its column as, when the catalog's type changed since: bronze keeps its type, the table
never fails on a Delta schema mismatch.

Every batch gets a schema version: the ordinal, per source, of the set of column names
it was delivered with, in order of first appearance in the ledger. The ledger stores the
set (``schema_columns``) beside the version, so versions are stable across runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pyarrow as pa

from citylake import lake
from citylake.catalog import FieldType, Source
from citylake.connectors.base import RawBatch
from citylake.landing import ledger
from citylake.landing.casting import BRONZE_TYPES, type_conflicts
from citylake.settings import Settings

log = logging.getLogger(__name__)

ROW_NUMBER = "_row_number"


@dataclass
class Drift:
    """How one batch's delivered columns differ from the declaration."""

    delivered: list[str]  # column names as delivered
    renamed: dict[str, str] = field(default_factory=dict)  # delivered old name -> declared
    added: list[str] = field(default_factory=list)  # undeclared, kept as text
    missing: list[str] = field(default_factory=list)  # declared, not delivered (land empty)
    version: int = 1

    @property
    def signature(self) -> str:
        return ",".join(sorted(self.delivered))

    def note(self) -> str:
        """One line for the ledger and the log; empty when the batch matches the catalog."""
        parts = [f"schema v{self.version}"]
        if self.renamed:
            parts.append(
                "renamed (declared): "
                + ", ".join(f"{old} -> {new}" for old, new in sorted(self.renamed.items()))
            )
        if self.missing and self.added:
            parts.append(
                "undeclared rename? "
                + "; ".join(
                    f"column {m} missing, unknown column {a} present"
                    for m, a in _pairs(self.missing, self.added)
                )
            )
        if self.added:
            parts.append(f"undeclared columns kept: {self.added}")
        if self.missing:
            parts.append(f"declared columns missing: {self.missing}")
        return "; ".join(parts) if len(parts) > 1 else ""


def _pairs(missing: list[str], added: list[str]) -> list[tuple[str, str]]:
    """Pair each missing column with an unknown one (by position); the leftovers alone."""
    n = max(len(missing), len(added))
    return [
        (
            missing[i] if i < len(missing) else "(none)",
            added[i] if i < len(added) else "(none)",
        )
        for i in range(n)
    ]


def apply_renames(source: Source, batch: RawBatch) -> Drift:
    """Map declared old names to the new ones in ``batch`` (in place) and describe the drift.

    Connectors fill a declared column that was not delivered with None; a value under
    the old name takes its place. Were both names delivered, the new name's value wins
    and the old one fills its gaps.
    """
    frame = batch.frame
    missing = set(batch.missing_columns)
    delivered = [c for c in frame.columns if c != ROW_NUMBER and c not in missing]
    drift = Drift(delivered=delivered)
    for old, new in source.renames.items():
        if old not in frame.columns:
            continue
        if new in frame.columns and new not in missing:
            frame[new] = frame[new].where(frame[new].notna(), frame[old])
        else:
            frame[new] = frame[old]
        batch.frame = frame = frame.drop(columns=[old])
        drift.renamed[old] = new
        missing.discard(new)
    batch.extra_columns = [c for c in batch.extra_columns if c not in drift.renamed]
    batch.missing_columns = [c for c in batch.missing_columns if c in missing]
    drift.added = list(batch.extra_columns)
    drift.missing = list(batch.missing_columns)
    return drift


class SchemaHistory:
    """The schema versions a source has had, read from the ledger, extended as batches arrive."""

    def __init__(self, settings: Settings, source_id: str, rows: pa.Table | None = None) -> None:
        """``rows``: the source's ledger rows when the caller has read them already."""
        self.versions: dict[str, int] = {}
        table = rows if rows is not None else ledger.read(settings, source_id)
        if "schema_columns" not in table.column_names or not table.num_rows:
            return
        frame = table.to_pandas()
        mine = frame[(frame["source_id"] == source_id) & frame["schema_columns"].notna()]
        for signature, version in mine.sort_values("started_at")[
            ["schema_columns", "schema_version"]
        ].itertuples(index=False):
            if signature:
                self.versions.setdefault(str(signature), int(version))

    def version_of(self, drift: Drift) -> int:
        if drift.signature not in self.versions:
            self.versions[drift.signature] = max(self.versions.values(), default=0) + 1
        return self.versions[drift.signature]

    @property
    def latest(self) -> int:
        return max(self.versions.values(), default=1)


def bronze_type_conflicts(source: Source, settings: Settings) -> dict[str, FieldType]:
    """Columns bronze already holds under another type than this run would write them."""
    table = lake.open_table(settings.bronze_path(source.id))
    if table is None:
        return {}
    found = type_conflicts(source, table.to_pyarrow_dataset().schema)
    if found:
        log.warning(
            "%s: bronze keeps its column types %s over the catalog's; values that do not fit "
            "go to quarantine",
            source.id,
            {k: v.value for k, v in found.items()},
        )
    return found


class DriftTracker:
    """Renames applied and schema version and note set on each batch of one landing run.

    The source's schema history (from the ledger) and bronze's column types are read
    once per run, then extended batch by batch."""

    def __init__(
        self, source: Source, settings: Settings, ledger_rows: pa.Table | None = None
    ) -> None:
        self.source = source
        self._history = SchemaHistory(settings, source.id, ledger_rows)
        self._conflicts = bronze_type_conflicts(source, settings)

    def apply(self, batch: RawBatch) -> RawBatch:
        source = self.source
        drift = apply_renames(source, batch)
        if self._conflicts:  # read by steps._prepare: these columns keep bronze's type
            batch.frame.attrs[BRONZE_TYPES] = self._conflicts
        if len(batch.frame):
            drift.version = self._history.version_of(drift)
            batch.schema_columns = drift.signature
        else:  # nothing parsed (an unreadable file): no columns to judge
            drift.version = self._history.latest
        batch.schema_version = drift.version
        batch.schema_note = drift.note()
        if drift.renamed or drift.added or drift.missing:
            log.warning(
                "%s batch %s (%s): %s", source.id, batch.batch_id, batch.ref, batch.schema_note
            )
        return batch
