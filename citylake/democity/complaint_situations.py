"""What 12345 callers complain about, and who is competent for it: the generator's rules.

A complaint is one *situation* (a renovation next door, a missing manhole cover) at one
*place* (someone's home, a residential compound, an ordinary street, an arterial road, a
shop or firm). The competent level and department follow from the two, by
:func:`competent`:

1. the situation's own level: a neighbour's renovation noise is the community's
   (社区居委会), a blocked fire lane the street office's (街道办事处), a supermarket
   selling expired food the district market regulator's, a burst main the water utility's;
2. on an arterial road (大道, 快速路) infrastructure is the city's: road damage, street
   lights and manholes go to city management (``arterial_level``);
3. a public-safety hazard (open manhole, flooded street, collapsed road, burst main, gas
   smell, live wire) goes one level up, as urgent cases are escalated at once;
4. a level's department: community and street are the community committee and the street
   office; a district level is the situation's district bureau, the department level its
   city department or utility.

Genuinely ambiguous situations (``ambiguous``) are the documented exception: low water
pressure is the property's booster pump or the utility's main, a broken lift is the
property's or the special-equipment regulator's, and the text cannot tell. A share of
them (``ambiguous[1]``) is competent at the other level; the rule's answer (what any
reader of the text would say) is kept in truth beside the real one, so the evaluation's
ceiling is the rule applied to what the caller said.
"""

from __future__ import annotations

from dataclasses import dataclass

LEVELS = ("community", "street", "district", "department")
PLACES = ("home", "compound", "street", "arterial", "shop")
COMMUNITY_OFFICE, STREET_OFFICE = "社区居委会", "街道办事处"
# Operator urgency when the situation is not a hazard (low, normal, high, urgent).
_CALM = (0.3, 0.55, 0.13, 0.02)
_PRESSING = (0.1, 0.5, 0.35, 0.05)


@dataclass(frozen=True)
class Situation:
    key: str
    category: str  # the true category (the operator's may be wrong or missing)
    level: str  # competent level at an ordinary place
    district_dept: str  # who acts when the level is district
    city_dept: str  # who acts when the level is department
    places: tuple[str, ...]
    what: tuple[str, ...]  # ways callers say it; the last third only in later weeks
    weight: float = 1.0
    hazard: bool = False
    arterial_level: str | None = None
    ambiguous: tuple[str, float] | None = None  # (the other level, share competent there)
    urgency: tuple[float, float, float, float] = _CALM
    short: str = ""  # how it is mentioned in passing in another complaint


def up(level: str) -> str:
    return LEVELS[min(LEVELS.index(level) + 1, len(LEVELS) - 1)]


def department(situation: Situation, level: str) -> str:
    return {
        "community": COMMUNITY_OFFICE,
        "street": STREET_OFFICE,
        "district": situation.district_dept,
        "department": situation.city_dept,
    }[level]


def competent(situation: Situation, place: str) -> tuple[str, str]:
    """The rule's (level, department) for a situation at a place (module docstring)."""
    level = situation.level
    if place == "arterial" and situation.arterial_level:
        level = situation.arterial_level
    if situation.hazard:
        level = up(level)
    return level, department(situation, level)


