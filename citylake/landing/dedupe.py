"""Keys already in bronze: a redelivered stream message regrouped into a new micro-batch.

For cursor and file sources a repeated key is an update (staging keeps the latest
delivery), so only sources landed with ``check_landed_keys`` (the MQTT stream) look here.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from citylake import lake
from citylake.catalog import Source
from citylake.settings import Settings

DUPLICATE_PREFIX = "duplicate delivery"


def _landed_keys(settings: Settings, source: Source, typed: pd.DataFrame) -> pd.DataFrame:
    """Rows of bronze (key columns + _batch_id) with a key in ``typed``, read by a pushed-down filter."""
    keys = list(source.primary_key)
    table = lake.open_table(settings.bronze_path(source.id))
    if table is None or typed.empty:
        return pd.DataFrame(columns=[*keys, "_batch_id"])
    dataset = table.to_pyarrow_dataset()
    condition = None
    for name in keys:
        values = typed[name].dropna()
        if values.empty:
            return pd.DataFrame(columns=[*keys, "_batch_id"])
        field_type = dataset.schema.field(name).type
        array = pa.Array.from_pandas(values).cast(field_type)
        bounds = pc.min_max(array)
        # The range lets Parquet statistics skip files; isin makes the match exact.
        part = (pc.field(name) >= bounds["min"]) & (pc.field(name) <= bounds["max"])
        if not pa.types.is_floating(field_type):
            part = part & pc.field(name).isin(pc.unique(array))
        condition = part if condition is None else condition & part
    found = dataset.to_table(columns=[*keys, "_batch_id"], filter=condition)
    return found.to_pandas()


def mark_landed_duplicates(
    settings: Settings,
    source: Source,
    batch_id: str,
    typed: pa.Table,
    reasons: dict[int, list[str]],
) -> int:
    """Add a duplicate-delivery reason to rows whose key an earlier batch already landed."""
    keys = list(source.primary_key)
    frame = typed.select(["_row_number", *keys]).to_pandas()
    candidates = frame[~frame["_row_number"].isin(reasons.keys())]
    landed = _landed_keys(settings, source, candidates)
    landed = landed[landed["_batch_id"] != batch_id]  # this batch's own partial commit
    if landed.empty:
        return 0
    hits = candidates.merge(landed.drop_duplicates(keys), on=keys, how="inner")
    for row, earlier in zip(hits["_row_number"], hits["_batch_id"], strict=True):
        reasons.setdefault(int(row), []).append(
            f"{DUPLICATE_PREFIX}: key already landed in batch {earlier}"
        )
    return len(hits)
