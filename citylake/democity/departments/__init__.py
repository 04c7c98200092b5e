"""The city's department sources: records as each department delivers them, with truth.

``DEPARTMENT_SOURCES`` maps each source id (one catalog declaration in
``citylake/sources/<id>.yaml`` each) to a function of the city context returning a
:class:`SourceOutput`:

* ``records``: every delivered record in delivery order, values as the department
  delivers them (str / int / float / bool / None; dates in the department's formats);
* ``deliveries``: the same record objects grouped per delivery, ``(day, records)`` per
  file for file drops (every delivery day present, possibly empty) and one
  ``(None, records)`` for SQL tables and APIs;
* ``truth``: ``truth[i]`` describes ``records[i]``: ``source_id``, ``record_index``,
  ``record_key`` (primary key values joined by ``|``), ``delivered_on``, the true
  ``citizen_id`` / ``enterprise_id`` (generator ids), ``links`` (every entity the
  record names, by role) and ``corruptions`` (field, kind, true and delivered value);
* ``schema_changes``: the day a source renamed / added columns, when it did.

All sources share one city: the geography, population and enterprises in the context
(built on first use when the caller has not), plus the households, marriages and jobs
of :mod:`.world`. Each source draws from its own named random streams, so the sources
can be generated in any order or alone, with the same result. Dirt rates per department
are the table in :mod:`.dirt`.

:func:`truth_tables` flattens outputs into the truth tables described by
``TRUTH_SCHEMAS`` (record entities, corruptions, enterprises, households, schema
changes) for :mod:`citylake.democity.truth`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pyarrow as pa

from citylake.democity.context import CityContext
from citylake.democity.departments import (
    civil_affairs,
    culture_tourism,
    disabled_persons,
    ecology,
    education,
    emergency,
    fire_rescue,
    health,
    housing_construction,
    housing_fund,
    hrss,
    market_supervision,
    medical_insurance,
    natural_resources,
    public_security,
    service_center,
    statistics,
    taxation,
    transport,
    urban_management,
    water_resources,
)
from citylake.democity.departments.builder import SourceOutput
from citylake.democity.departments.dirt import DIRT_RATES, DirtRates
from citylake.democity.departments.world import World, ensure_world

__all__ = [
    "DEPARTMENT_SOURCES",
    "DIRT_RATES",
    "TRUTH_SCHEMAS",
    "DirtRates",
    "SourceOutput",
    "World",
    "ensure_world",
    "generate_all",
    "truth_tables",
]

SourceFn = Callable[[CityContext], SourceOutput]
DEPARTMENT_SOURCES: dict[str, SourceFn] = {
    "ps_household_registration": public_security.household_registration,
    "ca_marriage_registration": civil_affairs.marriage_registration,
    "ca_social_assistance": civil_affairs.social_assistance,
    "hrss_social_insurance": hrss.social_insurance,
    "hrss_employment": hrss.employment,
    "hpf_accounts": housing_fund.accounts,
    "mi_enrolment": medical_insurance.enrolment,
    "health_births": health.births,
    "health_vaccination": health.vaccination,
    "edu_enrolment": education.enrolment,
    "msa_enterprise_registration": market_supervision.enterprise_registration,
    "msa_licences": market_supervision.licences,
    "tax_registration": taxation.registration,
    "tax_monthly_filings": taxation.monthly_filings,
    "nr_property_registration": natural_resources.property_registration,
    "hc_building_permits": housing_construction.building_permits,
    "tr_vehicle_registration": transport.vehicle_registration,
    "tr_taxi_licences": transport.taxi_licences,
    "ct_entertainment_permits": culture_tourism.entertainment_permits,
    "fire_inspections": fire_rescue.inspections,
    "eco_discharge_permits": ecology.discharge_permits,
    "water_abstraction_permits": water_resources.abstraction_permits,
    "um_manhole_covers": urban_management.manhole_covers,
    "um_street_lights": urban_management.street_lights,
    "em_incidents": emergency.incidents,
    "svc_appointments": service_center.appointments,
    "svc_applications": service_center.applications,
    "svc_kiosk_sessions": service_center.kiosk_sessions,
    "stats_enterprise_survey": statistics.enterprise_survey,
    "dpf_disability_cards": disabled_persons.disability_cards,
}


def generate_all(ctx: CityContext, only: list[str] | None = None) -> dict[str, SourceOutput]:
    """Run the department sources (all, or ``only`` those) on one city context."""
    ensure_world(ctx)
    wanted = list(DEPARTMENT_SOURCES) if only is None else only
    return {source_id: DEPARTMENT_SOURCES[source_id](ctx) for source_id in wanted}


_S = pa.string()
_LOCATION = [
    (name, _S)
    for name in (
        "district_code",
        "district",
        "street_code",
        "street",
        "community_code",
        "community",
    )
]
TRUTH_SCHEMAS: dict[str, pa.Schema] = {
    # Every enterprise; the entity the unified enterprise model must rediscover.
    "enterprises": pa.schema(
        [
            ("enterprise_id", _S),
            ("name", _S),
            ("uscc", _S),
            ("legacy_registration_no", _S),
            ("legacy_only", pa.bool_()),
            ("entity_type", _S),
            ("industry_code", _S),
            ("industry", _S),
            ("registered_capital", pa.float64()),
            ("established_on", pa.date32()),
            ("status", _S),
            ("legal_rep_citizen_id", _S),
            *_LOCATION,
            ("address", _S),
            ("phone", _S),
            ("employees", pa.int32()),
        ]
    ),
    # Who lives in which household, as the household register says.
    "households": pa.schema(
        [("household_id", _S), ("citizen_id", _S), ("relation", _S), ("community_code", _S)]
    ),
    # The entities behind every delivered department record (at least one row per record;
    # role null, both ids null for a record naming nobody). primary: the record's subject.
    "record_entities": pa.schema(
        [
            ("source_id", _S),
            ("record_index", pa.int64()),
            ("record_key", _S),
            ("delivered_on", pa.date32()),
            ("role", _S),
            ("citizen_id", _S),
            ("enterprise_id", _S),
            ("primary", pa.bool_()),
        ]
    ),
    # Every corrupted value (field "_delivery" for late and duplicate deliveries).
    "record_corruptions": pa.schema(
        [
            ("source_id", _S),
            ("record_index", pa.int64()),
            ("record_key", _S),
            ("field", _S),
            ("kind", _S),
            ("true_value", _S),
            ("delivered_value", _S),
        ]
    ),
    # change: renamed (old_name -> new_name) | added (new_name); from day on.
    "schema_changes": pa.schema(
        [
            ("source_id", _S),
            ("day", pa.date32()),
            ("change", _S),
            ("old_name", _S),
            ("new_name", _S),
        ]
    ),
}


def truth_tables(
    outputs: Mapping[str, SourceOutput], world: World | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Flatten source outputs (and the world's enterprises / households) into truth tables."""
    entities: list[dict[str, Any]] = []
    corruptions: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for source_id in sorted(outputs):
        out = outputs[source_id]
        for t in out.truth:
            head = {
                "source_id": t["source_id"],
                "record_index": t["record_index"],
                "record_key": t["record_key"],
            }
            links = t["links"] or [{"role": None, "citizen_id": None, "enterprise_id": None}]
            subject = (t["citizen_id"], t["enterprise_id"])
            for link in links:
                entities.append(
                    {
                        **head,
                        "delivered_on": t["delivered_on"],
                        **link,
                        "primary": subject != (None, None)
                        and (link["citizen_id"], link["enterprise_id"]) == subject,
                    }
                )
            corruptions.extend({**head, **c} for c in t["corruptions"])
        for change in out.schema_changes:
            for old, new in change["renamed"].items():
                changes.append(
                    {
                        "source_id": source_id,
                        "day": change["day"],
                        "change": "renamed",
                        "old_name": old,
                        "new_name": new,
                    }
                )
            for new in change["added"]:
                changes.append(
                    {
                        "source_id": source_id,
                        "day": change["day"],
                        "change": "added",
                        "old_name": None,
                        "new_name": new,
                    }
                )
    tables: dict[str, list[dict[str, Any]]] = {
        "record_entities": entities,
        "record_corruptions": corruptions,
        "schema_changes": changes,
    }
    if world is not None:
        tables["enterprises"] = world.enterprises.truth_rows(world.geo)
        tables["households"] = [
            {
                "household_id": h.household_id,
                "citizen_id": c.citizen_id,
                "relation": relation,
                "community_code": h.community.code,
            }
            for h in world.households
            for c, relation in h.members
        ]
    return tables
