#!/usr/bin/env python3
"""Write ``needs.json``: 150 ILLUSTRATIVE (fictional) needs for 加美町 (DATA_FORMATS §4).

Every need is invented for the demo: ``source`` starts with 架空のデータ, ids are N-0001…,
residents are pseudonyms R-<8 hex digits> (a hash of a counter, never a name), and the
intake texts describe no real person. Points, when given, are approximate (4 decimals,
inside the district); about a third of the needs give none, so the district centroid is
used. About a third omit ``categories`` so that inference from ``text`` is exercised
(the script checks that inference gives the intended category).

Most needs can be met by the demo's resources (``resources.csv``). The needs in
:data:`EXPECTED_UNMET` are DELIBERATELY UNMET, each for one reason of DATA_FORMATS §5,
so the unmet-needs view of the demo is meaningful and the matching engine has a check:

=========  ==============  =============================================================
need       reason          why
=========  ==============  =============================================================
N-0047     no_resource     訪問型サービス in 滝庭: the town has no 総合事業 訪問型サービス at all
N-0012     distance        ゴミ出し in 谷地森字青生: no garbage help serves 谷地森: R-030 nearest
N-0031     distance        ゴミ出し in 小泉: R-093 has 終了: R-030 nearest
N-0066     distance        お茶飲み in 羽場字屋敷: none serves 羽場 or is walkable: R-016
N-0085     distance        老人クラブ in 字赤塚８番: R-011 ended, none serves 赤塚: R-008
N-0019     paused          サロン in 上狼塚字東北原: R-004 広原ふれあいサロン is 休止中
N-0058     paused          サロン in 字鹿原谷地袋: R-038 鹿原いきいきサロン is 休止中
N-0103     paused          サロン in 字味ケ袋堰ノ内 (text only): R-038 again, 休止中
N-0025     eligibility     サロン in 字町裏, age 60: R-002 is 65歳以上 (the only salon there)
N-0072     eligibility     ゴミ出し in 宮崎字東町, 高齢者のみ世帯: R-092 wants 要支援/要介護/独居
N-0094     eligibility     通院 in 宮崎字屋敷７番, no 要支援/要介護/事業対象者/独居: R-097, R-108
                           want a certification, R-096 独居 (and R-096 is not on Tuesdays)
N-0118     eligibility     ミニデイ in 字百目木１番 (text only), 夫婦世帯: R-013 is for 独居
N-0037     capacity        ゴミ出し in 字町屋敷１番: R-058 is full (空き なし)
N-0079     capacity        ゴミ出し in 字北寺宿: R-058 again, full
N-0110     capacity        サロン in 下狼塚: R-006 下狼塚ほっとサロン is full (空き なし)
N-0041     schedule        買い物 on Sundays in 宮崎字南１番: R-095 月木, R-096 4th Fri, R-107 Fri
N-0053     schedule        家事 on Sundays in 字南町: R-036 平日, R-109 月～土
N-0089     schedule        夕食 (17–19時) in 字中嶋: R-060 and R-104 deliver at lunch only
N-0125     schedule        ゴミ出し Wednesday 7–8時 in 字北町２番: R-030 火金, R-036 9–16時
N-0007     distance        サロン in 宮崎字焼原１番, walks 500 m: R-068's hall is ≈1.6 km away
N-0061     distance        サロン in 柳沢字檜葉野前, walks 500 m: R-070's hall is ≈1.6 km away
N-0098     distance        お茶飲み in 字北原, walks 400 m: R-049's hall is ≈0.9 km away
=========  ==============  =============================================================

How "distance" is meant (an interface decision the engine must share): a venue-based
resource (one with a point) must be reachable — within ``max_walk_m`` of the need's point
— unless the need has ``transport: true`` or the resource offers 送迎; serving the district
alone is not enough for a resident who can only walk 500 m. Each distance need above lives
in a district its resource serves, has ``transport: false``, and every resource of its
category that serves it is farther than 1.5 × ``max_walk_m``. A need with no candidate at
all is also unmet for ``distance`` when its kind exists elsewhere in the town (the
resources of the other districts, or open venues beyond reach): the near-miss is the
nearest one by venue; ``no_resource`` is kept for a kind the town has none of.

The script checks all of this before writing: it imports the demo's districts, venues and
resources into a temporary SQLite database with the product's own importers and runs a
small, deliberately simple matcher (category fit with the §1 parent rule, status, served
district, reachability as above, age and attributes, 空き, weekdays/times/months of the
parsed schedules). Every need not in EXPECTED_UNMET must have a resource that passes every
check with a schedule the parser understood; every need in it must have candidates that
all fail on its reason, at least one failing on that reason alone (for ``no_resource``:
no live resource of its kind anywhere in the town; for ``distance`` with no candidate:
the nearest live resource of its kind; for ``paused``: every candidate paused and
otherwise fine). It refuses to write on any failure.

Run with the project's environment: ``.venv/bin/python seeds/kami/make_needs.py``
(``--expected`` prints EXPECTED_UNMET as JSON). Re-running gives a byte-identical file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = HERE / "needs.json"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from directory.weekdays import WEEKDAY_CHARS, WEEKDAY_CODES  # noqa: E402 (the repo on the path)

# need id → (reason, the resources that nearly meet it, one line of why)
EXPECTED_UNMET: dict[str, tuple[str, tuple[str, ...], str]] = {
    "N-0047": ("no_resource", (), "訪問型サービス in 滝庭: the town has none"),
    "N-0012": ("distance", ("R-030",), "garbage in 谷地森字青生: nothing serves it"),
    "N-0031": ("distance", ("R-030",), "garbage in 小泉: R-093 has ended"),
    "N-0066": ("distance", ("R-016",), "tea in 羽場字屋敷: nothing serves it or is walkable"),
    "N-0085": ("distance", ("R-008",), "senior club in 字赤塚８番: R-011 ended"),
    "N-0019": ("paused", ("R-004",), "salon in 上狼塚字東北原: R-004 休止中"),
    "N-0058": ("paused", ("R-038",), "salon in 字鹿原谷地袋: R-038 休止中"),
    "N-0103": ("paused", ("R-038",), "salon in 字味ケ袋堰ノ内: R-038 休止中"),
    "N-0025": ("eligibility", ("R-002",), "age 60, R-002 is 65歳以上"),
    "N-0072": ("eligibility", ("R-092",), "高齢者のみ世帯, R-092 wants 要支援/要介護/独居"),
    "N-0094": ("eligibility", ("R-096", "R-097", "R-108"), "no certification, not 独居"),
    "N-0118": ("eligibility", ("R-013",), "夫婦世帯, R-013 is for 独居"),
    "N-0037": ("capacity", ("R-058",), "R-058 空き なし"),
    "N-0079": ("capacity", ("R-058",), "R-058 空き なし"),
    "N-0110": ("capacity", ("R-006",), "R-006 空き なし"),
    "N-0041": ("schedule", ("R-095", "R-096", "R-107"), "Sundays only"),
    "N-0053": ("schedule", ("R-036", "R-109"), "Sundays only"),
    "N-0089": ("schedule", ("R-060", "R-104"), "evening meals; lunch deliveries only"),
    "N-0125": ("schedule", ("R-030", "R-036"), "Wednesday 7–8時"),
    "N-0007": ("distance", ("R-068",), "R-068 ≈1.6 km, walks 500 m"),
    "N-0061": ("distance", ("R-070",), "R-070 ≈1.6 km, walks 500 m"),
    "N-0098": ("distance", ("R-049",), "R-049 ≈0.9 km, walks 400 m"),
}

TOTAL = 150
FY_START = dt.date(2024, 4, 1)  # recorded_on spreads over FY2024 (令和6年度)
FY_DAYS = 365
SOURCES = (
    "民生委員からの連絡",
    "地域包括支援センターの訪問",
    "本人の来所相談",
    "家族からの電話",
    "ケアマネジャーからの相談",
    "協議体での情報提供",
    "サロンでの聞き取り",
)
STATUTORY_BASIS = "介護保険法に基づく地域支援事業（生活支援体制整備事業）"

# --------------------------------------------------------------------- deliberately unmet

# Fields as in §4, plus: "cat" (the category the need is about, for the check, when the
# file omits categories), "near" (place the point about this many metres from the named
# resource's venue, inside the district), "far" (at least this far from it).
UNMET: dict[str, dict[str, Any]] = {
    "N-0012": dict(
        district="04445019020",
        categories=["ゴミ出し支援"],
        age=84,
        attributes=["独居"],
        days=["火", "金"],
        time="07:00-08:30",
        transport=False,
        text="集積所まで遠く、ゴミ袋を持って歩けない。火曜と金曜の朝に手伝ってほしい",
    ),
    "N-0031": dict(
        district="小泉",
        categories=["ごみ出し"],
        age=88,
        attributes=["独居", "要支援"],
        days=["火", "金"],
        time="7時～8時",
        text="以前のごみ出しサポートがなくなり、ごみを出せずにたまっている",
    ),
    "N-0047": dict(
        district="滝庭",
        categories=["訪問型サービス"],
        age=79,
        attributes=["高齢者のみ世帯", "要支援"],
        max_walk_m=300,
        transport=False,
        text="総合事業の訪問型サービスで掃除とゴミ出しを手伝ってほしい",
    ),
    "N-0066": dict(
        district="羽場字屋敷",
        categories=["お茶のみ場"],
        age=81,
        max_walk_m=800,
        transport=False,
        attributes=["独居"],
        text="近所でお茶を飲みながら話せる集まりがあれば行きたい",
    ),
    "N-0085": dict(
        district="04445001009",
        categories=["老人クラブ"],
        age=72,
        max_walk_m=1000,
        transport=False,
        text="定年後、地域の老人クラブに入って仲間を作りたい",
    ),
    "N-0019": dict(
        district="上狼塚字東北原",
        categories=["サロン"],
        age=77,
        near=("R-004", 250),
        max_walk_m=800,
        transport=False,
        text="近くのサロンにまた通いたい。月に一度でもよい",
    ),
    "N-0058": dict(
        district="字鹿原谷地袋",
        categories=["いきいきサロン"],
        age=83,
        attributes=["独居"],
        transport=True,
        text="冬以外は家族の送りでサロンに行ける。話し相手がほしい",
    ),
    "N-0103": dict(
        district="04445015020",
        cat="salon",
        age=80,
        transport=True,
        text="以前通っていたサロンにまた行きたい",
    ),
    "N-0025": dict(
        district="字町裏",
        categories=["サロン"],
        age=60,
        days=["火"],
        time="10:00-11:30",
        near=("R-002", 200),
        max_walk_m=600,
        transport=False,
        text="退職したばかりで、平日の日中に地域の人と話せる場がほしい",
    ),
    "N-0072": dict(
        district="宮崎字東町",
        categories=["ゴミ出し支援"],
        age=84,
        attributes=["高齢者のみ世帯"],
        days=["月"],
        time="07:00-08:00",
        text="夫婦二人とも膝が悪く、月曜のゴミ出しができない",
    ),
    "N-0094": dict(
        district="04445016001",
        categories=["移動支援"],
        age=80,
        days=["火"],
        time="09:00-12:00",
        transport=False,
        text="免許を返納して、火曜の通院の足がない",
    ),
    "N-0118": dict(
        district="字百目木１番",
        cat="mini_day",
        age=82,
        attributes=["高齢者のみ世帯"],
        transport=False,
        text="夫と二人暮らし。近くのミニデイに通いたい",
    ),
    "N-0037": dict(
        district="字町屋敷１番",
        categories=["ゴミ出し支援"],
        age=83,
        attributes=["独居", "要支援"],
        days=["月", "木"],
        time="07:00-08:00",
        text="腰を痛めてゴミ出しができない。月曜と木曜の朝",
    ),
    "N-0079": dict(
        district="字北寺宿",
        categories=["ごみ出し"],
        age=86,
        attributes=["要介護"],
        days=["木"],
        time="7:00～8:00",
        text="歩行器でゴミ袋を運べない。木曜の朝に出したい",
    ),
    "N-0110": dict(
        district="下狼塚",
        categories=["ふれあいサロン"],
        age=76,
        near=("R-006", 250),
        max_walk_m=700,
        transport=False,
        text="近所のサロンに新しく参加したい",
    ),
    "N-0041": dict(
        district="宮崎字南１番",
        categories=["買い物支援"],
        age=81,
        attributes=["独居"],
        days=["日"],
        transport=False,
        text="平日は通院とデイサービスで埋まっているので、日曜に買い物を手伝ってほしい",
    ),
    "N-0053": dict(
        district="字南町",
        categories=["家事援助"],
        age=77,
        attributes=["高齢者のみ世帯"],
        days=["日"],
        text="平日は娘が来られないので、日曜に掃除を手伝ってほしい",
    ),
    "N-0089": dict(
        district="字中嶋",
        categories=["配食"],
        age=85,
        attributes=["独居"],
        time="17:00-19:00",
        text="昼は自分で用意できるが、夕食の配食がほしい",
    ),
    "N-0125": dict(
        district="字北町２番",
        categories=["ゴミ出し支援"],
        age=80,
        attributes=["独居", "要支援"],
        days=["水"],
        time="07:00-08:00",
        text="水曜の資源ごみの日に、朝8時までにゴミを出せない",
    ),
    "N-0007": dict(
        district="宮崎字焼原１番",
        categories=["サロン"],
        age=79,
        far=("R-068", 1500),
        max_walk_m=500,
        transport=False,
        text="サロンに行きたいが、会場まで歩いて行けない。車もない",
    ),
    "N-0061": dict(
        district="柳沢字檜葉野前",
        categories=["サロン"],
        age=74,
        max_walk_m=500,
        transport=False,
        far=("R-070", 1500),
        text="近くでおしゃべりできる場がほしいが、遠くまでは歩けない",
    ),
    "N-0098": dict(
        district="字北原",
        categories=["お茶飲み会"],
        age=82,
        max_walk_m=400,
        transport=False,
        far=("R-049", 900),
        text="お茶飲みの集まりに行きたいが、会場まで歩くのは無理",
    ),
}

# ------------------------------------------------------------------------- met needs

# How many needs of each category, and the texts (natural intake Japanese; no names).
QUOTAS: dict[str, int] = {
    "garbage": 8,
    "shopping": 11,
    "gathering": 8,
    "salon": 9,
    "mini_day": 7,
    "tea": 5,
    "senior_club": 7,
    "exercise": 10,
    "prevention": 3,
    "support": 3,
    "snow": 10,
    "meals": 9,
    "watch": 11,
    "transport": 8,
    "housework": 9,
    "volunteer": 3,
}
PAIRS = [
    ("snow", "watch"),
    ("shopping", "transport"),
    ("garbage", "housework"),
    ("meals", "watch"),
    ("snow", "watch"),
    ("exercise", "gathering"),
    ("shopping", "meals"),
]
LABELS = {  # category spellings written in "categories" (varied on purpose)
    "garbage": ["ゴミ出し支援", "ごみ出し", "ゴミ捨て"],
    "shopping": ["買い物支援", "買物支援", "移動販売"],
    "gathering": ["通いの場", "居場所", "集いの場"],
    "salon": ["サロン", "ふれあいサロン", "いきいきサロン"],
    "mini_day": ["ミニデイサービス", "ミニデイ"],
    "tea": ["お茶のみ場", "茶話会"],
    "senior_club": ["老人クラブ", "長寿会"],
    "exercise": ["体操教室", "百歳体操", "健康体操"],
    "prevention": ["介護予防"],
    "support": ["生活支援"],
    "snow": ["除雪", "雪かき", "除排雪"],
    "meals": ["配食", "お弁当", "配食サービス"],
    "watch": ["見守り・安否確認", "見守り", "安否確認"],
    "transport": ["移動支援", "外出支援", "通院付き添い"],
    "housework": ["家事援助", "掃除", "家事支援"],
    "volunteer": ["ボランティア", "担い手"],
}
TEXTS = {
    "garbage": [
        "ゴミ置き場まで運べない",
        "膝が痛く、ゴミ出しがつらい",
        "ごみの日に集積所まで持って行けない",
        "腰を痛めてからゴミ捨てが大変",
        "ｺﾞﾐ出しを手伝ってほしい",
        "塵を捨てに行くのが難しくなった",
    ],
    "shopping": [
        "買い物に行けない",
        "近くに店がなく、食料品を買いに行けない",
        "足が悪く買い物が大変",
        "重い物を買って帰れない。買い物を手伝ってほしい",
        "移動販売が来てくれると助かる",
    ],
    "gathering": [
        "話し相手がほしい",
        "妻を亡くしてから家に閉じこもりがち",
        "日中ひとりで寂しい",
        "近所の人と集まる場所がほしい",
        "外出の機会がなく、誰とも話さない日がある",
    ],
    "salon": ["近くのサロンに参加したい", "ふれあいサロンに通いたい", "サロンでおしゃべりをしたい"],
    "mini_day": ["ミニデイに通いたい", "ﾐﾆﾃﾞｲサービスを利用したい", "ミニデイで昼間を過ごしたい"],
    "tea": [
        "近所のお茶飲み会に参加したい",
        "お茶っこ飲みの集まりに行きたい",
        "茶話会に顔を出したい",
    ],
    "senior_club": [
        "老人クラブに入りたい",
        "長寿会の活動に参加したい",
        "シニアクラブで仲間を作りたい",
    ],
    "exercise": [
        "足腰が弱ってきたので体操をしたい",
        "転倒予防の運動をしたい",
        "百歳体操に参加したい",
        "筋力が落ちてきたので体を動かしたい",
    ],
    "prevention": ["介護予防の活動に参加したい", "元気なうちに介護予防に取り組みたい"],
    "support": ["暮らしの困りごとをまとめて相談したい", "生活全般で手助けが必要"],
    "snow": [
        "雪かきができない",
        "屋根の雪下ろしができない",
        "玄関前の除雪をお願いしたい",
        "冬の間の雪かきが負担",
    ],
    "meals": [
        "食事の用意ができない",
        "お弁当を届けてほしい",
        "一人分の料理を作るのがつらい",
        "昼食の配食を頼みたい",
    ],
    "watch": [
        "一人暮らしで心配",
        "安否が心配なので時々見守ってほしい",
        "遠方の家族が、連絡が取れないと心配している",
        "倒れていないか声をかけてほしい",
    ],
    "transport": [
        "通院の足がない",
        "免許を返納して病院に行く手段がない",
        "通院の付き添いをお願いしたい",
        "バスが少なく病院に行けない",
    ],
    "housework": [
        "掃除ができない",
        "洗濯物を干すのがつらい",
        "草むしりができなくなった",
        "電球の交換を頼める人がいない",
        "そうじを手伝ってほしい",
    ],
    "volunteer": ["まだ元気なので人の役に立ちたい", "地域で何か手伝いたい"],
}
# Texts that name two needs at once, for PAIRS (categories are then always inferred).
PAIR_TEXTS = {
    ("snow", "watch"): [
        "雪かきと、冬の間の安否確認をお願いしたい",
        "一人暮らしで心配。雪かきもできない",
    ],
    ("shopping", "transport"): ["買い物に行けず、通院の足もない"],
    ("garbage", "housework"): ["ゴミ出しと掃除を手伝ってほしい"],
    ("meals", "watch"): ["食事の用意ができず、一人暮らしで心配"],
    ("exercise", "gathering"): ["体操をしながら話し相手を見つけたい"],
    ("shopping", "meals"): ["買い物に行けず、食事の用意もできない"],
}


# ------------------------------------------------------------------------ the checker

AMBIGUITY_CHECK: list[Any] = []  # every district, filled by build()


@dataclass
class Res:
    """What the check needs of one resource (read back from the imported demo)."""

    id: str
    status: str
    categories: tuple[str, ...]
    districts: frozenset[int]
    lat: float | None
    lon: float | None
    transport: bool | None
    min_age: int | None
    attributes: frozenset[str]
    full: bool
    understood: bool
    rows: list[tuple[frozenset[int] | None, dt.time | None, dt.time | None, frozenset[int]]]
    # rows that occur in every four weeks all year (weekly, daily, or twice a month): a
    # met need is built on one of these, so it is met whatever date the matcher runs on
    steady: list[tuple[frozenset[int], dt.time | None, dt.time | None, frozenset[int]]]


@dataclass
class NeedSpec:
    id: str
    district_id: int
    codes: tuple[str, ...]
    lat: float
    lon: float
    age: int | None
    attributes: frozenset[str]
    days: frozenset[int] | None
    time: tuple[dt.time, dt.time] | None
    months: frozenset[int] | None
    max_walk_m: int | None
    transport: bool | None
    checks: dict[str, set[str]] = field(default_factory=dict)


def haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The product's great-circle metres (directory.distance), so the check and the
    engine agree to the metre."""
    from directory.distance import haversine_m

    return float(haversine_m(lat1, lon1, lat2, lon2))


