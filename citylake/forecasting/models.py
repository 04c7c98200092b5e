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

import numpy as np
import pandas as pd
from scipy import stats

from citylake.forecasting.series import dow_levels

log = logging.getLogger(__name__)

LEVELS = (80, 95)
BANDS = ("lo80", "hi80", "lo95", "hi95")
Model = Callable[[pd.DataFrame, pd.DataFrame, int], pd.DataFrame]


def _frame(mean: np.ndarray, bands: dict[str, np.ndarray], index: pd.Index) -> pd.DataFrame:
    out = pd.DataFrame({"mean": np.clip(mean, 0.0, None)}, index=index)
    for name in BANDS:
        out[name] = np.clip(bands[name], 0.0, None)
    return out


def seasonal_naive(train: pd.DataFrame, future: pd.DataFrame, per_day: int) -> pd.DataFrame:
    last = train.drop_duplicates(["dow", "hour"], keep="last").set_index(["dow", "hour"])["y"]
    keys = pd.MultiIndex.from_arrays([dow_levels(train, future), future["hour"]])
    mean = last.reindex(keys).fillna(0.0).to_numpy()
    # Intervals from the spread of week-on-week changes in the training window.
    lagged = (train["ds"] - pd.Timedelta(days=7)).map(train.set_index("ds")["y"])
    diffs = (train["y"] - lagged).dropna().to_numpy()
    if len(diffs) == 0:
        diffs = np.zeros(1)
    bands = {
        "lo80": mean + np.quantile(diffs, 0.10),
        "hi80": mean + np.quantile(diffs, 0.90),
        "lo95": mean + np.quantile(diffs, 0.025),
        "hi95": mean + np.quantile(diffs, 0.975),
    }
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


def _design(frame: pd.DataFrame, dow: pd.Series, columns: list[str] | None) -> pd.DataFrame:
    parts = [
        pd.get_dummies(frame["hour"].astype(str), prefix="h", dtype="float64"),
        pd.get_dummies(dow, prefix="d", dtype="float64"),
        pd.DataFrame(
            {
                "pre": (frame["eve"] > 0).astype("float64"),
                # The rebound grows with the backlog: log(1 + days closed), so a
                # 3-day closure's rebound fitted in training sizes a 7-day one's.
                "post": np.log1p(frame["rebound"].astype("float64")),
            }
        ),
    ]
    design = pd.concat(parts, axis=1)
    if columns is None:
        # One level of each categorical is the baseline; a flag never seen cannot be fitted.
        drop = [c for c in design if c.startswith("h_")][:1] + [
            c for c in design if c.startswith("d_")
        ][:1]
        drop += [c for c in ("pre", "post") if design[c].sum() == 0]
        design = design.drop(columns=drop)
        design.insert(0, "const", 1.0)
        return design
    design.insert(0, "const", 1.0)
    return design.reindex(columns=columns, fill_value=0.0)


def poisson_calendar(train: pd.DataFrame, future: pd.DataFrame, per_day: int) -> pd.DataFrame:
    import statsmodels.api as sm

    x_train = _design(train, train["dow"], None)
    x_future = _design(future, dow_levels(train, future), list(x_train.columns))
    y = train["y"].to_numpy(dtype="float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # perfect-separation and convergence chatter
        fit = sm.GLM(y, x_train.to_numpy(), family=sm.families.Poisson()).fit()
    dispersion = max(1.0, float(fit.pearson_chi2 / max(1, fit.df_resid)))
    xf = x_future.to_numpy()
    eta = xf @ fit.params
    eta_var = np.einsum("ij,jk,ik->i", xf, fit.cov_params(), xf)
    mean = np.exp(eta)
    # Predictive variance: the count's own (overdispersed) noise plus the estimate's.
    variance = dispersion * mean + mean**2 * np.expm1(eta_var)
    bands = {}
    for level in LEVELS:
        tail = (1 - level / 100) / 2
        bands[f"lo{level}"], bands[f"hi{level}"] = _count_interval(mean, variance, tail)
    return _frame(mean, bands, future.index)


def _count_interval(
    mean: np.ndarray, variance: np.ndarray, tail: float
) -> tuple[np.ndarray, np.ndarray]:
    """Central interval of a count with this mean and variance (negative binomial).

    Bounds are mid-quantiles (the inverse of F(k) - p(k)/2, linear between integers). An
    integer quantile of a small count jumps with the mean and its interval always holds
    more than nominal; a mid-quantile bound moves with the mean, so over many slots the
    share of counts inside comes out near nominal.
    """
    mean = np.maximum(mean, 1e-9)
    excess = np.maximum(variance - mean, 1e-9 * mean)
    dist = stats.nbinom(mean**2 / excess, mean / (mean + excess))
    top = int(np.max(dist.ppf(0.99999))) + 2
    k = np.arange(top + 1)
    cdf = dist.cdf(k[:, None])
    pmf = dist.pmf(k[:, None])
    mid = (cdf - pmf / 2).T  # [slot, k], increasing in k
    low = np.array([np.interp(tail, row, k) for row in mid])
    high = np.array([np.interp(1 - tail, row, k) for row in mid])
    return low, high


MODELS: dict[str, Model] = {
    "seasonal_naive": seasonal_naive,
    "ets": ets,
    "mstl": mstl,
    "poisson_calendar": poisson_calendar,
}
