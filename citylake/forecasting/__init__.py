"""Demand forecasting: the working calendar, per-series models, rolling-origin backtest.

Pure pandas and statsforecast, one call per series, so the Spark job in
``transforms/counter_demand.py`` distributes it with ``applyInPandas``.
"""

from citylake.forecasting.backtest import (
    OUTPUT_COLUMNS,
    OUTPUT_SCHEMA,
    BacktestPlan,
    forecast_series,
)
from citylake.forecasting.calendar import DAY_KINDS, WorkCalendar, china_calendar, work_calendar
from citylake.forecasting.models import MODELS

__all__ = [
    "DAY_KINDS",
    "MODELS",
    "OUTPUT_COLUMNS",
    "OUTPUT_SCHEMA",
    "BacktestPlan",
    "WorkCalendar",
    "china_calendar",
    "forecast_series",
    "work_calendar",
]
