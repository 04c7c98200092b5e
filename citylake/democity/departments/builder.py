"""Building one department source: records with their truth, scheduled into deliveries.

A department module creates one :class:`Draft` per record it knows about (its value
set field by field through the source's :class:`~.dirt.Dirtier`, the true citizen /
enterprise behind it attached), then :meth:`SourceBuilder.finish` turns the drafts into
what the department delivers:

1. late arrivals: a record that happened in the period is written 1-7 days later;
2. order: by the moment each record was written into the source system;
3. deliveries: file drops get one delivery per delivery day (stock written before the
   period goes out with the first), SQL tables and APIs one delivery of everything;
4. duplicate deliveries (file drops and APIs only: a database table's key forbids them);
5. the incremental cursor: an integer sequence in write order, or the write time;
6. a schema change from a given day on (a renamed and an added column).

The connector kind, cursor and column order come from the source's catalog
declaration, so generator and catalog cannot drift apart silently: a record whose
columns differ from the declaration fails here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from citylake.catalog import FieldType, RestApiConnector, Source, SqlConnector, default_catalog
from citylake.democity.context import CityContext
from citylake.democity.departments.dirt import DIRT_RATES, Dirtier
from citylake.democity.departments.world import World, ensure_world

Record = dict[str, Any]


@dataclass
class SourceOutput:
    """What one department source delivers in the period, and the truth behind it.

    ``records`` in delivery order; ``deliveries`` the same record objects grouped by
    delivery (``(day, records)`` per file for drops, ``(None, records)`` for a SQL
    table or an API); ``truth[i]`` describes ``records[i]``.
    """

    source_id: str
    records: list[Record]
    truth: list[dict[str, Any]]
    deliveries: list[tuple[date | None, list[Record]]]
    schema_changes: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class SchemaChange:
    """From ``day`` on the department renames columns and adds new ones."""

    day: date
    renamed: dict[str, str]  # old column -> new column
    added: tuple[str, ...]  # new columns, valued from Draft.later


class Draft:
    """One record being built: values (dirt applied), truth, and when it was written."""

    __slots__ = (
        "at",
        "citizen_id",
        "corruptions",
        "dirt",
        "enterprise_id",
        "event_day",
        "later",
        "links",
        "order",
        "record",
    )

    def __init__(self, dirt: Dirtier, at: datetime, event_day: date | None, order: int) -> None:
        self.dirt = dirt
        self.at = at
        self.event_day = event_day
        self.order = order
        self.record: Record = {}
        self.citizen_id: str | None = None
        self.enterprise_id: str | None = None
        self.links: list[dict[str, Any]] = []
        self.corruptions: list[dict[str, Any]] = []
        self.later: Record = {}

    # -- truth
    def subject(
        self, *, citizen: Any = None, enterprise: Any = None, role: str = "subject"
    ) -> Draft:
        """The primary entity behind the record."""
        if citizen is not None:
            self.citizen_id = citizen.citizen_id
        if enterprise is not None:
            self.enterprise_id = enterprise.enterprise_id
        return self.link(role, citizen=citizen, enterprise=enterprise)

    def link(self, role: str, *, citizen: Any = None, enterprise: Any = None) -> Draft:
        """Another entity the record names (a spouse, a mother, an employer)."""
        # An outsider is no citizen of the city but still a person: truth names them too.
        cid = getattr(citizen, "citizen_id", None) or getattr(citizen, "person_id", None)
        eid = getattr(enterprise, "enterprise_id", None)
        if cid or eid:
            self.links.append({"role": role, "citizen_id": cid, "enterprise_id": eid})
        return self

    # -- values
    def set(self, **values: Any) -> Draft:
        self.record.update(values)
        return self

    def rid(self, field: str, value: str | None) -> Draft:
        self.record[field] = self.dirt.resident_id(self.corruptions, field, value)
        return self

    def uscc(self, field: str, value: str | None) -> Draft:
        self.record[field] = self.dirt.uscc(self.corruptions, field, value)
        return self

    def legacy(self, field: str, value: str | None) -> Draft:
        self.record[field] = self.dirt.legacy_registration(self.corruptions, field, value)
        return self

    def name(self, field: str, value: str | None) -> Draft:
        self.record[field] = self.dirt.name(self.corruptions, field, value)
        return self

    def date(self, field: str, value: date | None, house: str) -> Draft:
        self.record[field] = self.dirt.date(self.corruptions, field, value, house)
        return self

    def phone(self, field: str, value: str | None, other: str | None = None) -> Draft:
        self.record[field] = self.dirt.phone(self.corruptions, field, value, other)
        return self

    def address(self, field: str, value: str | None, other: str | None = None) -> Draft:
        self.record[field] = self.dirt.address(self.corruptions, field, value, other)
        return self

    def variant(self, field: str, true: str, delivered: str, kind: str) -> Draft:
        """Set a value the module varied itself, recording the variation when there is one."""
        self.record[field] = delivered
        if delivered != true:
            self.dirt.note(self.corruptions, field, kind, true, delivered)
        return self

    def text(self, field: str, value: str | None, fullwidth: float = 0.0) -> Draft:
        self.record[field] = self.dirt.text(self.corruptions, field, value, fullwidth)
        return self


def _stamp(moment: datetime, api: bool) -> str:
    if api:
        return moment.strftime("%Y-%m-%dT%H:%M:%S+08:00")
    return moment.strftime("%Y-%m-%d %H:%M:%S")


class SourceBuilder:
    """Collects the drafts of one source and schedules them into deliveries."""

    def __init__(self, ctx: CityContext, source_id: str) -> None:
        self.ctx = ctx
        self.world: World = ensure_world(ctx)
        self.source: Source = default_catalog()[source_id]
        self.rng = ctx.rng(f"departments:{source_id}")
        self.dirt = Dirtier(
            ctx.rng(f"departments:{source_id}:dirt"), DIRT_RATES[self.source.department]
        )
        self._schedule_rng = ctx.rng(f"departments:{source_id}:schedule")
        self.drafts: list[Draft] = []

    @property
    def first_day(self) -> date:
        return self.ctx.start

    @property
    def last_day(self) -> date:
        return self.ctx.end - timedelta(days=1)

    @property
    def period(self) -> list[date]:
        return self.world.period

    def draft(self, at: datetime, *, event_day: date | None = None) -> Draft:
        """A new record written into the source system at ``at``.

        ``event_day``: the day it happened when that is inside the period (such a
        record may arrive late); None for the stock the system held before.
        """
        d = Draft(self.dirt, at, event_day, len(self.drafts))
        self.drafts.append(d)
        return d

    # ------------------------------------------------------------------ finishing

    def finish(
        self,
        *,
        delivery_days: list[date] | None = None,
        schema_change: SchemaChange | None = None,
    ) -> SourceOutput:
        source = self.source
        connector = source.connector
        is_sql = isinstance(connector, SqlConnector)
        is_api = isinstance(connector, RestApiConnector)
        is_file = not (is_sql or is_api)
        rng = self._schedule_rng
        rates = self.dirt.rates
        end = self.ctx.end
        columns = [f.name for f in source.fields]
        added = set(schema_change.added) if schema_change else set()
        # The catalog declares a renamed column under its new name (renamed_from: the
        # old one); records are drafted, and delivered before the change, under the old.
        renamed = schema_change.renamed if schema_change else {}
        old_name = {new: old for old, new in renamed.items()}
        base_columns = [old_name.get(c, c) for c in columns if c not in added]
        expected = set(base_columns)
        cursor = source.cursor
        cursor_type = source.field(cursor).type if cursor else None
        stamp_fields = [
            f.name
            for f in source.fields
            if f.name == "updated_at" or (f.name == cursor and cursor_type == FieldType.timestamp)
        ]
        to_fill = set(stamp_fields) | ({cursor} if cursor_type == FieldType.integer else set())

        # 1. late arrivals
        for d in self.drafts:
            if d.event_day is None or not rates.late or rng.random() >= rates.late:
                continue
            room = (end - timedelta(days=1) - d.at.date()).days
            if room < 1:
                continue
            shift = rng.randint(1, min(7, room))
            d.at = d.at + timedelta(days=shift)
            d.corruptions.append(
                {
                    "field": "_delivery",
                    "kind": "late_arrival",
                    "true_value": d.event_day.isoformat(),
                    "delivered_value": d.at.date().isoformat(),
                }
            )
        # 2. write order
        drafts = sorted(self.drafts, key=lambda d: (d.at, d.order))
        for d in drafts:
            missing = expected - to_fill - set(d.record)
            extra = set(d.record) - expected
            if missing or extra:
                raise ValueError(
                    f"{source.id}: record columns differ from the catalog: "
                    f"missing {sorted(missing)}, undeclared {sorted(extra)}"
                )
        # 3. deliveries
        if is_file:
            days = sorted(delivery_days if delivery_days is not None else self.period)
            buckets: dict[date, list[Draft]] = {day: [] for day in days}
            for d in drafts:
                written = max(d.at.date(), self.first_day)
                i = _first_at_or_after(days, written)
                if i is not None:
                    buckets[days[i]].append(d)
            groups: list[tuple[date | None, list[Draft]]] = [(day, buckets[day]) for day in days]
        else:
            groups = [(None, drafts)]
        # 4. duplicate deliveries
        copies: list[tuple[Draft, Draft]] = []  # (copy, original)
        if not is_sql and rates.duplicate:
            for gi, (day, group) in enumerate(groups):
                out: list[Draft] = []
                for d in group:
                    out.append(d)
                    if rng.random() >= rates.duplicate:
                        continue
                    twin = Draft(d.dirt, d.at, d.event_day, d.order)
                    twin.record, twin.later = dict(d.record), dict(d.later)
                    twin.citizen_id, twin.enterprise_id = d.citizen_id, d.enterprise_id
                    twin.links = list(d.links)
                    twin.corruptions = list(d.corruptions)
                    copies.append((twin, d))
                    if is_file and gi + 1 < len(groups) and rng.random() < 0.5:
                        groups[gi + 1][1].insert(0, twin)  # sent again with the next file
                    else:
                        out.append(twin)
                groups[gi] = (day, out)
        # 5. cursor and write stamps (a duplicate carries its original's stamps)
        seq = 0
        twin_of = {id(t): o for t, o in copies}
        for _day, group in groups:
            for d in group:
                if id(d) in twin_of:
                    continue
                if cursor_type == FieldType.integer and cursor:
                    seq += 1
                    d.record[cursor] = seq
                for name in stamp_fields:
                    if name not in d.record or name == cursor:
                        d.record[name] = _stamp(d.at, is_api)
        for twin, original in copies:
            for name in to_fill:
                twin.record[name] = original.record[name]
        # 6. schema change, final column order, truth
        records: list[Record] = []
        truth: list[dict[str, Any]] = []
        deliveries: list[tuple[date | None, list[Record]]] = []
        keys = source.primary_key
        new_order = base_columns
        if schema_change:
            new_order = [schema_change.renamed.get(c, c) for c in base_columns]
            new_order += list(schema_change.added)
        for day, group in groups:
            after = bool(schema_change and day is not None and day >= schema_change.day)
            batch: list[Record] = []
            for d in group:
                if after and schema_change:
                    values = {schema_change.renamed.get(k, k): v for k, v in d.record.items()}
                    values.update({c: d.later.get(c) for c in schema_change.added})
                    record = {c: values[c] for c in new_order}
                else:
                    record = {c: d.record[c] for c in base_columns}
                key = "|".join(str(record[k]) for k in keys)
                corruptions = list(d.corruptions)
                if schema_change and after:
                    corruptions = [
                        {**c, "field": schema_change.renamed.get(c["field"], c["field"])}
                        for c in corruptions
                    ]
                elif schema_change:  # columns added later were not delivered
                    corruptions = [c for c in corruptions if c["field"] not in schema_change.added]
                if id(d) in twin_of:
                    corruptions.append(
                        {
                            "field": "_delivery",
                            "kind": "duplicate_delivery",
                            "true_value": None,
                            "delivered_value": key,
                        }
                    )
                truth.append(
                    {
                        "source_id": source.id,
                        "record_index": len(records),
                        "record_key": key,
                        "delivered_on": day or max(d.at.date(), self.first_day),
                        "citizen_id": d.citizen_id,
                        "enterprise_id": d.enterprise_id,
                        "links": list(d.links),
                        "corruptions": corruptions,
                    }
                )
                records.append(record)
                batch.append(record)
            deliveries.append((day, batch))
        changes = []
        if schema_change:
            changes.append(
                {
                    "day": schema_change.day,
                    "renamed": dict(schema_change.renamed),
                    "added": list(schema_change.added),
                }
            )
        return SourceOutput(source.id, records, truth, deliveries, changes)


def weekly_days(b: SourceBuilder) -> list[date]:
    """Delivery days of a weekly drop: the first day of the period and every Monday after."""
    return [b.first_day] + [d for d in b.period[1:] if d.weekday() == 0]


def monthly_days(b: SourceBuilder, day_of_month: int) -> list[date]:
    """Delivery days of a monthly drop: that day of each month (the last day when none is)."""
    days = [d for d in b.period if d.day == day_of_month]
    return days or [b.last_day]


def _first_at_or_after(days: list[date], day: date) -> int | None:
    import bisect

    i = bisect.bisect_left(days, day)
    return i if i < len(days) else None


def poisson(rng: random.Random, lam: float) -> int:
    """Poisson draw from a ``random.Random`` (normal approximation above 30)."""
    import math

    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
