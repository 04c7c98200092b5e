"""The department source catalog: breadth, connectors, and agreement with the generator."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import pytest

from citylake.catalog import (
    FieldType,
    FileDropConnector,
    IdentityKind,
    PiiTag,
    RestApiConnector,
    Source,
    SqlConnector,
    default_catalog,
)
from citylake.democity import SOURCE_MODULES
from citylake.democity.context import CityContext
from citylake.democity.departments import DEPARTMENT_SOURCES, SourceOutput, generate_all
from citylake.identity import is_valid_resident_id, is_valid_uscc, normalize_phone

START = date(2026, 9, 14)
DEPARTMENT_SOURCE_IDS = sorted(s.id for s in default_catalog().values() if s.kind == "department")


@pytest.fixture(scope="module")
def outputs() -> dict[str, SourceOutput]:
    return generate_all(CityContext(seed=3, start=START, days=28, scale=0.5))


def connector_kind(source: Source) -> str:
    c = source.connector
    return f"sql/{c.system}" if isinstance(c, SqlConnector) else c.kind


def test_breadth() -> None:
    departments = {default_catalog()[s].department for s in DEPARTMENT_SOURCE_IDS}
    assert len(DEPARTMENT_SOURCE_IDS) >= 30
    assert len(departments) >= 20


def test_connector_kinds_each_used_by_several_sources() -> None:
    kinds = Counter(connector_kind(default_catalog()[s]) for s in DEPARTMENT_SOURCE_IDS)
    for kind in ("sql/postgresql", "sql/mariadb", "csv_drop", "excel_drop", "rest_api"):
        assert kinds[kind] >= 3, kinds
    drops = [default_catalog()[s].connector for s in DEPARTMENT_SOURCE_IDS]
    encodings = {
        c.encoding for c in drops if isinstance(c, FileDropConnector) and c.kind == "csv_drop"
    }
    assert {"utf-8", "gb18030"} <= encodings
    for c in drops:
        if isinstance(c, FileDropConnector) and c.kind == "excel_drop":
            assert c.sheet and c.pattern.endswith(".xlsx")
        if isinstance(c, RestApiConnector):
            assert c.page_size > 0


def test_every_department_source_has_a_generator() -> None:
    existing = {source_id for source_id, _ in SOURCE_MODULES}
    assert set(DEPARTMENT_SOURCE_IDS) <= set(DEPARTMENT_SOURCES) | existing
    for source_id in DEPARTMENT_SOURCES:
        assert default_catalog()[source_id].kind == "department"


def test_sensitive_sources_are_not_shared_freely() -> None:
    for source_id in (
        "health_births",
        "health_vaccination",
        "ca_social_assistance",
        "dpf_disability_cards",
    ):
        assert default_catalog()[source_id].share.kind in ("conditional", "not_shared")


@pytest.mark.parametrize("source_id", sorted(DEPARTMENT_SOURCES))
def test_schema_matches_the_records(source_id: str, outputs: dict[str, SourceOutput]) -> None:
    source = default_catalog()[source_id]
    out = outputs[source_id]
    declared = [f.name for f in source.fields]
    # A column delivered under an earlier name counts as the column that renamed it.
    current = {old: f.name for f in source.fields for old in f.renamed_from}
    delivered: set[str] = set()
    for record in out.records:
        delivered.update(current.get(name, name) for name in record)
    assert delivered == set(declared)
    if not out.schema_changes:  # columns come in the declared order
        assert all(list(r) == declared for r in out.records)
    assert source.identity_fields, "a department source names its identity fields"
    fields = {f.name: f for f in source.fields}
    fields.update({old: f for f in source.fields for old in f.renamed_from})
    for record in out.records:
        for name, value in record.items():
            f = fields[name]
            if value is None:
                assert f.nullable or name in _changed(out), (name, record)
                continue
            if f.type == FieldType.integer:
                assert isinstance(value, int) and not isinstance(value, bool), (name, value)
            elif f.type == FieldType.double:
                assert isinstance(value, (int, float)) and not isinstance(value, bool), (
                    name,
                    value,
                )
            elif f.type == FieldType.boolean:
                assert isinstance(value, bool), (name, value)
            else:
                assert isinstance(value, str), (name, value)
            if f.type == FieldType.date:
                date.fromisoformat(value)
    for f in source.fields:  # identity columns are PII-tagged where they identify people
        if f.identity in (IdentityKind.resident_id, IdentityKind.phone):
            assert f.pii == PiiTag.direct


def _changed(out: SourceOutput) -> set[str]:
    return {
        c for change in out.schema_changes for c in [*change["renamed"].values(), *change["added"]]
    }


@pytest.mark.parametrize("source_id", sorted(DEPARTMENT_SOURCES))
def test_mixed_format_dates_are_declared_strings(
    source_id: str, outputs: dict[str, SourceOutput]
) -> None:
    source = default_catalog()[source_id]
    varied = {
        c["field"]
        for t in outputs[source_id].truth
        for c in t["corruptions"]
        if c["kind"] == "date_format"
    }
    for name in varied:
        assert source.field(name).type == FieldType.string, name


def _row_fails(fields: dict, record: dict) -> bool:  # type: ignore[type-arg]
    """The row-level landing checks (quality/validate.py) that dirt can trip."""
    for name, value in record.items():
        f = fields[name]
        if value is None:
            if not f.nullable:
                return True
            continue
        text = str(value)
        if f.identity == IdentityKind.resident_id and not is_valid_resident_id(text):
            return True
        if f.identity == IdentityKind.uscc and not is_valid_uscc(text):
            return True
        if f.identity == IdentityKind.phone and normalize_phone(text) is None:
            return True
        if f.allowed_values is not None and text not in f.allowed_values:
            return True
        if f.regex is not None and not re.search(f.regex, text):
            return True
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if number and (
            (f.min is not None and value < f.min) or (f.max is not None and value > f.max)
        ):
            return True
    return False


@pytest.mark.parametrize("source_id", sorted(DEPARTMENT_SOURCES))
def test_dirt_stays_under_the_landing_threshold(
    source_id: str, outputs: dict[str, SourceOutput]
) -> None:
    """Known dirt must not hold whole batches: failing rows stay well under max_failure_rate."""
    source = default_catalog()[source_id]
    fields = {f.name: f for f in source.fields}
    fields.update({old: f for f in source.fields for old in f.renamed_from})
    limit = source.landing.max_failure_rate
    out = outputs[source_id]
    failing = [_row_fails(fields, r) for r in out.records]
    assert sum(failing) / len(failing) <= 0.75 * limit, (sum(failing), len(failing))
    for _, batch in out.deliveries:
        if len(batch) >= 50:
            assert sum(_row_fails(fields, r) for r in batch) / len(batch) <= limit
