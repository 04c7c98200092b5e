"""The department sources of the generated city: determinism, identifiers, truth, dirt."""

from __future__ import annotations

import json
import time
import unicodedata
from collections import Counter
from datetime import date

import pyarrow as pa
import pytest

from citylake.catalog import IdentityKind, default_catalog
from citylake.democity.context import CityContext
from citylake.democity.departments import (
    DEPARTMENT_SOURCES,
    DIRT_RATES,
    TRUTH_SCHEMAS,
    SourceOutput,
    World,
    ensure_world,
    generate_all,
    truth_tables,
)
from citylake.democity.departments.dirt import to_traditional
from citylake.democity.departments.world import NEWBORN_PREFIX, OUTSIDER_PREFIX
from citylake.democity.enterprises import (
    LEGACY_ONLY_SHARE,
    USCC_REFORM,
    ensure_enterprises,
    is_valid_legacy_registration,
    legacy_registration_check_digit,
    make_legacy_registration,
)
from citylake.entities.evaluate import NON_CITIZEN_PREFIXES
from citylake.identity import is_valid_resident_id, is_valid_uscc

START, DAYS, SCALE, SEED = date(2026, 9, 14), 14, 0.3, 5
IDENTIFIER_KINDS = {"check_char", "transposed", "fullwidth", "trailing_space", "lowercase_x"}
PERSON_PREFIXES = (OUTSIDER_PREFIX, NEWBORN_PREFIX)


def city(seed: int = SEED, days: int = DAYS, scale: float = SCALE) -> CityContext:
    return CityContext(seed=seed, start=START, days=days, scale=scale)


@pytest.fixture(scope="module")
def ctx() -> CityContext:
    return city()


@pytest.fixture(scope="module")
def outputs(ctx: CityContext) -> dict[str, SourceOutput]:
    return generate_all(ctx)


@pytest.fixture(scope="module")
def world(ctx: CityContext, outputs: dict[str, SourceOutput]) -> World:
    return ensure_world(ctx)


def dump(out: SourceOutput) -> str:
    return json.dumps(
        {"records": out.records, "truth": out.truth, "days": [d for d, _ in out.deliveries]},
        ensure_ascii=False,
        default=str,
        sort_keys=True,
    )


def fields_of(source_id: str, kind: IdentityKind) -> set[str]:
    return {f.name for f in default_catalog()[source_id].fields if f.identity == kind}


def test_same_seed_gives_identical_records(outputs: dict[str, SourceOutput]) -> None:
    again = generate_all(city())
    assert [s for s in outputs if dump(outputs[s]) != dump(again[s])] == []
    other = generate_all(
        city(seed=SEED + 1), only=["ps_household_registration", "svc_applications"]
    )
    assert dump(other["svc_applications"]) != dump(outputs["svc_applications"])


def test_a_source_alone_equals_the_source_among_all(outputs: dict[str, SourceOutput]) -> None:
    for source_id in ("hpf_accounts", "health_births", "tax_monthly_filings", "em_incidents"):
        alone = DEPARTMENT_SOURCES[source_id](city())
        assert dump(alone) == dump(outputs[source_id]), source_id


