"""Incremental snapshot updates: the next match sees an edit made a moment ago.

An updated snapshot (:func:`matching.snapshot.with_changes`, or
:func:`~matching.snapshot.update_snapshot` from the change log) must be the snapshot a
rebuild of the changed directory would give: same rows in the same order, same indexes,
same schedule and category facts per row (pattern and category-set numbers are internal
and may differ), and so the same ranking for any need.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from directory.db import make_sessionmaker, transaction
from directory.geography import import_districts, import_venues
from directory.models import Resource
from directory.resources import import_resources
from directory.schedules import parse_schedule
from directory.state import bump, changed_since, current
from matching.engine import NeedQuery, result_to_json, score_many
from matching.service import SnapshotCache
from matching.snapshot import (
    _KNOWN,
    _ROW_ARRAYS,
    _ROW_LISTS,
    DirectorySnapshot,
    DistrictRecord,
    ResourceRecord,
    snapshot_from_records,
    with_changes,
)

ON = dt.date(2024, 6, 3)  # a Monday
DISTRICTS = [
    DistrictRecord(1, None, "municipality", "99999", "架空市", 35.02, 136.02),
    DistrictRecord(2, 1, "area", "99999-W", "西部", 35.01, 136.015),
    DistrictRecord(3, 2, "district", "99999-01", "本町一区", 35.01, 136.01),
    DistrictRecord(4, 2, "district", "99999-02", "本町二区", 35.01, 136.02),
    DistrictRecord(5, 1, "area", "99999-E", "東部", 35.035, 136.035),
    DistrictRecord(6, 5, "district", "99999-03", "新田", 35.03, 136.03),
]
SCHEDULES = ["", "月水金 10:00～12:00", "火曜 9時～11時", "毎月15日 午後", "不定期", "冬期 平日"]
CATEGORIES = [("salon",), ("garbage",), ("salon", "exercise"), ("meals", "watch"), ("tea",)]
PARSED = {text: parse_schedule(text, anchor_from=ON) for text in SCHEDULES}


def record(rid: int, ext: str, spec: dict[str, Any]) -> ResourceRecord:
    parsed = PARSED[spec["schedule"]]
    return ResourceRecord(
        id=rid,
        external_id=ext,
        name=f"資源{ext}",
        categories=spec["categories"],
        district_ids=spec["districts"],
        lat=spec["lat"],
        lon=None if spec["lat"] is None else 136.0 + spec["dlon"],
        status=spec["status"],
        transport=spec["transport"],
        seats_left=spec["seats"],
        min_age=spec["min_age"],
        attributes=spec["attributes"],
        schedules=parsed.schedules,
        schedule_understood=parsed.understood,
    )


specs = st.fixed_dictionaries(
    {
        "categories": st.sampled_from(CATEGORIES),
        "districts": st.sampled_from([(), (3,), (4,), (3, 4), (1,), (6,), (2, 6)]),
        "lat": st.one_of(st.none(), st.floats(35.0, 35.04)),
        "dlon": st.floats(0.0, 0.04),
        "status": st.sampled_from(["active", "active", "paused", "ended"]),
        "transport": st.sampled_from([None, True, False]),
        "seats": st.sampled_from([None, 0, 3]),
        "min_age": st.sampled_from([None, 65]),
        "attributes": st.sampled_from([(), ("独居",), ("要支援", "要介護")]),
        "schedule": st.sampled_from(SCHEDULES),
    }
)


def assert_same(updated: DirectorySnapshot, rebuilt: DirectorySnapshot) -> None:
    """Every fact of the two snapshots agrees (numbering of patterns and category sets
    aside, which are compared through what they stand for)."""
    assert set(vars(rebuilt)) <= _KNOWN, "a snapshot attribute the updates do not know"
    assert set(vars(updated)) == set(vars(rebuilt))
    for name in _ROW_ARRAYS:
        if name in ("pattern", "cat_combo", "packed"):  # numbers of patterns, category sets
            continue
        assert np.array_equal(getattr(updated, name), getattr(rebuilt, name), equal_nan=True), name
    for name in _ROW_LISTS:
        if name == "_texts":  # a cache of normalised texts, filled on first use
            assert len(updated._texts) == len(rebuilt._texts)
            assert all(t is None or t == updated.text(i) for i, t in enumerate(updated._texts))
            continue
        assert getattr(updated, name) == getattr(rebuilt, name), name
    for name in (
        "district_ptr",
        "district_idx",
        "served_ptr",
        "served_rows",
        "grid_keys",
        "grid_rows",
        "pickup_grid_keys",
        "pickup_grid_rows",
    ):
        assert np.array_equal(getattr(updated, name), getattr(rebuilt, name)), name
    assert np.array_equal(
        updated.cat_combo_bits[updated.cat_combo], rebuilt.cat_combo_bits[rebuilt.cat_combo]
    )
    assert np.array_equal(updated.pattern >= 0, rebuilt.pattern >= 0)
    has = rebuilt.pattern >= 0
    a, b = updated, rebuilt
    pa, pb = a.pattern[has], b.pattern[has]
    assert np.array_equal(a.pattern_table[pa], b.pattern_table[pb])
    assert np.array_equal(a.pattern_season_only[pa], b.pattern_season_only[pb])
    assert np.array_equal(a.pattern_timeless[pa], b.pattern_timeless[pb])
    assert [a.pattern_schedules[p] for p in pa.tolist()] == [
        b.pattern_schedules[p] for p in pb.tolist()
    ]
    # packed holds the pattern number: compare it without that column
    assert np.array_equal(updated.packed[:, :-1], rebuilt.packed[:, :-1])


NEEDS = [
    NeedQuery.build("N-1", 3, categories="サロン", on=ON),
    NeedQuery.build("N-2", 4, categories="ゴミ出し", days=["火"], age=80, on=ON),
    NeedQuery.build("N-3", 6, categories="生活支援", max_walk_m=800, transport=True, on=ON),
    NeedQuery.build("N-4", 3, lat=35.02, lon=136.02, categories="介護予防", text="体操", on=ON),
    NeedQuery.build("N-5", 4, categories="配食", attributes=["独居"], months=[12, 1], on=ON),
]


def ranking(snap: DirectorySnapshot) -> list[dict[str, Any]]:
    return [result_to_json(r) for r in score_many(snap, NEEDS)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=st.lists(specs, min_size=0, max_size=25),
    edits=st.lists(
        st.tuples(
            st.sampled_from(["change", "remove", "add", "rename"]), st.integers(0, 99), specs
        ),
        max_size=8,
    ),
)
def test_an_update_is_the_snapshot_a_rebuild_gives(
    before: list[dict[str, Any]], edits: list[tuple[str, int, dict[str, Any]]]
) -> None:
    directory = {i + 1: record(i + 1, f"R-{(i * 37) % 101:03d}", s) for i, s in enumerate(before)}
    snap = snapshot_from_records(directory.values(), DISTRICTS, on=ON, version=1)
    changed: dict[int, ResourceRecord] = {}
    removed: set[int] = set()
    next_id = len(directory) + 1
    for kind, pick, spec in edits:
        live = sorted(directory)
        if kind == "add" or not live:
            rec = record(next_id, f"N-{next_id:03d}", spec)
            next_id += 1
        else:
            rid = live[pick % len(live)]
            if kind == "remove":
                del directory[rid]
                changed.pop(rid, None)
                removed.add(rid)
                continue
            ext = directory[rid].external_id
            if kind == "rename":  # a new external id moves the row
                ext = f"A-{rid:03d}"
            rec = record(rid, ext, spec)
        directory[rec.id] = rec
        changed[rec.id] = rec
        removed.discard(rec.id)
    updated = with_changes(snap, changed.values(), removed=removed, version=2)
    rebuilt = snapshot_from_records(directory.values(), DISTRICTS, on=ON, version=2)
    assert updated.version == 2 and len(updated) == len(directory)
    assert_same(updated, rebuilt)
    assert ranking(updated) == ranking(rebuilt)
    # the snapshot the update started from is unchanged (others may be matching on it)
    assert len(snap) == len(before)


def test_an_update_with_no_change_only_moves_the_version() -> None:
    snap = snapshot_from_records(
        [record(1, "R-1", {**_SPEC, "districts": (3,)})], DISTRICTS, on=ON, version=4
    )
    updated = with_changes(snap, [], version=5)
    assert updated.version == 5 and updated.external_ids == ["R-1"]
    assert ranking(updated) == ranking(snap)


def test_an_unknown_district_is_refused() -> None:
    snap = snapshot_from_records([], DISTRICTS, on=ON, version=1)
    with pytest.raises(ValueError, match="district"):
        with_changes(snap, [record(1, "R-1", {**_SPEC, "districts": (77,)})], version=2)


_SPEC: dict[str, Any] = {
    "categories": ("salon",),
    "districts": (),
    "lat": 35.01,
    "dlon": 0.01,
    "status": "active",
    "transport": None,
    "seats": None,
    "min_age": None,
    "attributes": (),
    "schedule": "月水金 10:00～12:00",
}


# ----------------------------------------------------------------------- database

OTHER_TOWN = Path(__file__).resolve().parents[1] / "data" / "other_town"
CSV = (
    "ID,名称,種別,住所,緯度,経度,対象地区,利用可能曜日,開始時間,終了時間,空き\n"
    "T-1,本町いきいきサロン,サロン,架空市本町1-1,35.0100,136.0100,本町一区,木,10:00,12:00,3\n"
    "T-2,西部ごみ出しサポート,ごみ出し,,,,本町一区;本町二区,火・金,7:00,8:30,\n"
)


@pytest.fixture
def town(engine: Engine, tmp_path: Path) -> Engine:
    path = tmp_path / "resources.csv"
    path.write_text(CSV, encoding="utf-8")
    with transaction(engine) as s:
        import_districts(s, OTHER_TOWN / "districts.geojson")
        import_venues(s, OTHER_TOWN / "venues.geojson")
        import_resources(s, path)
    return engine


def _garbage_need(session: Any) -> NeedQuery:
    from directory.models import District

    district = session.scalar(select(District.id).where(District.code == "99999-01"))
    return NeedQuery.build("N-1", district, categories="ゴミ出し", days=["火"], on=ON)


def test_the_next_match_sees_an_edit_made_a_moment_ago(town: Engine) -> None:
    cache = SnapshotCache()
    sessions = make_sessionmaker(town)
    with sessions() as s:
        first = cache.get(s, ON)
        need = _garbage_need(s)
        assert [m.external_id for m in score_many(first, [need])[0].matches] == ["T-2"]
    assert (cache.builds, cache.updates) == (1, 0)

    with transaction(town) as s:  # an edit that names what it changed
        t2 = s.scalars(select(Resource).where(Resource.external_id == "T-2")).one()
        t2.status = "paused"
        bump(s, [t2.id])
    with sessions() as s:
        second = cache.get(s, ON)
        result = score_many(second, [need])[0]
    assert result.unmet and result.unmet_reason == "paused"
    assert (cache.builds, cache.updates) == (1, 1)
    assert second.version == first.version + 1
    with sessions() as s:  # what a rebuild of the same directory says
        rebuilt = SnapshotCache().get(s, ON)
    assert_same(second, rebuilt)

    with transaction(town) as s:  # removed (its row leaves the snapshot) …
        t2 = s.scalars(select(Resource).where(Resource.external_id == "T-2")).one()
        gone = t2.id
        s.delete(t2)
        bump(s, [gone])
    with sessions() as s:
        third = cache.get(s, ON)
    assert third.external_ids == ["T-1"] and (cache.builds, cache.updates) == (1, 2)
    assert score_many(third, [need])[0].unmet_reason == "no_resource"


def test_a_change_that_does_not_say_what_changed_rebuilds(town: Engine) -> None:
    cache = SnapshotCache()
    sessions = make_sessionmaker(town)
    with sessions() as s:
        cache.get(s, ON)
    with transaction(town) as s:
        s.scalars(select(Resource).where(Resource.external_id == "T-1")).one().seats_left = 0
        bump(s)  # an import, a district edit: no list of resources
    with sessions() as s:
        snap = cache.get(s, ON)
    assert (cache.builds, cache.updates) == (2, 0)
    assert snap.cap_code[snap.external_ids.index("T-1")] == 0


def test_the_change_log_names_the_resources_of_each_version(town: Engine) -> None:
    with transaction(town) as s:
        start = current(s)
        bump(s, [5, 3])
        bump(s, [])
        bump(s, [3, 9])
        end = current(s)
    with town.connect() as conn:
        assert changed_since(conn, start, end) == {3, 5, 9}
        assert changed_since(conn, start + 1, end) == {3, 9}
        assert changed_since(conn, end, end) == set()
        assert changed_since(conn, start - 1, end) is None  # the import said nothing
    assert math.isfinite(end)


def test_many_changes_at_once_are_spliced_from_slices() -> None:
    """Beyond a few dozen changes the lists are rebuilt from slices, not edited in place."""
    specs_ = [
        {**_SPEC, "districts": ((3,), (), (4,))[i % 3], "lat": 35.0 + i * 1e-4, "seats": i % 4}
        for i in range(150)
    ]
    directory = {i + 1: record(i + 1, f"R-{(i * 37) % 151:03d}", s) for i, s in enumerate(specs_)}
    snap = snapshot_from_records(directory.values(), DISTRICTS, on=ON, version=1)
    changed = {}
    for rid in range(1, 151, 2):  # 75 changed (every other one renamed), 10 removed, 5 added
        ext = directory[rid].external_id if rid % 4 == 1 else f"Z-{rid:03d}"
        changed[rid] = directory[rid] = record(rid, ext, {**_SPEC, "schedule": "火曜 9時～11時"})
    removed = set(range(2, 22, 2))
    for rid in removed:
        del directory[rid]
    for rid in range(151, 156):
        changed[rid] = directory[rid] = record(rid, f"A-{rid}", {**_SPEC, "districts": (6,)})
    updated = with_changes(snap, changed.values(), removed=removed, version=2)
    rebuilt = snapshot_from_records(directory.values(), DISTRICTS, on=ON, version=2)
    assert_same(updated, rebuilt)
    assert ranking(updated) == ranking(rebuilt)
