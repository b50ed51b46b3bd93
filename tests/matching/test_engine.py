"""The scoring engine on small hand-built directories: every factor, every unmet reason.

The town: 架空市 (1) with the areas 西部 (2: 本町一区 3, 本町二区 4) and 東部 (5: 新田 6),
and a far-away 遠方町 (7 → 8 → 9). Needs stand at 本町一区's centroid unless said
otherwise; 0.001° of latitude is about 111 m.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from directory.schedules import parse_schedule
from matching.engine import (
    FACTOR_NAMES,
    UNMET_REASONS,
    NeedQuery,
    NeedResult,
    parse_attributes,
    parse_days,
    parse_months,
    parse_time_window,
    result_to_json,
    score,
    score_many,
)
from matching.snapshot import (
    DirectorySnapshot,
    DistrictRecord,
    ResourceRecord,
    snapshot_from_records,
)
from matching.weights import DEFAULT_PARAMETERS, DEFAULT_WEIGHTS, FACTORS, PARAMETERS

ON = dt.date(2024, 6, 3)  # a Monday
LAT, LON = 35.01, 136.01  # 本町一区
M = 0.001 / 111.195  # degrees of latitude per metre (about)

DISTRICTS = [
    DistrictRecord(1, None, "municipality", "99999", "架空市", 35.02, 136.02),
    DistrictRecord(2, 1, "area", "99999-W", "西部", 35.01, 136.015),
    DistrictRecord(3, 2, "district", "99999-01", "本町一区", LAT, LON),
    DistrictRecord(4, 2, "district", "99999-02", "本町二区", 35.01, 136.02),
    DistrictRecord(5, 1, "area", "99999-E", "東部", 35.035, 136.035),
    DistrictRecord(6, 5, "district", "99999-03", "新田", 35.03, 136.03),
    DistrictRecord(7, None, "municipality", "88888", "遠方町", 36.5, 138.0),
    DistrictRecord(8, 7, "area", "88888-A", "遠方", 36.5, 138.0),
    DistrictRecord(9, 8, "district", "88888-01", "遠方一区", 36.5, 138.0),
]

_next_id = itertools.count(1)


def res(
    ext: str, categories: tuple[str, ...] = ("salon",), schedule: str = "", **fields: Any
) -> ResourceRecord:
    parsed = parse_schedule(schedule)
    return ResourceRecord(
        id=next(_next_id),
        external_id=ext,
        name=fields.pop("name", ext),
        categories=categories,
        schedules=parsed.schedules,
        schedule_understood=parsed.understood,
        **fields,
    )


def north(metres: float) -> dict[str, float]:
    """A venue ``metres`` north of the need."""
    return {"lat": LAT + metres * M, "lon": LON}


def snap_of(*resources: ResourceRecord, on: dt.date = ON) -> DirectorySnapshot:
    return snapshot_from_records(resources, DISTRICTS, on=on, version=1)


def need(**fields: Any) -> NeedQuery:
    values: dict[str, Any] = {
        "id": "N-1",
        "district_id": 3,
        "lat": LAT,
        "lon": LON,
        "categories": ("salon",),
    }
    values.update(fields)
    return NeedQuery(**values)


def ids(result: NeedResult) -> list[str]:
    return [m.external_id for m in result.matches]


def only(result: NeedResult) -> Any:
    assert not result.unmet, result
    assert len(result.matches) >= 1
    return result.matches[0]


def unmet(result: NeedResult, reason: str) -> NeedResult:
    assert result.unmet and result.unmet_reason == reason, result
    assert result.matches == ()
    return result


# ----------------------------------------------------------------------- category


def test_category_parent_need_is_met_by_children_and_grandchildren() -> None:
    snap = snap_of(
        res("R-1", ("garbage",), district_ids=(3,)),
        res("R-2", ("support",), district_ids=(3,)),
        res("R-3", ("salon",), district_ids=(3,)),
    )
    support = score(snap, need(categories=("support",)))
    assert ids(support) == ["R-2", "R-1"]  # exact first, then the child
    assert support.matches[0].factors["category"] == 1.0
    assert support.matches[1].factors["category"] == 0.9
    assert "種別: ゴミ出し支援" in support.matches[1].reasons
    prevention = only(score(snap, need(categories=("prevention",))))
    assert prevention.external_id == "R-3" and prevention.factors["category"] == 0.8


def test_category_child_need_is_not_met_by_parent_or_sibling() -> None:
    snap = snap_of(
        res("R-1", ("support",), district_ids=(3,)),
        res("R-2", ("gathering",), district_ids=(3,)),
        res("R-3", ("mini_day",), district_ids=(3,)),
    )
    unmet(score(snap, need(categories=("garbage",))), "no_resource")
    unmet(score(snap, need(categories=("salon",))), "no_resource")


def test_several_wanted_categories_average_their_fit() -> None:
    snap = snap_of(
        res("R-1", ("snow", "watch"), district_ids=(3,)), res("R-2", ("snow",), district_ids=(3,))
    )
    result = score(snap, need(categories=("snow", "watch")))
    assert ids(result) == ["R-1", "R-2"]
    assert result.matches[1].factors["category"] == 0.5
    assert "（見守り・安否確認は対象外）" in result.matches[1].reasons[2]


def test_unknown_category_is_refused() -> None:
    with pytest.raises(ValueError, match="未知の種別") as raised:
        score(snap_of(res("R-1")), need(categories=("nonsense",)))
    assert "unknown category 'nonsense'" in raised.value.describe("en")  # type: ignore[attr-defined]


# ----------------------------------------------------------------------- place


def test_serving_the_district_or_an_ancestor_is_in_place() -> None:
    snap = snap_of(
        res("R-1", ("garbage",), district_ids=(3,)),
        res("R-2", ("garbage",), district_ids=(2,)),  # the area
        res("R-3", ("garbage",), district_ids=(1,)),  # 全域
        res("R-4", ("garbage",), district_ids=(4,)),
    )  # a sibling district
    result = score(snap, need(categories=("garbage",)))
    assert ids(result) == ["R-1", "R-2", "R-3"]
    for m in result.matches:
        assert m.factors["distance"] == 1.0 and m.reasons[0] == "対象地区内"
    unmet(
        score(snap, need(categories=("garbage",), district_id=9, lat=36.5, lon=138.0)),
        "no_resource",
    )


def test_walking_distance_to_a_venue() -> None:
    snap = snap_of(
        res("R-near", **north(300)), res("R-mid", **north(700)), res("R-far", **north(1600))
    )
    result = score(snap, need(max_walk_m=800))
    assert ids(result) == ["R-near", "R-mid"]
    near, mid = result.matches
    assert near.reasons[0] == "徒歩約300m" and mid.reasons[0] == "徒歩約700m"
    assert near.factors["distance"] == pytest.approx(1 - 0.5 * 300 / 800, abs=0.01)
    assert near.factors["distance"] > mid.factors["distance"] >= 0.5
    assert near.distance_m == pytest.approx(300, abs=2)
    # the default walking limit is 1 km
    assert ids(score(snap, need())) == ["R-near", "R-mid"]
    assert ids(score(snap, need(max_walk_m=2000))) == ["R-near", "R-mid", "R-far"]


def test_a_resource_listing_other_districts_is_never_proposed() -> None:
    """対象地区 says whom a resource is for: a hall next door does not change that. The
    need is unmet for distance (the kind exists in the municipality, not for this place),
    the resource named with its distance."""
    snap = snap_of(res("R-1", district_ids=(4,), **north(300), transport=True))
    result = unmet(score(snap, need(transport=True)), "distance")
    assert result.near_miss is not None and result.near_miss.external_id == "R-1"
    assert result.near_miss.reasons == ("対象地区外（会場まで約300m）",)
    assert result.near_miss.distance_m == pytest.approx(300, abs=2)
    assert ids(score(snap, need(district_id=4))) == ["R-1"]


def test_a_kind_that_exists_only_beyond_reach_is_unmet_for_distance() -> None:
    """The nearest resource of the kind in the municipality is the near-miss: open venues
    beyond every reach and resources for other districts alike; nothing of that kind in
    the need's municipality (or only an ended one) is ``no_resource``."""
    snap = snap_of(
        res("R-far", ("garbage",), **north(5000)),
        res("R-farther", ("garbage",), **north(8000)),
        res("R-home", ("garbage",), district_ids=(6,)),  # no venue, another district
        res("R-ended", ("snow",), status="ended", **north(100)),
        res("R-elsewhere", ("meals",), district_ids=(9,)),  # another municipality
    )
    result = unmet(score(snap, need(categories=("garbage",), max_walk_m=500)), "distance")
    assert result.near_miss is not None and result.near_miss.external_id == "R-far"
    assert result.near_miss.distance_m == pytest.approx(5000, abs=5)
    assert result.near_miss.reasons == ("会場まで約5.0km（行ける範囲外）",)
    assert result_to_json(result)["near_miss"]["distance_m"] == 5000
    english = score(snap, need(categories=("garbage",)), lang="en").near_miss
    assert english is not None and english.reasons == ("about 5.0 km to the venue, beyond reach",)
    unmet(score(snap, need(categories=("snow",))), "no_resource")
    unmet(score(snap, need(categories=("meals",))), "no_resource")
    # the other municipality's need finds its own; a need placed nowhere has no municipality
    assert ids(score(snap, need(categories=("meals",), district_id=9))) == ["R-elsewhere"]
    only_home = snap_of(res("R-home", ("garbage",), district_ids=(6,)))
    home = unmet(score(only_home, need(categories=("garbage",))), "distance")
    assert home.near_miss is not None and home.near_miss.reasons == ("対象地区外",)
    assert home.near_miss.distance_m is None


