"""Needs: the model, the §4 JSON importer (atomic, every error named) and `import needs`.

The fixture town is fictional (架空市, code 99999, four square districts) so nothing here
depends on the demo town. Need text is personal data: a canary sentence planted in it
must never reach an error message, a warning, the CLI's output or a log record.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from directory.db import make_sessionmaker, transaction
from directory.errors import DatabaseProblem, InvalidInputError
from directory.geography import import_districts
from directory.models import District, Resource
from matching.models import Match, Need, NeedCategory
from matching.needs import import_needs

DATA = Path(__file__).resolve().parents[1] / "data"
TOWN = DATA / "other_town"
NEEDS = DATA / "needs_other_town.json"
ITEMS: list[dict[str, Any]] = json.loads(NEEDS.read_text(encoding="utf-8"))
CANARY = "カナリア文-要介護の秘密-7731"


@pytest.fixture
def town(engine: Engine) -> Engine:
    with transaction(engine) as s:
        import_districts(s, TOWN / "districts.geojson")
    return engine


def write(tmp_path: Path, items: Any, name: str = "needs.json", *, bom: bool = False) -> Path:
    path = tmp_path / name
    text = json.dumps(items, ensure_ascii=False, indent=1)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def load(engine: Engine, path: Path):
    with transaction(engine) as s:
        return import_needs(s, path)


def by_id(engine: Engine, external_id: str) -> Need:
    with Session(engine) as s:
        need = s.scalar(select(Need).where(Need.external_id == external_id))
        assert need is not None
        _ = (need.category_links, need.district)
        return need


def signature(engine: Engine) -> str:
    """Every need and category link, so 'nothing was written' is checked exactly."""
    with Session(engine) as s:
        rows: list[Any] = [
            (
                n.external_id,
                n.version,
                n.text,
                n.days,
                n.status,
                [(c.category_code, c.inferred) for c in n.category_links],
            )
            for n in s.scalars(select(Need).order_by(Need.external_id))
        ]
        rows.append(s.scalar(select(func.count()).select_from(NeedCategory)))
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def need_count(engine: Engine) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count(Need.id))) or 0


def refused(engine: Engine, path: Path) -> InvalidInputError:
    before = signature(engine)
    with pytest.raises(InvalidInputError) as info:
        load(engine, path)
    assert signature(engine) == before, "a refused file changed the database"
    return info.value


def problems(error: InvalidInputError) -> set[tuple[int | None, str | None, str]]:
    return {(p.row, p.column, p.code) for p in error.problems}


# ------------------------------------------------------------------------------ the model


def test_a_need_round_trips_with_stated_and_inferred_categories(town: Engine) -> None:
    with transaction(town) as s:
        district = s.scalar(select(District).where(District.code == "99999-01"))
        assert district is not None
        s.add(
            Need(
                external_id="X-1",
                resident_ref="R-0001",
                district=district,
                text="雪かき",
                days=["TU", "FR"],
                time_start=dt.time(7),
                time_end=dt.time(9),
                months=[12, 1],
                max_walk_m=400,
                transport=False,
                age=81,
                attributes=["独居"],
                recorded_on=dt.date(2024, 12, 2),
                consent_on=dt.date(2024, 12, 2),
                consent_by="本人",
                category_links=[
                    NeedCategory(category_code="snow", inferred=True),
                    NeedCategory(category_code="watch"),
                ],
            )
        )
    need = by_id(town, "X-1")
    assert (need.days, need.months, need.time_start, need.attributes) == (
        ["TU", "FR"],
        [12, 1],
        dt.time(7),
        ["独居"],
    )
    assert (need.status, need.urgency, need.version) == ("open", "normal", 1)
    assert need.category_codes == ["snow", "watch"] and need.inferred_codes == ["snow"]
    # no point recorded: the district centroid stands in, and says so
    assert need.location_is_centroid
    assert need.location() == (need.district.centroid_lat, need.district.centroid_lon, True)
    with Session(town) as s:
        assert s.scalar(select(func.count(Need.id)).where(Need.location_is_centroid)) == 1
    assert "雪かき" not in repr(need)  # the text is personal data: never in a repr


def test_absent_lists_are_null_not_empty(town: Engine) -> None:
    with transaction(town) as s:
        district = s.scalar(select(District).where(District.code == "99999-01"))
        s.add(Need(external_id="X-2", district=district, lat=35.01, lon=136.01))
    need = by_id(town, "X-2")
    assert need.days is None and need.months is None and need.attributes == []
    assert need.location() == (35.01, 136.01, False)


def test_a_stale_copy_cannot_overwrite_a_newer_edit(town: Engine) -> None:
    with transaction(town) as s:
        district = s.scalar(select(District).where(District.code == "99999-01"))
        s.add(Need(external_id="X-3", district=district, text="a"))
    # Two coordinators open the same need (each read ends its transaction, as a web
    # request does), then both save.
    writer = make_sessionmaker(town, write=True)
    first, second = writer(), writer()
    try:
        a = first.scalar(select(Need).where(Need.external_id == "X-3"))
        first.commit()
        b = second.scalar(select(Need).where(Need.external_id == "X-3"))
        second.commit()
        assert a is not None and b is not None
        a.urgency = "high"
        first.commit()
        b.urgency = "low"
        with pytest.raises(StaleDataError):
            second.commit()
        second.rollback()
    finally:
        first.close()
        second.close()
    assert by_id(town, "X-3").urgency == "high"
    assert by_id(town, "X-3").version == 2


def test_a_match_records_score_reasons_and_status_once_per_resource(town: Engine) -> None:
    with transaction(town) as s:
        district = s.scalar(select(District).where(District.code == "99999-01"))
        need = Need(external_id="X-4", district=district, text="買い物")
        resource = Resource(external_id="K-1", name="移動販売", name_key="いどうはんばい")
        s.add_all([need, resource])
        s.flush()
        s.add(
            Match(
                need=need,
                resource=resource,
                score=0.87,
                factors={"distance": 1.0, "schedule": 0.5},
                reasons=["対象地区内", "火曜午前に活動"],
            )
        )
    with Session(town) as s:
        match = s.scalar(select(Match))
        assert match is not None
        assert (match.status, match.version, match.factors["schedule"], match.reasons[0]) == (
            "proposed",
            1,
            0.5,
            "対象地区内",
        )
        match.status = "contacted"
        s.commit()
        assert match.version == 2
        assert match.need.matches == [match]
    with pytest.raises(DatabaseProblem) as refused_twice, transaction(town) as s:
        need = s.scalar(select(Need))
        resource = s.scalar(select(Resource))
        s.add(Match(need=need, resource=resource, score=0.1))
    assert refused_twice.value.code == "db_duplicate"


def test_the_database_refuses_an_unknown_status(town: Engine) -> None:
    with pytest.raises(DatabaseProblem) as refused, transaction(town) as s:
        district = s.scalar(select(District).where(District.code == "99999-01"))
        s.add(Need(external_id="X-5", district=district, text="x", status="lost"))
    assert refused.value.code == "db_check"


# ----------------------------------------------------------------------------- importing


def test_import_reads_every_field_of_section_4(town: Engine) -> None:
    result = load(town, NEEDS)
    assert (result.created, result.updated, result.unchanged) == (6, 0, 0)
    n1 = by_id(town, "K-N-001")
    assert n1.district.code == "99999-01" and n1.resident_ref == "R-7c2e"
    assert (n1.lat, n1.lon, n1.location_is_centroid) == (35.012, 136.008, False)
    assert n1.category_codes == ["garbage"] and n1.inferred_codes == []
    assert n1.days == ["TU", "FR"]
    assert (n1.time_start, n1.time_end) == (dt.time(7), dt.time(9))
    assert (n1.max_walk_m, n1.transport, n1.age) == (500, False, 82)
    assert n1.attributes == ["要支援", "独居"]  # 要支援1 → 要支援, in the vocabulary's order
    assert n1.recorded_on == dt.date(2024, 5, 10)
    assert (n1.consent_on, n1.consent_by) == (dt.date(2024, 5, 10), "本人")
    assert (n1.urgency, n1.status, n1.version) == ("normal", "open", 1)

    n2 = by_id(town, "K-N-002")
    assert n2.days == ["MO", "WE", "FR"] and n2.max_walk_m == 800 and n2.age == 78
    assert n2.time_start == dt.time(10) and n2.time_end == dt.time(12)
    assert n2.location_is_centroid

    n3 = by_id(town, "K-N-003")
    assert n3.category_codes == ["snow", "watch"] and n3.inferred_codes == []
    assert n3.months == [1, 2, 3, 12] and n3.urgency == "high"
    assert n3.attributes == ["高齢者のみ世帯"] and n3.basis.startswith("介護保険法")

    n5 = by_id(town, "K-N-005")
    assert n5.days == ["MO", "TU", "WE", "TH", "FR"] and n5.attributes == ["要介護"]
    assert (n5.time_start, n5.time_end) == (dt.time(9), dt.time(12))
    n6 = by_id(town, "K-N-006")
    assert n6.days == ["SA"] and n6.months == list(range(4, 12))
    assert (n6.time_start, n6.time_end) == (dt.time(13), dt.time(17))


def test_categories_are_inferred_from_text_and_flagged_inferred(town: Engine) -> None:
    result = load(town, NEEDS)
    assert by_id(town, "K-N-002").inferred_codes == ["gathering"]
    n4 = by_id(town, "K-N-004")
    assert n4.category_codes == ["garbage"] and n4.inferred_codes == ["garbage"]  # ｺﾞﾐ
    inferred = [(w.row, w.column) for w in result.warnings if w.code == "categories_inferred"]
    assert inferred == [(2, "categories"), (4, "categories")]
    assert "ゴミ出し支援" in next(w for w in result.warnings if w.row == 4).reason("ja")


def test_a_file_with_a_bom_imports_the_same(town: Engine, tmp_path: Path) -> None:
    result = load(town, write(tmp_path, ITEMS, bom=True))
    assert result.created == 6


def test_reimporting_the_same_file_changes_nothing(town: Engine) -> None:
    load(town, NEEDS)
    before = signature(town)
    result = load(town, NEEDS)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 6)
    assert signature(town) == before


def test_reimporting_a_changed_need_updates_it_and_bumps_its_version(
    town: Engine, tmp_path: Path
) -> None:
    load(town, NEEDS)
    items = copy.deepcopy(ITEMS)
    items[0]["days"] = ["水"]
    items[3]["categories"] = ["ゴミ出し支援"]  # inferred → stated: only the link changes
    result = load(town, write(tmp_path, items))
    assert (result.created, result.updated, result.unchanged) == (0, 2, 4)
    assert by_id(town, "K-N-001").days == ["WE"]
    assert by_id(town, "K-N-001").version == 2
    n4 = by_id(town, "K-N-004")
    assert (n4.inferred_codes, n4.version) == ([], 2)
    assert by_id(town, "K-N-002").version == 1


def test_reimport_keeps_the_workflow_status(town: Engine, tmp_path: Path) -> None:
    load(town, NEEDS)
    with transaction(town) as s:
        need = s.scalar(select(Need).where(Need.external_id == "K-N-001"))
        need.status = "matched"
    items = copy.deepcopy(ITEMS)
    items[0]["urgency"] = "high"
    load(town, write(tmp_path, items))
    need = by_id(town, "K-N-001")
    assert (need.status, need.urgency) == ("matched", "high")


def test_an_empty_list_imports_nothing(town: Engine, tmp_path: Path) -> None:
    result = load(town, write(tmp_path, []))
    assert (result.created, result.updated, result.unchanged) == (0, 0, 0)


# ------------------------------------------------------------------------------ refusals


def one(**changes: Any) -> dict[str, Any]:
    """A valid need (the file's first) with some fields changed; None removes a field."""
    item = copy.deepcopy(ITEMS[0])
    for key, value in changes.items():
        if value is None:
            item.pop(key, None)
        else:
            item[key] = value
    return item


BAD_FIELDS = [
    ({"id": None}, "id", "required"),
    ({"id": ""}, "id", "required"),
    ({"id": ["N"]}, "id", "not_text"),
    ({"id": "山田花子"}, "id", "id_looks_like_name"),
    ({"id": "佐藤さん"}, "id", "id_looks_like_name"),
    ({"district": None}, "district", "required"),
    ({"district": "どこにもない区"}, "district", "need_unknown_district"),
    ({"district": "西部"}, "district", "need_district_not_leaf"),
    ({"district": "架空市"}, "district", "need_district_not_leaf"),
    ({"categories": ["サロソ"]}, "categories", "need_unknown_category_suggest"),
    ({"categories": ["宇宙旅行"]}, "categories", "need_unknown_category"),
    ({"categories": [3]}, "categories", "not_text"),
    ({"categories": {"a": 1}}, "categories", "not_a_list_field"),
    ({"categories": None, "text": "今日は良い天気です"}, "categories", "categories_not_inferred"),
    ({"categories": None, "text": None}, "categories", "categories_or_text_required"),
    ({"text": ["ゴミ"]}, "text", "not_text"),
    ({"text": "あ" * 4001}, "text", "too_long"),
    ({"days": ["火x"]}, "days", "need_bad_weekday"),
    ({"days": [2]}, "days", "need_bad_weekday"),
    ({"days": {"火": True}}, "days", "not_a_list_field"),
    ({"time": "朝の早い時間"}, "time", "need_not_a_time_range"),
    ({"time": "09:00-07:00"}, "time", "need_end_before_start"),
    ({"time": 7}, "time", "need_not_a_time_range"),
    ({"months": [13]}, "months", "need_bad_month"),
    ({"months": [0]}, "months", "need_bad_month"),
    ({"months": ["春"]}, "months", "need_bad_month"),
    ({"max_walk_m": 0}, "max_walk_m", "need_out_of_range"),
    ({"max_walk_m": -500}, "max_walk_m", "need_out_of_range"),
    ({"max_walk_m": 100_000}, "max_walk_m", "need_out_of_range"),
    ({"max_walk_m": "近く"}, "max_walk_m", "need_not_number"),
    ({"transport": "たぶん"}, "transport", "need_not_boolean"),
    ({"transport": 1}, "transport", "need_not_boolean"),
    ({"age": 130}, "age", "need_out_of_range"),
    ({"age": -1}, "age", "need_out_of_range"),
    ({"age": "八十"}, "age", "need_not_integer"),
    ({"age": 82.5}, "age", "need_not_integer"),
    ({"attributes": 5}, "attributes", "not_a_list_field"),
    ({"recorded_on": "2024-13-01"}, "recorded_on", "need_not_a_date"),
    ({"recorded_on": "令和1年4月1日"}, "recorded_on", "need_bad_era_date"),
    ({"recorded_on": "2999-01-01"}, "recorded_on", "need_date_in_future"),
    ({"consent_on": "昨日"}, "consent_on", "need_not_a_date"),
    ({"urgency": "urgent"}, "urgency", "need_bad_choice"),
    ({"lat": 95.0}, "lat", "need_coordinate_outside_japan"),
    ({"lon": 10.0}, "lon", "need_coordinate_outside_japan"),
    ({"lat": "北"}, "lat", "need_not_number"),
    ({"lat": True}, "lat", "need_not_number"),
    ({"lon": None}, "lon", "coordinate_pair"),
    ({"lat": None}, "lat", "coordinate_pair"),
    # 本町一区 is the square 136.00–136.02 × 35.00–35.02; this point is ~2.6 km away
    ({"lat": 35.038, "lon": 136.038}, "lat,lon", "location_outside_district"),
    ({"resident": "山田太郎"}, "resident", "resident_not_pseudonym"),
    ({"resident": "yamada"}, "resident", "resident_not_pseudonym"),
    ({"resident": "R 12"}, "resident", "resident_not_pseudonym"),
    ({"consent_by": "山田一郎"}, "consent_by", "consent_by_unknown"),
    ({"source": "あ" * 201}, "source", "too_long"),
]


@pytest.mark.parametrize(
    ("changes", "column", "code"), BAD_FIELDS, ids=[f"{c}-{code}" for _, c, code in BAD_FIELDS]
)
def test_each_bad_field_is_named_with_row_column_and_reason(
    town: Engine, tmp_path: Path, changes: dict[str, Any], column: str, code: str
) -> None:
    items = copy.deepcopy(ITEMS)
    items[2] = one(id="K-N-003", **changes) if "id" not in changes else one(**changes)
    error = refused(town, write(tmp_path, items))
    assert problems(error) == {(3, column, code)}
    assert need_count(town) == 0
    for lang in ("ja", "en"):
        line = error.problems[0].format(str(tmp_path / "needs.json"), lang)
        assert line.startswith(f"{tmp_path / 'needs.json'}:3:{column}: ")


def test_every_error_in_the_file_is_reported_at_once(town: Engine, tmp_path: Path) -> None:
    items = copy.deepcopy(ITEMS)
    items[0]["days"] = ["火x"]
    items[0]["age"] = 200
    items[3]["district"] = "どこ"
    items[5] = "not a need"
    error = refused(town, write(tmp_path, items))
    assert problems(error) == {
        (1, "days", "need_bad_weekday"),
        (1, "age", "need_out_of_range"),
        (4, "district", "need_unknown_district"),
        (6, None, "not_an_object"),
    }


def test_a_duplicate_id_names_both_items(town: Engine, tmp_path: Path) -> None:
    items = copy.deepcopy(ITEMS)
    items[4]["id"] = "K-N-002"
    error = refused(town, write(tmp_path, items))
    assert problems(error) == {(5, "id", "duplicate_need_id")}
    assert "2件目" in error.problems[0].reason("ja")
    assert "K-N-002" not in error.describe("ja") + error.describe("en")


def test_a_name_shared_by_two_districts_must_be_given_by_code(town: Engine, tmp_path: Path) -> None:
    other = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "88888", "name": "隣町", "level": "municipality"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [136.1, 35.0],
                            [136.12, 35.0],
                            [136.12, 35.02],
                            [136.1, 35.02],
                            [136.1, 35.0],
                        ]
                    ],
                },
            },
            {
                "type": "Feature",
                "properties": {
                    "code": "88888-01",
                    "name": "新田",
                    "level": "district",
                    "parent": "88888",
                },
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [136.1, 35.0],
                            [136.12, 35.0],
                            [136.12, 35.02],
                            [136.1, 35.02],
                            [136.1, 35.0],
                        ]
                    ],
                },
            },
        ],
    }
    with transaction(town) as s:
        import_districts(s, write(tmp_path, other, "other.geojson"))
    error = refused(town, write(tmp_path, [one(district="新田", lat=None, lon=None)]))
    assert problems(error) == {(1, "district", "need_ambiguous_district")}
    assert load(town, write(tmp_path, [one(district="88888-01", lat=None, lon=None)])).created == 1


