"""Readings as the engine takes them, and one (hazard, district) group run through it.

Pure pandas, one call per group: the batch job runs :func:`run_group` in
``groupBy("hazard", "district_key").applyInPandas``, and the streaming job runs the same
engine on each micro-batch's rows of a group, sorted the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import fields

import pandas as pd

from citylake.warnings import criteria
from citylake.warnings.engine import DistrictEngine, Reading, Record

# The order landing committed the rows in (commit time, then the delivery and its line):
# the engine's clock.
ARRIVAL = ["_loaded_at", "_source_ref", "_row_number"]
READING_COLUMNS = [
    "hazard",
    "district_key",
    "station_id",
    "district_code",
    "reading_at",
    "value",
    "warning_level",
    "guaranteed_level",
    *ARRIVAL,
]
READING_SCHEMA = (
    "hazard string, district_key string, station_id string, district_code string, "
    "reading_at timestamp_ntz, value double, warning_level double, guaranteed_level double, "
    "_loaded_at timestamp_ntz, _source_ref string, _row_number long"
)
RECORD_COLUMNS = [f.name for f in fields(Record)]
RECORD_SCHEMA = (
    "record string, hazard string, district_code string, station_id string, "
    "at timestamp_ntz, warning_id string, sequence int, action string, level string, "
    "previous_level string, predicted boolean, reason string, value double, detail string, "
    "observed_level string, predicted_level string, lead_minutes int"
)
# Hazards whose engines also see every other district's stations (the neighbour check).
CITY_WIDE = {"rainstorm"}


def hazard_of(source_id: str) -> str:
    for hazard, (source, _, _) in criteria.FEEDS.items():
        if source == source_id:
            return hazard
    raise ValueError(f"{source_id!r} feeds no warning; feeds are {criteria.FEEDS}")


def readings(frame: pd.DataFrame) -> Iterator[Reading]:
    """Rows (``READING_COLUMNS``) as engine readings, in arrival order."""
    frame = frame.sort_values(ARRIVAL, kind="stable")
    has_levels = frame["warning_level"].notna().to_numpy()
    for i, row in enumerate(frame.itertuples(index=False)):
        yield Reading(
            station_id=row.station_id,
            district_code=row.district_code,
            at=row.reading_at.to_pydatetime(),
            value=float(row.value),
            warning_level=float(row.warning_level) if has_levels[i] else None,
            guaranteed_level=float(row.guaranteed_level) if has_levels[i] else None,
        )


def run(engine: DistrictEngine, rows: Iterable[Reading]) -> list[Record]:
    out: list[Record] = []
    for reading in rows:
        out += engine.feed(reading)
    return out


def records_frame(records: list[Record]) -> pd.DataFrame:
    frame = pd.DataFrame([r.__dict__ for r in records], columns=RECORD_COLUMNS)
    frame["at"] = pd.to_datetime(frame["at"])
    frame["sequence"] = frame["sequence"].astype("Int32")
    frame["predicted"] = frame["predicted"].astype("boolean")
    frame["lead_minutes"] = frame["lead_minutes"].astype("Int32")
    return frame


def run_group(group: pd.DataFrame) -> pd.DataFrame:
    """Every record of one (hazard, district) group, its readings replayed in arrival order."""
    engine = DistrictEngine(str(group["hazard"].iloc[0]), str(group["district_key"].iloc[0]))
    return records_frame(run(engine, readings(group)))