def _weekdays_of(rrule: str | None) -> frozenset[int] | None:
    """Weekdays a schedule can fall on (None: the text names no days)."""
    if not rrule:
        return None
    parts = dict(p.split("=", 1) for p in rrule.split(";"))
    if "BYDAY" in parts:
        return frozenset(
            WEEKDAY_CODES.index(d.lstrip("+-0123456789")) for d in parts["BYDAY"].split(",")
        )
    return frozenset(range(7))  # DAILY, or MONTHLY by day of month: any weekday


def _steady(rrule: str | None) -> bool:
    """Weekly, daily, or at least twice a month: some day in any four weeks."""
    if not rrule:
        return False
    parts = dict(p.split("=", 1) for p in rrule.split(";"))
    if parts["FREQ"] in ("DAILY", "WEEKLY"):
        return parts.get("INTERVAL", "1") in ("1", "2")
    by = parts.get("BYDAY") or parts.get("BYMONTHDAY") or ""
    return by.count(",") >= 1


def _months_of(start: int | None, end: int | None) -> frozenset[int]:
    if start is None or end is None:
        return frozenset(range(1, 13))
    span = (end - start) % 12
    return frozenset((start - 1 + k) % 12 + 1 for k in range(span + 1))


def failures(need: NeedSpec, r: Res, ancestors: dict[int, frozenset[int]]) -> set[str] | None:
    """Why ``r`` does not meet ``need`` (empty: it does); None: not a candidate at all."""
    from directory.taxonomy import meets

    if r.status == "ended" or not any(meets(c, rc) for c in need.codes for rc in r.categories):
        return None
    serves = bool(r.districts & ancestors[need.district_id])
    dist = haversine(need.lat, need.lon, r.lat, r.lon) if r.lat is not None else None
    walkable = dist is not None and need.max_walk_m is not None and dist <= need.max_walk_m
    if not serves and not walkable:
        return None
    out: set[str] = set()
    if not serves:
        out.add("other_district")  # walkable, but outside the districts it serves
    if r.status == "paused":
        out.add("paused")
    if (
        dist is not None
        and need.max_walk_m is not None
        and not need.transport
        and not r.transport
        and dist > need.max_walk_m
    ):
        out.add("distance")
    if r.min_age is not None and need.age is not None and need.age < r.min_age:
        out.add("eligibility")
    if r.attributes and not (r.attributes & need.attributes):
        out.add("eligibility")
    if r.full:
        out.add("capacity")
    schedule = _schedule(need, r)
    if schedule != "ok":
        out.add(schedule)
    return out


