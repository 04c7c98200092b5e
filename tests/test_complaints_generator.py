"""The demo city's 12345 complaints: competence follows the situation and the place (rules
in ``complaint_situations``), texts vary and drift, operators slip, hotspots are planted,
and the work-order log walks each complaint up to its competent level."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from citylake.democity import complaint_situations as cs

SITUATION = cs.BY_KEY


@pytest.mark.parametrize(
    ("situation", "place", "level", "department"),
    [
        ("renovation_noise", "home", "community", "社区居委会"),
        ("fire_lane_blocked", "compound", "street", "街道办事处"),
        ("unlicensed_restaurant", "shop", "department", "市场监督管理局"),
        ("expired_food", "shop", "district", "区市场监督管理局"),
        # Infrastructure on an arterial road is the city's; a hazard goes one level up.
        ("pothole", "street", "street", "街道办事处"),
        ("pothole", "arterial", "department", "城市管理局"),
        ("missing_manhole", "street", "district", "区城市管理局"),
        ("missing_manhole", "arterial", "department", "城市管理局"),
        ("burst_main", "street", "department", "水务集团"),
        ("gas_smell", "home", "department", "燃气集团"),
    ],
)
def test_competence_follows_situation_and_place(
    situation: str, place: str, level: str, department: str
) -> None:
    assert cs.competent(SITUATION[situation], place) == (level, department)


def test_every_situation_is_well_formed() -> None:
    categories = {"noise", "sanitation", "road", "water", "housing", "market", "traffic", "other"}
    for s in cs.SITUATIONS:
        assert s.category in categories and s.level in cs.LEVELS, s.key
        assert set(s.places) <= set(cs.PLACES) and len(s.what) >= 3, s.key
        assert s.ambiguous is None or (s.ambiguous[0] in cs.LEVELS and s.ambiguous[1] < 0.5)
    hazards = {s.key for s in cs.SITUATIONS if s.hazard}
    assert {"missing_manhole", "flooded_street", "gas_smell", "live_wire"} <= hazards


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    from citylake.democity import generate_city

    root = tmp_path_factory.mktemp("complaints-city")
    generate_city(
        root / "sources", root / "truth", seed=5, days=42, start=date(2026, 9, 1), scale=0.6
    )
    con = duckdb.connect()
    drop = root / "sources" / "hotline_12345"
    delivered = con.execute(f"select * from read_csv('{drop}/drop/*.csv', all_varchar=true)").df()
    orders = con.execute(f"select * from read_csv('{drop}/work_orders/*.csv')").df()
    truth = pd.read_parquet(root / "truth" / "complaints.parquet")
    hotspots = pd.read_parquet(root / "truth" / "complaint_hotspots.parquet")
    return {"delivered": delivered, "orders": orders, "truth": truth, "hotspots": hotspots}


def test_truth_follows_the_rule_except_the_ambiguous(city: dict[str, pd.DataFrame]) -> None:
    truth = city["truth"]
    differs = truth[truth["rule_level"] != truth["competent_level"]]
    assert len(differs) > 0 and differs["ambiguous"].all()
    assert 0.9 < (truth["rule_level"] == truth["competent_level"]).mean() < 1.0
    assert truth["situation"].nunique() >= 30


def test_texts_vary_and_later_weeks_bring_new_phrasings(city: dict[str, pd.DataFrame]) -> None:
    delivered, truth = city["delivered"], city["truth"]
    assert delivered["summary"].nunique() >= 0.97 * len(delivered)
    merged = delivered.merge(truth, on="complaint_id")
    received = pd.to_datetime(merged["received_at"])
    early = merged[received < datetime(2026, 9, 20)]
    late = merged[received >= datetime(2026, 9, 27)]
    # A late-only phrasing of each situation (the last third) never appears early.
    late_only = [
        phrase for s in cs.SITUATIONS for phrase in s.what[len(s.what) - len(s.what) // 3 :]
    ]
    assert not any(p in text for text in early["summary"] for p in late_only)
    assert any(p in text for text in late["summary"] for p in late_only)
    assert merged["typo"].mean() > 0.05


def test_operators_slip_and_truth_records_it(city: dict[str, pd.DataFrame]) -> None:
    merged = city["delivered"].merge(city["truth"], on="complaint_id")
    missing = merged["category"].isna().mean()
    wrong = (merged["category"].notna() & (merged["category"] != merged["true_category"])).mean()
    assert 0.02 < missing < 0.07 and 0.05 < wrong < 0.12
    hazards = merged[merged["hazard"]]
    assert (hazards["true_urgency"] == "urgent").all()
    assert 0.8 < (hazards["urgency"] == "urgent").mean() < 1.0


def test_hotspots_are_planted_and_traced(city: dict[str, pd.DataFrame]) -> None:
    hotspots, truth = city["hotspots"], city["truth"]
    assert set(hotspots["kind"]) == {"community", "enterprise"}
    counts = truth["hotspot_id"].value_counts()
    for row in hotspots.itertuples():
        assert counts.get(row.hotspot_id, 0) == row.complaints > 0
    firms = truth[truth["hotspot_id"].str.startswith("HE", na=False)]
    assert firms["enterprise_id"].notna().all()


def test_work_orders_walk_up_to_the_competent_level(city: dict[str, pd.DataFrame]) -> None:
    orders, truth = city["orders"], city["truth"].set_index("complaint_id")
    first = orders.sort_values("seq").groupby("complaint_id").first()
    assert (first["level"] == "community").all()
    closed = orders[orders["event"] == "closed"].set_index("complaint_id")
    assert len(closed) > 0.9 * len(truth)
    assert (closed["level"] == truth.loc[closed.index, "competent_level"]).all()
    assert (closed["category"] == truth.loc[closed.index, "true_category"]).all()
    # Every level below the competent one held it once, in order.
    hops = orders[orders["event"] == "assigned"].groupby("complaint_id")["level"].apply(list)
    for complaint_id, levels in hops.items():
        top = truth.loc[complaint_id, "competent_level"]
        assert levels == list(cs.LEVELS[: len(levels)]), complaint_id
        assert len(levels) <= cs.LEVELS.index(top) + 1


def test_same_seed_same_complaints(tmp_path: Path, city: dict[str, pd.DataFrame]) -> None:
    from citylake.democity import generate_city

    generate_city(
        tmp_path / "s", tmp_path / "t", seed=5, days=42, start=date(2026, 9, 1), scale=0.6
    )
    again = pd.read_parquet(tmp_path / "t" / "complaints.parquet")
    pd.testing.assert_frame_equal(again, city["truth"])
