"""Hostile and damaged input files get a message, never a crash (issue 11 point 6).

Each reader (resources CSV/XLSX, GeoJSON districts/venues, needs JSON) refuses before
parsing what would exhaust memory or the stack, and every importer, fed random bytes or
random JSON, raises only our error types. Big files are built in ``tmp_path``.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from directory import tables
from directory.db import make_engine, make_sessionmaker
from directory.errors import DirectoryError, InvalidInputError
from directory.geography import import_districts, import_venues, read_feature_collection
from directory.resources import import_resources, read_column_map
from directory.schema import upgrade
from directory.tables import read_table, unsafe_url
from matching.needs import import_needs, read_needs_file

TOWN = Path(__file__).resolve().parents[1] / "data" / "other_town"
HOSTILE = Path(__file__).resolve().parents[1] / "data" / "hostile"


def refusal(call: Callable[[], Any]) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as info:
        call()
    return info.value


def codes(exc: InvalidInputError) -> list[str]:
    return [p.code for p in exc.problems]


def workbook(path: Path, cells: dict[str, Any], sheet: str = "一覧") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    for ref, value in cells.items():
        ws[ref] = value
    wb.save(path)
    return path


def rezip(
    src: Path, dst: Path, parts: dict[str, bytes], rename: dict[str, str] | None = None
) -> Path:
    """A copy of the workbook ``src`` with ``parts`` replaced or added (and some renamed)."""
    rename = rename or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename not in parts:
                zout.writestr(rename.get(info.filename, info.filename), zin.read(info))
        for part, data in parts.items():
            zout.writestr(part, data)
    return dst


# ------------------------------------------------------------------------------ XLSX


def test_one_cell_at_xfd1048576_is_refused_before_reading(tmp_path: Path) -> None:
    # 4.8 KB on disk; read as a rectangle from A1 it is 17 billion cells (the process aborted)
    path = workbook(tmp_path / "far.xlsx", {"A1": "名称", "A2": "サロン", "XFD1048576": "x"})
    exc = refusal(lambda: read_table(path))
    assert codes(exc) == ["xlsx_used_range"]
    assert exc.problems[0].params["ref"] == "XFD1048576"
    ja = exc.describe("ja")
    assert ja.startswith(f"{path}: シート '一覧' の使用範囲が XFD1048576 まで広がっています")
    assert "不要なセル" in ja and "保存し直してください" in ja
    assert "delete the unneeded cells" in exc.describe("en")


def test_a_far_cell_without_a_dimension_is_still_found(tmp_path: Path) -> None:
    """The <dimension> element may be missing: every cell reference is scanned."""
    src = workbook(tmp_path / "src.xlsx", {"A1": "名称", "A1048576": "x", "XFD1": "y"})
    with zipfile.ZipFile(src) as z:
        sheet = re.sub(rb"<dimension[^>]*>", b"", z.read("xl/worksheets/sheet1.xml"))
    assert b"dimension" not in sheet
    path = rezip(src, tmp_path / "nodim.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    exc = refusal(lambda: read_table(path))
    assert codes(exc) == ["xlsx_used_range"]
    assert exc.problems[0].params["ref"] == "XFD1048576"


def test_a_table_within_the_limit_still_reads(tmp_path: Path) -> None:
    path = workbook(tmp_path / "ok.xlsx", {"A1": "名称", "B1": "種別", "A2": "サロン", "Z300": "x"})
    table = read_table(path)
    assert table.header[:2] == ["名称", "種別"]
    assert table.rows[0] == (2, ["サロン"] + [""] * 25)


def test_a_sheet_that_unpacks_far_past_the_limit_is_refused(tmp_path: Path) -> None:
    """A zip bomb: 40 MB of sheet XML in a few KB; refused from the zip's directory."""
    src = workbook(tmp_path / "src.xlsx", {"A1": "名称"})
    bomb = b"<worksheet>" + b" " * (40 * 2**20) + b"</worksheet>"
    path = rezip(src, tmp_path / "bomb.xlsx", {"xl/worksheets/sheet2.xml": bomb})
    assert path.stat().st_size < 200_000
    exc = refusal(lambda: read_table(path))
    assert codes(exc) == ["xlsx_part_too_large"]
    assert "xl/worksheets/sheet2.xml" in exc.describe("ja")
    assert "zip 爆弾" in exc.describe("ja")


