"""The resident handout as a print-ready PDF (A4 portrait, or A3) that needs no network.

The HTML handout needs a browser and, for its background, map tiles; community halls and
municipal PCs often have neither at hand when a handout is wanted. This module draws the
same handout as vector graphics: the area's district outlines (no tiles), numbered markers
at the resources' places, a legend in plain Japanese and the data credits on page 1, then
the numbered list in large text and the services without a place. The numbers are the
HTML handout's (:func:`maps._handout.number_resources`), so both forms of one area agree.

Pure: plain data in, ``bytes`` out; no database, Flask or network. The text is set in a
Japanese TrueType font embedded (subsetted) in the file, never in reportlab's built-in CID
fonts (HeiseiKakuGo-W5 and friends are *not* embedded, and a PC without a Japanese font
shows boxes); without such a font :func:`resident_pdf` raises
:class:`JapaneseFontMissingError` rather than produce that.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import os
import re
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import shapely
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A3, A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import (  # type: ignore[attr-defined]  # types-reportlab lacks FILL_EVEN_ODD
    FILL_EVEN_ODD,
    Canvas,
)
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from shapely.geometry.base import BaseGeometry
from shapely.ops import polylabel

from directory.i18n import N_, translate
from directory.map_data import MapDistrict, PublicResource
from maps._common import CategoryStyle, bounds_of, category_styles, japanese_date, text_colour
from maps._handout import HandoutNumbering, number_resources
from maps.resident import MIXED_COLOUR, _credit_texts, _label, _served_words

__all__ = [
    "FONT_ENV",
    "FONT_PATHS",
    "HANDOUT_PAGES",
    "JapaneseFontMissingError",
    "MapLabel",
    "MapLayout",
    "MapMarker",
    "find_font",
    "layout_map",
    "page_count",
    "register_font",
    "resident_pdf",
]

#: The most pages a printed handout holds: one A3 sheet folded in two, or two A4 sheets
#: printed on both sides. A longer list is better split by area (one handout each).
HANDOUT_PAGES = 4

#: Environment variable naming a Japanese TrueType font (.ttf/.ttc) to use instead.
FONT_ENV = "TSUNAGU_PDF_FONT"
#: IPAex Gothic ships with the project (maps/fonts, IPA Font License v1.0), so handouts
#: print the same on every machine; no system font is looked for.
BUNDLED_FONT = Path(__file__).resolve().parent / "fonts" / "ipaexg.ttf"
FONT_PATHS: tuple[str, ...] = (str(BUNDLED_FONT),)


class JapaneseFontMissingError(RuntimeError):
    """No usable Japanese TrueType font: the handout would print boxes instead of text."""


# --- the font --------------------------------------------------------------------------

_registered: dict[str, str] = {}


def find_font() -> Path:
    """The Japanese TrueType font to embed: ``$TSUNAGU_PDF_FONT`` when set, else the first
    of :data:`FONT_PATHS` that exists."""
    named = os.environ.get(FONT_ENV, "").strip()
    if named:
        path = Path(named)
        if path.is_file():
            return path
        raise JapaneseFontMissingError(
            f"{FONT_ENV}={named} is not a file. Point it at a Japanese TrueType font "
            "(.ttf), or unset it to use the IPAex Gothic that ships in maps/fonts."
        )
    for candidate in FONT_PATHS:
        path = Path(candidate)
        if path.is_file():
            return path
    raise JapaneseFontMissingError(
        "No Japanese font for the PDF handout: the IPAex Gothic that ships in maps/fonts is "
        f"missing (reinstall the package), or set {FONT_ENV} to a Japanese TrueType font "
        f"(.ttf). Looked in: {', '.join(FONT_PATHS)}."
    )


def register_font() -> str:
    """Register the font found by :func:`find_font` with reportlab (once per file) and
    return its name. reportlab embeds a TrueType font as a subset of the glyphs used."""
    path = find_font()
    key = str(path.resolve())
    if key not in _registered:
        name = f"TsunaguJapanese{len(_registered)}"
        try:
            pdfmetrics.registerFont(TTFont(name, key))
        except (TTFError, OSError) as exc:
            raise JapaneseFontMissingError(
                f"{path} cannot be embedded ({exc}). Use a TrueType font such as the IPAex "
                "Gothic that ships in maps/fonts."
            ) from exc
        _registered[key] = name
    return _registered[key]


# --- paper -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Paper:
    size: tuple[float, float]
    margin: float
    scale: float  # text and markers: an A3 sheet is read from further away (a wall)


_PAPERS = {"A4": _Paper(A4, 12 * mm, 1.0), "A3": _Paper(A3, 15 * mm, 1.3)}
_FOOTER = 7 * mm  # below the frame: title and page number
_INK = colors.HexColor("#1a1a1a")
_MUTED = colors.HexColor("#444444")


# --- the map, laid out as plain data -----------------------------------------------------


@dataclass(frozen=True)
class MapMarker:
    """One numbered marker on paper (points from the map box's lower left corner).

    ``(x, y)`` is the centre of the number, ``(x0, y0)`` the place itself; they differ when
    the number was moved off a crowded spot. ``leader``: a thin line ties the number to a
    dot at its place (moved clear of its place, and the place not under another number).
    """

    x: float
    y: float
    x0: float
    y0: float
    width: float
    height: float
    label: str
    numbers: tuple[int, ...]
    colour: str
    leader: bool = False

    def covers(self, x: float, y: float, margin: float = 0.0) -> bool:
        """Whether the point lies under this number (its ring included, plus ``margin``)."""
        return (
            abs(x - self.x) <= self.width / 2 + _RING + margin
            and abs(y - self.y) <= self.height / 2 + _RING + margin
        )


@dataclass(frozen=True)
class MapLabel:
    """A district name on the map, so residents can find their own district."""

    x: float  # centre
    y: float  # baseline
    text: str
    size: float


@dataclass(frozen=True)
class MapLayout:
    """Everything the map box draws, in points: outlines, district names, markers."""

    width: float
    height: float
    outlines: tuple[tuple[str, str, BaseGeometry], ...]  # (level, code, geometry on paper)
    labels: tuple[MapLabel, ...]
    markers: tuple[MapMarker, ...]
    scale_bar: tuple[float, float] | None  # (metres, points); None when nothing is drawn
    corners: tuple[tuple[float, float, float, float], ...]  # scale bar, north: x, y, w, h


_METRES_PER_DEGREE = 6_371_008.8 * math.pi / 180
_GAP = 3.0  # the least room between two numbers
_RING = 1.9  # the white ring around a number


@dataclass(frozen=True)
class _Extent:
    """The area in a local equirectangular projection: x = (lon − lon0)·cos φ0, y = lat −
    lat0 (degrees), true enough in shape over a town and needing no projection library."""

    lon0: float
    lat0: float
    k: float  # cos φ0
    span_x: float
    span_y: float


def _extent(
    districts: Sequence[MapDistrict],
    points: Sequence[tuple[float, float]],
) -> _Extent | None:
    bounds = bounds_of(districts, points)
    if bounds is None:
        return None
    (south, west), (north, east) = bounds
    k = math.cos(math.radians((south + north) / 2))
    # a lone point still gets ≈100 m around it
    return _Extent(
        (west + east) / 2,
        (south + north) / 2,
        k,
        max((east - west) * k, 1e-3),
        max(north - south, 1e-3),
    )


def _pads(labels: Sequence[str], font: str, number_size: float) -> tuple[float, float]:
    """Room around the area so that a number at its edge stays whole: half the widest
    number across, half a number (and its ring) up and down."""
    height = number_size * 1.6
    widest = max((_marker_size(t, font, number_size)[0] for t in labels), default=height)
    return max(widest, height) / 2 + _RING + 4, height / 2 + _RING + 4


def _natural_height(
    places: Sequence[tuple[float, float, tuple[int, ...], str]],
    districts: Sequence[MapDistrict],
    width: float,
    *,
    font: str,
    number_size: float = 13.0,
) -> float:
    """The height of a map box ``width`` wide that shows the area without empty bands."""
    e = _extent(districts, [(p[0], p[1]) for p in places])
    if e is None:
        return width * 0.6
    pad_x, pad_y = _pads([_label(list(p[2])) for p in places], font, number_size)
    return (width - 2 * pad_x) * e.span_y / e.span_x + 2 * pad_y


def _marker_size(label: str, font: str, size: float) -> tuple[float, float]:
    height = size * 1.6
    return max(height, pdfmetrics.stringWidth(label, font, size) + size * 0.8), height


def _ring_offsets() -> list[np.ndarray]:
    """Offsets around a place, nearest first, in three bands (3 pt apart near the place,
    coarser further out, up to 220 pt), so most numbers are placed from the first band."""
    bands = []
    for radii, step in (
        (np.arange(0, 36, 3.0), 3.0),
        (np.arange(36, 96, 4.0), 4.0),
        (np.arange(96, 220, 6.0), 6.0),
    ):
        points = [np.zeros((1, 2))] if radii[0] == 0 else []
        for r in radii[radii > 0]:
            angles = (
                np.linspace(0, 2 * math.pi, max(8, int(2 * math.pi * r / step)), endpoint=False)
                + math.pi / 2
            )
            points.append(r * np.stack([np.cos(angles), np.sin(angles)], axis=1))
        offsets = np.concatenate(points)
        bands.append(offsets[np.argsort(np.hypot(offsets[:, 0], offsets[:, 1]), kind="stable")])
    return bands


_OFFSETS = _ring_offsets()


def _spread(
    pos: np.ndarray,
    widths: np.ndarray,
    height: float,
    box: tuple[float, float],
    obstacles: Sequence[tuple[float, float, float, float]],
) -> np.ndarray:
    """Where each number goes so that none overlaps another, the box's edge or the corner
    boxes, and every number stays readable in a crowded town centre.

    Numbers are placed one by one, those with room at their place first (they stay on
    it), then the crowded ones, each at the free spot nearest its place (up to 220 pt
    away; a number with no free spot that near stays on its place). Unlike pushing pairs
    apart, this cannot oscillate: a dense cluster becomes a compact block of numbers
    around it, tied to their places by lines.
    """
    n = len(pos)
    edge = _RING + 2
    low = np.stack([widths / 2 + edge, np.full(n, height / 2 + edge)], axis=1)
    high = np.maximum(
        low, np.stack([box[0] - widths / 2 - edge, np.full(n, box[1] - height / 2 - edge)], axis=1)
    )
    start = np.clip(pos, low, high)
    # what is already on the paper: centres and half sizes (the corner boxes first)
    centres = np.array([(x + w / 2, y + h / 2) for x, y, w, h in obstacles]).reshape(-1, 2)
    halves = np.array([(w / 2, h / 2) for _, _, w, h in obstacles]).reshape(-1, 2)
    dx = np.abs(start[None, :, 0] - start[:, None, 0])
    dy = np.abs(start[None, :, 1] - start[:, None, 1])
    crowd = (((widths[:, None] + widths[None, :]) / 2 + _GAP > dx) & (height + _GAP > dy)).sum(1)
    reach = 220 + widths.max(initial=0) + height + 2 * _GAP
    out = start.copy()
    for i in sorted(range(n), key=lambda i: (crowd[i], i)):
        near = (np.abs(centres[:, 0] - start[i, 0]) < reach + halves[:, 0]) & (
            np.abs(centres[:, 1] - start[i, 1]) < reach + halves[:, 1]
        )
        c, hv = centres[near], halves[near]
        for offsets in _OFFSETS:
            spots = np.clip(start[i] + offsets, low[i], high[i])
            apart_x = np.abs(spots[:, None, 0] - c[None, :, 0]) >= widths[i] / 2 + hv[:, 0] + _GAP
            apart_y = np.abs(spots[:, None, 1] - c[None, :, 1]) >= height / 2 + hv[:, 1] + _GAP
            ok = np.flatnonzero((apart_x | apart_y).all(axis=1))
            if len(ok):
                # nearest to the place once clipped to the box (the first ok is nearest
                # before clipping)
                best = ok[np.argmin(np.hypot(*(spots[ok] - start[i]).T))]
                out[i] = spots[best]
                break
        centres = np.vstack([centres, out[i]])
        halves = np.vstack([halves, (widths[i] / 2, height / 2)])
    return out


def layout_map(
    places: Sequence[tuple[float, float, tuple[int, ...], str]],
    districts: Sequence[MapDistrict],
    width: float,
    height: float,
    *,
    font: str,
    number_size: float = 13.0,
    label_size: float = 11.0,
) -> MapLayout:
    """Lay out the static map: project (lat, lon) onto the box, simplify the outlines to
    what paper shows, place the numbered markers (moved off crowded spots so that none
    overlaps another) and the district names where they fit without covering a number.
    Pure data out, so the layout can be tested without reading a PDF.

    ``places`` are (lat, lon, numbers, colour) — one marker per place.
    """
    labels_text = [_label(list(numbers)) for _, _, numbers, _ in places]
    sizes = [_marker_size(t, font, number_size) for t in labels_text]
    marker_h = number_size * 1.6
    pad_x, pad_y = _pads(labels_text, font, number_size)
    e = _extent(districts, [(p[0], p[1]) for p in places])
    if e is None:
        return MapLayout(width, height, (), (), (), None, ())
    # one scale for x and y (aspect kept), the area centred in the box
    scale = min((width - 2 * pad_x) / e.span_x, (height - 2 * pad_y) / e.span_y)

    def project(coords: np.ndarray) -> np.ndarray:
        out = np.empty_like(coords)
        out[:, 0] = (coords[:, 0] - e.lon0) * e.k * scale + width / 2
        out[:, 1] = (coords[:, 1] - e.lat0) * scale + height / 2
        return out

    order = {"municipality": 0, "area": 1, "district": 2}
    outlines = []
    for d in sorted(districts, key=lambda d: (order.get(d.level, 3), d.code)):
        if d.geometry is None or d.geometry.is_empty:
            continue
        on_paper = shapely.simplify(
            shapely.transform(d.geometry, project), 0.3, preserve_topology=True
        )
        if not on_paper.is_empty:
            outlines.append((d.level, d.code, on_paper))

    # Corner boxes: the scale bar (lower left) and the north arrow (upper right).
    s = number_size / 13.0
    metres_per_point = _METRES_PER_DEGREE / scale
    metres = _nice_length(min(width / 4, 110 * s) * metres_per_point)
    bar = metres / metres_per_point
    corners = (
        (4.0, 4.0, bar + 12 * s, 22 * s),
        (width - 4 - 26 * s, height - 4 - 34 * s, 26 * s, 34 * s),
    )
    pos0 = (
        project(np.array([[p[1], p[0]] for p in places], dtype=float))
        if places
        else (np.empty((0, 2)))
    )
    widths = np.array([w for w, _ in sizes], dtype=float)
    pos = _spread(pos0, widths, marker_h, (width, height), corners) if len(places) else pos0
    markers = [
        MapMarker(
            float(pos[i, 0]),
            float(pos[i, 1]),
            float(pos0[i, 0]),
            float(pos0[i, 1]),
            sizes[i][0],
            sizes[i][1],
            labels_text[i],
            tuple(places[i][2]),
            places[i][3],
        )
        for i in range(len(places))
    ]
    # A line only where it shows: a place under its own number (or another) needs none.
    markers = [
        replace(m, leader=not any(o.covers(m.x0, m.y0, 3.0) for o in markers)) for m in markers
    ]

    # District names: the smallest units drawn (districts; areas when there are none),
    # the larger first, each where it fits inside its district clear of the numbers.
    taken: list[BaseGeometry] = [
        shapely.box(
            m.x - m.width / 2 - 2,
            m.y - m.height / 2 - 2,
            m.x + m.width / 2 + 2,
            m.y + m.height / 2 + 2,
        )
        for m in markers
    ]
    taken += [shapely.box(x, y, x + w, y + h) for x, y, w, h in corners]
    taken += [
        shapely.buffer(shapely.LineString([(m.x0, m.y0), (m.x, m.y)]), 3.0)
        for m in markers
        if m.leader
    ]
    parents = {d.parent for d in districts}
    leaves = [d for d in districts if d.level == "district"] or [
        d for d in districts if d.code not in parents
    ]
    paper = {code: g for _, code, g in outlines}
    labels: list[MapLabel] = []
    for d in sorted(
        (d for d in leaves if d.code in paper and d.name),
        key=lambda d: (-paper[d.code].area, d.code),
    ):
        geom = paper[d.code]
        placed = _place_label(d.name, geom, taken, font, (label_size, label_size * 10 / 11))
        if placed is not None:
            label, box = placed
            labels.append(label)
            taken.append(box)
    return MapLayout(
        width, height, tuple(outlines), tuple(labels), tuple(markers), (metres, bar), corners
    )


def _place_label(
    text: str, geom: BaseGeometry, taken: list[BaseGeometry], font: str, sizes: tuple[float, ...]
) -> tuple[MapLabel, BaseGeometry] | None:
    """The first spot (the district's pole of inaccessibility, then around it) where the
    name lies mostly inside its district (its centre inside, and at least 60 % of it) and
    clear of everything already drawn. Small districts in a town centre are smaller than
    their names; wholly inside would leave most of them unnamed."""
    polygons = sorted(
        (g for g in getattr(geom, "geoms", [geom]) if g.geom_type == "Polygon"),
        key=lambda g: -g.area,
    )
    if not polygons or polygons[0].area <= 0 or not polygons[0].is_valid:
        return None  # nothing to name, or a broken outline: no name rather than a crash
    body = polygons[0]
    centre = polylabel(body, tolerance=1.0)  # the point farthest inside: room for a name
    for size in sizes:
        w = pdfmetrics.stringWidth(text, font, size) + 3
        h = size * 1.15
        for fx, fy in (
            (0, 0),
            (0, 1.2),
            (0, -1.2),
            (0.6, 0),
            (-0.6, 0),
            (0, 2.4),
            (0, -2.4),
            (0.6, 1.2),
            (-0.6, -1.2),
            (0.6, -1.2),
            (-0.6, 1.2),
        ):
            cx, cy = centre.x + fx * w, centre.y + fy * h
            box = shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            inside = body.contains(shapely.Point(cx, cy)) and (
                body.intersection(box).area >= 0.6 * box.area
            )
            if inside and not any(box.intersects(t) for t in taken):
                return MapLabel(cx, cy - size * 0.36, text, size), box
    return None


# --- drawing -----------------------------------------------------------------------------

_LINE = {  # colour, width, dash — as the HTML maps' district styles
    "district": ("#5f6368", 0.8, None),
    "area": ("#37474f", 2.0, None),
    "municipality": ("#263238", 2.4, (6, 4)),
}
_BLANK = colors.HexColor("#e9edf0")


def _draw_marker(
    c: Canvas,
    x: float,
    y: float,
    w: float,
    h: float,
    label: str,
    colour: str,
    font: str,
    size: float,
) -> None:
    """A number on its colour, with a white ring and a dark edge: high contrast on any
    background, and the number faux-bold (IPAex Gothic has one weight)."""
    c.saveState()
    c.setLineWidth(0.9)
    c.setStrokeColor(colors.HexColor("#222222"))
    c.setFillColor(colors.white)
    c.roundRect(
        x - w / 2 - _RING,
        y - h / 2 - _RING,
        w + 2 * _RING,
        h + 2 * _RING,
        h / 2 + _RING,
        stroke=1,
        fill=1,
    )
    c.setFillColor(colors.HexColor(colour))
    c.roundRect(x - w / 2, y - h / 2, w, h, h / 2, stroke=0, fill=1)
    ink = colors.HexColor(text_colour(colour))
    c.setFillColor(ink)
    c.setStrokeColor(ink)
    c.setLineWidth(size * 0.045)
    c.setFont(font, size)
    c.drawCentredString(x, y - size * 0.36, label, mode=2)
    c.restoreState()


def _paths(c: Canvas, geom: BaseGeometry) -> Any:
    path = c.beginPath()
    for poly in getattr(geom, "geoms", [geom]):
        for ring in (poly.exterior, *poly.interiors):
            xy = np.asarray(ring.coords)
            path.moveTo(*xy[0])
            for px, py in xy[1:]:
                path.lineTo(px, py)
            path.close()
    return path


def _nice_length(max_metres: float) -> float:
    """The longest round length (10 m, 20 m, 50 m, … 100 km) not over ``max_metres``."""
    lengths = (
        10,
        20,
        50,
        100,
        200,
        250,
        500,
        1000,
        2000,
        2500,
        5000,
        10_000,
        20_000,
        50_000,
        100_000,
    )
    return max((m for m in lengths if m <= max_metres), default=lengths[0])


def _draw_map(c: Canvas, m: MapLayout, font: str, number_size: float) -> None:
    c.saveState()
    clip = c.beginPath()
    clip.rect(0, 0, m.width, m.height)
    c.clipPath(clip, stroke=0, fill=0)
    c.setFillColor(_BLANK)
    c.rect(0, 0, m.width, m.height, stroke=0, fill=1)
    c.setLineJoin(1)
    c.setFillColor(colors.white)
    for _, _, geom in m.outlines:  # white ground under every district
        if geom.geom_type in ("Polygon", "MultiPolygon"):
            c.drawPath(_paths(c, geom), stroke=0, fill=1, fillMode=FILL_EVEN_ODD)
    for wanted in ("district", "area", "municipality"):
        colour, width, dash = _LINE[wanted]
        for level, _, geom in m.outlines:
            if level == wanted and geom.geom_type in ("Polygon", "MultiPolygon"):
                c.setStrokeColor(colors.HexColor(colour))
                c.setLineWidth(width)
                if dash:
                    c.setDash(*dash)
                else:
                    c.setDash()
                c.drawPath(_paths(c, geom), stroke=1, fill=0)
    c.setDash()
    for label in m.labels:  # a white halo, then the name
        c.setFont(font, label.size)
        c.setLineWidth(label.size * 0.28)
        c.setStrokeColor(colors.white)
        c.drawCentredString(label.x, label.y, label.text, mode=1)
        c.setFillColor(colors.HexColor("#3c4043"))
        c.drawCentredString(label.x, label.y, label.text, mode=0)
    for mk in m.markers:  # leader lines under every number, then the numbers
        if mk.leader:
            c.setStrokeColor(colors.HexColor("#222222"))
            c.setLineWidth(1.2)
            c.line(mk.x0, mk.y0, mk.x, mk.y)
            c.setFillColor(colors.white)
            c.setLineWidth(1)
            c.circle(mk.x0, mk.y0, 2.6, stroke=1, fill=1)
    for mk in m.markers:
        _draw_marker(c, mk.x, mk.y, mk.width, mk.height, mk.label, mk.colour, font, number_size)
    s = number_size / 13.0
    if m.scale_bar and m.corners:
        x, y, w, h = m.corners[0]
        metres, bar = m.scale_bar
        c.setFillColor(colors.Color(1, 1, 1, alpha=0.9))
        c.setStrokeColor(colors.HexColor("#666666"))
        c.setLineWidth(0.5)
        c.rect(x, y, w, h, stroke=1, fill=1)
        c.setStrokeColor(_INK)
        c.setLineWidth(1.5)
        bx, by = x + 6 * s, y + 6 * s
        c.line(bx, by, bx + bar, by)
        c.line(bx, by - 0.5, bx, by + 4 * s)
        c.line(bx + bar, by - 0.5, bx + bar, by + 4 * s)
        c.setFillColor(_INK)
        c.setFont(font, 9 * s)
        c.drawString(
            bx + 2, by + 4 * s, f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"
        )
        x, y, w, h = m.corners[1]
        c.setFillColor(colors.Color(1, 1, 1, alpha=0.9))
        c.setStrokeColor(colors.HexColor("#666666"))
        c.setLineWidth(0.5)
        c.rect(x, y, w, h, stroke=1, fill=1)
        c.setFillColor(_INK)
        arrow = c.beginPath()
        arrow.moveTo(x + w / 2, y + h - 4 * s)
        arrow.lineTo(x + w / 2 + 6 * s, y + h - 16 * s)
        arrow.lineTo(x + w / 2, y + h - 13 * s)
        arrow.lineTo(x + w / 2 - 6 * s, y + h - 16 * s)
        arrow.close()
        c.drawPath(arrow, stroke=0, fill=1)
        c.setFont(font, 11 * s)
        c.drawCentredString(x + w / 2, y + 5 * s, _t(N_("N (north)")))
    c.restoreState()
    c.setStrokeColor(colors.HexColor("#666666"))
    c.setLineWidth(0.8)
    c.rect(0, 0, m.width, m.height, stroke=1, fill=0)


class _MapBox(Flowable):
    """The laid-out map as a flowable of fixed size."""

    def __init__(self, layout: MapLayout, font: str, number_size: float):
        super().__init__()
        self.layout = layout
        self.font = font
        self.number_size = number_size
        self.width, self.height = layout.width, layout.height

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        _draw_map(self.canv, self.layout, self.font, self.number_size)


class _Sample(Flowable):
    """A marker, swatch, leader line or district line as drawn on the map, for the legend."""

    def __init__(
        self, kind: str, font: str, size: float, *, label: str = "", colour: str = "#0072B2"
    ):
        super().__init__()
        self.kind, self.font, self.size, self.label, self.colour = kind, font, size, label, colour
        if kind == "marker":
            self.width, self.height = _marker_size(label, font, size)
            self.width += 4
            self.height += 4
        elif kind == "swatch":
            self.width = self.height = size * 1.1
        else:
            self.width, self.height = size * 2.6, size * 1.3

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        c = self.canv
        w, h = self.width, self.height
        if self.kind == "marker":
            _draw_marker(
                c, w / 2, h / 2, w - 4, h - 4, self.label, self.colour, self.font, self.size
            )
        elif self.kind == "swatch":
            c.setFillColor(colors.HexColor(self.colour))
            c.setStrokeColor(colors.HexColor("#222222"))
            c.setLineWidth(0.8)
            c.circle(w / 2, h / 2, w / 2 - 0.5, stroke=1, fill=1)
        elif self.kind == "leader":
            c.setStrokeColor(colors.HexColor("#222222"))
            c.setLineWidth(1.2)
            c.line(3, h / 2, w, h / 2)
            c.setFillColor(colors.white)
            c.setLineWidth(1)
            c.circle(3, h / 2, 2.6, stroke=1, fill=1)
        else:  # district line
            colour, width, _ = _LINE["district"]
            c.setStrokeColor(colors.HexColor(colour))
            c.setLineWidth(width)
            c.line(0, h / 2, w, h / 2)
            colour, width, _ = _LINE["area"]
            c.setStrokeColor(colors.HexColor(colour))
            c.setLineWidth(width)
            c.line(0, h / 2 - 4, w, h / 2 - 4)


# --- the document ------------------------------------------------------------------------


def _styles(font: str, scale: float) -> dict[str, ParagraphStyle]:
    def style(name: str, size: float, **kw: Any) -> ParagraphStyle:
        lead = kw.pop("lead", 1.4)
        return ParagraphStyle(
            name,
            **(
                {
                    "fontName": font,
                    "fontSize": size * scale,
                    "leading": size * scale * lead,
                    "textColor": _INK,
                    "wordWrap": "CJK",
                }
                | kw
            ),
        )

    return {
        "title": style("title", 22, lead=1.25),
        "sub": style("sub", 12.5),
        "h2": style("h2", 15, lead=1.3, spaceBefore=3 * mm, spaceAfter=1.5 * mm),
        "body": style("body", 11.5),
        # Japanese line breaking hangs a character that may not start a line (ー, ）, 。)
        # past the right edge: one character of right indent keeps it inside the cell.
        "name": style("name", 12.5, lead=1.3, rightIndent=12.5 * scale),
        "cell": style("cell", 11.5, lead=1.35, rightIndent=11.5 * scale),
        # a phone number is never cut: Western wrapping breaks at spaces only
        "phone": style("phone", 11.5, lead=1.35, wordWrap=None),
        "head": style("head", 11, lead=1.2, textColor=colors.white),
        "num": style("num", 13, lead=1.2, alignment=TA_CENTER),
        "legend": style("legend", 11.5, lead=1.3),
        "credit": style("credit", 8, lead=1.3, textColor=_MUTED),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


#: The handout's language while :func:`resident_pdf` builds it (reportlab calls back into
#: the drawing code, so the language travels with the call rather than through every helper).
_LANG: ContextVar[str] = ContextVar("tsunagu_pdf_lang", default="ja")
_NUMBERED_HEADS = (N_("No."), N_("Name and place"), N_("Kind"), N_("When"), N_("Phone"))
_VISITING_HEADS = (N_("Name and the districts it comes to"), N_("Kind"), N_("When"), N_("Phone"))


def _t(msgid: str, **params: Any) -> str:
    """``msgid`` in the handout's language."""
    return translate(msgid, _LANG.get(), **params)


def _category_cell(
    r: PublicResource, numbering: HandoutNumbering, style: ParagraphStyle
) -> list[Paragraph]:
    """The resource's kinds, one to a line (so 見守り・安否確認 is not cut in the middle)."""
    labels = [numbering.styles[c].label if c in numbering.styles else c for c in r.categories]
    return [_p(label, style) for label in labels or [_t(N_("Other"))]]


def _table(
    rows: list[list[Any]], widths: list[float], extra: list[tuple[Any, ...]], font: str
) -> Table:
    """A list table whose header row repeats on every page it flows onto."""
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                # Tables select their cell font even for paragraphs: never reportlab's Helvetica
                # (not embedded), so every font in the file is the embedded Japanese one.
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#0b5394")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.6, colors.HexColor("#888888")),
                ("BOX", (0, 0), (-1, -1), 0.8, colors.HexColor("#555555")),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
                *extra,
            ]
        )
    )
    return table


