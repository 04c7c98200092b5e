"""The whole city through real Airflow (every department DAG, then the Asset-triggered
warehouse DAG), on a small generated city."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest

from citylake import lake
from citylake.catalog import Source, default_catalog
from citylake.landing import ledger
from citylake.orchestration.dag_plan import INGEST_DAG_PREFIX, WAREHOUSE_DAG_ID, bronze_asset_uri
from citylake.settings import Settings

pytestmark = pytest.mark.slow


def expected_hourly_rows(settings: Settings) -> int:
    """Distinct (center, category, hour) among delivered tickets that were not quarantined."""
    db = settings.sources_root / "sql" / "service_center.sqlite"
    with sqlite3.connect(db) as con:
        tickets = pd.read_sql(
            "select ticket_id, center_id, service_category, issued_at from queue_ticket", con
        )
    quarantined = lake.read_table(settings.quarantine_path("svc_queue_tickets")).to_pandas()
    if len(quarantined):
        raw_ids = quarantined["raw_record"].map(lambda r: json.loads(r).get("ticket_id"))
        tickets = tickets[~tickets["ticket_id"].isin(set(raw_ids))]
    hours = tickets["issued_at"].str.slice(0, 13)
    return int(
        pd.DataFrame({"c": tickets["center_id"], "s": tickets["service_category"], "h": hours})
        .drop_duplicates()
        .shape[0]
    )


def test_city_run_went_through_every_dag(pipeline_run: dict) -> None:
    settings: Settings = pipeline_run["settings"]
    runs = pipeline_run["runs"]
    departments = {s.department for s in default_catalog().values()}
    assert [r.dag_id for r in runs] == [
        *sorted(f"{INGEST_DAG_PREFIX}{d}" for d in departments),
        WAREHOUSE_DAG_ID,
    ]
    assert {r.state for r in runs} == {"success"}
    ingest_tasks = {t for r in runs for t in r.tasks if t.startswith("ingest_")}
    assert ingest_tasks == {f"ingest_{s}" for s in default_catalog()}
    # Each department's run rendered its Data Docs once, in its last task.
    for run in runs[:-1]:
        assert run.tasks["quality_docs"] == "success", run.dag_id
    index = settings.quality_docs_index.read_text(encoding="utf-8")
    assert all(f"landing.{s}" in index for s in default_catalog())
    # Every ingest task recorded an Asset event carrying its counts; the warehouse ran on them.
    db = settings.airflow_db_url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as con:
        events = con.execute(
            "select a.uri, e.extra from asset_event e join asset a on a.id = e.asset_id"
        ).fetchall()
    landed = {uri: json.loads(extra) for uri, extra in events}
    assert set(landed) == {bronze_asset_uri(s) for s in default_catalog()}
    queue = landed[bronze_asset_uri("svc_queue_tickets")]
    assert queue["source_id"] == "svc_queue_tickets" and queue["landed"] > 0


def test_pipeline_runs_end_to_end(pipeline_run: dict) -> None:
    settings: Settings = pipeline_run["settings"]
    entries = ledger.read(settings).to_pandas()
    assert set(entries["source_id"]) == set(default_catalog())
    # Nothing lost: every batch accounts for every row it received.
    assert (
        entries["rows_received"]
        == entries["rows_landed"] + entries["rows_quarantined"] + entries["rows_held"]
    ).all()
    assert (entries["status"] == ledger.LANDED).all()

    con = duckdb.connect(str(settings.serving_db), read_only=True)
    try:
        hourly = con.execute("select count(*) from marts.fct_center_hourly_arrivals").fetchone()[0]
        forecast = con.execute(
            "select count(*), min(forecast_hour), max(counters_needed) from marts.fct_counter_demand_forecast"
        ).fetchone()
        warned = dict(
            con.execute(
                "select hazard, count(*) from marts.fct_warning_changes"
                " where action = 'issued' group by hazard"
            ).fetchall()
        )
        changes = con.execute("select count(*) from marts.fct_warning_changes").fetchone()[0]
        lifecycles = con.execute(
            "select count(*), count_if(last_action = 'lifted') from marts.fct_warning_status"
            " where last_action = 'lifted' or is_active"
        ).fetchone()
    finally:
        con.close()
    assert hourly == expected_hourly_rows(settings)
    assert forecast[0] > 0 and forecast[2] >= 1
    # The test city's week holds rainstorms of every colour: each raises a warning.
    assert warned.get("rainstorm", 0) > 0, warned
    assert lifecycles[0] > 0

    # Every change went out as a CAP message, queued once in the outbox.
    from citylake.alerts import Outbox

    status = Outbox(settings.alerts_outbox).status()
    assert status.messages == changes > 0


def test_forecasts_backtested_and_scored(pipeline_run: dict) -> None:
    """The warehouse DAG backtested and forecast every series and planned counters both
    ways; the evaluation scores the backtest."""
    from typer.testing import CliRunner

    from citylake.cli.main import app
    from citylake.forecasting import evaluate as ev

    settings: Settings = pipeline_run["settings"]
    gold = settings.gold_dir / "counter_demand_backtest"
    backtest = pd.read_parquet(gold)
    con = duckdb.connect(str(settings.serving_db), read_only=True)
    try:
        served = con.execute("select count(*) from marts.fct_counter_demand_backtest").fetchone()[0]
        daily = con.execute(
            "select center_id, count(*), min(forecast_date), max(forecast_date) "
            "from marts.fct_center_daily_demand_forecast group by center_id"
        ).fetchall()
        centers = con.execute("select count(*) from marts.dim_service_center").fetchone()[0]
        plan = con.execute(
            "select count(*), count(distinct center_id), "
            "count_if(pooled_counters > dedicated_counters), "
            "count_if(expected_arrivals > 0 and pooled_service_level < target_service_level), "
            "count_if(pooled_counters < pooled_counters_erlang - 1) from marts.fct_staffing_plan"
        ).fetchone()
        forecast_hours = con.execute(
            "select count(distinct (center_id, forecast_hour)) from marts.fct_counter_demand_forecast"
        ).fetchone()[0]
        versus = con.execute(
            "select count(*), min(forecast_origin), max(forecast_origin), "
            "count_if(plan_would_cut_waiting and pooled_counters <= counters_open), "
            "count_if(counters_idle <> greatest(counters_open - pooled_counters, 0)), "
            "count_if(actual_visitors > 0) from marts.fct_staffing_plan_vs_actual"
        ).fetchone()
        rollup = con.execute(
            "select sum(pooled_counter_hours), sum(dedicated_counter_hours) from marts.fct_staffing_plan_daily"
        ).fetchone()
    finally:
        con.close()
    assert served == len(backtest) > 0
    # 28 days from 09-01: one 14-day window (09-15..28, Mid-Autumn inside) before the horizon.
    assert set(backtest["origin"]) == {date(2026, 9, 15)}
    horizon = pipeline_run["logical_date"]
    assert len(daily) == centers
    # Every day of the horizon the centre would open, holidays (10-01..07) included as 0.
    assert all(
        first >= horizon and last <= horizon + timedelta(days=13) for _, _, first, last in daily
    )

    # Both staffing plans for every forecast centre-hour; general counters never need more
    # than dedicated ones, and every planned hour meets the service level when simulated.
    assert plan[0] == forecast_hours and plan[1] == centers
    assert plan[2:] == (0, 0, 0)
    assert 0 < rollup[0] < rollup[1]
    # Plan vs actual over the backtest window: planned from the forecast made at 09-15.
    assert versus[0] > 0 and versus[1] == versus[2] == date(2026, 9, 15)
    assert versus[3:5] == (0, 0) and versus[5] > 0

    intensity, events = ev.load_truth(settings.truth_root)
    scores = {
        (s.grain, s.segment, s.forecaster): s
        for s in ev.summarise(ev.scored_slots(backtest, intensity, events))
    }
    chosen, naive, oracle = (
        scores[("hour", "overall", f)] for f in (ev.CHOSEN, "seasonal_naive", ev.ORACLE)
    )
    # Even on two weeks of history the chosen models beat last week's numbers, and nothing
    # beats the true intensity by more than chance.
    assert oracle.mase < chosen.mase < naive.mase
    assert 65 < chosen.cover80 < 95 and 85 < chosen.cover95 <= 100

    result = CliRunner().invoke(app, ["evaluate", "forecasts", "--backtest", str(gold)])
    assert result.exit_code == 0, result.output
    assert "Targets, hour" in result.output and "MASE chosen / oracle" in result.output


def _connector(source: Source) -> tuple[str, str]:
    return source.connector.kind, str(getattr(source.connector, "system", ""))


def covering_department_dags() -> list[str]:
    """The fewest department DAGs (greedy) that between them use every connector: each
    database engine, each file-drop format, the REST APIs and the MQTT feeds."""
    from citylake.orchestration.dag_plan import department_plans

    catalog = default_catalog()
    uses = {
        plan.dag_id: {_connector(catalog[p.source_id]) for p in plan.sources}
        for plan in department_plans(catalog)
    }
    left, chosen = set().union(*uses.values()), []
    while left:
        best = max(sorted(uses), key=lambda dag: len(uses[dag] & left))
        chosen.append(best)
        left -= uses[best]
    return chosen


def test_second_run_of_same_date_adds_nothing(pipeline_run: dict) -> None:
    """Department DAGs again for the same day through Airflow: landing adds nothing.

    One DAG per connector rather than all of them: idempotency lives in the connector and
    the ledger, and every DAG is the same generated code (test_dags checks each parses).
    Every source's re-ingest is checked without Airflow in test_reconciliation. The
    warehouse DAG is not rerun: it reads what landed and was timed once already."""
    from citylake.orchestration.airflow_env import run_dags

    settings: Settings = pipeline_run["settings"]
    before = {s: lake.read_table(settings.bronze_path(s)).num_rows for s in default_catalog()}
    ledger_rows = len(ledger.read(settings))
    dags = covering_department_dags()
    assert 3 <= len(dags) < 8, dags
    run_dags(dags, [pipeline_run["logical_date"]], settings)
    after = {s: lake.read_table(settings.bronze_path(s)).num_rows for s in default_catalog()}
    assert after == before
    assert len(ledger.read(settings)) == ledger_rows


def test_pipeline_imported_the_dashboard(pipeline_run: dict) -> None:
    settings: Settings = pipeline_run["settings"]
    metadata = settings.superset_home / "superset.db"
    with sqlite3.connect(metadata) as con:
        slugs = {row[0] for row in con.execute("select slug from dashboards")}
        charts = con.execute("select count(*) from slices").fetchone()[0]
    assert {"staffing", "warnings", "pipeline-health", "public-service"} <= slugs
    assert charts == len(list(settings.dashboards_dir.glob("charts/*.yaml")))
