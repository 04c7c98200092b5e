"""What landing needs from a validator: the Great Expectations implementation lives in
``quality.validate`` and is handed in by whoever composes a run (a DAG task, the CLI, a
test), so landing never imports ``quality`` and ``quality`` depends on citylake one way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from citylake.catalog import Source


class ValidationOutcome(Protocol):
    # (_batch_seq, _row_number) -> the failed expectations, described
    row_failures: Mapping[tuple[int, int], list[str]]
    # (_batch_seq, _row_number) -> findings that flag the row but let it land
    row_flags: Mapping[tuple[int, int], list[str]]
    batch_failures: Sequence[str]


# The columns every validated table carries: a row's batch within the group, its line.
BATCH_SEQ = "_batch_seq"
ROW_ID = "_row_number"


class BatchValidator(Protocol):
    def validate(self, source: Source, table: pa.Table) -> ValidationOutcome:
        """Validate typed rows (with ``_batch_seq`` and ``_row_number``) against the source's suite."""
        ...

    def build_docs(self) -> Path | None:
        """Render the validation results (Data Docs); None when docs are off."""
        ...