def test_a_point_just_outside_its_district_is_accepted(town: Engine, tmp_path: Path) -> None:
    # 本町一区 ends at 136.02; 136.025 is about 450 m east of it: approximate, not a typo
    assert load(town, write(tmp_path, [one(lat=35.01, lon=136.025)])).created == 1


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b'{"needs": []}', "not_a_list"),
        (b'[{"id": "N-1",]', "not_json"),
        ('[{"id": "N-1", "district": "新田", "text": "ゴミ"}]'.encode("cp932"), "json_not_utf8"),
    ],
)
def test_a_file_that_is_not_a_json_list_of_needs_is_refused(
    town: Engine, tmp_path: Path, content: bytes, code: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    error = refused(town, path)
    assert [(p.row, p.code) for p in error.problems] == [(None, code)]


def test_a_missing_file_is_refused(town: Engine, tmp_path: Path) -> None:
    error = refused(town, tmp_path / "none.json")
    assert [p.code for p in error.problems] == ["file_not_found"]


# ------------------------------------------------------------------------------ warnings


def test_unknown_attributes_and_fields_are_warnings_and_not_stored(
    town: Engine, tmp_path: Path
) -> None:
    item = one(attributes=["独居", "認知症あり"], favourite_colour="青")
    result = load(town, write(tmp_path, [item]))
    assert result.created == 1
    found = {(w.row, w.column, w.code) for w in result.warnings}
    assert (1, "attributes", "need_unknown_attribute") in found
    assert (1, "favourite_colour", "unknown_field") in found
    assert by_id(town, "K-N-001").attributes == ["独居"]


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("単身", ["独居"]),
        ("高齢者夫婦世帯", ["高齢者のみ世帯"]),
        ("ひとり暮らし", ["独居"]),
        ("要介護3", ["要介護"]),
    ],
)
def test_a_resource_and_a_need_read_attribute_words_alike(
    town: Engine, tmp_path: Path, written: str, canonical: list[str]
) -> None:
    from directory.resources import import_resources

    csv_path = tmp_path / "resources.csv"
    csv_path.write_text(
        f"ID,名称,種別,対象地区,対象者\nA-1,見守りの会,見守り,本町一区,{written}の方\n",
        encoding="utf-8",
    )
    with transaction(town) as s:
        import_resources(s, csv_path)
    load(town, write(tmp_path, [one(attributes=[written])]))
    with Session(town) as s:
        resource = s.scalar(select(Resource).where(Resource.external_id == "A-1"))
        assert resource is not None
        assert resource.eligibility_attributes == canonical
    assert by_id(town, "K-N-001").attributes == canonical


