"""Medical insurance: enrolments served by the bureau's paginated JSON API.

Employees are in the employee scheme through their employer; everybody else (children,
retired people without a pension, people without a job) in the urban-rural resident
scheme. The API returns each enrolment in its current state with ``updated_at``: hires
of the period end their resident enrolment and start an employee one; people who lost
their job have the employee enrolment suspended.
"""

from __future__ import annotations

from datetime import date, timedelta

from citylake.democity.context import CityContext
from citylake.democity.departments.builder import SourceBuilder, SourceOutput
from citylake.democity.departments.hrss import employment_events
from citylake.democity.departments.world import at, office_time, random_day
from citylake.democity.population import Citizen

COVERAGE = 0.96
EMPLOYEE = "职工基本医疗保险"
RESIDENT = "城乡居民基本医疗保险"


def enrolment(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "mi_enrolment")
    w, rng = b.world, b.rng
    changes: dict[str, tuple[str, date]] = {}  # citizen -> (hire | leave, day)
    for e in employment_events(ctx):
        if e.in_period and e.kind in ("hire", "leave"):
            changes.setdefault(e.citizen.citizen_id, (e.kind, e.day))
    n = [0]

    def add(c: Citizen, scheme: str, firm, since: date, status: str, written, event_day) -> None:  # type: ignore[no-untyped-def]
        n[0] += 1
        d = b.draft(written, event_day=event_day)
        d.subject(citizen=c)
        if firm is not None:
            d.link("employer", enterprise=firm)
        d.set(enrolment_id=f"YB{c.community.district_code}{n[0]:08d}")
        d.rid("resident_id", c.resident_id).name("name", c.name)
        d.set(gender="男" if c.gender == "M" else "女")
        d.date("birth_date", c.birth_date, "iso")
        d.set(insurance_scheme=scheme)
        d.uscc("employer_uscc", firm.uscc if firm else None)
        d.set(employer_name=firm.name if firm else None)
        d.date("enrolled_on", since, "iso")
        d.set(status=status)
        d.phone("phone", c.phone if w.age(c) >= 16 else None, w.other_phone[c.citizen_id])
        d.set(community=c.community.name)

    for c in w.population.citizens:
        if rng.random() >= COVERAGE:
            continue
        cid = c.citizen_id
        firm = w.employer.get(cid)
        born_days = max(1, (ctx.start - c.birth_date).days)
        since = (
            w.employed_since[cid]
            if firm
            else c.birth_date + timedelta(days=rng.randint(0, min(born_days - 1, 9000)))
        )
        last = at(
            random_day(rng, since, ctx.start - timedelta(days=1)),
            rng.randrange(8 * 3600, 20 * 3600),
        )
        change = changes.get(cid)
        if firm and change and change[0] == "leave":
            add(c, EMPLOYEE, firm, since, "暂停", office_time(rng, change[1]), change[1])
        elif not firm and change and change[0] == "hire":
            add(c, RESIDENT, None, since, "终止", office_time(rng, change[1]), change[1])
            hired = next(
                e.enterprise
                for e in employment_events(ctx)
                if e.in_period and e.citizen.citizen_id == cid and e.kind == "hire"
            )
            add(c, EMPLOYEE, hired, change[1], "参保", office_time(rng, change[1]), change[1])
        else:
            add(c, EMPLOYEE if firm else RESIDENT, firm, since, "参保", last, None)
    return b.finish()
