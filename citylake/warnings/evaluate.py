"""Warnings scored against the demo city's injected events (the CLI's only; the pipeline
never reads the truth).

A *true event* is a (hazard, district, level) that some station of the district really
reached during an injected event, with the time it first did (the observed crossing).
Each is **warned** when the district was under a warning of that level or higher at some
time from ``MAX_LEAD`` before the crossing to the end of the event; its **lead time** is
the crossing minus the first such time (positive = warned before the threshold was
crossed). A warning change that raises a district to a level no true event of that
district reaches within ``FALSE_WINDOW`` of it is a **false warning**; one whose evidence
station had an injected sensor fault in the three hours before is **caused by a sensor
fault** (target 0).

Levels per hazard as the generator records them: rainstorm blue / yellow / orange / red
(``*_at``), heat yellow / orange / red, flood yellow = the warning level and red = the
guaranteed level, air quality yellow = AQI over 200 and orange = over 300.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pandas as pd

from citylake.warnings import criteria

MAX_LEAD = timedelta(hours=12)
FALSE_WINDOW = timedelta(hours=12)
FAULT_WINDOW = timedelta(hours=3)
TARGET_FALSE_PER_DISTRICT_WEEK = 1.0
TARGET_MEDIAN_RAIN_LEAD_MINUTES = 30.0
# Per hazard: the truth file and, per colour, the column holding the crossing time.
TRUTH = {
    "rainstorm": (
        "rain_events.parquet",
        {"blue": "blue_at", "yellow": "yellow_at", "orange": "orange_at", "red": "red_at"},
    ),
    "heat": (
        "heat_events.parquet",
        {"yellow": "yellow_at", "orange": "orange_at", "red": "red_at"},
    ),
    "flood": ("river_events.parquet", {"yellow": "warning_at", "red": "guaranteed_at"}),
    "air_quality": ("air_episodes.parquet", {"yellow": "over_200_at", "orange": "over_300_at"}),
}


def _naive(series: pd.Series) -> pd.Series:
    """Truth times carry +08:00; the lake's are wall-clock."""
    series = pd.to_datetime(series)
    return series.dt.tz_localize(None) if series.dt.tz is not None else series


def true_events(truth_root: Path) -> pd.DataFrame:
    """hazard, event_id, district_code, level, crossed_at, event_end."""
    rows = []
    for hazard, (name, columns) in TRUTH.items():
        path = truth_root / name
        if not path.exists():
            raise FileNotFoundError(f"no {name} in {truth_root}: run `citylake generate`")
        frame = pd.read_parquet(path)
        for colour, column in columns.items():
            crossed = frame[frame[column].notna()]
            if crossed.empty:
                continue
            part = crossed.assign(
                crossed_at=_naive(crossed[column]), event_end=_naive(crossed["end"])
            )
            first = part.groupby(["event_id", "district_code"], as_index=False).agg(
                crossed_at=("crossed_at", "min"), event_end=("event_end", "max")
            )
            rows.append(first.assign(hazard=hazard, level=colour))
    if not rows:
        return pd.DataFrame(
            columns=["hazard", "event_id", "district_code", "level", "crossed_at", "event_end"]
        )
    return pd.concat(rows, ignore_index=True)


