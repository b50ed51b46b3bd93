"""Exports at national scale and from the command line (issue 11, point 5).

The streaming forms (``iter_resources_*``, what ``tsunagu export resources`` writes) give
exactly the documents the in-memory forms give, whatever the batch size; HSDS carries the
phone types, addresses, accessibility (バリアフリー情報) and cost options a file holds and
nothing else of its extra columns; the public CSV leaves out 終了 resources; iCalendar per
resource and per district comes from the CLI.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar
from sqlalchemy import Engine

from directory import exports
from directory.db import make_engine, make_sessionmaker, transaction
from directory.exports import ical
from directory.geography import import_districts, import_venues
from directory.resources import import_resources

DATA = Path(__file__).resolve().parents[1] / "data"
TOWN = DATA / "other_town"
START = dt.date(2026, 11, 1)

HEADER = [
    "ID",
    "名称",
    "種別",
    "住所",
    "緯度",
    "経度",
    "電話番号",
    "費用",
    "状態",
    "公開",
    "バリアフリー情報",
    "FAX番号",
    "郵便番号",
    "メールアドレス",
    "利用可能日時特記事項",
]
ROWS = [
    [
        "A-1",
        "段差なしサロン",
        "サロン",
        "宮城県加美町字町裏320",
        "35.011",
        "136.011",
        "0229-00-1111",
        "100円",
        "活動中",
        "可",
        "車いす可・スロープあり",
        "0229-00-2222",
        "981-4200",
        "private-mail@example.invalid",
        "毎週火曜 10:00～12:00",
    ],
    [
        "A-2",
        "終わった体操",
        "体操教室",
        "架空市本町1-1",
        "35.012",
        "136.012",
        "",
        "",
        "終了",
        "可",
        "",
        "",
        "",
        "",
        "毎週水曜 10:00～11:00",
    ],
]


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


@pytest.fixture
def demo(demo_town: Engine) -> Engine:
    return demo_town


@pytest.fixture
def accessible(engine: Engine, tmp_path: Path) -> Engine:
    path = tmp_path / "accessible.csv"
    path.write_bytes(_csv([HEADER, *ROWS]))
    with transaction(engine) as s:
        import_districts(s, TOWN / "districts.geojson")
        import_venues(s, TOWN / "venues.geojson")
        import_resources(s, TOWN / "resources_cp932.csv")
        import_resources(s, path)
    return engine


def _join(chunks: Any) -> bytes:
    parts = list(chunks)
    assert len(parts) > 2  # written piece by piece, not as one document
    return b"".join(parts)


@pytest.mark.parametrize("batch_size", [7, 1000])
def test_streamed_exports_equal_the_in_memory_ones_demo(demo: Engine, batch_size: int) -> None:
    seen: list[tuple[int, int]] = []
    with make_sessionmaker(demo)() as s:
        published = exports.published_resources(s)
        hsds = exports.resources_hsds(s, start=START)
        streamed = _join(
            exports.iter_resources_hsds(
                s, start=START, batch_size=batch_size, progress=lambda *a: seen.append(a)
            )
        )
        assert json.loads(streamed) == hsds
        geojson = exports.resources_geojson(s)
        assert (
            json.loads(_join(exports.iter_resources_geojson(s, batch_size=batch_size))) == geojson
        )
        end = exports.default_window(START)[1]
        in_memory = ical._calendar("地域資源", "resources", published, START, end)
        ics = _join(exports.iter_resources_ics(s, start=START, batch_size=batch_size))
        assert ics == in_memory == exports.resources_ics(s, start=START)
        everything = exports.resources_hsds(s, include_private=True, start=START)
        assert (
            json.loads(
                _join(
                    exports.iter_resources_hsds(
                        s, include_private=True, start=START, batch_size=batch_size
                    )
                )
            )
            == everything
        )
    assert len(hsds["contents"]) == len(published) >= 90
    assert len(everything["contents"]) > len(published)
    # progress after every batch, ending at the total
    assert seen[-1] == (len(published), len(published))
    assert len(seen) == -(-len(published) // batch_size)
    Calendar.from_ical(ics)


def test_each_district_polygon_is_written_once(demo: Engine) -> None:
    with make_sessionmaker(demo)() as s:
        text = _join(exports.iter_resources_hsds(s, start=START, batch_size=10)).decode()
    page = json.loads(text)
    areas = [a for service in page["contents"] for a in service.get("service_areas", [])]
    with_extent = [a for a in areas if "extent" in a]
    assert len(areas) > 2 * len(with_extent) > 0  # many references, few polygons
    assert len({a["id"] for a in with_extent}) == len(with_extent)
    assert {a["id"] for a in areas} == {a["id"] for a in with_extent}  # each one somewhere
    for extent in {a["extent"] for a in with_extent}:
        assert text.count(json.dumps(extent, ensure_ascii=False)) == 1


def test_hsds_carries_phones_address_accessibility_and_cost(accessible: Engine) -> None:
    with make_sessionmaker(accessible)() as s:
        page = exports.resources_hsds(s, start=START)
    text = json.dumps(page, ensure_ascii=False)
    service = next(x for x in page["contents"] if x["id"] == exports.stable_id("service", "A-1"))
    assert {(p["type"], p["number"]) for p in service["phones"]} == {
        ("voice", "0229-00-1111"),
        ("fax", "0229-00-2222"),
    }
    assert service["cost_options"] == [
        {
            "id": exports.stable_id("cost_option", "A-1"),
            "service_id": service["id"],
            "option": "100円",
            "currency": "JPY",
            "amount": 100,
            "amount_description": "100円",
        }
    ]
    location = service["service_at_locations"][0]["location"]
    assert [a["description"] for a in location["accessibility"]] == ["車いす可・スロープあり"]
    (address,) = location["addresses"]
    assert (
        address["address_1"],
        address["state_province"],
        address["city"],
        address["postal_code"],
        address["country"],
        address["address_type"],
    ) == ("宮城県加美町字町裏320", "宮城県", "加美町", "981-4200", "JP", "physical")
    # a resource without those columns has none of them, and no other extra column leaks
    plain = next(x for x in page["contents"] if x["id"] == exports.stable_id("service", "K-001"))
    assert all(p["type"] == "voice" for p in plain["phones"])
    assert "private-mail@example.invalid" not in text
    assert exports.stable_id("service", "A-2") not in text  # 終了


# ------------------------------------------------------------------------------- CLI


@pytest.fixture
def town_cli(cli: Any, db_url: str, tmp_path: Path) -> Any:
    path = tmp_path / "accessible.csv"
    path.write_bytes(_csv([HEADER, *ROWS]))
    assert cli("db", "upgrade").exit_code == 0
    assert cli("import", "districts", TOWN / "districts.geojson").exit_code == 0
    assert cli("import", "venues", TOWN / "venues.geojson").exit_code == 0
    assert cli("import", "resources", TOWN / "resources_cp932.csv").exit_code == 0
    assert cli("import", "resources", path).exit_code == 0
    return cli


def _engine(db_url: str) -> Engine:
    return make_engine(db_url)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_public_csv_and_xlsx_leave_out_ended_resources(
    town_cli: Any, fmt: str, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    def ids(*extra: str) -> set[str]:
        out = tmp_path / f"out.{fmt}"
        result = town_cli("export", "resources", "--format", fmt, "-o", out, *extra)
        assert result.exit_code == 0, result.stderr
        if fmt == "csv":
            rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
        else:
            rows = [list(r) for r in load_workbook(out).active.iter_rows(values_only=True)]
        return {str(r[0]) for r in rows[1:]}

    public, everything = ids(), ids("--all")
    assert "A-2" not in public and "A-1" in public  # 終了 (公開=可) stays out
    assert "A-2" in everything and everything - public == {"A-2", "K-004", "K-007"}


def test_ics_per_resource_and_per_district_from_the_cli(
    town_cli: Any, db_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "one.ics"
    result = town_cli("export", "resources", "--format", "ics", "--resource", "A-1", "-o", out)
    assert result.exit_code == 0, result.stderr
    calendar = Calendar.from_ical(out.read_bytes())
    assert {str(e["X-TSUNAGU-RESOURCE"]) for e in calendar.walk("VEVENT")} == {"A-1"}
    district = town_cli("export", "resources", "--format", "ics", "--district", "99999-W")
    assert district.exit_code == 0, district.stderr
    engine = _engine(db_url)
    try:
        with make_sessionmaker(engine)() as s:
            assert out.read_bytes() == exports.resource_ics(s, "A-1")
            assert district.stdout_bytes == exports.district_ics(s, "99999-W")
            west = {r.external_id for r in exports.district_resources(s, "99999-W")}
    finally:
        engine.dispose()
    found = {
        str(e["X-TSUNAGU-RESOURCE"])
        for e in Calendar.from_ical(district.stdout_bytes).walk("VEVENT")
    }
    assert found and found <= west
    # ended, unknown, or asked of another format
    ended = town_cli("export", "resources", "--format", "ics", "--resource", "A-2")
    assert ended.exit_code == 1 and "A-2" in ended.stderr and not ended.stdout
    unknown = town_cli("export", "resources", "--format", "ics", "--district", "00000")
    assert unknown.exit_code == 1 and "00000" in unknown.stderr
    misuse = town_cli("export", "resources", "--format", "hsds", "--resource", "A-1")
    assert misuse.exit_code == 2
    both = town_cli(
        "export", "resources", "--format", "ics", "--resource", "A-1", "--district", "99999"
    )
    assert both.exit_code == 2


@pytest.mark.parametrize("fmt", ["hsds", "geojson", "ics", "csv", "xlsx"])
def test_cli_writes_the_streamed_document(
    town_cli: Any, db_url: str, fmt: str, tmp_path: Path
) -> None:
    out = tmp_path / f"out.{fmt}"
    result = town_cli("export", "resources", "--format", fmt, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert not (tmp_path / f"out.{fmt}.part").exists()
    engine = _engine(db_url)
    try:
        with make_sessionmaker(engine)() as s:
            if fmt == "hsds":
                expected: Any = exports.resources_hsds(s)
                count = len(expected["contents"])
            elif fmt == "geojson":
                expected = exports.resources_geojson(s)
                count = len(expected["features"])
            elif fmt == "ics":
                expected = exports.resources_ics(s)
                count = expected.count(b"BEGIN:VEVENT")
            else:  # the table, as one document in memory
                header, rows = exports.export_rows(s)
                expected = exports.write_csv(header, rows) if fmt == "csv" else [header, *rows]
                count = len(rows)
    finally:
        engine.dispose()
    data = out.read_bytes()
    if fmt in ("hsds", "geojson"):
        assert json.loads(data) == expected
    elif fmt == "xlsx":
        assert _sheet(data) == expected
    else:
        assert data == expected
    assert f"{count}" in result.stderr


#: The standard set's columns after the §3 ones, in the order resources (by ID) first name
#: them: A-1's four, then 市区町村名 from the K- rows of the other town's file.
EXTRA_HEADERS = ["バリアフリー情報", "FAX番号", "郵便番号", "メールアドレス", "市区町村名"]


def _sheet(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(data), read_only=True)["地域資源"]
    rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    width = len(rows[0])  # empty cells at the end of a row are not written
    return [row + [""] * (width - len(row)) for row in rows]


@pytest.mark.parametrize("batch_size", [1, 2, 1000])
def test_streamed_table_is_the_same_file_in_any_batch_size(
    accessible: Engine, batch_size: int
) -> None:
    """CSV/XLSX are read in batches; the extra columns (バリアフリー情報…) first appear in
    a later batch than the first rows, and still head the file in the same order."""
    for private in (False, True):
        seen: list[tuple[int, int]] = []
        with make_sessionmaker(accessible)() as s:
            header, rows = exports.export_rows(s, include_private=private)
            total = exports.count_published(s, include_private=private)
            chunks = list(
                exports.iter_resources_csv(
                    s,
                    include_private=private,
                    batch_size=batch_size,
                    progress=lambda done, total, seen=seen: seen.append((done, total)),
                )
            )
            xlsx = b"".join(
                exports.iter_resources_xlsx(s, include_private=private, batch_size=batch_size)
            )
        assert header[header.index("備考") + 1 :] == EXTRA_HEADERS
        assert len(rows) == total and seen[-1] == (total, total)
        assert len(chunks) >= (total // batch_size if batch_size < total else 1)
        assert b"".join(chunks) == exports.write_csv(header, rows)
        assert chunks[0].startswith(b"\xef\xbb\xbf" + ",".join(header[:3]).encode())
        assert _sheet(xlsx) == [header, *rows]
        assert _sheet(exports.write_xlsx(header, rows)) == [header, *rows]


def test_a_table_with_no_rows_still_has_its_header() -> None:
    assert exports.write_csv(["ID", "名称"], [], bom=False) == b"ID,\xe5\x90\x8d\xe7\xa7\xb0\r\n"
    assert exports.write_csv(["ID"], []) == b"\xef\xbb\xbfID\r\n"
    assert _sheet(exports.write_xlsx(["ID", "名称"], [])) == [["ID", "名称"]]


def test_xlsx_cells_keep_their_text_in_both_readers(tmp_path: Path) -> None:
    """The hand-written sheet XML: markup characters, line breaks, spaces at either end and
    leading zeros come back as written (calamine, the importer's reader, and openpyxl),
    and so do control characters XML cannot carry (written as _xHHHH_, as Excel does) and
    text that looks like that escape."""
    from python_calamine import CalamineWorkbook

    header = ["ID", "名称", "備考"]
    rows = [
        ["001", "A&B <サロン> \"集い\" 'x'", "一行目\r\n二行目\n三行目"],
        ["002", "  前後に空白  ", ""],
        ["003", "制御\x01文字\x0b", "=1+2"],
        ["004", "", "_x0041_ そのまま"],
    ]
    data = exports.write_xlsx(header, rows)
    expected = [
        header,
        ["001", "A&B <サロン> \"集い\" 'x'", "一行目\r\n二行目\n三行目"],
        ["002", "  前後に空白  ", ""],
        ["003", "制御\x01文字\x0b", "'=1+2"],  # a formula is quoted (_safe_cell)
        ["004", "", "_x0041_ そのまま"],
    ]
    # openpyxl leaves the _xHHHH_ escapes of inline strings as written; Excel and calamine
    # decode them
    assert _sheet(data)[:3] == expected[:3]
    path = tmp_path / "t.xlsx"
    path.write_bytes(data)
    book = CalamineWorkbook.from_path(str(path))
    assert book.sheet_names == ["地域資源"]
    values = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    assert [[str(v) for v in row] for row in values] == expected
    assert exports.write_xlsx(header, rows) == data  # the same data, the same file


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("ab,;:\\^\n\r N'\"　あ漢字😀é")) | st.characters(),
        max_size=120,
    )
)
def test_event_lines_are_what_icalendar_writes(text: str) -> None:
    """The calendar writes VEVENT lines itself (an icalendar object per resource was most
    of a national export's time): TEXT escaping and folding at 75 octets as icalendar
    does them, for any text."""
    from icalendar import Event

    text = "".join(c for c in text if not 0xD800 <= ord(c) <= 0xDFFF) or "x"
    event = Event()
    event.add("summary", text)
    event.add("location", text)
    ours = "BEGIN:VEVENT\r\n" + ical._line("SUMMARY", ical._escape(text))
    ours += ical._line("LOCATION", ical._escape(text)) + "END:VEVENT\r\n"
    assert ours.encode() == event.to_ical()
