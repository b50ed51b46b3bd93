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
from typing import Any, NamedTuple

import folium

from directory.distance import haversine_m
from directory.i18n import N_, translate
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
from maps._page import Raw, esc, side_panel

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


def _distance_words(metres: float, lang: str = "ja", about: bool = True) -> str:
    if metres < 1000:
        rounded = str(int(round(metres, -1)))
        return translate(
            N_("about {metres} m") if about else N_("{metres} m"), lang, metres=rounded
        )
    km = f"{metres / 1000:.1f}"
    return translate(N_("about {km} km") if about else N_("{km} km"), lang, km=km)


def _join(a: str, b: str, lang: str) -> str:
    return translate(N_("{a}, {b}"), lang, a=a, b=b)


_W_LEGEND = (
    N_("How to read the map"),
    N_("the resident's approximate place (not the exact address)"),
    N_("dotted circle: how far the resident can walk (radius {distance})"),
    N_("candidate's rank (within reach)"),
    N_("candidate's rank (out of reach)"),
)


def need_map(
    need_point: tuple[float, float],
    radius_m: float,
    candidates: Sequence[Candidate | tuple[int, str, float | None, float | None, float]],
    *,
    districts: Sequence[MapDistrict] = (),
    title: str | None = None,
    tiles: Sequence[Tiles] = DEFAULT_TILES,
    lang: str = "ja",
) -> folium.Map:
    """The need's approximate place, a circle of ``radius_m`` (how far the resident can
    walk) and the candidates numbered by rank, with a ranked list beside the map, worded
    in ``lang`` (Japanese by default)."""

    def _(msgid: str, **params: Any) -> str:
        return translate(msgid, lang, **params)

    if title is None:
        title = _(N_("Candidates for the request (for staff)"))
    lat, lon = need_point
    ranked = sorted((Candidate(*c) for c in candidates), key=lambda c: (c.rank, c.name))
    m = new_map(
        title,
        tiles=tiles,
        body_class="tsunagu-handout",
        staff_only=True,
        extra_css=HANDOUT_CSS,
        lang=lang,
    )
    reach = _distance_words(radius_m, lang, about=False)
    if districts:
        DistrictLayer(districts, name=_(N_("District boundaries"))).add_to(m)
    folium.Circle(
        location=(lat, lon),
        radius=radius_m,
        color=_NEED_COLOUR,
        weight=3,
        dash_array="8 6",
        fill=True,
        fill_color=_NEED_COLOUR,
        fill_opacity=0.08,
        tooltip=_(N_("how far the resident can walk ({distance})"), distance=reach),
    ).add_to(m)
    folium.CircleMarker(
        location=(lat, lon),
        radius=9,
        color="#fff",
        weight=3,
        fill=True,
        fill_color=_NEED_COLOUR,
        fill_opacity=1,
        tooltip=_(N_("the resident's approximate place")),
    ).add_to(m)

    markers = []
    entries: dict[str, list[str]] = {}
    rows = []
    for c in ranked:
        detail = _(N_("rank {rank}, score {score}"), rank=c.rank, score=f"{c.score:.2f}")
        if c.lat is not None and c.lon is not None:
            metres = float(haversine_m(lat, lon, c.lat, c.lon))
            inside = metres <= radius_m
            distance = _distance_words(metres, lang)
            if not inside:
                distance = _(N_("{distance} (out of reach)"), distance=distance)
            detail = _join(detail, distance, lang)
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
            detail = _join(detail, _(N_("no place on the map (serves the district)")), lang)
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
    page.before.add_child(handout_head(title, lang=lang))  # type: ignore[attr-defined]
    head, place, circle, inside_rank, outside_rank = (esc(_(w, distance=reach)) for w in _W_LEGEND)
    legend = (
        f'<section class="tsunagu-legend"><h2>{head}</h2><ul class="tsunagu-legend-list">'
        f'<li><span class="tsunagu-swatch" style="background:{_NEED_COLOUR}"></span>'
        f"{place}</li>"
        f"<li>{circle}</li>"
        f'<li><span class="tsunagu-badge-num" style="background:{_INSIDE};color:#fff">1</span>'
        f"{inside_rank}</li>"
        f'<li><span class="tsunagu-badge-num" style="background:{_OUTSIDE};color:#fff">2</span>'
        f"{outside_rank}</li></ul></section>"
    )
    listing = (
        "<h2>"
        + esc(_(N_("Candidates (by rank)")))
        + '</h2><ol class="tsunagu-entries">'
        + ("".join(rows) or "<li>" + esc(_(N_("No candidates."))) + "</li>")
        + "</ol>"
    )
    page.after.add_child(  # type: ignore[attr-defined]
        Raw(side_panel(legend + listing, lang) + credits_html([], tiles, lang=lang))
    )
    return finish(m, bounds, collapsed=True)
