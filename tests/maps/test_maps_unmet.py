"""The unmet-needs choropleth: small counts never appear as numbers (STYLE P14)."""

from __future__ import annotations

import itertools
import json
import re

import pytest
from maphelpers import AREA, DISTRICTS, TOWN, island
from shapely.geometry import box

from directory.map_data import MapDistrict
from maps import UnmetCount, unmet_map
from maps.unmet import MAX_CLASSES, data_classes

NORTH, SOUTH = "TOWN-EAST-N", "TOWN-EAST-S"


def features(html: str) -> dict[str, dict[str, str]]:
    data = island(html, "district_layer")
    return {f["properties"]["code"]: f["properties"] for f in data["features"]}


def row_of(html: str, name: str) -> str:
    """The district's rows in the side table: its heading and its breakdown lines."""
    match = re.search(
        rf"<tr><th colspan=\"2\">(?:(?!<th).)*{name}</th>.*?(?=<tr><th|</tbody>)", html, re.S
    )
    assert match, name
    return match.group(0)


@pytest.mark.parametrize("count", [1, 2])
def test_counts_of_one_or_two_show_as_shosu_and_no_digit(count: int) -> None:
    html = unmet_map([(NORTH, "snow", "no_resource", count)], DISTRICTS).get_root().render()
    north = features(html)[NORTH]
    assert "少数" in north["label"] and "少数" in north["popup"]
    # nothing about this district carries a digit: not its data, label, popup or table rows
    # (markup such as colspan="2" and colours such as #FDE9D9 are not counts: text only)
    table_rows = re.sub(r"<[^>]+>", " ", row_of(html, "北町"))
    for text in (json.dumps(north, ensure_ascii=False), table_rows):
        assert not re.search(r"[0-9０-９]", text), text
    assert set(north) == {"code", "name", "level", "label", "popup"}  # no raw count


def test_small_count_label_can_be_changed() -> None:
    html = (
        unmet_map([(NORTH, "snow", "no_resource", 1)], DISTRICTS, small_count_label="わずか")
        .get_root()
        .render()
    )
    assert features(html)[NORTH]["label"] == "北町 わずか"


def test_counts_of_three_or_more_are_shown() -> None:
    html = (
        unmet_map(
            [(NORTH, "snow", "no_resource", 3), (SOUTH, "garbage", "schedule", 12)], DISTRICTS
        )
        .get_root()
        .render()
    )
    props = features(html)
    assert props[NORTH]["label"] == "北町 3件"
    assert props[SOUTH]["label"] == "南町 12件"
    assert "除雪" in props[NORTH]["popup"] and "該当する資源がない" in props[NORTH]["popup"]
    assert "ゴミ出し支援" in props[SOUTH]["popup"] and "日時が合わない" in props[SOUTH]["popup"]


def test_a_total_with_hidden_rows_reveals_nothing_by_subtraction_or_colour() -> None:
    def fill(small: int) -> tuple[str, str]:
        html = (
            unmet_map(
                [(NORTH, "garbage", "schedule", 4), (NORTH, "snow", "no_resource", small)],
                DISTRICTS,
            )
            .get_root()
            .render()
        )
        fills = json.loads(re.search(r"_fills = (\{.*?\});", html).group(1))  # type: ignore[union-attr]
        return features(html)[NORTH]["label"], fills[NORTH]

    label_1, colour_1 = fill(1)
    label_2, colour_2 = fill(2)
    assert label_1 == label_2 == "北町 4件＋少数"
    assert colour_1 == colour_2


def test_only_small_rows_sum_to_shosu_whatever_their_total() -> None:
    html = (
        unmet_map([(NORTH, "snow", "no_resource", 2), (NORTH, "salon", "distance", 2)], DISTRICTS)
        .get_root()
        .render()
    )
    assert features(html)[NORTH]["label"] == "北町 少数"


def test_exact_numbers_only_when_asked_and_then_marked_for_staff() -> None:
    html = (
        unmet_map([(NORTH, "snow", "no_resource", 1)], DISTRICTS, suppress_below=0)
        .get_root()
        .render()
    )
    assert features(html)[NORTH]["label"] == "北町 1件"
    assert "職員用" in html and 'content="noindex, nofollow"' in html
    default = unmet_map([(NORTH, "snow", "no_resource", 1)], DISTRICTS).get_root().render()
    assert 'content="noindex' not in default  # the consultative body's map is shareable


