"""The rolling-origin backtest scored against the demo city's truth.

Every scored slot is a (series, origin, hour-or-day) the backtest forecast from that
origin. Forecasters compared on exactly the same slots:

* ``chosen``          the model the backtest chose per series (what the pipeline publishes);
* each candidate      ``seasonal_naive`` (same hour last week), ``ets``, ``mstl``, ...;
* ``oracle``          the generator's true arrival intensity: the mean no model can beat on
                      Poisson counts, so the gap to it is what forecasting can still win.

MASE is the slot's absolute error over its series-and-origin scale (the mean absolute
week-on-week change in that origin's training window), averaged over slots; WAPE the sum
of absolute errors over the sum of arrivals. Slots of the policy-deadline surge (the
surged category on its surge days, and its centres' daily totals on them) are a segment
of their own: ``overall`` leaves them out, ``overall+surge`` keeps them.

Only this module reads the truth; the pipeline never does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ORACLE = "oracle"
CHOSEN = "chosen"
SEGMENTS = ("overall", "ordinary", "pre_holiday", "post_holiday", "makeup", "surge")
TARGET_VS_NAIVE = 0.85  # overall MASE at most 0.85x seasonal naive's
TARGET_VS_ORACLE = 1.15  # and at most 1.15x the oracle's
TARGET_COVERAGE_POINTS = 5.0  # interval coverage within 5 points of nominal
TARGET_SEGMENT_RATIO = 1.20  # a holiday-related segment at most 20 % worse than ordinary


@dataclass(frozen=True)
class Score:
    grain: str
    segment: str
    forecaster: str
    slots: int
    mase: float
    wape: float
    cover80: float
    cover95: float


def load_truth(truth_root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The generator's hourly intensity and its demand events (surges, holiday shocks)."""
    intensity_path = truth_root / "demand_intensity.parquet"
    events_path = truth_root / "demand_events.parquet"
    for path in (intensity_path, events_path):
        if not path.exists():
            raise FileNotFoundError(f"no {path.name} in {truth_root}: run `citylake generate`")
    return pd.read_parquet(intensity_path), pd.read_parquet(events_path)


def scored_slots(
    backtest: pd.DataFrame, intensity: pd.DataFrame, events: pd.DataFrame
) -> pd.DataFrame:
    """One row per backtest slot and forecaster, with its segment and the oracle added."""
    rows = backtest
    if "record" in rows:  # forecast_series' own output; the published backtest has no forecasts
        rows = rows[rows["record"] == "backtest"]
    rows = rows.copy()
    rows["ds"] = pd.to_datetime(rows["ds"])
    rows["date"] = rows["ds"].dt.date
    chosen = rows[rows["chosen"]].assign(model=CHOSEN)
    oracle = chosen.assign(model=ORACLE)
    oracle["forecast"] = _oracle_mean(oracle, intensity)
    oracle[["lo80", "hi80", "lo95", "hi95"]] = np.nan
    out = pd.concat([rows, chosen, oracle], ignore_index=True)
    out["segment"] = out["day_kind"]
    out.loc[_in_surge(out, events), "segment"] = "surge"
    out["abs_error"] = (out["forecast"] - out["actual"]).abs()
    out["scaled_error"] = out["abs_error"] / out["mase_scale"].where(out["mase_scale"] > 0)
    return out


def _oracle_mean(slots: pd.DataFrame, intensity: pd.DataFrame) -> np.ndarray:
    truth = intensity.copy()
    truth["date"] = pd.to_datetime(truth["date"]).dt.date
    hourly = truth.groupby(["center_id", "service_category", "date", "hour"])["lambda"].sum()
    daily = truth.groupby(["center_id", "date"])["lambda"].sum()
    is_day = (slots["grain"] == "day").to_numpy()
    hour_keys = pd.MultiIndex.from_arrays(
        [slots["center_id"], slots["service_category"], slots["date"], slots["ds"].dt.hour]
    )
    day_keys = pd.MultiIndex.from_arrays([slots["center_id"], slots["date"]])
    by_hour = hourly.reindex(hour_keys).to_numpy()
    by_day = daily.reindex(day_keys).to_numpy()
    return np.nan_to_num(np.where(is_day, by_day, by_hour), nan=0.0)


