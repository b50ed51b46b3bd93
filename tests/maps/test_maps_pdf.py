"""The resident handout as PDF: embedded Japanese font, the HTML handout's numbers,
large text, any town's data (issue 6, point 3)."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from maphelpers import CREDITS, DISTRICTS, RESOURCES, coordinator, island, public
from pypdf import PdfReader
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from directory.db import make_sessionmaker, transaction
from directory.demo import credits as demo_credits
from directory.geography import import_districts, import_venues
from directory.map_data import MapDistrict, PublicResource, map_districts, public_resources
from directory.resources import import_resources
from maps import pdf as handout_pdf
from maps import resident_map
from maps._handout import number_resources
from maps.pdf import FONT_ENV, JapaneseFontMissingError, layout_map, register_font, resident_pdf

OTHER_TOWN = Path(__file__).resolve().parents[1] / "data" / "other_town"
LIST_HEADING = "一覧（番号は地図の数字です）"
VISITING_HEADING = "地図に場所がない支援"


@pytest.fixture(autouse=True)
def _default_font(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test uses the font the handout finds by itself (the IPAex Gothic shipped in
    maps/fonts), whatever the developer's environment says."""
    monkeypatch.delenv(FONT_ENV, raising=False)


def build(
    resources: list[PublicResource] = RESOURCES,
    districts: list[MapDistrict] = DISTRICTS,
    **kw: object,
) -> bytes:
    kw.setdefault("credits", CREDITS)
    kw.setdefault("title", "みどり町の地域資源マップ")
    return resident_pdf(resources, districts, **kw)  # type: ignore[arg-type]


def pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def list_rows(data: bytes, heading: str = LIST_HEADING) -> dict[int, str]:
    """Number → the text that follows it in the numbered list (whitespace removed)."""
    text = "\n".join(pages(data))
    after = text.split(heading, 1)[1].split(VISITING_HEADING, 1)[0]
    lines = [line.strip() for line in after.splitlines()]
    rows: dict[int, str] = {}
    for i, line in enumerate(lines):
        if line.isdigit():
            rows[int(line)] = compact("".join(lines[i + 1 : i + 6]))
    return rows


def sizes(data: bytes, page: int) -> list[tuple[str, float]]:
    """(text, font size) of every run of text on a page."""
    found: list[tuple[str, float]] = []
    reader = PdfReader(io.BytesIO(data))

    def visit(text: str, cm: object, tm: object, font: object, size: float) -> None:
        if text.strip():
            found.append((text.strip(), size))

    reader.pages[page].extract_text(visitor_text=visit)
    return found


def html_numbers(
    resources: list[PublicResource],
    districts: list[MapDistrict],
) -> tuple[dict[int, str], set[frozenset[int]]]:
    """The HTML handout's numbers: number → name, and which numbers share a marker."""
    html = resident_map(resources, districts, credits=CREDITS).get_root().render()
    data = island(html, "tsunagu_numbered_markers")
    names = {int(n): entry[0] for n, entry in data["entries"].items()}
    return names, {frozenset(m["numbers"]) for m in data["markers"]}


def assert_matches_html(
    data: bytes, resources: list[PublicResource], districts: list[MapDistrict]
) -> None:
    names, shared = html_numbers(resources, districts)
    numbering = number_resources(resources)
    assert {n: r.name for n, r in numbering.located} == names
    assert {frozenset(n for n, _ in group) for _, group in numbering.places} == shared
    rows = list_rows(data)
    assert set(rows) == set(names)
    for n, name in names.items():
        assert rows[n].startswith(compact(name)), (n, name, rows[n])


# --- the file ----------------------------------------------------------------------------


def test_the_japanese_font_is_embedded_and_no_cid_font_is_used() -> None:
    data = build()
    assert data.startswith(b"%PDF-")
    assert b"/FontFile2" in data and b"IPAexGothic" in data
    assert b"HeiseiKakuGo" not in data and b"HeiseiMin" not in data
    # every font of every page is a subset of the embedded TrueType font (no Helvetica)
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            assert font["/BaseFont"].endswith("+IPAexGothic"), font["/BaseFont"]
            assert "/FontFile2" in font["/FontDescriptor"].get_object()