def _schedule(need: NeedSpec, r: Res) -> str:
    if not r.understood:
        return "schedule_unknown"
    unknown = False
    for days, start, end, months in r.rows:
        if need.months is not None and not (need.months & months):
            continue
        if need.time is not None and start is not None:
            stop = end or (dt.datetime.combine(FY_START, start) + dt.timedelta(hours=1)).time()
            if not (start < need.time[1] and stop > need.time[0]):
                continue
        if days is None:
            unknown = True
            continue
        if need.days is not None and not (need.days & days):
            continue
        return "ok"
    return "schedule_unknown" if unknown else "schedule"


def verdict(
    need: NeedSpec, resources: list[Res], ancestors: dict[int, frozenset[int]]
) -> tuple[bool, dict[str, set[str]]]:
    """(met, candidate → failures). Met: every category has a resource with no failure."""
    found: dict[str, set[str]] = {}
    for r in resources:
        f = failures(need, r, ancestors)
        if f is not None:
            found[r.id] = f
    met = all(
        any(
            not found.get(r.id, {"x"}) and any(_meets(c, rc) for rc in r.categories)
            for r in resources
        )
        for c in need.codes
    )
    return met, found


def _meets(need_code: str, resource_code: str) -> bool:
    from directory.taxonomy import meets

    return meets(need_code, resource_code)


