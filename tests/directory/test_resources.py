"""Importing resources from real-looking municipal files (DATA_FORMATS §3).

The fixture town is fictional (架空市, code 99999) and its file is CP932 with the columns
in another order under the Digital Agency standard set's and everyday headers: nothing
here may depend on the demo town.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from directory.db import transaction
from directory.errors import InvalidInputError
from directory.exports import export_rows, write_csv, write_xlsx
from directory.geography import import_districts, import_venues
from directory.models import Organization, Resource, Venue
from directory.resources import import_resources

DATA = Path(__file__).resolve().parents[1] / "data" / "other_town"
CP932_FILE = DATA / "resources_cp932.csv"


@pytest.fixture
def town(engine: Engine) -> Engine:
    with transaction(engine) as s:
        import_districts(s, DATA / "districts.geojson")
        import_venues(s, DATA / "venues.geojson")
    return engine


def load(engine: Engine, path: Path):
    with transaction(engine) as s:
        return import_resources(s, path)


def table_signature(engine: Engine) -> str:
    with Session(engine) as s:
        rows = [
            (
                r.external_id,
                r.name,
                r.version,
                r.status,
                r.public,
                r.lat,
                r.lon,
                r.venue_id,
                sorted(c.code for c in r.categories),
                sorted(d.code for d in r.districts),
                [(x.rrule, x.start_time, x.end_time) for x in r.schedules],
            )
            for r in s.scalars(select(Resource).order_by(Resource.external_id))
        ]
        rows.append(s.scalar(select(func.count(Venue.id))))
        rows.append(s.scalar(select(func.count(Organization.id))))
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def rows_of(path: Path, encoding: str = "cp932") -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding))))


def write_rows(path: Path, rows: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def by_id(engine: Engine, external_id: str) -> Resource:
    with Session(engine) as s:
        r = s.scalar(select(Resource).where(Resource.external_id == external_id))
        assert r is not None
        # load what the assertions read
        _ = (
            r.categories,
            r.districts,
            r.schedules,
            r.organization,
            r.venue.district if r.venue else None,
        )
        return r


# ----------------------------------------------------------------------- a real file


def test_a_cp932_file_with_other_headers_imports_without_editing(town: Engine) -> None:
    result = load(town, CP932_FILE)
    assert (result.created, result.updated, result.unchanged) == (8, 0, 0)
    warnings = {(w.code, w.row, w.column) for w in result.warnings}
    assert ("unknown_column", 1, "メモ") in warnings
    assert ("schedule_not_understood", 8, "開催日") in warnings  # K-007: 不定期（要相談）

    salon = by_id(town, "K-001")
    assert [c.code for c in salon.categories] == ["salon"]
    assert [d.code for d in salon.districts] == ["99999-01"]
    assert salon.organization is not None and salon.organization.name == "本町一区自治会"
    assert salon.venue is not None and salon.venue.name == "本町公民館"
    assert salon.last_verified_on == dt.date(2024, 4, 1)
    assert salon.fee_yen == 100 and salon.min_age == 65
    assert salon.phone == "0000-00-0001" and salon.extra == {"市区町村名": "架空市"}
    (schedule,) = salon.schedules
    assert schedule.rrule == "FREQ=MONTHLY;BYDAY=2TH,4TH"
    assert (schedule.start_time, schedule.end_time) == (dt.time(10), dt.time(12))
    assert schedule.holiday_rule == "closed"
    assert schedule.source_text is not None and "第２・第４木曜" in schedule.source_text

    mini_day = by_id(town, "K-002")  # ~20 m from 上ノ原集会所: linked, not a new venue
    assert mini_day.venue is not None and mini_day.venue.name == "上ノ原集会所"
    assert mini_day.eligibility_attributes == ["要支援", "要介護"]

    exercise = by_id(town, "K-008")  # the same hall as K-001, a couple of metres off
    assert exercise.venue_id == salon.venue_id
    assert exercise.schedules[0].rrule == "FREQ=WEEKLY;BYDAY=MO,WE,FR"

    tea = by_id(town, "K-005")  # far from every venue: a venue is created in 新田
    assert tea.status == "paused"
    assert tea.venue is not None and tea.venue.district is not None
    assert tea.venue.district.code == "99999-03"

    garbage = by_id(town, "K-004")
    assert garbage.public is False and garbage.venue is None
    assert sorted(d.code for d in garbage.districts) == ["99999-01", "99999-02"]
    assert garbage.schedules[0].year_end_closed is True

    meals = by_id(town, "K-006")
    assert [d.code for d in meals.districts] == ["99999"]  # 全域 = the municipality
    assert meals.min_age == 65 and meals.eligibility_attributes == ["独居"]

    watch = by_id(town, "K-007")
    assert watch.schedule_understood is False
    assert [s.understood for s in watch.schedules] == [False]
    assert watch.schedules[0].source_text == "不定期（要相談）"

    with Session(town) as s:
        assert s.scalar(select(func.count(Organization.id))) == 4  # 社協 reused, not repeated
        assert s.scalar(select(func.count(Venue.id))) == 3


def test_reimport_changes_nothing_and_an_edit_bumps_the_version(
    town: Engine, tmp_path: Path
) -> None:
    load(town, CP932_FILE)
    before = table_signature(town)
    again = load(town, CP932_FILE)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 8)
    assert table_signature(town) == before
    rows = rows_of(CP932_FILE)
    rows[1][1] = "本町いきいきサロン（改称）"
    rows[3][6] = "毎月第1月曜"  # K-003 (snow, 12月～3月) gets a monthly schedule instead
    edited = write_rows(tmp_path / "edited.csv", rows, "cp932")
    result = load(town, edited)
    assert (result.created, result.updated, result.unchanged) == (0, 2, 6)
    assert by_id(town, "K-001").name == "本町いきいきサロン（改称）"
    assert by_id(town, "K-001").version == 2
    assert by_id(town, "K-002").version == 1
    assert by_id(town, "K-003").schedules[0].rrule == "FREQ=MONTHLY;BYDAY=1MO"


def test_a_fortnightly_schedule_keeps_its_weeks_from_the_first_import(
    town: Engine, tmp_path: Path
) -> None:
    # 隔週 with no date written is anchored on its first Tuesday on or after the import day,
    # once: re-importing it later, unchanged or with another cell edited, keeps those weeks;
    # only a new schedule text takes the new import day.
    header = ["ID", "名称", "種別", "利用可能曜日", "開始時間", "終了時間", "電話番号"]
    row = ["F-1", "隔週のお茶会", "サロン", "隔週火曜", "10:00", "11:00", "0000-00-0001"]
    path = write_rows(tmp_path / "fortnight.csv", [header, row])

    def load_on(day: dt.date, file: Path):
        with transaction(town) as s:
            return import_resources(s, file, today=day)

    def anchors() -> list[dt.date | None]:
        return [x.anchor_date for x in by_id(town, "F-1").schedules]

    assert load_on(dt.date(2026, 12, 2), path).created == 1  # a Wednesday
    assert anchors() == [dt.date(2026, 12, 8)]
    assert by_id(town, "F-1").schedule_understood
    later = load_on(dt.date(2027, 1, 5), path)  # a Tuesday of the other week
    assert (later.created, later.updated, later.unchanged) == (0, 0, 1)
    assert anchors() == [dt.date(2026, 12, 8)]
    row[6] = "0000-00-0002"
    edited = load_on(dt.date(2027, 1, 5), write_rows(tmp_path / "phone.csv", [header, row]))
    assert (edited.created, edited.updated, edited.unchanged) == (0, 1, 0)
    assert anchors() == [dt.date(2026, 12, 8)]
    row[3] = "隔週水曜"
    moved = load_on(dt.date(2027, 1, 5), write_rows(tmp_path / "wednesday.csv", [header, row]))
    assert moved.updated == 1
    assert anchors() == [dt.date(2027, 1, 6)]


def test_an_undated_fortnight_reads_in_words_everywhere_the_directory_is_shown(
    town: Engine, tmp_path: Path
) -> None:
    # The stored rows are understood (anchored at import); the pages, maps and exports
    # re-read the text for its words and must use the stored anchor, not call it unread.
    from directory.exports import resources_geojson
    from directory.map_data import coordinator_resources
    from directory.queries import resources_by_area

    header = ["ID", "名称", "種別", "利用可能曜日", "開始時間", "終了時間", "対象地区"]
    row = ["F-2", "隔週の体操", "百歳体操", "隔週火曜", "10:00", "11:00", "全域"]
    with transaction(town) as s:
        import_resources(
            s, write_rows(tmp_path / "f.csv", [header, row]), today=dt.date(2026, 12, 2)
        )
    with transaction(town) as s:
        listed = [
            line.schedule
            for area in resources_by_area(s, public_only=False)
            for lines in area.by_category.values()
            for line in lines
            if line.external_id == "F-2"
        ]
        mapped = [r.schedule for r in coordinator_resources(s) if r.external_id == "F-2"]
        exported = [
            f["properties"]["schedule"]
            for f in resources_geojson(s, include_private=True)["features"]
            if f["properties"]["id"] == "F-2"
        ]
    words = listed + mapped + exported
    assert len(words) >= 3 and all("隔週" in w and "解釈できない" not in w for w in words), words


def test_rows_link_to_the_nearest_venue_so_a_reimport_keeps_every_link(
    town: Engine, tmp_path: Path
) -> None:
    # 本町公民館 is at 35.01, 136.01. A is 45 m north of it; B is 80 m north, too far for
    # the 公民館, so B founds a new venue, which is only 35 m from A: A links to that one,
    # the nearer, and a second import of the same file finds the same links.
    metre = 1 / 111_195
    header = ["ID", "名称", "種別", "緯度", "経度"]
    rows = [
        header,
        ["N-A", "北の体操教室", "百歳体操", f"{35.01 + 45 * metre:.6f}", "136.01"],
        ["N-B", "北のサロン", "サロン", f"{35.01 + 80 * metre:.6f}", "136.01"],
    ]
    path = write_rows(tmp_path / "north.csv", rows)
    first = load(town, path)
    assert first.created == 2
    a, b = by_id(town, "N-A"), by_id(town, "N-B")
    assert b.venue is not None and b.venue.name == "北のサロン"
    assert a.venue_id == b.venue_id
    before = table_signature(town)
    again = load(town, path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert table_signature(town) == before


def test_a_file_of_a_few_rows_compares_them_with_a_large_directory(
    town: Engine, tmp_path: Path
) -> None:
    # A file covering a small share of the directory looks its rows up by ID (the other
    # path reads the whole table): both must find unchanged and changed rows alike.
    load(town, CP932_FILE)
    rows = rows_of(CP932_FILE)
    header, k001, k002 = rows[0], rows[1], rows[2]
    unchanged = load(town, write_rows(tmp_path / "one.csv", [header, k001], "cp932"))
    assert (unchanged.created, unchanged.updated, unchanged.unchanged) == (0, 0, 1)
    k002 = list(k002)
    k002[header.index("利用料")] = "200円"
    changed = load(town, write_rows(tmp_path / "two.csv", [header, k002], "cp932"))
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 0)
    assert by_id(town, "K-002").fee == "200円" and by_id(town, "K-002").version == 2
    assert by_id(town, "K-001").version == 1


def test_open_data_headers_with_remarks_venue_and_time_columns_import(
    town: Engine, tmp_path: Path
) -> None:
    # Headers as municipal 通いの場 lists write them: a unit in brackets, the hall as 会場名,
    # one 開催時間 range, the standard set's address in parts.
    header = [
        "通いの場名称",
        "ID",
        "活動の種類",
        "会場名",
        "開催時間",
        "開催日",
        "定員（人）",
        "緯度(世界測地系)",
        "経度(世界測地系)",
        "所在地_都道府県",
        "所在地_市区町村",
        "所在地_町字",
        "所在地_番地以下",
        "実施地区",
        "謎の列",
    ]
    row = [
        "北町いきいき百歳体操",
        "X-001",
        "百歳体操",
        "北町ふれあい館",
        "10:00～11:30",
        "第1・第3火曜",
        "20",
        "35.05",
        "136.05",
        "架空県",
        "架空市",
        "北町",
        "2-3",
        "本町一区",
        "?",
    ]
    result = load(town, write_rows(tmp_path / "open_data.csv", [header, row]))
    assert result.created == 1
    assert [(w.code, w.column) for w in result.warnings] == [("unknown_column", "謎の列")]
    r = by_id(town, "X-001")
    assert (r.name, r.capacity, r.lat, r.lon) == ("北町いきいき百歳体操", 20, 35.05, 136.05)
    assert r.address == "架空県架空市北町2-3"
    assert r.venue is not None and r.venue.name == "北町ふれあい館"
    assert [(x.rrule, x.start_time, x.end_time) for x in r.schedules] == [
        ("FREQ=MONTHLY;BYDAY=1TU,3TU", dt.time(10), dt.time(11, 30))
    ]
    assert [d.name for d in r.districts] == ["本町一区"]


def test_the_same_rows_as_xlsx_import_the_same(town: Engine, tmp_path: Path) -> None:
    rows = rows_of(CP932_FILE)
    path = tmp_path / "resources.xlsx"
    path.write_bytes(write_xlsx(rows[0], rows[1:]))
    assert load(town, path).created == 8
    first = table_signature(town)
    assert load(town, CP932_FILE).unchanged == 8
    assert table_signature(town) == first


def test_title_lines_above_the_header_are_skipped_and_rows_keep_their_numbers(
    town: Engine, tmp_path: Path
) -> None:
    rows = rows_of(CP932_FILE)
    titled = [
        ["令和6年度 架空市 通いの場一覧"],
        ["（令和6年4月1日現在）", "", "架空市 福祉課"],
        [],
        *rows,
    ]
    path = write_rows(tmp_path / "titled.csv", titled, "cp932")
    result = load(town, path)
    assert result.created == 8
    assert [(w.code, w.row) for w in result.warnings][:1] == [("header_row", 4)]
    # an error names the row as the spreadsheet numbers it (the header is row 4)
    titled[5] = list(titled[5])
    titled[5][rows[0].index("緯度")] = "135.2"
    with pytest.raises(InvalidInputError) as err:
        load(town, write_rows(tmp_path / "titled_bad.csv", titled, "cp932"))
    assert [(p.code, p.row, p.column) for p in err.value.problems] == [
        ("coordinate_outside_japan", 6, "緯度")
    ]


def test_an_xlsx_table_behind_a_cover_sheet_is_found(town: Engine, tmp_path: Path) -> None:
    from openpyxl import Workbook

    rows = rows_of(CP932_FILE)
    book = Workbook()
    cover = book.active
    cover.title = "説明"
    cover.append(["この表は架空市の通いの場の一覧です"])
    cover.append(["問い合わせ", "福祉課"])
    table = book.create_sheet("一覧")
    table.append(["通いの場一覧（架空）"])
    for row in rows:
        table.append(row)
    path = tmp_path / "book.xlsx"
    book.save(path)
    result = load(town, path)
    assert result.created == 8
    assert [(w.code, w.params) for w in result.warnings][:2] == [
        ("sheet_used", {"sheet": "一覧"}),
        ("header_row", {"row": 2}),
    ]


@pytest.mark.parametrize(
    ("cell", "table", "expected"),
    [
        ("あり（要予約）", "yesno", True),
        ("有（要相談）", "yesno", True),
        ("なし 徒歩のみ", "yesno", False),
        ("活動休止", "status", "paused"),
        ("休止中（令和6年4月～）", "status", "paused"),
        ("令和5年度で終了", "status", "ended"),
        ("活動中(月1回)", "status", "active"),
        ("令和6年4月再開", "status", "active"),
        ("掲載しない", "public", False),
        ("公開する", "public", True),
    ],
)
def test_choices_are_read_as_people_write_them(cell: str, table: str, expected: object) -> None:
    from directory.resources import parse_choice

    assert parse_choice(cell, table) == expected


@pytest.mark.parametrize(
    ("cell", "table"),
    [
        ("無料", "yesno"),  # not あり/なし, though it starts with 無
        ("休止から再開", "status"),  # two states: never guessed
        ("たぶん", "status"),
        ("検討中", "public"),
    ],
)
def test_choices_that_say_two_things_or_nothing_are_errors(cell: str, table: str) -> None:
    from directory.resources import CellError, parse_choice

    with pytest.raises(CellError):
        parse_choice(cell, table)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("20", 20),
        ("20人", 20),
        ("約20名", 20),
        ("20名程度", 20),
        ("最大30人", 30),
        ("1,200", 1200),
        ("制限なし", None),
        ("なし", None),
        ("20人（会場による）", 20),
    ],
)
def test_capacities_as_written(cell: str, expected: int | None) -> None:
    from directory.resources import parse_int

    assert parse_int(cell) == expected


@pytest.mark.parametrize("cell", ["20～30人", "多数", "二十人"])
def test_capacities_that_are_not_one_number_are_errors(cell: str) -> None:
    from directory.resources import CellError, parse_int

    with pytest.raises(CellError):
        parse_int(cell)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("令和6年4月", dt.date(2024, 4, 1)),
        ("2024/4", dt.date(2024, 4, 1)),
        ("2024年10月", dt.date(2024, 10, 1)),
        ("R6.4", dt.date(2024, 4, 1)),
        ("2024-04-02", dt.date(2024, 4, 2)),
    ],
)
def test_a_verified_month_is_its_first_day(cell: str, expected: dt.date) -> None:
    from directory.resources import parse_verified

    assert parse_verified(cell) == expected


@pytest.mark.parametrize("cell", ["2024/13", "令和1年4月", "平成32年1月"])
def test_a_verified_month_that_does_not_exist_is_an_error(cell: str) -> None:
    from directory.resources import CellError, parse_verified

    with pytest.raises(CellError):
        parse_verified(cell)


def test_districts_listed_with_a_middle_dot_are_each_served(town: Engine, tmp_path: Path) -> None:
    rows = [
        ["ID", "名称", "種別", "対象地区"],
        ["D-1", "見守りの会", "見守り", "本町一区・上ノ原"],
        ["D-2", "雪かき隊", "雪かき", "本町一区・どこか"],
    ]
    with pytest.raises(InvalidInputError) as err:
        load(town, write_rows(tmp_path / "dots.csv", rows))
    assert [(p.code, p.row) for p in err.value.problems] == [("unknown_district", 3)]
    load(town, write_rows(tmp_path / "dots.csv", rows[:2]))
    assert sorted(d.name for d in by_id(town, "D-1").districts) == ["上ノ原", "本町一区"]


# ----------------------------------------------------------------------- bad files


PLANTED = [
    # (row index in the file, column header, bad value, expected message code)
    (1, "施設名", "", "required"),
    (2, "実施サービス", "ｻﾛｿ", "unknown_category_suggest"),
    (3, "緯度", "135.2", "coordinate_outside_japan"),
    (4, "開始時刻", "25:00", "not_a_time"),
    (5, "確認日", "令和1年4月1日", "bad_era_date"),
    (6, "確認日", "2024/13/45", "not_a_date"),
    (7, "活動地区", "本町三区", "unknown_district"),
    (8, "ID", "K-001", "duplicate_id"),
    (2, "活動状況", "たぶん", "bad_choice"),
]


def test_a_broken_file_is_refused_whole_with_every_bad_cell_named(
    town: Engine, tmp_path: Path
) -> None:
    rows = rows_of(CP932_FILE)
    header = rows[0]
    for index, column, value, _ in PLANTED:
        rows[index][header.index(column)] = value
    rows[3][header.index("経度")] = "35.01"  # K-003 gets swapped coordinates
    rows.append(
        [
            "ｻﾛﾝ",
            "定員の誤り",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "K-100",
            "",
            "",
            "",
        ]
    )
    header.append("定員")
    for row in rows[1:]:
        row.append("")
    rows[-1][-1] = "二十人"
    broken = write_rows(tmp_path / "broken.csv", rows, "cp932")
    before = table_signature(town)
    with pytest.raises(InvalidInputError) as info:
        load(town, broken)
    assert table_signature(town) == before
    found = {(p.row, p.column, p.code) for p in info.value.problems}
    expected = {(i + 1, col, code) for i, col, _, code in PLANTED}
    expected |= {(4, "経度", "coordinate_outside_japan"), (10, "定員", "not_integer")}
    assert found == expected
    text = info.value.describe("ja")
    assert f"{broken}:3:実施サービス: 種別「ｻﾛｿ」は分類表にありません（候補: サロン" in text
    assert f"{broken}:5:開始時刻: 「25:00」は時刻として読めません" in text
    assert f"{broken}:9:ID: ID「K-001」がファイル内で重複しています（2行目にもあります）" in text
    english = info.value.describe("en")
    assert f"{broken}:8:活動地区: the district '本町三区' is not registered" in english


def test_an_end_time_before_the_start_is_refused(town: Engine, tmp_path: Path) -> None:
    rows = rows_of(CP932_FILE)
    rows[1][5] = "9:00"
    path = write_rows(tmp_path / "times.csv", rows)
    with pytest.raises(InvalidInputError) as info:
        load(town, path)
    assert [(p.row, p.column, p.code) for p in info.value.problems] == [
        (2, "終了時刻", "end_before_start")
    ]


def test_missing_required_columns_are_named(town: Engine, tmp_path: Path) -> None:
    path = write_rows(tmp_path / "no_category.csv", [["ID", "名称"], ["X-1", "サロン"]])
    with pytest.raises(InvalidInputError) as info:
        load(town, path)
    assert [(p.row, p.column, p.code) for p in info.value.problems] == [
        (1, "種別", "missing_column")
    ]


def test_an_undecodable_file_is_refused_with_the_line(town: Engine, tmp_path: Path) -> None:
    good = "ID,名称,種別\nX-1,サロン,サロン\n".encode()
    path = tmp_path / "broken_bytes.csv"
    path.write_bytes(good + b"X-2,\xff\xfe\xfa\xfb,\x80\x81\xfd\n")
    with pytest.raises(InvalidInputError) as info:
        load(town, path)
    (problem,) = info.value.problems
    assert problem.code == "bad_encoding" and problem.params["line"] == 3
    assert "3行目" in problem.reason("ja")


def test_macro_workbooks_are_refused(town: Engine, tmp_path: Path) -> None:
    path = tmp_path / "macro.xlsm"
    shutil.copy(CP932_FILE, path)
    with pytest.raises(InvalidInputError) as info:
        load(town, path)
    assert info.value.problems[0].code == "refused_format"


# --------------------------------------------------------------------------- export


def test_export_then_reimport_changes_nothing(town: Engine, tmp_path: Path) -> None:
    load(town, CP932_FILE)
    before = table_signature(town)
    with Session(town) as s:
        header, rows = export_rows(s, include_private=True)
    assert len(rows) == 8
    for name, data in (
        ("out.csv", write_csv(header, rows)),
        ("out.xlsx", write_xlsx(header, rows)),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        result = load(town, path)
        assert (result.created, result.updated, result.unchanged) == (0, 0, 8), name
        assert table_signature(town) == before


def test_public_export_leaves_out_private_resources(town: Engine) -> None:
    load(town, CP932_FILE)
    with Session(town) as s:
        _, public_rows = export_rows(s)
        _, all_rows = export_rows(s, include_private=True)
    assert {r[0] for r in all_rows} - {r[0] for r in public_rows} == {"K-004", "K-007"}


def test_exported_cells_that_look_like_formulas_are_defused(town: Engine, tmp_path: Path) -> None:
    rows = [["ID", "名称", "種別", "説明"], ["F-1", '=HYPERLINK("x")', "サロン", "@SUM(A1)"]]
    load(town, write_rows(tmp_path / "formula.csv", rows))
    with Session(town) as s:
        header, out = export_rows(s)
    data = write_csv(header, out).decode("utf-8-sig")
    assert "'=HYPERLINK" in data and "'@SUM(A1)" in data
    path = tmp_path / "again.csv"
    path.write_bytes(write_csv(header, out))
    assert load(town, path).unchanged == 1
    assert by_id(town, "F-1").name == '=HYPERLINK("x")'


def test_two_headers_for_one_column_keep_the_section_3_name(town: Engine, tmp_path: Path) -> None:
    rows = [
        ["介護サービス事業所名称", "ID", "名称", "種別"],
        ["旧い名前", "D-1", "新しい名前", "サロン"],
    ]
    result = load(town, write_rows(tmp_path / "both.csv", rows))
    assert [(w.code, w.column) for w in result.warnings] == [
        ("duplicate_column", "介護サービス事業所名称")
    ]
    saved = by_id(town, "D-1")
    assert saved.name == "新しい名前" and saved.extra == {"介護サービス事業所名称": "旧い名前"}


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1", (True, 1)),  # one seat left: the count is kept, not read as あり
        ("0", (False, 0)),
        ("３", (True, 3)),
        ("残り2名", (True, 2)),
        ("あり", (True, None)),
        ("なし", (False, None)),
        ("あり（要予約）", (True, None)),
    ],
)
def test_vacancy_keeps_the_number_of_seats(cell: str, expected: tuple[bool, int | None]) -> None:
    from directory.resources import parse_vacancy

    assert parse_vacancy(cell) == expected


def test_one_seat_left_round_trips_through_import_and_export(town: Engine, tmp_path: Path) -> None:
    header = ["ID", "名称", "種別", "空き"]
    path = write_rows(tmp_path / "seat.csv", [header, ["S-1", "ひとつ空きのサロン", "サロン", "1"]])
    with transaction(town) as s:
        import_resources(s, path)
    resource = by_id(town, "S-1")
    assert (resource.accepts_new, resource.seats_left) == (True, 1)
    with transaction(town) as s:
        head, rows = export_rows(s, include_private=True)
    exported = next(r for r in rows if "S-1" in r)
    assert exported[head.index("空き")] == "1"
