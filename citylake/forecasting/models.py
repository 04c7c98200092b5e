"""Candidate models for one demand series; the backtest chooses among them per series.

Each model takes the training slots (``ds, day, hour, kind, dow, y``) and the future open
slots, and returns the mean and the 80 % / 95 % prediction interval per future slot.

* ``seasonal_naive``    the same hour on the last occurrence of the same weekday (the
                        benchmark every forecast is scored against);
* ``ets``               statsforecast ``AutoETS`` with the daily season on the open-slot axis;
* ``mstl``              statsforecast ``MSTL`` (daily and weekly seasons) with an ``AutoETS``
                        trend, hourly grain only;
* ``poisson_calendar``  a Poisson GLM (statsmodels) with hour-of-day, weekday, holiday-eve
                        and holiday-rebound effects: counts are Poisson, effects multiply, and
                        the calendar terms are known future information. Intervals come from
                        a negative binomial with the fitted overdispersion plus the estimate's
                        own uncertainty.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from citylake.forecasting.series import dow_levels, weekly_lag

log = logging.getLogger(__name__)

LEVELS = (80, 95)
BANDS = ("lo80", "hi80", "lo95", "hi95")
Model = Callable[[pd.DataFrame, pd.DataFrame, int], pd.DataFrame]


def _frame(mean: np.ndarray, bands: dict[str, np.ndarray], index: pd.Index) -> pd.DataFrame:
    columns = {"mean": mean, **{name: bands[name] for name in BANDS}}
    return pd.DataFrame({name: np.clip(v, 0.0, None) for name, v in columns.items()}, index=index)


_DOW_CODES = {**{str(day): day for day in range(7)}, "makeup": 7}


def _slot_keys(dow: pd.Series, hour: pd.Series) -> np.ndarray:
    """(weekday key, hour) as one integer per slot."""
    codes = np.fromiter((_DOW_CODES[d] for d in dow), dtype="int64", count=len(dow))
    return codes * 24 + hour.to_numpy(dtype="int64")


def seasonal_naive(train: pd.DataFrame, future: pd.DataFrame, per_day: int) -> pd.DataFrame:
    # The last training slot of each (weekday key, hour), looked up for every future slot.
    train_keys = _slot_keys(train["dow"], train["hour"])
    keys, first_from_end = np.unique(train_keys[::-1], return_index=True)
    last_y = train["y"].to_numpy(dtype="float64")[len(train_keys) - 1 - first_from_end]
    wanted = _slot_keys(dow_levels(train, future), future["hour"])
    at = np.clip(np.searchsorted(keys, wanted), 0, len(keys) - 1)
    mean = np.where(keys[at] == wanted, last_y[at], 0.0)
    # Intervals from the spread of week-on-week changes in the training window.
    diffs = train["y"].to_numpy(dtype="float64") - weekly_lag(train)
    diffs = diffs[~np.isnan(diffs)]
    if len(diffs) == 0:
        diffs = np.zeros(1)
    q = np.quantile(diffs, [0.10, 0.90, 0.025, 0.975])
    bands = {"lo80": mean + q[0], "hi80": mean + q[1], "lo95": mean + q[2], "hi95": mean + q[3]}
    return _frame(mean, bands, future.index)


def _statsforecast(model: object, train: pd.DataFrame, future: pd.DataFrame) -> pd.DataFrame:
    y = train["y"].to_numpy(dtype="float64")
    result = model.forecast(y=y, h=len(future), level=list(LEVELS))  # type: ignore[attr-defined]
    bands = {
        f"{side}{level}": result[f"{side}-{level}"] for level in LEVELS for side in ("lo", "hi")
    }
    return _frame(np.asarray(result["mean"]), bands, future.index)


def ets(train: pd.DataFrame, future: pd.DataFrame, per_day: int) -> pd.DataFrame:
    from statsforecast.models import AutoETS

    season = per_day if per_day > 1 else max(1, train["dow"].nunique())
    return _statsforecast(AutoETS(season_length=season), train, future)


def mstl(train: pd.DataFrame, future: pd.DataFrame, per_day: int) -> pd.DataFrame:
    from statsforecast.models import MSTL, AutoETS

    if per_day < 2:
        raise ValueError("mstl needs an hourly grain (a daily and a weekly season)")
    week = per_day * max(1, train["dow"].nunique())
    if len(train) < 2 * week:
        raise ValueError(f"mstl needs two weekly seasons ({2 * week} slots), has {len(train)}")
    model = MSTL(season_length=[per_day, week], trend_forecaster=AutoETS(model="ZZN"))
    return _statsforecast(model, train, future)


def _one_hot(values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    return (values[:, None] == levels[None, :]).astype("float64")


@dataclass(frozen=True)
class _Design:
    """The GLM's columns: const, hour levels, weekday levels (the first of each is the
    baseline), and the holiday-eve and rebound terms when the training window has them."""

    hours: np.ndarray
    dows: np.ndarray
    pre: bool
    post: bool

    @classmethod
    def of(cls, train: pd.DataFrame) -> _Design:
        return cls(
            hours=np.unique(train["hour"].to_numpy())[1:],
            dows=np.unique(train["dow"].to_numpy().astype(str))[1:],
            # A flag never seen in training cannot be fitted.
            pre=bool((train["eve"] > 0).any()),
            post=bool((train["rebound"] > 0).any()),
        )

    def matrix(self, frame: pd.DataFrame, dow: pd.Series) -> np.ndarray:
        parts = [
            np.ones((len(frame), 1)),
            _one_hot(frame["hour"].to_numpy(), self.hours),
            _one_hot(dow.to_numpy().astype(str), self.dows),
        ]
        if self.pre:
            parts.append((frame["eve"].to_numpy() > 0).astype("float64")[:, None])
        if self.post:
            # The rebound grows with the backlog: log(1 + days closed), so a 3-day
            # closure's rebound fitted in training sizes a 7-day one's.
            parts.append(np.log1p(frame["rebound"].to_numpy(dtype="float64"))[:, None])
        return np.hstack(parts)


# A coefficient whose log-scale variance passes this is not identified (a level with no
# arrivals in training drives its estimate to -inf and its variance to inf): the
# estimate's share of the predictive variance is capped there instead of overflowing.
_MAX_ETA_VARIANCE = 4.0


def poisson_calendar(train: pd.DataFrame, future: pd.DataFrame, per_day: int) -> pd.DataFrame:
    import statsmodels.api as sm

    design = _Design.of(train)
    x_train = design.matrix(train, train["dow"])
    xf = design.matrix(future, dow_levels(train, future))
    y = train["y"].to_numpy(dtype="float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # perfect-separation and convergence chatter
        fit = sm.GLM(y, x_train, family=sm.families.Poisson()).fit()
    dispersion = max(1.0, float(fit.pearson_chi2 / max(1, fit.df_resid)))
    eta = xf @ fit.params
    eta_var = np.minimum(np.einsum("ij,jk,ik->i", xf, fit.cov_params(), xf), _MAX_ETA_VARIANCE)
    mean = np.exp(eta)
    # Predictive variance: the count's own (overdispersed) noise plus the estimate's.
    variance = dispersion * mean + mean**2 * np.expm1(eta_var)
    tails = [(1 - level / 100) / 2 for level in LEVELS]
    bounds = _count_intervals(mean, variance, tails)
    bands = {}
    for level, (low, high) in zip(LEVELS, bounds, strict=True):
        bands[f"lo{level}"], bands[f"hi{level}"] = low, high
    return _frame(mean, bands, future.index)


def _count_interval(
    mean: np.ndarray, variance: np.ndarray, tail: float
) -> tuple[np.ndarray, np.ndarray]:
    """Central interval of a count with this mean and variance (negative binomial)."""
    return _count_intervals(mean, variance, [tail])[0]


def _count_intervals(
    mean: np.ndarray, variance: np.ndarray, tails: list[float]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Central intervals (one per tail) of a count with this mean and variance.

    Negative binomial. Bounds are mid-quantiles (the inverse of F(k) - p(k)/2, linear
    between integers). An integer quantile of a small count jumps with the mean and its
    interval always holds more than nominal; a mid-quantile bound moves with the mean, so
    over many slots the share of counts inside comes out near nominal.
    """
    mean = np.maximum(mean, 1e-9)
    excess = np.maximum(variance - mean, 1e-9 * mean)
    size, prob = mean**2 / excess, mean / (mean + excess)
    top = int(np.max(stats.nbinom.ppf(0.99999, size, prob))) + 2
    k = np.arange(top + 1, dtype="float64")
    # The pmf by its ratio recurrence, p(k+1) / p(k) = (k + size) / (k + 1) * (1 - prob),
    # summed in logs: the same cdf as scipy's incomplete-beta one on this grid (its tail
    # beyond ``top`` is < 1e-5) at a tenth of the cost, and exact near the Poisson limit
    # (a huge ``size``), where differences of log-gammas lose their digits.
    log_prob = -np.log1p(excess / mean)
    log_rest = np.log(excess) - np.log(mean + excess)
    steps = np.log(size[:, None] + k[None, :-1]) - np.log1p(k[None, :-1]) + log_rest[:, None]
    logpmf = np.concatenate([np.zeros((len(mean), 1)), np.cumsum(steps, axis=1)], axis=1)
    pmf = np.exp(logpmf + (size * log_prob)[:, None])
    mid = np.cumsum(pmf, axis=1) - pmf / 2  # [slot, k], increasing in k
    return [(_invert(mid, tail, k), _invert(mid, 1 - tail, k)) for tail in tails]


def _invert(mid: np.ndarray, p: float, k: np.ndarray) -> np.ndarray:
    """Per row of ``mid`` (increasing in k), the k where it reaches ``p``, linear between."""
    above = np.clip((mid < p).sum(axis=1), 1, len(k) - 1)  # first index with mid >= p
    rows = np.arange(len(mid))
    lo, hi = mid[rows, above - 1], mid[rows, above]
    step = np.where(hi > lo, (p - lo) / np.where(hi > lo, hi - lo, 1.0), 0.0)
    return np.clip(k[above - 1] + np.clip(step, 0.0, 1.0), k[0], k[-1])


MODELS: dict[str, Model] = {
    "seasonal_naive": seasonal_naive,
    "ets": ets,
    "mstl": mstl,
    "poisson_calendar": poisson_calendar,
}
