"""Health: birth medical certificates and vaccinations.

``health_births`` (PostgreSQL, integer sequence): every birth in the city's hospitals
since the certificate system went digital, with the mother and father. Children born in
the period have no name yet more often than not, and no resident ID (that comes with
the household registration); parents registered elsewhere are no citizens of ours.

``health_vaccination``: the immunisation system's weekly CSV export (Mondays, GBK),
one row per dose given: children under seven on their schedule, influenza shots in
autumn (a quarter of the elderly, a few percent of younger people). Children are identified by name, birth date and the guardian's
phone more than by their resident ID.
"""

from __future__ import annotations

from datetime import date, timedelta

from citylake.democity.context import CityContext
from citylake.democity.departments.builder import SourceBuilder, SourceOutput, poisson, weekly_days
from citylake.democity.departments.world import (
    GENDER_GB,
    NEWBORN_PREFIX,
    Newborn,
    at,
    office_time,
)

DIGITAL_SINCE = date(2010, 1, 1)
BIRTHS_PER_YEAR = 0.0068  # per resident
CITY_PREFIX = "3399"
HOSPITALS = (
    "云港市妇幼保健院",
    "云港市第一人民医院",
    "云港市中医院",
    "江滨区人民医院",
    "青山区人民医院",
    "新港区妇幼保健院",
)
CHILD_VACCINES = (
    "乙肝疫苗",
    "卡介苗",
    "脊灰疫苗",
    "百白破疫苗",
    "麻腮风疫苗",
    "乙脑减毒活疫苗",
    "A群流脑多糖疫苗",
    "甲肝减毒活疫苗",
    "白破疫苗",
)
# Doses a year by age under the national immunisation schedule (most in the first year).
_DOSES_BY_AGE = (10.0, 4.0, 2.0, 1.0, 1.0, 1.0, 1.5)
FLU_SHARE = 0.25  # of people 60+ over an autumn season
FLU_SHARE_YOUNGER = 0.03


def _doses_per_year(age: int) -> float:
    return _DOSES_BY_AGE[min(age, len(_DOSES_BY_AGE) - 1)]


def _given_name(rng, gender: str) -> str:  # type: ignore[no-untyped-def]
    from faker.providers.person.zh_CN import Provider

    firsts = Provider.first_names_male if gender == "M" else Provider.first_names_female
    return "".join(rng.choice(firsts) for _ in range(rng.choice((1, 2))))


def births(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "health_births")
    w, rng = b.world, b.rng
    numbers = [rng.randrange(10**6, 5 * 10**6)]

    def add(child, child_name, gender, born, mother, father, event: bool) -> None:  # type: ignore[no-untyped-def]
        numbers[0] += 1
        issued = born + timedelta(days=rng.randint(0, 3))
        if event:
            issued = min(issued, b.last_day)
        d = b.draft(office_time(rng, issued), event_day=issued if event else None)
        if child is not None:
            d.subject(citizen=child, role="child")
        else:
            d.link("child", citizen=Newborn(f"{NEWBORN_PREFIX}{numbers[0]:09d}"))
        d.link("mother", citizen=mother).link("father", citizen=father)
        d.set(certificate_no=f"R{numbers[0]:09d}")
        d.name("child_name", child_name)
        weeks = rng.choices((36, 37, 38, 39, 40, 41), (1, 2, 4, 6, 5, 2))[0]
        d.set(
            child_gender=GENDER_GB[gender],
            birth_date=born.isoformat(),
            birth_time=f"{rng.randrange(24):02d}:{rng.randrange(60):02d}",
            birth_weight_g=int(rng.gauss(3300, 420)) if weeks >= 37 else int(rng.gauss(2700, 350)),
            gestation_weeks=weeks,
            hospital=rng.choice(HOSPITALS),
        )
        d.name("mother_name", mother.name).rid("mother_resident_id", mother.resident_id)
        if father is None:
            d.set(father_name=None, father_resident_id=None)
        else:
            d.name("father_name", father.name).rid("father_resident_id", father.resident_id)
        d.set(issued_on=issued.isoformat())

    for c in w.population.citizens:
        if c.birth_date < DIGITAL_SINCE or not c.resident_id.startswith(CITY_PREFIX):
            continue
        mother = w.mother.get(c.citizen_id) or w.outsider(
            rng, "F", c.birth_date - timedelta(days=rng.randint(22 * 365, 36 * 365))
        )
        father = w.father.get(c.citizen_id)
        if father is None and rng.random() < 0.9:
            father = w.outsider(
                rng, "M", mother.birth_date - timedelta(days=rng.randint(-700, 2500))
            )
        add(c, c.name, c.gender, c.birth_date, mother, father, False)
    # Births of the period: newborns are no citizens yet (no resident ID, often no name).
    mothers = [
        c
        for c in w.population.adults
        if c.gender == "F" and 22 <= w.age(c) <= 40 and c.citizen_id in w.spouse
    ]
    per_day = len(w.population.citizens) * BIRTHS_PER_YEAR / 365
    for day in b.period:
        for _ in range(poisson(rng, per_day)):
            if not mothers:
                break
            mother = mothers[rng.randrange(len(mothers))]
            father = w.spouse[mother.citizen_id]
            gender = "M" if rng.random() < 0.52 else "F"
            name = father.name[0] + _given_name(rng, gender) if rng.random() < 0.4 else None
            add(None, name, gender, day, mother, father, True)
    return b.finish()


def vaccination(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "health_vaccination")
    w, rng = b.world, b.rng
    children = [c for c in w.population.citizens if w.age(c) < 7]
    elderly = [c for c in w.population.citizens if w.age(c) >= 60]
    younger = [c for c in w.population.citizens if 7 <= w.age(c) < 60]
    n = 0
    for day in b.period:
        if day.weekday() == 6:  # clinics are closed on Sundays, open on Saturdays
            continue
        shots = [
            (c, "child") for c in children if rng.random() < _doses_per_year(w.age(c, day)) / 300
        ]
        if day.month in (9, 10, 11, 12):
            shots += [(c, "flu") for c in elderly if rng.random() < FLU_SHARE / 100]
            shots += [(c, "flu") for c in younger if rng.random() < FLU_SHARE_YOUNGER / 100]
        for c, kind in shots:
            n += 1
            community = c.community
            guardian = w.guardian(c) if kind == "child" else None
            d = b.draft(at(day, rng.randrange(8 * 3600, 16 * 3600 + 1800)), event_day=day)
            d.subject(citizen=c)
            if guardian is not None:
                d.link("guardian", citizen=guardian)
            d.set(dose_id=f"YM{day:%Y%m%d}{n:06d}")
            d.name("person_name", c.name)
            d.rid(
                "resident_id", c.resident_id if w.age(c, day) >= 1 or rng.random() < 0.5 else None
            )
            d.date("birth_date", c.birth_date, "iso")
            d.name("guardian_name", guardian.name if guardian else None)
            phone_of = guardian or c
            d.phone("contact_phone", phone_of.phone, w.other_phone[phone_of.citizen_id])
            if kind == "flu":
                vaccine, dose = "流感疫苗", 1
            else:
                vaccine = w.trait(f"{c.citizen_id}:{day}", "vaccine", CHILD_VACCINES)
                dose = 1 + w.age(c, day) % 3
            d.set(vaccine=vaccine, dose_no=dose)
            d.date("vaccinated_on", day, "iso")
            d.set(
                clinic=f"{w.geo.street(community.street_code).name}社区卫生服务中心预防接种门诊",
                community=community.name,
            )
    return b.finish(delivery_days=weekly_days(b))