def test_filter_by_category_takes_children_and_by_reason() -> None:
    rows = [
        UnmetCount(NORTH, "北町", "snow", "no_resource", 5),
        UnmetCount(NORTH, "北町", "salon", "distance", 4),
        UnmetCount(SOUTH, "南町", "garbage", "schedule", 6),
    ]
    support = features(unmet_map(rows, DISTRICTS, category="support").get_root().render())
    assert support[NORTH]["label"] == "北町 5件" and support[SOUTH]["label"] == "南町 6件"
    distance_html = unmet_map(rows, DISTRICTS, reason="distance").get_root().render()
    distance = features(distance_html)
    assert distance[NORTH]["label"] == "北町 4件" and "label" not in distance[SOUTH]
    # worded as the command line words it (matching.reasons), in the popup and the subtitle
    assert "遠くて通えない" in distance[NORTH]["popup"] and "理由：遠くて通えない" in distance_html


def test_rows_as_tsunagu_unmet_json() -> None:
    rows = [{"district": NORTH, "name": "北町", "category": "snow", "reason": "paused", "count": 7}]
    html = unmet_map(rows, DISTRICTS).get_root().render()
    assert features(html)[NORTH]["label"] == "北町 7件"
    assert "休止中の資源しかない" in html


def test_districts_without_a_boundary_are_listed_not_lost() -> None:
    html = unmet_map([("ELSEWHERE", "snow", "no_resource", 5)], DISTRICTS).get_root().render()
    assert "ELSEWHERE（地図に境界がない地区）" in html


def test_legend_explains_the_classes_and_the_suppression() -> None:
    html = unmet_map([], DISTRICTS).get_root().render()
    assert "地図の見かた" in html and "人が特定されないよう数を伏せています" in html
    assert "3件～5件" in html and "21件以上" in html
    assert "@page { size: A4 portrait;" in html and "size: A3 landscape" in html


# --- exact counts for coordinators: classes from the data --------------------------------


def _town(n: int) -> list[MapDistrict]:
    """``n`` districts side by side (codes and names without digits, as above)."""
    names = "ABCDEFGHIJKL"
    return [TOWN, AREA] + [
        MapDistrict(
            f"TOWN-EAST-{names[i]}",
            f"{names[i]}町",
            "district",
            "TOWN-EAST",
            box(140.1 + i * 0.01, 38.0, 140.11 + i * 0.01, 38.1),
        )
        for i in range(n)
    ]


def fills_of(html: str) -> dict[str, str]:
    return json.loads(re.search(r"_fills = (\{.*?\});", html).group(1))  # type: ignore[union-attr]


def test_exact_small_counts_get_a_colour_each() -> None:
    town = _town(3)
    rows = [(d.code, "snow", "no_resource", n) for d, n in zip(town[2:], (1, 2, 3), strict=True)]
    html = unmet_map(rows, town, suppress_below=0).get_root().render()
    fills = fills_of(html)
    assert len({fills[d.code] for d in town[2:]}) == 3  # today's bug: one 「少数」 colour
    props = features(html)
    assert [props[d.code]["label"] for d in town[2:]] == ["A町 1件", "B町 2件", "C町 3件"]
    assert "少数" not in html
    legend = re.search(r'<section class="tsunagu-legend">.*?</section>', html, re.S).group(0)  # type: ignore[union-attr]
    for words in ("1件", "2件", "3件"):
        assert words in legend
    assert "人が特定されないよう" not in legend


def test_exact_counts_with_many_values_get_five_ordered_classes() -> None:
    town = _town(8)
    counts = (1, 2, 3, 5, 8, 13, 21, 34)
    rows = [(d.code, "salon", "distance", n) for d, n in zip(town[2:], counts, strict=True)]
    fills = fills_of(unmet_map(rows, town, suppress_below=0).get_root().render())
    colours = [fills[d.code] for d in town[2:]]
    assert len(set(colours)) == MAX_CLASSES
    # a larger count is never lighter: the classes follow the counts' order
    order = list(dict.fromkeys(colours))
    assert [order.index(c) for c in colours] == sorted(order.index(c) for c in colours)


def test_the_same_small_counts_for_the_consultative_body_stay_one_shosu_band() -> None:
    town = _town(2)
    rows = [(town[2].code, "snow", "no_resource", 1), (town[3].code, "snow", "no_resource", 2)]
    html = unmet_map(rows, town).get_root().render()
    fills = fills_of(html)
    assert fills[town[2].code] == fills[town[3].code]
    assert features(html)[town[2].code]["label"] == "A町 少数"


@pytest.mark.parametrize(
    "totals",
    [[1], [1, 1, 2], [4, 4, 4, 9], [1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6], list(range(1, 60, 3))],
)
def test_data_classes_cover_every_total_once_in_order(totals: list[int]) -> None:
    classes = data_classes(totals)
    assert len(classes) == min(len(set(totals)), MAX_CLASSES)
    assert all(low <= high for low, high in classes)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(classes))
    for n in totals:
        assert sum(low <= n <= high for low, high in classes) == 1


def test_natural_breaks_keep_a_lone_large_count_apart() -> None:
    classes = data_classes([1, 1, 2, 2, 3, 3, 4, 5, 40])
    assert classes[-1] == (40, 40)
