"""The landing suites' metrics computed on Arrow give GX's own findings: both engines run
on the same typed batches (the test city's deliveries, dirt and all, and hand-made edge
cases) and must agree on every failed row, flagged row, batch failure and count."""

from __future__ import annotations

import random
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from citylake.catalog import FieldType, Source, default_catalog
from citylake.landing.arrow_keys import all_distinct, duplicated_all, duplicated_later
from citylake.settings import Settings


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory):
    from quality.validate import Validator

    root = tmp_path_factory.mktemp("gx-engines")
    return (
        Validator(root / "arrow", data_docs=False, engine="arrow"),
        Validator(root / "gx", data_docs=False, engine="gx"),
    )


def agree(engines, source: Source, table: pa.Table) -> int:
    """Validate ``table`` with both engines; assert they agree; returns the findings."""
    arrow, gx = (e.validate(source, table) for e in engines)
    assert arrow.row_failures == gx.row_failures, source.id
    assert arrow.row_flags == gx.row_flags, source.id
    assert arrow.batch_failures == gx.batch_failures, source.id
    assert (arrow.expectations, arrow.success) == (gx.expectations, gx.success), source.id
    return len(gx.row_failures) + len(gx.row_flags) + len(gx.batch_failures)


def test_both_engines_find_the_same_in_every_source_of_the_test_city(
    landed_city: Settings, engines
) -> None:
    from citylake.connectors import extract
    from citylake.connectors.base import SourceState
    from citylake.democity.api_server import serve
    from citylake.landing.arrow_keys import declared_distinct
    from citylake.landing.steps import prepare_group
    from citylake.landing.validation import BATCH_SEQ

    findings, declared = {}, 0
    with serve(landed_city):
        for source_id, source in default_catalog().items():
            # As landing hands them over: the keys noted distinct where landing found them
            # so (the Arrow engine then trusts it, GX's checks for itself).
            _, table = prepare_group(source, list(extract(source, landed_city, SourceState())))
            declared += declared_distinct(table, [BATCH_SEQ, *source.primary_key])
            findings[source_id] = agree(engines, source, table)
    assert declared >= 20  # most sources' batches have distinct keys
    # The city's dirt reaches the checks: most sources have findings to agree on.
    assert sum(1 for n in findings.values() if n) >= 20, findings


def test_both_engines_agree_on_edge_cases(engines) -> None:
    from citylake.identity import make_resident_id

    catalog = default_catalog()
    marriage = catalog["ca_marriage_registration"]
    good = make_resident_id("110105", date(1970, 3, 20), 21)
    ids = [good, good.replace("1970", "1907"), "１" + good[1:], good[:-1] + "x", " " + good]
    ids += [good[:10] + "1332" + good[14:], None, "110105197002300021", "not an id"]
    n = len(ids)
    fields = {f.name: f for f in marriage.fields}
    columns: dict[str, pa.Array] = {"_row_number": pa.array(range(1, n + 1), pa.int64())}
    rng = random.Random(3)
    for name, field in fields.items():
        if field.type == FieldType.date:
            values = [date(1970, 3, 20) if rng.random() < 0.7 else None for _ in range(n)]
            columns[name] = pa.array(values, pa.date32())
        elif name.endswith("resident_id"):
            columns[name] = pa.array(ids, pa.string())
        elif name.endswith("phone"):
            phones = ["13812345678", "138 1234 5678", "+86 13812345678", "12345", None]
            columns[name] = pa.array([phones[i % 5] for i in range(n)], pa.string())
        else:
            columns[name] = pa.array([f"{name}-{i % 3}" for i in range(n)], pa.string())
    columns["_batch_seq"] = pa.array([0] * n, pa.int64())
    assert agree(engines, marriage, pa.table(columns)) > 0

    # Numbers at and past their bounds, NaN, nulls, a value set, and keys repeated with nulls.
    gauge = catalog["rain_gauge"]
    table = pa.table(
        {
            "_row_number": pa.array(range(1, 9), pa.int64()),
            "station_id": ["RG-001", "RG-001", None, None, "RG-1", "rg-002", "RG-003", "RG-003"],
            "district_code": ["339902"] * 7 + [None],
            "ts": pa.array(
                [pd.Timestamp("2026-09-01 08:00")] * 6 + [None, None], pa.timestamp("us")
            ),
            "rain_mm": pa.array([0.0, 80.0, 80.5, -0.1, float("nan"), None, 3.0, 3.0]),
            "_batch_seq": pa.array([0] * 8, pa.int64()),
        }
    )
    assert agree(engines, gauge, table) > 0


@pytest.mark.parametrize(
    ("rows", "values"),
    # Few distinct values: keys counted in an array; many: hashed again (arrow_keys._dense).
    [(60, 3), (3000, 2000)],
)
def test_row_keys_equal_pandas_duplicated(rows: int, values: int) -> None:
    rng = random.Random(11)
    ints = [*range(1, values), None]
    texts = [*(f"k{i}" for i in range(1, values)), None]
    for _ in range(300 if rows < 100 else 20):
        n = rng.randint(0, rows)
        frame = pd.DataFrame(
            {
                "a": [rng.choice(ints) for _ in range(n)],
                "b": [rng.choice(texts) for _ in range(n)],
                "c": [rng.choice([1.5, None, float("nan")]) for _ in range(n)],
            }
        )
        table = pa.Table.from_pandas(frame, preserve_index=False)
        columns = rng.sample(["a", "b", "c"], rng.randint(1, 3))
        assert (duplicated_all(table, columns) == frame.duplicated(columns, keep=False)).all()
        assert all_distinct(table, columns) == (not frame.duplicated(columns).any())
        later, first = duplicated_later(table, columns)
        assert (later == frame.duplicated(columns, keep="first").to_numpy()).all()
        # The first row of each key: a row and its first have the same key.
        keyed = frame[columns].astype(object).where(frame[columns].notna(), None)
        for row in np.flatnonzero(later):
            assert keyed.iloc[row].tolist() == keyed.iloc[first[row]].tolist()
