"""Transport: motor vehicle register and taxi driver licences.

``tr_vehicle_registration`` (MariaDB, integer sequence): private cars of about a third
of adults and the fleets of firms; new registrations during the period. Dates are keyed
YYYY/MM/DD. The owner's address is whatever was on file when the car was registered,
often an old one.

``tr_taxi_licences``: daily CSV (UTF-8) from the taxi management office: the full list
of licensed drivers on the first day, then new licences and suspensions.
"""

from __future__ import annotations

from datetime import timedelta

from citylake.democity.context import CityContext
from citylake.democity.departments.builder import SourceBuilder, SourceOutput, poisson
from citylake.democity.departments.world import add_years, at, office_time, random_day

CAR_OWNERS = 0.33
NEW_CARS_PER_YEAR = 0.06  # of the fleet
PLATE_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
VIN_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
MODELS = (("大众朗逸", "汽油", "小型轿车"), ("丰田卡罗拉", "汽油", "小型轿车"), ("比亚迪秦PLUS", "插电混动", "小型轿车"),
          ("特斯拉Model 3", "纯电动", "小型轿车"), ("本田CR-V", "汽油", "小型普通客车"), ("比亚迪元PLUS", "纯电动", "小型普通客车"),
          ("吉利帝豪", "汽油", "小型轿车"), ("五菱宏光MINIEV", "纯电动", "微型轿车"), ("理想L7", "增程式", "小型普通客车"))  # fmt: skip
FLEET_MODELS = (("江铃顺达", "柴油", "轻型普通货车"), ("福田欧曼", "柴油", "重型半挂牵引车"), ("金龙XMQ6127", "柴油", "大型普通客车"),
                ("上汽大通V80", "柴油", "中型普通客车"), ("比亚迪e6", "纯电动", "小型轿车"))  # fmt: skip
TAXI_DRIVERS_PER_1000_ADULTS = 12


def _plate(rng, electric: bool) -> str:  # type: ignore[no-untyped-def]
    body = "".join(rng.choice(PLATE_CHARS) for _ in range(5 if not electric else 6))
    if electric:
        body = rng.choice("DF") + body[1:]
    return f"浙Y{body}"


def vehicle_registration(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "tr_vehicle_registration")
    w, rng = b.world, b.rng
    plates: set[str] = set()

    def add(owner, firm, model, registered, event: bool) -> None:  # type: ignore[no-untyped-def]
        name, fuel, vtype = model
        electric = fuel in ("纯电动", "插电混动", "增程式")
        while True:
            plate = _plate(rng, electric)
            if plate not in plates:
                plates.add(plate)
                break
        written = office_time(rng, registered)
        d = b.draft(written, event_day=registered if event else None)
        if firm is not None:
            d.subject(enterprise=firm, role="owner")
        else:
            d.subject(citizen=owner, role="owner")
        d.set(
            plate_no=plate,
            vin="L" + "".join(rng.choice(VIN_CHARS) for _ in range(16)),
            owner_type="单位" if firm else "个人",
        )
        if firm is not None:
            d.set(owner_name=firm.name, owner_resident_id=None)
            d.uscc("owner_uscc", firm.uscc)
            d.phone("owner_phone", firm.phone)
            d.address("owner_address", firm.address)
        else:
            d.name("owner_name", owner.name).rid("owner_resident_id", owner.resident_id).set(
                owner_uscc=None
            )
            d.phone("owner_phone", owner.phone, w.other_phone[owner.citizen_id])
            prev = w.previous_address.get(owner.citizen_id)
            d.address("owner_address", owner.address, prev[1] if prev else None)
        d.set(vehicle_type=vtype, brand_model=name, fuel_type=fuel)
        d.date("registered_on", registered, "slash")
        due = add_years(registered, 2)
        while due <= ctx.start:
            due = add_years(due, 2 if firm is None else 1)
        overdue = rng.random() < 0.04
        d.date("inspection_due", due if not overdue else due - timedelta(days=365), "slash")
        d.set(status="逾期未检验" if overdue else ("抵押" if rng.random() < 0.1 else "正常"))

    owners = [c for c in w.population.adults if 20 <= w.age(c) <= 75]
    for c in owners:
        if rng.random() < CAR_OWNERS:
            model = MODELS[rng.randrange(len(MODELS))]
            first = max(
                add_years(c.birth_date, 20), ctx.start - timedelta(days=15 * 365)
            )  # cars are scrapped
            add(c, None, model, random_day(rng, first, ctx.start - timedelta(days=1)), False)
    for e in w.enterprises.enterprises:
        if e.entity_type == "个体工商户" or e.established_on >= ctx.start:
            continue
        fleet = 0 if rng.random() < 0.8 else 1 + int(rng.expovariate(1 / 2))
        if e.industry_code == "G":
            fleet += rng.randint(2, 8)
        for _ in range(fleet):
            model = FLEET_MODELS[rng.randrange(len(FLEET_MODELS))]
            first = max(e.established_on, ctx.start - timedelta(days=12 * 365))
            add(None, e, model, random_day(rng, first, ctx.start - timedelta(days=1)), False)
    fleet_size = len(plates)
    for day, cal in zip(b.period, ctx.calendar, strict=True):
        if not cal.working:
            continue
        for _ in range(poisson(rng, fleet_size * NEW_CARS_PER_YEAR / 250)):
            c = owners[rng.randrange(len(owners))]
            add(c, None, MODELS[rng.randrange(len(MODELS))], day, True)
    return b.finish()