def _in_surge(slots: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    surge = events[events["kind"] == "policy_deadline_surge"]
    days = set(pd.to_datetime(surge["date"]).dt.date)
    pairs = set(zip(surge["service_category"], pd.to_datetime(surge["date"]).dt.date, strict=True))
    hourly = pd.Series(
        [pair in pairs for pair in zip(slots["service_category"], slots["date"], strict=True)],
        index=slots.index,
    )
    daily = (slots["grain"] == "day") & slots["date"].isin(days)
    return (hourly & (slots["grain"] == "hour")) | daily


def summarise(slots: pd.DataFrame) -> list[Score]:
    """MASE, WAPE and coverage per grain, segment and forecaster."""
    scores: list[Score] = []
    for (grain, forecaster), group in slots.groupby(["grain", "model"]):
        parts = {segment: group[group["segment"] == segment] for segment in SEGMENTS[1:]}
        parts["overall"] = group[group["segment"] != "surge"]
        parts["overall+surge"] = group
        for segment, part in parts.items():
            if part.empty:
                continue
            scores.append(_score(str(grain), segment, str(forecaster), part))
    return scores


def _score(grain: str, segment: str, forecaster: str, part: pd.DataFrame) -> Score:
    actual = part["actual"]
    total = float(actual.sum())

    def cover(level: int) -> float:
        lo, hi = part[f"lo{level}"], part[f"hi{level}"]
        if lo.isna().all():
            return float("nan")
        return float(((actual >= lo) & (actual <= hi)).mean() * 100)

    return Score(
        grain=grain,
        segment=segment,
        forecaster=forecaster,
        slots=len(part),
        mase=float(part["scaled_error"].mean()),
        wape=float(part["abs_error"].sum() / total) if total > 0 else float("nan"),
        cover80=cover(80),
        cover95=cover(95),
    )


def per_series(slots: pd.DataFrame) -> pd.DataFrame:
    """MASE and WAPE per series for the chosen model, seasonal naive and the oracle."""
    keep = slots[
        (slots["segment"] != "surge") & slots["model"].isin([CHOSEN, "seasonal_naive", ORACLE])
    ]
    grouped = keep.groupby(["grain", "center_id", "service_category", "model"])
    table = grouped.agg(
        mase=("scaled_error", "mean"), abs_error=("abs_error", "sum"), actual=("actual", "sum")
    )
    table["wape"] = table["abs_error"] / table["actual"]
    wide = table[["mase", "wape"]].unstack("model")
    wide.columns = [f"{metric}_{model}" for metric, model in wide.columns]
    chosen = slots[slots["chosen"] & (slots["model"] != CHOSEN) & (slots["model"] != ORACLE)]
    names = chosen.groupby(["grain", "center_id", "service_category"])["model"].first()
    return wide.join(names.rename("chosen_model")).reset_index()


@dataclass(frozen=True)
class Check:
    name: str
    figure: float
    target: str
    ok: bool


def checks(scores: list[Score], grain: str = "hour") -> list[Check]:
    """The issue's accuracy targets, on the hourly series (what staffing is sized from)."""
    by = {(s.grain, s.segment, s.forecaster): s for s in scores}

    def get(segment: str, forecaster: str) -> Score | None:
        return by.get((grain, segment, forecaster))

    out: list[Check] = []
    chosen, naive, oracle = (
        get("overall", CHOSEN),
        get("overall", "seasonal_naive"),
        get("overall", ORACLE),
    )
    if chosen and naive:
        ratio = chosen.mase / naive.mase
        out.append(
            Check(
                "MASE chosen / seasonal naive",
                ratio,
                f"<= {TARGET_VS_NAIVE}",
                ratio <= TARGET_VS_NAIVE,
            )
        )
    if chosen and oracle:
        ratio = chosen.mase / oracle.mase
        out.append(
            Check(
                "MASE chosen / oracle", ratio, f"<= {TARGET_VS_ORACLE}", ratio <= TARGET_VS_ORACLE
            )
        )
    if chosen:
        for level, figure in ((80, chosen.cover80), (95, chosen.cover95)):
            gap = abs(figure - level)
            out.append(
                Check(
                    f"coverage {level} % (points)",
                    figure,
                    f"{level} +/- 5",
                    gap <= TARGET_COVERAGE_POINTS,
                )
            )
    ordinary = get("ordinary", CHOSEN)
    for segment in ("pre_holiday", "post_holiday", "makeup"):
        part = get(segment, CHOSEN)
        if ordinary and part:
            ratio = part.wape / ordinary.wape
            out.append(
                Check(
                    f"WAPE {segment} / ordinary",
                    ratio,
                    f"<= {TARGET_SEGMENT_RATIO}",
                    ratio <= TARGET_SEGMENT_RATIO,
                )
            )
    return out
