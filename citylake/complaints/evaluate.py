"""Complaint triage scored against the demo city's truth (``citylake evaluate complaints``).

Scored on the held-out later period only (complaints received on or after the model's
``train_until``): accuracy and macro-F1 of the competent level, the department and the
inferred category, beside

* the **ceiling**: the generator's own rule applied to what the caller said (truth's
  ``rule_level`` / ``rule_department``; the category's rule is the situation's category),
  which misses only the documented ambiguous situations;
* a **majority** baseline: the most frequent label among the training closures;
* for the category, the operator's own label.

Then the queue: the share of truly urgent complaints (public-safety hazards in truth)
ranked in the top decile, over the whole held-out period and within each day's queue.
And the **unseen situations**: the model retrained without every complaint of a few
situations, scored on those situations' held-out complaints (phrasings it never saw).
Their category generalises (the words say what it is about); their level and department
do not, beyond the majority: competence is a rule per situation, and the words of a new
situation do not reveal which office its rule names (measured on the test city: category
0.86-0.94, level 0.10-0.55 per situation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from citylake.complaints.triage import TriageModel, labels

# One situation per competent level, whose departments other situations also reach, so a
# model that never saw them could still name their level and department from the text.
UNSEEN_SITUATIONS = ("roof_leak", "loose_tiles", "expired_food", "dirty_water")


@dataclass(frozen=True)
class TargetScore:
    target: str
    n: int
    accuracy: float
    macro_f1: float
    ceiling_accuracy: float
    ceiling_f1: float
    majority_accuracy: float
    majority_f1: float
    operator_accuracy: float | None = None
    operator_f1: float | None = None


@dataclass(frozen=True)
class QueueScore:
    urgent: int
    in_top_decile: float  # over the held-out period
    in_top_decile_of_day: float  # within each day's queue


def _f1(true: pd.Series, predicted: pd.Series) -> tuple[float, float]:
    from sklearn.metrics import accuracy_score, f1_score

    t = true.astype(str).to_numpy()
    p = predicted.fillna("(none)").astype(str).to_numpy()
    if len(t) == 0:
        return math.nan, math.nan
    return float(accuracy_score(t, p)), float(f1_score(t, p, average="macro", zero_division=0))


def read_truth(truth_root: Path) -> pd.DataFrame:
    path = Path(truth_root) / "complaints.parquet"
    if not path.exists():
        raise FileNotFoundError(f"no complaint truth at {path}: generate the city first")
    return pd.read_parquet(path)


def score_targets(triaged: pd.DataFrame, truth: pd.DataFrame) -> list[TargetScore]:
    held = triaged[triaged["is_out_of_sample"]].merge(truth, on="complaint_id", how="inner")
    trained = triaged[~triaged["is_out_of_sample"]]
    rows = []
    for target, predicted, true, rule in (
        ("competent level", "predicted_level", "competent_level", "rule_level"),
        ("department", "predicted_department", "competent_department", "rule_department"),
        ("category", "inferred_category", "true_category", "true_category"),
    ):
        label = {"predicted_level": "label_level", "predicted_department": "label_department"}
        majority_of = trained[label.get(predicted, "label_category")].dropna()
        majority = majority_of.mode().iloc[0] if len(majority_of) else "(none)"
        acc, f1 = _f1(held[true], held[predicted])
        c_acc, c_f1 = _f1(held[true], held[rule])
        m_acc, m_f1 = _f1(held[true], pd.Series(majority, index=held.index))
        op_acc = op_f1 = None
        if target == "category":
            op_acc, op_f1 = _f1(held[true], held["operator_category"])
        rows.append(
            TargetScore(target, len(held), acc, f1, c_acc, c_f1, m_acc, m_f1, op_acc, op_f1)
        )
    return rows


def score_queue(triaged: pd.DataFrame, truth: pd.DataFrame) -> QueueScore:
    held = triaged[triaged["is_out_of_sample"]].merge(truth, on="complaint_id", how="inner")
    urgent = held[held["hazard"]]
    if held.empty or urgent.empty:
        return QueueScore(0, math.nan, math.nan)
    cut = held["priority_score"].quantile(0.9)
    day = pd.to_datetime(held["received_at"]).dt.normalize()
    per_day = day.map(day.value_counts())
    top_of_day = held["queue_rank"] <= (per_day * 0.1).apply(math.ceil)
    return QueueScore(
        len(urgent),
        float((urgent["priority_score"] >= cut).mean()),
        float(top_of_day[held["hazard"]].mean()),
    )


def score_unseen(
    inputs: pd.DataFrame,
    truth: pd.DataFrame,
    train_until: object,
    situations: tuple[str, ...] = UNSEEN_SITUATIONS,
) -> list[TargetScore]:
    """Retrain without ``situations`` at all; score their held-out complaints."""
    of = truth.set_index("complaint_id")["situation"]
    situation = inputs["complaint_id"].map(of)
    hidden = situation.isin(situations)
    model = TriageModel.fit(inputs[~hidden].reset_index(drop=True), train_until)  # type: ignore[arg-type]
    received = pd.to_datetime(inputs["received_at"])
    test = inputs[hidden & (received >= train_until)].reset_index(drop=True)
    if test.empty:
        return []
    predicted = pd.concat([test[["complaint_id"]], model.predict(test)], axis=1)
    held = predicted.merge(truth, on="complaint_id")
    known = labels(inputs[~hidden], train_until)  # type: ignore[arg-type]
    out = []
    for target, column, true, rule, label in (
        ("competent level", "predicted_level", "competent_level", "rule_level", "level"),
        ("department", "predicted_department", "competent_department", "rule_department",
         "department"),
        ("category", "inferred_category", "true_category", "true_category", "category"),
    ):  # fmt: skip
        majority = known[label].mode().iloc[0]
        acc, f1 = _f1(held[true], held[column])
        c_acc, c_f1 = _f1(held[true], held[rule])
        m_acc, m_f1 = _f1(held[true], pd.Series(majority, index=held.index))
        out.append(TargetScore(target, len(held), acc, f1, c_acc, c_f1, m_acc, m_f1))
    return out


@dataclass(frozen=True)
class HotspotScore:
    kind: str
    planted_weeks: int  # planted (place, week) pairs busy enough to be findable
    flagged: int
    precision: float
    recall: float


def score_hotspots(
    cells: pd.DataFrame, triaged: pd.DataFrame, truth_root: Path
) -> list[HotspotScore]:
    """Precision and recall of the weekly lists against the planted hotspots.

    A planted hotspot counts in a week when it produced at least the list's minimum count
    that week (a hotspot's first and last days can hold one complaint). A firm hotspot is
    also a problem where the firm is: its community-weeks count for the community list.
    """
    from citylake.complaints.hotspots import MIN_COMPLAINTS, MIN_FIRM_COMPLAINTS, week_of

    root = Path(truth_root)
    truth = read_truth(root)
    planted = pd.read_parquet(root / "complaint_hotspots.parquet")
    firms = pd.read_parquet(root / "enterprises.parquet")[["enterprise_id", "uscc"]]
    traced = truth[truth["hotspot_id"].notna()].merge(
        triaged[["complaint_id", "received_at"]], on="complaint_id"
    )
    traced["week"] = week_of(traced["received_at"])
    weekly = traced.groupby(["hotspot_id", "week"]).size().rename("n").reset_index()
    weekly = weekly.merge(planted, on="hotspot_id").merge(firms, on="enterprise_id", how="left")
    flagged = cells[cells["is_hotspot"]]
    out = []
    for kind, minimum, key, kinds in (
        ("community", MIN_COMPLAINTS, "community_code", ("community", "enterprise")),
        ("firm", MIN_FIRM_COMPLAINTS, "uscc", ("enterprise",)),
    ):
        expected = weekly[weekly["kind"].isin(kinds) & (weekly["n"] >= minimum)]
        truth_pairs = set(zip(expected[key], expected["week"], strict=True))
        found = flagged[flagged["kind"] == kind]
        found_pairs = set(zip(found[key], pd.to_datetime(found["week"]).dt.date, strict=True))
        hits = truth_pairs & found_pairs
        out.append(
            HotspotScore(
                kind,
                len(truth_pairs),
                len(found_pairs),
                len(hits) / len(found_pairs) if found_pairs else math.nan,
                len(hits) / len(truth_pairs) if truth_pairs else math.nan,
            )
        )
    return out


@dataclass(frozen=True)
class EvidenceScore:
    cover_complaints: int  # complaints the truth says a displaced cover caused
    linked: float  # share of those with a tilt link to that cover's station
    tilt_links: int  # complaints with any tilt link
    causal: float  # share of those whose link is the cover that caused the call


def score_evidence(evidence: pd.DataFrame, truth_root: Path) -> EvidenceScore:
    """The manhole links of ``fct_complaint_evidence`` against the displaced covers."""
    root = Path(truth_root)
    truth = read_truth(root)
    events = pd.read_parquet(root / "manhole_events.parquet")[["event_id", "station_id"]]
    caused = truth[truth["caused_by"].isin(events["event_id"])].merge(
        events, left_on="caused_by", right_on="event_id"
    )
    tilt = evidence[evidence["evidence_kind"] == "manhole_tilt"]
    links = set(zip(tilt["complaint_id"], tilt["evidence_ref"], strict=True))
    right = set(zip(caused["complaint_id"], caused["station_id"], strict=True))
    with_link = tilt["complaint_id"].nunique()
    causal = {c for c, s in links if (c, s) in right}
    return EvidenceScore(
        len(right),
        len(right & links) / len(right) if right else math.nan,
        with_link,
        len(causal) / with_link if with_link else math.nan,
    )


@dataclass(frozen=True)
class RoutingScore:
    closed: int  # held-out complaints closed in the log
    routed_up: float  # share routed past the community
    right: float  # of those, share whose routed level is the truly competent one
    over_routed: float  # share of all closed sent above the level that closed them
    hops_saved: int
    hours_saved: float
    hours_before_competent: float  # what routing every one right would save


def score_routing(routing: pd.DataFrame, truth: pd.DataFrame) -> RoutingScore:
    """``fct_complaint_routing`` on the held-out closed complaints, against the truth."""
    held = routing[routing["is_out_of_sample"] & (routing["route_outcome"] != "open")]
    held = held.merge(truth[["complaint_id", "competent_level"]], on="complaint_id")
    if held.empty:
        return RoutingScore(0, math.nan, math.nan, math.nan, 0, 0.0, 0.0)
    up = held[held["routed_level"] != "community"]
    return RoutingScore(
        len(held),
        len(up) / len(held),
        float((up["routed_level"] == up["competent_level"]).mean()) if len(up) else math.nan,
        float((held["route_outcome"] == "over_routed").mean()),
        int(held["hops_saved"].sum()),
        float(held["hours_saved"].sum()),
        float(held["hours_before_competent"].sum()),
    )
