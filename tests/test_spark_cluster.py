"""The forecast and staffing jobs on a real standalone Spark cluster (a master and a
worker from the pip-installed Spark on 127.0.0.1) give exactly what they give locally."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from forecast_history import arrivals_mart

from citylake.warehouse.spark_cluster import standalone_cluster
from transforms import counter_demand, staffing_plan

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
JOB_ARGS = ["--horizon-days", "7", "--origins", "2"]


def _paths(base: Path) -> dict[str, Path]:
    names = ("forecast", "backtest", "replay", "plan", "plan_replay")
    return {name: base / name for name in names}


def _run_jobs_here(source: Path, out: dict[str, Path]) -> None:
    demand = {"input": source, "output": out["forecast"], "backtest": out["backtest"]}
    demand["replay"] = out["replay"]
    counter_demand.main([*_flags(demand), *JOB_ARGS])
    plan = {"input": out["forecast"], "output": out["plan"]}
    plan |= {"replay-input": out["replay"], "replay-output": out["plan_replay"]}
    staffing_plan.main(_flags(plan))


def _flags(paths: dict[str, Path]) -> list[str]:
    return [part for name, path in paths.items() for part in (f"--{name}", str(path))]


def _read(path: Path, keys: list[str]) -> pd.DataFrame:
    return pd.read_parquet(path).sort_values(keys, ignore_index=True)


def test_jobs_run_unchanged_on_a_standalone_cluster(spark: Any, tmp_path: Path) -> None:
    source = tmp_path / "arrivals"
    spark.createDataFrame(arrivals_mart(date(2026, 8, 17), date(2026, 10, 12))).write.parquet(
        str(source)
    )
    local = _paths(tmp_path / "local")
    _run_jobs_here(source, local)

    remote = _paths(tmp_path / "cluster")
    driver = (
        "import sys; from tests.test_spark_cluster import _run_jobs_here, _paths; "
        "from pathlib import Path; _run_jobs_here(Path(sys.argv[1]), _paths(Path(sys.argv[2])))"
    )
    with standalone_cluster(tmp_path / "spark-cluster") as cluster:
        env = os.environ | {
            "CITYLAKE_SPARK_MASTER": cluster.master_url,
            "CITYLAKE_HOME": str(tmp_path / "cluster-home"),
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
        }
        done = subprocess.run(
            [sys.executable, "-c", driver, str(source), str(tmp_path / "cluster")],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-4000:]
        apps = {
            app["name"] for app in cluster.state()["completedapps"] + cluster.state()["activeapps"]
        }
    # The jobs really ran on the cluster's executors, not in a local fallback.
    assert "citylake-counter-demand" in apps

    keys = {
        "forecast": ["center_id", "service_category", "grain", "forecast_hour"],
        "backtest": ["center_id", "service_category", "grain", "origin", "model", "ds"],
        "plan": ["center_id", "plan_hour"],
        "plan_replay": ["center_id", "plan_hour"],
    }
    for name, columns in keys.items():
        here, there = _read(local[name], columns), _read(remote[name], columns)
        assert len(here) > 0, name
        pd.testing.assert_frame_equal(here, there, check_exact=False, rtol=1e-9, obj=name)
