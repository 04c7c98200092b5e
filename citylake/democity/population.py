"""The city's residents: names, resident identity numbers, phones, home addresses.

Faker zh_CN supplies names, mobile numbers, road names and the real county division
codes of birthplaces outside the city. The identity number itself is assembled here
with :func:`citylake.identity.make_resident_id` instead of ``Faker.ssn()`` because
``ssn()`` derives the birth date from ``date.today()`` (output would change daily) and
cannot take a given birth date, and the number must agree with the citizen's recorded
birth date and gender.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field
from datetime import date, timedelta

from citylake.democity.context import CityContext
from citylake.democity.geography import Community, Geography
from citylake.identity import make_resident_id

BASE_CITIZENS = 2000
# Age pyramid buckets (min age, max age, weight): an ageing eastern city.
_AGE_BUCKETS = ((0, 17, 14), (18, 29, 16), (30, 44, 24), (45, 59, 24), (60, 74, 15), (75, 95, 7))
BORN_IN_CITY_SHARE = 0.65


@dataclass(frozen=True)
class Citizen:
    citizen_id: str
    name: str
    gender: str  # "M" / "F", agrees with the identity number's 17th digit
    birth_date: date
    resident_id: str
    phone: str
    community: Community
    address: str

    @property
    def district_code(self) -> str:
        return self.community.district_code


@dataclass
class Population:
    citizens: list[Citizen]
    by_id: dict[str, Citizen] = field(default_factory=dict, repr=False)
    adults: list[Citizen] = field(default_factory=list, repr=False)
    adults_by_district: dict[str, list[Citizen]] = field(default_factory=dict, repr=False)
    _by_street: dict[str, list[Citizen]] = field(default_factory=dict, repr=False)

    def index(self, as_of: date) -> None:
        self.by_id = {c.citizen_id: c for c in self.citizens}
        adult_born = as_of.replace(year=as_of.year - 18)
        self.adults = [c for c in self.citizens if c.birth_date <= adult_born]
        self.adults_by_district = {}
        self._by_street = {}
        for c in self.adults:
            self.adults_by_district.setdefault(c.district_code, []).append(c)
            self._by_street.setdefault(c.community.street_code, []).append(c)

    def adults_of_street(self, street_code: str) -> list[Citizen]:
        return self._by_street.get(street_code, [])

    def truth_rows(self, geography: Geography) -> list[dict[str, object]]:
        return [
            {
                "citizen_id": c.citizen_id,
                "name": c.name,
                "gender": c.gender,
                "birth_date": c.birth_date,
                "resident_id": c.resident_id,
                "phone": c.phone,
                **geography.location(c.community),
                "address": c.address,
            }
            for c in self.citizens
        ]


def _outside_division_codes() -> list[str]:
    from faker.providers.ssn.zh_CN import Provider

    # County-level codes only: province/prefecture rows (ending 00) are not birthplaces.
    return sorted({c for c in Provider.area_codes if not c.endswith("00") and c[:2] <= "65"})


def generate_population(ctx: CityContext) -> Population:
    geo = ctx.need_geography()
    rng = ctx.rng("population")
    fake = ctx.faker("population")
    outside = _outside_division_codes()
    n = max(10, round(BASE_CITIZENS * ctx.scale))
    communities = geo.communities
    cum = list(itertools.accumulate(c.weight for c in communities))
    age_cum = list(itertools.accumulate(w for _, _, w in _AGE_BUCKETS))
    seen_ids: set[str] = set()
    seen_phones: set[str] = set()
    citizens: list[Citizen] = []
    for i in range(1, n + 1):
        community = communities[bisect.bisect(cum, rng.random() * cum[-1])]
        gender = "M" if rng.random() < 0.5 else "F"
        lo, hi, _ = _AGE_BUCKETS[bisect.bisect(age_cum, rng.random() * age_cum[-1])]
        # Ages relative to the period start, never to today, so output is reproducible.
        born = ctx.start - timedelta(days=rng.randint(lo * 365 + 1, hi * 365 + 364))
        if rng.random() < BORN_IN_CITY_SHARE:
            division = (
                community.district_code if rng.random() < 0.7 else rng.choice(geo.districts).code
            )
        else:
            division = rng.choice(outside)
        while True:
            seq = rng.randrange(0, 500) * 2 + (1 if gender == "M" else 0)  # odd = male
            resident_id = make_resident_id(division, born, seq)
            if resident_id not in seen_ids:
                seen_ids.add(resident_id)
                break
        while True:
            phone = fake.phone_number()
            if phone not in seen_phones:
                seen_phones.add(phone)
                break
        name = fake.name_male() if gender == "M" else fake.name_female()
        loc = geo.location(community)
        address = (
            f"{geo.city_name}{loc['district']}{loc['street']}{loc['community']}"
            f"{fake.street_name()}{rng.randint(1, 399)}号{rng.randint(1, 30)}幢"
            f"{rng.randint(1, 18)}{rng.randint(1, 4):02d}室"
        )
        citizens.append(
            Citizen(f"CZ{i:07d}", name, gender, born, resident_id, phone, community, address)
        )
    population = Population(citizens)
    population.index(ctx.start)
    return population