def _numbered_table(
    numbering: HandoutNumbering, st: dict[str, ParagraphStyle], width: float, style_of: Any
) -> Table:
    cols = [0.065, 0.285, 0.215, 0.25, 0.185]
    rows: list[list[Any]] = [[_p(_t(h), st["head"]) for h in _NUMBERED_HEADS]]
    extra: list[tuple[Any, ...]] = []
    for i, (n, r) in enumerate(numbering.located, start=1):
        colour = style_of(r).colour
        num = ParagraphStyle(
            f"num{n}", parent=st["num"], textColor=colors.HexColor(text_colour(colour))
        )
        where = " ".join(p for p in (r.place, r.address) if p)
        name = [_p(r.name, st["name"])] + ([_p(where, st["cell"])] if where else [])
        rows.append(
            [
                Paragraph(str(n), num),
                name,
                _category_cell(r, numbering, st["cell"]),
                _p(r.schedule, st["cell"]),
                _p(r.phone or "", st["phone"]),
            ]
        )
        extra.append(("BACKGROUND", (0, i), (0, i), colors.HexColor(colour)))
    return _table(rows, [c * width for c in cols], extra, st["cell"].fontName)


def _visiting_table(
    numbering: HandoutNumbering,
    districts: Sequence[MapDistrict],
    st: dict[str, ParagraphStyle],
    width: float,
) -> Table:
    cols = [0.35, 0.215, 0.25, 0.185]
    rows: list[list[Any]] = [[_p(_t(h), st["head"]) for h in _VISITING_HEADS]]
    for r in numbering.visiting:
        served = _served_words(r.districts, districts, _LANG.get())
        name = [_p(r.name, st["name"])] + (
            [_p(_t(N_("For: {districts}"), districts=served), st["cell"])] if served else []
        )
        rows.append(
            [
                name,
                _category_cell(r, numbering, st["cell"]),
                _p(r.schedule, st["cell"]),
                _p(r.phone or "", st["phone"]),
            ]
        )
    return _table(rows, [c * width for c in cols], [], st["cell"].fontName)


