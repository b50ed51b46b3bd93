"""The coordinators' map, rendered to HTML (STYLE P14)."""

from __future__ import annotations

import re

from maphelpers import DISTRICTS, coordinator, island, public, unescaped

from directory.taxonomy import load_taxonomy
from maps import coordinator_map

RESOURCES = [
    coordinator("R-1", "北町ふれあいサロン", ("salon",), 38.15, 140.15),
    coordinator("R-2", "南町体操クラブ", ("exercise",), 38.05, 140.15, status="paused"),
    coordinator("R-3", "見守り隊", ("watch", "salon"), 38.12, 140.12, public_flag=False),
    coordinator("R-4", "除雪ボランティア", ("snow",), None, None, districts=("TOWN-EAST-N",)),
    coordinator("R-5", "閉じたお茶会", ("tea",), 38.11, 140.11, status="ended"),
]


def render(resources: list = RESOURCES) -> str:  # type: ignore[type-arg]
    return coordinator_map(resources, DISTRICTS).get_root().render()


def test_one_toggleable_layer_per_category_with_taxonomy_colour_and_icon() -> None:
    html = render()
    taxonomy = load_taxonomy()
    used = ["salon", "tea", "exercise", "watch", "snow"]
    layers = re.findall(r"new TsunaguCategoryLayer\(", html)
    assert len(layers) == len(used)
    data = island(html, "tsunagu_resources")
    assert [c["code"] for c in data["cats"]] == [c.code for c in taxonomy if c.code in used]
    for c in data["cats"]:
        assert c["colour"] == taxonomy[c["code"]].colour
        assert c["svg"].startswith("<svg") and "<path d=" in c["svg"]
        # the layer control lists it by its Japanese label
        assert taxonomy[c["code"]].label_ja in html


def test_paused_and_ended_resources_are_greyed_not_hidden() -> None:
    html = render()
    data = island(html, "tsunagu_resources")
    status = {row[5]: row[3] for row in data["rows"]}
    assert status == {
        "北町ふれあいサロン": 0,
        "南町体操クラブ": 1,
        "見守り隊": 0,
        "除雪ボランティア": 0,
        "閉じたお茶会": 2,
    }
    assert re.search(r"\.tsunagu-pin\.s-paused \{ background: #9e9e9e !important", html)
    assert ".tsunagu-pin.s-ended" in html
    assert "休止中" in html and "終了" in html


def test_private_resources_are_marked() -> None:
    data = island(render(), "tsunagu_resources")
    public_flag = {row[5]: row[4] for row in data["rows"]}
    assert public_flag["見守り隊"] == 0 and public_flag["北町ふれあいサロン"] == 1
    assert "非公開" in render()


def test_popup_data_has_schedule_contact_and_last_verified_date() -> None:
    html = render()
    data = island(html, "tsunagu_resources")
    row = next(r for r in data["rows"] if r[5] == "北町ふれあいサロン")
    assert data["schedules"][row[6]] == "毎週 火 10:00～12:00"
    assert row[7] == "0229-00-0001"
    assert row[10] == "2024年4月1日"
    for label in ("日時", "連絡先", "最終確認"):
        assert label in html


def test_district_outlines_and_the_served_only_resources_by_district() -> None:
    html = render()
    districts = island(html, "district_layer")
    assert {f["properties"]["code"] for f in districts["features"]} == {d.code for d in DISTRICTS}
    data = island(html, "tsunagu_resources")
    snow = next(i for i, r in enumerate(data["rows"]) if r[5] == "除雪ボランティア")
    assert data["served"] == {"TOWN-EAST-N": [snow]}
    assert data["rows"][snow][0] is None


def test_clustering_is_one_shared_markercluster_with_chunked_loading() -> None:
    html = render()
    assert html.count("L.markerClusterGroup(") == 1
    assert "chunkedLoading: true" in html
    assert "/static/vendor/leaflet.markercluster/leaflet.markercluster.js" in html


def test_tiles_gsi_by_default_osm_as_alternative_and_a_blank_background() -> None:
    html = render()
    assert "https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png" in html
    shown = unescaped(html)
    assert '<a href="https://maps.gsi.go.jp/development/ichiran.html">地理院タイル</a>' in shown
    assert "OpenStreetMap</a> contributors" in shown
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in html
    assert "L.control.layers(" in html
    assert "--tsunagu-blank: #e9edf0" in html and "background: var(--tsunagu-blank)" in html
    # districts are filled, so they show without tiles
    assert '"fillOpacity": 0.45' in html or '"fillOpacity":0.45' in html


def test_working_map_is_marked_for_staff_and_not_indexed() -> None:
    html = render()
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert "職員用" in html
    assert '<html lang="ja"' in html


def test_public_resources_are_accepted_too() -> None:
    html = render([public("R-9", "公開サロン", ("salon",), 38.1, 140.1)])
    assert island(html, "tsunagu_resources")["rows"][0][4] == 1


def test_text_is_escaped_in_the_data_and_never_spliced_into_script() -> None:
    html = render([coordinator("R-x", "</script><b>{{ 7*7 }}</b>", ("salon",), 38.1, 140.1)])
    assert "</script><b>" not in html
    rows = island(html, "tsunagu_resources")["rows"]
    assert rows[0][5] == "</script><b>{{ 7*7 }}</b>"  # kept as text, not run as a template
    assert "<b>49</b>" not in html
