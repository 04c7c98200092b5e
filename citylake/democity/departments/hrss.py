"""Human resources & social security: insurance change log and employment registrations.

Both sources follow the same employment events (hires, job endings, unemployment
registrations), built once per city in :func:`employment_events`, so a hire in the
employment CSV is followed by a new insurance registration, a housing fund account and
an employee medical insurance.

``hrss_social_insurance``: PostgreSQL change log of the social insurance system, one
row per registration change, integer sequence as cursor (the stock: each insured
person's current registration).

``hrss_employment``: daily CSV drop of employment registrations; the first file carries
the last half year. From mid-period on the export is upgraded: ``work_unit`` is renamed
``employer_name`` and the employer's credit code is added (the schema change).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from citylake.democity.context import CityContext
from citylake.democity.departments.builder import SchemaChange, SourceBuilder, SourceOutput, poisson
from citylake.democity.departments.world import (
    GENDER_CN,
    GENDER_GB,
    RETIREMENT_AGE,
    World,
    add_years,
    ensure_world,
    office_time,
)
from citylake.democity.enterprises import Enterprise
from citylake.democity.population import Citizen

EXTRAS_KEY = "departments:employment_events"
BACKLOG_DAYS = 180
LEAVE_PER_YEAR = 0.15
FLEXIBLE_SHARE = 0.3  # of people of working age without an employer: insured themselves
POSITIONS = (
    "职员",
    "技术员",
    "销售",
    "操作工",
    "管理人员",
    "会计",
    "司机",
    "服务员",
    "工程师",
    "保洁",
)
EDUCATION = ("初中", "高中", "中专", "大专", "大专", "本科", "本科", "本科", "研究生")
INSURANCE_EMPLOYEE = "养老,医疗,失业,工伤,生育"
INSURANCE_FLEXIBLE = "养老,医疗"
SCHEMA_RENAMED = {"work_unit": "employer_name"}
SCHEMA_ADDED = ("employer_uscc",)


@dataclass(frozen=True)
class EmploymentEvent:
    day: date
    kind: str  # hire | leave | unemployed
    citizen: Citizen
    enterprise: Enterprise | None
    in_period: bool


def employment_events(ctx: CityContext) -> list[EmploymentEvent]:
    """Hires, job endings and unemployment registrations: the last half year and the period."""
    found = ctx.extras.get(EXTRAS_KEY)
    if found is not None:
        return found
    w = ensure_world(ctx)
    rng = ctx.rng("departments:employment_events")
    events: list[EmploymentEvent] = []
    backlog_from = ctx.start - timedelta(days=BACKLOG_DAYS)
    working_age = [c for c in w.population.adults if w.age(c) < RETIREMENT_AGE[c.gender]]
    idle = [c for c in working_age if c.citizen_id not in w.employer]
    for cid in sorted(w.employer):
        since = w.employed_since[cid]
        if since >= backlog_from:
            events.append(
                EmploymentEvent(since, "hire", w.population.by_id[cid], w.employer[cid], False)
            )
    firms = w.enterprises.active_on(backlog_from)
    for c in idle:
        if firms and rng.random() < LEAVE_PER_YEAR * BACKLOG_DAYS / 365:
            left = backlog_from + timedelta(days=rng.randrange(BACKLOG_DAYS))
            events.append(
                EmploymentEvent(left, "leave", c, firms[rng.randrange(len(firms))], False)
            )
            if rng.random() < 0.4:
                registered = min(
                    left + timedelta(days=rng.randint(3, 30)), ctx.start - timedelta(days=1)
                )
                events.append(EmploymentEvent(registered, "unemployed", c, None, False))
    employed = sorted(w.employer)
    hired: set[str] = set()
    gone: set[str] = set()
    for day, cal in zip(w.period, ctx.calendar, strict=True):
        if not cal.working:
            continue
        rate = len(employed) * LEAVE_PER_YEAR / 250
        for _ in range(poisson(rng, rate)):
            cid = employed[rng.randrange(len(employed))]
            if cid in gone or cid in hired:
                continue
            gone.add(cid)
            c = w.population.by_id[cid]
            events.append(EmploymentEvent(day, "leave", c, w.employer[cid], True))
            if rng.random() < 0.3:
                events.append(
                    EmploymentEvent(
                        day + timedelta(days=rng.randint(1, 5)), "unemployed", c, None, True
                    )
                )
        open_firms = w.enterprises.active_on(day)
        for _ in range(poisson(rng, rate)):
            if not idle or not open_firms:
                break
            c = idle[rng.randrange(len(idle))]
            if c.citizen_id in hired:
                continue
            hired.add(c.citizen_id)
            firm = open_firms[rng.randrange(len(open_firms))]
            events.append(EmploymentEvent(day, "hire", c, firm, True))
    events = [e for e in events if e.day < ctx.end]
    events.sort(key=lambda e: (e.day, e.citizen.citizen_id, e.kind))
    ctx.extras[EXTRAS_KEY] = events
    return events


def _insured_numbers(w: World, rng) -> dict[str, str]:  # type: ignore[no-untyped-def]
    ids = [c.citizen_id for c in w.population.citizens]
    numbers = rng.sample(range(10**8, 10**9), len(ids))
    return {cid: f"33{n:09d}" for cid, n in zip(ids, numbers, strict=True)}


def social_insurance(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "hrss_social_insurance")
    w, rng = b.world, b.rng
    numbers = _insured_numbers(w, rng)
    counter = [0]

    def add(c: Citizen, kind: str, day: date, firm: Enterprise | None, event: bool) -> None:
        counter[0] += 1
        d = b.draft(office_time(rng, day), event_day=day if event else None)
        d.subject(citizen=c)
        if firm is not None:
            d.link("employer", enterprise=firm)
        d.set(
            change_no=f"BG{day:%Y%m%d}{counter[0]:06d}",
            change_type=kind,
            change_date=day.isoformat(),
        )
        d.set(insured_no=numbers[c.citizen_id])
        d.rid("resident_id", c.resident_id).name("name", c.name)
        d.set(gender=GENDER_GB[c.gender], birth_date=c.birth_date.isoformat())
        d.uscc("employer_uscc", firm.uscc if firm else None)
        d.set(
            employer_name=firm.name if firm else None,
            insurance_types=INSURANCE_EMPLOYEE if firm else INSURANCE_FLEXIBLE,
            contribution_base=round(rng.uniform(4462, 24930), 0),
        )
        d.phone("phone", c.phone, w.other_phone[c.citizen_id])

    for c in w.population.adults:
        cid = c.citizen_id
        if cid in w.employer:
            add(c, "新参保", w.employed_since[cid], w.employer[cid], False)
        elif w.age(c) >= RETIREMENT_AGE[c.gender]:
            if rng.random() < 0.85:
                add(
                    c,
                    "退休",
                    min(
                        add_years(c.birth_date, RETIREMENT_AGE[c.gender]),
                        ctx.start - timedelta(days=1),
                    ),
                    None,
                    False,
                )
        elif rng.random() < FLEXIBLE_SHARE:
            add(c, "新参保", ctx.start - timedelta(days=rng.randint(30, 2000)), None, False)
    for e in employment_events(ctx):
        if not e.in_period or e.kind == "unemployed":
            continue
        day = e.day + timedelta(days=rng.randint(0, 3))
        if day >= ctx.end:
            continue
        add(e.citizen, "新参保" if e.kind == "hire" else "暂停缴费", day, e.enterprise, True)
    return b.finish()


def employment(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "hrss_employment")
    w, rng = b.world, b.rng
    kinds = {"hire": "就业登记", "leave": "终止就业", "unemployed": "失业登记"}
    for i, e in enumerate(employment_events(ctx), start=1):
        c, firm = e.citizen, e.enterprise
        d = b.draft(office_time(rng, e.day), event_day=e.day if e.in_period else None)
        d.subject(citizen=c)
        if firm is not None:
            d.link("employer", enterprise=firm)
        d.set(record_no=f"JY{e.day:%Y%m%d}{i:05d}", event_type=kinds[e.kind])
        d.date("event_date", e.day, "slash")
        d.rid("resident_id", c.resident_id).name("name", c.name).set(gender=GENDER_CN[c.gender])
        d.phone("phone", c.phone, w.other_phone[c.citizen_id])
        d.set(work_unit=firm.name if firm else None)
        d.set(position=w.trait(c.citizen_id, "position", POSITIONS) if firm else None)
        d.set(education=w.trait(c.citizen_id, "education", EDUCATION))
        d.later["employer_uscc"] = d.dirt.uscc(
            d.corruptions, "employer_uscc", firm.uscc if firm else None
        )
    change = SchemaChange(
        day=ctx.start + timedelta(days=max(1, ctx.days // 2)),
        renamed=SCHEMA_RENAMED,
        added=SCHEMA_ADDED,
    )
    return b.finish(schema_change=change)
