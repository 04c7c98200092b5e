"""Urban management: manhole covers (PostgreSQL asset register) and street lights (CSV).

``um_manhole_covers``: one row per cover with its owner (a utility or municipal
facilities firm), position, material and condition; covers on main roads carry tilt
sensors. New covers installed in the period are appended (integer sequence cursor).

``um_street_lights``: the lighting office's daily CSV: the full inventory on the first
day, then every light whose status changed (faults reported, repairs done).
"""

from __future__ import annotations

from datetime import date, timedelta

from citylake.democity.context import CityContext
from citylake.democity.departments.builder import SourceBuilder, SourceOutput
from citylake.democity.departments.world import at, office_time, random_day

COVERS = 600  # at scale 1
LIGHTS = 900  # at scale 1
ASSET_OWNERS = {"雨水": "DN", "污水": "DN", "给水": "D", "燃气": "D", "电力": "D", "通信": "I"}
# District centres (lon, lat) of the fictional city; streets scatter around them.
CENTRES = {
    "339902": (121.62, 29.94),
    "339903": (121.55, 29.99),
    "339904": (121.70, 30.02),
    "339905": (121.78, 29.90),
}
LIGHT_FAULTS_PER_DAY = 0.004
ROADS = (
    "解放路",
    "中山路",
    "人民路",
    "建设路",
    "滨江大道",
    "环城北路",
    "兴港大道",
    "文昌路",
    "青山路",
    "临湖路",
)


def _position(rng, district_code: str) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    lon, lat = CENTRES.get(district_code, (121.65, 29.95))
    return round(lon + rng.gauss(0, 0.025), 6), round(lat + rng.gauss(0, 0.02), 6)


def manhole_covers(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "um_manhole_covers")
    w, rng = b.world, b.rng
    firms = w.enterprises.active_on(ctx.start)
    owners = {
        kind: [e for e in firms if e.industry_code in codes and e.entity_type != "个体工商户"]
        or firms
        for kind, codes in ASSET_OWNERS.items()
    }
    kinds = list(ASSET_OWNERS)
    n_covers = max(20, round(COVERS * ctx.scale))
    new_in_period = max(1, round(n_covers * 0.01 * ctx.days / 30))
    sensor = 0
    for i in range(1, n_covers + new_in_period + 1):
        community = w.geo.communities[rng.randrange(len(w.geo.communities))]
        kind = rng.choices(kinds, (4, 4, 2, 1, 2, 1))[0]
        owner = owners[kind][rng.randrange(len(owners[kind]))]
        event = i > n_covers
        installed = (
            b.period[rng.randrange(ctx.days)]
            if event
            else random_day(rng, date(1995, 1, 1), ctx.start - timedelta(days=1))
        )
        d = b.draft(
            office_time(rng, installed) if event else at(installed, 10 * 3600),
            event_day=installed if event else None,
        )
        d.subject(enterprise=owner, role="owner")
        lon, lat = _position(rng, community.district_code)
        road = rng.choice(ROADS)
        has_sensor = rng.random() < 0.15 or (road in ROADS[:3] and rng.random() < 0.5)
        if has_sensor:
            sensor += 1
        inspected = (
            installed
            if event
            else random_day(
                rng, max(installed, ctx.start - timedelta(days=365)), ctx.start - timedelta(days=1)
            )
        )
        d.set(
            cover_id=f"MH-{community.district_code}-{i:06d}",
            asset_type=kind,
            owner_unit=owner.name,
        )
        d.uscc("owner_uscc", owner.uscc)
        d.set(
            district_code=community.district_code,
            street_code=community.street_code,
            community_code=community.code,
            road=road,
            longitude=lon,
            latitude=lat,
            material=rng.choices(("球墨铸铁", "复合材料", "混凝土"), (6, 3, 1))[0],
            diameter_mm=rng.choice((600, 700, 800, 1000)),
            installed_on=installed.isoformat(),
            last_inspected_on=inspected.isoformat(),
            condition=rng.choices(("完好", "破损", "缺失", "沉降"), (90, 6, 1, 3))[0],
            tilt_sensor_id=f"MT-{sensor:04d}" if has_sensor else None,
        )
    return b.finish()


def street_lights(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "um_street_lights")
    w, rng = b.world, b.rng
    firms = w.enterprises.active_on(ctx.start)
    maintainers = [e for e in firms if e.industry_code in "EDN" and e.entity_type != "个体工商户"][
        :5
    ] or firms[:3]
    lights = []
    for i in range(1, max(20, round(LIGHTS * ctx.scale)) + 1):
        street = w.geo.streets[rng.randrange(len(w.geo.streets))]
        lights.append(
            {
                "light_id": f"LD{street.code}{i:05d}",
                "street": street,
                "road": rng.choice(ROADS),
                "lamp_type": rng.choices(("LED", "高压钠灯", "太阳能LED"), (6, 3, 1))[0],
                "maintainer": maintainers[rng.randrange(len(maintainers))],
                "installed": random_day(rng, date(2008, 1, 1), ctx.start - timedelta(days=1)),
                "height": rng.choice((6.0, 8.0, 10.0, 12.0)),
            }
        )

    def add(light, status: str, fault_on: date | None, written, event_day) -> None:  # type: ignore[no-untyped-def]
        firm = light["maintainer"]
        d = b.draft(written, event_day=event_day)
        d.subject(enterprise=firm, role="maintainer")
        power = {"LED": 120, "高压钠灯": 250, "太阳能LED": 60}[light["lamp_type"]]
        d.set(
            light_id=light["light_id"],
            road=light["road"],
            district_code=light["street"].district_code,
            street_code=light["street"].code,
            lamp_type=light["lamp_type"],
            power_w=power,
            pole_height_m=light["height"],
            maintainer_name=firm.name,
        )
        d.uscc("maintainer_uscc", firm.uscc)
        d.date("installed_on", light["installed"], "iso")
        d.set(status=status)
        d.date("fault_reported_on", fault_on, "iso")

    for light in lights:
        broken = rng.random() < 0.02
        add(
            light,
            "故障" if broken else "正常",
            ctx.start - timedelta(days=rng.randint(1, 10)) if broken else None,
            at(b.first_day, 6 * 3600),
            None,
        )
    open_faults: dict[str, date] = {}
    for day in b.period[1:]:
        for light in lights:
            lid = light["light_id"]
            if lid in open_faults:
                if rng.random() < 0.35:
                    add(light, "正常", None, at(day, rng.randrange(9 * 3600, 18 * 3600)), day)
                    del open_faults[lid]
            elif rng.random() < LIGHT_FAULTS_PER_DAY:
                open_faults[lid] = day
                add(light, "故障", day, at(day, rng.randrange(0, 86400)), day)
    return b.finish()
