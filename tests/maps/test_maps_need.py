"""One need and its ranked candidates (STYLE P14)."""

from __future__ import annotations

import inspect
import re

from maphelpers import island

from maps import Candidate, need_map

POINT = (38.57, 140.86)
CANDIDATES = [
    (2, "町裏いきいきサロン", 38.568, 140.862, 0.80),
    Candidate(1, "赤塚ふれあいサロン", 38.572, 140.862, 0.91),
    (3, "遠くのサロン", 38.60, 140.90, 0.50),
    (4, "お助け隊", None, None, 0.40),
]


def test_the_walking_radius_circle_and_the_approximate_place() -> None:
    html = need_map(POINT, 600, CANDIDATES).get_root().render()
    circle = re.search(r"L\.circle\(\s*\[([\d.]+), ([\d.]+)\],\s*\{(.*?)\}", html, re.S)
    assert circle and (float(circle.group(1)), float(circle.group(2))) == POINT
    assert '"radius": 600' in circle.group(3)
    assert "L.circleMarker(" in html
    assert "相談者のおおよその場所" in html and "歩いて行ける範囲" in html


def test_candidates_are_numbered_by_rank_on_the_map_and_in_the_list() -> None:
    html = need_map(POINT, 600, CANDIDATES).get_root().render()
    markers = island(html, "tsunagu_numbered_markers")["markers"]
    assert [m["label"] for m in markers] == ["1", "2", "3"]  # 4 has no place on the map
    assert markers[0]["names"] == "赤塚ふれあいサロン"
    assert [int(n) for n in re.findall(r'<li data-number="(\d+)">', html)] == [1, 2, 3, 4]
    assert "約280m" in html and "（範囲外）" in html and "地図上の場所なし" in html
    assert "スコア 0.91" in html


def test_staff_only_and_nothing_personal_can_be_passed() -> None:
    html = need_map(POINT, 600, CANDIDATES).get_root().render()
    assert "職員用" in html and 'content="noindex, nofollow"' in html
    params = set(inspect.signature(need_map).parameters)
    assert params == {
        "need_point",
        "radius_m",
        "candidates",
        "districts",
        "title",
        "tiles",
        "lang",  # the page's language, not the person's
    }
