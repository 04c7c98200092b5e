"""12345 complaints through the whole pipeline (``pipeline_run``: real Airflow): the work-order
log landed and staged, every hop in ``fct_complaint_hops`` with its time limit, the
triage step's answer in ``fct_complaint_triage``, and ``citylake evaluate complaints``."""

from __future__ import annotations

import duckdb
import pandas as pd

from citylake.settings import Settings


def test_hops_follow_the_work_orders(pipeline_run: dict) -> None:
    settings: Settings = pipeline_run["settings"]
    con = duckdb.connect(str(settings.serving_db), read_only=True)
    try:
        hops = con.execute("select * from marts.fct_complaint_hops").df()
        complaints = con.execute("select count(*) from marts.fct_complaint").fetchone()[0]
    finally:
        con.close()
    truth = pd.read_parquet(settings.truth_root / "complaints.parquet").set_index("complaint_id")
    assert hops["complaint_id"].nunique() >= 0.99 * complaints
    assert (hops.loc[hops["hop"] == 1, "level"] == "community").all()
    closed = hops[hops["outcome"] == "closed"].set_index("complaint_id")
    assert (closed["level"] == truth.loc[closed.index, "competent_level"]).all()
    escalated = hops[hops["outcome"] == "escalated"]
    assert len(escalated) > 0 and escalated["left_at"].notna().all()
    # The limits judge both ways: most hops keep to them, some overrun.
    assert 0.01 < hops["is_overdue"].mean() < 0.5
    assert (hops["is_overdue"] == (hops["hours_held"] > hops["limit_hours"])).all()


def test_every_complaint_triaged_and_scored(pipeline_run: dict) -> None:
    from typer.testing import CliRunner

    from citylake.cli.main import app
    from citylake.complaints import evaluate as ev
    from citylake.complaints.inputs import read_output

    settings: Settings = pipeline_run["settings"]
    con = duckdb.connect(str(settings.serving_db), read_only=True)
    try:
        served = con.execute(
            "select count(*), count_if(is_out_of_sample), count(distinct predicted_level) "
            "from marts.fct_complaint_triage"
        ).fetchone()
        complaints = con.execute("select count(*) from marts.fct_complaint").fetchone()[0]
    finally:
        con.close()
    assert served[0] == complaints and served[1] > 0.5 * complaints and served[2] == 4

    triaged = read_output(settings.gold_dir)
    truth = ev.read_truth(settings.truth_root)
    scores = {s.target: s for s in ev.score_targets(triaged, truth)}
    # One week of closures to learn from (the test city has four): still far above the
    # majority, below the ceiling.
    for target in ("competent level", "department", "category"):
        assert scores[target].accuracy > scores[target].majority_accuracy + 0.2, scores[target]

    result = CliRunner().invoke(app, ["evaluate", "complaints", "--no-unseen"])
    assert result.exit_code == 0, result.output
    assert "Complaint triage on the" in result.output and "ceiling" in result.output
    assert "top decile" in result.output
    assert "Routing (held-out" in result.output


def test_routing_to_the_predicted_level_against_the_log(pipeline_run: dict) -> None:
    settings: Settings = pipeline_run["settings"]
    con = duckdb.connect(str(settings.serving_db), read_only=True)
    try:
        routing = con.execute("select * from marts.fct_complaint_routing").df()
        triaged = con.execute("select count(*) from marts.fct_complaint_triage").fetchone()[0]
    finally:
        con.close()
    assert len(routing) == triaged
    sure = routing["level_confidence"] >= 0.8  # dbt var complaint_direct_route_confidence
    assert (routing.loc[~sure, "routed_level"] == "community").all()
    assert (routing.loc[sure, "routed_level"] == routing.loc[sure, "predicted_level"]).all()
    outcome = routing.set_index("route_outcome")
    assert {"direct", "community_first"} <= set(routing["route_outcome"])
    # Routed to the level that closed it: every lower hop and its hours are saved.
    direct = outcome.loc[["direct"]]
    assert (direct["routed_level"] == direct["closed_level"]).all()
    assert (direct["hops_saved"] == direct["hops_in_log"] - 1).all()
    assert ((direct["hours_saved"] - direct["hours_before_competent"]).abs() < 1e-6).all()
    first = outcome.loc[["community_first"]]
    assert (first["hops_saved"] == 0).all() and (first["hours_saved"] == 0).all()
    if "over_routed" in outcome.index:
        over = outcome.loc[["over_routed"]]
        assert (over["hops_saved"] == -1).all() and (over["hours_saved"] <= 0).all()
    still_open = outcome.loc[outcome.index == "open"]
    assert still_open["hops_saved"].isna().all() and still_open["closed_level"].isna().all()
    closed = routing[routing["route_outcome"] != "open"]
    assert (closed["hours_saved"] <= closed["hours_before_competent"] + 1e-6).all()
    assert closed["hours_saved"].sum() > 0


def test_hotspots_and_supervision_list(pipeline_run: dict) -> None:
    from citylake.complaints import evaluate as ev
    from citylake.complaints.inputs import read_hotspots, read_output

    settings: Settings = pipeline_run["settings"]
    con = duckdb.connect(str(settings.serving_db), read_only=True)
    try:
        targets = con.execute("select * from marts.fct_supervision_targets").df()
        flagged = con.execute(
            "select kind, count(*) from marts.fct_complaint_hotspots where is_hotspot group by 1"
        ).fetchall()
        keys = dict(con.execute("select uscc, enterprise_key from marts.dim_enterprise").fetchall())
    finally:
        con.close()
    assert dict(flagged).get("community", 0) > 0
    scores = {
        s.kind: s
        for s in ev.score_hotspots(
            read_hotspots(settings.gold_dir), read_output(settings.gold_dir), settings.truth_root
        )
    }
    assert scores["community"].recall >= 0.5 and scores["community"].precision >= 0.5
    # The list: the score is its formula, rank 1 the highest score.
    score = (
        3 * targets["hotspot_weeks"]
        + targets["recent_complaints"]
        + 2 * targets["failed_inspections"]
        + 2 * targets["licence_issues"]
    )
    assert (score == targets["supervision_score"]).all() and len(targets) > 10
    top = targets.sort_values("supervision_rank").iloc[0]
    assert top["supervision_score"] == targets["supervision_score"].max()
    # A firm the generator made a hotspot, once flagged, is near the top of the list.
    planted = pd.read_parquet(settings.truth_root / "complaint_hotspots.parquet")
    firms = pd.read_parquet(settings.truth_root / "enterprises.parquet")
    uscc = planted.merge(firms, on="enterprise_id")["uscc"]
    flagged_firms = targets[targets["hotspot_weeks"] > 0]
    for key in (keys.get(u) for u in uscc):
        if key in set(flagged_firms["enterprise_key"]):
            rank = int(targets.loc[targets["enterprise_key"] == key, "supervision_rank"].iloc[0])
            assert rank <= 10, (key, rank)


def test_displaced_covers_are_evidence_for_their_complaints(pipeline_run: dict) -> None:
    from citylake.complaints import evaluate as ev

    settings: Settings = pipeline_run["settings"]
    con = duckdb.connect(str(settings.serving_db), read_only=True)
    try:
        evidence = con.execute("select * from marts.fct_complaint_evidence").df()
    finally:
        con.close()
    assert set(evidence["evidence_kind"]) >= {"manhole_tilt", "warning"}
    score = ev.score_evidence(evidence, settings.truth_root)
    # Every cover someone called in is linked to its own station's tilted readings.
    assert score.cover_complaints > 0 and score.linked >= 0.9, score
    assert score.tilt_links >= score.cover_complaints * score.linked
