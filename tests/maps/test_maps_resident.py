"""The published resident map (handout), rendered to HTML (STYLE P14)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from maphelpers import CREDITS, DISTRICTS, RESOURCES, coordinator, island, public, unescaped

from directory.map_data import PublicResource
from directory.taxonomy import load_taxonomy
from maps import resident_map


def render(resources: list[PublicResource] = RESOURCES, **kw: object) -> str:
    kw.setdefault("credits", CREDITS)
    return resident_map(resources, DISTRICTS, **kw).get_root().render()  # type: ignore[arg-type]


def list_numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<li data-number="(\d+)">', html)]


def test_numbered_markers_match_the_numbered_list() -> None:
    html = render()
    markers = island(html, "tsunagu_numbered_markers")["markers"]
    on_map = sorted(n for m in markers for n in m["numbers"])
    located = [r for r in RESOURCES if r.lat is not None]
    assert on_map == list(range(1, len(located) + 1))
    assert list_numbers(html) == on_map
    # two resources in one hall share one marker labelled with both numbers
    shared = [m for m in markers if len(m["numbers"]) == 2]
    assert len(shared) == 1 and shared[0]["label"] == "・".join(map(str, shared[0]["numbers"]))
    # each number's list entry names the resource the marker's popup names
    entries = island(html, "tsunagu_numbered_markers")["entries"]
    for n in on_map:
        name = entries[str(n)][0]
        item = re.search(rf'<li data-number="{n}">(.*?)</li>', html, re.S)
        assert item and name in item.group(1)


def test_the_list_is_grouped_by_category_in_taxonomy_order() -> None:
    html = render()
    order = [c.label_ja for c in load_taxonomy()]
    headings = re.findall(r"<h3>.*?</svg></span>(.*?)</h3>", html)
    assert headings == sorted(headings, key=order.index)
    assert "（見守り・安否確認も）" in html  # the second category of みんなのサロン


def test_services_without_a_place_are_listed_with_where_they_serve() -> None:
    html = render()
    assert "地図に場所がない支援" in html
    snow = re.search(r'<li data-number="">(?:(?!</li>).)*除雪ボランティア.*?</li>', html, re.S)
    assert snow and "北町" in snow.group(0)
    meals = re.search(r'<li data-number="">(?:(?!</li>).)*お弁当の宅配.*?</li>', html, re.S)
    assert meals and "みどり町 全域" in meals.group(0)


def test_on_an_area_map_a_whole_town_service_reads_as_the_whole_area() -> None:
    area_only = DISTRICTS[1:]  # the area and its districts, as map_districts(area_code=) gives
    html = resident_map(RESOURCES, area_only, credits=CREDITS).get_root().render()
    meals = re.search(r'<li data-number="">(?:(?!</li>).)*お弁当の宅配.*?</li>', html, re.S)
    assert meals and "東地域 全域" in meals.group(0)


def test_legend_in_plain_japanese() -> None:
    html = render()
    assert "地図の見かた" in html
    assert "丸の中の数字は、下の一覧の番号です。" in html
    assert "色は 活動の種類 です" in html
    assert "同じ場所で いくつかの活動が あります。" in html
    for label in ("サロン", "お茶のみ場", "体操教室"):
        assert label in html


def test_print_css_for_a4_portrait_and_a3_landscape() -> None:
    html = render()
    assert "@page { size: A4 portrait;" in html
    assert "@page tsunagu-a3 { size: A3 landscape;" in html
    assert "html.paper-a3 body { page: tsunagu-a3; }" in html
    assert "@media print" in html
    assert "break-inside: avoid" in html and "break-after: avoid" in html
    assert 'data-paper="a4"' in html and 'data-paper="a3"' in html and "印刷する" in html
    assert 'addEventListener("beforeprint"' in html


def test_credits_of_every_source_and_the_tile_attribution() -> None:
    html = render()
    credits = html[html.index('<section class="tsunagu-credits">') :]
    assert "「国土数値情報（行政区域データ）（国土交通省）」を加工して作成" in credits
    assert "出典：テスト用の地区データ" in credits
    assert '<a href="https://maps.gsi.go.jp/development/ichiran.html">地理院タイル</a>' in credits
    assert "OpenStreetMap" in credits
    assert "Font Awesome Free" in credits  # the icons' licence (CC BY 4.0)
    assert (
        '<a href="https://maps.gsi.go.jp/development/ichiran.html">地理院タイル</a>'
        in unescaped(html)
    )


def test_large_markers_and_text() -> None:
    html = render()
    assert re.search(r"\.tsunagu-num \{[^}]*height: 34px;[^}]*font-size: 18px", html, re.S)
    assert "body.tsunagu-handout { font-size: 18px;" in html


def test_title_date_and_contact() -> None:
    html = render(
        title="東地域の地域資源マップ",
        as_of=dt.date(2026, 4, 1),
        contact="みどり町社会福祉協議会 0229-00-0000",
    )
    assert "<h1>東地域の地域資源マップ</h1>" in html
    assert "2026年4月1日 現在" in html
    assert "みどり町社会福祉協議会 0229-00-0000" in html
    assert '<meta name="robots"' not in html  # published: may be indexed


@dataclass(frozen=True)
class Sneaky(PublicResource):
    need_text: str = ""


@pytest.mark.parametrize(
    "bad",
    [
        coordinator("R-9", "職員用の資源", ("salon",), 38.1, 140.1),
        Sneaky(
            "R-9",
            "サロン",
            ("salon",),
            38.1,
            140.1,
            (),
            "",
            None,
            None,
            None,
            "active",
            None,
            need_text="ゴミ出しができない",
        ),
        {"external_id": "R-9", "name": "辞書"},
    ],
)
def test_refuses_anything_but_a_public_resource(bad: object) -> None:
    with pytest.raises(TypeError, match="PublicResource only"):
        resident_map([*RESOURCES, bad], DISTRICTS, credits=CREDITS)  # type: ignore[list-item]


def test_template_syntax_in_data_is_text() -> None:
    html = render(
        [
            public(
                "R-1",
                "{{ 7*7 }}のサロン",
                ("salon",),
                38.1,
                140.1,
                schedule="{% for x in range(3) %}x{% endfor %}",
            )
        ]
    )
    assert "{{ 7*7 }}のサロン" in html and "49のサロン" not in html
    assert "xxx" not in html


def test_empty_area_still_renders_a_page() -> None:
    html = render([])
    assert "地図に載せられる活動は まだ ありません。" in html
    assert island(html, "tsunagu_numbered_markers")["markers"] == []