def _legend(
    numbering: HandoutNumbering,
    layout: MapLayout | None,
    font: str,
    scale: float,
    st: dict[str, ParagraphStyle],
    width: float,
    style_of: Any,
) -> Table:
    """「地図の見かた」 in plain Japanese. With ``layout`` None, every line that may appear
    (to reserve its room before the map is laid out)."""
    size = 13 * scale
    rows: list[list[Any]] = []
    # the widest sample sets the first column (and so the room left for the kinds)
    first = max(14 * mm * scale, _Sample("marker", font, size, label="2・3").width + 6)
    if numbering.located:
        rows.append(
            [
                _Sample("marker", font, size, label="1"),
                _p(_t(N_("The number in a circle is its number in the list.")), st["legend"]),
            ]
        )
        on_map = [
            s
            for s in numbering.styles.values()
            if any(style_of(r).code == s.code for _, r in numbering.located)
        ]
        if any(
            not r.categories or r.categories[0] not in numbering.styles
            for _, r in numbering.located
        ):
            on_map.append(CategoryStyle("", _t(N_("Other")), MIXED_COLOUR, ""))
        kinds = [
            [_Sample("swatch", font, size, colour=s.colour), _p(s.label, st["legend"])]
            for s in on_map
        ]
        per_row = 3
        grid: list[list[Flowable | str]] = [
            [cell for kind in kinds[i : i + per_row] for cell in kind]
            for i in range(0, len(kinds), per_row)
        ]
        for row in grid:
            row += [""] * (2 * per_row - len(row))
        inner_w = width - first - 4
        kinds_table = Table(grid, colWidths=[size * 1.5, inner_w / per_row - size * 1.5] * per_row)
        kinds_table.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), font),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 2),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                    ("TOPPADDING", (0, 0), (-1, -1), 1),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                ]
            )
        )
        rows.append(["", _p(_t(N_("The colour is the kind of activity:")), st["legend"])])
        rows.append(["", kinds_table])
        if len(numbering.places) < len(numbering.located):
            rows.append(
                [
                    _Sample("marker", font, size, label="2・3", colour=MIXED_COLOUR),
                    _p(_t(N_("Several activities in the same place.")), st["legend"]),
                ]
            )
        if layout is None or any(m.leader for m in layout.markers):
            rows.append(
                [
                    _Sample("leader", font, size),
                    _p(
                        _t(
                            N_(
                                "Where a number was moved so as not to overlap, the white dot "
                                "at the end of its line is the place."
                            )
                        ),
                        st["legend"],
                    ),
                ]
            )
    rows.append(
        [
            _Sample("line", font, size),
            _p(_t(N_("The lines are the borders of the districts.")), st["legend"]),
        ]
    )
    table = Table(rows, colWidths=[first, width - first])
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ALIGN", (0, 0), (0, -1), "CENTER"),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    return table


