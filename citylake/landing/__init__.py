"""Landing: raw batches into bronze and quarantine, exactly once, with a ledger row each.

Public surface: ``LandingRun`` (one source, one run; the only place batches land),
``ingest_source`` (a connector's new batches through a ``LandingRun``), ``SourceReport``,
``BatchHeldError``, the ``BatchValidator`` protocol that ``quality.validate.Validator``
implements, and the ``ledger`` and ``quality_summary`` modules. May import: ``catalog``,
``settings``, ``lake``, ``identity``, ``connectors``. Never ``quality`` (it is handed in).
"""

from citylake.landing import ledger
from citylake.landing.run import BatchHeldError, LandingRun, SourceReport, ingest_source
from citylake.landing.validation import BatchValidator

__all__ = [
    "BatchHeldError",
    "BatchValidator",
    "LandingRun",
    "SourceReport",
    "ingest_source",
    "ledger",
]
