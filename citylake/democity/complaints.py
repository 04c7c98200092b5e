"""12345 hotline complaints (source ``hotline_complaints``).

Each complaint is a situation at a place (``complaint_situations``: the rules that make
its competent level and department) told in the caller's words (``complaint_text``),
with a location (district → street → community), the operator's category and urgency and
the caller's phone. Operators mislabel: a share of categories and urgencies are wrong or
missing (the true ones are in truth). Storms that reached orange or red at a gauge flood
streets, open manholes and collapse roads in their district, and most displaced manhole
covers (``sensors_manhole``) are called in by a passer-by. Hotspots are planted: a
community whose residents keep calling about one thing for weeks, a firm that keeps being
reported (truth ``complaint_hotspots``).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from citylake.democity import complaint_situations as situations
from citylake.democity.complaint_orders import COLUMNS as ORDER_COLUMNS
from citylake.democity.complaint_orders import by_day as orders_by_day
from citylake.democity.complaint_orders import events, units_of
from citylake.democity.complaint_text import (
    SHOP_INDUSTRIES,
    Place,
    roads_near,
    shop_kind,
    summary,
)
from citylake.democity.context import CityContext, Disruption, SourceResult, fmt_local
from citylake.democity.deliver import deliver_complaints, deliver_work_orders
from citylake.democity.enterprises import Enterprise, ensure_enterprises
from citylake.democity.geography import Community, Geography

T = TypeVar("T")
SOURCE_ID = "hotline_complaints"
ORDERS_SOURCE_ID = "hotline_work_orders"
_DELIVERED = "complaints:delivered"
BASE_PER_DAY = 60.0
CATEGORIES = ("noise", "sanitation", "road", "water", "housing", "market", "traffic", "other")
URGENCIES = ("low", "normal", "high", "urgent")
LEVELS = situations.LEVELS
# Operators' slips, recorded in truth (true_category / true_urgency beside the delivered).
CATEGORY_WRONG, CATEGORY_MISSING = 0.08, 0.04
URGENCY_WRONG, URGENCY_MISSING = 0.10, 0.03
_CONFUSED = {
    "noise": ("other", "market"), "sanitation": ("water", "other"), "road": ("traffic", "water"),
    "water": ("road", "housing", "sanitation"), "housing": ("other", "water"),
    "market": ("other", "noise"), "traffic": ("road", "other"),
    "other": ("housing", "noise", "traffic"),
}  # fmt: skip
_HOUR_WEIGHTS = (1, 0.5, 0.3, 0.3, 0.3, 0.5, 1, 3, 6, 9, 10, 9, 7, 7, 8, 9, 8, 7, 6, 6, 5, 4, 3, 2)
_DOW = (1.15, 1.05, 1.0, 1.0, 1.0, 0.85, 0.8)
_STORM_EXTRA = {"orange": 6.0, "red": 14.0}  # expected extra complaints per storm, scale 1
CALLER_CITIZEN, CALLER_STRANGER = 0.65, 0.25  # the rest call anonymously (no number)
LOCATION_WITHHELD = 0.04
# Most shops callers complain about are not named by their registered name (a barbecue
# stall, "the supermarket downstairs"); a planted firm hotspot always is.
FIRM_NAMED = 0.35
COVER_REPORTED = 0.8  # share of displaced manhole covers someone calls in


@dataclass(frozen=True)
class Draft:
    day: date
    second: int
    situation: str
    place: str
    community: Community
    enterprise: Enterprise | None = None
    caused_by: str | None = None
    hotspot_id: str | None = None


def _pick(rng: random.Random, items: Sequence[T], weights: Sequence[float]) -> T:
    return items[bisect.bisect(list(itertools.accumulate(weights)), rng.random() * sum(weights))]


def _format_phone(rng: random.Random, phone: str) -> tuple[str, str | None]:
    """How the call-center system happens to store the number (most often as dialled)."""
    r = rng.random()
    if r < 0.80:
        return phone, None
    if r < 0.88:
        return f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}", "phone_format"
    if r < 0.94:
        return f"{phone[:3]}-{phone[3:7]}-{phone[7:]}", "phone_format"
    return f"+86{phone}", "phone_format"


class _Drafter:
    """Draws complaints: everyday ones, storm aftermaths and planted hotspots."""

    def __init__(self, ctx: CityContext, rng: random.Random) -> None:
        self.ctx, self.rng = ctx, rng
        self.geo: Geography = ctx.need_geography()
        self.cum = list(itertools.accumulate(c.weight for c in self.geo.communities))
        firms = ensure_enterprises(ctx)
        self.firms = {key: firms.in_industries(codes) for key, codes in SHOP_INDUSTRIES.items()}
        keys = situations.SITUATIONS
        self.keys = [s.key for s in keys]
        self.weights = [s.weight for s in keys]
        self.drafts: list[Draft] = []
        self.hotspots: list[dict[str, object]] = []

    def community(self, district_code: str | None = None) -> Community:
        if district_code is None:
            return self.geo.communities[bisect.bisect(self.cum, self.rng.random() * self.cum[-1])]
        return self.rng.choice(
            [c for c in self.geo.communities if c.district_code == district_code]
        )

    def second(self) -> int:
        return _pick(self.rng, range(24), _HOUR_WEIGHTS) * 3600 + self.rng.randrange(3600)

    def add(self, day: date, key: str, community: Community, **extra: object) -> None:
        situation = situations.BY_KEY[key]
        place = str(extra.pop("place", None) or self.rng.choice(situation.places))
        firm = extra.pop("enterprise", None)
        if place == "shop" and firm is None and self.rng.random() < FIRM_NAMED:
            pool = self.firms.get(key) or []
            near = [f for f in pool if f.district_code == community.district_code]
            firm = (
                self.rng.choice(near if near and self.rng.random() < 0.5 else pool)
                if pool
                else None
            )
        if isinstance(firm, Enterprise):
            community = firm.community  # the complaint is where the firm is
        self.drafts.append(
            Draft(day, self.second(), key, place, community, firm, **extra)  # type: ignore[arg-type]
        )

    def everyday(self) -> None:
        ctx = self.ctx
        for i in range(ctx.days):
            day = ctx.start + timedelta(days=i)
            lam = BASE_PER_DAY * ctx.scale * _DOW[day.weekday()] * (1 + 0.05 * i / 365)
            for _ in range(_poisson(self.rng, lam)):
                self.add(day, _pick(self.rng, self.keys, self.weights), self.community())

    def storms(self) -> None:
        keys = [k for k, _ in situations.STORM_SITUATIONS]
        weights = [w for _, w in situations.STORM_SITUATIONS]
        for d in sorted(self.ctx.disruptions, key=lambda x: x.ref):
            if d.kind == "manhole_displacement":
                self._displaced_cover(d)
            if d.kind != "rainstorm" or d.severity not in _STORM_EXTRA:
                continue
            hours = max(1, math.ceil((d.end - d.start).total_seconds() / 3600)) + 6
            for _ in range(_poisson(self.rng, _STORM_EXTRA[d.severity] * self.ctx.scale)):
                at = d.start.replace(tzinfo=None)
                at += timedelta(seconds=self.rng.randrange(3600, hours * 3600))
                if not self.ctx.start <= at.date() < self.ctx.end:
                    continue
                key = _pick(self.rng, keys, weights)
                self.drafts.append(
                    Draft(
                        at.date(),
                        at.hour * 3600 + at.minute * 60 + at.second,
                        key,
                        self.rng.choice(situations.BY_KEY[key].places),
                        self.community(d.district_code),
                        caused_by=d.ref,
                    )
                )

    def _displaced_cover(self, d: Disruption) -> None:
        """Someone passing a displaced cover (its sensor already tilted) calls it in."""
        if self.rng.random() >= COVER_REPORTED:
            return
        hours = max(1.0, min(3.0, (d.end - d.start).total_seconds() / 3600))
        at = d.start.replace(tzinfo=None) + timedelta(hours=self.rng.uniform(1.0, hours + 1.0))
        if not self.ctx.start <= at.date() < self.ctx.end:
            return
        self.drafts.append(
            Draft(
                at.date(),
                at.hour * 3600 + at.minute * 60 + at.second,
                "missing_manhole",
                self.rng.choice(("street", "arterial")),
                self.community(d.district_code),
                caused_by=d.ref,
            )
        )

    def plant_hotspots(self) -> None:
        """Communities and firms complained about at several times their expected rate."""
        ctx, rng = self.ctx, self.rng
        total = self.cum[-1]
        taken: set[str] = set()
        for n in range(max(2, round(3 * ctx.scale))):
            community = self.community()
            while community.code in taken:
                community = self.community()
            taken.add(community.code)
            expected = BASE_PER_DAY * ctx.scale * community.weight / total
            key = rng.choice(situations.COMMUNITY_HOTSPOT_SITUATIONS)
            self._episode(f"HC{n + 1:03d}", "community", key, max(1.0, 4 * expected),
                          community=community)  # fmt: skip
        for n in range(max(1, round(2 * ctx.scale))):
            key = rng.choice(situations.ENTERPRISE_HOTSPOT_SITUATIONS)
            pool = self.firms.get(key) or []
            if not pool:
                continue
            firm = rng.choice(pool)
            self._episode(f"HE{n + 1:03d}", "enterprise", key, 0.8, community=firm.community,
                          firm=firm)  # fmt: skip

    def _episode(
        self, hotspot_id: str, kind: str, key: str, rate: float, *,
        community: Community, firm: Enterprise | None = None,
    ) -> None:  # fmt: skip
        ctx, rng = self.ctx, self.rng
        length = min(ctx.days, rng.randint(14, 28))
        first = rng.randrange(0, max(1, ctx.days - length + 1))
        count = 0
        for i in range(first, first + length):
            day = ctx.start + timedelta(days=i)
            for _ in range(_poisson(rng, rate)):
                place = "shop" if firm is not None else None
                self.add(day, key, community, place=place, enterprise=firm,
                         hotspot_id=hotspot_id)  # fmt: skip
                count += 1
        self.hotspots.append(
            {
                "hotspot_id": hotspot_id,
                "kind": kind,
                "situation": key,
                "community_code": community.code,
                "enterprise_id": firm.enterprise_id if firm else None,
                "start_date": ctx.start + timedelta(days=first),
                "end_date": ctx.start + timedelta(days=first + length - 1),
                "complaints": count,
            }
        )


def run_work_orders(ctx: CityContext, sources_root: Path) -> SourceResult:
    """The work-order log of every complaint ``run`` delivered (source ``hotline_work_orders``)."""
    if _DELIVERED not in ctx.extras:
        raise RuntimeError("complaints must be generated before their work orders")
    delivered, truth_rows = ctx.extras[_DELIVERED]
    rng = ctx.rng("complaints:work_orders")
    until = datetime.combine(ctx.end, datetime.min.time())
    truth = {str(r["complaint_id"]): r for r in truth_rows}
    rows: list[dict[str, object]] = []
    for day in sorted(delivered):
        for record in delivered[day]:
            complaint = truth[str(record["complaint_id"])]
            received = datetime.fromisoformat(str(record["received_at"]))
            rows += events(rng, complaint, received, units_of(record), until)
    days = [ctx.start + timedelta(days=i) for i in range(ctx.days)]
    files = deliver_work_orders(sources_root, orders_by_day(rows), ORDER_COLUMNS, days)
    return SourceResult(ORDERS_SOURCE_ID, len(rows), files, {})


def _operator_category(rng: random.Random, category: str) -> str | None:
    r = rng.random()
    if r < CATEGORY_MISSING:
        return None
    if r < CATEGORY_MISSING + CATEGORY_WRONG:
        return rng.choice(_CONFUSED[category])
    return category


def _operator_urgency(rng: random.Random, urgency: str) -> str | None:
    r = rng.random()
    if r < URGENCY_MISSING:
        return None
    if r < URGENCY_MISSING + URGENCY_WRONG:
        i = URGENCIES.index(urgency)
        return URGENCIES[max(0, i - 1)] if i == 3 or rng.random() < 0.5 else URGENCIES[i + 1]
    return urgency


def run(ctx: CityContext, sources_root: Path) -> SourceResult:
    geo = ctx.need_geography()
    population = ctx.need_population()
    rng = ctx.rng("complaints")
    fake = ctx.faker("complaints")
    citizen_phones = {c.phone for c in population.citizens}
    drafter = _Drafter(ctx, rng)
    drafter.everyday()
    drafter.storms()
    drafter.plant_hotspots()
    drafts = sorted(drafter.drafts, key=lambda d: (d.day, d.second, d.community.code, d.situation))
    roads = roads_near(ctx.rng("complaints:roads"), geo.communities)

    by_day: dict[date, list[dict[str, object]]] = {
        ctx.start + timedelta(days=i): [] for i in range(ctx.days)
    }
    truth_rows: list[dict[str, object]] = []
    links: list[dict[str, object]] = []
    for draft in drafts:
        day, community = draft.day, draft.community
        situation = situations.BY_KEY[draft.situation]
        complaint_id = f"GD{day:%Y%m%d}{len(by_day[day]) + 1:05d}"
        if situation.hazard:
            urgency = "urgent"
        elif draft.caused_by:
            urgency = "high"
        else:
            urgency = _pick(rng, URGENCIES, situation.urgency)
        rule_level, rule_department = situations.competent(situation, draft.place)
        level, department = rule_level, rule_department
        if situation.ambiguous and rng.random() < situation.ambiguous[1]:
            level = situation.ambiguous[0]
            department = situations.department(situation, level)
        loc = geo.location(community)
        road, artery = roads[community.code]
        place = Place(
            draft.place, loc["community"], loc["street"], road, artery,
            draft.enterprise.name if draft.enterprise else shop_kind(rng, situation.key),
        )  # fmt: skip
        text, typo = summary(rng, situation, place, (day - ctx.start).days / ctx.days)
        withheld = rng.random() < LOCATION_WITHHELD
        delivered_loc: dict[str, object] = dict(loc)
        if withheld:  # caller would not say exactly where: only district and street recorded
            delivered_loc.update(community_code=None, community=None)
        caller_id, phone, r = None, None, rng.random()
        if r < CALLER_CITIZEN:
            neighbours = population.adults_of_street(community.street_code) or population.adults
            citizen = (
                rng.choice(neighbours) if rng.random() < 0.7 else rng.choice(population.adults)
            )
            caller_id = citizen.citizen_id
            phone, corruption = _format_phone(rng, citizen.phone)
            links.append(
                {
                    "source_id": SOURCE_ID,
                    "record_id": complaint_id,
                    "field": "caller_phone",
                    "citizen_id": caller_id,
                    "true_value": citizen.phone,
                    "delivered_value": phone,
                    "corruption": corruption,
                }
            )
        elif r < CALLER_CITIZEN + CALLER_STRANGER:
            phone = fake.phone_number()
            while phone in citizen_phones:  # a stranger must not share a resident's number
                phone = fake.phone_number()
        by_day[day].append(
            {
                "complaint_id": complaint_id,
                "received_at": fmt_local(day, draft.second),
                "category": _operator_category(rng, situation.category),
                **delivered_loc,
                "urgency": _operator_urgency(rng, urgency),
                "caller_phone": phone,
                "summary": text,
            }
        )
        truth_rows.append(
            {
                "complaint_id": complaint_id,
                "competent_level": level,
                "competent_department": department,
                "true_district_code": loc["district_code"],
                "true_street_code": loc["street_code"],
                "true_community_code": loc["community_code"],
                "location_withheld": withheld,
                "caller_citizen_id": caller_id,
                "caused_by": draft.caused_by,
                "situation": situation.key,
                "place_kind": draft.place,
                "true_category": situation.category,
                "true_urgency": urgency,
                "hazard": situation.hazard,
                "rule_level": rule_level,
                "rule_department": rule_department,
                "ambiguous": situation.ambiguous is not None,
                "enterprise_id": draft.enterprise.enterprise_id if draft.enterprise else None,
                "hotspot_id": draft.hotspot_id,
                "typo": typo,
            }
        )
    files = deliver_complaints(sources_root, by_day)
    ctx.extras[_DELIVERED] = (by_day, truth_rows)  # the work-order log follows them
    truth = {
        "complaints": truth_rows,
        "identity_links": links,
        "complaint_hotspots": drafter.hotspots,
    }
    return SourceResult(SOURCE_ID, len(truth_rows), files, truth)


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method for small λ, normal approximation above (λ·scale can be large)."""
    if lam <= 0:
        return 0
    if lam > 60:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
