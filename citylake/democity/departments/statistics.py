"""Statistics: the monthly survey of enterprises above designated size (规上企业 一套表).

Firms with 20+ employees or large capital report employees, revenue, output and
energy use for the previous month by the 20th; the bureau forwards the month's reports
as an Excel workbook (data on the sheet ``一套表``) on the 20th. Contacts are the firms'
statisticians, often with a work phone of their own.
"""

from __future__ import annotations

from datetime import date, timedelta

from citylake.democity.context import CityContext
from citylake.democity.departments.builder import SourceBuilder, SourceOutput, monthly_days
from citylake.democity.departments.world import at

INDUSTRIAL = frozenset("BCD")


def enterprise_survey(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "stats_enterprise_survey")
    w, rng = b.world, b.rng
    staff: dict[str, list] = {}
    for cid, e in sorted(w.employer.items()):
        staff.setdefault(e.enterprise_id, []).append(w.population.by_id[cid])
    n = 0
    for delivery in monthly_days(b, 20):
        month_end = date(delivery.year, delivery.month, 1) - timedelta(days=1)
        period = date(month_end.year, month_end.month, 1)
        for e in w.enterprises.active_on(month_end):
            if e.employees < 20 and (e.registered_capital or 0) < 2000:
                continue
            n += 1
            submitted = period + timedelta(days=rng.randint(31, 49))
            submitted = min(submitted, delivery)
            d = b.draft(at(delivery, 6 * 3600 + n), event_day=None)
            contact = rng.choice(staff.get(e.enterprise_id) or [e.legal_rep])
            d.subject(enterprise=e).link("contact", citizen=contact)
            revenue = e.employees * rng.uniform(25, 90)
            d.set(survey_id=f"TJ{period:%Y%m}{n:06d}")
            d.uscc("uscc", e.uscc)
            d.set(
                enterprise_name=e.name,
                industry_code=e.industry_code,
                report_period=f"{period:%Y-%m}",
                employees=e.employees + rng.randint(-2, 2) if e.employees > 2 else e.employees,
            )
            d.set(
                revenue_10k=round(revenue, 1),
                output_value_10k=round(revenue * rng.uniform(0.8, 1.1), 1)
                if e.industry_code in INDUSTRIAL
                else None,
                energy_tce=round(e.employees * rng.uniform(0.5, 8), 2)
                if e.industry_code in INDUSTRIAL
                else None,
            )
            d.name("contact_name", contact.name)
            d.phone("contact_phone", contact.phone, w.other_phone[contact.citizen_id])
            d.date("submitted_on", submitted, "iso")
    return b.finish(delivery_days=monthly_days(b, 20))
