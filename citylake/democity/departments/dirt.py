"""How dirty each department's data is, and the functions that make it so.

``DIRT_RATES`` is the one table of per-department rates. Every function here takes the
true value, returns what the department delivers, and appends one entry per change to
the record's corruption list (``field``, ``kind``, ``true_value``, ``delivered_value``),
which becomes the record's ground truth. Nothing here draws random numbers except from
the ``random.Random`` it is given, so a source's dirt is reproducible from its stream.

Kinds of corruption (the ``kind`` recorded in truth):

* identifiers: ``missing``, ``check_char`` (wrong check character), ``transposed`` (two
  adjacent characters swapped; GB 11643 and GB 32100 weights detect every such swap),
  ``lowercase_x``, ``fullwidth`` (digits keyed full-width), ``trailing_space``;
* names: ``typo`` (a homophone of a given-name character), ``traditional`` (OpenCC
  s2t), ``pinyin``, ``trailing_space``;
* ``date_format``: a date in another of the formats departments use than the source's
  house format (YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD, YYYY年MM月DD日);
* ``other_phone`` / ``other_address``: the person's other phone or previous address
  instead of the one the household register holds; ``phone_format``: spaces, dashes,
  ``+86`` or full-width digits; ``fullwidth`` on an address;
* delivery: ``duplicate_delivery`` (the record delivered again) and ``late_arrival``
  (delivered days after it happened), applied by the source builder.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields
from datetime import date
from functools import cache
from typing import Any

from citylake.identity import RESIDENT_ID_CHECK_CHARS, USCC_ALPHABET

Corruptions = list[dict[str, Any]]


@dataclass(frozen=True)
class DirtRates:
    id_missing: float = 0.0  # identifier left empty
    id_check_char: float = 0.0  # wrong check character
    id_transposed: float = 0.0  # two adjacent characters swapped
    id_lowercase_x: float = 0.0  # of resident ids ending in X: keyed as x
    id_fullwidth: float = 0.0  # digits keyed full-width
    id_trailing_space: float = 0.0
    name_typo: float = 0.0  # a homophone character
    name_traditional: float = 0.0  # traditional characters
    name_pinyin: float = 0.0  # romanized
    name_trailing_space: float = 0.0
    date_mixed: float = 0.0  # a date in another format than the house format
    phone_other: float = 0.0  # the person's other phone
    phone_format: float = 0.0  # +86, spaces, dashes, full-width digits
    address_other: float = 0.0  # the person's previous address
    address_fullwidth: float = 0.0  # house numbers keyed full-width
    duplicate: float = 0.0  # record delivered twice (file drops and APIs)
    late: float = 0.0  # record delivered 1-7 days after it happened

    @property
    def id_invalid(self) -> float:
        """Share of non-empty identifiers failing a strict checksum (upper bound)."""
        return (
            self.id_check_char
            + self.id_transposed
            + self.id_fullwidth
            + self.id_trailing_space
            + 0.1 * self.id_lowercase_x  # about one resident id in eleven ends in X
        )


_COLUMNS = tuple(f.name for f in fields(DirtRates))
# One row per department, columns in DirtRates order:
#  id: missing check transposed lower_x fullwidth trailing | name: typo trad pinyin trailing
#  | date_mixed | phone: other format | address: other fullwidth | duplicate late
_TABLE: dict[str, tuple[float, ...]] = {
    # The household register is the citizen master: the cleanest of all.
    "public_security": (0, .001, .001, 0, 0, 0, .002, 0, 0, 0, 0, .03, 0, 0, 0, 0, .002),
    "civil_affairs": (.01, .01, .008, .3, 0, .01, .01, .02, 0, .01, .25, .2, .05, .15, .02, .01, .03),
    "human_resources_social_security": (.005, .008, .005, .2, 0, .005, .008, .005, .003, .005, .15, .25, .05, .1, 0, .02, .05),
    "housing_provident_fund": (.003, .006, .004, .2, 0, .004, .006, .003, 0, .004, .1, .2, .03, .1, 0, 0, .02),
    "medical_insurance": (.005, .005, .004, .1, 0, 0, .006, .003, .002, 0, .1, .2, .03, .1, 0, .01, .03),
    "health": (.03, .015, .01, .3, .005, .02, .02, .01, 0, .02, .3, .3, .1, .2, .05, .02, .08),
    "education": (.02, .01, .01, .4, 0, .02, .015, .01, .005, .01, .2, .3, .08, .2, .03, .01, .02),
    # The enterprise master: clean identifiers, phones as firms keep them.
    "market_supervision": (0, .002, .001, .1, 0, 0, .003, 0, 0, 0, 0, .1, .02, 0, 0, .005, .01),
    "taxation": (.005, .01, .008, .2, .02, .01, .005, .005, 0, .005, .2, .15, .1, .05, .1, .02, .05),
    "natural_resources": (0, .004, .003, .2, 0, .005, .005, .01, 0, 0, 0, .2, .02, .1, 0, 0, .02),
    "housing_construction": (.01, .01, .01, .2, 0, .01, .01, 0, 0, .01, .3, .2, .05, 0, .02, .02, .05),
    "transport": (.005, .01, .008, .3, 0, .01, .01, .02, .005, .01, .2, .3, .05, .3, 0, .01, .03),
    "culture_tourism": (.03, .015, .01, .3, .03, .02, .02, .01, 0, .02, .35, .3, .15, .2, .2, .03, .05),
    "fire_rescue": (.05, .015, .01, .2, 0, .02, .02, 0, 0, .01, .3, .3, .1, .1, .05, .02, .08),
    "ecology_environment": (.01, .01, .008, .2, 0, .01, .01, 0, 0, .01, .25, .2, .05, .05, 0, .01, .03),
    "water_resources": (.05, .02, .01, .2, 0, .02, .02, .01, 0, .02, .3, .3, .1, .1, 0, 0, .05),
    "urban_management": (.02, .01, .01, .2, 0, .01, .01, 0, 0, 0, .1, .2, .05, 0, 0, .02, .03),
    "emergency_management": (.2, .01, .01, .2, 0, .01, .02, 0, 0, .01, 0, .1, .1, 0, 0, .02, .1),
    "administrative_service_center": (.01, .008, .005, .3, 0, .005, .008, .003, .002, .005, 0, .25, .05, .1, 0, .01, .02),
    "statistics": (0, .01, .008, 0, 0, .01, .01, 0, 0, 0, .3, .3, .1, 0, 0, .02, .1),
    "disabled_persons_federation": (0, .008, .005, .3, 0, .01, .015, .02, 0, .01, .25, .3, .05, .15, .02, 0, .02),
}  # fmt: skip
DIRT_RATES: dict[str, DirtRates] = {
    dept: DirtRates(**dict(zip(_COLUMNS, row, strict=True))) for dept, row in _TABLE.items()
}

# ---------------------------------------------------------------- value transforms

DATE_FORMATS = ("iso", "slash", "compact", "cn")
_FULLWIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")


def format_date(value: date, style: str) -> str:
    """A date in one of the formats departments deliver."""
    y, m, d = value.year, value.month, value.day
    if style == "iso":
        return f"{y:04d}-{m:02d}-{d:02d}"
    if style == "slash":
        return f"{y:04d}/{m:02d}/{d:02d}"
    if style == "compact":
        return f"{y:04d}{m:02d}{d:02d}"
    if style == "cn":
        return f"{y:04d}年{m:02d}月{d:02d}日"
    raise ValueError(f"unknown date format {style!r}")


def fullwidth_digits(text: str) -> str:
    return text.translate(_FULLWIDTH)


@cache
def _s2t() -> Any:
    from opencc import OpenCC

    return OpenCC("s2t")


@cache
def to_traditional(text: str) -> str:
    return _s2t().convert(text)


@cache
def to_pinyin(name: str, style: int = 0) -> str:
    from pypinyin import lazy_pinyin

    syllables = lazy_pinyin(name)
    surname, given = syllables[0], "".join(syllables[1:])
    if style == 0:
        return f"{surname.capitalize()} {given.capitalize()}".strip()
    if style == 1:
        return f"{surname.upper()} {given.upper()}".strip()
    return f"{surname}{given}"


# Common given-name characters; a typo replaces one with a homophone from this pool.
_NAME_CHARS = (
    "伟玮炜薇维卫为唯惟蔚娟鹃涓隽俊骏峻君军钧均筠静靖婧晶菁京敬婷霆廷亭莉丽俐立力励利"
    "芳方舫昉娜那纳敏民珉岷强蔷磊蕾垒洋阳扬杨勇永咏泳杰洁捷婕涛韬滔超朝明鸣铭刚钢纲"
    "平萍坪辉晖徽华桦建健剑坚帆凡繁斌彬滨宇雨语羽禹鑫欣馨新昕浩昊皓颢波博红宏鸿虹洪"
    "霞侠秀琇英瑛莹颖玲铃琳霖林麟燕艳彦雁梅媚玫桂贵兰岚澜凤峰锋丰枫云芸昀琴勤芹慧惠"
    "蕙倩茜雪文雯佳嘉家子紫梓思斯宁凝晓筱小一怡宜仪瑞睿锐海成诚城承程志智致亮龙隆"
    "福富东冬栋春纯淳兵冰飞菲非妃霏鹏朋彤桐童璐露路鹭欢环桓秋球丹单娇姣军亚雅"
)


@cache
def _homophones() -> dict[str, tuple[str, ...]]:
    from faker.providers.person.zh_CN import Provider
    from pypinyin import lazy_pinyin

    pool = sorted(set(_NAME_CHARS) | {c for c in Provider.first_names if len(c) == 1})
    groups: dict[str, list[str]] = {}
    for ch in pool:
        groups.setdefault(lazy_pinyin(ch)[0], []).append(ch)
    out: dict[str, tuple[str, ...]] = {}
    for chars in groups.values():
        for ch in chars:
            others = tuple(c for c in chars if c != ch)
            if others:
                out[ch] = others
    return out


def name_typo(name: str, rng: random.Random) -> str:
    """Replace one given-name character by a homophone (the name unchanged when none fits)."""
    table = _homophones()
    positions = [i for i in range(1, len(name)) if name[i] in table]
    if not positions:
        return name
    i = rng.choice(positions)
    return name[:i] + rng.choice(table[name[i]]) + name[i + 1 :]


def _swap_adjacent(value: str, rng: random.Random, upto: int) -> str:
    """Swap two adjacent, different characters among the first ``upto``."""
    pairs = [i for i in range(upto - 1) if value[i] != value[i + 1]]
    if not pairs:
        return value
    i = rng.choice(pairs)
    return value[:i] + value[i + 1] + value[i] + value[i + 2 :]


def _spaces(rng: random.Random) -> str:
    return rng.choice((" ", "  ", "\u3000"))


# ---------------------------------------------------------------- the dirtier


class Dirtier:
    """Applies one department's rates to values, recording every change."""

    def __init__(self, rng: random.Random, rates: DirtRates) -> None:
        self.rng = rng
        self.rates = rates

    def _pick(self, options: tuple[tuple[str, float], ...]) -> str | None:
        u = self.rng.random()
        acc = 0.0
        for kind, rate in options:
            acc += rate
            if u < acc:
                return kind
        return None

    @staticmethod
    def note(out: Corruptions, field: str, kind: str, true: object, delivered: object) -> None:
        out.append(
            {
                "field": field,
                "kind": kind,
                "true_value": None if true is None else str(true),
                "delivered_value": None if delivered is None else str(delivered),
            }
        )

    def _identifier(
        self, out: Corruptions, field: str, value: str | None, check_alphabet: str, lower_x: bool
    ) -> str | None:
        if value is None:
            return None
        r = self.rates
        kind = self._pick(
            (
                ("missing", r.id_missing),
                ("check_char", r.id_check_char),
                ("transposed", r.id_transposed),
                ("fullwidth", r.id_fullwidth),
                ("trailing_space", r.id_trailing_space),
            )
        )
        if (
            kind is None
            and lower_x
            and value.endswith("X")
            and self.rng.random() < r.id_lowercase_x
        ):
            kind = "lowercase_x"
        if kind is None:
            return value
        if kind == "missing":
            delivered = None
        elif kind == "check_char":
            wrong = [c for c in check_alphabet if c != value[-1]]
            delivered = value[:-1] + self.rng.choice(wrong)
        elif kind == "transposed":
            delivered = _swap_adjacent(value, self.rng, len(value) - 1)
        elif kind == "fullwidth":
            delivered = fullwidth_digits(value)
        elif kind == "trailing_space":
            delivered = value + _spaces(self.rng)
        else:  # lowercase_x
            delivered = value[:-1] + "x"
        if delivered == value:
            return value
        self.note(out, field, kind, value, delivered)
        return delivered

    def resident_id(self, out: Corruptions, field: str, value: str | None) -> str | None:
        return self._identifier(out, field, value, RESIDENT_ID_CHECK_CHARS, lower_x=True)

    def uscc(self, out: Corruptions, field: str, value: str | None) -> str | None:
        return self._identifier(out, field, value, USCC_ALPHABET, lower_x=False)

    def legacy_registration(self, out: Corruptions, field: str, value: str | None) -> str | None:
        return self._identifier(out, field, value, "0123456789", lower_x=False)

    def name(self, out: Corruptions, field: str, value: str | None) -> str | None:
        if value is None:
            return None
        r = self.rates
        kind = self._pick(
            (
                ("typo", r.name_typo),
                ("traditional", r.name_traditional),
                ("pinyin", r.name_pinyin),
                ("trailing_space", r.name_trailing_space),
            )
        )
        if kind is None:
            return value
        if kind == "typo":
            delivered = name_typo(value, self.rng)
        elif kind == "traditional":
            delivered = to_traditional(value)
        elif kind == "pinyin":
            delivered = to_pinyin(value, self.rng.randrange(3))
        else:
            delivered = value + _spaces(self.rng)
        if delivered == value:
            return value
        self.note(out, field, kind, value, delivered)
        return delivered

    def date(self, out: Corruptions, field: str, value: date | None, house: str) -> str | None:
        if value is None:
            return None
        if self.rates.date_mixed and self.rng.random() < self.rates.date_mixed:
            style = self.rng.choice([s for s in DATE_FORMATS if s != house])
            delivered = format_date(value, style)
            self.note(out, field, "date_format", value.isoformat(), delivered)
            return delivered
        return format_date(value, house)

    def phone(
        self, out: Corruptions, field: str, value: str | None, other: str | None = None
    ) -> str | None:
        if value is None:
            return None
        r = self.rates
        delivered = value
        if other and r.phone_other and self.rng.random() < r.phone_other:
            self.note(out, field, "other_phone", value, other)
            delivered = other
        if r.phone_format and self.rng.random() < r.phone_format:
            style = self.rng.randrange(4)
            if style == 0:
                formatted = f"+86 {delivered}"
            elif style == 1:
                formatted = f"{delivered[:3]}-{delivered[3:7]}-{delivered[7:]}"
            elif style == 2:
                formatted = f"{delivered[:3]} {delivered[3:7]} {delivered[7:]}"
            else:
                formatted = fullwidth_digits(delivered)
            self.note(out, field, "phone_format", delivered, formatted)
            delivered = formatted
        return delivered

    def address(
        self, out: Corruptions, field: str, value: str | None, other: str | None = None
    ) -> str | None:
        if value is None:
            return None
        r = self.rates
        delivered = value
        if other and r.address_other and self.rng.random() < r.address_other:
            self.note(out, field, "other_address", value, other)
            delivered = other
        if r.address_fullwidth and self.rng.random() < r.address_fullwidth:
            formatted = fullwidth_digits(delivered)
            if formatted != delivered:
                self.note(out, field, "fullwidth", delivered, formatted)
                delivered = formatted
        return delivered

    def text(self, out: Corruptions, field: str, value: str | None, fullwidth: float) -> str | None:
        """Free text keyed with full-width digits at the given rate (e.g. amounts, plates)."""
        if value is None or not fullwidth or self.rng.random() >= fullwidth:
            return value
        delivered = fullwidth_digits(value)
        if delivered != value:
            self.note(out, field, "fullwidth", value, delivered)
        return delivered
