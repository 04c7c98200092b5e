"""Facts about people that several departments record: households, marriages, jobs.

Built once per city from the shared population and enterprises, kept in
``ctx.extras["department_world"]``, so the household register, the marriage registry,
birth certificates, schools and social insurance all agree on who lives with, married,
gave birth to and works for whom. Also the *other* phone and previous address some
departments still hold for a person (the same person looking different across
departments), and people from outside the city (a parent registered elsewhere).
"""

from __future__ import annotations

import bisect
import itertools
import random
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from citylake.democity.context import CityContext
from citylake.democity.enterprises import Enterprise, Enterprises, ensure_enterprises
from citylake.democity.geography import Community, Geography, build_geography
from citylake.democity.population import Citizen, Population, generate_population
from citylake.identity import make_resident_id

EXTRAS_KEY = "department_world"
ETHNICITIES = (("汉族", 0.915), ("回族", 0.015), ("满族", 0.012), ("畲族", 0.012), ("壮族", 0.01),
               ("苗族", 0.01), ("土家族", 0.01), ("蒙古族", 0.006), ("朝鲜族", 0.005), ("彝族", 0.005))  # fmt: skip
MARRIED_SHARE = 0.78  # of men 24+ who find a partner in their community
EMPLOYED_SHARE = 0.72  # of people of working age
RETIREMENT_AGE = {"M": 60, "F": 55}
GENDER_CN = {"M": "男", "F": "女"}
GENDER_GB = {"M": "1", "F": "2"}  # GB/T 2261.1 codes


@dataclass
class Household:
    household_id: str
    community: Community
    members: list[tuple[Citizen, str]] = field(default_factory=list)  # (citizen, relation)

    @property
    def head(self) -> Citizen:
        return self.members[0][0]


# Truth ids of outsiders: never a generator citizen id (those start "CZ").
OUTSIDER_PREFIX, NEWBORN_PREFIX = "OUT", "NEW"


@dataclass
class Outsider:
    """Somebody registered outside the city: no citizen of ours, but a person the records
    name, so truth knows them by ``person_id`` (scored like a citizen, counted apart)."""

    name: str
    gender: str
    birth_date: date
    resident_id: str
    phone: str

    @property
    def person_id(self) -> str:
        return f"{OUTSIDER_PREFIX}{self.resident_id}"


@dataclass(frozen=True)
class Newborn:
    """A child born during the generated period: in no household yet, but a person its
    birth record names, so truth knows them by ``person_id``."""

    person_id: str


@dataclass
class World:
    ctx: CityContext
    geo: Geography
    population: Population
    enterprises: Enterprises
    ethnicity: dict[str, str]
    households: list[Household]
    household_of: dict[str, Household]
    relation: dict[str, str]
    spouse: dict[str, Citizen]
    married_on: dict[str, date]  # both spouses' ids
    mother: dict[str, Citizen]
    father: dict[str, Citizen]
    employer: dict[str, Enterprise]
    employed_since: dict[str, date]
    other_phone: dict[str, str]
    previous_address: dict[str, tuple[Community, str]]
    period: list[date]

    def age(self, c: Citizen | Outsider, on: date | None = None) -> int:
        on = on or self.ctx.start
        b = c.birth_date
        return on.year - b.year - ((on.month, on.day) < (b.month, b.day))

    def location(self, community: Community) -> dict[str, str]:
        return self.geo.location(community)

    @staticmethod
    def outsider(rng: random.Random, gender: str, born: date) -> Outsider:
        """A person from outside the city, drawn from the caller's stream."""
        from faker.providers.person.zh_CN import Provider

        surname = rng.choice(list(Provider.last_names)[:120])
        firsts = Provider.first_names_male if gender == "M" else Provider.first_names_female
        given = "".join(rng.choice(firsts) for _ in range(rng.choice((1, 2))))
        division = rng.choice(_OUTSIDE_DIVISIONS)
        seq = rng.randrange(0, 500) * 2 + (1 if gender == "M" else 0)
        phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
        return Outsider(surname + given, gender, born, make_resident_id(division, born, seq), phone)

    def guardian(self, c: Citizen) -> Citizen | None:
        """A minor's guardian: mother, father, else the adult heading the household."""
        found = self.mother.get(c.citizen_id) or self.father.get(c.citizen_id)
        if found is None:
            head = self.household_of[c.citizen_id].head
            if head.citizen_id != c.citizen_id and self.age(head) >= 18:
                found = head
        return found

    def trait(self, key: str, what: str, options: tuple[str, ...]) -> str:
        """A stable pick for one person or firm (the same in every department)."""
        h = zlib.crc32(f"{self.ctx.seed}:{what}:{key}".encode())
        return options[h % len(options)]


