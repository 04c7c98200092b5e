"""Public security: the household register (户籍), the citizen master.

One row per registered person in the ``household_member`` table, keyed by the
internal person number; ``updated_at`` is the incremental cursor. Before the period the
table holds everyone (last changed at some past moment); during the period a few rows
change: people move out of the city or die, update their phone, move within the city.
The register is the cleanest source of all, but it is not perfect: some phones are
outdated and the odd name was keyed wrongly decades ago.
"""

from __future__ import annotations

from datetime import date, timedelta

from citylake.democity.context import CityContext
from citylake.democity.departments.builder import SourceBuilder, SourceOutput, poisson
from citylake.democity.departments.world import GENDER_CN, add_years, at, office_time, random_day

CITY_DIVISION_PREFIX = "3399"
PHONE_ON_FILE = 0.85  # the rest registered before phones were recorded
DEATHS_PER_YEAR = 0.007
MOVES_OUT_PER_YEAR = 0.01
CHANGES_PER_YEAR = 0.08  # phone / address / other updates
SYSTEM_SINCE = date(2008, 7, 1)  # the national population information system went live


def household_registration(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "ps_household_registration")
    w, rng = b.world, b.rng
    # Who changes during the period, and how.
    n = len(w.population.citizens)
    per_day = n / 365
    events: dict[str, tuple[str, int]] = {}  # citizen_id -> (kind, day index)
    for kind, rate in (
        ("死亡", DEATHS_PER_YEAR),
        ("迁出", MOVES_OUT_PER_YEAR),
        ("变更", CHANGES_PER_YEAR),
    ):
        for di in range(ctx.days):
            for _ in range(poisson(rng, per_day * rate)):
                pool = w.population.citizens
                if kind == "死亡":
                    pool = [c for c in pool if w.age(c) >= 70] or pool
                c = pool[rng.randrange(len(pool))]
                events.setdefault(c.citizen_id, (kind, di))
    for seq, c in enumerate(w.population.citizens, start=1):
        home = w.household_of[c.citizen_id]
        born_here = c.resident_id.startswith(CITY_DIVISION_PREFIX)
        registered = (
            c.birth_date + timedelta(days=rng.randint(3, 40))
            if born_here
            else random_day(rng, add_years(c.birth_date, 16), ctx.start - timedelta(days=60))
        )
        registered = min(registered, ctx.start - timedelta(days=1))
        event = events.get(c.citizen_id)
        status = "正常"
        if event:
            kind, di = event
            day = ctx.start + timedelta(days=di)
            written = office_time(rng, day)
            d = b.draft(written, event_day=day)
            if kind in ("死亡", "迁出"):
                status = kind
        else:
            migrated = max(registered, SYSTEM_SINCE)  # rows were re-stamped when digitized
            last_change = random_day(rng, migrated, ctx.start - timedelta(days=1))
            d = b.draft(at(last_change, rng.randrange(8 * 3600, 18 * 3600)))
        phone = c.phone if rng.random() < PHONE_ON_FILE else None
        d.subject(citizen=c)
        d.set(
            person_no=f"RK{c.community.district_code}{seq:07d}",
            household_id=home.household_id,
            relation_to_head=w.relation[c.citizen_id],
        )
        d.rid("resident_id", c.resident_id).name("name", c.name)
        d.set(
            gender=GENDER_CN[c.gender],
            ethnicity=w.ethnicity[c.citizen_id],
            birth_date=c.birth_date.isoformat(),
            **w.location(home.community),
        )
        d.set(address=c.address)
        d.phone("phone", phone, w.other_phone[c.citizen_id])
        d.set(registered_on=registered.isoformat(), status=status)
    return b.finish()
