"""How callers say it: one summary per complaint, assembled the way operators type them.

A summary is the place, the situation in one of its phrasings, and optionally since when,
how it affects the caller, a second problem mentioned in passing and what they ask for,
in a colloquial or a formal register. A share carries the typos and homophones operators
make. Phrasings drift: the last third of each situation's phrasings, and some openers and
closings, only appear in the later part of the period, so a model trained on the early
weeks meets wordings it never saw.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

from citylake.democity.complaint_situations import BY_KEY, Situation
from citylake.democity.geography import Community

# Industries whose firms callers name, per situation (GB/T 4754 sections).
SHOP_INDUSTRIES = {
    "shop_loudspeaker": "F", "bar_noise": "R", "unlicensed_restaurant": "H",
    "short_weight": "F", "expired_food": "F", "refund_refused": "FRO",
}  # fmt: skip
# How callers name a shop that is not (or not recognisably) a registered firm.
SHOP_KINDS = {
    "shop_loudspeaker": ("一家手机店", "一家服装店", "药店", "一家超市"),
    "bar_noise": ("一家酒吧", "烧烤店", "一家KTV", "清吧"),
    "unlicensed_restaurant": ("一家小餐馆", "路边小吃店", "烧烤摊", "快餐店"),
    "short_weight": ("菜市场一个摊位", "水果店", "生鲜店"),
    "expired_food": ("小超市", "便利店", "食品店"),
    "refund_refused": ("一家健身房", "理发店", "培训机构", "家具店"),
}
_OPENERS_COLLOQUIAL = ("", "", "你好，", "喂，我要反映个事，", "我想投诉一下，", "麻烦你们管一管，")
_OPENERS_FORMAL = ("市民来电反映：", "来电人称，", "市民反映：", "来电人反映，")
_OPENERS_LATE = ("网友留言：", "市民通过小程序反映：", "来电人再次反映，")
_SINCE = ("已经{n}天了", "从上周开始就这样", "昨天晚上开始的", "今天早上发现的",
          "持续{n}个多月了", "这个情况{n}天了", "前几天就有了")  # fmt: skip
_IMPACT = ("严重影响休息", "老人孩子出行很危险", "家里没法正常生活", "影响周边商户做生意",
           "多次反映一直没人管", "大家意见很大", "给居民生活带来很大不便")  # fmt: skip
_ASK_COLLOQUIAL = ("", "赶紧来人看看吧", "希望尽快解决", "你们管不管啊", "麻烦快点处理")
_ASK_FORMAL = ("请相关部门尽快处理。", "要求核实处理。", "望尽快解决。", "请予以答复。")
_ASK_LATE = ("请给个说法。", "希望给个处理时限。")
# Homophones and slips operators type (right -> wrong).
_TYPOS = (("噪音", "燥音"), ("垃圾", "拉圾"), ("井盖", "井概"), ("装修", "装休"),
          ("漏水", "露水"), ("物业", "务业"), ("电梯", "电题"), ("积水", "急水"),
          ("营业", "营叶"), ("燃气", "然气"), ("路灯", "路登"), ("投诉", "头诉"),
          ("停车", "停cha"), ("施工", "施公"), ("小区", "小曲"), ("反映", "反应"))  # fmt: skip
_ROAD_CHARS = "长安和平人民建设解放中山新华文化光明幸福友谊青年胜利团结滨江东湖西湖南湖金桥望江"
TYPO_SHARE = 0.12
SECOND_PROBLEM_SHARE = 0.15
LATE_FROM = 0.6  # share of the period after which the late phrasings appear


@dataclass(frozen=True)
class Place:
    kind: str  # home, compound, street, arterial, shop
    community: str
    street: str  # the street office's area (街道) name
    road: str  # an ordinary road nearby
    artery: str  # the arterial road nearby
    shop: str | None = None  # a named firm (shop situations)


def road_names(rng: random.Random, base: str) -> tuple[str, str]:
    """An ordinary road and an arterial road named from ``base`` (two characters)."""
    road = base + rng.choice(("路", "街", "巷", "路", "街"))
    artery = base[:1] + rng.choice("东西南北中") + rng.choice(("大道", "大道", "快速路"))
    return road, artery


def roads_near(rng: random.Random, communities: Iterable[Community]) -> dict[str, tuple[str, str]]:
    """An ordinary road and an arterial road near each community (names stable per city)."""
    out = {}
    for c in communities:
        base = rng.choice(_ROAD_CHARS) + rng.choice(_ROAD_CHARS)
        out[c.code] = road_names(rng, base)
    return out


def shop_kind(rng: random.Random, key: str) -> str | None:
    """An unregistered shop as callers name it, for a situation at a shop."""
    kinds = SHOP_KINDS.get(key)
    return rng.choice(kinds) if kinds else None


def _where(rng: random.Random, place: Place) -> str:
    n, m = rng.randint(1, 30), rng.randint(1, 6)
    estate = place.community.removesuffix("社区")  # callers name the estate, not the committee
    if place.kind == "home":
        return rng.choice(
            (
                f"{place.community}{n}栋{m}单元",
                f"我家在{place.community}{n}号楼",
                f"{estate}小区{n}栋",
                f"{place.street}{place.community}",
            )
        )
    if place.kind == "compound":
        return rng.choice(
            (
                f"{estate}小区里",
                f"{estate}小区门口",
                f"{place.community}{n}号楼下",
                f"{place.community}院子里",
            )
        )
    if place.kind == "street":
        return rng.choice(
            (
                place.road,
                f"{place.road}{n}号附近",
                f"{place.street}{place.road}",
                f"{place.road}靠近{place.community}的路段",
            )
        )
    if place.kind == "arterial":
        return rng.choice(
            (
                place.artery,
                f"{place.artery}{rng.choice('东西南北')}向",
                f"{place.artery}和{place.road}路口",
                f"{place.artery}辅路",
            )
        )
    shop = place.shop or "一家店"
    return rng.choice((f"{place.road}上的{shop}", f"{place.community}附近的{shop}",
                       f"{shop}（{place.road}{n}号）", shop))  # fmt: skip


def _phrasings(situation: Situation, late: bool) -> tuple[str, ...]:
    early = max(1, len(situation.what) - len(situation.what) // 3)
    return situation.what if late else situation.what[:early]


def summary(
    rng: random.Random, situation: Situation, place: Place, progress: float
) -> tuple[str, bool]:
    """(the summary, whether it carries a typo); ``progress`` is the day's share of the period."""
    late = progress >= LATE_FROM
    formal = rng.random() < 0.45
    openers = _OPENERS_FORMAL if formal else _OPENERS_COLLOQUIAL
    if late:
        openers = openers + _OPENERS_LATE
    what = rng.choice(_phrasings(situation, late))
    where = _where(rng, place)
    body = rng.choice((f"{where}，{what}", f"{where}{what}", f"在{where}，{what}",
                       f"{what}，地点在{where}", f"{where}这边{what}"))  # fmt: skip
    parts = [rng.choice(openers) + body]
    if rng.random() < 0.5:
        parts.append(rng.choice(_SINCE).format(n=rng.randint(2, 9)))
    if rng.random() < 0.45:
        parts.append(rng.choice(_IMPACT))
    if rng.random() < SECOND_PROBLEM_SHARE:
        others = [s.short for s in BY_KEY.values() if s.short and s.key != situation.key]
        parts.append("另外" + rng.choice(others))
    asks = _ASK_FORMAL if formal else _ASK_COLLOQUIAL
    ask = rng.choice(asks + (_ASK_LATE if late else ()))
    text = "，".join(parts) + "。"
    if ask:
        text += ask if ask.endswith("。") else ask + "。"
    typo = rng.random() < TYPO_SHARE
    if typo:
        present = [pair for pair in _TYPOS if pair[0] in text]
        if present:
            right, wrong = rng.choice(present)
            text = text.replace(right, wrong, 1)
        else:
            typo = False
    return text, typo
