"""What a pipeline run produced, read back from the lake and the serving warehouse."""

from __future__ import annotations

from dataclasses import dataclass, field

from citylake.landing import ledger
from citylake.settings import Settings, load_settings


@dataclass
class SourceCounts:
    source_id: str
    batches: int
    received: int
    landed: int
    quarantined: int
    held: int
    flagged: int = 0  # of the landed


@dataclass
class CenterStaffing:
    """One centre's two plans over the forecast horizon, and its replayed plan vs actual."""

    center_id: str
    dedicated_peak: int
    pooled_peak: int
    dedicated_counter_hours: int
    pooled_counter_hours: int
    hours: int
    hours_erlang_disagrees: int
    replay_hours: int = 0
    hours_plan_cuts_waiting: int = 0
    idle_counter_hours: int = 0
    counter_hours_open: int = 0
    counter_hours_planned: int = 0


@dataclass
class RunSummary:
    sources: list[SourceCounts] = field(default_factory=list)
    marts: dict[str, int] = field(default_factory=dict)
    models_built: int = 0
    forecast_rows: int = 0
    forecast_centers: int = 0
    # Summed over centres: each centre's peak hour, and counter-hours over the horizon.
    dedicated_peak: int = 0
    pooled_peak: int = 0
    dedicated_counter_hours: int = 0
    pooled_counter_hours: int = 0
    staffing: list[CenterStaffing] = field(default_factory=list)
    warnings_issued: int = 0
    # hazard -> action (issued / upgraded / downgraded / lifted) -> changes
    warnings_by_hazard: dict[str, dict[str, int]] = field(default_factory=dict)
    sensor_fault_notices: int = 0


def collect(settings: Settings | None = None) -> RunSummary:
    import duckdb

    settings = settings or load_settings()
    summary = RunSummary()
    frame = ledger.read(settings).to_pandas()
    if len(frame):
        grouped = frame.groupby("source_id").agg(
            batches=("batch_id", "count"),
            received=("rows_received", "sum"),
            landed=("rows_landed", "sum"),
            quarantined=("rows_quarantined", "sum"),
            held=("rows_held", "sum"),
            flagged=("rows_flagged", "sum"),
        )
        summary.sources = [
            SourceCounts(str(sid), *(int(v) for v in row)) for sid, row in grouped.iterrows()
        ]
    if not settings.serving_db.exists():
        return summary
    con = duckdb.connect(str(settings.serving_db), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name, table_type from information_schema.tables"
            " where table_schema in ('staging', 'marts')"
        ).fetchall()
        summary.models_built = len(tables)
        for schema, name, _ in tables:
            if schema == "marts":
                summary.marts[name] = con.execute(f"select count(*) from marts.{name}").fetchone()[
                    0
                ]
        if "fct_counter_demand_forecast" in summary.marts:
            summary.forecast_rows, summary.forecast_centers = con.execute(
                "select count(*), count(distinct center_id) from marts.fct_counter_demand_forecast"
            ).fetchone()
        if "fct_staffing_plan_daily" in summary.marts:
            peaks = con.execute(
                "select coalesce(sum(d), 0), coalesce(sum(p), 0), coalesce(sum(dh), 0), "
                "coalesce(sum(ph), 0) from (select max(dedicated_peak_counters) d, "
                "max(pooled_peak_counters) p, sum(dedicated_counter_hours) dh, "
                "sum(pooled_counter_hours) ph from marts.fct_staffing_plan_daily group by center_id)"
            ).fetchone()
            (
                summary.dedicated_peak,
                summary.pooled_peak,
                summary.dedicated_counter_hours,
                summary.pooled_counter_hours,
            ) = (int(v) for v in peaks)
        if "fct_staffing_plan" in summary.marts:
            summary.staffing = _staffing(con, "fct_staffing_plan_vs_actual" in summary.marts)
        if "fct_warning_changes" in summary.marts:
            rows = con.execute(
                "select hazard, action, count(*) from marts.fct_warning_changes"
                " group by hazard, action order by hazard, action"
            ).fetchall()
            for hazard, action, n in rows:
                summary.warnings_by_hazard.setdefault(hazard, {})[action] = n
            summary.warnings_issued = sum(
                counts.get("issued", 0) for counts in summary.warnings_by_hazard.values()
            )
        if "fct_sensor_fault_notices" in summary.marts:
            summary.sensor_fault_notices = con.execute(
                "select count(*) from marts.fct_sensor_fault_notices"
            ).fetchone()[0]
    finally:
        con.close()
    return summary


def _staffing(con: object, with_actual: bool) -> list[CenterStaffing]:
    """Per centre: both plans (peak, counter-hours, where Erlang C and the simulation
    disagree) and, on the replayed backtest window, the plan against the queues that formed."""
    rows = con.execute(  # type: ignore[attr-defined]
        "select center_id, max(dedicated_peak_counters), max(pooled_peak_counters), "
        "sum(dedicated_counter_hours), sum(pooled_counter_hours), sum(open_hours), "
        "sum(hours_erlang_disagrees) from marts.fct_staffing_plan_daily "
        "group by center_id order by center_id"
    ).fetchall()
    out = {str(r[0]): CenterStaffing(str(r[0]), *(int(v or 0) for v in r[1:])) for r in rows}
    if with_actual:
        actual = con.execute(  # type: ignore[attr-defined]
            "select center_id, count(*), sum(plan_would_cut_waiting::int), sum(counters_idle), "
            "sum(counters_open), sum(pooled_counters) from marts.fct_staffing_plan_vs_actual "
            "where expected_arrivals > 0 or actual_visitors > 0 group by center_id"
        ).fetchall()
        for center, hours, cut, idle, open_, planned in actual:
            if str(center) in out:
                found = out[str(center)]
                found.replay_hours, found.hours_plan_cuts_waiting = int(hours), int(cut or 0)
                found.idle_counter_hours, found.counter_hours_open = int(idle or 0), int(open_ or 0)
                found.counter_hours_planned = int(planned or 0)
    return list(out.values())