def _height(flowables: Sequence[Flowable], width: float, avail: float) -> float:
    """How tall the flowables are, one under the other, with their spacing."""
    return sum(f.wrap(width, avail)[1] + f.getSpaceBefore() + f.getSpaceAfter() for f in flowables)


def _footer_canvas(title: str, font: str, paper: _Paper) -> type[Canvas]:
    """A canvas that writes 「title　n / N ページ」 under every page once N is known."""

    class FooterCanvas(Canvas):
        def __init__(self, *args: Any, **kw: Any) -> None:
            super().__init__(*args, **kw)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()  # type: ignore[attr-defined]  # private; not in types-reportlab

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self.setFont(font, 9 * paper.scale)
                self.setFillColor(_MUTED)
                y = paper.margin - 1 * mm
                self.drawString(paper.margin, y, title)
                self.drawRightString(
                    paper.size[0] - paper.margin,
                    y,
                    _t(N_("page {number} of {total}"), number=number, total=total),
                )
                super().showPage()
            super().save()

    return FooterCanvas


def page_count(pdf: bytes) -> int:
    """Pages of a PDF this module wrote: the ``/Count`` of its page tree (reportlab
    writes one flat tree, its dictionaries never compressed). Why: a handout longer than
    :data:`HANDOUT_PAGES` is worth a warning before it is printed."""
    counts = [int(n) for n in re.findall(rb"/Count (\d+)", pdf)]
    return max(counts, default=0)


