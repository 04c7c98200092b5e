"""Rolling-origin backtest, model choice and the forecast of one series.

For each origin (the last ``origins`` windows of ``horizon_days``, a week apart, ending at
the end of the history) every candidate model is fitted on the slots before the origin
and scored on the window after it; the model with the lowest mean MASE over the origins
is refitted on the whole history and forecasts ``horizon_days`` from the horizon start.

``forecast_series`` is pure pandas, one call per series: the Spark job runs it in
``groupBy(series).applyInPandas``, so a cluster runs it unchanged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from citylake.forecasting import series
from citylake.forecasting.calendar import WorkCalendar
from citylake.forecasting.models import BANDS, MODELS

log = logging.getLogger(__name__)

OUTPUT_SCHEMA = (
    "center_id string, service_category string, grain string, record string, "
    "origin date, ds timestamp_ntz, day_kind string, model string, chosen boolean, "
    "actual double, forecast double, lo80 double, hi80 double, lo95 double, hi95 double, "
    "mase_scale double"
)
OUTPUT_COLUMNS = [part.split()[0] for part in OUTPUT_SCHEMA.split(", ")]
# Two weeks: every weekday seen twice, the least a weekly-seasonal model can be tried on.
MIN_TRAIN_DAYS = 14


@dataclass(frozen=True)
class BacktestPlan:
    horizon_start: date
    horizon_days: int
    origins: int
    models: tuple[str, ...]
    calendar: WorkCalendar

    def origin_dates(self, first_day: date) -> list[date]:
        """The backtest origins, oldest first, each with at least MIN_TRAIN_DAYS before it."""
        out = []
        for k in range(self.origins):
            origin = self.horizon_start - timedelta(days=self.horizon_days + 7 * k)
            if (origin - first_day).days >= MIN_TRAIN_DAYS:
                out.append(origin)
        return sorted(out)


def _per_day(grain: str, pattern: series.OpeningPattern) -> int:
    return 1 if grain == "day" else len(pattern.hours)


def _run_model(
    name: str, train: pd.DataFrame, future: pd.DataFrame, per_day: int
) -> pd.DataFrame | None:
    try:
        return MODELS[name](train, future, per_day)
    except Exception as error:  # a model that cannot fit this series is not a candidate
        log.info("model %s skipped on a series: %s", name, error)
        return None


def forecast_series(
    history: pd.DataFrame, key: dict[str, str], grain: str, plan: BacktestPlan
) -> pd.DataFrame:
    """Backtest rows for every model and origin, then the chosen model's forecast rows.

    ``history``: columns period (hour or day start, local time) and y (arrivals), rows
    before ``plan.horizon_start`` only. ``key``: center_id and service_category.
    """
    periods = pd.DatetimeIndex(history["period"])
    before = periods < pd.Timestamp(plan.horizon_start)
    history = history[before]
    if history.empty or history["y"].sum() <= 0:
        return pd.DataFrame(columns=OUTPUT_COLUMNS)
    first = periods[before].min().date()
    last = plan.horizon_start - timedelta(days=1)
    pattern = series.opening_pattern(history, plan.calendar, grain)
    observed = series.observed(history, series.slots(pattern, plan.calendar, first, last))
    per_day = _per_day(grain, pattern)

    frames: list[pd.DataFrame] = []
    scores: dict[str, list[float]] = {name: [] for name in plan.models}
    for origin in plan.origin_dates(first):
        train = observed[observed["day"] < origin].reset_index(drop=True)
        end = origin + timedelta(days=plan.horizon_days)
        test = observed[(observed["day"] >= origin) & (observed["day"] < end)]
        test = test.reset_index(drop=True)
        if train.empty or test.empty:
            continue
        scale = series.weekly_scale(train)
        for name in plan.models:
            predicted = _run_model(name, train, test.drop(columns="y"), per_day)
            if predicted is None:
                continue
            mae = float(np.abs(predicted["mean"] - test["y"]).mean())
            scores[name].append(mae / scale if scale > 0 else mae)
            frames.append(_rows(key, grain, "backtest", origin, test, predicted, name, scale))

    chosen = choose(scores)
    for frame in frames:
        frame["chosen"] = frame["model"] == chosen
    horizon_end = plan.horizon_start + timedelta(days=plan.horizon_days - 1)
    future = series.slots(pattern, plan.calendar, plan.horizon_start, horizon_end)
    final = _run_model(chosen, observed, future, per_day) if not future.empty else None
    if final is None and not future.empty:
        chosen = "seasonal_naive"
        final = MODELS[chosen](observed, future, per_day)
    if final is not None:
        frames.append(
            _rows(key, grain, "forecast", plan.horizon_start, future, final, chosen, np.nan)
        )
    closed = series.closed_slots(pattern, plan.calendar, plan.horizon_start, horizon_end)
    if not closed.empty:
        zeros = pd.DataFrame(0.0, index=closed.index, columns=["mean", *BANDS])
        frames.append(
            _rows(key, grain, "forecast", plan.horizon_start, closed, zeros, chosen, np.nan)
        )
    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        return pd.DataFrame(columns=OUTPUT_COLUMNS)
    # Backtest rows by origin and model, then the forecast (sorting the frames, not the
    # rows: a row sort costs more than some models' fits).
    frames.sort(key=lambda f: (f["record"].iat[0], f["origin"].iat[0], f["model"].iat[0]))
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def choose(scores: dict[str, list[float]]) -> str:
    """The model with the lowest mean backtest MASE.

    When nothing was scored (no origin fits the history, or ``origins=0``): seasonal
    naive if it is a candidate, else the first candidate (a plan with a single model
    forecasts with that model, no backtest needed).
    """
    means = {name: float(np.mean(values)) for name, values in scores.items() if values}
    if not means:
        return "seasonal_naive" if "seasonal_naive" in scores or not scores else next(iter(scores))
    return min(means, key=lambda name: (means[name], name))


def _rows(
    key: dict[str, str],
    grain: str,
    record: str,
    origin: date,
    slots: pd.DataFrame,
    predicted: pd.DataFrame,
    model: str,
    scale: float,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "center_id": key["center_id"],
            "service_category": key["service_category"],
            "grain": grain,
            "record": record,
            "origin": origin,
            "ds": pd.to_datetime(slots["ds"]).to_numpy(),
            "day_kind": slots["kind"].to_numpy(),
            "model": model,
            "chosen": record == "forecast",  # a backtest row's is set once the choice is made
            "actual": slots["y"].to_numpy(dtype="float64") if "y" in slots else np.nan,
            "forecast": predicted["mean"].to_numpy(),
            **{band: predicted[band].to_numpy() for band in BANDS},
            "mase_scale": scale,
        }
    )