def test_a_part_over_the_size_limit_is_refused_whatever_its_ratio(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tables, "MAX_XLSX_PART_BYTES", 2**20)
    src = workbook(tmp_path / "src.xlsx", {"A1": "名称"})
    path = rezip(src, tmp_path / "big.xlsx", {"xl/sharedStrings2.xml": bytes(range(256)) * 8192})
    assert codes(refusal(lambda: read_table(path))) == ["xlsx_part_too_large"]


@pytest.mark.parametrize(
    "part",
    ["xl/vbaProject.bin", "xl/VBAPROJECT.BIN", "XL/VbaProject.Bin", "xl/vbaProjectSignature.bin"],
)
def test_macros_are_found_whatever_the_case_of_the_part(tmp_path: Path, part: str) -> None:
    src = workbook(tmp_path / "src.xlsx", {"A1": "名称"})
    path = rezip(src, tmp_path / "macro.xlsx", {part: b"\x00" * 64})
    exc = refusal(lambda: read_table(path))
    assert codes(exc) == ["macro_workbook"]
    assert "マクロ" in exc.describe("ja") and part in exc.describe("ja")


@pytest.mark.parametrize(
    "content_type",
    [
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
        b"application/vnd.ms-excel.template.MACROENABLED.main+xml",  # .xltm, any case
    ],
)
def test_a_macro_enabled_content_type_is_refused(tmp_path: Path, content_type: bytes) -> None:
    src = workbook(tmp_path / "src.xlsx", {"A1": "名称"})
    with zipfile.ZipFile(src) as z:
        types = z.read("[Content_Types].xml")
    main = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    assert main in types
    path = rezip(
        src, tmp_path / "m.xlsx", {"[Content_Types].xml": types.replace(main, content_type)}
    )
    assert codes(refusal(lambda: read_table(path))) == ["macro_workbook"]


@pytest.mark.parametrize("suffix", [".xlsm", ".XLSM", ".xltm", ".xlsb"])
def test_macro_suffixes_are_refused(tmp_path: Path, suffix: str) -> None:
    path = workbook(tmp_path / f"list{suffix}", {"A1": "名称"})
    assert codes(refusal(lambda: read_table(path))) == ["refused_format"]


# ------------------------------------------------------------------------------ size


def test_a_file_over_the_size_limit_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TSUNAGU_MAX_INPUT_MB", "0.01")  # 10 KB
    csv_path = tmp_path / "big.csv"
    csv_path.write_text("名称,種別\n" + "サロン,サロン\n" * 2000, encoding="utf-8")
    geo = tmp_path / "big.geojson"
    geo.write_text(json.dumps({"type": "FeatureCollection", "features": [{}] * 5000}))
    needs = tmp_path / "needs.json"
    needs.write_text(json.dumps([{}] * 5000))
    noise = random.Random(0)
    xlsx = workbook(
        tmp_path / "big.xlsx", {f"A{i}": noise.randbytes(32).hex() for i in range(1, 600)}
    )
    assert xlsx.stat().st_size > 10 * 1024
    for call in (
        lambda: read_table(csv_path),
        lambda: read_table(xlsx),
        lambda: read_feature_collection(geo),
        lambda: read_needs_file(needs),
    ):
        exc = refusal(call)
        assert codes(exc) == ["file_too_large"]
        assert "上限の 0.0 MB を超えています" in exc.describe("ja")
    monkeypatch.setenv("TSUNAGU_MAX_INPUT_MB", "200")
    assert len(read_table(csv_path).rows) == 2000


# ------------------------------------------------------------------------------ JSON


def test_deeply_nested_json_is_a_message(tmp_path: Path) -> None:
    for depth in (100_000, 500):  # past the parser's stack; past our limit only
        deep = "[" * depth + "]" * depth
        geo = tmp_path / "deep.geojson"
        geo.write_text('{"type": "FeatureCollection", "features": ' + deep + "}")
        needs = tmp_path / "deep.json"
        needs.write_text(deep)
        for reader, path in ((read_feature_collection, geo), (read_needs_file, needs)):
            exc = refusal(lambda: reader(path))  # noqa: B023 (called at once)
            assert codes(exc) == ["json_too_deep"]
            assert "入れ子" in exc.describe("ja")