def test_page_one_has_the_title_map_legend_and_credits() -> None:
    data = build(subtitle="みどり町社会福祉協議会", as_of=dt.date(2026, 4, 1))
    reader = PdfReader(io.BytesIO(data))
    assert [round(float(v)) for v in reader.pages[0].mediabox[2:]] == [595, 842]  # A4 portrait
    first = pages(data)[0]
    for text in (
        "みどり町の地域資源マップ",
        "みどり町社会福祉協議会",
        "この地図の情報は 2026年4月1日 現在のものです。",
        "丸の中の数字は、一覧の番号です。",
        "同じ場所で いくつかの活動が あります。",
        "線は 地区の さかいめ です。",
        "北町",
        "南町",
        "「国土数値情報（行政区域データ）（国土交通省）」を加工して作成",
        "出典：テスト用の地区データ",
    ):
        assert text in first, text
    # the legend names the kinds on the map, in plain Japanese, and nothing else
    for label in ("サロン", "お茶のみ場", "体操教室"):
        assert label in first
    assert "除雪" not in first.split(LIST_HEADING)[0]  # no place, so not on the map
    assert "地理院" not in "".join(pages(data))  # no tiles in the PDF


def test_every_resource_has_its_number_in_the_list_and_on_the_map() -> None:
    data = build()
    located = [r for r in RESOURCES if r.lat is not None]
    rows = list_rows(data)
    assert sorted(rows) == list(range(1, len(located) + 1))
    marker_texts = {t for t, _ in sizes(data, 0)}
    numbers = {r.external_id: n for n, r in number_resources(RESOURCES).located}
    # the hall shared by two resources has one marker with both numbers
    assert f"{numbers['R-1']}・{numbers['R-2']}" in marker_texts
    assert {str(numbers["R-3"]), str(numbers["R-4"])} <= marker_texts
    assert all(compact(r.name) in compact("".join(pages(data))) for r in RESOURCES)


def test_numbers_match_the_html_handout() -> None:
    assert_matches_html(build(), RESOURCES, DISTRICTS)


def test_services_without_a_place_list_the_districts_they_serve() -> None:
    text = compact("\n".join(pages(build())))
    visiting = text.split(compact(VISITING_HEADING), 1)[1]
    assert "除雪ボランティア対象：北町" in visiting
    assert "お弁当の宅配対象：みどり町全域" in visiting
    assert "みんなのサロン" not in visiting


def test_text_is_large_numbers_at_least_12pt_list_at_least_11pt() -> None:
    many = [
        public(f"R-{i}", f"サロン{i}番", ("salon",), 38.1 + i * 0.001, 140.15) for i in range(40)
    ]
    data = build(many)
    assert len(pages(data)) >= 3
    numbers = [(t, s) for t, s in sizes(data, 0) if re.fullmatch(r"[\d・～]+", t)]
    assert numbers and min(s for _, s in numbers) >= 12
    for page in range(1, len(pages(data))):
        runs = [
            (t, s)
            for t, s in sizes(data, page)
            if not re.fullmatch(r"\d+ / \d+ ページ|みどり町の地域資源マップ", t)
        ]
        assert runs and min(s for _, s in runs) >= 11, page
        assert pages(data)[page].count("番号") >= 1  # the header row repeats on each page


def test_a3_is_larger_and_other_papers_are_refused() -> None:
    reader = PdfReader(io.BytesIO(build(page="A3")))
    assert [round(float(v)) for v in reader.pages[0].mediabox[2:]] == [842, 1191]
    with pytest.raises(ValueError, match="A4"):
        build(page="B5")


def test_an_empty_area_still_gives_a_handout() -> None:
    text = "\n".join(pages(build([])))
    assert "地図に載せられる活動は まだ ありません。" in text and "北町" in text


def test_only_public_resources_are_accepted() -> None:
    other = coordinator("C-1", "非公開の集まり", ("salon",), 38.15, 140.15, public_flag=False)
    with pytest.raises(TypeError, match="PublicResource"):
        build([other])  # type: ignore[list-item]


# --- the font ----------------------------------------------------------------------------


def test_a_missing_font_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(handout_pdf, "FONT_PATHS", (str(tmp_path / "none.ttf"),))
    with pytest.raises(JapaneseFontMissingError, match="maps/fonts"):
        build()
    monkeypatch.setenv(FONT_ENV, str(tmp_path / "missing.ttf"))
    with pytest.raises(JapaneseFontMissingError, match=FONT_ENV):
        build()


def test_a_file_that_is_no_truetype_font_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = tmp_path / "fake.ttf"
    fake.write_bytes(b"not a font")
    monkeypatch.setenv(FONT_ENV, str(fake))
    with pytest.raises(JapaneseFontMissingError, match="cannot be embedded"):
        build()


