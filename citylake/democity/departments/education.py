"""Education: the student register (学籍), delivered as Excel workbooks.

The bureau sends the full register of the city's kindergarten and school children as a
workbook (data on the sheet ``学籍``, a cover sheet in front) on the first day, then a
workbook of changes (transfers in and out, new pupils) on the 1st of every month. The
national student number is ``G`` followed by the child's resident ID as first entered,
which is why it survives a later correction of the ID column.
"""

from __future__ import annotations

from datetime import date, timedelta

from citylake.democity.context import CityContext
from citylake.democity.departments.builder import SourceBuilder, SourceOutput
from citylake.democity.departments.world import GENDER_CN, at
from citylake.democity.population import Citizen

TRANSFERS_PER_MONTH = 0.01
GRADES = ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级")
LEVELS = (
    (3, 5, "幼儿园", ("小班", "中班", "大班")),
    (6, 11, "小学", GRADES),
    (12, 14, "初中", ("初一", "初二", "初三")),
    (15, 17, "高中", ("高一", "高二", "高三")),
)


def _school(w, c: Citizen, level: str) -> str:  # type: ignore[no-untyped-def]
    district = w.geo.district(c.community.district_code).name
    street = w.geo.street(c.community.street_code).name[:2]
    if level == "幼儿园":
        return f"{district}{street}幼儿园"
    if level == "小学":
        return f"{district}{street}小学"
    if level == "初中":
        return f"{district}{w.trait(c.citizen_id, 'middle', ('第一', '第二', '实验'))}初级中学"
    return f"云港市{w.trait(c.citizen_id, 'high', ('第一', '第二', '第三', '外国语'))}高级中学"


def _enrolment_year(start: date, age: int, first_age: int) -> int:
    school_year = start.year if start.month >= 9 else start.year - 1
    return school_year - (age - first_age)


def enrolment(ctx: CityContext) -> SourceOutput:
    b = SourceBuilder(ctx, "edu_enrolment")
    w, rng = b.world, b.rng
    changes_on = [d for d in b.period[1:] if d.day == 1]
    delivery_days = [b.first_day, *changes_on]
    pupils = []
    for c in w.population.citizens:
        age = w.age(c)
        for lo, hi, level, grades in LEVELS:
            if lo <= age <= hi:
                pupils.append((c, level, grades[min(age - lo, len(grades) - 1)], lo))
    transfers: dict[str, date] = {}
    for day in changes_on:
        for c, *_ in pupils:
            if c.citizen_id not in transfers and rng.random() < TRANSFERS_PER_MONTH:
                moved = day - timedelta(days=rng.randint(1, 25))
                transfers[c.citizen_id] = max(moved, b.first_day + timedelta(days=1))

    def add(
        c: Citizen, level: str, grade: str, first_age: int, written, change: str, event_day
    ) -> None:  # type: ignore[no-untyped-def]
        guardian = w.guardian(c)
        d = b.draft(written, event_day=event_day)
        d.subject(citizen=c, role="student")
        if guardian is not None:
            d.link("guardian", citizen=guardian)
        d.set(student_no=f"G{c.resident_id}")
        d.name("name", c.name).set(gender=GENDER_CN[c.gender])
        d.date("birth_date", c.birth_date, "iso")
        d.rid("resident_id", c.resident_id)
        d.set(school=_school(w, c, level), school_level=level, grade=grade)
        year = _enrolment_year(ctx.start, w.age(c), first_age)
        d.date("enrolled_on", date(year, 9, 1), "iso")
        d.name("guardian_name", guardian.name if guardian else None)
        d.phone(
            "guardian_phone",
            guardian.phone if guardian else None,
            w.other_phone[guardian.citizen_id] if guardian else None,
        )
        d.rid(
            "guardian_resident_id",
            guardian.resident_id if guardian and rng.random() < 0.7 else None,
        )
        prev = w.previous_address.get(c.citizen_id)
        d.address("address", c.address, prev[1] if prev else None)
        d.set(change_type=change)

    for c, level, grade, first_age in pupils:
        add(c, level, grade, first_age, at(b.first_day, 8 * 3600), "在籍", None)
    for c, level, grade, first_age in pupils:
        moved = transfers.get(c.citizen_id)
        if moved is not None:
            kind = "转出" if rng.random() < 0.5 else "转入"
            add(c, level, grade, first_age, at(moved, 10 * 3600), kind, moved)
    return b.finish(delivery_days=delivery_days)
