"""Administrative service centers: appointments, applications per matter, kiosk sessions.

The same centers as the queue tickets (:func:`citylake.democity.service_demand.build_centers`).

``svc_appointments`` (PostgreSQL, integer sequence): bookings made one to seven days
ahead through the mini-program, the web portal, the app or by phone; the final status
(checked in, no-show, cancelled) as the booking system holds it at the end.

``svc_applications`` (PostgreSQL, ``updated_at`` cursor): one row per application for
a government matter, at the counter, at a self-service kiosk or online, with the
"at most one visit" (最多跑一次) flag and whether it was resolved on the spot (即办).

``svc_kiosk_sessions``: the self-service kiosks' daily NDJSON logs; kiosks stand in
24-hour halls, so they log sessions on weekends too.
"""

from __future__ import annotations

from datetime import timedelta

from citylake.democity.context import CityContext
from citylake.democity.departments.builder import SourceBuilder, SourceOutput, poisson
from citylake.democity.departments.world import at
from citylake.democity.service_demand import build_centers

# category -> (matter code, matter, competent department, promised working days, on-the-spot share)
MATTERS = {
    "household_registration": (("HJ001", "户口迁入登记", "public_security", 20, 0.3),
                               ("HJ002", "居民身份证换领", "public_security", 15, 0.0),
                               ("HJ003", "出生登记", "public_security", 5, 0.7)),
    "social_security": (("SB001", "社会保险参保登记", "human_resources_social_security", 1, 0.9),
                        ("SB002", "退休待遇申领", "human_resources_social_security", 15, 0.0),
                        ("SB003", "失业保险金申领", "human_resources_social_security", 5, 0.3)),
    "enterprise_registration": (("QY001", "企业设立登记", "market_supervision", 1, 0.7),
                                ("QY002", "企业变更登记", "market_supervision", 3, 0.5),
                                ("QY003", "食品经营许可", "market_supervision", 10, 0.0)),
    "tax": (("SW001", "发票申领", "taxation", 1, 0.95),
            ("SW002", "税务登记信息变更", "taxation", 1, 0.8),
            ("SW003", "个人所得税汇算清缴", "taxation", 1, 0.9)),
    "housing_provident_fund": (("GJ001", "住房公积金提取", "housing_provident_fund", 3, 0.6),
                               ("GJ002", "住房公积金贷款申请", "housing_provident_fund", 15, 0.0)),
    "medical_insurance": (("YB001", "医保参保登记", "medical_insurance", 1, 0.9),
                          ("YB002", "异地就医备案", "medical_insurance", 1, 0.95),
                          ("YB003", "医疗费用零星报销", "medical_insurance", 20, 0.0)),
}  # fmt: skip
FIRM_CATEGORIES = frozenset({"enterprise_registration", "tax"})
APPOINTMENT_SHARE = 0.1  # of a center's expected daily visitors
COUNTER_APPLICATION_SHARE = 0.2
KIOSK_APPLICATION_SHARE = 0.06
ONLINE_PER_DAY = 50.0  # at scale 1, every day
KIOSK_SESSION_SHARE = 0.15
CHANNELS = (("微信小程序", 50), ("浙里办App", 25), ("政务服务网", 20), ("电话", 5))
KIOSK_SERVICES = (
    "社保查询",
    "公积金查询",
    "不动产登记查询",
    "证明打印",
    "医保缴费",
    "预约取号",
    "个税查询",
)
APPLICATION_STATUS = ("已受理", "审查中", "已办结", "不予许可", "已撤回")


def _people(w, center):  # type: ignore[no-untyped-def]
    return w.population.adults_by_district.get(center.district_code) or w.population.adults


def appointments(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "svc_appointments")
    w, rng = b.world, b.rng
    categories = list(MATTERS)
    n = 0
    for center in build_centers(ctx):
        people = _people(w, center)
        for day, cal in zip(b.period, ctx.calendar, strict=True):
            if not cal.working:
                continue
            for _ in range(poisson(rng, center.base_daily * APPOINTMENT_SHARE)):
                n += 1
                category = rng.choices(categories, center.mix)[0]
                matter = rng.choice(MATTERS[category])
                c = (
                    people[rng.randrange(len(people))]
                    if rng.random() < 0.8
                    else w.population.adults[rng.randrange(len(w.population.adults))]
                )
                booked = at(
                    day - timedelta(days=rng.randint(1, 7)), rng.randrange(7 * 3600, 23 * 3600)
                )
                d = b.draft(booked, event_day=booked.date() if booked.date() >= ctx.start else None)
                d.subject(citizen=c)
                slot = rng.randrange(9 * 4, 16 * 4 + 2) * 15 * 60
                u = rng.random()
                status = "已取消" if u < 0.12 else "爽约" if u < 0.22 else "已签到"
                d.set(
                    appointment_id=f"YY{center.center_id}{day:%Y%m%d}{n:06d}",
                    center_id=center.center_id,
                    center_name=center.name,
                    service_category=category,
                    matter_name=matter[1],
                )
                d.rid("resident_id", c.resident_id).name("name", c.name)
                d.phone("phone", c.phone, w.other_phone[c.citizen_id])
                d.set(
                    booked_at=booked.strftime("%Y-%m-%d %H:%M:%S"),
                    slot_date=day.isoformat(),
                    slot_start=f"{slot // 3600:02d}:{slot // 60 % 60:02d}",
                    channel=rng.choices([c_ for c_, _ in CHANNELS], [p for _, p in CHANNELS])[0],
                    status=status,
                )
    return b.finish()