def test_multipolygons_are_not_too_deep() -> None:
    features = read_feature_collection(TOWN / "districts.geojson")
    assert features


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "9" * 500])
def test_nan_and_infinite_coordinates_are_a_message_naming_the_line(
    tmp_path: Path, number: str
) -> None:
    geo = tmp_path / "venues.geojson"
    geo.write_text(
        '{"type": "FeatureCollection", "features": [\n'
        '{"type": "Feature", "properties": {"name": "NaN 会館"},\n'
        f' "geometry": {{"type": "Point", "coordinates": [{number}, 35.0]}}}}\n'
        "]}\n"
    )
    exc = refusal(lambda: read_feature_collection(geo))
    assert codes(exc) == ["json_bad_number"]
    assert exc.problems[0].params["line"] == 3
    assert exc.describe("ja") == (
        f"{geo}: 3 行目に JSON で使えない数値（NaN・Infinity・大きすぎる数）があります。"
        "通常の数値を書くか、値を削除してください"
    )
    needs = tmp_path / "needs.json"
    needs.write_text(f'[\n{{"id": "N-1", "text": "NaN", "lat": {number}, "lon": 136.0}}\n]')
    exc = refusal(lambda: read_needs_file(needs))
    assert exc.problems[0].params == {"line": 2}


# ------------------------------------------------------------------------- encodings


def test_one_shift_jis_line_in_a_utf8_file_is_named(tmp_path: Path) -> None:
    lines = [
        "ID,名称,種別",
        "A-1,本町サロン,サロン",
        "A-2,上ノ原ミニデイ,ミニデイ",
        "A-3,旭町配食,配食",
    ]
    raw = b"\n".join(
        line.encode("cp932" if n == 3 else "utf-8") for n, line in enumerate(lines, start=1)
    )
    path = tmp_path / "mixed.csv"
    path.write_bytes(raw)
    exc = refusal(lambda: read_table(path))
    assert codes(exc) == ["mixed_encoding"]
    assert exc.describe("ja") == (
        f"{path}: 3 行目だけが Shift_JIS で、ほかの行は UTF-8 です。"
        "ファイル全体を一つの文字コード（UTF-8）で保存し直してください"
    )
    # the reverse: a Shift_JIS file with one UTF-8 line (it would read as mojibake)
    raw = b"\n".join(
        line.encode("utf-8" if n == 4 else "cp932") for n, line in enumerate(lines, start=1)
    )
    path.write_bytes(raw)
    exc = refusal(lambda: read_table(path))
    assert exc.problems[0].params == {"line": 4, "found": "UTF-8", "rest": "Shift_JIS"}


def test_a_mixed_geojson_names_the_line(tmp_path: Path) -> None:
    text = (TOWN / "venues.geojson").read_text(encoding="utf-8")
    lines = text.split("\n")
    odd = next(i for i, line in enumerate(lines) if not line.isascii() and i > 2)
    raw = b"\n".join(
        line.encode("cp932") if i == odd else line.encode("utf-8") for i, line in enumerate(lines)
    )
    path = tmp_path / "mixed.geojson"
    path.write_bytes(raw)
    exc = refusal(lambda: read_feature_collection(path))
    assert exc.problems[0].params["line"] == odd + 1


def test_whole_files_in_one_encoding_still_read(tmp_path: Path) -> None:
    assert len(read_table(TOWN / "resources_cp932.csv").rows) == 8
    utf8 = tmp_path / "utf8.csv"
    utf8.write_text(
        (TOWN / "resources_cp932.csv").read_bytes().decode("cp932"), encoding="utf-8-sig"
    )
    assert len(read_table(utf8).rows) == 8


# ------------------------------------------------------------------------------ URLs


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "  javascript:alert(1)",
        "\tjava\nscript:alert(1)",
        "&#106;avascript:alert(1)",
        "&#x6A;&#x61;vascript:alert(1)",
        "&amp;#106;avascript:alert(1)",
        "ｊａｖａｓｃｒｉｐｔ：alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        " DATA:text/html,<script>",
        "vbscript:msgbox",
    ],
)
def test_script_and_data_urls_are_unsafe(url: str) -> None:
    assert unsafe_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.city.example.lg.jp/",
        "http://example.jp/javascript:",
        "www.example.jp",
        "example.jp/data:",
    ],
)
def test_ordinary_urls_are_safe(url: str) -> None:
    assert not unsafe_url(url)