def test_truth_covers_every_record(outputs: dict[str, SourceOutput], world: World) -> None:
    citizens = world.population.by_id
    firms = world.enterprises.by_id
    for source_id, out in outputs.items():
        source = default_catalog()[source_id]
        assert out.source_id == source_id and out.records, source_id
        assert len(out.truth) == len(out.records)
        assert [r for _, batch in out.deliveries for r in batch] == out.records
        assert all(
            a is b
            for a, b in zip([r for _, b in out.deliveries for r in b], out.records, strict=True)
        )
        for i, (record, t) in enumerate(zip(out.records, out.truth, strict=True)):
            assert t["source_id"] == source_id and t["record_index"] == i
            assert t["record_key"] == "|".join(str(record[k]) for k in source.primary_key)
            assert START <= t["delivered_on"] < date.fromordinal(START.toordinal() + DAYS)
            assert t["citizen_id"] is None or t["citizen_id"] in citizens
            assert t["enterprise_id"] is None or t["enterprise_id"] in firms
            for link in t["links"]:
                # Outsiders and newborns are persons of no household: their own ids.
                person = link["citizen_id"]
                assert person is None or person in citizens or person.startswith(PERSON_PREFIXES)
                assert link["enterprise_id"] is None or link["enterprise_id"] in firms
    tables = truth_tables(outputs, world)
    assert set(tables) == set(TRUTH_SCHEMAS)
    for name, rows in tables.items():  # the rows fit the declared truth schemas
        assert pa.Table.from_pylist(rows, schema=TRUTH_SCHEMAS[name]).num_rows == len(rows)
    covered = {(r["source_id"], r["record_index"]) for r in tables["record_entities"]}
    primaries = Counter(
        (r["source_id"], r["record_index"]) for r in tables["record_entities"] if r["primary"]
    )
    assert max(primaries.values()) == 1
    with_subject = {
        (s, t["record_index"])
        for s, out in outputs.items()
        for t in out.truth
        if t["citizen_id"] or t["enterprise_id"]
    }
    assert set(primaries) == with_subject
    assert covered == {(s, i) for s, out in outputs.items() for i in range(len(out.records))}
    assert len(tables["enterprises"]) == len(world.enterprises.enterprises)
    assert {r["citizen_id"] for r in tables["households"]} == set(citizens)


def test_every_corruption_is_in_the_record(outputs: dict[str, SourceOutput]) -> None:
    kinds: set[str] = set()
    for out in outputs.values():
        for record, t in zip(out.records, out.truth, strict=True):
            last: dict[str, str | None] = {}
            for c in t["corruptions"]:
                kinds.add(c["kind"])
                if c["field"] != "_delivery":
                    # A date's true value is ISO; another format than the house one may be ISO too.
                    assert c["true_value"] != c["delivered_value"] or c["kind"] == "date_format", c
                    last[c["field"]] = c["delivered_value"]
            for name, delivered in last.items():
                value = record[name]
                assert (None if value is None else str(value)) == delivered, (out.source_id, name)
    expected = IDENTIFIER_KINDS | {"missing", "typo", "traditional", "date_format", "other_phone",
                                   "phone_format", "other_address", "duplicate_delivery", "late_arrival"}  # fmt: skip
    assert expected <= kinds


def _check_identifiers(outputs: dict[str, SourceOutput], kind: IdentityKind, valid) -> int:  # type: ignore[no-untyped-def]
    checked = 0
    for source_id, out in outputs.items():
        names = fields_of(source_id, kind)
        for record, t in zip(out.records, out.truth, strict=True):
            damaged = {c["field"]: c for c in t["corruptions"]}
            for name in names & set(record):
                value = record[name]
                if name in damaged:
                    c = damaged[name]
                    assert valid(c["true_value"]), (source_id, c)
                    if c["kind"] == "missing":
                        assert value is None
                    else:
                        assert c["kind"] in IDENTIFIER_KINDS
                        assert not valid(value), (source_id, name, value)
                elif value is not None:
                    assert valid(value), (source_id, name, value)
                    checked += 1
    return checked


def test_resident_ids_valid_unless_corrupted(outputs: dict[str, SourceOutput]) -> None:
    assert _check_identifiers(outputs, IdentityKind.resident_id, is_valid_resident_id) > 1000


def test_credit_codes_valid_unless_corrupted(outputs: dict[str, SourceOutput]) -> None:
    assert _check_identifiers(outputs, IdentityKind.uscc, is_valid_uscc) > 300


def test_legacy_numbers_valid_unless_corrupted(outputs: dict[str, SourceOutput]) -> None:
    assert (
        _check_identifiers(outputs, IdentityKind.legacy_registration, is_valid_legacy_registration)
        > 20
    )