def test_fields_that_identify_a_person_are_dropped_without_echoing_them(
    town: Engine, tmp_path: Path
) -> None:
    item = one(name="山田花子", 住所="加美町字町裏1-2-3", phone="0229-11-2222")
    result = load(town, write(tmp_path, [item]))
    warned = {w.column for w in result.warnings if w.code == "personal_field_ignored"}
    assert warned == {"name", "住所", "phone"}
    shown = json.dumps(result.as_json("ja"), ensure_ascii=False) + json.dumps(
        result.as_json("en"), ensure_ascii=False
    )
    for secret in ("山田花子", "1-2-3", "2222"):
        assert secret not in shown
    with Session(town) as s:
        stored = repr([tuple(r) for r in s.execute(select(Need.__table__))])
    assert "山田花子" not in stored and "2222" not in stored


def test_a_need_without_consent_or_basis_is_warned_about(town: Engine, tmp_path: Path) -> None:
    result = load(town, write(tmp_path, [one(consent_on=None, consent_by=None)]))
    assert [(w.row, w.column, w.code) for w in result.warnings] == [(1, "basis", "basis_missing")]


def test_names_given_where_pseudonyms_belong_are_never_echoed(town: Engine, tmp_path: Path) -> None:
    items = [one(resident="山田太郎"), one(id="鈴木花子"), one(id="K-N-009", consent_by="佐藤一郎")]
    error = refused(town, write(tmp_path, items))
    shown = "\n".join(error.describe(lang) for lang in ("ja", "en")) + str(error)
    for name in ("山田太郎", "鈴木花子", "佐藤一郎"):
        assert name not in shown


