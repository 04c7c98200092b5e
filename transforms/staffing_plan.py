"""Counters per centre and hour from the demand forecast: dedicated and general, side by side.

* **dedicated**: each category its own queue and counters (the department-counter model):
  Erlang C per category on its forecast arrivals and measured handling time, summed;
* **general** (pooled): one queue for every category at general counters (the seeds'
  reform). First answer: Erlang C on the pooled load with the mixture's mean handling time;
  every hour is then checked by a SimPy simulation of the real mix (``citylake.queue_sim``)
  and the simulated count is the plan. ``erlang_agrees`` says where the two differ.

Targets (default 80 % called within 10 minutes, occupancy at most 85 %) can be set per
centre in a YAML file (``--targets``: ``default:`` and ``centers: {SC001: {...}}``).
One ``applyInPandas`` group per centre and day, so a cluster runs it unchanged. The same
plan is also made for the replayed forecasts of the latest backtest window
(``staffing_plan_replay``), which dbt sets against the queues that really formed.
"""

from __future__ import annotations

import argparse
import logging
import math
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from citylake.queue_sim import simulated_counters
from citylake.settings import load_settings
from citylake.staffing import dedicated_plan, pooled_plan, required_counters

if TYPE_CHECKING:
    from collections.abc import Callable

    from pyspark.sql import DataFrame

__all__ = [
    "StaffingTargets",
    "load_targets",
    "main",
    "plan_center_day",
    "staffing_plan",
    "what_if",
    "what_if_center_day",
]

log = logging.getLogger(__name__)

PLAN_SCHEMA = (
    "center_id string, plan_hour timestamp, day_kind string, expected_arrivals double, "
    "categories int, dedicated_counters int, dedicated_service_level double, "
    "dedicated_mean_wait_minutes double, dedicated_occupancy double, "
    "pooled_counters_erlang int, pooled_service_level_erlang double, "
    "pooled_counters int, pooled_service_level double, pooled_prob_wait double, "
    "pooled_mean_wait_minutes double, pooled_occupancy double, erlang_agrees boolean, "
    "counters_saved int, target_wait_minutes double, target_service_level double, "
    "max_occupancy double, generated_for date"
)
PLAN_COLUMNS = [part.split()[0] for part in PLAN_SCHEMA.split(", ")]
SIMULATED_HOURS = 40.0
# What-if: the counters other service-level targets would need (Erlang C on each plan's
# own terms; the SimPy check stays with the chosen target, where it sets the plan).
WHAT_IF_LEVELS = (0.6, 0.7, 0.8, 0.9, 0.95)
WHAT_IF_SCHEMA = (
    "center_id string, plan_hour timestamp, target_service_level double, "
    "expected_arrivals double, dedicated_counters int, pooled_counters int, "
    "pooled_mean_wait_minutes double, generated_for date"
)


@dataclass(frozen=True)
class StaffingTargets:
    target_wait_minutes: float = 10.0
    target_service_level: float = 0.8
    max_occupancy: float = 0.85


def load_targets(path: Path | None) -> tuple[StaffingTargets, dict[str, StaffingTargets]]:
    """The default targets and per-centre overrides from a YAML file (or the defaults)."""
    if path is None:
        return StaffingTargets(), {}
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    try:
        default = StaffingTargets(**(raw.get("default") or {}))
        centers = {
            str(center): StaffingTargets(**(asdict(default) | (values or {})))
            for center, values in (raw.get("centers") or {}).items()
        }
    except TypeError as error:
        raise ValueError(f"{path}: {error} (keys: {list(asdict(StaffingTargets()))})") from error
    for name, targets in {"default": default, **centers}.items():
        try:  # the staffing module's own argument checks, with the file and centre named
            required_counters(1.0, 1.0, **asdict(targets))
        except ValueError as error:
            raise ValueError(f"{path}: {name}: {error}") from error
    return default, centers


def _seed(center_id: str, hour: pd.Timestamp) -> int:
    return zlib.crc32(f"{center_id}|{hour.isoformat()}".encode())


