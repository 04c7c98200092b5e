"""Market supervision: the enterprise register (the enterprise master) and licences.

``msa_enterprise_registration`` (PostgreSQL, ``updated_at`` cursor): every enterprise
with its credit code and, for firms registered before the 2015 reform, the old 15-digit
registration number; legal representative, industry, address, status. Firms founded in
the period arrive on their registration day; a few others change address or phone.

``msa_licences``: food business, drug retail, special equipment and industrial product
licences, served by the bureau's paginated JSON API in their current state.
"""

from __future__ import annotations

from datetime import timedelta

from citylake.democity.context import CityContext
from citylake.democity.departments.builder import SourceBuilder, SourceOutput
from citylake.democity.departments.world import add_years, at, office_time, random_day
from citylake.democity.enterprises import Enterprise

CHANGES_PER_YEAR = 0.1
STATUS_SINCE_DAYS = (30, 2000)
# (licence type, industries, share of those firms holding one, number prefix, years valid)
LICENCES = (
    ("食品经营许可证", "HF", 0.6, "JY1", 5),
    ("药品经营许可证", "F", 0.05, "浙AA", 5),
    ("特种设备使用登记证", "CDG", 0.4, "容3T浙Y", 0),
    ("工业产品生产许可证", "C", 0.3, "(浙)XK", 5),
)


def enterprise_registration(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "msa_enterprise_registration")
    w, rng = b.world, b.rng
    for i, e in enumerate(w.enterprises.enterprises, start=1):
        if e.established_on >= ctx.start:
            d = b.draft(office_time(rng, e.established_on), event_day=e.established_on)
        elif rng.random() < CHANGES_PER_YEAR * ctx.days / 365:
            day = b.period[rng.randrange(ctx.days)]
            d = b.draft(office_time(rng, day), event_day=day)
        else:
            last = e.established_on
            if e.status != "存续":
                last = random_day(rng, e.established_on, ctx.start - timedelta(days=1))
            d = b.draft(at(last, rng.randrange(8 * 3600, 18 * 3600)))
        rep = e.legal_rep
        d.subject(enterprise=e).link("legal_rep", citizen=rep)
        d.set(enterprise_no=f"{e.district_code}{i:010d}")
        d.uscc("uscc", e.uscc).legacy("registration_no", e.legacy_registration_no)
        d.set(enterprise_name=e.name, entity_type=e.entity_type)
        d.name("legal_rep_name", rep.name).rid("legal_rep_resident_id", rep.resident_id)
        d.set(
            industry_code=e.industry_code,
            industry=e.industry,
            registered_capital=e.registered_capital,
            established_on=e.established_on.isoformat(),
            **w.location(e.community),
        )
        d.address("address", e.address)
        d.phone("phone", e.phone, w.other_phone[rep.citizen_id] if e.phone == rep.phone else None)
        d.set(status=e.status)
    return b.finish()


def _licence_no(prefix: str, e: Enterprise, n: int) -> str:
    if prefix == "JY1":
        return f"JY1{e.district_code}{n:08d}"
    if prefix == "(浙)XK":
        return f"(浙)XK{10 + n % 90:02d}-{n % 1000:03d}-{n:05d}"
    return f"{prefix}{n:07d}"


def licences(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "msa_licences")
    w, rng = b.world, b.rng
    n = 0
    for e in w.enterprises.enterprises:
        for kind, industries, share, prefix, years in LICENCES:
            if e.industry_code not in industries or rng.random() >= share:
                continue
            n += 1
            issued = e.established_on + timedelta(days=rng.randint(5, 60))
            event = issued >= ctx.start
            if event and issued >= ctx.end:
                continue
            if not event and years:
                while add_years(issued, years) < ctx.start - timedelta(days=90):
                    issued = add_years(issued, years)  # renewed every term
            valid_until = add_years(issued, years) - timedelta(days=1) if years else None
            status = "有效" if e.active else "注销"
            if valid_until is not None and valid_until < ctx.start and status == "有效":
                status = "过期"
            written = (
                office_time(rng, issued)
                if event
                else at(
                    random_day(rng, issued, ctx.start - timedelta(days=1)),
                    rng.randrange(8 * 3600, 18 * 3600),
                )
            )
            d = b.draft(written, event_day=issued if event else None)
            d.subject(enterprise=e).link("legal_rep", citizen=e.legal_rep)
            d.set(licence_no=_licence_no(prefix, e, n), licence_type=kind, holder_name=e.name)
            d.uscc("uscc", e.uscc).name("legal_rep_name", e.legal_rep.name)
            d.address("business_address", e.address)
            d.set(business_scope=_scope(kind, e))
            d.date("issued_on", issued, "iso").date("valid_until", valid_until, "iso")
            d.set(
                issuing_authority=f"{w.geo.district(e.district_code).name}市场监督管理局",
                status=status,
            )
    return b.finish()


def _scope(kind: str, e: Enterprise) -> str:
    if kind == "食品经营许可证":
        return (
            "热食类食品制售；冷食类食品制售"
            if e.industry_code == "H"
            else "预包装食品销售（含冷藏冷冻食品）"
        )
    if kind == "药品经营许可证":
        return "中成药、化学药制剂、抗生素制剂、生化药品"
    if kind == "特种设备使用登记证":
        return "压力容器、电梯"
    return f"{e.industry}产品生产"