def test_resident_ids_belong_to_the_linked_citizens(
    outputs: dict[str, SourceOutput], world: World
) -> None:
    """An undamaged resident ID in a record is the ID of a citizen the truth links to it
    (or of an outsider: a parent registered elsewhere, who is no citizen of ours)."""
    by_id = world.population.by_id
    city_ids = {c.resident_id for c in world.population.citizens}
    for source_id, out in outputs.items():
        names = fields_of(source_id, IdentityKind.resident_id)
        for record, t in zip(out.records, out.truth, strict=True):
            linked = {
                by_id[x["citizen_id"]].resident_id for x in t["links"] if x["citizen_id"] in by_id
            }
            damaged = {c["field"] for c in t["corruptions"]}
            for name in names & set(record):
                value = record[name]
                if value is not None and name not in damaged and value in city_ids:
                    assert value in linked, (source_id, name, t)


def test_enterprises(ctx: CityContext, world: World) -> None:
    firms = ensure_enterprises(ctx).enterprises
    assert firms is world.enterprises.enterprises and len(firms) == round(300 * SCALE)
    assert all(is_valid_uscc(e.uscc) for e in firms)
    assert len({e.uscc for e in firms}) == len(firms)
    for e in firms:
        assert (e.legacy_registration_no is not None) == (e.established_on < USCC_REFORM)
        assert e.legacy_registration_no is None or is_valid_legacy_registration(
            e.legacy_registration_no
        )
        assert not e.legacy_only or e.legacy_registration_no
        assert e.uscc[2:8] == e.district_code
        assert e.legal_rep.citizen_id in world.population.by_id  # representatives are citizens
        assert world.age(e.legal_rep) >= 25
    share = sum(e.legacy_only for e in firms) / len(firms)
    assert abs(share - LEGACY_ONLY_SHARE) < 0.02


def test_legal_representatives_in_the_register(
    outputs: dict[str, SourceOutput], world: World
) -> None:
    out = outputs["msa_enterprise_registration"]
    assert len(out.records) == len(world.enterprises.enterprises)
    for record, t in zip(out.records, out.truth, strict=True):
        firm = world.enterprises.by_id[t["enterprise_id"]]
        rep = [x["citizen_id"] for x in t["links"] if x["role"] == "legal_rep"]
        assert rep == [firm.legal_rep.citizen_id]
        if not any(c["field"] == "legal_rep_resident_id" for c in t["corruptions"]):
            assert record["legal_rep_resident_id"] == firm.legal_rep.resident_id


def test_legacy_registration_check_digit() -> None:
    number = make_legacy_registration("339902", 12345678)
    assert len(number) == 15 and is_valid_legacy_registration(number)
    assert number[14] == legacy_registration_check_digit(number[:14])
    wrong = number[:14] + str((int(number[14]) + 1) % 10)
    assert not is_valid_legacy_registration(wrong)
    swapped = number[:3] + number[4] + number[3] + number[5:]
    assert swapped == number or not is_valid_legacy_registration(swapped)


def test_legacy_only_firms_lack_credit_codes_in_old_systems(
    outputs: dict[str, SourceOutput], world: World
) -> None:
    for source_id in ("tax_registration", "water_abstraction_permits", "fire_inspections"):
        for record, t in zip(outputs[source_id].records, outputs[source_id].truth, strict=True):
            firm = world.enterprises.by_id[t["enterprise_id"]]
            if firm.legacy_only:
                assert record["uscc"] is None
                damaged = {c["field"] for c in t["corruptions"]}
                if "registration_no" not in damaged:
                    assert record["registration_no"] == firm.legacy_registration_no


