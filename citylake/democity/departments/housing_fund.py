"""Housing provident fund: member accounts (MariaDB, integer sequence as cursor).

Employees of firms that pay into the fund (larger firms nearly always, small ones
rarely) have an account opened some weeks after they were hired; hires of the period
get theirs during the period. The fund's system keys dates as YYYYMMDD.
"""

from __future__ import annotations

from datetime import timedelta

from citylake.democity.context import CityContext
from citylake.democity.departments.builder import SourceBuilder, SourceOutput
from citylake.democity.departments.hrss import employment_events
from citylake.democity.departments.world import office_time
from citylake.democity.enterprises import Enterprise

DEPOSIT_RATE = 0.12  # employee and employer each


def _covered(firm: Enterprise, u: float) -> bool:
    share = 0.95 if firm.employees >= 50 else 0.7 if firm.employees >= 10 else 0.3
    return firm.entity_type != "个体工商户" and u < share


def accounts(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "hpf_accounts")
    w, rng = b.world, b.rng
    seq = [0]

    def add(c, firm, opened, event: bool) -> None:  # type: ignore[no-untyped-def]
        seq[0] += 1
        d = b.draft(office_time(rng, opened), event_day=opened if event else None)
        d.subject(citizen=c).link("employer", enterprise=firm)
        base = round(rng.uniform(2490, 36000), 0)
        months = max(0, (ctx.start - opened).days // 30)
        d.set(account_no=f"{c.community.district_code[2:]}{seq[0]:08d}")
        d.name("name", c.name).rid("id_number", c.resident_id)
        d.uscc("employer_uscc", firm.uscc).set(employer_name=firm.name)
        d.set(
            deposit_base=base,
            monthly_deposit=round(base * DEPOSIT_RATE * 2, 2),
            balance=round(base * DEPOSIT_RATE * 2 * months * rng.uniform(0.3, 1.0), 2),
        )
        d.date("opened_on", opened, "compact")
        d.set(status="正常")
        d.phone("mobile", c.phone, w.other_phone[c.citizen_id])

    for cid in sorted(w.employer):
        firm = w.employer[cid]
        if not _covered(firm, rng.random()):
            continue
        opened = w.employed_since[cid] + timedelta(days=rng.randint(10, 60))
        if opened >= ctx.start:
            continue
        add(w.population.by_id[cid], firm, opened, False)
    for e in employment_events(ctx):
        if (
            e.in_period
            and e.kind == "hire"
            and e.enterprise
            and _covered(e.enterprise, rng.random())
        ):
            opened = e.day + timedelta(days=rng.randint(5, 20))
            if opened < ctx.end:
                add(e.citizen, e.enterprise, opened, True)
    return b.finish()
