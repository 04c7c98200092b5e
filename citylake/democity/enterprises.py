"""The city's enterprises: credit codes, legacy registration numbers, legal representatives.

Every enterprise has a valid unified social credit code (GB 32100-2015): registration
authority ``9`` (market supervision), entity kind (``1`` enterprise, ``2`` individual
business), the 6-digit district code of the registering authority, a 9-char
organization code with its own GB 11714 check character (firms registered after the
2015 reform get the ``MA`` codes), and the check character.

Firms registered before 2015-10-01 also carry their old 15-digit business registration
number (6-digit authority code, 8-digit sequence, ISO 7064 MOD 11,10 check digit).
About 15 % of all firms are *legacy-only*: older department systems never recorded
their credit code and know them by the 15-digit number alone (the enterprise master
at market supervision has both).

Legal representatives are citizens of the shared population, so an analyst (and the
entity resolution) can walk from a firm to a person. The enterprises are built once per
city and kept in ``ctx.extras["enterprises"]`` like the population: every department
refers to the same firms.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from citylake.democity.context import CityContext
from citylake.democity.geography import Community, Geography
from citylake.democity.population import Citizen
from citylake.identity import USCC_ALPHABET, make_uscc, organization_code_check_char

BASE_ENTERPRISES = 300
LEGACY_ONLY_SHARE = 0.15
NEW_PER_YEAR = 0.12  # new registrations a year, as a share of the stock
USCC_REFORM = date(2015, 10, 1)  # "three certificates in one": credit codes from here on
EXTRAS_KEY = "enterprises"

# GB/T 4754-2017 sections: (code, name, weight, words used in firm names)
INDUSTRIES: tuple[tuple[str, str, float, tuple[str, ...]], ...] = (
    ("A", "农、林、牧、渔业", 0.02, ("生态农业", "水产养殖", "农业开发")),
    ("C", "制造业", 0.17, ("机械制造", "电子科技", "纺织", "新材料", "精密机械", "食品")),
    ("D", "电力、热力、燃气及水生产和供应业", 0.015, ("燃气", "水务", "供电服务", "热力")),
    ("E", "建筑业", 0.07, ("建设工程", "建筑安装", "装饰工程", "市政工程")),
    ("F", "批发和零售业", 0.24, ("商贸", "贸易", "百货", "超市", "医药连锁")),
    ("G", "交通运输、仓储和邮政业", 0.05, ("物流", "运输", "出租汽车", "仓储")),
    ("H", "住宿和餐饮业", 0.08, ("餐饮管理", "酒店管理", "餐饮")),
    ("I", "信息传输、软件和信息技术服务业", 0.08, ("网络科技", "信息技术", "软件")),
    ("K", "房地产业", 0.04, ("房地产开发", "物业管理", "置业")),
    ("L", "租赁和商务服务业", 0.08, ("企业管理咨询", "商务咨询", "人力资源")),
    ("M", "科学研究和技术服务业", 0.045, ("检测技术", "工程设计", "生物科技")),
    ("N", "水利、环境和公共设施管理业", 0.02, ("环境工程", "市政设施管理", "园林绿化")),
    ("O", "居民服务、修理和其他服务业", 0.04, ("家政服务", "汽车维修", "洗涤服务")),
    ("R", "文化、体育和娱乐业", 0.03, ("文化传媒", "娱乐", "网络会所", "健身")),
)
# (entity type, weight, USCC entity-kind character, name suffix)
ENTITY_TYPES: tuple[tuple[str, float, str, str], ...] = (
    ("有限责任公司", 0.62, "1", "有限公司"),
    ("股份有限公司", 0.04, "1", "股份有限公司"),
    ("个人独资企业", 0.05, "1", "经营部"),
    ("合伙企业", 0.03, "1", "合伙企业（有限合伙）"),
    ("个体工商户", 0.26, "2", "店"),
)
STATUSES: tuple[tuple[str, float], ...] = (
    ("存续", 0.88),
    ("吊销", 0.04),
    ("注销", 0.06),
    ("迁出", 0.02),
)
ACTIVE_STATUSES = frozenset({"存续"})


@dataclass(frozen=True)
class Enterprise:
    enterprise_id: str
    name: str
    uscc: str
    legacy_registration_no: str | None  # firms registered before the 2015 reform
    legacy_only: bool  # older department systems know it by the legacy number only
    entity_type: str
    industry_code: str
    industry: str
    registered_capital: float | None  # 10k yuan; individual businesses have none
    established_on: date
    status: str
    legal_rep: Citizen
    community: Community
    address: str
    phone: str
    employees: int

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def district_code(self) -> str:
        return self.community.district_code

    def exists_on(self, day: date) -> bool:
        return self.established_on <= day

    @property
    def organization_code(self) -> str:
        return self.uscc[8:17]


@dataclass
class Enterprises:
    enterprises: list[Enterprise]
    by_id: dict[str, Enterprise] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.by_id = {e.enterprise_id: e for e in self.enterprises}

    @property
    def active(self) -> list[Enterprise]:
        return [e for e in self.enterprises if e.active]

    def active_on(self, day: date) -> list[Enterprise]:
        """Active firms already registered on ``day``."""
        return [e for e in self.enterprises if e.active and e.established_on <= day]

    def in_industries(self, codes: str, *, active: bool = True) -> list[Enterprise]:
        return [
            e for e in self.enterprises if e.industry_code in codes and (e.active or not active)
        ]

    def truth_rows(self, geography: Geography) -> list[dict[str, object]]:
        return [
            {
                "enterprise_id": e.enterprise_id,
                "name": e.name,
                "uscc": e.uscc,
                "legacy_registration_no": e.legacy_registration_no,
                "legacy_only": e.legacy_only,
                "entity_type": e.entity_type,
                "industry_code": e.industry_code,
                "industry": e.industry,
                "registered_capital": e.registered_capital,
                "established_on": e.established_on,
                "status": e.status,
                "legal_rep_citizen_id": e.legal_rep.citizen_id,
                **geography.location(e.community),
                "address": e.address,
                "phone": e.phone,
                "employees": e.employees,
            }
            for e in self.enterprises
        ]


# ---------------------------------------------------------------- legacy registration numbers


def legacy_registration_check_digit(first14: str) -> str:
    """ISO 7064 MOD 11,10 check digit of a 15-digit business registration number."""
    if len(first14) != 14 or not first14.isdigit():
        raise ValueError(f"need 14 digits, got {first14!r}")
    p = 10
    for ch in first14:
        s = (p + int(ch)) % 10 or 10
        p = (2 * s) % 11
    return str((11 - p) % 10)


def is_valid_legacy_registration(value: object) -> bool:
    """15 ASCII digits whose last one is the MOD 11,10 check digit."""
    return (
        isinstance(value, str)
        and len(value) == 15
        and value.isascii()
        and value.isdigit()
        and value[14] == legacy_registration_check_digit(value[:14])
    )


def make_legacy_registration(authority: str, sequence: int) -> str:
    first14 = f"{authority}{sequence:08d}"
    return first14 + legacy_registration_check_digit(first14)


# ---------------------------------------------------------------- generation


def _weighted(rng, items, weights_cum):  # type: ignore[no-untyped-def]
    return items[bisect.bisect(weights_cum, rng.random() * weights_cum[-1])]


def _prefix(fake, word: str) -> str:  # type: ignore[no-untyped-def]
    """A trade name from Faker, without a trailing 公司/国际 or a repeat of ``word``."""
    prefix = fake.company_prefix().removesuffix("公司").removesuffix("国际")
    if word[:2] in prefix:
        prefix = prefix.replace(word[:2], "") or prefix
    return prefix


def _organization_code(rng, modern: bool) -> str:  # type: ignore[no-untyped-def]
    if modern:
        body = "MA" + "".join(rng.choice(USCC_ALPHABET) for _ in range(6))
    else:
        body = "".join(rng.choice("0123456789") for _ in range(8))
    return body + organization_code_check_char(body)


def generate_enterprises(ctx: CityContext) -> Enterprises:
    geo = ctx.need_geography()
    population = ctx.need_population()
    rng = ctx.rng("enterprises")
    fake = ctx.faker("enterprises")
    n = max(10, round(BASE_ENTERPRISES * ctx.scale))
    ind_cum = list(itertools.accumulate(w for _, _, w, _ in INDUSTRIES))
    type_cum = list(itertools.accumulate(w for _, w, _, _ in ENTITY_TYPES))
    status_cum = list(itertools.accumulate(w for _, w in STATUSES))
    communities = geo.communities
    com_cum = list(itertools.accumulate(c.weight for c in communities))
    # Representatives: adults 25..70 at the start, men more often (as registers show).
    latest = ctx.start - timedelta(days=25 * 365 + 6)
    earliest = ctx.start - timedelta(days=70 * 365 + 17)
    reps = [c for c in population.adults if earliest <= c.birth_date <= latest] or population.adults
    rep_w = list(itertools.accumulate(1.6 if c.gender == "M" else 1.0 for c in reps))
    used_names: set[str] = set()
    used_codes: set[str] = set()
    legacy_seq = itertools.count(rng.randrange(100000, 400000))
    n_new = min(n // 10, round(n * NEW_PER_YEAR * ctx.days / 365))
    new_in_period = set(rng.sample(range(1, n + 1), n_new))
    drafts = []
    for i in range(1, n + 1):
        code, industry, _, words = _weighted(rng, INDUSTRIES, ind_cum)
        etype, _, kind_char, suffix = _weighted(rng, ENTITY_TYPES, type_cum)
        community = _weighted(rng, communities, com_cum)
        district = geo.district(community.district_code)
        street = geo.street(community.street_code)
        rep = _weighted(rng, reps, rep_w)
        # Firm ages: many young firms, a long tail back to the 1990s.
        age_days = min(int(rng.expovariate(1 / 4200)), (ctx.start - date(1992, 1, 1)).days)
        adult_on = rep.birth_date + timedelta(days=20 * 365 + 5)
        established = max(ctx.start - timedelta(days=age_days + 30), adult_on)
        if i in new_in_period:  # registered during the period: departments see it arrive
            established = ctx.start + timedelta(days=rng.randrange(ctx.days))
        modern = established >= USCC_REFORM
        while True:
            org = _organization_code(rng, modern)
            uscc = make_uscc(f"9{kind_char}{district.code}{org}")
            if uscc not in used_codes:
                used_codes.add(uscc)
                break
        for attempt in itertools.count():
            word = rng.choice(words)
            if etype == "个体工商户":
                name = f"{district.name[:2]}{rep.name[0]}记{word}{suffix}"
                if attempt:
                    name = f"{district.name[:2]}{street.name[:2]}{rep.name[0]}记{word}{suffix}"
                if attempt > 1:
                    name = f"{district.name[:2]}{_prefix(fake, word)}{word}{suffix}"
                if attempt > 4:
                    name = f"{district.name[:2]}{street.name[:2]}{rep.name}{word}{suffix}"
            else:
                prefix = _prefix(fake, word)
                if attempt > 2:  # the name pool of one industry runs out in a big city
                    prefix += _prefix(fake, word)
                name = f"云港{prefix}{word}{suffix}"
            if attempt > 20:  # guaranteed to end: a branch number, as registers allow
                name = f"{name.removesuffix(suffix)}{attempt}{suffix}"
            if name not in used_names:
                used_names.add(name)
                break
        legacy = None
        if not modern:
            first = "6" if etype == "个体工商户" else str(rng.randrange(0, 4))
            legacy = make_legacy_registration(district.code, int(first) * 10**7 + next(legacy_seq))
        capital = None
        if etype != "个体工商户":
            capital = round(min(50000.0, rng.lognormvariate(math.log(100), 1.3)), 2)
        employees = max(1, min(3000, round(rng.lognormvariate(math.log(6), 1.2))))
        if etype == "个体工商户":
            employees = min(employees, 8)
        status = _weighted(rng, [s for s, _ in STATUSES], status_cum)
        if i in new_in_period:
            status = "存续"
        floor = f"{rng.randint(1, 20)}楼{rng.randint(1, 30):02d}室" if rng.random() < 0.5 else ""
        address = (
            f"{geo.city_name}{district.name}{street.name}{fake.street_name()}"
            f"{rng.randint(1, 999)}号{floor}"
        )
        phone = rep.phone if rng.random() < 0.6 else fake.phone_number()
        drafts.append(
            {
                "enterprise_id": f"EN{i:06d}",
                "name": name,
                "uscc": uscc,
                "legacy_registration_no": legacy,
                "entity_type": etype,
                "industry_code": code,
                "industry": industry,
                "registered_capital": capital,
                "established_on": established,
                "status": status,
                "legal_rep": rep,
                "community": community,
                "address": address,
                "phone": phone,
                "employees": employees,
            }
        )
    # Legacy-only: a fixed share of all firms, drawn among those that have a legacy number.
    old = [d["enterprise_id"] for d in drafts if d["legacy_registration_no"]]
    k = min(len(old), round(LEGACY_ONLY_SHARE * n))
    legacy_only = set(rng.sample(old, k))
    enterprises = [
        Enterprise(legacy_only=d["enterprise_id"] in legacy_only, **d)  # type: ignore[arg-type]
        for d in drafts
    ]
    return Enterprises(enterprises)


def ensure_enterprises(ctx: CityContext) -> Enterprises:
    """The city's enterprises, generated on first use and kept in ``ctx.extras``."""
    found = ctx.extras.get(EXTRAS_KEY)
    if found is None:
        found = generate_enterprises(ctx)
        ctx.extras[EXTRAS_KEY] = found
    return found
