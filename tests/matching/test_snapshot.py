"""The directory snapshot: columns, indexes and pre-expanded schedules.

Most tests build snapshots from plain records (no database); the last ones import a tiny
fictional town through the real importer and read it back with ``build_snapshot`` on
SQLite or PostgreSQL (whichever the fixtures provide).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from directory.db import transaction
from directory.distance import haversine_m
from directory.geography import import_districts, import_venues
from directory.resources import import_resources
from directory.schedules import ParsedSchedule, expand, parse_schedule
from directory.taxonomy import load_taxonomy
from matching.engine import NeedQuery, result_to_json, score
from matching.snapshot import (
    ALL_SLOTS,
    SCHEDULE_KNOWN,
    SCHEDULE_NOT_UNDERSTOOD,
    SCHEDULE_NOT_WRITTEN,
    DirectorySnapshot,
    DistrictRecord,
    ResourceRecord,
    build_snapshot,
    expand_ranges,
    slot_mask,
    snapshot_from_records,
)

ON = dt.date(2024, 6, 3)  # a Monday
OTHER_TOWN = Path(__file__).resolve().parents[1] / "data" / "other_town"


def res(
    ext: str, categories: tuple[str, ...] = ("salon",), schedule: str = "", **fields: object
) -> ResourceRecord:
    parsed = parse_schedule(schedule, anchor_from=ON)  # imported on ON: anchors 隔週
    return ResourceRecord(
        id=int(ext.split("-")[-1]),
        external_id=ext,
        name=str(fields.pop("name", ext)),
        categories=categories,
        schedules=parsed.schedules,
        schedule_understood=parsed.understood,
        **fields,
    )  # type: ignore[arg-type]


DISTRICTS = [
    DistrictRecord(1, None, "municipality", "99999", "架空市", 35.02, 136.02),
    DistrictRecord(2, 1, "area", "99999-W", "西部", 35.01, 136.015),
    DistrictRecord(3, 2, "district", "99999-01", "本町一区", 35.01, 136.01),
    DistrictRecord(4, 2, "district", "99999-02", "本町二区", 35.01, 136.02),
    DistrictRecord(5, 1, "area", "99999-E", "東部", 35.035, 136.035),
    DistrictRecord(6, 5, "district", "99999-03", "新田", 35.03, 136.03),
]


# The engine's lookups (matching.engine._candidates and score_many), one district at a time.


def chain_of(snap: DirectorySnapshot, district_id: int) -> list[int]:
    """Dense indexes of the district and its ancestors, nearest first."""
    _, chain = snap.district_chains(snap.district_positions(np.array([district_id])))
    return chain.tolist()


def serving(snap: DirectorySnapshot, district_id: int | None) -> list[str]:
    """External ids of the resources whose 対象地区 include the district or an ancestor."""
    pos = snap.district_positions(np.array([district_id or 0]))
    if district_id is None:
        pos[:] = -1
    _, level = snap.district_chains(pos)
    _, index = expand_ranges(snap.served_ptr[level], snap.served_ptr[level + 1])
    return sorted({snap.external_ids[r] for r in snap.served_rows[index].tolist()})


def centroid(snap: DirectorySnapshot, district_id: int) -> tuple[float, float] | None:
    """Where a need recorded without a location stands."""
    pos = int(snap.district_positions(np.array([district_id]))[0])
    if pos < 0 or np.isnan(snap.district_lat[pos]):
        return None
    return float(snap.district_lat[pos]), float(snap.district_lon[pos])


# ----------------------------------------------------------------------- columns


def test_columns_one_row_per_resource_sorted_by_external_id() -> None:
    snap = snapshot_from_records(
        [
            res(
                "R-2",
                ("garbage", "watch"),
                status="paused",
                capacity=10,
                seats_left=3,
                accepts_new=True,
                min_age=65,
                attributes=("独居", "要支援"),
                transport=True,
                last_verified_on=dt.date(2024, 4, 1),
                lat=35.01,
                lon=136.01,
            ),
            res("R-1", public=False),
        ],
        DISTRICTS,
        on=ON,
        version=7,
    )
    assert len(snap) == 2 and snap.external_ids == ["R-1", "R-2"]
    assert snap.version == 7 and snap.on == ON and snap.horizon_days == 28
    r = snap.external_ids.index("R-2")
    assert r == 1
    bits = int(snap.cat_bits[r])
    assert bits == (1 << snap.category_bit["garbage"]) | (1 << snap.category_bit["watch"])
    assert snap.status.tolist() == [0, 1]
    assert snap.public.tolist() == [False, True]
    assert (snap.capacity[r], snap.seats_left[r], snap.accepts_new[r]) == (10, 3, 1)
    assert (snap.capacity[0], snap.seats_left[0], snap.accepts_new[0]) == (-1, -1, -1)
    assert snap.min_age.tolist() == [0, 65]
    assert snap.attr_bits[r] == 0b01001  # 要支援 (bit 0) and 独居 (bit 3)
    assert snap.transport.tolist() == [-1, 1]
    assert snap.cap_code.tolist() == [2, 1]
    assert math.isnan(snap.lat[0]) and snap.lat[1] == 35.01
    assert dt.date(1970, 1, 1) + dt.timedelta(days=int(snap.verified_day[r])) == dt.date(2024, 4, 1)
    assert "R-1" in repr(snap) or "2 resources" in repr(snap)
    assert snap.nbytes() > 0


def test_category_codes_come_from_the_taxonomy() -> None:
    taxonomy = load_taxonomy()
    snap = snapshot_from_records([], on=ON)
    assert snap.category_codes == tuple(c.code for c in taxonomy)
    assert len(snap.category_codes) == len(taxonomy)
    # a need for 生活支援 is met by its children; the masks say so, by depth
    depths = dict(snap.category_masks["support"])
    assert depths[0] == 1 << snap.category_bit["support"]
    assert depths[1] & (1 << snap.category_bit["garbage"])
    prevention = dict(snap.category_masks["prevention"])
    assert prevention[2] & (1 << snap.category_bit["salon"])  # a grandchild
    with pytest.raises(ValueError, match="unknown category"):
        snapshot_from_records([res("R-1", ("nonsense",))], on=ON)


def test_capacity_codes() -> None:
    snap = snapshot_from_records(
        [
            res("R-1", accepts_new=False),
            res("R-2", seats_left=0, accepts_new=False),
            res("R-3", seats_left=4, accepts_new=True),
            res("R-4", accepts_new=True),
            res("R-5"),
        ],
        on=ON,
    )
    assert snap.cap_code.tolist() == [0, 0, 1, 1, 2]


# ----------------------------------------------------------------------- indexes


def test_served_index_includes_ancestors_and_whole_municipality() -> None:
    snap = snapshot_from_records(
        [
            res("R-1", district_ids=(3,)),  # 本町一区
            res("R-2", district_ids=(2,)),  # 西部 (area)
            res("R-3", district_ids=(1,)),  # 全域
            res("R-4", district_ids=(4,)),  # 本町二区: a sibling
            res("R-5", district_ids=(6, 3)),
        ],
        DISTRICTS,
        on=ON,
    )
    assert serving(snap, 3) == ["R-1", "R-2", "R-3", "R-5"]
    assert serving(snap, 6) == ["R-3", "R-5"]
    assert serving(snap, 999) == [] and serving(snap, None) == []
    assert snap.district_ptr.tolist() == [0, 1, 2, 3, 4, 6]
    assert chain_of(snap, 3) == snap.district_positions(np.array([3, 2, 1])).tolist()
    assert centroid(snap, 3) == (35.01, 136.01)
    assert centroid(snap, 999) is None


def test_unknown_districts_are_added_without_parent() -> None:
    snap = snapshot_from_records([res("R-1", district_ids=(42,))], on=ON)
    assert serving(snap, 42) == ["R-1"]
    assert centroid(snap, 42) is None


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(34.9, 35.1), st.floats(135.9, 136.1)), min_size=1, max_size=60),
    st.floats(34.9, 35.1),
    st.floats(135.9, 136.1),
    st.floats(0, 8000),
)
def test_rows_near_is_a_superset_of_the_circle(
    points: list[tuple[float, float]], lat: float, lon: float, radius: float
) -> None:
    snap = snapshot_from_records(
        [res(f"R-{i}", lat=a, lon=b) for i, (a, b) in enumerate(points)] + [res("R-999")], on=ON
    )
    found = set(snap.rows_near_many(np.array([lat]), np.array([lon]), np.array([radius]))[1])
    d = haversine_m(lat, lon, snap.lat, snap.lon)
    inside = {i for i in range(len(snap)) if not np.isnan(d[i]) and d[i] <= radius}
    assert inside <= found
    assert snap.external_ids.index("R-999") not in found  # no venue, never in the grid


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(34.9, 35.1), st.floats(135.9, 136.1), st.sampled_from((None, True))),
        min_size=1,
        max_size=60,
    ),
    st.lists(
        st.tuples(st.floats(34.9, 35.1), st.floats(135.9, 136.1), st.floats(0, 8000)), max_size=6
    ),
)
def test_rows_near_many_finds_for_each_circle_what_it_finds_alone(
    points: list[tuple[float, float, bool | None]], circles: list[tuple[float, float, float]]
) -> None:
    snap = snapshot_from_records(
        [res(f"R-{i}", lat=a, lon=b, transport=t) for i, (a, b, t) in enumerate(points)], on=ON
    )
    lat, lon, radius = (np.array([c[k] for c in circles], dtype=float) for k in range(3))
    for pickup_only in (False, True):
        owner, rows = snap.rows_near_many(lat, lon, radius, pickup_only=pickup_only)
        assert owner.tolist() == sorted(owner.tolist())
        for k, (a, b, r) in enumerate(circles):
            _, alone = snap.rows_near_many(
                np.array([a]), np.array([b]), np.array([r]), pickup_only=pickup_only
            )
            assert rows[owner == k].tolist() == alone.tolist()


def test_district_chains_and_ranges_at_once() -> None:
    snap = snapshot_from_records(
        [res("R-1", district_ids=(3,)), res("R-2", district_ids=(42,))], DISTRICTS, on=ON
    )
    ids = [3, 999, 6, 1, 42, 3]
    pos = snap.district_positions(np.array(ids))
    known = snap.district_ids.tolist()
    assert pos.tolist() == [known.index(d) if d in known else -1 for d in ids]
    owner, chain = snap.district_chains(pos)
    whole, area, street = (known.index(d) for d in (1, 2, 3))  # 全域 > 西部 > 本町一区
    for k, d in enumerate(ids):
        assert chain[owner == k].tolist() == chain_of(snap, d)
    assert chain[owner == 0].tolist() == [street, area, whole] == chain[owner == 5].tolist()
    assert chain[owner == 1].tolist() == [] and chain[owner == 3].tolist() == [whole]
    owner, values = expand_ranges(np.array([2, 5, 5, 0]), np.array([4, 5, 7, 1]))
    assert owner.tolist() == [0, 0, 2, 2, 3] and values.tolist() == [2, 3, 5, 6, 0]


# ----------------------------------------------------------------------- schedules

SCHEDULE_TEXTS = [
    "月水金 10:00～12:00 祝日休み",
    "木 10:00～12:00 第2・第4木曜",
    "毎月15日",
    "毎月末日",
    "毎月31日",
    "12月～3月 降雪時",
    "毎月第1月曜 13時30分～15時 12月～3月",
    "火・金 7:00～8:30 年末年始休み",
    "土日",
    "隔週火曜",  # anchored on ON's Tuesday: the weeks do not follow the window
    "隔週 火・木 10:00～12:00",
    "隔週水曜（2024年6月19日から）",  # the other week than ON's
    "毎月最終金曜 13時～15時",
    "第5木曜",
    "平日 祝日休み 年末年始休み",
    "毎日 11月～2月",
    "土日祝休み",
]


def _days_of(snap: DirectorySnapshot, row: int) -> set[dt.date]:
    pid = int(snap.pattern[row])
    return {
        snap.on + dt.timedelta(days=int(i)) for i in np.flatnonzero(snap.pattern_table[pid] != 0)
    }


@settings(max_examples=25, deadline=None)
@given(st.dates(dt.date(2024, 1, 1), dt.date(2027, 12, 31)))
def test_vectorised_expansion_equals_dateutil(on: dt.date) -> None:
    """The numpy day rules agree with directory.schedules.expand day for day."""
    records = [res(f"R-{i}", schedule=text) for i, text in enumerate(SCHEDULE_TEXTS)]
    snap = snapshot_from_records(records, on=on, horizon_days=28)
    end = on + dt.timedelta(days=snap.days - 1)
    for i, text in enumerate(SCHEDULE_TEXTS):
        row = snap.external_ids.index(f"R-{i}")
        expected = {o.day for o in expand(parse_schedule(text, anchor_from=ON), on, end)}
        assert _days_of(snap, row) == expected, text


def test_fortnightly_weeks_follow_the_stored_anchor_not_the_window() -> None:
    """Two 隔週火曜 anchored a week apart never share a day, whatever day matching starts."""
    early, late = (
        ParsedSchedule(rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", anchor_date=day)
        for day in (dt.date(2024, 6, 4), dt.date(2024, 6, 11))
    )
    records = [
        ResourceRecord(1, "R-1", "x", ("salon",), schedules=(early,)),
        ResourceRecord(2, "R-2", "y", ("salon",), schedules=(late,)),
    ]
    for on in (ON, ON + dt.timedelta(days=7), ON + dt.timedelta(days=10)):
        snap = snapshot_from_records(records, on=on, horizon_days=28)
        first, second = _days_of(snap, 0), _days_of(snap, 1)
        assert first and second and not first & second
        assert dt.date(2024, 6, 18) in first and dt.date(2024, 6, 25) in second


def test_unusual_rrules_fall_back_to_dateutil() -> None:
    odd = [
        ParsedSchedule(rrule="FREQ=DAILY;INTERVAL=3", start_time=dt.time(9), end_time=dt.time(10)),
        ParsedSchedule(rrule="FREQ=YEARLY;BYMONTH=8;BYMONTHDAY=13"),
    ]
    records = [
        ResourceRecord(1, "R-1", "x", ("salon",), schedules=(odd[0],)),
        ResourceRecord(2, "R-2", "y", ("salon",), schedules=(odd[1],)),
    ]
    snap = snapshot_from_records(records, on=ON)
    end = ON + dt.timedelta(days=snap.days - 1)
    for row, s in enumerate(odd):
        assert _days_of(snap, row) == {o.day for o in expand(s, ON, end)}


def test_time_slots() -> None:
    assert slot_mask(600, 720) == sum(1 << i for i in range(20, 24))  # 10:00–12:00
    assert slot_mask(810, 900) == sum(1 << i for i in range(27, 30))  # 13:30–15:00
    assert slot_mask(615, 630) == 1 << 20  # inside one slot
    assert slot_mask(600, 600) == 0
    snap = snapshot_from_records(
        [
            res("R-1", schedule="月 10:00～12:00"),
            res("R-2", schedule="月"),
            res("R-3", schedule="月 10:00～"),
        ],
        on=ON,
    )
    monday = 0  # ON is a Monday
    assert int(snap.pattern_table[snap.pattern[0], monday]) == slot_mask(600, 720)
    assert int(snap.pattern_table[snap.pattern[1], monday]) == ALL_SLOTS
    assert snap.pattern_timeless[snap.pattern[1]]
    assert not snap.pattern_timeless[snap.pattern[0]]
    assert int(snap.pattern_table[snap.pattern[2], monday]) == slot_mask(600, 660)


def test_schedule_states_and_shared_patterns() -> None:
    snap = snapshot_from_records(
        [
            res("R-1", schedule="月水金 10:00～12:00"),
            res("R-2", schedule="月水金 10:00～12:00"),
            res("R-3", schedule="不定期"),
            res("R-4"),
            res("R-5", schedule="10:00～12:00"),  # hours with no days: not understood
            res("R-6", schedule="12月～3月"),
        ],
        on=ON,
    )
    assert snap.pattern[0] == snap.pattern[1] >= 0  # expanded once, shared
    assert snap.schedule_state.tolist() == [
        SCHEDULE_KNOWN,
        SCHEDULE_KNOWN,
        SCHEDULE_NOT_UNDERSTOOD,
        SCHEDULE_NOT_WRITTEN,
        SCHEDULE_NOT_UNDERSTOOD,
        SCHEDULE_KNOWN,
    ]
    assert snap.pattern[2:5].tolist() == [-1, -1, -1]
    season = int(snap.pattern[5])
    assert season >= 0 and not snap.pattern_table[season].any()
    assert int(snap.pattern_season_only[season]) == (1 << 11) | 0b111  # Dec, Jan–Mar
    assert len(snap.pattern_schedules) == 2


def test_day_offset_range() -> None:
    snap = snapshot_from_records([], on=ON, horizon_days=14)
    assert snap.days == 14 + 365
    assert snap.day_offset(None) == 0
    assert snap.day_offset(ON + dt.timedelta(days=14)) == 14
    with pytest.raises(ValueError, match="範囲外"):
        snap.day_offset(ON - dt.timedelta(days=1))
    with pytest.raises(ValueError, match="範囲外"):
        snap.day_offset(ON + dt.timedelta(days=15))
    with pytest.raises(ValueError):
        snapshot_from_records([], on=ON, horizon_days=0)


def test_bad_status_is_refused() -> None:
    with pytest.raises(ValueError, match="status"):
        snapshot_from_records([res("R-1", status="closed")], on=ON)


# ----------------------------------------------------------------------- database

CSV_HEADER = (
    "ID,名称,種別,説明,住所,緯度,経度,対象地区,利用可能曜日,開始時間,終了時間,"
    "利用可能日時特記事項,定員,空き,対象者,送迎,状態,公開,最終確認日"
)
CSV_ROWS = [
    "T-1,本町いきいきサロン,サロン,おしゃべりと体操,架空市本町1-1,35.0100,136.0100,本町一区,木,"
    "10:00,12:00,第2・第4木曜 祝日休み,20,3,65歳以上,あり,,,2024-04-01",
    "T-2,西部ごみ出しサポート,ごみ出し,ゴミ置き場まで運びます,,,,本町一区;本町二区,火・金,7:00,"
    "8:30,年末年始休み,,なし,ひとり暮らしの高齢者,,,否,2023-10-02",
    "T-3,あったか弁当,配食,,,,,全域,平日,,,11時30分～12時30分,,,,,,,",
    "T-4,新田お茶のみ会,お茶会,,架空市新田3,35.0105,136.0305,新田,,,,毎月15日 午後1時～3時,,,,,"
    "休止中,,",
    "T-5,見守りネット,見守り,,,,,本町一区,,,,不定期（要相談）,,,,,,,",
]


@pytest.fixture
def town(engine: Engine, tmp_path: Path) -> Engine:
    path = tmp_path / "resources.csv"
    path.write_text("\n".join([CSV_HEADER, *CSV_ROWS]) + "\n", encoding="utf-8-sig")
    with transaction(engine) as s:
        import_districts(s, OTHER_TOWN / "districts.geojson")
        import_venues(s, OTHER_TOWN / "venues.geojson")
        import_resources(s, path)
    return engine


def test_build_snapshot_counts_fortnights_from_the_stored_anchor(
    engine: Engine, tmp_path: Path
) -> None:
    from directory.db import make_sessionmaker

    path = tmp_path / "fortnight.csv"
    path.write_text("ID,名称,種別,利用可能曜日\nF-1,隔週サロン,サロン,隔週火曜\n", encoding="utf-8")
    with transaction(engine) as s:
        import_resources(s, path, today=dt.date(2024, 6, 5))  # anchored on Tuesday 11 June
    with make_sessionmaker(engine)() as s:
        snap = build_snapshot(s, on=ON, horizon_days=28)
    assert snap.pattern_schedules[0][0].anchor_date == dt.date(2024, 6, 11)
    days = sorted(_days_of(snap, 0))
    # the weeks of the anchor, not those of the window's first Tuesday (4 June)
    assert days[:3] == [dt.date(2024, 6, 11), dt.date(2024, 6, 25), dt.date(2024, 7, 9)]


def test_build_snapshot_reads_the_schema(town: Engine) -> None:
    from directory.db import make_sessionmaker
    from directory.models import District

    with make_sessionmaker(town)() as s:
        snap = build_snapshot(s, on=ON, version=3)
        ids = {d.code: d.id for d in s.query(District)}
    assert snap.version == 3 and snap.on == ON
    assert snap.external_ids == ["T-1", "T-2", "T-3", "T-4", "T-5"]
    t1, t2, t3, t4, t5 = range(5)
    # categories, venue coordinates (the venue's, linked within 50 m), served districts
    assert int(snap.cat_bits[t1]) == 1 << snap.category_bit["salon"]
    assert (snap.lat[t1], snap.lon[t1]) == pytest.approx((35.01, 136.01))
    assert math.isnan(snap.lat[t2])
    assert serving(snap, ids["99999-02"]) == ["T-2", "T-3"]
    assert serving(snap, ids["99999-04"]) == ["T-3"]
    assert centroid(snap, ids["99999-01"]) is not None
    # eligibility, capacity, transport, status, public, freshness
    assert snap.min_age[t1] == 65 and snap.attr_bits[t2] == 0b01000  # 独居
    assert snap.seats_left[t1] == 3 and snap.cap_code[t1] == 1
    assert snap.cap_code[t2] == 0 and snap.cap_code[t3] == 2
    assert snap.transport[t1] == 1 and snap.transport[t3] == -1
    assert snap.status[t4] == 1 and snap.status[t1] == 0
    assert not snap.public[t2] and snap.public[t1]
    assert snap.verified_day[t1] == (dt.date(2024, 4, 1) - dt.date(1970, 1, 1)).days
    # schedules from the schedule table
    assert snap.schedule_state[t5] == SCHEDULE_NOT_UNDERSTOOD and snap.pattern[t5] == -1
    thursdays = _days_of(snap, t1)
    assert dt.date(2024, 6, 13) in thursdays and dt.date(2024, 6, 6) not in thursdays
    assert dt.date(2024, 6, 4) in _days_of(snap, t2)  # a Tuesday


def test_matching_end_to_end_on_the_database(town: Engine) -> None:
    from directory.db import make_sessionmaker
    from directory.models import District

    with make_sessionmaker(town)() as s:
        snap = build_snapshot(s, on=ON)
        ids = {d.code: d.id for d in s.query(District)}
    meals = score(snap, NeedQuery.build("N-1", ids["99999-04"], categories="配食", days="平日"))
    assert [m.external_id for m in meals.matches] == ["T-3"]  # 全域
    garbage = score(
        snap, NeedQuery.build("N-2", ids["99999-01"], categories="ゴミ出し", days=["土"])
    )
    assert garbage.unmet_reason == "schedule"  # the first hurdle T-2 fails (it is full too)
    assert garbage.near_miss is not None
    assert garbage.near_miss.reasons == ("土曜の活動なし", "満員（空きなし）")
    salon = score(
        snap,
        NeedQuery.build(
            "N-3", ids["99999-01"], categories="サロン", age=80, text="おしゃべりしたい"
        ),
    )
    out = result_to_json(salon)
    assert out["matches"][0]["resource"] == "T-1"
    tea = score(snap, NeedQuery.build("N-4", ids["99999-03"], categories="お茶のみ場"))
    assert tea.unmet and tea.unmet_reason == "paused"
    assert tea.near_miss is not None and tea.near_miss.external_id == "T-4"