# ----------------------------------------------------------------------- privacy: canary


def canary_items() -> list[dict[str, Any]]:
    """Needs whose text holds the canary, each refused (or warned about) for a reason."""
    return [
        one(id="C-1", text=f"{CANARY}。ゴミ出し", district="どこにもない区"),
        one(id="C-2", text=f"今日は天気がよい。{CANARY}", categories=None),
        one(id="C-3", text=CANARY * 300),
        one(id="C-4", text=CANARY, categories=["サロソ"], days=["火x"], name="山田花子"),
        one(id="C-5", text=f"{CANARY} 雪", categories=None, resident=CANARY),
        one(id="C-6", text=f"{CANARY}。買い物に行けない", categories=None, consent_on=None),
    ]


def test_need_text_never_appears_in_errors_warnings_or_logs(
    town: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    error = refused(town, write(tmp_path, canary_items()))
    assert {p.row for p in error.problems} == {1, 2, 3, 4, 5}
    assert {w.row for w in error.warnings} >= {4, 5, 6}  # inferred, personal field, basis
    shown = [
        error.describe("ja"),
        error.describe("en"),
        str(error),
        repr(error.problems),
        repr(error.warnings),
    ]
    shown += [
        json.dumps(p.as_json(lang), ensure_ascii=False)
        for p in error.problems + error.warnings
        for lang in ("ja", "en")
    ]
    assert not [s for s in shown if CANARY in s]
    assert not [r for r in caplog.records if CANARY in r.getMessage()]


def test_cli_never_prints_need_text(
    town_cli: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = write(tmp_path, canary_items())
    for extra in ((), ("--json",), ("--json", "--lang", "en"), ("--dry-run",)):
        result = town_cli("import", "needs", path, *extra)
        assert result.exit_code == 1
        assert CANARY not in result.stdout and CANARY not in result.stderr
    valid = write(tmp_path, [canary_items()[-1]], "valid.json")
    result = town_cli("import", "needs", valid, "--json")
    assert result.exit_code == 0, result.stderr
    assert CANARY not in result.stdout and CANARY not in result.stderr
    assert not [r for r in caplog.records if CANARY in r.getMessage()]


# ----------------------------------------------------------------------------------- CLI


@pytest.fixture
def town_cli(cli: Any) -> Any:
    assert cli("db", "upgrade").exit_code == 0
    assert cli("import", "districts", TOWN / "districts.geojson").exit_code == 0
    return cli


def test_cli_import_needs_json_reports_counts_and_warnings(town_cli: Any) -> None:
    result = town_cli("import", "needs", NEEDS, "--json")
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert (payload["created"], payload["updated"], payload["unchanged"]) == (6, 0, 0)
    assert payload["errors"] == []
    assert {"row": 2, "column": "categories", "code": "categories_inferred"}.items() <= next(
        w for w in payload["warnings"] if w["row"] == 2
    ).items()
    again = town_cli("import", "needs", NEEDS, "--json")
    assert json.loads(again.stdout)["unchanged"] == 6


def test_cli_dry_run_writes_nothing(town_cli: Any) -> None:
    dry = town_cli("import", "needs", NEEDS, "--dry-run", "--json")
    assert dry.exit_code == 0 and json.loads(dry.stdout)["created"] == 6
    assert "試行のみ" in dry.stderr
    real = town_cli("import", "needs", NEEDS, "--json")
    assert json.loads(real.stdout)["created"] == 6


def test_cli_bad_file_exits_1_with_file_row_column_reason(town_cli: Any, tmp_path: Path) -> None:
    path = write(tmp_path, [one(days=["火x"]), one(id="K-N-002", age=300)])
    result = town_cli("import", "needs", path)
    assert result.exit_code == 1
    assert f"{path}:1:days: days に曜日として読めない値があります" in result.stderr
    assert f"{path}:2:age: age は 0〜120 の範囲にしてください" in result.stderr
    assert "火x" not in result.stderr and "300" not in result.stderr  # values never echoed
    english = town_cli("import", "needs", path, "--json", "--lang", "en")
    payload = json.loads(english.stdout)
    assert [(e["row"], e["column"]) for e in payload["errors"]] == [(1, "days"), (2, "age")]
    assert payload["errors"][1]["reason"] == "age must be between 0 and 120"
    assert (payload["created"], payload["updated"], payload["unchanged"]) == (0, 0, 0)


def test_cli_misuse_exits_2(town_cli: Any) -> None:
    assert town_cli("import", "needs").exit_code == 2
    assert town_cli("import", "needs", NEEDS, "--no-such-option").exit_code == 2


def test_cli_missing_file_exits_1(town_cli: Any, tmp_path: Path) -> None:
    result = town_cli("import", "needs", tmp_path / "none.json")
    assert result.exit_code == 1
    assert "ファイルが見つかりません" in result.stderr


# ------------------------------------------------------------------------------ the demo

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def test_the_demo_needs_import_cleanly_after_the_demo_directory(engine: Engine) -> None:
    from directory.geography import import_venues
    from directory.resources import import_resources

    manifest = json.loads((SEEDS / "demo.json").read_text(encoding="utf-8"))
    with transaction(engine) as s:
        import_districts(s, SEEDS / manifest["districts"])
        import_venues(s, SEEDS / manifest["venues"])
        import_resources(s, SEEDS / manifest["resources"])
    result = load(engine, SEEDS / manifest["needs"])
    assert (result.created, result.updated, result.unchanged) == (150, 0, 0)
    assert {w.code for w in result.warnings} == {"categories_inferred"}
    assert load(engine, SEEDS / manifest["needs"]).unchanged == 150
    with Session(engine) as s:
        needs = list(s.scalars(select(Need)))
        areas = {n.district.parent.code for n in needs}
        codes = {c.category_code for n in needs for c in n.category_links}
        inferred = sum(1 for n in needs if n.inferred_codes)
    assert areas == {"04445-A1", "04445-A2", "04445-A3"}
    assert codes == {
        "prevention",
        "gathering",
        "salon",
        "mini_day",
        "tea",
        "senior_club",
        "exercise",
        "support",
        "shopping",
        "watch",
        "snow",
        "garbage",
        "meals",
        "transport",
        "housework",
        "volunteer",
        "home_service",  # N-0047: a reference category the town has none of (no_resource)
    }
    assert inferred >= 30
    assert all(n.source.startswith("架空のデータ") for n in needs)
    assert all(n.resident_ref.startswith("R-") for n in needs)
    assert all(n.consent_on is not None or n.basis for n in needs)


def test_the_demo_needs_file_is_what_its_generator_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("make_needs", SEEDS / "kami" / "make_needs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "make_needs", module)  # dataclasses look it up there
    spec.loader.exec_module(module)
    written = json.loads((SEEDS / "kami" / "needs.json").read_text(encoding="utf-8"))
    assert module.build() == written  # also re-runs its check of the unmet needs
    assert set(module.EXPECTED_UNMET) <= {n["id"] for n in written}
    reasons = {reason for reason, _, _ in module.EXPECTED_UNMET.values()}
    assert reasons == {"no_resource", "schedule", "capacity", "eligibility", "distance", "paused"}