def plan_center_day(hours: pd.DataFrame, targets: StaffingTargets) -> pd.DataFrame:
    """Both plans for every forecast hour of one centre's day (pure pandas).

    ``hours``: center_id, service_category, forecast_hour, day_kind, expected_arrivals,
    mean_handle_minutes, generated_for. A category with arrivals but no measured handling
    time is sized with the centre's arrival-weighted mean handling time.
    """
    t = asdict(targets)
    frame = hours.copy()
    known = frame["mean_handle_minutes"].notna() & (frame["expected_arrivals"] > 0)
    weight = frame.loc[known, "expected_arrivals"]
    fallback = (
        float((weight * frame.loc[known, "mean_handle_minutes"]).sum() / weight.sum())
        if known.any()
        else 0.0
    )
    frame["mean_handle_minutes"] = frame["mean_handle_minutes"].fillna(fallback)
    rows: list[dict[str, Any]] = []
    for hour, group in frame.groupby("forecast_hour", sort=True):
        demand = {
            str(r.service_category): (
                max(0.0, float(r.expected_arrivals)),
                float(r.mean_handle_minutes),
            )
            for r in group.itertuples()
        }
        total = sum(lam for lam, _ in demand.values())
        dedicated = dedicated_plan(demand, **t)
        erlang = pooled_plan(demand, **t)
        simulated, sim = simulated_counters(
            demand, **t, hours=SIMULATED_HOURS, seed=_seed(group["center_id"].iloc[0], hour)
        )
        d_counters = sum(p.counters for p in dedicated.values())
        load = sum(p.offered_load for p in dedicated.values())
        rows.append(
            {
                "center_id": group["center_id"].iloc[0],
                "plan_hour": hour,
                "day_kind": group["day_kind"].iloc[0],
                "expected_arrivals": total,
                "categories": sum(lam > 0 for lam, _ in demand.values()),
                "dedicated_counters": d_counters,
                "dedicated_service_level": _weighted(dedicated, "service_level", total),
                "dedicated_mean_wait_minutes": _weighted(dedicated, "mean_wait_minutes", total),
                "dedicated_occupancy": load / d_counters if d_counters else 0.0,
                "pooled_counters_erlang": erlang.counters,
                "pooled_service_level_erlang": erlang.service_level if total > 0 else 1.0,
                "pooled_counters": simulated,
                "pooled_service_level": sim.service_level,
                "pooled_prob_wait": sim.prob_wait,
                "pooled_mean_wait_minutes": sim.mean_wait_minutes,
                "pooled_occupancy": sim.occupancy,
                "erlang_agrees": simulated == erlang.counters,
                "counters_saved": d_counters - simulated,
                **t,
                "generated_for": group["generated_for"].iloc[0],
            }
        )
    out = pd.DataFrame(rows, columns=PLAN_COLUMNS)
    for column in (
        "categories",
        "dedicated_counters",
        "pooled_counters_erlang",
        "pooled_counters",
        "counters_saved",
    ):
        out[column] = out[column].astype("int32")
    return out


def what_if_center_day(
    hours: pd.DataFrame, targets: StaffingTargets, levels: tuple[float, ...] = WHAT_IF_LEVELS
) -> pd.DataFrame:
    """Dedicated and general counters per forecast hour at each service-level target."""
    rows: list[dict[str, Any]] = []
    frame = hours.copy()
    frame["mean_handle_minutes"] = frame["mean_handle_minutes"].fillna(
        frame["mean_handle_minutes"].mean() if frame["mean_handle_minutes"].notna().any() else 0.0
    )
    for hour, group in frame.groupby("forecast_hour", sort=True):
        demand = {
            str(r.service_category): (
                max(0.0, float(r.expected_arrivals)),
                float(r.mean_handle_minutes),
            )
            for r in group.itertuples()
        }
        for level in levels:
            t = {**asdict(targets), "target_service_level": level}
            pooled = pooled_plan(demand, **t)
            rows.append(
                {
                    "center_id": group["center_id"].iloc[0],
                    "plan_hour": hour,
                    "target_service_level": level,
                    "expected_arrivals": sum(lam for lam, _ in demand.values()),
                    "dedicated_counters": sum(
                        p.counters for p in dedicated_plan(demand, **t).values()
                    ),
                    "pooled_counters": pooled.counters,
                    "pooled_mean_wait_minutes": pooled.mean_wait_minutes
                    if math.isfinite(pooled.mean_wait_minutes)
                    else None,
                    "generated_for": group["generated_for"].iloc[0],
                }
            )
    columns = [part.split()[0] for part in WHAT_IF_SCHEMA.split(", ")]
    out = pd.DataFrame(rows, columns=columns)
    return out.astype({"dedicated_counters": "int32", "pooled_counters": "int32"})


