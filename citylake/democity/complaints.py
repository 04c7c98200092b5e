"""12345 hotline complaints (source ``hotline_complaints``).

Each complaint has a category, a location (district → street → community), an urgency,
the caller's phone and a short Chinese summary. The level competent to handle it
(community / street / district / department) exists only in truth: routing it is the
pipeline's job (BRIEF roadmap: complaint triage). Storms that reached orange or red at
a gauge flood streets, so extra water and road complaints follow in that district.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

from citylake.democity.context import CityContext, SourceResult, fmt_local
from citylake.democity.deliver import deliver_complaints
from citylake.democity.geography import Community

T = TypeVar("T")
SOURCE_ID = "hotline_complaints"
BASE_PER_DAY = 36.0
CATEGORIES = ("noise", "sanitation", "road", "water", "housing", "market", "traffic", "other")
_CATEGORY_WEIGHTS = (0.20, 0.15, 0.11, 0.09, 0.13, 0.10, 0.10, 0.12)
URGENCIES = ("low", "normal", "high", "urgent")
_URGENCY_WEIGHTS = {
    "noise": (0.25, 0.55, 0.17, 0.03),
    "sanitation": (0.3, 0.55, 0.13, 0.02),
    "road": (0.1, 0.5, 0.3, 0.1),
    "water": (0.05, 0.4, 0.35, 0.2),
    "housing": (0.2, 0.55, 0.2, 0.05),
    "market": (0.3, 0.55, 0.13, 0.02),
    "traffic": (0.15, 0.5, 0.25, 0.1),
    "other": (0.4, 0.5, 0.08, 0.02),
}
LEVELS = ("community", "street", "district", "department")
_LEVEL_WEIGHTS = {
    "noise": (0.35, 0.45, 0.15, 0.05),
    "sanitation": (0.3, 0.5, 0.15, 0.05),
    "road": (0.0, 0.2, 0.4, 0.4),
    "water": (0.05, 0.15, 0.2, 0.6),
    "housing": (0.45, 0.35, 0.15, 0.05),
    "market": (0.0, 0.25, 0.55, 0.2),
    "traffic": (0.0, 0.1, 0.3, 0.6),
    "other": (0.5, 0.3, 0.15, 0.05),
}
# Who acts when the competent level is a department of the city government.
_DEPARTMENTS = {
    "noise": "生态环境局",
    "sanitation": "城市管理局",
    "road": "城市管理局",
    "water": "水务集团",
    "housing": "住房和城乡建设局",
    "market": "市场监督管理局",
    "traffic": "公安局交通警察支队",
    "other": "信访局",
}
_SUMMARIES = {
    "noise": (
        "{community}附近工地夜间施工，噪音扰民",
        "{road}沿街商铺音响声音过大，影响休息",
        "楼上住户长期深夜装修，多次沟通无果",
        "{community}广场舞音量过大，影响周边居民",
    ),
    "sanitation": (
        "{community}垃圾桶满溢多日无人清运",
        "{road}路边有建筑垃圾乱堆乱放",
        "小区内污水外溢，气味难闻",
        "{community}公共厕所卫生差，无人打扫",
    ),
    "road": (
        "{road}路面出现坑洼，车辆通行不便",
        "{road}人行道地砖松动，存在安全隐患",
        "{road}井盖缺失，行人易跌落",
        "{road}路灯不亮，夜间出行不安全",
    ),
    "water": (
        "{community}停水一天未通知",
        "{road}自来水管爆裂，路面积水",
        "家中自来水浑浊发黄",
        "{community}供水压力不足，高层无水",
    ),
    "housing": (
        "{community}物业不作为，电梯长期故障",
        "{community}楼顶漏水，要求维修",
        "租房押金不退，房东拒绝沟通",
        "{community}违章搭建，影响采光",
    ),
    "market": (
        "{road}菜市场缺斤少两",
        "购买的商品存在质量问题，商家拒绝退换",
        "{road}餐饮店无证经营",
        "超市销售过期食品",
    ),
    "traffic": (
        "{road}路口红绿灯故障",
        "{road}早晚高峰拥堵严重，建议增设信号灯",
        "{community}门口车辆乱停乱放，堵塞消防通道",
        "{road}公交站台设置不合理",
    ),
    "other": (
        "咨询{street}社区养老服务办理流程",
        "{community}流浪犬较多，存在安全隐患",
        "建议{community}增设健身器材",
        "反映{street}办事窗口服务态度问题",
    ),
}
_STORM_SUMMARIES = (
    ("water", "{road}暴雨后严重积水，车辆无法通行"),
    ("water", "{community}地下车库进水，请求排涝"),
    ("road", "{road}暴雨后路面塌陷，存在安全隐患"),
    ("road", "{road}雨后井盖被冲开，非常危险"),
)
_STORM_EXTRA = {"orange": 4.0, "red": 9.0}  # expected extra complaints per storm, scale 1
_HOUR_WEIGHTS = (1, 0.5, 0.3, 0.3, 0.3, 0.5, 1, 3, 6, 9, 10, 9, 7, 7, 8, 9, 8, 7, 6, 6, 5, 4, 3, 2)
_DOW = (1.15, 1.05, 1.0, 1.0, 1.0, 0.85, 0.8)
CALLER_CITIZEN, CALLER_STRANGER = 0.65, 0.25  # the rest call anonymously (no number)
LOCATION_WITHHELD = 0.04


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


def run(ctx: CityContext, sources_root: Path) -> SourceResult:
    geo = ctx.need_geography()
    population = ctx.need_population()
    rng = ctx.rng("complaints")
    fake = ctx.faker("complaints")
    cum = list(itertools.accumulate(c.weight for c in geo.communities))
    citizen_phones = {c.phone for c in population.citizens}
    drafts: list[tuple[date, int, str, Community, str, str | None, str]] = []

    def community_in(district_code: str | None) -> Community:
        if district_code is None:
            return geo.communities[bisect.bisect(cum, rng.random() * cum[-1])]
        return rng.choice([c for c in geo.communities if c.district_code == district_code])

    for i in range(ctx.days):
        day = ctx.start + timedelta(days=i)
        lam = BASE_PER_DAY * ctx.scale * _DOW[day.weekday()] * (1 + 0.05 * i / 365)
        for _ in range(_poisson(rng, lam)):
            category = _pick(rng, CATEGORIES, _CATEGORY_WEIGHTS)
            second = _pick(rng, range(24), _HOUR_WEIGHTS) * 3600 + rng.randrange(3600)
            text = rng.choice(_SUMMARIES[category])
            drafts.append((day, second, category, community_in(None), text, None, ""))
    for d in sorted(ctx.disruptions, key=lambda x: x.ref):
        if d.kind != "rainstorm" or d.severity not in _STORM_EXTRA:
            continue
        hours = max(1, math.ceil((d.end - d.start).total_seconds() / 3600)) + 6
        for _ in range(_poisson(rng, _STORM_EXTRA[d.severity] * ctx.scale)):
            at = d.start.replace(tzinfo=None) + timedelta(seconds=rng.randrange(3600, hours * 3600))
            if not ctx.start <= at.date() < ctx.end:
                continue
            category, text = rng.choice(_STORM_SUMMARIES)
            second = at.hour * 3600 + at.minute * 60 + at.second
            drafts.append(
                (at.date(), second, category, community_in(d.district_code), text, d.ref, "storm")
            )
    drafts.sort(key=lambda x: (x[0], x[1], x[3].code, x[4]))

    by_day: dict[date, list[dict[str, object]]] = {
        ctx.start + timedelta(days=i): [] for i in range(ctx.days)
    }
    truth_rows: list[dict[str, object]] = []
    links: list[dict[str, object]] = []
    for day, second, category, community, text, caused_by, origin in drafts:
        complaint_id = f"GD{day:%Y%m%d}{len(by_day[day]) + 1:05d}"
        urgency = _pick(rng, URGENCIES, _URGENCY_WEIGHTS[category])
        if origin == "storm":
            urgency = "urgent" if rng.random() < 0.4 else "high"
        level = _pick(rng, LEVELS, _LEVEL_WEIGHTS[category])
        if urgency == "urgent" and level != "department" and rng.random() < 0.5:
            level = LEVELS[LEVELS.index(level) + 1]  # urgent cases go one level up
        loc = geo.location(community)
        summary = text.format(
            community=loc["community"], street=loc["street"], road=fake.street_name()
        )
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
                "received_at": fmt_local(day, second),
                "category": category,
                **delivered_loc,
                "urgency": urgency,
                "caller_phone": phone,
                "summary": summary,
            }
        )
        truth_rows.append(
            {
                "complaint_id": complaint_id,
                "competent_level": level,
                "competent_department": _DEPARTMENTS[category] if level == "department" else None,
                "true_district_code": loc["district_code"],
                "true_street_code": loc["street_code"],
                "true_community_code": loc["community_code"],
                "location_withheld": withheld,
                "caller_citizen_id": caller_id,
                "caused_by": caused_by,
            }
        )
    files = deliver_complaints(sources_root, by_day)
    truth = {"complaints": truth_rows, "identity_links": links}
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