def test_served_district_but_hall_too_far_to_walk_is_unmet_distance() -> None:
    snap = snap_of(res("R-1", district_ids=(3,), **north(1500)))
    result = unmet(score(snap, need(max_walk_m=500)), "distance")
    assert result.near_miss is not None and result.near_miss.external_id == "R-1"
    assert result.near_miss.reasons == ("会場まで約1.5km（徒歩の上限500m）",)


def test_open_venue_out_of_reach_does_not_serve_the_place() -> None:
    snap = snap_of(res("R-1", **north(1500)))  # no 対象地区: open to whoever reaches it
    unmet(score(snap, need(max_walk_m=500)), "distance")
    assert ids(score(snap, need(max_walk_m=2000))) == ["R-1"]


def test_transport_offered_by_the_resource_relaxes_distance() -> None:
    snap = snap_of(
        res("R-bus", transport=True, **north(3000)), res("R-walk", transport=False, **north(3000))
    )
    match = only(score(snap, need(max_walk_m=500)))
    assert match.external_id == "R-bus" and len(score(snap, need(max_walk_m=500)).matches) == 1
    assert match.reasons[0] == "送迎あり（会場まで約3.0km）"
    assert 0.5 <= match.factors["distance"] <= 0.9


def test_resident_who_can_travel_reaches_further() -> None:
    snap = snap_of(res("R-1", **north(3000)))
    unmet(score(snap, need(max_walk_m=500)), "distance")
    match = only(score(snap, need(max_walk_m=500, transport=True)))
    assert match.reasons[0] == "会場まで約3.0km（自分で移動）"


def test_resident_who_cannot_walk_needs_service_at_home_or_pick_up() -> None:
    snap = snap_of(
        res("R-venue", **north(100)),
        res("R-bus", transport=True, **north(100)),
        res("R-home", district_ids=(3,)),
    )
    result = score(snap, need(max_walk_m=0))
    assert ids(result) == ["R-home", "R-bus"]
    alone = unmet(
        score(snap_of(res("R-hall", district_ids=(3,), **north(100))), need(max_walk_m=0)),
        "distance",
    )
    assert alone.near_miss is not None
    assert alone.near_miss.reasons == ("送迎なし（会場まで約100m、徒歩不可）",)


def test_served_hall_beyond_walking_counts_when_the_resident_can_get_there() -> None:
    snap = snap_of(
        res("R-1", district_ids=(3,), **north(3000)),
        res("R-2", district_ids=(3,), transport=True, **north(3000)),
    )
    unmet(
        score(snap_of(res("R-1", district_ids=(3,), **north(3000))), need(max_walk_m=500)),
        "distance",
    )
    # 送迎 covers the district it serves, at any distance
    bus = only(score(snap, need(max_walk_m=500)))
    assert bus.external_id == "R-2" and bus.reasons[0] == "対象地区内・送迎あり"
    assert bus.factors["distance"] == 0.9
    # the resident's own car or family
    car = score(snap, need(max_walk_m=500, transport=True))
    assert ids(car) == ["R-2", "R-1"]
    assert car.matches[1].reasons[0] == "対象地区内（会場まで約3.0km・自分で移動）"
    assert car.matches[1].factors["distance"] == DEFAULT_PARAMETERS["served_with_venue"]
    # no walking limit recorded: the district's own hall counts as reachable
    loose = score(snap, need())
    assert ids(loose) == ["R-2", "R-1"]
    assert loose.matches[1].reasons[0] == "対象地区内（会場まで約3.0km）"


