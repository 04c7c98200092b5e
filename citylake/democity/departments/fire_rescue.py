"""Fire & rescue: fire safety inspections, served by a paginated JSON API.

Inspectors visit firms on working days (routine, special campaigns, random checks,
follow-ups of earlier findings); the first page history covers the last quarter. The
inspection system is old: firms appear by credit code or, for legacy-only firms, by
their 15-digit registration number; contacts are whoever met the inspector.
"""

from __future__ import annotations

from datetime import timedelta

from citylake.democity.context import CityContext
from citylake.democity.departments.builder import SourceBuilder, SourceOutput, poisson
from citylake.democity.departments.world import at

HISTORY_DAYS = 90
INSPECTIONS_PER_DAY = 4.0  # at scale 1
TYPES = (("日常监督检查", 5), ("专项检查", 2), ("双随机抽查", 2), ("复查", 1))
RESULTS = (("合格", 6), ("责令限期改正", 3), ("罚款", 0.7), ("临时查封", 0.3))
INSPECTORS = ("王建国", "李明", "陈志强", "赵磊", "周涛", "吴斌", "郑浩", "孙伟")


def inspections(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "fire_inspections")
    w, rng = b.world, b.rng
    staff: dict[str, list] = {}
    for cid, e in sorted(w.employer.items()):
        staff.setdefault(e.enterprise_id, []).append(w.population.by_id[cid])
    days = [ctx.start - timedelta(days=i) for i in range(HISTORY_DAYS, 0, -1)] + b.period
    n = 0
    for day in days:
        if day.weekday() >= 5:
            continue
        firms = w.enterprises.active_on(day)
        for _ in range(poisson(rng, INSPECTIONS_PER_DAY * ctx.scale)):
            e = firms[rng.randrange(len(firms))]
            n += 1
            event = day >= ctx.start
            moment = at(day, rng.randrange(9 * 3600, 17 * 3600))
            written = moment + timedelta(hours=rng.randint(1, 30))
            d = b.draft(written, event_day=day if event else None)
            contact = (
                e.legal_rep
                if rng.random() < 0.5 or not staff.get(e.enterprise_id)
                else rng.choice(staff[e.enterprise_id])
            )
            d.subject(enterprise=e).link("contact", citizen=contact)
            d.set(inspection_id=f"XF{day:%Y%m%d}{n:05d}", unit_name=e.name)
            d.uscc("uscc", None if e.legacy_only else e.uscc)
            d.legacy(
                "registration_no",
                e.legacy_registration_no if e.legacy_only or rng.random() < 0.3 else None,
            )
            d.address("unit_address", e.address)
            d.set(district_code=e.district_code, street_code=e.community.street_code)
            d.set(inspection_type=rng.choices([t for t, _ in TYPES], [p for _, p in TYPES])[0])
            d.date("inspected_on", day, "iso")
            result = rng.choices([r for r, _ in RESULTS], [p for _, p in RESULTS])[0]
            d.set(
                result=result,
                hazards_found=0 if result == "合格" else rng.randint(1, 6),
                inspector=rng.choice(INSPECTORS),
            )
            d.name("contact_name", contact.name)
            d.phone("contact_phone", contact.phone, w.other_phone[contact.citizen_id])
    return b.finish()