def beyond_reach(need: NeedSpec, resources: list[Res]) -> dict[str, set[str]]:
    """For a need with no candidate: the nearest live resource of its kind in the town
    (by venue; one without a venue only when none has one), failing on ``distance``."""
    from directory.taxonomy import meets

    kind = [
        r
        for r in resources
        if r.status != "ended" and any(meets(c, rc) for c in need.codes for rc in r.categories)
    ]
    if not kind:
        return {}
    placed = [r for r in kind if r.lat is not None and r.lon is not None]
    if not placed:
        return {kind[0].id: {"distance"}}
    nearest = min(placed, key=lambda r: (haversine(need.lat, need.lon, r.lat, r.lon), r.id))
    return {nearest.id: {"distance"}}


def check_unmet(need: NeedSpec, reason: str, found: dict[str, set[str]]) -> str | None:
    """None when the need fails exactly as designed, else what is wrong."""
    if reason == "no_resource":
        return None if not found else f"has candidates {found}"
    if not found:
        return "has no candidate at all (that would be no_resource)"
    if any("other_district" in f for f in found.values()):
        return f"a walkable resource of another district muddies it: {found}"
    if not all(reason in f for f in found.values()):
        return f"not every candidate fails on {reason}: {found}"
    if not any(f == {reason} for f in found.values()):
        return f"no candidate fails on {reason} alone: {found}"
    return None