S = Situation
SITUATIONS: tuple[Situation, ...] = (
    # -- noise ---------------------------------------------------------------------------
    S("renovation_noise", "noise", "community", "区住房和城乡建设局", "住房和城乡建设局",
      ("home",), ("楼上邻居装修，电钻声响个不停", "隔壁在装修，每天早上七点就开始敲墙",
                  "楼下住户装修噪音太大，周末也不停", "邻居家装修砸墙，吵得孩子没法写作业",
                  "对门装修切割瓷砖的声音刺耳", "邻居中午午休时间还在装修打孔"),
      weight=1.6, short="邻居装修也很吵"),
    S("square_dance", "noise", "community", "区文化和旅游局", "文化和旅游局",
      ("compound",), ("广场舞音响开得太大", "晚上跳广场舞的音乐九点多还不停",
                      "有人用大喇叭放音乐跳舞，震得窗户都响", "跳舞的音箱对着居民楼放"),
      weight=1.0, short="广场舞也吵"),
    S("night_construction", "noise", "district", "区生态环境分局", "生态环境局",
      ("street", "arterial"), ("附近工地半夜还在施工，打桩声很大",
                               "工地夜间浇筑混凝土，机器轰鸣到凌晨",
                               "建筑工地晚上十点以后还在作业", "夜里渣土车进出工地，噪声扰民",
                               "工地凌晨两点还在切割钢筋"),
      weight=1.2, urgency=_PRESSING, short="晚上还有工地施工"),
    S("shop_loudspeaker", "noise", "street", "区城市管理局", "城市管理局",
      ("shop",), ("门口放大喇叭招揽生意", "门口的音箱整天循环播放促销广告",
                  "外放音乐声音过大，在家里都听得见", "用喇叭叫卖从早到晚"),
      weight=0.8, short="商铺喇叭也吵"),
    S("bar_noise", "noise", "district", "区公安分局", "公安局",
      ("shop",), ("每天营业到凌晨，音乐声很吵", "包厢唱歌声音太大，半夜还有人在外面喧哗",
                  "夜里客人进进出出大声吵闹", "低音炮震得楼上睡不着"),
      weight=0.7, urgency=_PRESSING),
    # -- sanitation ----------------------------------------------------------------------
    S("garbage_overflow", "sanitation", "community", "区城市管理局", "城市管理局",
      ("compound",), ("垃圾桶满了好几天没人清运", "垃圾站堆满了，臭味很大",
                      "楼下垃圾没人收，招了很多苍蝇", "垃圾分类点的桶都溢出来了",
                      "垃圾房门口堆着垃圾，老鼠到处跑"),
      weight=1.5, short="垃圾也没人清"),
    S("construction_waste", "sanitation", "street", "区城市管理局", "城市管理局",
      ("street",), ("路边有人偷倒建筑垃圾", "一堆装修垃圾堆在路边好几天了",
                    "渣土车把建筑垃圾倒在空地上", "有人半夜偷偷倾倒渣土"),
      weight=0.9),
    S("sewage_overflow", "sanitation", "street", "区水务局", "水务集团",
      ("compound", "street"), ("下水道堵了，污水冒到路面上", "化粪池满溢，污水流得到处都是",
                               "污水井往外冒黑水，臭气熏天", "雨水篦子堵死了，污水漫出来"),
      weight=0.9, urgency=_PRESSING, short="下水道也在冒水"),
    S("public_toilet", "sanitation", "street", "区城市管理局", "城市管理局",
      ("street",), ("公共厕所很久没人打扫，又脏又臭", "公厕的水龙头坏了，没法冲洗",
                    "公厕晚上锁门，附近找不到厕所"),
      weight=0.6),
    # -- road ----------------------------------------------------------------------------
    S("pothole", "road", "street", "区城市管理局", "城市管理局",
      ("street", "arterial"), ("路面有个大坑，电动车骑过去差点摔倒", "马路坑坑洼洼，下雨就积水",
                               "路面破损严重，车辆都绕着走", "沥青路面鼓包开裂",
                               "路上的坑越来越大，已经有人摔伤"),
      weight=1.1, arterial_level="department", urgency=_PRESSING, short="路面也有坑"),
    S("missing_manhole", "road", "street", "区城市管理局", "城市管理局",
      ("street", "arterial"), ("井盖丢了，只剩一个黑洞，晚上很危险",
                               "路上的井盖不见了，已经有人差点掉下去", "窨井盖破碎，露出一个大洞",
                               "井盖被撬走了，洞口没有任何警示", "雨水井盖翻了，车轮卡进去"),
      weight=0.5, hazard=True, arterial_level="department"),
    S("broken_streetlight", "road", "street", "区城市管理局", "城市管理局",
      ("street", "arterial"), ("路灯坏了好几天，晚上一片漆黑", "一整排路灯都不亮",
                               "路灯一闪一闪的，晚上看不清路", "路灯白天亮着晚上反而不亮"),
      weight=0.9, arterial_level="department", short="路灯也不亮"),
    S("road_collapse", "road", "district", "区城市管理局", "城市管理局",
      ("street", "arterial"), ("路面突然塌陷出一个坑", "马路塌了一块，下面是空的",
                               "路面下沉开裂，越来越严重", "人行道塌了一个洞"),
      weight=0.25, hazard=True),
    S("loose_tiles", "road", "street", "区城市管理局", "城市管理局",
      ("street",), ("人行道地砖松动，一踩就溅水", "盲道砖块缺了好几块", "人行道砖翘起来绊人"),
      weight=0.6),
    # -- water ---------------------------------------------------------------------------
    S("burst_main", "water", "district", "区水务局", "水务集团",
      ("street", "arterial"), ("自来水管爆裂，水往外喷", "地下水管破了，路面全是水",
                               "供水管道漏水，水柱冒得老高", "水管爆了，整条路都淹了"),
      weight=0.35, hazard=True),
    S("water_outage", "water", "department", "区水务局", "水务集团",
      ("home", "compound"), ("停水一整天了也没通知", "突然停水，问物业也说不清楚",
                             "连续两天晚上停水", "停水没有提前公告，家里老人没法做饭"),
      weight=0.9, urgency=_PRESSING, short="还经常停水"),
    S("low_pressure", "water", "community", "区水务局", "水务集团",
      ("home",), ("高层水压不够，楼上基本没水", "水龙头出水很小，洗澡都成问题",
                  "一到用水高峰就没水", "二次供水水压太低，热水器都打不着火"),
      weight=0.7, ambiguous=("department", 0.4)),
    S("dirty_water", "water", "department", "区水务局", "水务集团",
      ("home",), ("自来水发黄有异味", "水龙头流出来的水浑浊", "自来水里有沉淀物，不敢喝"),
      weight=0.6, urgency=_PRESSING),
    S("flooded_street", "water", "street", "区水务局", "城市管理局",
      ("street", "arterial"), ("路上积水到膝盖，车都熄火了", "下雨后积水排不出去，行人没法走",
                               "道路积水很深，电动车都泡在水里", "低洼路段积水成河"),
      weight=0.35, hazard=True, arterial_level="district"),
    # -- housing -------------------------------------------------------------------------
    S("lift_broken", "housing", "community", "区市场监督管理局", "市场监督管理局",
      ("home",), ("电梯坏了一个多月物业不修", "电梯经常困人，物业不管",
                  "电梯运行有异响，大家都不敢坐", "电梯停运，老人上下楼困难"),
      weight=0.9, ambiguous=("district", 0.35), urgency=_PRESSING, short="电梯也坏了"),
    S("roof_leak", "housing", "community", "区住房和城乡建设局", "住房和城乡建设局",
      ("home",), ("顶楼漏水，墙都发霉了", "下雨天家里天花板漏水", "外墙渗水，物业推来推去"),
      weight=0.9),
    S("illegal_construction", "housing", "street", "区城市管理局", "城市管理局",
      ("compound",), ("有人在楼顶违章搭建", "一楼住户私自扩建院子", "有人在公共绿地上盖房子",
                      "违建阳光房挡住了采光"),
      weight=0.9),
    S("deposit_dispute", "housing", "district", "区住房和城乡建设局", "住房和城乡建设局",
      ("home",), ("房东不退押金", "中介扣着押金不还", "租房合同到期，押金一直拖着不退"),
      weight=0.6),
    S("property_fee", "housing", "district", "区住房和城乡建设局", "住房和城乡建设局",
      ("compound",), ("物业乱收费，停车费涨了一倍", "物业费明细不公开",
                      "物业强制收取装修押金"),
      weight=0.5, ambiguous=("street", 0.3)),
    # -- market --------------------------------------------------------------------------
    S("unlicensed_restaurant", "market", "department", "区市场监督管理局", "市场监督管理局",
      ("shop",), ("没有营业执照还在营业", "无证经营，后厨卫生很差", "没有健康证的人在做饭",
                  "无照经营，油烟直排"),
      weight=0.7),
    S("short_weight", "market", "district", "区市场监督管理局", "市场监督管理局",
      ("shop",), ("缺斤少两", "买的肉回家一称少了二两", "秤有问题，称重不准"),
      weight=0.7),
    S("expired_food", "market", "district", "区市场监督管理局", "市场监督管理局",
      ("shop",), ("卖过期的牛奶", "买到过期面包，商家不认账", "货架上的零食过期了还在卖"),
      weight=0.6),
    S("refund_refused", "market", "district", "区市场监督管理局", "市场监督管理局",
      ("shop",), ("商品有质量问题，商家拒绝退换", "预付卡不给退款", "办了会员卡店就关门了"),
      weight=0.8, ambiguous=("department", 0.3)),
    # -- traffic -------------------------------------------------------------------------
    S("signal_broken", "traffic", "department", "区交通运输局", "公安局交通警察支队",
      ("street", "arterial"), ("路口红绿灯坏了，车乱成一团", "信号灯一直是红灯不变",
                               "红绿灯时间太短，老人过不去马路"),
      weight=0.7, urgency=_PRESSING),
    S("fire_lane_blocked", "traffic", "street", "区消防救援大队", "消防救援支队",
      ("compound",), ("消防通道被车堵死了", "消防通道上停满了车", "有人在消防通道上堆杂物",
                      "消防车道被地锁占了"),
      weight=0.8, urgency=_PRESSING),
    S("illegal_parking", "traffic", "community", "区公安分局", "公安局交通警察支队",
      ("compound", "street"), ("车辆乱停乱放", "人行道上停满了车", "共享单车堆在门口",
                               "有人长期占用公共车位"),
      weight=1.0, short="乱停车也没人管"),
    S("congestion", "traffic", "district", "区交通运输局", "交通运输局",
      ("arterial",), ("早晚高峰堵得厉害，建议加个信号灯", "路口设计不合理，天天堵车",
                      "施工围挡占道，堵车严重"),
      weight=0.6),
    S("bus_stop", "traffic", "district", "区交通运输局", "交通运输局",
      ("street", "arterial"), ("公交站台设置不合理", "公交车班次太少，等一个小时",
                               "公交站没有遮雨棚"),
      weight=0.5),
    # -- other ---------------------------------------------------------------------------
    S("stray_dogs", "other", "community", "区农业农村局", "农业农村局",
      ("compound",), ("流浪狗很多，晚上追人", "有人遛狗不拴绳，吓到小孩", "流浪猫狗到处便溺"),
      weight=0.8, short="流浪狗也多"),
    S("elderly_service", "other", "street", "区民政局", "民政局",
      ("home",), ("想问一下养老服务怎么办理", "老人助餐点什么时候开", "高龄补贴怎么申请"),
      weight=0.8),
    S("window_service", "other", "district", "区政务服务中心", "政务服务管理局",
      ("street",), ("办事窗口服务态度差", "窗口人员推诿，让我跑了好几趟", "办事要排很久的队"),
      weight=0.6),
    S("gas_smell", "other", "department", "区城市管理局", "燃气集团",
      ("home", "compound"), ("楼道里有很浓的煤气味", "闻到燃气泄漏的味道，很害怕",
                             "燃气管道接口在漏气", "厨房外面的燃气管嘶嘶作响"),
      weight=0.3, hazard=True),
    S("live_wire", "other", "district", "区发展和改革局", "供电公司",
      ("street", "arterial", "compound"), ("电线掉下来了，还在冒火花", "大风把电线刮断了垂在地上",
                                           "电线杆歪了，电线快挨到地面", "配电箱门开着，电线裸露"),
      weight=0.25, hazard=True),
)  # fmt: skip
BY_KEY = {s.key: s for s in SITUATIONS}
HAZARDS = tuple(s.key for s in SITUATIONS if s.hazard)
# After a rainstorm (orange or red at a gauge), these follow in the storm's district.
STORM_SITUATIONS = (("flooded_street", 4.0), ("road_collapse", 1.0), ("missing_manhole", 1.5),
                    ("sewage_overflow", 1.5))  # fmt: skip
# Hotspots the generator plants: a community whose residents keep calling about one thing,
# a firm that keeps being reported.
COMMUNITY_HOTSPOT_SITUATIONS = ("garbage_overflow", "square_dance", "illegal_parking",
                                "stray_dogs", "sewage_overflow", "night_construction")  # fmt: skip
ENTERPRISE_HOTSPOT_SITUATIONS = ("unlicensed_restaurant", "expired_food", "short_weight",
                                 "bar_noise")  # fmt: skip