def test_the_font_ships_with_the_project_and_its_licence() -> None:
    """No system font is assumed: a fresh machine prints the same handout."""
    found = handout_pdf.find_font()
    assert found == handout_pdf.BUNDLED_FONT and found.stat().st_size > 1_000_000
    licence = found.parent / "IPA_Font_License_Agreement_v1.0.txt"
    assert "IPA Font License Agreement v1.0" in licence.read_text(encoding="utf-8")


def test_the_font_can_be_named_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    found = handout_pdf.find_font()
    monkeypatch.setattr(handout_pdf, "FONT_PATHS", ())
    monkeypatch.setenv(FONT_ENV, str(found))
    assert b"/FontFile2" in build()


# --- the map -----------------------------------------------------------------------------


def test_crowded_numbers_are_pushed_apart_inside_the_box() -> None:
    # 30 places within ≈200 m of each other: on paper they would all overlap
    places = [
        (38.15 + (i % 6) * 0.0003, 140.15 + (i // 6) * 0.0003, (i + 1,), "#CC79A7")
        for i in range(30)
    ]
    places.append((38.151, 140.151, (31, 32, 33, 35), "#455A64"))
    layout = layout_map(places, DISTRICTS, 520, 480, font=register_font())
    assert len(layout.markers) == len(places)
    assert any(m.label == "31～33・35" for m in layout.markers)
    for m in layout.markers:
        assert m.width / 2 <= m.x <= 520 - m.width / 2
        assert m.height / 2 <= m.y <= 480 - m.height / 2
    for a, b in itertools.combinations(layout.markers, 2):
        apart_x = abs(a.x - b.x) >= (a.width + b.width) / 2 - 0.5
        apart_y = abs(a.y - b.y) >= (a.height + b.height) / 2 - 0.5
        assert apart_x or apart_y, (a.label, b.label)


def test_the_map_keeps_the_shape_of_the_area() -> None:
    # 0.1° × 0.1° at 38°N is ≈ 8.8 km wide and 11.1 km tall: taller than wide on paper
    square = MapDistrict("SQ", "四角町", "district", None, DISTRICTS[2].geometry)
    layout = layout_map([], [square], 500, 500, font=register_font())
    ((_, _, geom),) = layout.outlines
    west, south, east, north = geom.bounds
    assert (north - south) / (east - west) == pytest.approx(1 / 0.788, rel=0.01)
    assert layout.labels and layout.labels[0].text == "四角町"


# --- real towns through the database -------------------------------------------------------


@pytest.fixture
def other_town(engine: Engine) -> Iterator[Session]:
    """The fictional 架空市 of tests/data/other_town, imported as any municipality would."""
    with transaction(engine) as s:
        import_districts(s, OTHER_TOWN / "districts.geojson")
        import_venues(s, OTHER_TOWN / "venues.geojson")
        import_resources(s, OTHER_TOWN / "resources_cp932.csv")
    with make_sessionmaker(engine)() as s:
        yield s


def test_an_area_of_the_demo_town(demo: Session) -> None:
    area = next(d for d in map_districts(demo) if d.level == "area")
    resources = public_resources(demo, area_code=area.code)
    districts = map_districts(demo, area_code=area.code)
    data = resident_pdf(
        resources,
        districts,
        credits=demo_credits(),
        title=f"{area.name}の地域資源マップ",
        as_of=dt.date(2026, 4, 1),
    )
    assert_matches_html(data, resources, districts)
    text = compact("\n".join(pages(data)))
    assert all(compact(r.name) in text for r in resources)
    first = pages(data)[0]
    assert all(c["credit"] in first for c in demo_credits())


def test_the_other_town_builds_with_nothing_of_the_demo(other_town: Session) -> None:
    for code in ("99999", "99999-E"):
        resources = public_resources(other_town, area_code=code)
        districts = map_districts(other_town, area_code=code)
        assert resources and any(r.lat is not None for r in resources)
        data = resident_pdf(
            resources,
            districts,
            credits=["出典：架空市 地区境界データ"],
            title="架空市の地域資源マップ",
        )
        assert_matches_html(data, resources, districts)
        text = "\n".join(pages(data))
        assert "架空市 地区境界データ" in text and "加美" not in text
        assert all(compact(r.name) in compact(text) for r in resources)
        visiting = [r for r in resources if r.lat is None]
        assert (VISITING_HEADING in text) == bool(visiting)
