"""Warning-change records (the warnings jobs' output rows) as CAP changes, queued once.

The warnings jobs write one row per lifecycle change (``record = 'change'``: warning id,
sequence, hazard, district, level, action, time, predicted, evidence JSON). Here each
becomes a :class:`WarningChange` with a Chinese headline and description and an expiry
per hazard, every warning's chain is rendered to CAP 1.2, and the messages go into the
outbox, which ignores what it already holds, so the batch job re-deriving the whole
history every run queues only what is new.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from citylake.alerts.cap import WarningChange, render_chain

HAZARD_NAMES = {"rainstorm": "暴雨", "heat": "高温", "flood": "洪水", "air_quality": "重污染天气"}
COLOUR_NAMES = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
ACTION_NAMES = {"issued": "发布", "upgraded": "升级", "downgraded": "降级", "lifted": "解除"}
# How long a message stands unless updated: a rain cell's signal is renewed within hours,
# a heat wave's or a flood's within a day.
VALIDITY = {
    "rainstorm": timedelta(hours=6),
    "flood": timedelta(hours=12),
    "heat": timedelta(hours=24),
    "air_quality": timedelta(hours=12),
}


def _text(row: Mapping[str, Any], district_name: str, evidence: dict[str, Any]) -> tuple[str, str]:
    hazard, level, action = row["hazard"], row["level"], row["action"]
    signal = f"{HAZARD_NAMES[hazard]}{COLOUR_NAMES[level]}预警"
    headline = f"{district_name}{ACTION_NAMES[action]}{signal}"
    if action == "lifted":
        return headline, f"{district_name}{signal}解除。"
    station = evidence.get("station_id", "")
    basis = "临近预报" if row.get("predicted") else "实况观测"
    nowcast = evidence.get("nowcast") or {}
    lead = nowcast.get("lead_minutes")
    detail = f"依据{station}站{basis}"
    if lead:
        detail += f"，预计{lead}分钟内达到{COLOUR_NAMES[level]}预警标准"
    return headline, f"{headline}。{detail}。"


def warning_change(row: Mapping[str, Any], district_names: Mapping[str, str]) -> WarningChange:
    """One change record as a CAP change (``district_names``: district code -> name)."""
    evidence = json.loads(row["detail"]) if row.get("detail") else {}
    at = row["at"]
    if hasattr(at, "to_pydatetime"):
        at = at.to_pydatetime()
    assert isinstance(at, datetime)
    district = str(row["district_code"])
    name = district_names.get(district, district)
    headline, description = _text(row, name, evidence)
    expires = at if row["action"] == "lifted" else at + VALIDITY[row["hazard"]]
    return WarningChange(
        warning_id=str(row["warning_id"]),
        sequence=int(row["sequence"]),
        hazard=str(row["hazard"]),
        district_code=district,
        district_name=name,
        level=str(row["level"]),
        action=str(row["action"]),
        at=at.replace(tzinfo=None),
        expires=expires.replace(tzinfo=None),
        headline=headline,
        description=description,
        evidence=evidence,
        predicted=bool(row.get("predicted") or False),
    )


def render_records(
    rows: Iterable[Mapping[str, Any]], district_names: Mapping[str, str]
) -> list[tuple[WarningChange, bytes]]:
    """Every change record as a validated CAP message, each warning's chain in order.
    ``rows`` must hold each warning's whole history up to its latest change."""
    changes = [warning_change(r, district_names) for r in rows if r["record"] == "change"]
    return render_chain(changes)
