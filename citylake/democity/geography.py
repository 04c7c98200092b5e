"""The demo city's administrative divisions: districts → streets → communities.

The city is fictional (云港市, division code prefix 3399, which GB/T 2260 does not
assign) so no generated record can be mistaken for a real person's. Codes follow the
statistical division code shapes: 6-digit district, 9-digit street (township level),
12-digit community (village level).

The geography is the *city*, not a sample: it is built from a fixed stream, independent
of the seed and the scale, so dashboards, dbt seeds and tests can rely on stable codes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

CITY_NAME = "云港市"
CITY_CODE = "339900"
# (code, name, streets): four districts, a dense old town and newer outer districts.
_DISTRICTS: tuple[tuple[str, str, int], ...] = (
    ("339902", "江滨区", 8),
    ("339903", "青山区", 7),
    ("339904", "临湖区", 7),
    ("339905", "新港区", 6),
)
_STREET_STEM_TEXT = "湖滨南山北塘东风西溪长桥柳岸梅园桂花石桥望江清河白沙金桥翠苑朝晖月湖文昌凤凰云栖松林枫桥紫阳春晖锦绣和平光明新华兴港滨海"
# Two-character stems, one per street.
_STREET_STEMS = [_STREET_STEM_TEXT[i : i + 2] for i in range(0, len(_STREET_STEM_TEXT), 2)]
_COMMUNITY_FIRST = tuple(
    "安宝博采昌春丹德东枫福桂海和华惠佳嘉锦景康兰乐丽林龙茂美明南宁平启庆瑞润盛仕双顺泰天同万文祥欣新兴秀阳怡益永裕悦云泽兆振中竹"
)
_COMMUNITY_SECOND = tuple("苑园里湾庭坊城府景源塘桥岸苑馨汇")
_COMMUNITY_SUFFIX = ("社区", "社区", "社区", "新村社区", "花园社区", "家园社区")


@dataclass(frozen=True)
class District:
    code: str
    name: str


@dataclass(frozen=True)
class Street:
    code: str
    name: str
    district_code: str


@dataclass(frozen=True)
class Community:
    code: str
    name: str
    street_code: str
    district_code: str
    weight: float  # relative number of residents


@dataclass
class Geography:
    city_name: str
    city_code: str
    districts: list[District]
    streets: list[Street]
    communities: list[Community]
    _district: dict[str, District] = field(default_factory=dict, repr=False)
    _street: dict[str, Street] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._district = {d.code: d for d in self.districts}
        self._street = {s.code: s for s in self.streets}

    def district(self, code: str) -> District:
        return self._district[code]

    def street(self, code: str) -> Street:
        return self._street[code]

    def streets_of(self, district_code: str) -> list[Street]:
        return [s for s in self.streets if s.district_code == district_code]

    def communities_of_street(self, street_code: str) -> list[Community]:
        return [c for c in self.communities if c.street_code == street_code]

    def location(self, community: Community) -> dict[str, str]:
        """The six location columns (codes and names) every source uses."""
        street = self.street(community.street_code)
        district = self.district(community.district_code)
        return {
            "district_code": district.code,
            "district": district.name,
            "street_code": street.code,
            "street": street.name,
            "community_code": community.code,
            "community": community.name,
        }

    def rows(self) -> list[dict[str, object]]:
        """One row per community with its whole chain (the truth/reference table)."""
        return [{**self.location(c), "resident_weight": c.weight} for c in self.communities]


def build_geography() -> Geography:
    rng = random.Random("citylake:geography:v1")
    stems = rng.sample(_STREET_STEMS, sum(n for _, _, n in _DISTRICTS))
    used_names: set[str] = set()
    districts: list[District] = []
    streets: list[Street] = []
    communities: list[Community] = []
    for code, name, n_streets in _DISTRICTS:
        districts.append(District(code, name))
        for s in range(1, n_streets + 1):
            street = Street(f"{code}{s:03d}", f"{stems.pop()}街道", code)
            streets.append(street)
            for c in range(1, rng.randint(4, 7) + 1):
                while True:
                    stem = rng.choice(_COMMUNITY_FIRST) + rng.choice(_COMMUNITY_SECOND)
                    cname = stem + rng.choice(_COMMUNITY_SUFFIX)
                    if stem not in used_names:
                        used_names.add(stem)
                        break
                weight = round(rng.lognormvariate(0.0, 0.5), 3)
                communities.append(
                    Community(f"{street.code}{c:03d}", cname, street.code, code, weight)
                )
    return Geography(CITY_NAME, CITY_CODE, districts, streets, communities)
