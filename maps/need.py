"""One need and its ranked candidates (coordinators only).

The need is personal data (要配慮個人情報), so this map takes only what it draws: the
need's approximate point, its walking radius, and the candidates as (rank, name, lat, lon,
score). No pseudonym, no text, no district name of the resident reaches it; the page is
marked for staff and kept out of search indexes. Candidates are numbered by rank on the
map and in the list beside it, with their straight-line distance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import folium

from directory.distance import haversine_m
from directory.map_data import MapDistrict
from maps._common import (
    DEFAULT_TILES,
    DistrictLayer,
    Tiles,
    bounds_of,
    credits_html,
    finish,
    new_map,
)
from maps._handout import HANDOUT_CSS, HandoutScript, NumberedMarkers, add_bounds, handout_head
from maps._page import Raw, esc

__all__ = ["Candidate", "need_map"]

_NEED_COLOUR = "#8A1C1C"
_INSIDE = "#0B5394"
_OUTSIDE = "#7F8C8D"


class Candidate(NamedTuple):
    """A ranked resource for the need; ``lat``/``lon`` None for district-served ones."""

    rank: int
    name: str
    lat: float | None
    lon: float | None
    score: float


def _distance_words(metres: float) -> str:
    if metres < 1000:
        return f"約{int(round(metres, -1))}m"
    return f"約{metres / 1000:.1f}km"


def need_map(
    need_point: tuple[float, float],
    radius_m: float,
    candidates: Sequence[Candidate | tuple[int, str, float | None, float | None, float]],
    *,
    districts: Sequence[MapDistrict] = (),
    title: str = "相談の候補（職員用）",
    tiles: Sequence[Tiles] = DEFAULT_TILES,
) -> folium.Map:
    """The need's approximate place, a circle of ``radius_m`` (how far the resident can
    walk) and the candidates numbered by rank, with a ranked list beside the map."""
    lat, lon = need_point
    ranked = sorted((Candidate(*c) for c in candidates), key=lambda c: (c.rank, c.name))
    m = new_map(
        title, tiles=tiles, body_class="tsunagu-handout", staff_only=True, extra_css=HANDOUT_CSS
    )
    if districts:
        DistrictLayer(districts).add_to(m)
    folium.Circle(
        location=(lat, lon),
        radius=radius_m,
        color=_NEED_COLOUR,
        weight=3,
        dash_array="8 6",
        fill=True,
        fill_color=_NEED_COLOUR,
        fill_opacity=0.08,
        tooltip=f"歩いて行ける範囲（{_distance_words(radius_m).removeprefix('約')}）",
    ).add_to(m)
    folium.CircleMarker(
        location=(lat, lon),
        radius=9,
        color="#fff",
        weight=3,
        fill=True,
        fill_color=_NEED_COLOUR,
        fill_opacity=1,
        tooltip="相談者のおおよその場所",
    ).add_to(m)

    markers = []
    entries: dict[str, list[str]] = {}
    rows = []
    for c in ranked:
        detail = f"順位 {c.rank}・スコア {c.score:.2f}"
        if c.lat is not None and c.lon is not None:
            metres = float(haversine_m(lat, lon, c.lat, c.lon))
            inside = metres <= radius_m
            detail += f"・{_distance_words(metres)}" + ("" if inside else "（範囲外）")
            colour = _INSIDE if inside else _OUTSIDE
            markers.append(
                {
                    "lat": round(c.lat, 6),
                    "lon": round(c.lon, 6),
                    "colour": colour,
                    "text": "#FFFFFF",
                    "numbers": [c.rank],
                    "label": str(c.rank),
                    "names": c.name,
                }
            )
        else:
            detail += "・地図上の場所なし（地区が対象）"
            colour = "#FFFFFF"
        entries[str(c.rank)] = [c.name, detail]
        rows.append(
            f'<li data-number="{c.rank}"><span class="tsunagu-badge-num" '
            f'style="background:{colour};color:{"#333" if colour == "#FFFFFF" else "#fff"}">'
            f'{c.rank}</span><div class="tsunagu-entry"><span class="tsunagu-entry-name">'
            f'{esc(c.name)}</span><span class="tsunagu-entry-line">{esc(detail)}</span></div></li>'
        )
    m.add_child(NumberedMarkers({"markers": markers, "entries": entries}))
    m.add_child(HandoutScript())

    dlat = radius_m / 111_320
    dlon = radius_m / (111_320 * max(math.cos(math.radians(lat)), 0.01))
    bounds = bounds_of(
        [], [(lat - dlat, lon - dlon), (lat + dlat, lon + dlon), *((c.lat, c.lon) for c in ranked)]
    )
    add_bounds(m, bounds)
    page = m.get_root()
    page.before.add_child(handout_head(title))  # type: ignore[attr-defined]
    legend = (
        '<section class="tsunagu-legend"><h2>地図の見かた</h2><ul class="tsunagu-legend-list">'
        f'<li><span class="tsunagu-swatch" style="background:{_NEED_COLOUR}"></span>'
        "相談者のおおよその場所（正確な住所ではありません）</li>"
        f"<li>点線の円：歩いて行ける範囲（半径{_distance_words(radius_m).removeprefix('約')}）</li>"
        f'<li><span class="tsunagu-badge-num" style="background:{_INSIDE};color:#fff">1</span>'
        "候補の順位（範囲内）</li>"
        f'<li><span class="tsunagu-badge-num" style="background:{_OUTSIDE};color:#fff">2</span>'
        "候補の順位（範囲外）</li></ul></section>"
    )
    listing = (
        '<h2>候補（順位順）</h2><ol class="tsunagu-entries">'
        + ("".join(rows) or "<li>候補はありません。</li>")
        + "</ol>"
    )
    page.after.add_child(  # type: ignore[attr-defined]
        Raw(f'<aside class="tsunagu-side">{legend}{listing}</aside>' + credits_html([], tiles))
    )
    return finish(m, bounds, collapsed=True)
