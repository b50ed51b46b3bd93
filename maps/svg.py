"""A small static map as inline SVG: numbered places over district outlines, no tiles.

The resident's list (one need's picked resources, printed on A4) wants a little map that
prints anywhere, needs no network or JavaScript and agrees with the list's numbers. The
layout is the PDF handout's own (:func:`maps.pdf.layout_map`: projection, simplified
outlines, numbers moved off crowded spots); this module only writes it as SVG. District
names are left out: the list names each place itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from shapely.geometry.base import BaseGeometry

from directory.map_data import MapDistrict
from maps._common import text_colour
from maps._page import esc
from maps.pdf import layout_map, register_font

__all__ = ["list_map_svg"]

_MARKER = "#0B5394"
_STROKE = {"district": ("#5f6368", 0.8), "area": ("#37474f", 2.0), "municipality": ("#263238", 2.4)}


def _path(geom: BaseGeometry, height: float) -> str:
    parts = []
    for poly in getattr(geom, "geoms", [geom]):
        for ring in (poly.exterior, *poly.interiors):
            xy = np.asarray(ring.coords)
            points = " L".join(f"{x:.1f},{height - y:.1f}" for x, y in xy)
            parts.append(f"M{points}Z")
    return " ".join(parts)


def list_map_svg(
    places: Sequence[tuple[float, float, int]],
    districts: Sequence[MapDistrict] = (),
    *,
    width: float = 480.0,
    height: float = 300.0,
    title: str = "",
) -> str:
    """``places`` are (lat, lon, number); the SVG is ``width`` × ``height`` points, with
    ``title`` as its accessible name."""
    font = register_font()
    layout = layout_map(
        [(lat, lon, (number,), _MARKER) for lat, lon, number in places],
        districts,
        width,
        height,
        font=font,
        number_size=14.0,
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'role="img" aria-label="{esc(title)}" class="list-map">',
        f"<title>{esc(title)}</title>",
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#e9edf0"/>',
    ]
    for level, _code, geom in layout.outlines:
        colour, stroke = _STROKE.get(level, ("#5f6368", 0.8))
        fill = "#ffffff" if level == "district" else "none"
        out.append(
            f'<path d="{_path(geom, height)}" fill="{fill}" stroke="{colour}" '
            f'stroke-width="{stroke}" fill-rule="evenodd"/>'
        )
    for m in layout.markers:
        if m.leader:
            out.append(
                f'<line x1="{m.x0:.1f}" y1="{height - m.y0:.1f}" x2="{m.x:.1f}" '
                f'y2="{height - m.y:.1f}" stroke="#222" stroke-width="0.8"/>'
                f'<circle cx="{m.x0:.1f}" cy="{height - m.y0:.1f}" r="2" fill="#222"/>'
            )
        x, y = m.x - m.width / 2, height - m.y - m.height / 2
        out.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{m.width:.1f}" height="{m.height:.1f}" '
            f'rx="{m.height / 2:.1f}" fill="{_MARKER}" stroke="#fff" stroke-width="2"/>'
            f'<text x="{m.x:.1f}" y="{height - m.y + 5:.1f}" text-anchor="middle" '
            f'font-size="14" font-weight="bold" fill="{text_colour(_MARKER)}">{esc(m.label)}</text>'
        )
    out.append("</svg>")
    return "".join(out)