def test_need_without_location_uses_the_district_centroid() -> None:
    snap = snap_of(res("R-1", **north(300)))
    match = only(score(snap, need(lat=None, lon=None)))
    assert match.reasons[0] == "徒歩約300m"


# ----------------------------------------------------------------------- schedule


def test_schedule_fits_days_and_times() -> None:
    snap = snap_of(res("R-1", ("garbage",), "火・金 7:00～8:30", district_ids=(3,)))
    match = only(score(snap, need(categories=("garbage",), days=(1, 4), time=(420, 540))))
    assert match.factors["schedule"] == 1.0
    assert match.reasons[1] == "火・金 7:00–9:00 に活動"


def test_schedule_partly_fitting_ranks_lower() -> None:
    snap = snap_of(
        res("R-both", ("garbage",), "火・金 7:00～8:30", district_ids=(3,)),
        res("R-tue", ("garbage",), "火 7:00～8:30", district_ids=(3,)),
        res("R-2nd4th", ("garbage",), "火 7:00～8:30 第2・第4", district_ids=(3,)),
    )
    result = score(snap, need(categories=("garbage",), days=(1, 4), time=(420, 540)))
    assert ids(result) == ["R-both", "R-tue", "R-2nd4th"]
    assert [m.factors["schedule"] for m in result.matches] == [1.0, 0.5, 0.25]
    assert result.matches[1].reasons[1] == "火 7:00–9:00 に活動（金曜は活動なし）"
    assert "（金曜は活動なし）" in result.matches[2].reasons[1]


def test_schedule_on_the_wrong_day_is_unmet_schedule() -> None:
    snap = snap_of(res("R-1", ("garbage",), "火・金 7:00～8:30", district_ids=(3,)))
    result = unmet(score(snap, need(categories=("garbage",), days=(5,))), "schedule")
    assert result.near_miss is not None and result.near_miss.reasons == ("土曜の活動なし",)
    late = unmet(score(snap, need(categories=("garbage",), days=(1,), time=(780, 900))), "schedule")
    assert late.near_miss is not None
    assert late.near_miss.reasons == ("火曜 13:00–15:00の活動なし",)


def test_time_only_wish() -> None:
    snap = snap_of(
        res("R-am", schedule="月水金 10:00～12:00", **north(100)),
        res("R-pm", schedule="月水金 13:00～15:00", **north(100)),
    )
    result = score(snap, need(time=(600, 720)))
    assert ids(result) == ["R-am"]
    assert result.matches[0].reasons[1] == "10:00–12:00 に活動"


def test_season_snow_in_december_not_june() -> None:
    snow = res("R-snow", ("snow",), "12月～3月 降雪時", district_ids=(3,))
    snap = snap_of(snow)
    # wanted months: judged on next winter even when recorded in June
    match = only(score(snap, need(categories=("snow",), months=(12, 1, 2, 3))))
    assert match.factors["schedule"] == 1.0 and match.reasons[1] == "12月～3月に活動"
    # wanted days without months: the next four weeks of June have no snow help
    unmet(score(snap, need(categories=("snow",), days=(0,))), "schedule")
    december = snap_of(snow, on=dt.date(2024, 12, 2))
    assert ids(score(december, need(categories=("snow",), days=(0,), on=dt.date(2024, 12, 2)))) == [
        "R-snow"
    ]
    # a summer-only wish is not met by winter help
    unmet(score(snap, need(categories=("snow",), months=(7, 8))), "schedule")


def test_season_without_days_meets_a_months_wish_only() -> None:
    snap = snap_of(res("R-1", ("snow",), "12月～3月", district_ids=(3,)))
    match = only(score(snap, need(categories=("snow",), months=(1, 2))))
    assert match.factors["schedule"] == DEFAULT_PARAMETERS["schedule_season_only"]
    assert match.reasons[1] == "1月～2月に活動（曜日は未定）"
    result = unmet(score(snap, need(categories=("snow",), days=(0,), months=(1,))), "schedule")
    assert result.near_miss is not None
    assert result.near_miss.reasons[0].startswith("曜日の記載なし")


def test_holidays_closed_count_against_the_fit() -> None:
    on = dt.date(2024, 7, 8)  # Mondays 7/8, 7/15 (海の日), 7/22, 7/29
    snap = snap_of(
        res("R-closed", schedule="月 10:00～12:00 祝日休み", **north(100)),
        res("R-open", schedule="月 10:00～12:00", **north(100)),
        on=on,
    )
    result = score(snap, need(days=(0,), on=on))
    assert ids(result) == ["R-open", "R-closed"]
    assert result.matches[1].factors["schedule"] == 0.75
    assert result.matches[1].reasons[1] == "月に活動（4日中3日）"


def test_unknown_schedule_never_satisfies_a_wish() -> None:
    snap = snap_of(
        res("R-1", schedule="不定期（要相談）", district_ids=(3,)), res("R-2", district_ids=(3,))
    )
    result = unmet(score(snap, need(days=(2,))), "schedule")
    assert result.near_miss is not None
    assert result.near_miss.reasons[0] in ("日程を解釈できず確認できない", "日程の記載なし")
    # without a wish they are matches, with the schedule factor at "unknown"
    loose = score(snap, need())
    assert ids(loose) == ["R-1", "R-2"]
    assert [m.factors["schedule"] for m in loose.matches] == [0.5, 0.5]
    assert loose.matches[0].reasons[1] == "日程を解釈できず確認できない"
    assert loose.matches[1].reasons[1] == "日程の記載なし"


def test_no_wish_prefers_resources_running_soon() -> None:
    snap = snap_of(
        res("R-winter", ("snow",), "12月～3月 降雪時", district_ids=(3,)),
        res("R-weekly", ("snow",), "土 9:00～12:00", district_ids=(3,)),
    )
    result = score(snap, need(categories=("snow",)))
    assert ids(result) == ["R-weekly", "R-winter"]
    assert result.matches[0].reasons[1] == "毎週 土 9:00～12:00"
    assert result.matches[1].factors["schedule"] == DEFAULT_PARAMETERS["schedule_idle"]
    assert result.matches[1].reasons[1].startswith("今後4週間は活動なし")


