"""Taxation: the taxpayer register and the monthly filings.

``tax_registration`` (MariaDB, integer sequence): one row per taxpayer. Firms that
converted to the credit code are keyed by it; *legacy-only* firms still carry the
pre-2015 15-character taxpayer code (district code + organization code) and no credit
code at all. Firms founded in the period register for tax within a fortnight.

``tax_monthly_filings``: the e-tax bureau's daily CSV export of filings, written in GBK
(declared GB18030, its superset). VAT and withheld individual income tax monthly,
corporate income tax quarterly, each filed on a working day in the first half of the
following month. Amounts come formatted as the bureau prints them (thousands
separators), the old front-end keys some with full-width digits.
"""

from __future__ import annotations

from datetime import date, timedelta

from citylake.democity.context import CityContext
from citylake.democity.departments.builder import SourceBuilder, SourceOutput
from citylake.democity.departments.world import at, office_time, random_day
from citylake.democity.enterprises import Enterprise

AMOUNT_FULLWIDTH = 0.04
TAX_OFFICE = "国家税务总局云港市{district}税务局"


def taxpayer_id(e: Enterprise) -> str:
    """The credit code, or for legacy-only firms the old district + organization code."""
    return f"{e.district_code}{e.organization_code}" if e.legacy_only else e.uscc


def _office(w, e: Enterprise) -> str:  # type: ignore[no-untyped-def]
    return TAX_OFFICE.format(district=w.geo.district(e.district_code).name)


def registration(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "tax_registration")
    w, rng = b.world, b.rng
    for e in w.enterprises.enterprises:
        registered = e.established_on + timedelta(days=rng.randint(1, 14))
        event = registered >= ctx.start
        if registered >= ctx.end:
            continue
        written = (
            office_time(rng, registered)
            if event
            else at(
                random_day(rng, registered, ctx.start - timedelta(days=1)),
                rng.randrange(8 * 3600, 18 * 3600),
            )
        )
        d = b.draft(written, event_day=registered if event else None)
        rep = e.legal_rep
        d.subject(enterprise=e).link("legal_rep", citizen=rep)
        d.set(taxpayer_id=taxpayer_id(e))
        d.uscc("uscc", None if e.legacy_only else e.uscc)
        d.legacy("registration_no", e.legacy_registration_no)
        d.set(taxpayer_name=e.name)
        kind = (
            "个体工商户定期定额"
            if e.entity_type == "个体工商户"
            else (
                "一般纳税人"
                if e.employees >= 20 or (e.registered_capital or 0) >= 500
                else "小规模纳税人"
            )
        )
        d.set(taxpayer_type=kind)
        d.name("legal_rep_name", rep.name).rid("legal_rep_resident_id", rep.resident_id)
        d.set(tax_authority=_office(w, e))
        d.date("registered_on", registered, "iso")
        d.set(industry=e.industry, status={"存续": "正常", "吊销": "非正常"}.get(e.status, "注销"))
        d.phone("phone", e.phone, w.other_phone[rep.citizen_id] if e.phone == rep.phone else None)
    return b.finish()


def _filing_days(ctx: CityContext, month_start: date) -> list[date]:
    """Working days 1st-15th of a month (the filing window), within the period."""
    return [
        c.day
        for c in ctx.calendar
        if c.working
        and c.day.year == month_start.year
        and c.day.month == month_start.month
        and c.day.day <= 15
    ]


def _money(value: float) -> str:
    return f"{value:,.2f}"


def monthly_filings(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "tax_monthly_filings")
    w, rng = b.world, b.rng
    months = sorted({date(d.year, d.month, 1) for d in b.period})
    n = 0
    for month in months:
        window = _filing_days(ctx, month)
        if not window:
            continue
        prev_end = month - timedelta(days=1)
        period = date(prev_end.year, prev_end.month, 1)
        for e in w.enterprises.active_on(prev_end):
            types = ["增值税"]
            if e.employees >= 2:
                types.append("个人所得税")
            if prev_end.month in (3, 6, 9, 12) and e.entity_type != "个体工商户":
                types.append("企业所得税")
            day = window[min(len(window) - 1, int(rng.betavariate(1.2, 2.5) * len(window)))]
            sales = rng.lognormvariate(11.5, 1.3) * max(1, e.employees) ** 0.5
            for tax in types:
                n += 1
                if tax == "增值税":
                    base, due = sales, sales * (0.13 if e.employees >= 20 else 0.01)
                elif tax == "个人所得税":
                    base = e.employees * rng.uniform(5000, 12000)
                    due = base * rng.uniform(0.005, 0.03)
                else:
                    base = sales * 3 * rng.uniform(0.02, 0.15)
                    due = base * (0.25 if e.employees >= 20 else 0.05)
                d = b.draft(office_time(rng, day), event_day=day)
                d.subject(enterprise=e)
                d.set(
                    filing_id=f"SB{day:%Y%m%d}{n:07d}",
                    taxpayer_id=taxpayer_id(e),
                    taxpayer_name=e.name,
                    tax_type=tax,
                )
                style = rng.random()
                shown = (
                    f"{period:%Y-%m}"
                    if style < 0.7
                    else f"{period:%Y}年{period:%m}月"
                    if style < 0.9
                    else f"{period:%Y%m}"
                )
                d.variant("tax_period", f"{period:%Y-%m}", shown, "date_format")
                d.date("filed_on", day, "iso")
                d.text("taxable_amount", _money(base), AMOUNT_FULLWIDTH)
                d.text("tax_amount", _money(due), AMOUNT_FULLWIDTH)
                d.set(tax_office=_office(w, e))
                d.phone(
                    "declarant_phone",
                    e.phone,
                    w.other_phone[e.legal_rep.citizen_id] if e.phone == e.legal_rep.phone else None,
                )
    return b.finish()
