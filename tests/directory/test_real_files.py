"""Real municipal files import without editing (DATA_FORMATS §3a, issue 11 points 1–2).

The files in ``tests/data/real/`` imitate what municipalities publish: an elderly-welfare
facility list in the open-data template's English keys (as CSV, and as the same list in
XLSX), a community care map as GeoJSON with its own property names and a column map, and
a CP932 list numbered with ``NO``. Each has a few genuinely bad rows: with
``--skip-invalid`` every other row is kept with the category a coordinator would give
it, the bad rows are named ``FILE:ROW:COLUMN: reason``, and nothing else is written.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from directory.db import make_engine, transaction
from directory.errors import InvalidInputError
from directory.geography import import_districts
from directory.models import Resource
from directory.resources import REJECTS_COLUMN, import_resources

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "tests" / "data" / "real"
DISTRICTS = ROOT / "tests" / "data" / "other_town" / "districts.geojson"
TEMPLATE_CSV = REAL / "kourei_shisetsu_en.csv"
CARE_MAP = REAL / "care_map.geojson"
CARE_MAP_COLUMNS = REAL / "care_map_columns.json"
NUMBERED_CP932 = REAL / "ikoi_cp932.csv"

# What a coordinator would call each in-scope row of the template list (by its NO).
TEMPLATE_CATEGORIES = {
    "99999-1": {"gathering"},  # 老人いこいの家, 種別 empty: from the name
    "99999-2": {"consultation"},  # 地域包括支援センター
    "99999-3": {"care_facility"},  # 介護老人福祉施設
    "99999-4": {"care_facility"},  # 通所介護・地域密着型通所介護 (a ・ list)
    "99999-5": {"care_facility"},  # 訪問介護
    "99999-6": {"day_service"},  # 通所型サービスA
    "99999-7": {"home_service"},  # 訪問型サービスB
    "99999-8": {"salon"},
    "99999-9": {"exercise"},
    "99999-10": {"gathering"},  # 老人福祉センター, 種別 empty: from the name
    "99999-11": {"medical"},  # 診療所
}
TEMPLATE_ERRORS = [
    (13, "latitude", "coordinate_outside_japan"),  # lat/lon swapped
    (13, "longitude", "coordinate_outside_japan"),
    (14, "service", "required"),  # empty 種別, and the name says nothing
    (15, "capacity", "not_integer"),  # 「たくさん」
]


@pytest.fixture
def town(engine: Engine) -> Engine:
    with transaction(engine) as s:
        import_districts(s, DISTRICTS)
    return engine


def stored(engine: Engine) -> dict[str, Resource]:
    with Session(engine) as s:
        rows = list(s.scalars(select(Resource)))
        for r in rows:
            _ = (r.categories, r.schedules)
        return {r.external_id: r for r in rows}


def codes(resource: Resource) -> set[str]:
    return {c.code for c in resource.categories}


def count(engine: Engine) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count(Resource.id))) or 0


def xlsx_of(csv_path: Path, out: Path) -> Path:
    """The same list as a workbook, the way a municipality's tool saves it."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for record in csv.reader(io.StringIO(csv_path.read_bytes().decode("utf-8-sig"))):
        sheet.append(record)
    workbook.save(out)
    return out


# ------------------------------------------------------------ the template's English keys


@pytest.mark.parametrize("as_xlsx", [False, True])
def test_the_template_list_keeps_every_good_row_and_names_the_bad_ones(
    town: Engine, tmp_path: Path, as_xlsx: bool
) -> None:
    path = xlsx_of(TEMPLATE_CSV, tmp_path / "list.xlsx") if as_xlsx else TEMPLATE_CSV
    with transaction(town) as s:
        result = import_resources(s, path, skip_invalid=True)
    assert (result.created, result.updated, result.rejected) == (11, 0, 3)
    assert [(p.row, p.column, p.code) for p in result.errors] == TEMPLATE_ERRORS
    resources = stored(town)
    assert {k: codes(r) for k, r in resources.items()} == TEMPLATE_CATEGORIES
    # the names that gave an empty 種別 its category are warnings, not silent
    named = [(w.row, w.column) for w in result.warnings if w.code == "category_from_name"]
    assert named == [(2, "service"), (11, "service")]
    # schedule words in a time column are schedule text, not refused
    salon, exercise = resources["99999-8"], resources["99999-9"]
    assert [s.rrule for s in salon.schedules] == ["FREQ=MONTHLY;BYDAY=4WE"]
    assert exercise.status == "paused"
    # the closed-days column closes those days
    ikoi, houkatsu = resources["99999-1"], resources["99999-2"]
    assert ikoi.schedule_understood and houkatsu.schedule_understood
    (rule,) = ikoi.schedules
    assert "SU" not in (rule.rrule or "") and rule.holiday_rule == "closed"
    assert rule.year_end_closed
    assert houkatsu.schedules[0].holiday_rule == "closed"
    assert houkatsu.url == "https://example.jp/houkatsu" and houkatsu.phone == "0000-11-0002"