def _weighted(plans: dict, field: str, total: float) -> float:
    if total <= 0:
        return 1.0 if field == "service_level" else 0.0
    value = sum(
        p.arrivals_per_hour * getattr(p, field) for p in plans.values() if p.arrivals_per_hour > 0
    )
    return value / total if math.isfinite(value) else math.inf


def _hourly(forecast: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    return forecast.where(F.col("grain") == "hour").select(
        "center_id",
        "service_category",
        F.col("forecast_hour").cast("timestamp").alias("forecast_hour"),
        "day_kind",
        F.col("expected_arrivals").cast("double").alias("expected_arrivals"),
        F.col("mean_handle_minutes").cast("double").alias("mean_handle_minutes"),
        "generated_for",
    )


def _per_center_day(
    forecast: DataFrame,
    plan: Callable[[pd.DataFrame, StaffingTargets], pd.DataFrame],
    schema: str,
    default: StaffingTargets | None,
    centers: dict[str, StaffingTargets] | None,
) -> DataFrame:
    """Run ``plan`` on each centre-day of the hourly forecast with that centre's targets."""
    from pyspark.sql import functions as F

    default = default or StaffingTargets()
    centers = centers or {}

    # A plain function (not functools.partial) so pyspark can read its pandas type hints.
    def plan_group(group: pd.DataFrame) -> pd.DataFrame:
        return plan(group, centers.get(str(group["center_id"].iloc[0]), default))

    return (
        _hourly(forecast)
        .groupBy("center_id", F.to_date("forecast_hour"))
        .applyInPandas(plan_group, schema=schema)
    )


def staffing_plan(
    forecast: DataFrame,
    default: StaffingTargets | None = None,
    centers: dict[str, StaffingTargets] | None = None,
) -> DataFrame:
    """Both plans per centre and forecast hour from the hourly forecast rows."""
    return _per_center_day(forecast, plan_center_day, PLAN_SCHEMA, default, centers)


def what_if(
    forecast: DataFrame,
    default: StaffingTargets | None = None,
    centers: dict[str, StaffingTargets] | None = None,
) -> DataFrame:
    """The what-if table per centre, hour and service-level target."""
    return _per_center_day(forecast, what_if_center_day, WHAT_IF_SCHEMA, default, centers)


def main(argv: list[str] | None = None) -> int:
    """Read the demand forecast, plan both ways, publish atomically; return the row count."""
    from citylake.warehouse.spark_session import get_spark, write_parquet_atomically

    settings = load_settings()
    parser = argparse.ArgumentParser(
        description="Dedicated and general counter plans per centre and hour."
    )
    parser.add_argument("--input", type=Path, default=settings.gold_dir / "counter_demand_forecast")
    parser.add_argument("--output", type=Path, default=settings.gold_dir / "staffing_plan")
    parser.add_argument(
        "--replay-input",
        type=Path,
        default=settings.gold_dir / "counter_demand_replay",
        help="the forecasts replayed over the latest backtest window (for plan vs actual)",
    )
    parser.add_argument(
        "--replay-output", type=Path, default=settings.gold_dir / "staffing_plan_replay"
    )
    parser.add_argument(
        "--targets", type=Path, default=None, help="YAML: default: and centers: targets"
    )
    parser.add_argument(
        "--what-if-output", type=Path, default=settings.gold_dir / "staffing_what_if"
    )
    args = parser.parse_args(argv)
    default, centers = load_targets(args.targets)

    spark = get_spark("citylake-staffing-plan")
    forecast = spark.read.parquet(str(args.input))
    plan = staffing_plan(forecast, default, centers)
    rows = write_parquet_atomically(plan, args.output)
    log.info("staffing plan: %d centre-hours -> %s", rows, args.output)
    levels = write_parquet_atomically(what_if(forecast, default, centers), args.what_if_output)
    log.info("staffing what-if: %d centre-hour-targets -> %s", levels, args.what_if_output)
    if args.replay_input.exists():
        replay = staffing_plan(spark.read.parquet(str(args.replay_input)), default, centers)
        replayed = write_parquet_atomically(replay, args.replay_output)
        log.info("staffing plan replayed: %d centre-hours -> %s", replayed, args.replay_output)
    return rows


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    main()