def taxi_licences(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "tr_taxi_licences")
    w, rng = b.world, b.rng
    companies = [
        e
        for e in w.enterprises.active_on(ctx.start)
        if e.industry_code == "G" and e.entity_type != "个体工商户"
    ][:4]
    companies = companies or w.enterprises.active_on(ctx.start)[:2]
    adults = [c for c in w.population.adults if 25 <= w.age(c) <= 60]
    men = [c for c in adults if c.gender == "M"]
    n_drivers = max(3, round(len(w.population.adults) * TAXI_DRIVERS_PER_1000_ADULTS / 1000))
    drivers = rng.sample(men, min(len(men), n_drivers))
    n = [0]
    licences: dict[
        str, tuple[str, object, object, str]
    ] = {}  # citizen -> (no, company, issued, plate)

    def add(c, company, issued, status: str, written, event_day) -> None:  # type: ignore[no-untyped-def]
        if c.citizen_id in licences:
            number, company, issued, plate = licences[c.citizen_id]
        else:
            n[0] += 1
            number, plate = f"TX{company.district_code}{n[0]:06d}", _plate(rng, rng.random() < 0.6)
            licences[c.citizen_id] = (number, company, issued, plate)
        d = b.draft(written, event_day=event_day)
        d.subject(citizen=c, role="driver").link("company", enterprise=company)
        d.set(licence_no=number)
        d.name("driver_name", c.name).rid("driver_resident_id", c.resident_id)
        d.phone("driver_phone", c.phone, w.other_phone[c.citizen_id])
        d.set(company_name=company.name).uscc("company_uscc", company.uscc)
        d.set(plate_no=plate)
        d.date("issued_on", issued, "iso").date(
            "valid_until", add_years(issued, 6) - timedelta(days=1), "iso"
        )
        d.set(status=status)

    for c in drivers:
        company = companies[rng.randrange(len(companies))]
        issued = random_day(
            rng,
            max(add_years(c.birth_date, 25), ctx.start - timedelta(days=6 * 365 - 30)),
            ctx.start - timedelta(days=1),
        )
        add(c, company, issued, "有效", at(b.first_day, 7 * 3600), None)
    taken = {c.citizen_id for c in drivers}
    suspended: set[str] = set()
    for day in b.period[1:]:
        if rng.random() < 0.15 * ctx.scale:
            c = men[rng.randrange(len(men))]
            if c.citizen_id not in taken:
                taken.add(c.citizen_id)
                add(
                    c,
                    companies[rng.randrange(len(companies))],
                    day,
                    "有效",
                    office_time(rng, day),
                    day,
                )
        if rng.random() < 0.05 * ctx.scale and drivers:
            c = drivers[rng.randrange(len(drivers))]
            if c.citizen_id not in suspended:
                suspended.add(c.citizen_id)
                add(c, None, None, "暂扣", office_time(rng, day), day)
    return b.finish()