# --------------------------------------------------------------------------- the town


def load_town() -> tuple[Any, list[Res]]:
    """The demo imported by the product's own importers into a throwaway database."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from directory.db import make_engine, transaction
    from directory.geography import import_districts, import_venues
    from directory.models import District, Resource
    from directory.resources import import_resources
    from directory.schema import upgrade

    manifest = json.loads((HERE.parent / "demo.json").read_text(encoding="utf-8"))
    tmp = tempfile.TemporaryDirectory()
    engine = make_engine(f"sqlite:///{tmp.name}/needs-check.sqlite")
    upgrade(engine)
    with transaction(engine) as s:
        import_districts(s, HERE.parent / manifest["districts"])
        import_venues(s, HERE.parent / manifest["venues"])
        import_resources(s, HERE.parent / manifest["resources"])
    with Session(engine) as s:
        districts = {d.id: d for d in s.scalars(select(District))}
        for d in districts.values():
            _ = d.geometry
        resources = []
        for r in s.scalars(select(Resource).order_by(Resource.external_id)):
            resources.append(
                Res(
                    id=r.external_id,
                    status=r.status,
                    categories=tuple(c.code for c in r.categories),
                    districts=frozenset(d.id for d in r.districts),
                    lat=r.lat,
                    lon=r.lon,
                    transport=r.transport,
                    min_age=r.min_age,
                    attributes=frozenset(r.eligibility_attributes),
                    full=r.accepts_new is False or r.seats_left == 0,
                    understood=r.schedule_understood and all(x.understood for x in r.schedules),
                    rows=[
                        (
                            _weekdays_of(x.rrule),
                            x.start_time,
                            x.end_time,
                            _months_of(x.season_start_month, x.season_end_month),
                        )
                        for x in r.schedules
                    ],
                    steady=[
                        (
                            _weekdays_of(x.rrule),
                            x.start_time,
                            x.end_time,  # type: ignore[misc]
                            _months_of(x.season_start_month, x.season_end_month),
                        )
                        for x in r.schedules
                        if _steady(x.rrule)
                    ],
                )
            )
        s.expunge_all()
    engine.dispose()
    tmp.cleanup()
    return districts, resources


# -------------------------------------------------------------------------- building


def stable_hash(*parts: Any) -> int:
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12], 16)


def resident_ref(n: int) -> str:
    digest = hashlib.sha256(f"加美町デモ・架空の住民 {n}".encode()).hexdigest()
    ref = "R-" + digest[:8]
    return ref if any(ch.isdigit() for ch in ref) else "R-0" + digest[:7]


def point_in(
    district: Any,
    key: str,
    *,
    near: tuple[float, float, float] | None = None,
    far: tuple[float, float, float] | None = None,
) -> tuple[float, float]:
    """A deterministic approximate point (4 decimals) inside the district polygon,
    within ``near[2]`` metres of ``near`` / at least ``far[2]`` from ``far`` when asked."""
    from shapely.geometry import Point

    geom = district.geometry
    minx, miny, maxx, maxy = geom.bounds
    candidates = []
    steps = 40
    for i in range(steps + 1):
        for j in range(steps + 1):
            lon = round(minx + (maxx - minx) * i / steps, 4)
            lat = round(miny + (maxy - miny) * j / steps, 4)
            if not geom.contains(Point(lon, lat)):
                continue
            if near and haversine(lat, lon, near[0], near[1]) > near[2]:
                continue
            if far and haversine(lat, lon, far[0], far[1]) < far[2]:
                continue
            candidates.append((lat, lon))
    if not candidates:
        raise SystemExit(f"no point in {district.name} fits {key} (near={near}, far={far})")
    return candidates[stable_hash("point", key) % len(candidates)]


def build() -> list[dict[str, Any]]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from directory.taxonomy import load_taxonomy
    from directory.text import normalize
    from matching.inference import infer_categories

    taxonomy = load_taxonomy()
    districts, resources = load_town()
    by_res = {r.id: r for r in resources}
    ancestors: dict[int, frozenset[int]] = {}
    for d in districts.values():
        chain, cur = [d.id], d
        while cur.parent_id is not None:
            cur = districts[cur.parent_id]
            chain.append(cur.id)
        ancestors[d.id] = frozenset(chain)
    leaves = sorted((d for d in districts.values() if d.level == "district"), key=lambda d: d.code)
    AMBIGUITY_CHECK[:] = leaves
    by_code = {d.code: d for d in leaves}
    by_name: dict[str, list[Any]] = defaultdict(list)
    for d in leaves:
        by_name[normalize(d.name)].append(d)

    def district_of(text: str) -> Any:
        if text in by_code:
            return by_code[text]
        (only,) = by_name[normalize(text)]  # names used here must be unique
        return only

    def spec_of(
        nid: str, item: dict[str, Any], codes: tuple[str, ...], lat: float, lon: float
    ) -> NeedSpec:
        time = None
        if item.get("time"):
            from directory.schedules import parse_time_range

            time = parse_time_range(item["time"])
        return NeedSpec(
            id=nid,
            district_id=district_of(item["district"]).id,
            codes=codes,
            lat=lat,
            lon=lon,
            age=item.get("age"),
            attributes=frozenset(item.get("attributes", [])),
            days=frozenset(WEEKDAY_CHARS.index(x) for x in item["days"])
            if item.get("days")
            else None,
            time=time,
            months=frozenset(item["months"]) if item.get("months") else None,
            max_walk_m=item.get("max_walk_m"),
            transport=item.get("transport"),
        )

    problems: list[str] = []
    needs: dict[str, dict[str, Any]] = {}
    numbers = iter(n for n in range(1, TOTAL + 1) if f"N-{n:04d}" not in EXPECTED_UNMET)

    # --- the deliberately unmet needs, checked against their reason
    for nid, raw in UNMET.items():
        item = dict(raw)
        district = district_of(item["district"])
        codes = tuple(dict.fromkeys(taxonomy.resolve(c).code for c in item.get("categories", [])))
        if "cat" in item:
            codes = (item.pop("cat"),)
            if infer_categories(item["text"]) != list(codes):
                problems.append(f"{nid}: text infers {infer_categories(item['text'])}, not {codes}")
        near, far = item.pop("near", None), item.pop("far", None)
        if near or far:
            ref = by_res[(near or far)[0]]
            lat, lon = point_in(
                district,
                nid,
                near=(ref.lat, ref.lon, near[1]) if near else None,
                far=(ref.lat, ref.lon, far[1]) if far else None,
            )
            item["lat"], item["lon"] = lat, lon
        else:
            lat, lon = district.centroid_lat, district.centroid_lon
        spec = spec_of(nid, item, codes, lat, lon)
        met, found = verdict(spec, resources, ancestors)
        if not met and not found:
            found = beyond_reach(spec, resources)
        reason, names, _ = EXPECTED_UNMET[nid]
        wrong = "is met" if met else check_unmet(spec, reason, found)
        if wrong:
            problems.append(f"{nid} ({reason}): {wrong}")
        elif set(names) != set(found):
            problems.append(f"{nid}: near misses {sorted(found)}, documented {sorted(names)}")
        needs[nid] = item

    # --- the needs the demo can meet
    plan: list[tuple[str, ...]] = []
    for code, quota in QUOTAS.items():
        plan += [(code,)] * quota
    plan += PAIRS
    # interleave categories so areas and ids mix
    plan = [
        codes
        for _, codes in sorted(enumerate(plan), key=lambda t: stable_hash("order", t[1], t[0]))
    ]
    seen_plan: dict[tuple[str, ...], int] = defaultdict(int)
    for turn, codes in enumerate(plan):
        k = seen_plan[codes]
        seen_plan[codes] += 1
        nid = f"N-{next(numbers):04d}"
        item = met_need(
            nid, codes, k, turn, leaves, resources, ancestors, spec_of, infer_categories, problems
        )
        if item is not None:
            needs[nid] = item

    if problems:
        raise SystemExit("refusing to write needs.json:\n  " + "\n  ".join(problems))
    ordered = sorted(needs, key=lambda nid: int(nid[2:]))
    if len(ordered) != TOTAL:
        raise SystemExit(f"{len(ordered)} needs, expected {TOTAL}")
    return [finish(nid, needs[nid]) for nid in ordered]


def met_need(
    nid: str,
    codes: tuple[str, ...],
    k: int,
    turn: int,
    leaves: list[Any],
    resources: list[Res],
    ancestors: dict[int, frozenset[int]],
    spec_of: Any,
    infer: Any,
    problems: list[str],
) -> dict[str, Any] | None:
    """A need of ``codes`` in some district where a resource surely meets it."""
    areas = sorted({d.parent_id for d in leaves})
    area = areas[turn % len(areas)]
    home = [d for d in leaves if d.parent_id == area]  # areas take turns
    start = stable_hash("district", nid) % len(home)
    pool = home[start:] + home[:start] + [d for d in leaves if d.parent_id != area]
    h = stable_hash("profile", nid)
    inferred = len(codes) > 1 or h % 3 == 0
    texts = PAIR_TEXTS.get(codes) if len(codes) > 1 else TEXTS[codes[0]]
    text = texts[(k + h) % len(texts)]
    for district in pool:
        for r in sorted(resources, key=lambda r: (stable_hash(nid, r.id), r.id)):
            item = profile(
                nid, codes, district, r, h, text, inferred, resources, ancestors, spec_of
            )
            if item is None:
                continue
            if inferred and infer(text) != sorted(codes, key=_order):
                problems.append(f"{nid}: {text!r} infers {infer(text)}, not {codes}")
                return None
            return item
    problems.append(f"{nid}: no district where {codes} can be met")
    return None


def _order(code: str) -> int:
    from directory.taxonomy import load_taxonomy

    return list(load_taxonomy().categories).index(code)


def profile(
    nid: str,
    codes: tuple[str, ...],
    district: Any,
    r: Res,
    h: int,
    text: str,
    inferred: bool,
    resources: list[Res],
    ancestors: dict[int, frozenset[int]],
    spec_of: Any,
) -> dict[str, Any] | None:
    """A need that ``r`` meets in ``district`` (verified over all resources), or None."""
    if (
        r.status != "active"
        or r.full
        or not r.understood
        or not (r.districts & ancestors[district.id])
        or not all(any(_meets(c, rc) for rc in r.categories) for c in codes[:1])
    ):
        return None
    days_rows = [row for row in r.steady if len(row[3]) == 12 or "snow" in codes]
    if not days_rows:
        return None
    # by name mostly, as coordinators write it; by code now and then, and always when
    # two districts share the name (菜切谷字青木原, 羽場字黒松, 宮崎字屋敷４番)
    unique = sum(d.name == district.name for d in AMBIGUITY_CHECK) == 1
    item: dict[str, Any] = {"district": district.name if unique and h % 4 else district.code}
    item["age"] = max(r.min_age or 0, 68) + h % 23
    attributes = set()
    if r.attributes:
        attributes.add(sorted(r.attributes)[h % len(r.attributes)])
    if h % 5 == 0 and "独居" not in attributes and "高齢者のみ世帯" not in attributes:
        attributes.add("高齢者のみ世帯" if h % 2 else "独居")
    if attributes:
        item["attributes"] = sorted(attributes)
    row_days, row_start, row_end, row_months = days_rows[0]
    if h % 3 != 1 and len(row_days) < 7:
        chosen = sorted(row_days)[: 1 + h % 2]
        item["days"] = [WEEKDAY_CHARS[i] for i in chosen]
    if h % 4 == 1 and row_start is not None and row_end is not None:
        item["time"] = f"{row_start:%H:%M}-{row_end:%H:%M}"
    if "snow" in codes:
        item["months"] = [12, 1, 2, 3]
    elif len(row_months) < 12:
        item["months"] = sorted(row_months)[:3]
    # where the resident is: a point (two thirds of the needs) or the centroid
    if h % 3:
        if r.lat is not None and not r.transport and h % 2:
            lat, lon = point_in(district, nid)
            dist = haversine(lat, lon, r.lat, r.lon)
            if dist * 1.3 <= 3000:
                item["max_walk_m"] = int(math.ceil(dist * 1.3 / 100) * 100)
                item["transport"] = False
            else:
                item["transport"] = True
        else:
            lat, lon = point_in(district, nid)
            if r.lat is None and h % 5 in (1, 2):  # help comes to the door: walking is moot
                item["max_walk_m"] = (300, 500, 800, 1000)[h % 4]
        item["lat"], item["lon"] = lat, lon
    else:
        lat, lon = district.centroid_lat, district.centroid_lon
        if h % 7 == 0:
            item["transport"] = True
    item["text"] = text
    if not inferred:
        item["categories"] = [LABELS[c][h % len(LABELS[c])] for c in codes]
    spec = spec_of(nid, item, codes, lat, lon)
    met, _ = verdict(spec, resources, ancestors)
    return item if met else None


def finish(nid: str, item: dict[str, Any]) -> dict[str, Any]:
    """The §4 object in a fixed field order, with the fictional-data labels and the basis."""
    n = int(nid[2:])
    h = stable_hash("finish", nid)
    recorded = FY_START + dt.timedelta(days=h % FY_DAYS)
    out: dict[str, Any] = {"id": nid, "resident": resident_ref(n), "district": item["district"]}
    for key in (
        "lat",
        "lon",
        "categories",
        "text",
        "days",
        "time",
        "months",
        "max_walk_m",
        "transport",
        "age",
        "attributes",
    ):
        if item.get(key) is not None:
            out[key] = item[key]
    out["recorded_on"] = recorded.isoformat()
    out["urgency"] = ("normal", "normal", "normal", "high", "low")[h % 5]
    out["source"] = f"架空のデータ（{SOURCES[h % len(SOURCES)]}）"
    if h % 9 == 0:
        out["basis"] = STATUTORY_BASIS
    else:
        out["consent_on"] = recorded.isoformat()
        out["consent_by"] = "家族" if h % 4 == 0 else "本人"
    return out


def main() -> None:
    if "--expected" in sys.argv:
        print(
            json.dumps(
                {
                    k: {"reason": v[0], "near_miss": list(v[1]), "why": v[2]}
                    for k, v in EXPECTED_UNMET.items()
                },
                ensure_ascii=False,
                indent=1,
            )
        )
        return
    needs = build()
    text = json.dumps(needs, ensure_ascii=False, indent=1) + "\n"
    OUT.write_text(text, encoding="utf-8", newline="\n")
    counts: dict[str, int] = defaultdict(int)
    for need in needs:
        counts["inferred" if "categories" not in need else "stated"] += 1
        counts["point" if "lat" in need else "centroid"] += 1
    print(
        f"{OUT.name}: {len(needs)} needs ({len(EXPECTED_UNMET)} deliberately unmet); "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    )


if __name__ == "__main__":
    main()
