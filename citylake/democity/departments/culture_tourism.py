"""Culture & tourism: entertainment venue permits (娱乐经营许可证), daily CSV in GBK.

The permit system predates the credit code: firms it knew before 2015 keep their
15-digit registration number and, for legacy-only firms, nothing else. Addresses and
phones are keyed by hand in a GBK front-end, full-width digits included.
"""

from __future__ import annotations

from datetime import timedelta

from citylake.democity.context import CityContext
from citylake.democity.departments.builder import SourceBuilder, SourceOutput
from citylake.democity.departments.world import add_years, at, office_time, random_day

VENUE_TYPES = {
    "R": ("KTV", "歌舞厅", "游艺厅", "网吧", "剧本娱乐"),
    "H": ("KTV", "歌舞厅"),
    "O": ("游艺厅",),
}
SHARE = {"R": 0.8, "H": 0.12, "O": 0.05}
YEARS_VALID = 2


def entertainment_permits(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "ct_entertainment_permits")
    w, rng = b.world, b.rng
    n = 0
    for e in w.enterprises.enterprises:
        if e.industry_code not in SHARE or rng.random() >= SHARE[e.industry_code] or not e.active:
            continue
        n += 1
        venue = rng.choice(VENUE_TYPES[e.industry_code])
        issued = e.established_on + timedelta(days=rng.randint(20, 90))
        event = issued >= ctx.start
        if issued >= ctx.end:
            continue
        if not event:
            while add_years(issued, YEARS_VALID) <= ctx.start:
                issued = add_years(issued, YEARS_VALID)  # renewed every two years
            # Renewals falling due in the period are delivered then; others were sent before.
            event = issued >= ctx.start
        written = office_time(rng, issued) if event else at(b.first_day, 8 * 3600)
        d = b.draft(written, event_day=issued if event else None)
        rep = e.legal_rep
        d.subject(enterprise=e).link("legal_rep", citizen=rep)
        d.set(
            permit_no=f"{e.district_code}{n:06d}",
            venue_name=e.name.removesuffix("有限公司") + venue,
            venue_type=venue,
            operator_name=e.name,
        )
        d.uscc("uscc", None if e.legacy_only else e.uscc)
        d.legacy("registration_no", e.legacy_registration_no)
        d.name("legal_rep_name", rep.name).rid("legal_rep_resident_id", rep.resident_id)
        d.address("address", e.address)
        d.set(
            district=w.geo.district(e.district_code).name,
            floor_area_sqm=round(rng.uniform(80, 1200), 1),
        )
        d.date("issued_on", issued, "iso").date(
            "valid_until", add_years(issued, YEARS_VALID) - timedelta(days=1), "iso"
        )
        d.phone("phone", e.phone, w.other_phone[rep.citizen_id] if e.phone == rep.phone else None)
        d.set(inspected_on=None)
        last = (
            random_day(
                rng, max(issued, ctx.start - timedelta(days=200)), ctx.start - timedelta(days=1)
            )
            if not event
            else None
        )
        if last is not None:
            d.date("inspected_on", last, "iso")
    return b.finish()
