"""Natural resources: the real estate register (不动产登记), PostgreSQL.

One row per property certificate, integer sequence as cursor. Owners are households
(the head, often with the spouse as co-owner) and firms; in the period some homes are
sold, which issues a new certificate to the buyer.
"""

from __future__ import annotations

from datetime import date, timedelta

from citylake.democity.context import CityContext
from citylake.democity.departments.builder import SourceBuilder, SourceOutput, poisson
from citylake.democity.departments.world import add_years, office_time, random_day

OWNING_HOUSEHOLDS = 0.62
OWNING_FIRMS = 0.25
SALES_PER_YEAR = 0.02  # of homes
RIGHT_TYPE = "国有建设用地使用权/房屋所有权"
UNIFIED_SINCE = date(2015, 3, 1)  # the unified real estate register
MARKET_SINCE = date(1998, 7, 1)  # housing reform: homes bought on the market from here on


def property_registration(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "nr_property_registration")
    w, rng = b.world, b.rng
    counters: dict[int, int] = {}
    homes: list[tuple[object, object]] = []

    def add(
        owner, co_owner, firm, community, location, usage, area, registered: date, event: bool
    ) -> None:  # type: ignore[no-untyped-def]
        counters[registered.year] = counters.get(registered.year, 0) + 1
        number = counters[registered.year]
        district = w.geo.district(community.district_code).name
        if registered >= UNIFIED_SINCE:
            certificate = f"浙({registered.year})云港市不动产权第{number:07d}号"
        else:  # house ownership certificates of before the unified register, carried over
            certificate = f"云港房权证{district[:2]}字第{registered.year % 100:02d}{number:05d}号"
        d = b.draft(office_time(rng, registered), event_day=registered if event else None)
        if firm is not None:
            d.subject(enterprise=firm, role="owner")
        else:
            d.subject(citizen=owner, role="owner")
        if co_owner is not None:
            d.link("co_owner", citizen=co_owner)
        loc = w.location(community)
        d.set(
            certificate_no=certificate,
            unit_no=f"{loc['street_code']}{rng.randrange(10**6):06d}GB{rng.randrange(10**5):05d}F{rng.randrange(10**8):08d}",
            owner_type="单位" if firm else "个人",
        )
        if firm is not None:
            d.set(owner_name=firm.name, owner_resident_id=None)
            d.uscc("owner_uscc", firm.uscc)
        else:
            d.name("owner_name", owner.name).rid("owner_resident_id", owner.resident_id)
            d.set(owner_uscc=None)
        if co_owner is not None:
            d.name("co_owner_name", co_owner.name).rid("co_owner_resident_id", co_owner.resident_id)
        else:
            d.set(co_owner_name=None, co_owner_resident_id=None)
        d.address("location", location)
        d.set(
            district_code=loc["district_code"],
            street_code=loc["street_code"],
            community_code=loc["community_code"],
            usage=usage,
            area_sqm=round(area, 2),
            right_type=RIGHT_TYPE,
            registered_on=registered.isoformat(),
            mortgaged=rng.random() < (0.45 if firm is None else 0.3),
        )

    for home in w.households:
        head = home.head
        if w.age(head) < 23 or rng.random() >= OWNING_HOUSEHOLDS:
            continue
        spouse = w.spouse.get(head.citizen_id)
        co = spouse if spouse is not None and rng.random() < 0.7 else None
        registered = random_day(
            rng, max(add_years(head.birth_date, 23), MARKET_SINCE), ctx.start - timedelta(days=1)
        )
        add(
            head,
            co,
            None,
            head.community,
            head.address,
            "住宅",
            rng.uniform(45, 160),
            registered,
            False,
        )
        homes.append((head, co))
        if rng.random() < 0.15:  # a parking space
            add(
                head,
                co,
                None,
                head.community,
                head.address.split("号")[0] + "号地下车位",
                "车位",
                rng.uniform(12, 16),
                registered,
                False,
            )
    for e in w.enterprises.enterprises:
        if (
            e.entity_type == "个体工商户"
            or e.established_on >= ctx.start
            or rng.random() >= OWNING_FIRMS
        ):
            continue
        usage = {"C": "工业", "F": "商业", "H": "商业", "K": "商业"}.get(e.industry_code, "办公")
        area = rng.uniform(80, 600) if usage != "工业" else rng.uniform(800, 12000)
        registered = random_day(rng, e.established_on, ctx.start - timedelta(days=1))
        add(None, None, e, e.community, e.address, usage, area, registered, False)
    buyers = [c for c in w.population.adults if 25 <= w.age(c) <= 60]
    for day, cal in zip(b.period, ctx.calendar, strict=True):
        if not cal.working:
            continue
        for _ in range(poisson(rng, len(homes) * SALES_PER_YEAR / 250)):
            seller, _ = homes[rng.randrange(len(homes))]
            buyer = buyers[rng.randrange(len(buyers))]
            spouse = w.spouse.get(buyer.citizen_id)
            location = seller.address  # type: ignore[attr-defined]
            add(
                buyer,
                spouse,
                None,
                seller.community,
                location,
                "住宅",
                rng.uniform(45, 160),
                day,
                True,
            )  # type: ignore[attr-defined]
    return b.finish()
