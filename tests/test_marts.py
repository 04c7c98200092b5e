"""The marts on a real dbt build of a small generated city (conftest's ``landed_city``).

The build itself runs dbt's data tests, then the Great Expectations checkpoint
(quality/marts.py, the pipeline's ``check_marts`` step); these tests check what those cannot:
values against the source systems, the meta every mart must carry, and that the
checkpoint does fail on a broken mart.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import sqlite3
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from citylake import lake
from citylake.settings import Settings

pytestmark = pytest.mark.slow

SHARE_CLASSES = {"unconditional", "conditional", "not_shared"}
# Raw direct identifiers a shared mart must never carry (pseudonyms and masks are fine).
RAW_IDENTIFIER = re.compile(r"^(?!has_)([a-z]+_)?(resident_id|phone|id_card)$")
PERSON_NAME = re.compile(r"^(name|(applicant|legal_rep|driver|caller|owner|guardian)_name)$")


def mart_query(settings: Settings, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(settings.build_db), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def mart_nodes(settings: Settings) -> dict[str, dict]:
    manifest = json.loads((settings.home / "dbt" / "target" / "manifest.json").read_text())
    return {
        n["name"]: n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["fqn"][1:2] == ["marts"]
    }


def source_tickets(settings: Settings) -> pd.DataFrame:
    """Tickets as the queue system holds them, minus those quarantined at landing."""
    with sqlite3.connect(settings.sources_root / "sql" / "service_center.sqlite") as con:
        tickets = pd.read_sql(
            "select ticket_id, center_id, status, issued_at, called_at from queue_ticket", con
        )
    quarantined = lake.read_table(settings.quarantine_path("svc_queue_tickets")).to_pandas()
    if len(quarantined):
        raw_ids = quarantined["raw_record"].map(lambda r: json.loads(r).get("ticket_id"))
        tickets = tickets[~tickets["ticket_id"].isin(set(raw_ids))]
    issued = pd.to_datetime(tickets["issued_at"])
    called = pd.to_datetime(tickets["called_at"])
    return tickets.assign(
        issued=issued,
        wait_minutes=(called - issued).dt.total_seconds() / 60.0,
    )


def test_every_mart_declares_owner_share_class_and_pii(built_city: Settings) -> None:
    nodes = mart_nodes(built_city)
    assert {
        "dim_service_center",
        "dim_matter",
        "dim_geography",
        "fct_application",
        "fct_queue_ticket",
        "fct_appointment",
        "fct_complaint",
        "fct_licence",
        "fct_sensor_reading_hourly",
        "fct_service_efficiency_daily",
        "agg_center_wait_by_hour",
    } <= set(nodes)
    for name, node in nodes.items():
        meta = node["config"]["meta"]
        assert meta.get("owner"), f"{name}: no owner"
        assert meta.get("share_class") in SHARE_CLASSES, f"{name}: share_class {meta!r}"
        if meta["share_class"] == "conditional":
            assert meta.get("allowed_departments"), f"{name}: conditional without departments"
        else:
            assert "allowed_departments" not in meta, f"{name}: departments on {meta}"
        assert isinstance(meta.get("pii"), list), f"{name}: pii must be a list"
        assert set(meta["pii"]) <= set(node["columns"]), f"{name}: pii names unknown columns"
        assert node["config"]["contract"]["enforced"], f"{name}: contract not enforced"
        assert node["description"], f"{name}: no description"
        if meta["share_class"] != "not_shared":
            raw = [c for c in node["columns"] if RAW_IDENTIFIER.search(c) or PERSON_NAME.match(c)]
            assert not raw, f"shared mart {name} exposes raw identifiers {raw}"


def test_efficiency_shares_are_proportions_that_add_up(built_city: Settings) -> None:
    daily = mart_query(built_city, "select * from marts.fct_service_efficiency_daily")
    assert len(daily) > 0 and daily["applications"].sum() > 0
    shares = [c for c in daily.columns if c.startswith("share_")]
    assert len(shares) == 6
    for column in shares:
        values = daily[column].dropna()
        assert ((values >= 0) & (values <= 1)).all(), column
    with_applications = daily[daily["applications"] > 0]
    channels = with_applications[["share_online", "share_kiosk", "share_counter"]].sum(axis=1)
    assert (channels.sub(1).abs() < 1e-9).all()
    # Recomputed from the application fact: the mart aggregates it faithfully.
    check = mart_query(
        built_city,
        """
        select
            count(*) as days,
            count(*) filter (
                where e.applications <> a.n
                or abs(e.share_one_visit - a.one_visit) > 1e-9
                or abs(e.share_resolved_on_spot - a.on_spot) > 1e-9
            ) as mismatches
        from marts.fct_service_efficiency_daily as e
        inner join (
            select
                submitted_date,
                service_category,
                count(*) as n,
                avg(case when one_visit then 1.0 else 0.0 end) as one_visit,
                avg(case when resolved_on_spot then 1.0 else 0.0 end) as on_spot
            from marts.fct_application
            group by submitted_date, service_category
        ) as a
            on e.service_date = a.submitted_date and e.service_category = a.service_category
        """,
    )
    assert check["days"][0] == len(with_applications)
    assert check["mismatches"][0] == 0


def test_queue_waits_match_the_queue_system(built_city: Settings) -> None:
    source = source_tickets(built_city).set_index("ticket_id")
    mart = mart_query(
        built_city, "select ticket_id, status, wait_minutes from marts.fct_queue_ticket"
    ).set_index("ticket_id")
    # Every delivered, unquarantined ticket is in the fact, once.
    assert set(mart.index) == set(source.index)
    joined = mart.join(source, rsuffix="_source")
    served = joined[joined["status"] == "served"]
    assert len(served) > 0
    assert (served["wait_minutes"] >= 0).all()
    assert (served["wait_minutes"] - served["wait_minutes_source"]).abs().max() < 1e-6
    # No-shows were called too: their wait is there, and matches the source as well.
    called = joined.dropna(subset=["wait_minutes_source"])
    assert (called["wait_minutes"] - called["wait_minutes_source"]).abs().max() < 1e-6
    assert joined.loc[joined["wait_minutes_source"].isna(), "wait_minutes"].isna().all()

    # The median wait per center and hour of day, recomputed with pandas.
    waits = source[source["status"] == "served"].assign(hour_of_day=lambda f: f["issued"].dt.hour)
    expected = waits.groupby(["center_id", "hour_of_day"])["wait_minutes"].median()
    agg = mart_query(
        built_city,
        "select center_id, hour_of_day, median_wait_minutes from marts.agg_center_wait_by_hour",
    ).set_index(["center_id", "hour_of_day"])["median_wait_minutes"]
    assert set(agg.index) == set(expected.index)
    assert (agg - expected.loc[agg.index]).abs().max() < 1e-6


def test_sensor_hours_cover_every_feed(built_city: Settings) -> None:
    hourly = mart_query(
        built_city,
        "select sensor_type, count(distinct station_id) as stations, sum(readings) as readings "
        "from marts.fct_sensor_reading_hourly group by sensor_type",
    ).set_index("sensor_type")
    assert set(hourly.index) == {
        "rain_gauge",
        "weather_station",
        "air_quality",
        "river_stage",
        "manhole_tilt",
        "traffic_counter",
    }
    # Every staged reading lands in exactly one hour.
    staged = mart_query(
        built_city, "select count(*) as n from staging.stg_sensors__rain_gauge_readings"
    )["n"][0]
    assert hourly.loc["rain_gauge", "readings"] == staged


def test_checkpoint_fails_on_a_broken_mart(built_city: Settings, tmp_path: Path) -> None:
    from quality.marts import MartQualityError, check_marts

    broken = dataclasses.replace(built_city, warehouse_dir=tmp_path)
    shutil.copyfile(built_city.build_db, broken.build_db)
    con = duckdb.connect(str(broken.build_db))
    con.execute(
        "update marts.fct_service_efficiency_daily set share_kiosk = 1.5 "
        "where service_date = (select min(service_date) from marts.fct_service_efficiency_daily)"
    )
    con.close()
    passing = check_marts(built_city, models=["fct_service_efficiency_daily"])
    assert passing.success and passing.expectations >= 10
    with pytest.raises(MartQualityError, match=r"fct_service_efficiency_daily.*share_kiosk"):
        check_marts(broken, models=["fct_service_efficiency_daily"])
