"""Schema drift at landing, through real Great Expectations and real Delta tables.

hrss_employment's export is upgraded mid-period (work_unit renamed employer_name,
employer_uscc added), declared in the catalog with ``renamed_from``. An undeclared
rename is reported as such, a new column evolves bronze's schema, a value of the wrong
type quarantines its row (not the table), and the ledger keeps a schema version per batch.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import pytest

from citylake import lake
from citylake.catalog import CatalogError, load_source
from citylake.identity import make_resident_id, make_uscc
from citylake.landing import ingest_source, ledger
from citylake.settings import Settings, load_settings

SOURCE = "hrss_employment"
OLD = "record_no,event_type,event_date,resident_id,name,gender,phone,work_unit,position,education"
NEW = (
    "record_no,event_type,event_date,resident_id,name,gender,phone,employer_name,position,"
    "education,employer_uscc"
)
EMPLOYER_USCC = make_uscc("91330100MA2B3C4D5")


@pytest.fixture()
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CITYLAKE_HOME", str(tmp_path / "home"))
    return load_settings()


@pytest.fixture(scope="module")
def validator(tmp_path_factory: pytest.TempPathFactory):
    from quality.validate import Validator

    return Validator(tmp_path_factory.mktemp("gx"), data_docs=False)


def employment(n: int, *, employer: str = "东湖机械有限公司", new: bool = False) -> str:
    rid = make_resident_id("330102", date(1985, 1, 1 + n % 28), n)
    row = f"JY2026090{n % 9 + 1}{n:05d},就业登记,2026/09/01,{rid},张{n},男,13812345678,{employer},职员,本科"
    return row + (f",{EMPLOYER_USCC}" if new else "")


def drop(settings: Settings, name: str, lines: list[str]) -> None:
    folder = settings.sources_root / "hrss" / "employment"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def ledger_by_file(settings: Settings) -> dict[str, dict]:
    return {e["file_name"]: e for e in ledger.read(settings).to_pylist()}


def test_declared_rename_lands_under_the_new_name_with_a_schema_version(
    settings: Settings, validator
) -> None:
    drop(settings, "employment_2026-09-01.csv", [OLD, *(employment(n) for n in range(1, 6))])
    drop(
        settings,
        "employment_2026-09-15.csv",
        [NEW, *(employment(n, employer="西湖科技有限公司", new=True) for n in range(6, 11))],
    )
    report = ingest_source(SOURCE, settings, validator=validator)
    assert (report.received, report.landed, report.quarantined) == (10, 10, 0)

    bronze = lake.read_table(settings.bronze_path(SOURCE))
    assert "work_unit" not in bronze.column_names  # one column, under the declared name
    by_record = {r["record_no"]: r for r in bronze.to_pylist()}
    employers = sorted({r["employer_name"] for r in by_record.values()})
    assert employers == ["东湖机械有限公司", "西湖科技有限公司"]
    assert [r["employer_uscc"] for r in by_record.values()].count(EMPLOYER_USCC) == 5

    entries = ledger_by_file(settings)
    old, new = entries["employment_2026-09-01.csv"], entries["employment_2026-09-15.csv"]
    assert "renamed (declared): work_unit -> employer_name" in old["schema_note"]
    assert "declared columns missing: ['employer_uscc']" in old["schema_note"]
    assert (old["schema_version"], new["schema_version"]) == (1, 2)
    assert "work_unit" in old["schema_columns"] and "employer_name" in new["schema_columns"]

    # A later run keeps the numbering: the upgraded export is still version 2.
    drop(settings, "employment_2026-09-16.csv", [NEW, employment(11, new=True)])
    ingest_source(SOURCE, settings, validator=validator)
    assert ledger_by_file(settings)["employment_2026-09-16.csv"]["schema_version"] == 2


def test_undeclared_rename_is_reported_and_a_new_column_evolves_bronze(
    settings: Settings, validator, caplog: pytest.LogCaptureFixture
) -> None:
    drop(settings, "employment_2026-09-20.csv", [NEW, *(employment(n, new=True) for n in (1, 2))])
    ingest_source(SOURCE, settings, validator=validator)
    before = lake.read_table(settings.bronze_path(SOURCE)).schema

    # The department renames `position` to `job_title` without telling anyone.
    header = NEW.replace(",position,", ",job_title,")
    drop(
        settings, "employment_2026-09-21.csv", [header, *(employment(n, new=True) for n in (3, 4))]
    )
    with caplog.at_level(logging.WARNING, logger="citylake.landing.schema_drift"):
        report = ingest_source(SOURCE, settings, validator=validator)
    assert (report.landed, report.quarantined, report.held) == (2, 0, 0)  # the table goes on

    entry = ledger_by_file(settings)["employment_2026-09-21.csv"]
    message = "column position missing, unknown column job_title present"
    assert message in entry["schema_note"]
    assert entry["schema_version"] == 2
    warned = [r.getMessage() for r in caplog.records if message in r.getMessage()]
    assert warned and SOURCE in warned[0] and entry["batch_id"] in warned[0]

    # Delta schema evolution: the unknown column is a new (text) bronze column; the rows
    # landed before it have it empty, the new rows keep its values.
    bronze = lake.read_table(settings.bronze_path(SOURCE))
    assert "job_title" not in before.names and "job_title" in bronze.column_names
    titles = {r["record_no"]: (r["job_title"], r["position"]) for r in bronze.to_pylist()}
    assert sorted(titles.values(), key=str) == sorted(
        [(None, "职员"), (None, "职员"), ("职员", None), ("职员", None)], key=str
    )


def test_a_value_of_the_wrong_type_quarantines_its_row_not_the_table(
    settings: Settings, validator
) -> None:
    folder = settings.sources_root / "sensors" / "rain_gauge"
    folder.mkdir(parents=True)
    readings = [
        {
            "station_id": "RG-001",
            "district_code": "D01",
            "ts": f"2026-09-01T08:{m:02d}:00+08:00",
            "rain_mm": 0.2,
        }
        for m in range(0, 60, 5)
    ]
    readings[3]["rain_mm"] = "n/a"  # text where a number belongs
    readings[7]["rain_mm"] = {"value": 1.5, "unit": "mm"}  # an object where a number belongs
    readings[9]["rain_mm"] = "0.4"  # a number sent as text is still a number
    (folder / "rain_2026-09-01.ndjson").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in readings) + "\n", encoding="utf-8"
    )
    report = ingest_source("rain_gauge", settings, validator=validator)
    assert (report.received, report.landed, report.quarantined, report.held) == (12, 10, 2, 0)
    quarantine = {
        r["_row_number"]: r
        for r in lake.read_table(settings.quarantine_path("rain_gauge")).to_pylist()
    }
    assert "type: rain_mm='n/a' is not a double" in quarantine[4]["reasons"]
    assert "is not a double" in quarantine[8]["reasons"]
    assert json.loads(quarantine[8]["raw_record"])["rain_mm"] == '{"value": 1.5, "unit": "mm"}'
    bronze = lake.read_table(settings.bronze_path("rain_gauge"))
    assert str(bronze.schema.field("rain_mm").type) == "double"
    assert 0.4 in bronze.column("rain_mm").to_pylist()


def test_a_catalog_type_change_keeps_bronze_typed_and_quarantines_misfits(
    settings: Settings, validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rain_mm landed as double; then its declaration changes to string. Writing text into
    the double column would fail the Delta commit (and the table with it): bronze keeps
    double, values that are no number are quarantined as a type conflict."""
    from citylake.catalog import FieldType, default_catalog
    from citylake.landing import run as landing_run

    folder = settings.sources_root / "sensors" / "rain_gauge"
    folder.mkdir(parents=True)

    def readings(day: int, values: list[object]) -> None:
        rows = [
            {
                "station_id": "RG-002",
                "district_code": "D02",
                "ts": f"2026-09-0{day}T09:{5 * i:02d}:00+08:00",
                "rain_mm": v,
            }
            for i, v in enumerate(values)
        ]
        path = folder / f"rain_2026-09-0{day}.ndjson"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))

    readings(1, [0.0, 0.2, 1.4])
    assert ingest_source("rain_gauge", settings, validator=validator).landed == 3

    catalog = dict(default_catalog())
    rain = catalog["rain_gauge"]
    fields = [
        f.model_copy(update={"type": FieldType.string, "min": None, "max": None})
        if f.name == "rain_mm"
        else f
        for f in rain.fields
    ]
    catalog["rain_gauge"] = rain.model_copy(update={"schema_": fields})
    monkeypatch.setattr(landing_run, "default_catalog", lambda: catalog)
    readings(2, ["0.3", "trace", 2.5, "n/a"])
    report = ingest_source("rain_gauge", settings, validator=validator)
    assert (report.received, report.landed, report.quarantined, report.held) == (4, 2, 2, 0)

    bronze = lake.read_table(settings.bronze_path("rain_gauge"))
    assert str(bronze.schema.field("rain_mm").type) == "double"
    assert sorted(bronze.column("rain_mm").to_pylist()) == [0.0, 0.2, 0.3, 1.4, 2.5]
    reasons = [
        r["reasons"] for r in lake.read_table(settings.quarantine_path("rain_gauge")).to_pylist()
    ]
    assert any(
        "type conflict: rain_mm='trace' is not a double, the type bronze holds rain_mm as "
        "(this batch would write string)" in r
        for r in reasons
    )


def test_catalog_rejects_inconsistent_drift_and_pair_declarations(tmp_path: Path) -> None:
    base = Path(__file__).resolve().parents[1] / "citylake" / "sources" / f"{SOURCE}.yaml"
    text = base.read_text(encoding="utf-8")
    clash = tmp_path / f"{SOURCE}.yaml"
    clash.write_text(text.replace("renamed_from: [work_unit]", "renamed_from: [position]"))
    with pytest.raises(CatalogError, match=r"renamed_from \['position'\]"):
        load_source(clash)
    clash.write_text(
        text.replace(
            "{name: education, type: string, nullable: true}",
            "{name: education, type: string, nullable: true, birth_date_of: phone}",
        )
    )
    with pytest.raises(CatalogError, match=r"education.birth_date_of: 'phone' is not a column"):
        load_source(clash)
    clash.write_text(text.replace("pattern: employment_*.csv", "pattern: ../secrets/*.csv"))
    with pytest.raises(CatalogError, match=r"connector.csv_drop.pattern"):
        load_source(clash)