def test_timeless_occurrences_fit_any_time_with_a_note() -> None:
    snap = snap_of(res("R-1", schedule="土日", **north(100)))
    match = only(score(snap, need(days=(5,), time=(600, 660))))
    assert match.reasons[1] == "土 10:00–11:00 に活動（時間は要確認）"


# ----------------------------------------------------------------------- eligibility


def test_age_requirement() -> None:
    snap = snap_of(res("R-1", min_age=65, **north(100)))
    result = unmet(score(snap, need(age=60)), "eligibility")
    assert result.near_miss is not None
    assert result.near_miss.reasons == ("対象外: 65歳以上が対象（本人60歳）",)
    ok = only(score(snap, need(age=70)))
    assert ok.factors["eligibility"] == 1.0
    assert ok.reasons[4] == "対象者の条件を満たす（65歳以上）"
    unknown = only(score(snap, need()))
    assert unknown.factors["eligibility"] == 0.75 and unknown.reasons[4] == "要確認: 65歳以上"


@pytest.mark.parametrize(
    ("required", "has", "eligible"),
    [
        (("要支援",), ("要支援",), True),
        (("要支援",), ("事業対象者",), True),  # the same 総合事業 population
        (("事業対象者",), ("要支援",), True),
        (("要支援",), ("要介護",), False),  # 要介護 is a different status
        (("要介護",), ("要支援",), False),
        (("要支援", "要介護"), ("要介護",), True),  # alternatives
        (("要支援",), (), False),  # recorded, and not certified
        (("独居",), ("独居",), True),
        (("独居",), ("高齢者のみ世帯",), False),
        (("高齢者のみ世帯",), ("独居",), True),  # living alone is an elderly-only household
        (("要支援", "要介護", "独居"), ("独居",), True),  # 「要支援、要介護、独居」: any of them
        (("要支援", "要介護", "独居"), ("要介護", "高齢者のみ世帯"), True),
        (("要支援", "要介護", "独居"), ("高齢者のみ世帯",), False),
        (("要支援", "独居"), ("事業対象者",), True),
    ],
)
def test_attribute_requirements(
    required: tuple[str, ...], has: tuple[str, ...], eligible: bool
) -> None:
    snap = snap_of(res("R-1", attributes=required, district_ids=(3,)))
    result = score(snap, need(attributes=has))
    if eligible:
        assert ids(result) == ["R-1"]
        assert result.matches[0].factors["eligibility"] == 1.0
    else:
        unmet(result, "eligibility")
        assert result.near_miss is not None
        assert result.near_miss.reasons[0].startswith("対象外: ")


def test_unrecorded_attributes_are_unconfirmed_not_failed() -> None:
    snap = snap_of(res("R-1", attributes=("要介護", "独居"), min_age=65, district_ids=(3,)))
    match = only(score(snap, need(attributes=None)))
    assert match.factors["eligibility"] == DEFAULT_PARAMETERS["eligibility_floor"]
    assert match.reasons[4] == "要確認: 65歳以上・要介護・独居"


# ----------------------------------------------------------------------- capacity


def test_full_resources_are_excluded_and_reported() -> None:
    snap = snap_of(
        res("R-full", accepts_new=False, **north(100)),
        res("R-zero", seats_left=0, accepts_new=False, **north(100)),
    )
    result = unmet(score(snap, need()), "capacity")
    assert result.near_miss is not None and result.near_miss.reasons == ("満員（空きなし）",)


def test_capacity_factor_and_reasons() -> None:
    snap = snap_of(
        res("R-seats", seats_left=3, accepts_new=True, **north(100)),
        res("R-yes", accepts_new=True, **north(100)),
        res("R-unknown", **north(100)),
    )
    result = score(snap, need())
    assert ids(result) == ["R-seats", "R-yes", "R-unknown"]
    assert [m.factors["capacity"] for m in result.matches] == [1.0, 1.0, 0.7]
    assert [m.reasons[3] for m in result.matches] == [
        "空きあり（残り3名）",
        "空きあり",
        "空き状況未確認",
    ]


# ----------------------------------------------------------------------- status


def test_paused_resources_are_excluded_and_reported() -> None:
    snap = snap_of(res("R-paused", status="paused", district_ids=(3,)))
    result = unmet(score(snap, need()), "paused")
    assert result.near_miss is not None
    assert result.near_miss.external_id == "R-paused"
    assert result.near_miss.reasons == ("休止中",)
    # with an active one in place, the paused one is not proposed
    both = snap_of(
        res("R-paused", status="paused", district_ids=(3,)), res("R-active", district_ids=(3,))
    )
    assert ids(score(both, need())) == ["R-active"]


def test_paused_nearby_beats_active_too_far() -> None:
    snap = snap_of(res("R-paused", status="paused", **north(200)), res("R-far", **north(2500)))
    unmet(score(snap, need(max_walk_m=500)), "paused")


def test_ended_resources_do_not_exist() -> None:
    snap = snap_of(res("R-ended", status="ended", district_ids=(3,)))
    result = unmet(score(snap, need()), "no_resource")
    assert result.near_miss is None


# ----------------------------------------------------------------------- unmet


def test_near_miss_is_the_one_that_got_furthest() -> None:
    """Funnel order: distance → paused → schedule → eligibility → capacity."""
    snap = snap_of(
        res("R-sched", schedule="火 10:00～12:00", district_ids=(3,)),
        res("R-full", schedule="水 10:00～12:00", accepts_new=False, district_ids=(3,)),
        res("R-old", schedule="水 10:00～12:00", min_age=75, district_ids=(3,)),
    )
    result = unmet(score(snap, need(days=(2,), age=70)), "capacity")
    assert result.near_miss is not None and result.near_miss.external_id == "R-full"
    # a candidate failing both distance and capacity stops at distance
    snap = snap_of(
        res("R-far-full", accepts_new=False, district_ids=(3,), **north(2000)),
        res("R-sched", schedule="火", district_ids=(3,)),
    )
    result = unmet(score(snap, need(days=(2,), max_walk_m=500)), "schedule")
    assert result.near_miss is not None and result.near_miss.external_id == "R-sched"
    # the near-miss lists every failed constraint, first the one that is the reason
    snap = snap_of(res("R-1", schedule="火", accepts_new=False, min_age=90, district_ids=(3,)))
    result = unmet(score(snap, need(days=(2,), age=80)), "schedule")
    assert result.near_miss is not None
    assert result.near_miss.failed == ("schedule", "eligibility", "capacity")
    assert len(result.near_miss.reasons) == 3


