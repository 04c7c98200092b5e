"""The warehouse DAG's ``triage_complaints`` step: read the warehouse, triage every complaint,
find the week's hotspots, write both to the lake for the marts."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from citylake.complaints.hotspots import weekly_hotspots
from citylake.complaints.inputs import (
    read_firms,
    read_inputs,
    read_residents,
    write_empty,
    write_hotspots,
    write_output,
)
from citylake.complaints.triage import TriageError, triage

log = logging.getLogger(__name__)
# Words (and the operators' usual slips) for a manhole and for standing or rising water.
MANHOLE_WORDS = "井盖|井概|窨井|雨水井|污水井"
FLOODING_WORDS = "积水|急水|淹|进水|冒水|外溢|满溢|排涝"


def run(build_db: Path, gold_dir: Path) -> dict[str, Any]:
    inputs = read_inputs(build_db)
    try:
        result = triage(inputs)
    except TriageError as error:
        # Too little history to learn from is a state of the city, not a failed run.
        log.warning("complaint triage skipped: %s", error)
        write_empty(gold_dir)
        return {"complaints": len(inputs), "triaged": 0, "skipped": str(error)}
    frame = result.frame.merge(
        inputs[["complaint_id", "summary", "community_code"]], on="complaint_id", how="left"
    )
    cells, links = weekly_hotspots(frame, read_residents(build_db), read_firms(build_db))
    result.frame["enterprise_key"] = links.to_numpy()
    # What a sensor could confirm: the evidence mart links manholes only to calls about one.
    summary = frame["summary"].fillna("")
    result.frame["mentions_manhole"] = summary.str.contains(MANHOLE_WORDS).to_numpy()
    result.frame["mentions_flooding"] = summary.str.contains(FLOODING_WORDS).to_numpy()
    write_output(result, gold_dir)
    write_hotspots(cells, gold_dir)
    hotspots = cells[cells["is_hotspot"]]
    return {
        "complaints": len(inputs),
        "triaged": len(result.frame),
        "trained_on": result.trained_on,
        "train_until": result.train_until.date().isoformat(),
        "community_hotspots": int((hotspots["kind"] == "community").sum()),
        "firm_hotspots": int((hotspots["kind"] == "firm").sum()),
        "seconds": round(result.seconds, 1),
    }
