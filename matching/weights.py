"""The matching engine's weights and thresholds: data, not code.

Every soft factor of :mod:`matching.engine` is a number in [0, 1]; a match's score is the
weighted mean of its factors with the weights below (they sum to 1; when a need has no
text the ``text`` factor is left out and the others are re-weighted, so a need without
text is not penalised). Each entry says in Japanese and English what the factor measures,
so a coordinator or the 協議体 can ask "why is this one first?" and get an answer from
this file. Change a weight here, not in the engine; ``tests/matching`` checks that every
factor the engine computes is documented here and that the weights still add up to 1.

``PARAMETERS`` are the thresholds the factors use (default walking limit, how far 送迎
reaches, how old a confirmation may be …), also documented one by one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["DEFAULT_PARAMETERS", "DEFAULT_WEIGHTS", "FACTORS", "PARAMETERS", "Factor", "Parameter"]


@dataclass(frozen=True)
class Factor:
    """One soft factor: its weight in the score and what it means (ja / en)."""

    weight: float
    ja: str
    en: str


@dataclass(frozen=True)
class Parameter:
    """One threshold of the engine, with its unit in the descriptions."""

    value: float
    ja: str
    en: str


FACTORS: Mapping[str, Factor] = MappingProxyType(
    {
        "distance": Factor(
            0.25,
            "場所: 対象地区内で自宅に来る資源1.0、会場のある資源は徒歩圏なら1.0（0m）～0.5（徒歩の"
            "上限）、送迎あり0.9、それ以外0.8。対象地区のない会場型の資源は徒歩圏で1.0～0.5、送迎"
            "（または相談者が自分で移動）の範囲内で0.9～0.5。",
            "Place: 1.0 for a service serving the district that comes to the home; for one with a "
            "venue, 1.0 (0 m) down to 0.5 (the walking limit) on foot, 0.9 with 送迎, else 0.8. "
            "An open venue (no 対象地区) scores 1.0–0.5 on foot and 0.9–0.5 within the pick-up "
            "range of its 送迎 or the resident's own travel range.",
        ),
        "schedule": Factor(
            0.20,
            "日程: 希望の曜日ごとに、期間内のその曜日のうち希望の時間帯に活動がある日の割合の平均"
            "（月2回の資源は毎週の希望に0.5）。曜日の指定がなければ希望の時間帯・月に活動があれば1.0。"
            "希望がない相談では今後4週間に活動があれば1.0、日程不明0.5、期間内に活動なし0.3。",
            "Schedule: the mean over the wanted weekdays of the share of those dates in the window "
            "with an occurrence in the wanted time (a fortnightly resource gets 0.5 against a "
            "weekly wish); without wanted weekdays 1.0 when there is any occurrence in the wanted "
            "times/months. For a need with no wish: 1.0 when the resource runs in the next four "
            "weeks, 0.5 when its schedule is unknown, 0.3 when it does not run in that window.",
        ),
        "category": Factor(
            0.20,
            "種別: 希望の種別ごとに、同じ種別1.0・子の種別0.9・孫の種別0.8・合わない0、その平均。",
            "Category: per wanted category 1.0 for the same code, 0.9 for a child, 0.8 for a "
            "grandchild, 0 when not met; the mean over the wanted categories.",
        ),
        "eligibility": Factor(
            0.10,
            "対象者: 条件がないか、年齢・属性がすべて確認できれば1.0。相談記録に年齢・属性がなく"
            "確認できない条件1つにつき0.25減（下限0.5）。",
            "Eligibility: 1.0 when the resource has no condition or every condition is confirmed "
            "by the need; 0.25 less per condition the need's record cannot confirm (floor 0.5).",
        ),
        "capacity": Factor(
            0.10,
            "空き: 空きあり（人数または「あり」）で1.0、空き状況が未記入なら0.7。",
            "Capacity: 1.0 when seats are known to be free, 0.7 when vacancy is not recorded.",
        ),
        "freshness": Factor(
            0.05,
            "情報の鮮度: 最終確認から1年以内1.0、3年で0へ直線的に減少、確認日不明0.5。",
            "Freshness: 1.0 when confirmed within a year, falling linearly to 0 at three years; "
            "0.5 when the date is unknown.",
        ),
        "text": Factor(
            0.10,
            "相談内容の類似: 相談の文と資源の名称・説明の文字列類似度（rapidfuzz partial_ratio、"
            "正規化後）。相談の文がなければ使わない。",
            "Text: character similarity (rapidfuzz partial_ratio on normalised text) between the "
            "need's text and the resource's name and description; unused when the need has no text.",
        ),
    }
)

DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {name: factor.weight for name, factor in FACTORS.items()}
)

PARAMETERS: Mapping[str, Parameter] = MappingProxyType(
    {
        "default_walk_m": Parameter(
            1000.0,
            "徒歩の上限が記録されていない相談で、対象地区のない会場型資源を「近い」とみなす距離"
            "（m、直線距離）。徒歩の点数の基準にも使う。",
            "For a need recording no walking limit: how near (great-circle metres) an open venue "
            "(no 対象地区) must be, and the scale of the walking score.",
        ),
        "pickup_radius_m": Parameter(
            5000.0,
            "送迎ありの資源が届く範囲（会場からの直線距離、m）。",
            "How far (great-circle metres from the venue) a resource's 送迎 reaches.",
        ),
        "served_with_venue": Parameter(
            0.8,
            "対象地区内で会場に行ける（送迎なし・徒歩圏外で、自分で移動できるか徒歩の上限が未記録）"
            "資源の場所の値。",
            "Place value of a resource serving the district whose venue is reachable but not "
            "on foot nor by its 送迎 (the resident travels, or recorded no walking limit).",
        ),
        "travel_radius_m": Parameter(
            10000.0,
            "自分で移動できる（車・家族の送迎など、transport=true）相談者が通える範囲（会場までの"
            "直線距離、m）。",
            "How far (great-circle metres to the venue) a resident who can travel beyond walking "
            "(own car, family; transport=true) can reach.",
        ),
        "category_step": Parameter(
            0.1,
            "種別が1階層下がるごとの減点（子0.9、孫0.8）。",
            "Category fit lost per level below the wanted category (child 0.9, grandchild 0.8).",
        ),
        "schedule_unknown": Parameter(
            0.5,
            "希望のない相談で、日程が不明な資源の日程の値。",
            "Schedule value of a resource with an unknown schedule, for a need with no wish.",
        ),
        "schedule_idle": Parameter(
            0.3,
            "希望のない相談で、今後4週間に活動のない資源の日程の値。",
            "Schedule value, for a need with no wish, of a resource idle in the next four weeks.",
        ),
        "schedule_season_only": Parameter(
            0.8,
            "曜日のない期間（12月～3月）だけの資源が希望の月に合うときの日程の値。",
            "Schedule value when only a season (12月～3月, no weekdays) meets the wanted months.",
        ),
        "eligibility_unconfirmed": Parameter(
            0.25,
            "確認できない対象者条件1つにつきの減点。",
            "Eligibility lost per condition the need's record cannot confirm.",
        ),
        "eligibility_floor": Parameter(
            0.5,
            "対象者の値の下限（確認できない条件が多くても）。",
            "Lowest eligibility value for unconfirmed (not failed) conditions.",
        ),
        "capacity_unknown": Parameter(
            0.7,
            "空き状況が未記入の資源の空きの値。",
            "Capacity value of a resource whose vacancy is not recorded.",
        ),
        "fresh_days": Parameter(
            365.0,
            "この日数以内に確認された情報は鮮度1.0。",
            "Days since confirmation up to which freshness is 1.0.",
        ),
        "stale_days": Parameter(
            1095.0,
            "この日数で鮮度0。",
            "Days since confirmation at which freshness reaches 0.",
        ),
        "freshness_unknown": Parameter(
            0.5,
            "確認日が不明な資源の鮮度。",
            "Freshness of a resource with no confirmation date.",
        ),
    }
)

DEFAULT_PARAMETERS: Mapping[str, float] = MappingProxyType(
    {name: p.value for name, p in PARAMETERS.items()}
)
