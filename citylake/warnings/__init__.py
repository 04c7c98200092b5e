"""Disaster pre-warnings: sensor quality control, observed levels, nowcasts and each
district's warning lifecycle, as pure Python run per (hazard, district).

The Spark jobs in ``transforms/warnings.py`` (batch replay) and
``transforms/warnings_stream.py`` (Structured Streaming) drive :class:`DistrictEngine`
with the same readings in the same order, so both make the same warnings.
"""

from citylake.warnings.criteria import COLOURS, FEEDS, HAZARDS
from citylake.warnings.engine import DistrictEngine, Reading, Record

__all__ = ["COLOURS", "FEEDS", "HAZARDS", "DistrictEngine", "Reading", "Record"]
