"""Housing & construction: construction permits (施工许可), weekly Excel workbooks.

The first workbook lists the permits of the past year, then one arrives every Monday
with the permits issued the week before (data on the sheet ``施工许可``). A permit
names the developer and the contractor (by name and credit code) and the contractor's
registered project manager.
"""

from __future__ import annotations

from datetime import timedelta

from citylake.democity.context import CityContext
from citylake.democity.departments.builder import SourceBuilder, SourceOutput, poisson, weekly_days
from citylake.democity.departments.world import at, office_time

PERMITS_PER_YEAR = 60  # at scale 1
PROJECT_KINDS = (
    ("住宅小区", 1.0),
    ("商业综合体", 0.3),
    ("厂房", 0.4),
    ("学校", 0.1),
    ("办公楼", 0.2),
    ("市政道路", 0.2),
)


def building_permits(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "hc_building_permits")
    w, rng = b.world, b.rng
    firms = w.enterprises.enterprises
    developers = [
        e for e in firms if e.industry_code in "KC" and e.entity_type != "个体工商户"
    ] or firms
    contractors = [
        e for e in firms if e.industry_code == "E" and e.entity_type != "个体工商户"
    ] or firms
    staff: dict[str, list] = {}
    for cid, e in sorted(w.employer.items()):
        staff.setdefault(e.enterprise_id, []).append(w.population.by_id[cid])
    per_day = PERMITS_PER_YEAR * ctx.scale / 365
    days = [ctx.start - timedelta(days=i) for i in range(365, 0, -1)] + b.period
    n = 0
    for day in days:
        if day.weekday() >= 5:
            continue
        for _ in range(poisson(rng, per_day * 7 / 5)):
            n += 1
            dev, con = (
                developers[rng.randrange(len(developers))],
                contractors[rng.randrange(len(contractors))],
            )
            if not (dev.exists_on(day) and con.exists_on(day)):
                continue
            kind = rng.choices([k for k, _ in PROJECT_KINDS], [p for _, p in PROJECT_KINDS])[0]
            community = w.geo.communities[rng.randrange(len(w.geo.communities))]
            loc = w.location(community)
            crew = staff.get(con.enterprise_id) or [con.legal_rep]
            manager = crew[rng.randrange(len(crew))]
            event = day >= ctx.start
            d = b.draft(
                office_time(rng, day) if event else at(day, 10 * 3600),
                event_day=day if event else None,
            )
            d.subject(enterprise=dev, role="developer").link("contractor", enterprise=con).link(
                "project_manager", citizen=manager
            )
            d.set(
                permit_no=f"{loc['district_code']}{day:%Y%m%d}{n:04d}",
                project_name=f"{loc['street'][:-2]}{rng.choice('东南西北')}{kind}{rng.choice(('一期', '二期', '', '项目'))}",
                developer_name=dev.name,
            )
            d.uscc("developer_uscc", dev.uscc).set(contractor_name=con.name).uscc(
                "contractor_uscc", con.uscc
            )
            d.name("project_manager", manager.name).rid(
                "project_manager_resident_id", manager.resident_id
            )
            d.phone("project_manager_phone", manager.phone, w.other_phone[manager.citizen_id])
            d.address(
                "location",
                f"{w.geo.city_name}{loc['district']}{loc['street']}{loc['community']}地块",
            )
            area = rng.lognormvariate(9.5, 0.9)
            d.set(
                district=loc["district"],
                building_area_sqm=round(area, 1),
                contract_price_10k=round(area * rng.uniform(0.25, 0.45), 1),
            )
            d.date("issued_on", day, "iso")
            start = day + timedelta(days=rng.randint(7, 60))
            d.date("planned_start", start, "iso").date(
                "planned_end", start + timedelta(days=rng.randint(300, 1100)), "iso"
            )
    return b.finish(delivery_days=weekly_days(b))
