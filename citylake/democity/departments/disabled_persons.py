"""Disabled persons' federation: disability cards (第二代残疾人证), MariaDB.

About six in a hundred residents, more among the elderly, hold a card; its number is
the resident ID as registered plus the category and grade digits. Guardians are
recorded for minors and people with intellectual or mental disabilities. New cards are
issued during the period. Not shared: the data is sensitive.
"""

from __future__ import annotations

from datetime import timedelta

from citylake.democity.context import CityContext
from citylake.democity.departments.builder import SourceBuilder, SourceOutput, poisson
from citylake.democity.departments.world import GENDER_CN, add_years, office_time, random_day

CATEGORIES = (
    ("视力", 14),
    ("听力", 24),
    ("言语", 2),
    ("肢体", 30),
    ("智力", 7),
    ("精神", 8),
    ("多重", 15),
)
LEVELS = (("一级", 15), ("二级", 25), ("三级", 30), ("四级", 30))
GUARDED = frozenset({"智力", "精神", "多重"})


def disability_cards(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "dpf_disability_cards")
    w, rng = b.world, b.rng
    cats = [c for c, _ in CATEGORIES]
    levels = [lv for lv, _ in LEVELS]
    holders = []
    for c in w.population.citizens:
        age = w.age(c)
        share = 0.02 if age < 18 else 0.04 if age < 60 else 0.12
        if rng.random() < share:
            holders.append(
                (
                    c,
                    random_day(
                        rng,
                        max(c.birth_date + timedelta(days=365), ctx.start - timedelta(days=3650)),
                        ctx.start - timedelta(days=1),
                    ),
                    False,
                )
            )
    new = [c for c in w.population.citizens if w.age(c) >= 40]
    for day, cal in zip(b.period, ctx.calendar, strict=True):
        if cal.working:
            for _ in range(poisson(rng, len(w.population.citizens) * 0.004 / 250)):
                holders.append((new[rng.randrange(len(new))], day, True))
    seen: set[str] = set()
    for c, issued, event in holders:
        if c.citizen_id in seen:
            continue
        seen.add(c.citizen_id)
        category = rng.choices(cats, [p for _, p in CATEGORIES])[0]
        level = rng.choices(levels, [p for _, p in LEVELS])[0]
        guardian = None
        if category in GUARDED or w.age(c) < 18:
            guardian = (
                w.spouse.get(c.citizen_id)
                or w.mother.get(c.citizen_id)
                or w.father.get(c.citizen_id)
            )
        d = b.draft(office_time(rng, issued), event_day=issued if event else None)
        d.subject(citizen=c)
        if guardian is not None:
            d.link("guardian", citizen=guardian)
        d.set(card_no=f"{c.resident_id}{cats.index(category) + 1}{levels.index(level) + 1}")
        d.name("name", c.name).set(gender=GENDER_CN[c.gender])
        d.rid("resident_id", c.resident_id)
        d.date("birth_date", c.birth_date, "iso")
        d.set(disability_category=category, disability_level=level)
        d.date("issued_on", issued, "iso").date(
            "valid_until", add_years(issued, 10) - timedelta(days=1), "iso"
        )
        d.name("guardian_name", guardian.name if guardian else None)
        who = guardian or c
        d.phone("contact_phone", who.phone, w.other_phone[who.citizen_id])
        prev = w.previous_address.get(c.citizen_id)
        d.address("address", c.address, prev[1] if prev else None)
        d.set(community_code=c.community.code, status="有效")
    return b.finish()
