"""Triage of 12345 complaints: competent level, department and category, and queue priority.

What the model learns from is the hotline's own record, never the generator's truth:
complaints whose work order was *closed* before ``train_until`` carry the level and unit
that closed them and the category the closing office recorded. Features are the summary
(jieba words and word pairs, plus character 1-3-grams, which survive typos and unseen
compounds), the operator's category and urgency (missing is a value of its own) and the
district. One logistic regression per target, on one shared TF-IDF matrix.

Priority: a second, text-only model learns P(the operator marked it urgent) from the
training weeks; operators miss some hazards and over-mark others, and a text model
averages those slips out. The queue score is that probability plus a bonus for the
operator's own urgent / high mark, so an open manhole called in as "normal" still rises.

The category shown downstream is the operator's unless it is missing (``inferred``) or
the model is confident it is wrong (``corrected``: the operator's category has less than
``CORRECT_BELOW`` of the probability and the model's choice more than ``CORRECT_ABOVE``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from citylake.complaints.tokens import words

if TYPE_CHECKING:
    from scipy.sparse import spmatrix

LEVELS = ("community", "street", "district", "department")
LOCAL_UNITS = {"community": "社区居委会", "street": "街道办事处"}
TARGETS = ("level", "department", "category")
INPUT_COLUMNS = (
    "complaint_id", "received_at", "summary", "category", "urgency", "district_code",
    "closed_at", "closed_level", "closed_unit", "closed_category",
)  # fmt: skip
MIN_TRAINING = 50
HOLDOUT_DAYS = 21
CORRECT_BELOW, CORRECT_ABOVE = 0.15, 0.6
URGENT_BONUS, HIGH_BONUS = 0.5, 0.15


class TriageError(ValueError):
    """The triage cannot be trained or applied; the message says what is missing."""


def department_class(level: object, unit: object) -> str | None:
    """The department a closing unit stands for: local offices by their kind, since every
    community committee is "the community committee" to a router."""
    if level is None or (isinstance(level, float) and np.isnan(level)):
        return None
    return LOCAL_UNITS.get(str(level), None if unit is None else str(unit))


def default_train_until(received: pd.Series, holdout_days: int = HOLDOUT_DAYS) -> datetime:
    """Midnight ``holdout_days`` before the last complaint: the later weeks stay unseen."""
    last = pd.to_datetime(received).max()
    if pd.isna(last):
        raise TriageError("no complaints to triage")
    return (last.normalize() - timedelta(days=holdout_days)).to_pydatetime()


def labels(frame: pd.DataFrame, until: datetime) -> pd.DataFrame:
    """The complaints closed before ``until`` with what closing them recorded."""
    closed = frame[frame["closed_at"].notna() & (pd.to_datetime(frame["closed_at"]) < until)]
    out = closed.copy()
    out["level"] = out["closed_level"]
    out["department"] = [
        department_class(lv, u)
        for lv, u in zip(out["closed_level"], out["closed_unit"], strict=True)
    ]
    out["category"] = out["closed_category"]
    return out


def _prepared(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "summary": frame["summary"].fillna("").astype(str),
        },
        index=frame.index,
    )
    return out


def _text_features() -> list[tuple[str, Any, str]]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    word_vec = TfidfVectorizer(
        tokenizer=words, token_pattern=None, lowercase=False, ngram_range=(1, 2),
        min_df=2, sublinear_tf=True,
    )  # fmt: skip
    char_vec = TfidfVectorizer(
        analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True, max_features=60_000
    )
    return [("words", word_vec, "summary"), ("chars", char_vec, "summary")]


def _classifier() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=8.0, max_iter=3000)


@dataclass
class TriageModel:
    """Fitted models; ``predict`` on any frame with the input columns."""

    text_features: Any
    models: dict[str, Any]
    urgent: Any | None
    trained_on: int
    train_until: datetime

    @classmethod
    def fit(cls, frame: pd.DataFrame, train_until: datetime) -> TriageModel:
        from sklearn.compose import ColumnTransformer

        train = labels(frame, train_until)
        if len(train) < MIN_TRAINING:
            raise TriageError(
                f"only {len(train)} complaints were closed before {train_until:%Y-%m-%d}: the "
                f"triage needs at least {MIN_TRAINING} closed work orders to learn from "
                "(land hotline_work_orders, or move train_until later)"
            )
        text_features = ColumnTransformer(_text_features())
        x = text_features.fit_transform(_prepared(train))
        models = {}
        for target in TARGETS:
            y = train[target].astype(str).to_numpy()
            if len(set(y)) < 2:
                raise TriageError(f"every training label of {target} is {y[0]!r}: nothing to learn")
            models[target] = _classifier().fit(x, y)
        known = frame[frame["urgency"].notna()]
        known = known[pd.to_datetime(known["received_at"]) < train_until]
        urgent = None
        flags = (known["urgency"] == "urgent").to_numpy()
        if flags.any() and not flags.all():
            urgent = _classifier().fit(text_features.transform(_prepared(known)), flags)
        return cls(text_features, models, urgent, len(train), train_until)

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        prepared = _prepared(frame)
        xt: spmatrix = self.text_features.transform(prepared)
        out = pd.DataFrame(index=frame.index)
        for target, model in self.models.items():
            proba = model.predict_proba(xt)
            best = proba.argmax(axis=1)
            out[f"predicted_{target}"] = model.classes_[best]
            out[f"{target}_confidence"] = proba.max(axis=1)
            if target == "category":
                out = out.join(self._category_source(frame, model.classes_, proba))
        p = np.zeros(len(frame))
        if self.urgent is not None:
            p = self.urgent.predict_proba(xt)[:, 1]
        out["urgent_probability"] = p
        bonus = frame["urgency"].map({"urgent": URGENT_BONUS, "high": HIGH_BONUS}).fillna(0.0)
        out["priority_score"] = p + bonus.to_numpy()
        return out

    @staticmethod
    def _category_source(
        frame: pd.DataFrame, classes: np.ndarray, proba: np.ndarray
    ) -> pd.DataFrame:
        index = {c: i for i, c in enumerate(classes)}
        chosen, source = [], []
        for row, operator in enumerate(frame["category"].tolist()):
            model_choice = classes[proba[row].argmax()]
            if operator is None or (isinstance(operator, float) and np.isnan(operator)):
                chosen.append(model_choice)
                source.append("inferred")
                continue
            p_operator = proba[row, index[operator]] if operator in index else 0.0
            if p_operator < CORRECT_BELOW and proba[row].max() > CORRECT_ABOVE:
                chosen.append(model_choice)
                source.append("corrected")
            else:
                chosen.append(operator)
                source.append("operator")
        return pd.DataFrame(
            {"inferred_category": chosen, "category_source": source}, index=frame.index
        )


@dataclass(frozen=True)
class TriageRun:
    frame: pd.DataFrame  # one row per complaint (output columns, see ``triage``)
    train_until: datetime
    trained_on: int
    seconds: float


def triage(inputs: pd.DataFrame, train_until: datetime | None = None) -> TriageRun:
    """Every complaint triaged by a model trained on the closures before ``train_until``.

    Output per complaint: the predictions, ``is_out_of_sample`` (received on or after
    ``train_until``: what the evaluation scores), the closing labels where known, and
    ``queue_rank`` (1 = first) within the day it was received.
    """
    missing = [c for c in INPUT_COLUMNS if c not in inputs.columns]
    if missing:
        raise TriageError(f"triage input lacks columns {missing}")
    clock = time.perf_counter()
    frame = inputs.reset_index(drop=True)
    until = train_until or default_train_until(frame["received_at"])
    model = TriageModel.fit(frame, until)
    predicted = model.predict(frame)
    received = pd.to_datetime(frame["received_at"])
    out = pd.concat([frame[["complaint_id", "received_at", "district_code"]], predicted], axis=1)
    out["operator_category"] = frame["category"]
    out["operator_urgency"] = frame["urgency"]
    out["is_out_of_sample"] = received >= until
    known = labels(frame, until)
    for target in TARGETS:
        out[f"label_{target}"] = known[target].reindex(out.index)
    out["queue_rank"] = (
        out.assign(day=received.dt.normalize())
        .groupby("day")["priority_score"]
        .rank(method="first", ascending=False)
        .astype(int)
    )
    return TriageRun(out, until, model.trained_on, time.perf_counter() - clock)
