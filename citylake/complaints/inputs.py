"""What the triage reads from the warehouse and where it writes its result.

Input: every complaint from staging (its summary is not in a mart: callers name people
and addresses) with the closure its work order recorded, if any. Output:
``gold/complaint_triage/data.parquet``, read back by the ``fct_complaint_triage`` mart.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from citylake.complaints.triage import TriageRun

INPUT_SQL = """
with closures as (
    select complaint_id, event_at as closed_at, level as closed_level, unit as closed_unit,
           category as closed_category
    from staging.stg_hotline__work_orders
    where event = 'closed'
    qualify row_number() over (partition by complaint_id order by event_at desc) = 1
)
select c.complaint_id, c.received_at, c.summary, c.category, c.urgency, c.district_code,
       c.community_code, closures.closed_at, closures.closed_level, closures.closed_unit, closures.closed_category
from staging.stg_hotline__complaints as c
left join closures using (complaint_id)
order by c.received_at, c.complaint_id
"""
OUTPUT = "complaint_triage"
HOTSPOTS = "complaint_hotspots"
# Residents per community (the hotspots' exposure) and the firms a summary may name.
RESIDENTS_SQL = """
select community_code, count(*) as residents
from marts.dim_citizen
where community_code is not null
group by community_code
"""
FIRMS_SQL = """
select enterprise_key, enterprise_name, uscc
from marts.dim_enterprise
where enterprise_name is not null
"""


def _query(build_db: Path, sql: str) -> pd.DataFrame:
    import duckdb

    if not Path(build_db).exists():
        raise FileNotFoundError(f"no warehouse at {build_db}: run dbt build first")
    with duckdb.connect(str(build_db), read_only=True) as con:
        return con.execute(sql).df()


def read_residents(build_db: Path) -> pd.Series:
    frame = _query(build_db, RESIDENTS_SQL)
    return frame.set_index("community_code")["residents"]


def read_firms(build_db: Path) -> pd.DataFrame:
    return _query(build_db, FIRMS_SQL)


def read_inputs(build_db: Path) -> pd.DataFrame:
    frame = _query(build_db, INPUT_SQL)
    frame["received_at"] = pd.to_datetime(frame["received_at"])
    frame["closed_at"] = pd.to_datetime(frame["closed_at"])
    return frame


def write_output(run: TriageRun, gold_dir: Path) -> Path:
    """Replace the triage output (one Parquet file: the mart reads the folder)."""
    folder = Path(gold_dir) / OUTPUT
    folder.mkdir(parents=True, exist_ok=True)
    frame = run.frame.copy()
    frame["train_until"] = run.train_until
    frame["triaged_at"] = datetime.now().replace(microsecond=0)
    temporary = folder / ".data.parquet.tmp"
    frame.to_parquet(temporary, index=False)
    target = folder / "data.parquet"
    temporary.replace(target)
    return target


def write_hotspots(frame: pd.DataFrame, gold_dir: Path) -> Path:
    """Replace the weekly hotspot cells (communities and firms) in the lake."""
    folder = Path(gold_dir) / HOTSPOTS
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / ".data.parquet.tmp"
    frame.to_parquet(temporary, index=False)
    target = folder / "data.parquet"
    temporary.replace(target)
    return target


def write_empty(gold_dir: Path) -> Path:
    """An empty triage output with the mart's columns, when there is nothing to learn from
    yet (a new city, a small test city): the mart builds, empty, instead of failing."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    text, number = pa.string(), pa.float64()
    schema = pa.schema(
        [
            ("complaint_id", text), ("received_at", pa.timestamp("us")), ("district_code", text),
            ("predicted_level", text), ("level_confidence", number),
            ("predicted_department", text), ("department_confidence", number),
            ("predicted_category", text), ("category_confidence", number),
            ("inferred_category", text), ("category_source", text),
            ("urgent_probability", number), ("priority_score", number),
            ("operator_category", text), ("operator_urgency", text),
            ("is_out_of_sample", pa.bool_()), ("label_level", text), ("label_department", text),
            ("label_category", text), ("queue_rank", pa.int64()),
            ("enterprise_key", text), ("mentions_manhole", pa.bool_()),
            ("mentions_flooding", pa.bool_()),
            ("train_until", pa.timestamp("us")), ("triaged_at", pa.timestamp("us")),
        ]
    )  # fmt: skip
    cells = pa.schema(
        [
            ("kind", text), ("week", pa.date32()), ("category", text), ("community_code", text),
            ("enterprise_key", text), ("uscc", text), ("complaints", pa.int64()),
            ("expected", number), ("ratio", number), ("p_value", number),
            ("threshold", number), ("is_hotspot", pa.bool_()),
        ]
    )  # fmt: skip
    for name, empty in ((HOTSPOTS, cells), (OUTPUT, schema)):
        folder = Path(gold_dir) / name
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(empty.empty_table(), folder / "data.parquet")
    return Path(gold_dir) / OUTPUT / "data.parquet"


def read_output(gold_dir: Path) -> pd.DataFrame:
    path = Path(gold_dir) / OUTPUT / "data.parquet"
    if not path.exists():
        raise FileNotFoundError(f"no triage output at {path}: run the warehouse DAG first")
    return pd.read_parquet(path)


def read_hotspots(gold_dir: Path) -> pd.DataFrame:
    path = Path(gold_dir) / HOTSPOTS / "data.parquet"
    if not path.exists():
        raise FileNotFoundError(f"no hotspot cells at {path}: run the warehouse DAG first")
    return pd.read_parquet(path)