def test_every_unmet_reason_is_reachable() -> None:
    seen = set()
    cases = [
        (snap_of(), need()),
        (snap_of(res("R", district_ids=(3,), **north(2000))), need(max_walk_m=500)),
        (snap_of(res("R", status="paused", district_ids=(3,))), need()),
        (snap_of(res("R", schedule="火", district_ids=(3,))), need(days=(5,))),
        (snap_of(res("R", min_age=65, district_ids=(3,))), need(age=50)),
        (snap_of(res("R", accepts_new=False, district_ids=(3,))), need()),
    ]
    for snap, n in cases:
        result = score(snap, n)
        assert result.unmet
        seen.add(result.unmet_reason)
    assert seen == set(UNMET_REASONS)


# ----------------------------------------------------------------------- freshness, text


def test_freshness_orders_otherwise_equal_resources() -> None:
    snap = snap_of(
        res("R-a-old", last_verified_on=dt.date(2021, 12, 1), district_ids=(3,)),
        res("R-b-unknown", district_ids=(3,)),
        res("R-c-fresh", last_verified_on=dt.date(2024, 4, 1), district_ids=(3,)),
    )
    result = score(snap, need())
    assert ids(result) == ["R-c-fresh", "R-b-unknown", "R-a-old"]
    fresh, unknown, old = (m.factors["freshness"] for m in result.matches)
    assert fresh == 1.0 and unknown == 0.5 and 0 < old < 0.5
    assert result.matches[0].reasons[5] == "2024年4月1日確認"
    assert result.matches[1].reasons[5] == "確認日不明"
    assert result.matches[2].reasons[5] == "最終確認 2021年12月1日（2年以上前）"
    ancient = snap_of(res("R-1", last_verified_on=dt.date(2019, 1, 1), district_ids=(3,)))
    assert only(score(ancient, need())).factors["freshness"] == 0.0


def test_text_similarity_orders_otherwise_equal_resources() -> None:
    snap = snap_of(
        res("R-a", name="本町サロン", description="手芸と書道の会", district_ids=(3,)),
        res("R-b", name="本町サロン", description="話し相手とおしゃべりの会", district_ids=(3,)),
    )
    result = score(snap, need(text="話し相手がほしい"))
    assert ids(result) == ["R-b", "R-a"]
    assert result.matches[0].factors["text"] > result.matches[1].factors["text"]
    assert re.fullmatch(r"相談内容との類似 \d+%", result.matches[0].reasons[-1])
    # no text: no text factor, and the other weights are renormalised
    plain = score(snap, need())
    assert "text" not in plain.matches[0].factors
    assert plain.matches[0].score == pytest.approx(
        sum(DEFAULT_WEIGHTS[f] * v for f, v in plain.matches[0].factors.items())
        / sum(DEFAULT_WEIGHTS[f] for f in plain.matches[0].factors)
    )


def test_text_is_normalised() -> None:
    snap = snap_of(res("R-1", ("garbage",), name="ｺﾞﾐ出しサポート", district_ids=(3,)))
    match = only(score(snap, need(categories=("garbage",), text="ごみだし")))
    assert match.factors["text"] > 0.5


# ----------------------------------------------------------------------- ranking


def test_ranking_top_n_and_ties() -> None:
    snap = snap_of(*(res(f"R-{i:02d}", **north(50 * i)) for i in range(1, 9)))
    result = score(snap, need(), top=3)
    assert ids(result) == ["R-01", "R-02", "R-03"]
    scores = [m.score for m in score(snap, need(), top=10).matches]
    assert scores == sorted(scores, reverse=True) and len(scores) == 8
    for m in score(snap, need(), top=10).matches:
        assert 0.0 <= m.score <= 1.0
        assert all(0.0 <= v <= 1.0 for v in m.factors.values())
        assert list(m.factors) == [f for f in FACTOR_NAMES if f in m.factors]
        assert len(m.reasons) == len(m.factors)
    tied = snap_of(res("R-b", district_ids=(3,)), res("R-a", district_ids=(3,)))
    assert ids(score(tied, need())) == ["R-a", "R-b"]  # ties break by external ID


def test_better_on_every_factor_ranks_first() -> None:
    snap = snap_of(
        res(
            "R-good",
            ("garbage",),
            "火・金 7:00～9:00",
            district_ids=(3,),
            seats_left=2,
            accepts_new=True,
            last_verified_on=dt.date(2024, 5, 1),
            name="ごみ出しサポート",
            description="ゴミ置き場まで運ぶお手伝い",
        ),
        res(
            "R-ok",
            ("garbage",),
            "火 7:00～9:00",
            **north(700),
            name="生活なんでも",
            description="家の周りのこと",
        ),
    )
    result = score(
        snap,
        need(categories=("garbage",), days=(1, 4), time=(420, 540), text="ゴミ置き場まで運べない"),
    )
    assert ids(result) == ["R-good", "R-ok"]
    good, ok = result.matches
    assert all(good.factors[f] >= ok.factors[f] for f in good.factors)


def test_score_many_is_score_for_each() -> None:
    snap = snap_of(res("R-1", district_ids=(3,)), res("R-2", ("garbage",), district_ids=(3,)))
    needs = [
        need(id="N-1"),
        need(id="N-2", categories=("garbage",)),
        need(id="N-3", categories=("meals",)),
    ]
    assert score_many(snap, needs) == [score(snap, n) for n in needs]


def _mixed_town() -> DirectorySnapshot:
    """Resources of every kind the batch must keep apart: served and open venues, 送迎,
    home services, paused, full, age and attribute limits, schedules."""
    return snap_of(
        res(
            "R-salon",
            schedule="月水金 10:00～12:00",
            district_ids=(3,),
            **north(200),
            name="ふれあいサロン",
            description="お茶を飲みながらおしゃべり",
        ),
        res(
            "R-open",
            schedule="火 13:00～15:00",
            **north(600),
            name="いきいきサロン",
            last_verified_on=dt.date(2022, 12, 1),
        ),
        res(
            "R-ride",
            ("exercise",),
            "木 10:00～11:30",
            transport=True,
            **north(3000),
            name="百歳体操",
        ),
        res("R-far", ("exercise",), "金 10:00～12:00", **north(2500)),
        res("R-paused", ("tea",), status="paused", district_ids=(3,)),
        res("R-full", ("garbage",), "火・金 7:00～8:30", accepts_new=False, district_ids=(3,)),
        res(
            "R-garbage",
            ("garbage",),
            "月・木 7:00～8:30",
            district_ids=(2,),
            seats_left=4,
            name="ごみ出し支援",
        ),
        res("R-old", ("meals",), "平日 11:00～13:00", min_age=75, district_ids=(1,)),
        res(
            "R-alone",
            ("watch",),
            "毎日",
            attributes=("独居",),
            district_ids=(1,),
            last_verified_on=dt.date(2024, 5, 1),
        ),
        res("R-snow", ("snow",), "12月～3月 降雪時", district_ids=(5,)),
        res("R-east", district_ids=(6,), **north(100)),
        res("R-ended", status="ended", district_ids=(3,)),
        res("R-irregular", ("housework",), "不定期", district_ids=(3,)),
        res("R-hall", ("mini_day",), "水 10:00～12:00", district_ids=(3,), **north(2000)),
    )