def sensor_faults(truth_root: Path) -> pd.DataFrame:
    """station_id, fault_from, fault_to, kind of every injected sensor fault."""
    frames = []
    for name in ("sensor_faults.parquet", "sensor_feed_faults.parquet"):
        path = truth_root / name
        if path.exists():
            frame = pd.read_parquet(path)
            frames.append(
                pd.DataFrame(
                    {
                        "station_id": frame["station_id"],
                        "kind": frame["kind"],
                        "fault_from": _naive(frame["ts_from"]),
                        "fault_to": _naive(frame["ts_to"]),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _announced(changes: pd.DataFrame) -> pd.DataFrame:
    """Per change: the district's announced level from that time until the next change."""
    changes = changes.sort_values(["hazard", "district_code", "at", "sequence"])
    changes = changes.assign(
        rank=changes["level"].map(criteria.rank).where(changes["action"] != "lifted", 0)
    )
    changes["until"] = changes.groupby(["hazard", "district_code"])["at"].shift(-1)
    return changes


@dataclass(frozen=True)
class LevelScore:
    hazard: str
    level: str
    events: int
    warned: int
    missed: int
    false_warnings: int
    median_lead_minutes: float | None
    worst_lead_minutes: float | None


def score(changes: pd.DataFrame, truth_root: Path) -> tuple[list[LevelScore], pd.DataFrame, dict]:
    """Per hazard and level: events warned and missed, false warnings, lead times; the
    scored events; and the totals (false warnings per district-week, fault-caused)."""
    events = true_events(truth_root)
    periods = _announced(changes)
    leads = []
    for event in events.itertuples():
        need = criteria.rank(event.level)
        window = periods[
            (periods["hazard"] == event.hazard)
            & (periods["district_code"] == event.district_code)
            & (periods["rank"] >= need)
            & (periods["at"] <= event.event_end)
            & (periods["until"].isna() | (periods["until"] >= event.crossed_at - MAX_LEAD))
        ]
        if window.empty:
            leads.append(None)
            continue
        first = max(window["at"].min(), event.crossed_at - MAX_LEAD)
        leads.append((event.crossed_at - first).total_seconds() / 60)
    events = events.assign(lead_minutes=leads, warned=[lead is not None for lead in leads])

    raised = changes[changes["action"].isin(["issued", "upgraded"])]
    false_rows = []
    for change in raised.itertuples():
        near = events[
            (events["hazard"] == change.hazard)
            & (events["district_code"] == change.district_code)
            & (events["level"].map(criteria.rank) >= criteria.rank(change.level))
            & (events["crossed_at"] >= change.at - FALSE_WINDOW)
            & (events["crossed_at"] <= change.at + FALSE_WINDOW)
        ]
        false_rows.append(near.empty)
    raised = raised.assign(false=false_rows)

    faults = sensor_faults(truth_root)
    caused = 0
    for change in raised.itertuples():
        if faults.empty or change.station_id is None:
            continue
        hit = faults[
            (faults["station_id"] == change.station_id)
            & (faults["fault_to"] >= change.at - FAULT_WINDOW)
            & (faults["fault_from"] <= change.at)
            & ~faults["kind"].isin(["duplicate", "out_of_order"])
        ]
        caused += int(not hit.empty)

    scores = []
    for hazard, columns in ((h, c) for h, (_, c) in TRUTH.items()):
        for colour in columns:
            part = events[(events["hazard"] == hazard) & (events["level"] == colour)]
            lead = part["lead_minutes"].dropna()
            falses = raised[(raised["hazard"] == hazard) & (raised["level"] == colour)]
            scores.append(
                LevelScore(
                    hazard,
                    colour,
                    len(part),
                    int(part["warned"].sum()),
                    int((~part["warned"]).sum()),
                    int(falses["false"].sum()),
                    float(lead.median()) if len(lead) else None,
                    float(lead.min()) if len(lead) else None,
                )
            )
    span, districts = _district_weeks(truth_root, changes, events)
    totals = {
        "false_warnings": int(raised["false"].sum()),
        "district_weeks": span * districts,
        "false_per_district_week": int(raised["false"].sum()) / max(span * districts, 1e-9),
        "caused_by_sensor_fault": caused,
    }
    return scores, events, totals


def _district_weeks(
    truth_root: Path, changes: pd.DataFrame, events: pd.DataFrame
) -> tuple[float, int]:
    """Weeks the city was generated for and districts with a station (the rate's base)."""
    manifest = truth_root / "manifest.json"
    if manifest.exists():
        weeks = float(json.loads(manifest.read_text(encoding="utf-8"))["days"]) / 7
    else:
        times = pd.concat([changes["at"], events["crossed_at"]]).dropna()
        weeks = max(1.0, (times.max() - times.min()).days + 1) / 7 if len(times) else 0.0
    codes: set[str] = set(events["district_code"].astype(str))
    for name in ("rain_stations.parquet", "sensor_stations.parquet"):
        if (truth_root / name).exists():
            codes |= set(pd.read_parquet(truth_root / name)["district_code"].astype(str))
    return weeks, max(1, len(codes))


def evidence(detail: str | None) -> dict:
    return json.loads(detail) if detail else {}
