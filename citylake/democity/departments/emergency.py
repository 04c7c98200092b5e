"""Emergency management: incidents, served by a paginated JSON API.

Fires, traffic accidents, workplace accidents and the like happen every day; rainstorms
that reached orange or red at a gauge (``ctx.disruptions``, left by the sensor
generator when it ran first) flood streets in their district, and waterlogging
incidents follow. Reporters are often anonymous; the unit responsible is named when
there is one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from citylake.democity.context import CityContext
from citylake.democity.departments.builder import SourceBuilder, SourceOutput, poisson
from citylake.democity.departments.world import at

PER_DAY = 2.5  # at scale 1
TYPES = (("火灾", 3), ("道路交通事故", 5), ("生产安全事故", 1.5), ("建筑施工事故", 1), ("危险化学品泄漏", 0.3),
         ("城市内涝", 0.5), ("燃气泄漏", 0.7), ("其他", 1))  # fmt: skip
LEVELS = (("一般", 95), ("较大", 4), ("重大", 0.8), ("特别重大", 0.2))
RESPONSIBLE = {
    "生产安全事故": "C",
    "建筑施工事故": "E",
    "危险化学品泄漏": "C",
    "燃气泄漏": "D",
    "火灾": "CFHR",
}
STORM_INCIDENTS = {"orange": 3.0, "red": 7.0}


def incidents(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "em_incidents")
    w, rng = b.world, b.rng
    adults = w.population.adults
    firms = w.enterprises.active_on(ctx.start)
    happenings: list[tuple[datetime, str, str | None]] = []  # (moment, type, district or None)
    for day in b.period:
        for _ in range(poisson(rng, PER_DAY * ctx.scale)):
            kind = rng.choices([t for t, _ in TYPES], [p for _, p in TYPES])[0]
            happenings.append((at(day, rng.randrange(86400)), kind, None))
    for dis in ctx.disruptions:
        if dis.kind != "rainstorm" or dis.severity not in STORM_INCIDENTS:
            continue
        start = dis.start.replace(tzinfo=None)
        span = max(1, int((dis.end - dis.start).total_seconds()))
        for _ in range(poisson(rng, STORM_INCIDENTS[dis.severity] * ctx.scale)):
            moment = start + timedelta(seconds=rng.randrange(span))
            if ctx.start <= moment.date() < ctx.end:
                happenings.append((moment.replace(microsecond=0), "城市内涝", dis.district_code))
    happenings.sort(key=lambda h: (h[0], h[1]))
    for i, (moment, kind, district) in enumerate(happenings, start=1):
        streets = w.geo.streets_of(district) if district else w.geo.streets
        street = streets[rng.randrange(len(streets))]
        community = rng.choice(w.geo.communities_of_street(street.code))
        reported = moment + timedelta(seconds=rng.randint(60, 1800))
        closed = rng.random() < 0.8
        written = reported + timedelta(hours=rng.randint(2, 72) if closed else 1)
        d = b.draft(min(written, at(b.last_day, 86399)), event_day=moment.date())
        reporter = adults[rng.randrange(len(adults))] if rng.random() < 0.7 else None
        codes = RESPONSIBLE.get(kind)
        unit = None
        if codes and rng.random() < 0.6:
            pool = [
                e
                for e in firms
                if e.industry_code in codes and e.district_code == street.district_code
            ] or [e for e in firms if e.industry_code in codes]
            unit = pool[rng.randrange(len(pool))] if pool else None
        if reporter is not None:
            d.subject(citizen=reporter, role="reporter")
        if unit is not None:
            d.link("responsible_unit", enterprise=unit)
            if reporter is None:
                d.enterprise_id = unit.enterprise_id
        level = rng.choices([lv for lv, _ in LEVELS], [p for _, p in LEVELS])[0]
        d.set(
            incident_id=f"YJ{moment:%Y%m%d}{i:05d}",
            incident_type=kind,
            level=level,
            occurred_at=moment.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
            reported_at=reported.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
            district_code=street.district_code,
            street_code=street.code,
            community_code=community.code,
            location=f"{w.geo.district(street.district_code).name}{street.name}{community.name}附近",
            casualties=0 if rng.random() < 0.85 else rng.randint(1, 4),
        )
        d.name("reporter_name", reporter.name if reporter else None)
        d.phone(
            "reporter_phone",
            reporter.phone if reporter else None,
            w.other_phone[reporter.citizen_id] if reporter else None,
        )
        d.rid(
            "reporter_resident_id",
            reporter.resident_id if reporter and rng.random() < 0.5 else None,
        )
        d.set(responsible_unit=unit.name if unit else None)
        d.uscc("responsible_uscc", unit.uscc if unit else None)
        d.set(
            status="已结案" if closed and rng.random() < 0.6 else ("已处置" if closed else "处置中")
        )
    return b.finish()