def _mixed_needs() -> list[NeedQuery]:
    return [
        need(id="N-01", text="話し相手がほしい"),
        need(id="N-02", categories=("exercise",), max_walk_m=500),
        need(id="N-03", categories=("exercise",), transport=True),
        need(id="N-04", categories=("tea",)),  # paused only
        need(id="N-05", categories=("garbage",), days=(1, 4), time=(420, 540)),
        need(id="N-06", categories=("garbage",), days=(0, 3), text="ゴミ出し"),
        need(id="N-07", categories=("meals",), age=70),  # eligibility
        need(id="N-08", categories=("meals",), age=80, days=(0, 2, 4)),
        need(id="N-09", categories=("watch",), attributes=("要介護",)),
        need(id="N-10", categories=("watch",), attributes=None, lat=None, lon=None),
        need(id="N-11", categories=("snow",), months=(12, 1, 2, 3)),
        need(id="N-12", categories=("snow",), district_id=6, days=(0,)),
        need(id="N-13", categories=("prevention",)),  # nothing of that category
        need(id="N-14", categories=(), district_id=6, lat=None, lon=None),
        need(id="N-15", district_id=999, lat=None, lon=None),  # unknown district
        need(id="N-16", district_id=None),
        need(id="N-17", categories=("salon", "garbage"), max_walk_m=0),
        need(id="N-18", categories=("housework",), days=(2,)),
        need(id="N-19", on=ON + dt.timedelta(days=9), days=(1,)),
        need(id="N-20", text="話し相手がほしい", days=(0, 1, 2)),
        need(id="N-21", categories=("mini_day",), max_walk_m=500),  # hall too far
    ]