# ------------------------------------------------------------------------------ CLI


@pytest.fixture
def town_cli(cli: Any) -> Any:
    assert cli("db", "upgrade").exit_code == 0
    assert cli("import", "districts", TOWN / "districts.geojson").exit_code == 0
    return cli


def _resource_count(cli: Any) -> int:
    exported = cli("export", "resources", "--format", "csv", "--all")
    assert exported.exit_code == 0
    return exported.stdout_bytes.decode("utf-8-sig").count("\n") - 1


def test_every_hostile_file_exits_1_with_a_message_and_writes_nothing(
    town_cli: Any, tmp_path: Path
) -> None:
    far = workbook(tmp_path / "far.xlsx", {"A1": "名称", "XFD1048576": "x"})
    macro = rezip(far, tmp_path / "macro.xlsx", {"xl/VBAPROJECT.BIN": b"x"})
    deep = tmp_path / "deep.geojson"
    deep.write_text(
        '{"type": "FeatureCollection", "features": ' + "[" * 100_000 + "]" * 100_000 + "}"
    )
    nan = tmp_path / "nan.geojson"
    nan.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
        '{"name": "会館"}, "geometry": {"type": "Point", "coordinates": [NaN, NaN]}}]}'
    )
    needs = tmp_path / "needs.json"
    needs.write_text("[" * 100_000 + "]" * 100_000)
    links = tmp_path / "links.csv"
    links.write_text(
        "ID,名称,種別,活動地区,URL\n"
        "L-1,本町サロン,サロン,本町一区,https://example.jp/\n"
        "L-2,旭町サロン,サロン,本町一区, JavaScript:alert(1)\n"
        "L-3,上ノ原サロン,サロン,本町一区,&#100;ata:text/html,x\n",
        encoding="utf-8",
    )
    cases = [
        ("resources", far, "XFD1048576 まで広がっています", "reaches XFD1048576"),
        ("resources", macro, "マクロ", "macros"),
        ("venues", deep, "入れ子", "nested"),
        ("venues", nan, "NaN", "NaN"),
        ("needs", needs, "入れ子", "nested"),
        ("resources", links, "javascript: や data:", "javascript: and data:"),
    ]
    for command, path, japanese, english in cases:
        for lang, expected in (("ja", japanese), ("en", english)):
            result = town_cli("import", command, path, "--lang", lang)
            assert result.exit_code == 1, (path, result.stderr)
            assert expected in result.stderr, result.stderr
            assert str(path) in result.stderr
            assert "Traceback" not in result.stderr + result.stdout
    unsafe = town_cli("import", "resources", links, "--json")
    errors = json.loads(unsafe.stdout)["errors"]
    assert [(e["row"], e["column"], e["code"]) for e in errors] == [
        (3, "URL", "unsafe_url"),
        (4, "URL", "unsafe_url"),
    ]
    assert _resource_count(town_cli) == 0
    assert town_cli("import", "venues", TOWN / "venues.geojson", "--dry-run").exit_code == 0


def test_error_output_is_capped_with_a_count(town_cli: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "ID,名称,種別\n" + "".join(f"B-{n},,サロン\n" for n in range(1, 1301)), encoding="utf-8"
    )
    result = town_cli("import", "resources", bad)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert sum(1 for line in lines if line.startswith(f"{bad}:") and ":名称:" in line) == 200
    assert lines[200] == "ほか 1,100 件"
    assert "1300" in lines[-1] or "1,300" in lines[-1]
    english = town_cli("import", "resources", bad, "--lang", "en", "--json")
    payload = json.loads(english.stdout)
    assert payload["error_count"] == 1300
    assert len(payload["errors"]) == 1000
    assert payload["errors"][0]["row"] == 2
    assert "… and 1,100 more" in english.stderr


# ------------------------------------------------------------------- random input


