"""Civil affairs: the marriage registry and the social assistance roster.

``ca_marriage_registration`` is a MariaDB table of the marriage registration offices
(one row per certificate, an integer sequence as cursor): every married couple of the
city since the registry went digital, reissued certificates (the same couple twice),
and the weddings of the period. Dates are free text, in whatever format the office used.

``ca_social_assistance`` is the monthly Excel roster of households receiving minimum
living allowance (低保), support for the extremely poor (特困) or temporary assistance:
a full roster on the first day of the period and on the 5th of every month after.
"""

from __future__ import annotations

from datetime import date, timedelta

from citylake.democity.context import CityContext
from citylake.democity.departments.builder import SourceBuilder, SourceOutput, poisson
from citylake.democity.departments.world import at, office_time

DIGITAL_SINCE = date(1995, 1, 1)
REISSUE_SHARE = 0.03
MARRIAGES_PER_YEAR = 0.0073  # per resident
ASSISTANCE_SHARE = 0.03  # of households
MINIMUM_ALLOWANCE = 1070.0  # yuan per person and month


def _office(w, district_code: str) -> str:  # type: ignore[no-untyped-def]
    return f"{w.geo.district(district_code).name}民政局婚姻登记处"


def marriage_registration(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "ca_marriage_registration")
    w, rng = b.world, b.rng
    numbers: dict[tuple[str, int], int] = {}

    def add(man, woman, day: date, kind: str, event: bool) -> None:  # type: ignore[no-untyped-def]
        district = (
            man.community.district_code if rng.random() < 0.6 else woman.community.district_code
        )
        numbers[district, day.year] = numbers.get((district, day.year), 0) + 1
        prefix = "J" if kind != "补领" else "BJ"
        d = b.draft(office_time(rng, day), event_day=day if event else None)
        d.subject(citizen=man, role="husband").link("wife", citizen=woman)
        d.set(
            certificate_no=f"{prefix}{district}-{day.year}-{numbers[district, day.year]:06d}",
            registration_type=kind,
        )
        d.date("registered_on", day, "iso")
        d.set(registry_office=_office(w, district))
        d.name("male_name", man.name).rid("male_resident_id", man.resident_id)
        d.date("male_birth_date", man.birth_date, "iso")
        d.phone("male_phone", man.phone, w.other_phone.get(man.citizen_id))
        d.name("female_name", woman.name).rid("female_resident_id", woman.resident_id)
        d.date("female_birth_date", woman.birth_date, "iso")
        d.phone("female_phone", woman.phone, w.other_phone.get(woman.citizen_id))

    couples = [
        (w.population.by_id[cid], s)
        for cid, s in sorted(w.spouse.items())
        if w.population.by_id[cid].gender == "M"
    ]
    for man, woman in couples:
        wed = w.married_on[man.citizen_id]
        if wed < DIGITAL_SINCE:
            continue
        add(man, woman, wed, "结婚", False)
        if rng.random() < REISSUE_SHARE:
            later = wed + timedelta(days=rng.randint(200, max(201, (ctx.start - wed).days - 1)))
            if later < ctx.start:
                add(man, woman, later, "补领", False)
    # Weddings of the period, between singles of the city.
    singles_m = [
        c
        for c in w.population.adults
        if c.gender == "M" and c.citizen_id not in w.spouse and 24 <= w.age(c) <= 45
    ]
    singles_f = [
        c
        for c in w.population.adults
        if c.gender == "F" and c.citizen_id not in w.spouse and 22 <= w.age(c) <= 42
    ]
    n = len(w.population.citizens)
    taken: set[str] = set()
    for day, cal in zip(b.period, ctx.calendar, strict=True):
        if not cal.working or not singles_m or not singles_f:
            continue
        for _ in range(poisson(rng, n * MARRIAGES_PER_YEAR / 250)):
            man = singles_m[rng.randrange(len(singles_m))]
            woman = min(singles_f, key=lambda f: abs((f.birth_date - man.birth_date).days))
            if man.citizen_id in taken or woman.citizen_id in taken:
                continue
            taken.update((man.citizen_id, woman.citizen_id))
            singles_f.remove(woman)
            add(man, woman, day, "结婚", True)
    return b.finish()


def social_assistance(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "ca_social_assistance")
    w, rng = b.world, b.rng
    rosters = [b.first_day] + [d for d in b.period[1:] if d.day == 5]
    # Cases: poorer households (elderly heads, singles, large families) more often.
    cases = []
    for home in w.households:
        head = home.head
        weight = 1.0 + (w.age(head) >= 65) * 1.5 + (len(home.members) >= 4) * 1.0
        if rng.random() < ASSISTANCE_SHARE * weight / 1.6:
            kind = (
                "特困人员供养"
                if len(home.members) == 1 and w.age(head) >= 65 and rng.random() < 0.4
                else "最低生活保障"
            )
            approved = b.first_day - timedelta(days=rng.randint(30, 3000))
            cases.append([home, kind, approved, None])  # stopped day
    for day in b.period:  # new approvals and temporary assistance during the period
        if rng.random() < len(w.households) * ASSISTANCE_SHARE / 365 * 2:
            home = w.households[rng.randrange(len(w.households))]
            kind = "临时救助" if rng.random() < 0.5 else "最低生活保障"
            cases.append([home, kind, day, None])
    for case in cases:
        if case[1] != "临时救助" and rng.random() < 0.04:
            case[3] = b.first_day + timedelta(days=rng.randrange(max(1, ctx.days)))
    for ri, roster in enumerate(rosters):
        previous = rosters[ri - 1] if ri else None
        for ci, (home, kind, approved, stopped) in enumerate(cases):
            if approved > roster:
                continue
            if kind == "临时救助" and previous is not None and approved <= previous:
                continue  # a one-off payment appears on one roster only
            if stopped is not None and previous is not None and stopped <= previous:
                continue  # stopped cases are listed once as stopped, then dropped
            head = home.head
            size = len(home.members)
            amount = MINIMUM_ALLOWANCE * size * rng.uniform(0.45, 1.0)
            if kind == "临时救助":
                amount = rng.choice((500.0, 800.0, 1000.0, 2000.0, 3000.0))
            d = b.draft(at(roster, 9 * 3600 + ci))
            d.subject(citizen=head, role="applicant")
            loc = w.location(home.community)
            d.set(case_no=f"SA{home.community.district_code}{ci + 1:05d}", assistance_type=kind)
            d.name("applicant_name", head.name).rid("resident_id", head.resident_id)
            d.set(
                household_size=size,
                monthly_amount=round(amount, 2),
                district=loc["district"],
                street=loc["street"],
                community=loc["community"],
            )
            prev = w.previous_address.get(head.citizen_id)
            d.address("address", head.address, prev[1] if prev else None)
            d.phone("phone", head.phone, w.other_phone[head.citizen_id])
            d.date("approved_on", approved, "cn")
            d.set(status="停保" if stopped is not None and stopped <= roster else "在保")
    return b.finish(delivery_days=rosters)
