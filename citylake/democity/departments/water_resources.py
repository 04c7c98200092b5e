"""Water resources: water abstraction permits (取水许可), MariaDB, ``updated_at`` cursor.

Factories, utilities and farms abstracting surface or ground water. An old system:
legacy-only firms appear by their 15-digit number only, some permits have no contact.
"""

from __future__ import annotations

from datetime import timedelta

from citylake.democity.context import CityContext
from citylake.democity.departments.builder import SourceBuilder, SourceOutput
from citylake.democity.departments.world import add_years, at, office_time, random_day

HOLDERS = {"A": 0.6, "C": 0.25, "D": 0.9, "H": 0.03}
USES = {"A": "农业灌溉", "C": "工业", "D": "公共供水", "H": "生活"}
YEARS_VALID = 5


def abstraction_permits(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "water_abstraction_permits")
    w, rng = b.world, b.rng
    n = 0
    for e in w.enterprises.enterprises:
        if rng.random() >= HOLDERS.get(e.industry_code, 0):
            continue
        n += 1
        issued = e.established_on + timedelta(days=rng.randint(30, 200))
        if issued >= ctx.end:
            continue
        while add_years(issued, YEARS_VALID) <= ctx.start:
            issued = add_years(issued, YEARS_VALID)
        event = issued >= ctx.start
        written = (
            office_time(rng, issued)
            if event
            else at(
                random_day(rng, issued, ctx.start - timedelta(days=1)),
                rng.randrange(8 * 3600, 18 * 3600),
            )
        )
        d = b.draft(written, event_day=issued if event else None)
        d.subject(enterprise=e)
        d.set(permit_no=f"取水(浙云)字[{issued.year}]第{n:04d}号", holder_name=e.name)
        d.uscc("uscc", None if e.legacy_only else e.uscc)
        d.legacy("registration_no", e.legacy_registration_no)
        source = "地下水" if rng.random() < 0.3 else "地表水"
        d.set(
            source_type=source,
            intake_location=f"{w.geo.street(e.community.street_code).name}{'机井' if source == '地下水' else '取水口'}{rng.randint(1, 9)}号",
            district_code=e.district_code,
            annual_quota_m3=round(
                rng.lognormvariate(11, 1.2) * (20 if e.industry_code == "D" else 1), 0
            ),
            use_type=USES[e.industry_code],
        )
        d.date("issued_on", issued, "iso").date(
            "valid_until", add_years(issued, YEARS_VALID) - timedelta(days=1), "iso"
        )
        d.set(status="有效" if e.active else "注销")
        d.phone(
            "contact_phone",
            e.phone if rng.random() < 0.85 else None,
            w.other_phone[e.legal_rep.citizen_id],
        )
    return b.finish()
