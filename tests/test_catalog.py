"""The source catalog: the shipped declarations load, and bad ones fail naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from citylake.catalog import (
    CATALOG_DIR,
    CatalogError,
    SqlConnector,
    default_catalog,
    load_catalog,
    load_source,
)

GOOD = """
id: demo_source
department: civil_affairs
system: Marriage registry
connector: {kind: csv_drop, path: civil/drop, pattern: "*.csv"}
cadence: "@daily"
primary_key: [record_id]
owner: someone@citylake.gov
share: {kind: not_shared}
staging: {group: civil_affairs, table: demo_records}
schema:
  - {name: record_id, type: string, nullable: false}
  - {name: resident_id, type: string, pii: direct_identifier, identity: resident_id}
"""


def write(tmp_path: Path, text: str, name: str = "demo_source.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_catalog_loads() -> None:
    catalog = load_catalog(CATALOG_DIR)
    assert {"svc_queue_tickets", "hotline_complaints", "rain_gauge"} <= set(catalog)
    tickets = catalog["svc_queue_tickets"]
    assert isinstance(tickets.connector, SqlConnector)
    assert tickets.cursor == "ticket_seq"
    assert [f.name for f in tickets.identity_fields] == ["resident_id"]
    assert catalog["hotline_complaints"].share.departments


def test_good_declaration(tmp_path: Path) -> None:
    source = load_source(write(tmp_path, GOOD))
    assert source.share.kind == "not_shared"
    assert source.field("resident_id").pii == "direct_identifier"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            ("type: string, nullable: false}", "type: text, nullable: false}"),
            "schema.0.type",
            "Input should be",
        ),
        (
            ("primary_key: [record_id]", "primary_key: [nope]"),
            "<root>",
            "'nope' is not in the schema",
        ),
        (
            ("share: {kind: not_shared}", "share: {kind: conditional}"),
            "share",
            "departments allowed",
        ),
        (('cadence: "@daily"\n', ""), "cadence", "Field required"),
        (
            ("connector: {kind: csv_drop", "connector: {kind: ftp"),
            "connector",
            "does not match any",
        ),
    ],
)
def test_bad_declaration_names_file_and_field(
    tmp_path: Path, change: tuple[str, str], field: str, message: str
) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    path = write(tmp_path, text)
    with pytest.raises(CatalogError) as err:
        load_source(path)
    assert str(path) in str(err.value)
    assert f"field {field}" in str(err.value)
    assert message in str(err.value)


def test_id_must_match_file_name(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="must match the file name"):
        load_source(write(tmp_path, GOOD, name="other.yaml"))


def test_not_yaml(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="not valid YAML"):
        load_source(write(tmp_path, "id: [unclosed"))


def test_committed_dbt_sources_match_the_catalog() -> None:
    """The dbt project's bronze sources are generated (`citylake catalog dbt-sources`)."""
    from citylake.catalog.dbt_sources import stale_files
    from citylake.settings import load_settings

    models = load_settings().dbt_project_dir / "models"
    assert stale_files(default_catalog(), models) == []


def test_dbt_sources_drift_is_caught(tmp_path) -> None:
    from citylake.catalog.dbt_sources import MACRO_PATH, render, stale_files, write_sources

    models = tmp_path / "models"
    catalog = dict(default_catalog())
    assert write_sources(catalog, models)  # a fresh project gets every file
    assert stale_files(catalog, models) == []
    gauge = catalog["rain_gauge"]
    catalog["rain_gauge"] = gauge.model_copy(update={"cursor": "ts", "cadence": "@daily"})
    stale = stale_files(catalog, models)
    assert stale == [models / "staging/sensors/_sensors__sources.yml", tmp_path / MACRO_PATH]
    text = render(catalog)["staging/sensors/_sensors__sources.yml"]
    assert "cursor: ts" in text and "count: 36" in text  # daily freshness now
    (models / "staging/old_group").mkdir()
    (models / "staging/old_group/_old_group__sources.yml").write_text("version: 2\n")
    assert models / "staging/old_group/_old_group__sources.yml" in stale_files(catalog, models)