def resident_pdf(
    resources: Sequence[PublicResource],
    districts: Sequence[MapDistrict],
    *,
    credits: Sequence[str | Mapping[str, Any]],
    title: str,
    subtitle: str | None = None,
    as_of: dt.date | None = None,
    page: str = "A4",
    contact: str | None = None,
    lang: str = "ja",
) -> bytes:
    """The resident handout as PDF bytes: page 1 the map, legend and credits, then the
    numbered list (numbers as in :func:`maps.resident_map` for the same inputs) and the
    services without a place with the districts they serve.

    ``page`` is ``"A4"`` (portrait) or ``"A3"`` (portrait, larger text and markers).
    Raises ``TypeError`` for anything but :class:`PublicResource` (a published handout
    takes no other data), ``ValueError`` for another paper, and
    :class:`JapaneseFontMissingError` when no Japanese TrueType font can be embedded.
    ``lang`` words the handout (Japanese by default; the data stays as recorded).
    """
    token = _LANG.set(lang)
    try:
        return _resident_pdf(resources, districts, credits, title, subtitle, as_of, page, contact)
    finally:
        _LANG.reset(token)


def _resident_pdf(
    resources: Sequence[PublicResource],
    districts: Sequence[MapDistrict],
    credits: Sequence[str | Mapping[str, Any]],
    title: str,
    subtitle: str | None,
    as_of: dt.date | None,
    page: str,
    contact: str | None,
) -> bytes:
    lang = _LANG.get()
    for r in resources:
        if type(r) is not PublicResource:
            raise TypeError(
                "resident_pdf accepts PublicResource only (public, active resources from "
                f"directory.map_data.public_resources), got {type(r).__name__}"
            )
    paper = _PAPERS.get(page.upper())
    if paper is None:
        raise ValueError(f"page must be one of {', '.join(_PAPERS)}, not {page!r}")
    font = register_font()
    numbering = number_resources(resources)
    if lang != "ja":
        styles = {s.code: s for s in category_styles(numbering.styles, lang)}
        numbering = replace(numbering, styles=styles)
    fallback = CategoryStyle("", _t(N_("Other")), MIXED_COLOUR, "")

    def style_of(r: PublicResource) -> CategoryStyle:
        return numbering.styles.get(r.categories[0], fallback) if r.categories else fallback

    st = _styles(font, paper.scale)
    page_w, page_h = paper.size
    width = page_w - 2 * paper.margin
    frame_h = page_h - 2 * paper.margin - _FOOTER

    head: list[Flowable] = [_p(title, st["title"])]
    if subtitle:
        head.append(_p(subtitle, st["sub"]))
    if as_of:
        when = japanese_date(as_of, lang)
        head.append(
            _p(_t(N_("The information on this map is as of {date}."), date=when), st["sub"])
        )
    head.append(Spacer(1, 2 * mm))
    credit_texts = _credit_texts(credits)
    credit_block: list[Flowable] = [
        Spacer(1, 1.5 * mm),
        _p(_t(N_("Sources and credits")), st["credit"]),
    ]
    credit_block += [_p(f"・{t}", st["credit"]) for t in credit_texts]

    # Place the map so that the legend and credits still fit under it on page 1.
    number_size = 13 * paper.scale
    places = [
        (
            lat,
            lon,
            tuple(n for n, _ in group),
            style_of(group[0][1]).colour
            if len({style_of(r).code for _, r in group}) == 1
            else MIXED_COLOUR,
        )
        for (lat, lon), group in numbering.places
    ]
    used = sum(f.wrap(width, frame_h)[1] for f in head)
    used += _legend(numbering, None, font, paper.scale, st, width, style_of).wrap(width, frame_h)[1]
    used += sum(f.wrap(width, frame_h)[1] for f in credit_block) + 3 * mm + 6
    natural = _natural_height(places, districts, width, font=font, number_size=number_size)
    map_h = max(min(natural, frame_h - used), 90 * mm * paper.scale)
    layout = layout_map(
        places,
        districts,
        width,
        map_h,
        font=font,
        number_size=number_size,
        label_size=11 * paper.scale,
    )

    page_one: list[Flowable] = [
        *head,
        _MapBox(layout, font, number_size),
        Spacer(1, 1.5 * mm),
        _legend(numbering, layout, font, paper.scale, st, width, style_of),
        *credit_block,
    ]
    rest: list[Flowable] = [_p(_t(N_("List (the numbers are those on the map)")), st["h2"])]
    if numbering.located:
        rest.append(_numbered_table(numbering, st, width, style_of))
    else:
        rest.append(_p(_t(N_("No activities to show on the map yet.")), st["body"]))
    if numbering.visiting:
        rest += [
            CondPageBreak(40 * mm),
            _p(
                _t(N_("Support without a place on the map (such as help that comes to the home)")),
                st["h2"],
            ),
            _visiting_table(numbering, districts, st, width),
        ]
    if contact:
        rest += [_p(_t(N_("Contact")), st["h2"]), _p(contact, st["body"])]
    # Page 1 is the map sheet (on a wall, or the front of a double-sided handout): the
    # list shares it only when the whole of it fits there, else it starts on page 2.
    room = frame_h - _height(page_one, width, frame_h)
    fits = _height(rest, width, frame_h) <= room - 2 * mm
    story = [*page_one, *([] if fits else [PageBreak()]), *rest]

    out = io.BytesIO()
    doc = BaseDocTemplate(
        out,
        pagesize=paper.size,
        leftMargin=paper.margin,
        rightMargin=paper.margin,
        topMargin=paper.margin,
        bottomMargin=paper.margin + _FOOTER,
        title=title,
        subject=subtitle or "",
        creator="Tsunagu",
        lang="en" if lang == "en" else "ja-JP",
        initialFontName=font,
    )
    frame = Frame(
        paper.margin,
        paper.margin + _FOOTER,
        width,
        frame_h,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id="body",
    )
    doc.addPageTemplates([PageTemplate(id="handout", frames=[frame])])
    doc.build(story, canvasmaker=_footer_canvas(title, font, paper))
    return out.getvalue()
