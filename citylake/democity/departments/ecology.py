"""Ecology & environment: pollutant discharge permits (排污许可证), weekly Excel.

Manufacturers, utilities and environmental firms hold permits under one of three
management classes; the permit number is the holder's credit code plus a serial and a
letter, as the national permit system issues them. The first workbook lists all valid
permits, then one arrives every Monday with new and renewed permits.
"""

from __future__ import annotations

from datetime import timedelta

from citylake.democity.context import CityContext
from citylake.democity.departments.builder import SourceBuilder, SourceOutput, weekly_days
from citylake.democity.departments.world import add_years, at, office_time

HOLDERS = {"C": 0.7, "D": 0.8, "N": 0.6, "H": 0.1, "O": 0.1}
CLASSES = (("重点管理", 1), ("简化管理", 3), ("登记管理", 4))
POLLUTANTS = {"C": "化学需氧量、氨氮、挥发性有机物", "D": "二氧化硫、氮氧化物、颗粒物", "N": "化学需氧量、氨氮、总磷",
              "H": "油烟、化学需氧量", "O": "化学需氧量、石油类"}  # fmt: skip
YEARS_VALID = 5


def discharge_permits(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "eco_discharge_permits")
    w, rng = b.world, b.rng
    for e in w.enterprises.enterprises:
        share = HOLDERS.get(e.industry_code, 0)
        if not share or rng.random() >= share or not e.active:
            continue
        issued = e.established_on + timedelta(days=rng.randint(30, 120))
        if issued >= ctx.end:
            continue
        while add_years(issued, YEARS_VALID) <= ctx.start:
            issued = add_years(issued, YEARS_VALID)
        event = issued >= ctx.start
        d = b.draft(
            office_time(rng, issued) if event else at(b.first_day, 8 * 3600),
            event_day=issued if event else None,
        )
        cls = rng.choices([c for c, _ in CLASSES], [p for _, p in CLASSES])[0]
        d.subject(enterprise=e)
        d.set(permit_no=f"{e.uscc}001{'PUW'[rng.randrange(3)]}", unit_name=e.name)
        d.uscc("uscc", e.uscc).name("legal_rep_name", e.legal_rep.name)
        d.set(industry=e.industry)
        d.address("address", e.address)
        d.set(
            district=w.geo.district(e.district_code).name,
            management_class=cls,
            main_pollutants=POLLUTANTS[e.industry_code],
        )
        d.date("issued_on", issued, "iso").date(
            "valid_until", add_years(issued, YEARS_VALID) - timedelta(days=1), "iso"
        )
        d.set(status="有效" if not event or issued == e.established_on else "延续")
    return b.finish(delivery_days=weekly_days(b))
