"""Ground truth: what the generator knows and the pipeline must rediscover.

One Parquet file per table under ``truth_root`` plus ``manifest.json``. The pipeline
never reads these; evaluation (entity-resolution precision/recall, forecast backtests,
warning lead times) and tests do. ``TRUTH_SCHEMAS`` is the contract for those readers:
one place that says what each table holds.

Timestamps are timezone-aware (+08:00); dates are ``date32``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

_TS = pa.timestamp("s", tz="+08:00")
_S = pa.string()
_LOCATION = [
    ("district_code", _S),
    ("district", _S),
    ("street_code", _S),
    ("street", _S),
    ("community_code", _S),
    ("community", _S),
]

TRUTH_SCHEMAS: dict[str, pa.Schema] = {
    # The city (reference data; stable across seeds).
    "geography": pa.schema([*_LOCATION, ("resident_weight", pa.float64())]),
    # Working days per the holidays package (closed days, make-up working days).
    "calendar": pa.schema(
        [
            ("date", pa.date32()),
            ("working", pa.bool_()),
            ("holiday", _S),
            ("makeup_workday", pa.bool_()),
        ]
    ),
    # Every resident; the entity the unified citizen model must rediscover.
    "citizens": pa.schema(
        [
            ("citizen_id", _S),
            ("name", _S),
            ("gender", _S),
            ("birth_date", pa.date32()),
            ("resident_id", _S),
            ("phone", _S),
            *_LOCATION,
            ("address", _S),
        ]
    ),
    # Which citizen is behind each delivered identifying value, and how it was damaged.
    # field: resident_id | caller_phone; corruption: null | check_char | phone_format.
    "identity_links": pa.schema(
        [
            ("source_id", _S),
            ("record_id", _S),
            ("field", _S),
            ("citizen_id", _S),
            ("true_value", _S),
            ("delivered_value", _S),
            ("corruption", _S),
        ]
    ),
    "service_centers": pa.schema(
        [
            ("center_id", _S),
            ("center_name", _S),
            ("level", _S),
            ("district_code", _S),
            ("street_code", _S),
            ("counters", pa.int32()),
            ("base_daily_tickets", pa.float64()),
        ]
    ),
    # Expected arrivals per center, category and opening hour (hour = 9 means 09:00-10:00).
    "demand_intensity": pa.schema(
        [
            ("date", pa.date32()),
            ("center_id", _S),
            ("service_category", _S),
            ("hour", pa.int32()),
            ("lambda", pa.float64()),
            ("open", pa.bool_()),
        ]
    ),
    # Multiplicative demand shocks baked into lambda (surges, holiday eve / rebound).
    "demand_events": pa.schema(
        [
            ("kind", _S),
            ("service_category", _S),
            ("date", pa.date32()),
            ("factor", pa.float64()),
            ("note", _S),
        ]
    ),
    "complaints": pa.schema(
        [
            ("complaint_id", _S),
            ("competent_level", _S),
            ("competent_department", _S),
            ("true_district_code", _S),
            ("true_street_code", _S),
            ("true_community_code", _S),
            ("location_withheld", pa.bool_()),
            ("caller_citizen_id", _S),
            ("caused_by", _S),
            # What the caller described (complaint_situations) and the rule's answer for it;
            # competent_* differ from rule_* only for the documented ambiguous situations.
            ("situation", _S),
            ("place_kind", _S),
            ("true_category", _S),
            ("true_urgency", _S),
            ("hazard", pa.bool_()),
            ("rule_level", _S),
            ("rule_department", _S),
            ("ambiguous", pa.bool_()),
            ("enterprise_id", _S),
            ("hotspot_id", _S),
            ("typo", pa.bool_()),
        ]
    ),
    # Hotspots planted by the generator: a community or a firm complained about far beyond
    # its share, over [start_date, end_date].
    "complaint_hotspots": pa.schema(
        [
            ("hotspot_id", _S),
            ("kind", _S),
            ("situation", _S),
            ("community_code", _S),
            ("enterprise_id", _S),
            ("start_date", pa.date32()),
            ("end_date", pa.date32()),
            ("complaints", pa.int64()),
        ]
    ),
    "rain_stations": pa.schema(
        [("station_id", _S), ("name", _S), ("district_code", _S), ("street_code", _S)]
    ),
    # One row per (injected event, station it rained on). expected_level is computed from
    # the delivered series (integer tenths, windows of 12 h / 6 h / 3 h ending at each ts);
    # <level>_at is the first ts at which that level's threshold was reached.
    "rain_events": pa.schema(
        [
            ("event_id", _S),
            ("station_id", _S),
            ("district_code", _S),
            ("role", _S),
            ("target_level", _S),
            ("expected_level", _S),
            ("start", _TS),
            ("peak", _TS),
            ("end", _TS),
            ("total_mm", pa.float64()),
            ("max_3h_mm", pa.float64()),
            ("max_6h_mm", pa.float64()),
            ("max_12h_mm", pa.float64()),
            ("blue_at", _TS),
            ("yellow_at", _TS),
            ("orange_at", _TS),
            ("red_at", _TS),
        ]
    ),
    # kind: dropout (readings ts_from..ts_to missing) | duplicate (one message twice) |
    # out_of_order (one message written after later ones).
    "sensor_faults": pa.schema(
        [
            ("fault_id", _S),
            ("kind", _S),
            ("station_id", _S),
            ("ts_from", _TS),
            ("ts_to", _TS),
            ("file", _S),
            ("detail", _S),
        ]
    ),
    # The station registry of the sensor feeds other than rain gauges (river_stage,
    # weather_station, air_quality, manhole_tilt, traffic_counter); attributes is a JSON
    # object of feed-specific facts (river and its levels, road and lanes, well type).
    "sensor_stations": pa.schema(
        [
            ("source_id", _S),
            ("station_id", _S),
            ("name", _S),
            ("district_code", _S),
            ("street_code", _S),
            ("attributes", _S),
        ]
    ),
    # One row per (flood rise, gauge it reached). expected_level: guaranteed | warning |
    # null, from the delivered stage ("above" is strictly greater); <level>_at is the
    # first ts above that level; below_warning_at the first ts back at or below warning.
    "river_events": pa.schema(
        [
            ("event_id", _S),
            ("station_id", _S),
            ("district_code", _S),
            ("role", _S),
            ("target_level", _S),
            ("expected_level", _S),
            ("warning_level_m", pa.float64()),
            ("guaranteed_level_m", pa.float64()),
            ("start", _TS),
            ("warning_at", _TS),
            ("guaranteed_at", _TS),
            ("peak", _TS),
            ("peak_stage_m", pa.float64()),
            ("below_warning_at", _TS),
            ("end", _TS),
        ]
    ),
    # One row per (heat wave, weather station). expected_level: red (>= 40 C) | orange
    # (>= 37 C) | yellow (daily max >= 35 C three days running) | null; yellow_at is the
    # first reading >= 35 C on the third such day, orange_at/red_at the first reading
    # at or above 37/40 C.
    "heat_events": pa.schema(
        [
            ("event_id", _S),
            ("station_id", _S),
            ("district_code", _S),
            ("role", _S),
            ("target_level", _S),
            ("expected_level", _S),
            ("start", _TS),
            ("peak", _TS),
            ("end", _TS),
            ("max_temp_c", pa.float64()),
            ("hot_days_running", pa.int32()),
            ("yellow_at", _TS),
            ("orange_at", _TS),
            ("red_at", _TS),
        ]
    ),
    # One row per (pollution episode, monitor). Bands per HJ 633-2012: excellent, good,
    # light, moderate, heavy (201-300), severe (> 300); over_<n>_at is the first hourly
    # AQI above n within the episode.
    "air_episodes": pa.schema(
        [
            ("event_id", _S),
            ("station_id", _S),
            ("district_code", _S),
            ("role", _S),
            ("target_band", _S),
            ("expected_band", _S),
            ("start", _TS),
            ("peak", _TS),
            ("end", _TS),
            ("max_aqi", pa.int32()),
            ("max_pm25_ug_m3", pa.int32()),
            ("over_100_at", _TS),
            ("over_150_at", _TS),
            ("over_200_at", _TS),
            ("over_300_at", _TS),
        ]
    ),
    # Manhole covers displaced (every reading start..end at or above alarm_tilt_deg + 2).
    # cause: vehicle_impact | flood_lift | cover_flipped.
    "manhole_events": pa.schema(
        [
            ("event_id", _S),
            ("station_id", _S),
            ("district_code", _S),
            ("street_code", _S),
            ("cause", _S),
            ("start", _TS),
            ("peak", _TS),
            ("end", _TS),
            ("peak_tilt_deg", pa.float64()),
            ("alarm_tilt_deg", pa.float64()),
            ("water_level_alarm", pa.bool_()),
        ]
    ),
    # Faults of the feeds in sensor_stations. kind: dropout | stuck | spike | clock_skew |
    # duplicate | out_of_order; ts_from/ts_to are true reading times; field, true_value
    # and delivered_value for stuck and spike; skew_minutes for clock_skew.
    "sensor_feed_faults": pa.schema(
        [
            ("source_id", _S),
            ("fault_id", _S),
            ("kind", _S),
            ("station_id", _S),
            ("field", _S),
            ("ts_from", _TS),
            ("ts_to", _TS),
            ("file", _S),
            ("true_value", pa.float64()),
            ("delivered_value", pa.float64()),
            ("skew_minutes", pa.int32()),
            ("detail", _S),
        ]
    ),
}
MANIFEST = "manifest.json"


def clear_truth(truth_root: Path) -> None:
    """Remove the previous run's truth files (only the names this module writes)."""
    for name in TRUTH_SCHEMAS:
        (truth_root / f"{name}.parquet").unlink(missing_ok=True)
    (truth_root / MANIFEST).unlink(missing_ok=True)


def write_truth(
    truth_root: Path,
    tables: Mapping[str, Sequence[Mapping[str, object]]],
    extra_schemas: Mapping[str, pa.Schema] | None = None,
) -> list[Path]:
    """Write each table (rows as dicts) with its declared schema; returns the files.

    ``extra_schemas`` declares tables owned elsewhere (the department sources' truth).
    """
    truth_root.mkdir(parents=True, exist_ok=True)
    schemas = {**TRUTH_SCHEMAS, **(extra_schemas or {})}
    written = []
    for name in sorted(tables):
        schema = schemas[name]
        table = pa.Table.from_pylist(list(tables[name]), schema=schema)
        path = truth_root / f"{name}.parquet"
        pq.write_table(table, path, compression="zstd")
        written.append(path)
    return written


def write_manifest(truth_root: Path, manifest: Mapping[str, object]) -> Path:
    """Parameters and counts of the run (no wall-clock times: output must be reproducible)."""
    path = truth_root / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return path


def read_truth(truth_root: Path, name: str) -> pa.Table:
    """Read one truth table (for evaluation and tests)."""
    return pq.read_table(truth_root / f"{name}.parquet", schema=TRUTH_SCHEMAS[name])