def test_without_skip_invalid_the_list_stays_all_or_nothing(town: Engine) -> None:
    with pytest.raises(InvalidInputError) as info, transaction(town) as s:
        import_resources(s, TEMPLATE_CSV)
    assert [(p.row, p.column, p.code) for p in info.value.problems] == TEMPLATE_ERRORS
    assert count(town) == 0


def test_the_cli_reports_file_row_column_and_writes_a_rejects_file_that_imports_again(
    cli, tmp_path: Path
) -> None:
    assert cli("db", "upgrade").exit_code == 0
    assert cli("import", "districts", DISTRICTS).exit_code == 0
    refused = cli("import", "resources", TEMPLATE_CSV)
    assert refused.exit_code == 1 and "新規" not in refused.stderr

    rejects = tmp_path / "rejects.csv"
    result = cli(
        "import", "resources", TEMPLATE_CSV, "--skip-invalid", "--rejects", rejects, "--json"
    )
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert (payload["created"], payload["rejected"]) == (11, 3)
    assert [(e["row"], e["column"]) for e in payload["errors"]] == [
        (row, column) for row, column, _ in TEMPLATE_ERRORS
    ]
    assert f"{TEMPLATE_CSV}:13:latitude: " in result.stderr
    assert f"{TEMPLATE_CSV}:15:capacity: 「たくさん」は整数ではありません" in result.stderr

    raw = rejects.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel opens it as is
    records = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header, rows = records[0], records[1:]
    assert header[-1] == REJECTS_COLUMN and header[:-1][:5] == [
        "localGovernmentCode",
        "NO",
        "prefectureName",
        "cityName",
        "name",
    ]
    assert [r[1] for r in rows] == ["12", "13", "14"]  # the original cells
    assert "latitude" in rows[0][-1] and "capacity" in rows[2][-1]

    # fix the cells the way a coordinator would, and import the file again
    at = {name: i for i, name in enumerate(header)}
    rows[0][at["latitude"]], rows[0][at["longitude"]] = "35.0300", "136.0300"
    rows[1][at["service"]] = "老人クラブ"
    rows[2][at["capacity"]] = "10"
    fixed = tmp_path / "fixed.csv"
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    fixed.write_bytes(buffer.getvalue().encode("utf-8-sig"))
    again = cli("import", "resources", fixed, "--json")
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["created"] == 3
    assert "エラー内容" not in again.stderr  # the added column is not data


# ------------------------------------------------------------------------------ GeoJSON