OURS = (InvalidInputError, DirectoryError)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=40,
)
features = st.fixed_dictionaries(
    {"type": st.just("Feature")},
    optional={
        "properties": st.dictionaries(
            st.sampled_from(["code", "name", "level", "parent", "住所", "名称"]), json_values
        ),
        "geometry": st.fixed_dictionaries(
            {"type": st.sampled_from(["Point", "Polygon", "MultiPolygon", "LineString", 3])},
            optional={"coordinates": json_values},
        ),
        "id": json_values,
    },
)
collections = st.fixed_dictionaries(
    {
        "type": st.just("FeatureCollection"),
        "features": st.lists(features | json_values, max_size=4),
    },
    optional={"crs": json_values},
)
needs_lists = st.lists(
    st.dictionaries(
        st.sampled_from(
            [
                "id",
                "resident",
                "district",
                "lat",
                "lon",
                "categories",
                "text",
                "days",
                "time",
                "age",
            ]
        ),
        json_values,
    )
    | json_values,
    max_size=4,
)


@pytest.fixture(scope="module")
def hyp_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    """One database for every example (hypothesis reruns a test in one function scope)."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('hyp') / 'hyp.sqlite'}")
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        import_districts(session, TOWN / "districts.geojson")
        session.commit()
        yield session
    engine.dispose()


def _only_our_errors(
    session: Session, importer: Callable[[Session, Path], Any], path: Path
) -> None:
    try:
        importer(session, path)
    except OURS:
        pass
    finally:
        session.rollback()


HYP = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@HYP
@given(raw=st.binary(max_size=400))
def test_random_bytes_give_only_our_errors(
    hyp_session: Session, tmp_path: Path, raw: bytes
) -> None:
    for suffix, importer in (
        (".csv", import_resources),
        (".xlsx", import_resources),
        (".geojson", import_venues),
        (".geojson", import_districts),
        (".geojson", import_resources),  # a resource list as GeoJSON (§3a)
        (".json", import_needs),
    ):
        path = tmp_path / f"random{suffix}"
        path.write_bytes(raw)
        _only_our_errors(hyp_session, importer, path)
    with contextlib.suppress(InvalidInputError):  # --columns MAP.json
        read_column_map(path)


@HYP
@given(
    parts=st.dictionaries(
        st.sampled_from(
            [
                "[Content_Types].xml",
                "xl/workbook.xml",
                "xl/_rels/workbook.xml.rels",
                "xl/worksheets/sheet1.xml",
                "xl/sharedStrings.xml",
                "_rels/.rels",
            ]
        ),
        st.binary(max_size=200)
        | st.sampled_from(
            [b'<worksheet><sheetData><row r="1"><c r="A1"/></row></sheetData></worksheet>', b""]
        ),
    )
)
def test_random_workbook_parts_give_only_our_errors(
    tmp_path: Path, parts: dict[str, bytes]
) -> None:
    src = HOSTILE / "one_cell.xlsx"
    path = tmp_path / "random.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, parts.get(info.filename, zin.read(info)))
    with contextlib.suppress(InvalidInputError):  # what damaged parts do to the parser
        read_table(path)


@HYP
@given(doc=collections | json_values)
def test_random_geojson_gives_only_our_errors(
    hyp_session: Session, tmp_path: Path, doc: Any
) -> None:
    path = tmp_path / "random.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    _only_our_errors(hyp_session, import_venues, path)
    _only_our_errors(hyp_session, import_districts, path)
    _only_our_errors(hyp_session, import_resources, path)


@HYP
@given(doc=needs_lists)
def test_random_needs_give_only_our_errors(hyp_session: Session, tmp_path: Path, doc: Any) -> None:
    path = tmp_path / "random.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    _only_our_errors(hyp_session, import_needs, path)


def test_a_far_cell_in_single_quotes_after_a_tab_is_found(tmp_path: Path) -> None:
    """XML allows r='…' and any whitespace; the scan must not be dodged by spelling."""
    src = workbook(tmp_path / "src.xlsx", {"A1": "名称"})
    with zipfile.ZipFile(src) as z:
        sheet = re.sub(rb"<dimension[^>]*>", b"", z.read("xl/worksheets/sheet1.xml"))
    sheet = sheet.replace(
        b"</sheetData>",
        b"<row r='1048576'><c\tr = 'XFD1048576' t='inlineStr'><is><t>x</t></is></c></row>"
        b"</sheetData>",
    )
    path = rezip(src, tmp_path / "quoted.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    exc = refusal(lambda: read_table(path))
    assert exc.problems[0].params["ref"] == "XFD1048576"