_OUTSIDE_DIVISIONS = ("330102", "330106", "330204", "320102", "310104", "340104", "360102",
                      "410105", "420102", "430102", "350102", "510104", "370102", "440106")  # fmt: skip


def add_years(d: date, years: int) -> date:
    """The same day ``years`` later (28 February for 29 February in a common year)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def at(day: date, seconds: int) -> datetime:
    """``day`` at ``seconds`` after midnight (naive local time)."""
    return datetime.combine(day, time()) + timedelta(seconds=seconds)


def office_time(rng: random.Random, day: date) -> datetime:
    """A moment in office hours (08:30-17:30) on ``day``."""
    return at(day, rng.randrange(8 * 3600 + 1800, 17 * 3600 + 1800))


def random_day(rng: random.Random, lo: date, hi: date) -> date:
    """A day in [lo, hi] (lo when the range is empty)."""
    span = (hi - lo).days
    return lo + timedelta(days=rng.randint(0, span)) if span > 0 else lo


def ensure_world(ctx: CityContext) -> World:
    """Geography, population, enterprises and the derived facts, built once per context."""
    found = ctx.extras.get(EXTRAS_KEY)
    if found is not None:
        return found
    if ctx.geography is None:
        ctx.geography = build_geography()
    if ctx.population is None:
        ctx.population = generate_population(ctx)
    world = _build(ctx, ensure_enterprises(ctx))
    ctx.extras[EXTRAS_KEY] = world
    return world


def _build(ctx: CityContext, enterprises: Enterprises) -> World:
    geo = ctx.need_geography()
    population = ctx.need_population()
    rng = ctx.rng("departments:world")
    eth_cum = list(itertools.accumulate(w for _, w in ETHNICITIES))
    ethnicity = {
        c.citizen_id: ETHNICITIES[bisect.bisect(eth_cum, rng.random() * eth_cum[-1])][0]
        for c in population.citizens
    }

    def age(c: Citizen) -> int:
        b = c.birth_date
        return ctx.start.year - b.year - ((ctx.start.month, ctx.start.day) < (b.month, b.day))

    by_community: dict[str, list[Citizen]] = {}
    for c in population.citizens:
        by_community.setdefault(c.community.code, []).append(c)
    households: list[Household] = []
    spouse: dict[str, Citizen] = {}
    married_on: dict[str, date] = {}
    mother: dict[str, Citizen] = {}
    father: dict[str, Citizen] = {}
    relation: dict[str, str] = {}
    for community in geo.communities:
        people = by_community.get(community.code, [])
        men = [c for c in people if c.gender == "M" and age(c) >= 24]
        women = [c for c in people if c.gender == "F" and age(c) >= 22]
        rng.shuffle(men)
        couples: list[tuple[Citizen, Citizen]] = []
        free_women = sorted(women, key=lambda c: c.birth_date)
        for man in men:
            if rng.random() > MARRIED_SHARE or not free_women:
                continue
            best = min(free_women, key=lambda w: abs((w.birth_date - man.birth_date).days))
            if abs((best.birth_date - man.birth_date).days) > 8 * 365:
                continue
            free_women.remove(best)
            couples.append((man, best))
            spouse[man.citizen_id], spouse[best.citizen_id] = best, man
            earliest = max(
                add_years(man.birth_date, 22),
                add_years(best.birth_date, 20),
            )
            latest = min(earliest + timedelta(days=10 * 365), ctx.start - timedelta(days=30))
            wed = random_day(rng, earliest, latest) if latest > earliest else earliest
            married_on[man.citizen_id] = married_on[best.citizen_id] = wed
        homes: dict[str, Household] = {}

        def new_home(
            head: Citizen, homes: dict[str, Household] = homes, comm: Community = community
        ) -> Household:
            number = len(homes) + 1
            home = Household(f"{comm.code[:9]}{comm.code[-3:]}{number:04d}", comm, [(head, "户主")])
            homes[head.citizen_id] = home
            households.append(home)
            relation[head.citizen_id] = "户主"
            return home

        for man, woman in couples:
            home = new_home(man)
            home.members.append((woman, "配偶"))
            relation[woman.citizen_id] = "配偶"
        placed = {c.citizen_id for pair in couples for c in pair}
        # Children (under 30, unmarried) live with a couple whose mother was 20-42 at birth.
        for child in sorted(people, key=lambda c: c.birth_date, reverse=True):
            if child.citizen_id in placed or age(child) >= 30:
                continue
            fits = [
                (m, w)
                for m, w in couples
                if 20 <= (child.birth_date - w.birth_date).days / 365.25 <= 42
            ]
            if fits:
                man, woman = rng.choice(fits)
                homes[man.citizen_id].members.append((child, "子女"))
                relation[child.citizen_id] = "子女"
                mother[child.citizen_id], father[child.citizen_id] = woman, man
                placed.add(child.citizen_id)
        # Some elderly singles live with a child's family; everyone else heads a home.
        for person in people:
            if person.citizen_id in placed:
                continue
            placed.add(person.citizen_id)
            if age(person) >= 70 and couples and rng.random() < 0.6:
                man, _ = rng.choice(couples)
                if (man.birth_date - person.birth_date).days > 18 * 365:
                    homes[man.citizen_id].members.append((person, "父母"))
                    relation[person.citizen_id] = "父母"
                    continue
            if age(person) < 18 and homes:
                host = homes[rng.choice(sorted(homes))]
                host.members.append((person, "其他"))
                relation[person.citizen_id] = "其他"
                continue
            new_home(person)
    household_of = {c.citizen_id: h for h in households for c, _ in h.members}

    # Jobs: people of working age work for an active firm, weighted by its size.
    employer: dict[str, Enterprise] = {}
    employed_since: dict[str, date] = {}
    firms = enterprises.active_on(ctx.start - timedelta(days=1))
    firm_cum = list(itertools.accumulate(e.employees for e in firms))
    for e in firms:  # legal representatives work at (the first of) their firms
        employer.setdefault(e.legal_rep.citizen_id, e)
    for c in population.adults:
        if age(c) >= RETIREMENT_AGE[c.gender]:
            continue
        if c.citizen_id not in employer:
            if rng.random() > EMPLOYED_SHARE or not firms:
                continue
            employer[c.citizen_id] = firms[bisect.bisect(firm_cum, rng.random() * firm_cum[-1])]
    for cid in sorted(employer):
        c, e = population.by_id[cid], employer[cid]
        lo = max(e.established_on, add_years(c.birth_date, 18))
        employed_since[cid] = random_day(rng, lo, ctx.start - timedelta(days=1))

    # The other phone and the previous address some departments still hold.
    other_phone: dict[str, str] = {}
    previous_address: dict[str, tuple[Community, str]] = {}
    masters = {c.phone for c in population.citizens}
    for c in population.citizens:
        while True:
            phone = f"1{rng.choice('35789')}{rng.randrange(10**9):09d}"
            if phone not in masters:
                masters.add(phone)
                other_phone[c.citizen_id] = phone
                break
        if rng.random() < 0.6:
            old = rng.choice(geo.communities)
            loc = geo.location(old)
            previous_address[c.citizen_id] = (
                old,
                f"{geo.city_name}{loc['district']}{loc['street']}{loc['community']}"
                f"{rng.randint(1, 80)}幢{rng.randint(1, 6)}单元{rng.randint(1, 25)}{rng.randint(1, 4):02d}室",
            )
    return World(
        ctx=ctx,
        geo=geo,
        population=population,
        enterprises=enterprises,
        ethnicity=ethnicity,
        households=households,
        household_of=household_of,
        relation=relation,
        spouse=spouse,
        married_on=married_on,
        mother=mother,
        father=father,
        employer=employer,
        employed_since=employed_since,
        other_phone=other_phone,
        previous_address=previous_address,
        period=[ctx.start + timedelta(days=i) for i in range(ctx.days)],
    )