def test_a_geojson_care_map_imports_with_a_column_map(cli, db_url: str) -> None:
    assert cli("db", "upgrade").exit_code == 0
    result = cli(
        "import",
        "resources",
        CARE_MAP,
        "--columns",
        CARE_MAP_COLUMNS,
        "--skip-invalid",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert (payload["created"], payload["rejected"]) == (5, 2)
    # features are named, not rows; columns by the file's own names
    assert [(e["feature"], e["column"], e["code"]) for e in payload["errors"]] == [
        ("#5 (ふれあいタクシー)", "区分", "unknown_category_suggest"),
        ("#6 (上ノ原公園)", "緯度", "not_number"),
        ("#6 (上ノ原公園)", "経度", "coordinate_pair"),
    ]
    assert all(e["row"] is None for e in payload["errors"])
    # the column the map leaves out is reported
    unknown = [w for w in payload["warnings"] if w["code"] == "unknown_column"]
    assert [w["column"] for w in unknown] == ["担当課"]
    assert f"{CARE_MAP}:#5 (ふれあいタクシー):区分: " in result.stderr

    engine = make_engine(db_url)
    try:
        resources = stored(engine)
    finally:
        engine.dispose()
    assert {k: codes(r) for k, r in resources.items()} == {
        "1": {"salon"},
        "2": {"consultation"},  # 種別 empty: from 「…地域包括支援センター」
        "3": {"medical"},
        "4": {"tea"},
        "7": {"exercise"},
    }
    salon = resources["1"]
    assert (salon.lat, salon.lon) == (35.0102, 136.0104)  # from the geometry
    assert salon.phone == "0000-22-0001" and salon.address == "架空市本町1-2"


def test_a_column_map_naming_an_unknown_column_is_refused(cli, tmp_path: Path) -> None:
    assert cli("db", "upgrade").exit_code == 0
    bad = tmp_path / "map.json"
    bad.write_text(json.dumps({"施設名": "名前のようなもの"}, ensure_ascii=False), "utf-8")
    result = cli("import", "resources", CARE_MAP, "--columns", bad)
    assert result.exit_code == 1
    assert "名前のようなもの" in result.stderr


# ----------------------------------------------------- numbered lists, prefixes, replace


def test_a_cp932_list_numbered_with_no_gets_its_numbers_as_ids(town: Engine) -> None:
    with transaction(town) as s:
        result = import_resources(s, NUMBERED_CP932, skip_invalid=True)
    assert [(p.row, p.column, p.code) for p in result.errors] == [(5, "開始時間", "not_a_time")]
    resources = stored(town)
    assert {k: codes(r) for k, r in resources.items()} == {
        "1": {"gathering"},
        "2": {"gathering"},
        "3": {"gathering"},
    }
    assert resources["1"].notes == "髙橋さん宅の隣"
    (rule,) = resources["1"].schedules  # 月～土, 休館日 月曜日、年末年始
    assert rule.rrule == "FREQ=WEEKLY;BYDAY=TU,WE,TH,FR,SA" and rule.year_end_closed


def test_two_lists_numbered_from_1_never_overwrite_each_other(town: Engine) -> None:
    with transaction(town) as s:
        import_resources(
            s, CARE_MAP, columns=json.loads(CARE_MAP_COLUMNS.read_text("utf-8")), skip_invalid=True
        )
    before = {k: r.name for k, r in stored(town).items()}
    with transaction(town) as s:  # ids 1–4 again, other names, 500–800 m away: refused
        result = import_resources(s, NUMBERED_CP932, skip_invalid=True)
    assert (result.created, result.updated, result.rejected) == (0, 0, 4)
    assert [(p.row, p.column, p.code) for p in result.errors if p.code != "not_a_time"] == [
        (row, "NO", "replaces_far") for row in (2, 3, 4, 5)
    ]
    assert {k: r.name for k, r in stored(town).items()} == before
    with pytest.raises(InvalidInputError), transaction(town) as s:  # all or nothing: refused
        import_resources(s, NUMBERED_CP932)

    with transaction(town) as s:
        result = import_resources(s, NUMBERED_CP932, skip_invalid=True, id_prefix="ikoi")
    assert (result.created, result.updated) == (3, 0)
    after = stored(town)
    assert {k: r.name for k, r in after.items() if k in before} == before
    assert after["ikoi-1"].name == "本町老人いこいの家"

    with transaction(town) as s:  # on purpose
        result = import_resources(s, NUMBERED_CP932, skip_invalid=True, replace=True)
    assert result.updated == 3
    assert stored(town)["1"].name == "本町老人いこいの家"


def test_a_renamed_resource_at_the_same_place_is_updated_without_replace(
    town: Engine, tmp_path: Path
) -> None:
    with transaction(town) as s:
        import_resources(s, TEMPLATE_CSV, skip_invalid=True)
    text = TEMPLATE_CSV.read_bytes().decode("utf-8-sig")
    renamed = tmp_path / "renamed.csv"
    renamed.write_bytes(
        text.replace("ヘルパーステーションひかり", "訪問介護事業所こもれび").encode()
    )
    with transaction(town) as s:
        result = import_resources(s, renamed, skip_invalid=True)
    assert result.updated == 1 and not [e for e in result.errors if e.code.startswith("replaces")]


# ------------------------------------------------------------------ repeated warnings


def test_a_warning_on_3000_rows_is_one_line_on_stderr_and_every_row_in_json(
    cli, tmp_path: Path
) -> None:
    assert cli("db", "upgrade").exit_code == 0
    path = tmp_path / "many.csv"
    lines = ["ID,名称,種別,利用可能日時特記事項"]
    lines += [f"S-{i},サロン{i},サロン,不定期" for i in range(3000)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("import", "resources", path, "--json")
    assert result.exit_code == 0, result.stderr[:500]
    payload = json.loads(result.stdout)
    assert sum(w["code"] == "schedule_not_understood" for w in payload["warnings"]) == 3000
    warned = [line for line in result.stderr.splitlines() if "不定期" in line]
    assert len(warned) == 1
    assert "3,000" in warned[0] and "2, 3, 4, 5, 6" in warned[0]


def test_a_refused_file_summarises_its_repeated_warnings_too(cli, tmp_path: Path) -> None:
    assert cli("db", "upgrade").exit_code == 0
    path = tmp_path / "many_bad.csv"
    lines = ["ID,名称,種別,利用可能日時特記事項"]
    lines += [f"S-{i},サロン{i},サロン,不定期" for i in range(3000)]
    lines += ["S-bad,壊れた行,存在しない種別,"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("import", "resources", path)
    assert result.exit_code == 1
    assert len([line for line in result.stderr.splitlines() if "不定期" in line]) == 1
    assert f"{path}:3002:種別: " in result.stderr