@pytest.mark.parametrize(
    ("batch", "max_candidates"),
    [(1, 1 << 20), (3, 1 << 20), (7, 1 << 20), (1000, 1 << 20), (1000, 5)],
)
def test_a_batch_gives_what_each_need_gets_alone(
    batch: int, max_candidates: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """score_many evaluates needs together over flat arrays; nothing may leak between
    them: every result equals the need scored alone, whatever the batch boundaries
    (including batches halved for holding too many candidates)."""
    import matching.engine

    snap = _mixed_town()
    needs = _mixed_needs()
    alone = [score(snap, n, top=3) for n in needs]
    reasons = {r.unmet_reason for r in alone}
    assert {
        None,
        "no_resource",
        "distance",
        "paused",
        "schedule",
        "eligibility",
        "capacity",
    } <= reasons  # the mix covers every outcome
    monkeypatch.setattr(matching.engine, "BATCH", batch)
    monkeypatch.setattr(matching.engine, "MAX_CANDIDATES", max_candidates)
    assert score_many(snap, needs, top=3) == alone
    # the same needs again, reversed and repeated: order and repetition change nothing
    again = [*reversed(needs), *needs]
    assert score_many(snap, again, top=3) == [*reversed(alone), *alone]


def test_schedule_factor_is_exact_when_every_wanted_date_fits() -> None:
    """The factor is the mean of per-weekday shares computed from whole counts: a wish
    met on every date is exactly 1.0, never 1.0000000000000002 (a factor above 1)."""
    for text in ("月 10:00～12:00", "毎日", "平日", "月水金 10:00～12:00"):
        snap = snap_of(res("R-1", schedule=text, district_ids=(3,)))
        for days in ((0,), (0, 2), (0, 2, 4)):
            if text.startswith("月 ") and days != (0,):
                continue
            for months in ((), (7, 8), (12, 1, 2, 3), (10, 11)):
                match = only(score(snap, need(days=days, months=months)))
                assert match.factors["schedule"] == 1.0, (text, days, months)


def test_need_date_must_lie_in_the_snapshot() -> None:
    snap = snap_of(res("R-1", district_ids=(3,)))
    with pytest.raises(ValueError, match="範囲外"):
        score(snap, need(on=ON - dt.timedelta(days=1)))


# ----------------------------------------------------------------------- JSON (§5)


def test_result_json_shape() -> None:
    snap = snap_of(
        res(
            "R-012",
            ("garbage",),
            "火・金 7:00～8:30",
            district_ids=(3,),
            name="下町ごみ出しサポート",
            accepts_new=True,
        )
    )
    out = result_to_json(
        score(
            snap,
            need(
                id="N-0001",
                categories=("garbage",),
                days=(1, 4),
                time=(420, 540),
                text="ゴミ置き場まで運べない",
            ),
        )
    )
    assert set(out) == {"need", "unmet", "unmet_reason", "matches"}
    assert out["need"] == "N-0001" and out["unmet"] is False and out["unmet_reason"] is None
    (match,) = out["matches"]
    assert set(match) == {"resource", "name", "score", "factors", "reasons"}
    assert match["resource"] == "R-012" and match["name"] == "下町ごみ出しサポート"
    assert match["score"] == round(match["score"], 2) and 0 < match["score"] <= 1
    assert set(match["factors"]) == set(FACTOR_NAMES)
    assert all(v == round(v, 2) for v in match["factors"].values())
    assert match["reasons"][:2] == ["対象地区内", "火・金 7:00–9:00 に活動"]
    assert "空きあり" in match["reasons"]

    missing = result_to_json(score(snap, need(categories=("garbage",), days=(5,))))
    assert missing == {
        "need": "N-1",
        "unmet": True,
        "unmet_reason": "schedule",
        "matches": [],
        "near_miss": {
            "resource": "R-012",
            "name": "下町ごみ出しサポート",
            "reasons": ["土曜の活動なし"],
        },
    }
    nothing = result_to_json(score(snap, need(categories=("meals",))))
    assert nothing["unmet_reason"] == "no_resource" and nothing["near_miss"] is None


# ----------------------------------------------------------------------- the need


def test_need_build_reads_the_section_4_spellings() -> None:
    q = NeedQuery.build(
        "N-1",
        3,
        categories=["ゴミ出し支援", "見守り"],
        days=["火", "金"],
        time="07:00-09:00",
        months=[12, "1月"],
        max_walk_m=500,
        transport=False,
        age=82,
        attributes=["一人暮らし", "要支援"],
        on="2024-06-03",
        text="ゴミ置き場まで運べない",
    )
    assert q.categories == ("garbage", "watch")
    assert q.days == (1, 4) and q.time == (420, 540) and q.months == (1, 12)
    assert q.attributes == ("独居", "要支援") and q.on == ON and q.max_walk_m == 500.0
    assert NeedQuery.build("N", 3).attributes is None
    assert NeedQuery.build("N", 3, attributes=[]).attributes == ()


def test_need_parsers() -> None:
    assert parse_days("月水金") == (0, 2, 4)
    assert parse_days(["火曜日"]) == (1,)
    assert parse_days("平日") == (0, 1, 2, 3, 4)
    assert parse_days(["土日"]) == (5, 6)
    assert parse_days("毎日") == tuple(range(7))
    assert parse_days(["TU", "fr", 6]) == (1, 4, 6)
    assert parse_time_window("10時～12時") == (600, 720)
    assert parse_time_window("午前") == (540, 720)
    assert parse_time_window((dt.time(13), dt.time(15))) == (780, 900)
    assert parse_time_window(None) is None
    assert parse_months(["１２月", 3]) == (3, 12)
    assert parse_attributes(["ひとり暮らし", "事業対象者"]) == ("独居", "事業対象者")
    for bad in (
        lambda: parse_days("祝"),
        lambda: parse_months(["冬"]),
        lambda: parse_attributes(["元気"]),
        lambda: parse_time_window("朝"),
    ):
        with pytest.raises(ValueError):
            bad()


@pytest.mark.parametrize(
    "written", ["火曜", "かようび", "Tue", "月~金", "月曜・水曜", "平日土", "週末"]
)
def test_a_need_typed_or_imported_reads_weekdays_alike(written: str) -> None:
    from directory.weekdays import WEEKDAY_CODES
    from matching.needs import _days

    days = parse_days(written)
    assert days and _days(written) == [WEEKDAY_CODES[d] for d in days]


def test_need_validation() -> None:
    for bad in (
        {"days": (7,)},
        {"months": (13,)},
        {"time": (600, 500)},
        {"max_walk_m": -1},
        {"lat": 35.0, "lon": None},
        {"attributes": ("元気",)},
    ):
        with pytest.raises(ValueError):
            need(**bad)
    assert need(days=(1,)).wants_schedule and not need().wants_schedule


# ----------------------------------------------------------------------- weights (data)


def test_weights_document_every_factor_and_sum_to_one() -> None:
    assert set(FACTORS) == set(FACTOR_NAMES)
    for name, factor in FACTORS.items():
        assert factor.weight > 0, name
        assert factor.ja.strip() and factor.en.strip(), name
    assert sum(DEFAULT_WEIGHTS.values()) == pytest.approx(1.0)
    assert dict(DEFAULT_WEIGHTS) == {n: f.weight for n, f in FACTORS.items()}


def test_every_parameter_is_documented_and_used() -> None:
    source = (Path(__file__).resolve().parents[2] / "matching" / "engine.py").read_text(
        encoding="utf-8"
    )
    used = set(re.findall(r'params\["(\w+)"\]', source))
    assert used == set(PARAMETERS)
    for name, p in PARAMETERS.items():
        assert p.ja.strip() and p.en.strip(), name
        assert DEFAULT_PARAMETERS[name] == p.value


def test_weights_are_data_the_caller_can_change() -> None:
    snap = snap_of(
        res("R-near-stale", last_verified_on=dt.date(2020, 1, 1), **north(50)),
        res("R-far-fresh", last_verified_on=dt.date(2024, 5, 1), **north(900)),
    )
    assert ids(score(snap, need()))[0] == "R-near-stale"
    freshness_only = {name: 0.0 for name in FACTOR_NAMES} | {"freshness": 1.0}
    assert ids(score(snap, need(), weights=freshness_only))[0] == "R-far-fresh"


def test_need_without_categories_takes_any_live_category() -> None:
    snap = snap_of(
        res("R-1", ("garbage",), district_ids=(3,)),
        res("R-2", ("salon",), district_ids=(3,)),
        res("R-3", ("meals",), district_ids=(3,), status="ended"),
    )
    result = score(snap, need(categories=()))
    assert ids(result) == ["R-1", "R-2"]
    assert all(m.factors["category"] == 0.5 for m in result.matches)


def test_bad_arguments() -> None:
    snap = snap_of(res("R-1", district_ids=(3,)))
    with pytest.raises(ValueError, match="top"):
        score(snap, need(), top=0)
    with pytest.raises(ValueError, match="未知の要素") as raised:
        score(snap, need(), weights={"distanse": 1.0})
    assert raised.value.describe("en") == "unknown factors in weights: ['distanse']"  # type: ignore[attr-defined]


# ----------------------------------------------------------------------- a reference


_TAXONOMY_CODES = ("salon", "gathering", "prevention", "garbage", "support", "snow")
_TEXTS = (
    "",
    "月水金 10:00～12:00",
    "火・金 7:00～8:30 年末年始休み",
    "木 10:00～12:00 第2・第4木曜",
    "土日",
    "12月～3月 降雪時",
    "12月～3月",
    "隔週火曜 13:00～15:00",
    "不定期",
    "平日 9:00～11:30 祝日休み",
    "毎月15日 13:00～15:00",
    "10:00～12:00",
)
_ATTRS = ("要支援", "要介護", "事業対象者", "独居", "高齢者のみ世帯")


def _reference_ok(r: ResourceRecord, n: NeedQuery, on: dt.date) -> bool:
    """The hard constraints written the slow, obvious way: one resource at a time."""
    from directory.distance import haversine_m
    from directory.schedules import expand
    from directory.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    if r.status != "active":
        return False
    if n.categories and not any(taxonomy.meets(c, rc) for c in n.categories for rc in r.categories):
        return False
    parents = {d.id: d.parent_id for d in DISTRICTS}
    chain, d_id = set(), n.district_id
    while d_id is not None:
        chain.add(d_id)
        d_id = parents.get(d_id)
    d = (
        float(haversine_m(n.lat, n.lon, [r.lat], [r.lon])[0])
        if r.lat is not None and n.lat is not None
        else float("inf")
    )
    walk = 1000.0 if n.max_walk_m is None else n.max_walk_m
    if r.district_ids:  # it says whom it serves: the district, and a reachable hall
        if not set(r.district_ids) & chain:
            return False
        if (
            r.lat is not None
            and n.max_walk_m is not None
            and not r.transport
            and not n.transport
            and d > n.max_walk_m
        ):
            return False
    elif not (d <= walk or (r.transport and d <= 5000) or (n.transport and d <= 10000)):
        return False
    if n.wants_schedule:
        if not r.schedule_understood:
            return False
        if n.months:
            window = {on + dt.timedelta(days=k) for k in range(365)}
            window = {day for day in window if day.month in n.months}
        else:
            window = {on + dt.timedelta(days=k) for k in range(28)}
        if n.days:
            window = {day for day in window if day.weekday() in n.days}
        fits = False
        for occ in expand(r.schedules, on, on + dt.timedelta(days=400)):
            if occ.day not in window:
                continue
            if n.time is None or not isinstance(occ.start, dt.datetime):
                fits = True
                break
            start = occ.start.hour * 60 + occ.start.minute
            end = (occ.end.hour * 60 + occ.end.minute) if occ.end else start + 60
            if start < n.time[1] and n.time[0] < end:
                fits = True
                break
        season_only = {m for s in r.schedules if s.rrule is None for m in (s.season_months() or ())}
        if n.months and not n.days and not n.time and season_only & set(n.months):
            fits = True
        if not fits:
            return False
    if n.age is not None and r.min_age is not None and n.age < r.min_age:
        return False
    if n.attributes is not None:
        has = set(n.attributes)
        if has & {"要支援", "事業対象者"}:
            has |= {"要支援", "事業対象者"}
        if "独居" in has:
            has.add("高齢者のみ世帯")
        if r.attributes and not set(r.attributes) & has:
            return False
    return not (r.accepts_new is False or r.seats_left == 0)


@st.composite
def _directories(draw: Any) -> tuple[list[ResourceRecord], NeedQuery]:
    resources = []
    for k in range(draw(st.integers(1, 12))):
        located = draw(st.booleans())
        resources.append(
            res(
                f"R-{k:02d}",
                tuple(draw(st.sets(st.sampled_from(_TAXONOMY_CODES), min_size=1, max_size=2))),
                draw(st.sampled_from(_TEXTS)),
                district_ids=tuple(draw(st.sets(st.sampled_from((1, 2, 3, 4, 6, 9)), max_size=2))),
                lat=LAT + draw(st.floats(-0.03, 0.03)) if located else None,
                lon=LON + draw(st.floats(-0.03, 0.03)) if located else None,
                status=draw(st.sampled_from(("active", "active", "paused", "ended"))),
                transport=draw(st.sampled_from((None, True, False))),
                accepts_new=draw(st.sampled_from((None, True, False))),
                seats_left=draw(st.sampled_from((None, 0, 3))),
                min_age=draw(st.sampled_from((None, 65, 75))),
                attributes=tuple(draw(st.sets(st.sampled_from(_ATTRS), max_size=2))),
            )
        )
    return resources, draw(_need_queries())


@st.composite
def _need_queries(draw: Any, need_id: str = "N-1") -> NeedQuery:
    slot = draw(st.sampled_from((None, (420, 540), (600, 720), (780, 900))))
    return NeedQuery(
        id=need_id,
        district_id=draw(st.sampled_from((3, 4, 6))),
        lat=LAT + draw(st.floats(-0.01, 0.01)),
        lon=LON + draw(st.floats(-0.01, 0.01)),
        categories=tuple(draw(st.sets(st.sampled_from(_TAXONOMY_CODES), max_size=2))),
        days=tuple(sorted(draw(st.sets(st.integers(0, 6), max_size=3)))),
        time=slot,
        months=draw(st.sampled_from(((), (12, 1, 2, 3), (6,)))),
        max_walk_m=draw(st.sampled_from((None, 0.0, 300.0, 2000.0))),
        transport=draw(st.booleans()),
        age=draw(st.sampled_from((None, 60, 70, 80))),
        attributes=draw(
            st.sampled_from(
                (
                    None,
                    (),
                    ("独居",),
                    ("要支援", "独居"),
                    ("事業対象者",),
                    ("要介護", "高齢者のみ世帯"),
                )
            )
        ),
        text=draw(st.sampled_from(("", "サロン", "ごみ出し"))),
    )


@settings(max_examples=150, deadline=None)
@given(_directories(), st.sampled_from((ON, dt.date(2024, 12, 20), dt.date(2025, 4, 28))))
def test_matches_equal_a_row_by_row_reference(
    case: tuple[list[ResourceRecord], NeedQuery], on: dt.date
) -> None:
    """The vectorised engine proposes exactly what the obvious per-resource check allows."""
    resources, query = case
    snap = snapshot_from_records(resources, DISTRICTS, on=on)
    result = score(snap, query, top=100)
    expected = {r.external_id for r in resources if _reference_ok(r, query, on)}
    assert set(ids(result)) == expected
    assert result.unmet == (not expected)
    if result.unmet:
        assert result.unmet_reason in UNMET_REASONS
        assert (result.near_miss is None) == (result.unmet_reason == "no_resource")


@settings(max_examples=60, deadline=None)
@given(_directories(), st.data())
def test_a_random_batch_gives_what_each_need_gets_alone(
    case: tuple[list[ResourceRecord], NeedQuery], data: st.DataObject
) -> None:
    """Needs scored together (flat arrays over all their candidates) get exactly what
    each gets alone, on random directories."""
    resources, first = case
    snap = snapshot_from_records(resources, DISTRICTS, on=ON)
    needs = [first] + [
        data.draw(_need_queries(f"N-{k}")) for k in range(2, data.draw(st.integers(2, 6)))
    ]
    assert score_many(snap, needs, top=3) == [score(snap, n, top=3) for n in needs]


def test_score_many_reports_progress_per_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line shows a bar while 100,000 needs are matched: one call per batch,
    ending at the total, and the results are those of score."""
    import matching.engine

    monkeypatch.setattr(matching.engine, "BATCH", 3)
    snap = snap_of(res("R-1", district_ids=(3,)))
    needs = [need(id=f"N-{k}") for k in range(7)]
    calls: list[tuple[int, int]] = []
    results = score_many(snap, needs, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(3, 7), (6, 7), (7, 7)]
    assert results == [score(snap, n) for n in needs]