def test_schema_change_appears_from_its_day_on(outputs: dict[str, SourceOutput]) -> None:
    out = outputs["hrss_employment"]
    (change,) = out.schema_changes
    assert change["renamed"] == {"work_unit": "employer_name"} and change["added"] == [
        "employer_uscc"
    ]
    assert START < change["day"] < date.fromordinal(START.toordinal() + DAYS)
    before = [r for day, batch in out.deliveries if day < change["day"] for r in batch]
    after = [r for day, batch in out.deliveries if day >= change["day"] for r in batch]
    assert before and after
    assert all(
        "work_unit" in r and "employer_name" not in r and "employer_uscc" not in r for r in before
    )
    assert all(
        "work_unit" not in r and "employer_name" in r and "employer_uscc" in r for r in after
    )
    for _, batch in out.deliveries:  # one header per file
        assert len({tuple(r) for r in batch}) <= 1
    filled = [r for r in after if r["employer_name"]]
    assert filled and any(r["employer_uscc"] for r in filled)


def test_delivery_dirt(outputs: dict[str, SourceOutput]) -> None:
    late = dupes = 0
    for out in outputs.values():
        first_seen: dict[str, int] = {}
        for t in out.truth:
            kinds = {c["kind"]: c for c in t["corruptions"]}
            if "late_arrival" in kinds:
                c = kinds["late_arrival"]
                assert c["delivered_value"] > c["true_value"]
                assert t["delivered_on"].isoformat() >= c["delivered_value"]
                late += 1
            if "duplicate_delivery" in kinds:
                assert t["record_key"] in first_seen  # the original came first
                dupes += 1
            first_seen.setdefault(t["record_key"], t["record_index"])
    assert late > 10 and dupes > 5


def test_name_variants(outputs: dict[str, SourceOutput]) -> None:
    found = set()
    for out in outputs.values():
        for t in out.truth:
            for c in t["corruptions"]:
                if c["kind"] == "traditional":
                    assert to_traditional(c["true_value"]) == c["delivered_value"]
                    found.add("traditional")
                elif c["kind"] == "pinyin":
                    assert c["delivered_value"].isascii()
                    found.add("pinyin")
                elif c["kind"] == "typo":
                    assert len(c["true_value"]) == len(c["delivered_value"])
                    assert c["true_value"][0] == c["delivered_value"][0]  # the surname stays
                    found.add("typo")
                elif c["kind"] == "fullwidth":
                    assert unicodedata.normalize("NFKC", c["delivered_value"]) == c["true_value"]
    assert {"traditional", "typo"} <= found


def test_dirt_table_covers_every_department() -> None:
    departments = {default_catalog()[s].department for s in DEPARTMENT_SOURCES}
    assert departments <= set(DIRT_RATES)
    assert DIRT_RATES["public_security"].id_invalid < DIRT_RATES["culture_tourism"].id_invalid


def test_households_and_marriages_are_consistent(world: World) -> None:
    for cid, partner in world.spouse.items():
        assert world.spouse[partner.citizen_id].citizen_id == cid
        assert world.population.by_id[cid].gender != partner.gender
        assert world.married_on[cid] == world.married_on[partner.citizen_id]
    for child, mother in world.mother.items():
        assert mother.gender == "F" and mother.birth_date < world.population.by_id[child].birth_date
    heads = [h.head for h in world.households]
    assert len({c.citizen_id for c in heads}) == len(heads)


def test_scale_one_generates_quickly() -> None:
    clock = time.perf_counter()
    ctx = CityContext(seed=1, start=START, days=56, scale=1.0)
    outputs = generate_all(ctx)
    seconds = time.perf_counter() - clock
    assert seconds < 30, seconds
    assert sum(len(o.records) for o in outputs.values()) > 20_000
    # Firms founded during the period arrive in the register on their registration day.
    new = [e for e in ensure_world(ctx).enterprises.enterprises if e.established_on >= START]
    assert new
    register = outputs["msa_enterprise_registration"].truth
    arrived = {t["enterprise_id"]: t["delivered_on"] for t in register}
    assert all(arrived[e.enterprise_id] >= e.established_on for e in new)


def test_the_scorer_knows_the_ids_of_people_who_are_no_citizens() -> None:
    """citylake evaluate entities counts outsiders and newborns apart by these prefixes."""
    assert PERSON_PREFIXES == NON_CITIZEN_PREFIXES