def applications(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "svc_applications")
    w, rng = b.world, b.rng
    centers = build_centers(ctx)
    categories = list(MATTERS)
    online_mix = [1.0 / len(categories)] * len(categories)
    end_moment = at(b.last_day, 86399)
    n = 0
    for day, cal in zip(b.period, ctx.calendar, strict=True):
        arrivals = []  # (center or None, channel, mix)
        if cal.working:
            for center in centers:
                arrivals += [(center, "counter", center.mix)] * poisson(
                    rng, center.base_daily * COUNTER_APPLICATION_SHARE
                )
                arrivals += [(center, "kiosk", center.mix)] * poisson(
                    rng, center.base_daily * KIOSK_APPLICATION_SHARE
                )
        arrivals += [(None, "online", online_mix)] * poisson(rng, ONLINE_PER_DAY * ctx.scale)
        firms = w.enterprises.active_on(day)
        for center, channel, mix in arrivals:
            n += 1
            category = rng.choices(categories, mix)[0]
            code, matter, department, promised, on_spot = rng.choice(MATTERS[category])
            hours = (9 * 3600, 17 * 3600) if channel != "online" else (0, 86400)
            submitted = at(day, rng.randrange(*hours))
            spot = channel != "online" and rng.random() < on_spot
            if spot:
                completed = submitted + timedelta(minutes=rng.randint(5, 40))
                status = "已办结"
            else:
                completed = submitted + timedelta(days=rng.uniform(0.3, 1.4) * promised * 7 / 5)
                status = "已办结" if rng.random() < 0.93 else rng.choice(("不予许可", "已撤回"))
                if completed > end_moment:
                    completed, status = None, rng.choice(("已受理", "审查中"))
            d = b.draft(completed or submitted, event_day=day)
            firm = None
            if category in FIRM_CATEGORIES and firms:
                firm = firms[rng.randrange(len(firms))]
                agent = firm.legal_rep
                d.subject(enterprise=firm, role="applicant").link("agent", citizen=agent)
            else:
                pool = _people(w, center) if center else w.population.adults
                agent = pool[rng.randrange(len(pool))]
                d.subject(citizen=agent, role="applicant")
            d.set(
                application_no=f"SQ{day:%Y%m%d}{n:07d}",
                matter_code=code,
                matter_name=matter,
                service_category=category,
                competent_department=department,
                applicant_type="企业" if firm else "个人",
            )
            d.name("applicant_name", firm.name if firm else agent.name)
            d.rid("applicant_resident_id", agent.resident_id)
            d.uscc("applicant_uscc", firm.uscc if firm else None)
            d.phone("applicant_phone", agent.phone, w.other_phone[agent.citizen_id])
            d.set(
                center_id=center.center_id if center else None,
                channel=channel,
                submitted_at=submitted.strftime("%Y-%m-%d %H:%M:%S"),
                one_visit=rng.random() < 0.92,
                resolved_on_spot=spot,
                status=status,
                promised_days=promised,
                completed_at=completed.strftime("%Y-%m-%d %H:%M:%S") if completed else None,
            )
    return b.finish()


def kiosk_sessions(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "svc_kiosk_sessions")
    w, rng = b.world, b.rng
    n = 0
    for center in build_centers(ctx):
        kiosks = [f"{center.center_id}-K{k:02d}" for k in range(1, 3 + center.counters // 6)]
        people = _people(w, center)
        for day, cal in zip(b.period, ctx.calendar, strict=True):
            rate = center.base_daily * KIOSK_SESSION_SHARE * (1.0 if cal.working else 0.35)
            starts = sorted(rng.randrange(8 * 3600, 20 * 3600) for _ in range(poisson(rng, rate)))
            for s in starts:
                n += 1
                began = at(day, s)
                ended = began + timedelta(seconds=rng.randint(30, 600))
                login = rng.choices(("身份证", "刷脸", "扫码", "未登录"), (40, 25, 20, 15))[0]
                c = people[rng.randrange(len(people))] if login != "未登录" else None
                d = b.draft(ended, event_day=day)
                if c is not None:
                    d.subject(citizen=c)
                outcome = rng.choices(("完成", "放弃", "故障"), (80, 17, 3))[0]
                service = rng.choice(KIOSK_SERVICES)
                d.set(
                    session_id=f"KS{day:%Y%m%d}{n:06d}",
                    kiosk_id=rng.choice(kiosks),
                    center_id=center.center_id,
                    started_at=began.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
                    ended_at=ended.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
                    login_method=login,
                )
                # The card reader and face match read the number: only the QR path mistypes.
                if c is not None and login == "扫码":
                    d.rid("resident_id", c.resident_id)
                else:
                    d.set(resident_id=c.resident_id if c else None)
                d.set(
                    service=service,
                    pages_viewed=rng.randint(1, 12),
                    outcome=outcome,
                    printed_pages=rng.randint(1, 5)
                    if service == "证明打印" and outcome == "完成"
                    else 0,
                )
    return b.finish()
