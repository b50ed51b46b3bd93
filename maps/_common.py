"""What every map shares: tiles, the page, district outlines, category styles, bounds."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import folium
import shapely
from folium.map import Layer
from folium.template import Template
from shapely.geometry import mapping

from directory.i18n import N_, translate
from directory.map_data import MapDistrict
from directory.taxonomy import Category, load_taxonomy
from maps import assets
from maps._fa_icons import ATTRIBUTION as ICON_ATTRIBUTION
from maps._fa_icons import ICONS
from maps._page import Page, Raw, SafeMacro, StyleSheet, esc, js_string, json_island

__all__ = [
    "DEFAULT_TILES",
    "GSI_PALE",
    "ICON_ATTRIBUTION",
    "ICON_CREDIT_HTML",
    "OSM",
    "AttributionNote",
    "CategoryStyle",
    "DistrictLayer",
    "LegendControl",
    "Tiles",
    "bounds_of",
    "category_icon_svg",
    "category_styles",
    "credits_html",
    "finish",
    "icon_credit_html",
    "japanese_date",
    "new_map",
    "text_colour",
    "vendored",
]

# Japan, for an empty map.
_JAPAN = ((30.0, 129.0), (45.5, 146.0))


@dataclass(frozen=True)
class Tiles:
    """A background tile layer; ``attribution`` is HTML (Leaflet shows it as such)."""

    name: str
    url: str
    attribution: str
    max_native_zoom: int = 18


GSI_PALE = Tiles(
    name="地理院タイル（淡色地図）",
    url="https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png",
    attribution='<a href="https://maps.gsi.go.jp/development/ichiran.html">地理院タイル</a>',
    max_native_zoom=18,
)
OSM = Tiles(
    name="OpenStreetMap",
    url="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    attribution='&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
    max_native_zoom=19,
)
#: The first is shown; the others are alternatives in the layer control.
DEFAULT_TILES: tuple[Tiles, ...] = (GSI_PALE, OSM)


# --- categories ------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryStyle:
    code: str
    label: str
    colour: str
    svg: str  # the icon as inline SVG (white on the colour), or "" when unknown


def category_icon_svg(icon: str, *, css_class: str = "tsunagu-glyph") -> str:
    """The taxonomy's Font Awesome 4 icon name as inline SVG, or "" when not vendored.

    Inline SVG instead of the Font Awesome webfont: nothing to download or to inline per
    page, crisp in print, and the same in every browser.
    """
    found = ICONS.get(icon)
    if found is None:
        return ""
    view_box, path = found
    return (
        f'<svg class="{css_class}" viewBox="{view_box}" aria-hidden="true" '
        f'focusable="false"><path d="{path}"/></svg>'
    )


def category_styles(codes: Iterable[str] | None = None, lang: str = "ja") -> list[CategoryStyle]:
    """Colour, label (in ``lang``) and icon of each category (all when None), in taxonomy
    order.

    The taxonomy is the single source of truth for styling; unknown codes get a neutral
    style rather than breaking a published map.
    """
    taxonomy = load_taxonomy()
    wanted = None if codes is None else set(codes)
    styles = [_style(cat, lang) for cat in taxonomy if wanted is None or cat.code in wanted]
    for code in sorted((wanted or set()) - {cat.code for cat in taxonomy}):
        styles.append(CategoryStyle(code, code, "#607D8B", ""))
    return styles


def _style(cat: Category, lang: str = "ja") -> CategoryStyle:
    return CategoryStyle(cat.code, cat.label(lang), cat.colour, category_icon_svg(cat.icon))


def text_colour(background: str) -> str:
    """Black or white, whichever reads better on ``background`` (#rrggbb), for large
    numbers on coloured markers (WCAG relative luminance)."""
    r, g, b = (int(background[i : i + 2], 16) / 255 for i in (1, 3, 5))

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    return "#000000" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#FFFFFF"


# --- the map and its page --------------------------------------------------------------

BASE_CSS = """
:root { --tsunagu-ink: #1a1a1a; --tsunagu-muted: #5f6368; --tsunagu-blank: #e9edf0; }
html, body { margin: 0; padding: 0; }
body { font-family: "Hiragino Kaku Gothic ProN", "Yu Gothic", "Meiryo", "IPAexGothic",
       "Noto Sans CJK JP", sans-serif; color: var(--tsunagu-ink); }
/* A plain background, so districts and markers still show when tiles cannot load. */
.leaflet-container, .tsunagu-map-pane { background: var(--tsunagu-blank); }
body.tsunagu-full .tsunagu-map-pane { position: absolute; inset: 0; }
body.tsunagu-full .folium-map { position: absolute !important; inset: 0; width: 100% !important;
                                height: 100% !important; }
.tsunagu-box { background: rgba(255,255,255,.95); border: 1px solid #999; border-radius: 6px;
               padding: .5rem .75rem; font-size: 14px; line-height: 1.5;
               box-shadow: 0 1px 4px rgba(0,0,0,.25); max-width: 22rem; }
.tsunagu-box h2 { font-size: 15px; margin: 0 0 .3rem; }
.tsunagu-box ul { list-style: none; margin: 0; padding: 0; }
.tsunagu-box li { display: flex; align-items: center; gap: .4rem; margin: .15rem 0; }
.tsunagu-swatch { display: inline-flex; align-items: center; justify-content: center;
                  width: 1.3em; height: 1.3em; border-radius: 50%; flex: none;
                  border: 1px solid rgba(0,0,0,.35); vertical-align: middle; }
.tsunagu-swatch svg { width: .8em; height: .8em; fill: #fff; }
.tsunagu-district-label { background: transparent; border: 0; box-shadow: none;
                          color: #3c4043; font-size: 11px; font-weight: bold;
                          text-shadow: 0 0 2px #fff, 0 0 2px #fff, 0 0 2px #fff; }
.tsunagu-district-label::before { display: none; }
.tsunagu-popup { font-size: 14px; line-height: 1.5; min-width: 12rem; }
.tsunagu-popup strong { font-size: 15px; }
.tsunagu-popup dl { display: grid; grid-template-columns: auto 1fr; gap: 0 .6rem; margin: .3rem 0 0; }
.tsunagu-popup dt { color: var(--tsunagu-muted); }
.tsunagu-popup dd { margin: 0; }
.tsunagu-badge { display: inline-block; font-size: 12px; padding: 0 .35rem; border-radius: 3px;
                 margin-left: .3rem; background: #eee; color: #444; }
.tsunagu-badge.paused { background: #616161; color: #fff; }
.tsunagu-badge.ended { background: #212121; color: #fff; }
.tsunagu-badge.private { background: #fde2e2; color: #8a1c1c; }
.tsunagu-staff-only { position: absolute; top: 0; left: 50%; transform: translateX(-50%);
                      z-index: 1000; background: #8a1c1c; color: #fff; font-size: 13px;
                      padding: .1rem .8rem; border-radius: 0 0 6px 6px; }
.leaflet-control-layers-overlays label, .leaflet-control-layers-base label { font-size: 14px; }
"""

# Escapes text for HTML in the browser; every popup and list built in JS goes through it.
JS_HELPERS = """
function tsunaguEsc(s) {
  return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
    return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
  });
}
function tsunaguData(id) { return JSON.parse(document.getElementById(id).textContent); }
"""


def new_map(
    title: str,
    *,
    tiles: Sequence[Tiles],
    body_class: str = "tsunagu-full",
    staff_only: bool = False,
    control_scale: bool = True,
    extra_css: str = "",
    lang: str = "ja",
) -> folium.Map:
    """A map on a :class:`Page` in ``lang``, with the tile layers (the first one shown)
    and our CSS.

    ``staff_only`` marks working maps (coordinator, unmet, need) with a banner and keeps
    them out of search indexes.
    """
    page = Page(title, body_class=body_class, robots_noindex=staff_only, lang=lang)
    m = folium.Map(
        location=(38.0, 138.0),
        zoom_start=6,
        tiles=None,
        control_scale=control_scale,
        zoom_snap=0.25,
    )
    page.add_child(m)
    for i, t in enumerate(tiles):
        folium.TileLayer(
            tiles=t.url,
            attr=t.attribution,
            name=t.name,
            overlay=False,
            control=True,
            show=(i == 0),
            max_native_zoom=t.max_native_zoom,
            max_zoom=19,
        ).add_to(m)
    m.add_child(StyleSheet(BASE_CSS + extra_css), name="tsunagu_css")
    page.header.add_child(Raw(f"<script>{JS_HELPERS}</script>"), name="tsunagu_helpers")
    if staff_only:
        page.before.add_child(
            Raw(
                '<div class="tsunagu-staff-only">'
                + esc(
                    translate(
                        N_(
                            "For staff (contains personal and unpublished information: "
                            "do not hand it out)"
                        ),
                        lang,
                    )
                )
                + "</div>"
            )
        )
    return m


def finish(
    m: folium.Map,
    bounds: tuple[tuple[float, float], tuple[float, float]] | None,
    *,
    layer_control: bool = True,
    collapsed: bool = True,
) -> folium.Map:
    """Fit the view, add the layer control last (it lists the layers present when it
    renders) and point the assets at the app's vendored copies (fail closed: no CDN)."""
    (south, west), (north, east) = bounds or _JAPAN
    m.location = [(south + north) / 2, (west + east) / 2]
    m.fit_bounds([[south, west], [north, east]], padding=(12, 12))
    if layer_control:
        folium.LayerControl(collapsed=collapsed, position="topright").add_to(m)
    assets.lean(m)
    return assets.use_vendored(m)


def vendored(*names: str) -> list[tuple[str, str]]:
    """JS/CSS links for ``JSCSSMixin.default_js``/``default_css``, by asset name, on the
    app's vendored URLs (never a CDN)."""
    return [(n, f"{assets.DEFAULT_BASE_URL}/{assets.ASSETS[n].path}") for n in names]


class LegendControl(SafeMacro):
    """A box on the map (a Leaflet control) with fixed, already escaped HTML."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function (map) {
  var c = L.control({position: {{ this.position|tojson }}});
  c.onAdd = function () {
    var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
    div.innerHTML = {{ this.content_js }};
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  c.addTo(map);
})({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(
        self,
        content: str,
        *,
        position: str = "bottomleft",
        css_class: str = "tsunagu-box tsunagu-legend",
    ):
        super().__init__()
        self._name = "TsunaguLegend"
        self.content_js = js_string(content)
        self.position = position
        self.css_class = css_class


class AttributionNote(SafeMacro):
    """An extra credit in Leaflet's attribution line (e.g. the icons' licence)."""

    _template = Template("""
{% macro script(this, kwargs) %}
{{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.content_js }});
{% endmacro %}
""")

    def __init__(self, content: str):
        super().__init__()
        self._name = "TsunaguAttribution"
        self.content_js = js_string(content)


ICON_CREDIT_HTML = (
    'アイコン：<a href="https://fontawesome.com/license/free">Font Awesome Free</a>（CC BY 4.0）'
)


def icon_credit_html(lang: str = "ja") -> str:
    """The icon licence line shown on the map (:data:`ICON_CREDIT_HTML` in Japanese)."""
    return translate(
        N_("Icons: {link} (CC BY 4.0)"),
        lang,
        link='<a href="https://fontawesome.com/license/free">Font Awesome Free</a>',
    )


# --- districts -------------------------------------------------------------------------

_LEVEL_STYLE = {
    # Visible without tiles: white fill over the blank background, grey outlines.
    "district": {"color": "#5f6368", "weight": 1.2, "fillColor": "#ffffff", "fillOpacity": 0.45},
    "area": {"color": "#37474f", "weight": 3, "fill": False},
    "municipality": {"color": "#263238", "weight": 4, "dashArray": "8 6", "fill": False},
}


def district_features(
    districts: Sequence[MapDistrict],
    *,
    tolerance: float = 2e-5,
    levels: Iterable[str] = ("municipality", "area", "district"),
) -> list[dict[str, Any]]:
    """GeoJSON features of the districts, simplified (≈2 m) and rounded (≈1 m) for size."""
    wanted = set(levels)
    order = {"municipality": 0, "area": 1, "district": 2}
    features = []
    # Larger first within a level: their labels win when labels would overlap.
    for d in sorted(districts, key=lambda d: (order.get(d.level, 3), -_area(d), d.code)):
        if d.level not in wanted or d.geometry is None or d.geometry.is_empty:
            continue
        geom = shapely.set_precision(
            shapely.simplify(d.geometry, tolerance, preserve_topology=True), 1e-5
        )
        features.append(
            {
                "type": "Feature",
                "properties": {"code": d.code, "name": d.name, "level": d.level},
                "geometry": mapping(geom),
            }
        )
    return features


def _area(d: MapDistrict) -> float:
    return 0.0 if d.geometry is None else float(d.geometry.area)


class DistrictLayer(Layer, SafeMacro):
    """District outlines as a Leaflet GeoJSON layer, drawn below the markers.

    ``labels``: ``"districts"`` names every 行政区 permanently (resident handouts),
    ``"labelled"`` shows permanent labels only where ``extra`` gives one (the unmet map's
    「中町 4件」), ``None`` shows names as hover tooltips only. ``extra`` adds properties per
    district code: ``label`` (text, escaped in the browser) and ``popup`` (HTML that the
    caller has already escaped). Clicking a district calls ``window[onclick](feature,
    layer, event)`` when ``onclick`` names a function.
    """

    _template = Template("""
{% macro html(this, kwargs) %}{{ this.island }}{% endmacro %}
{% macro script(this, kwargs) %}
{% if this.labels %}
// District labels sit below the markers (Leaflet's tooltip pane is above them).
if (!{{ this._parent.get_name() }}.getPane("tsunaguLabels")) {
  {{ this._parent.get_name() }}.createPane("tsunaguLabels").style.zIndex = 450;
}
{% endif %}
var {{ this.get_name() }}_styles = {{ this.styles|tojson }};
var {{ this.get_name() }}_fills = {{ this.fills|tojson }};
var {{ this.get_name() }} = L.geoJSON(tsunaguData({{ this.island_id|tojson }}), {
  style: function (f) {
    var s = {{ this.get_name() }}_styles[f.properties.level] || {};
    var fill = {{ this.get_name() }}_fills[f.properties.code];
    if (fill) { s = Object.assign({}, s, {fillColor: fill, fillOpacity: {{ this.fill_opacity }}, fill: true}); }
    return s;
  },
  onEachFeature: function (f, layer) {
    var p = f.properties, mode = {{ this.labels|tojson }};
    var permanent = (mode === "districts" && p.level === "district") || (mode === "labelled" && p.label);
    if (permanent) {
      layer.bindTooltip(tsunaguEsc(p.label || p.name), {permanent: true, direction: "center",
                        className: {{ this.label_class|tojson }}, pane: "tsunaguLabels"});
    } else {
      layer.bindTooltip(tsunaguEsc(p.label || p.name), {sticky: true});
    }
    if (p.popup) layer.bindPopup(p.popup, {maxWidth: 380});
    {% if this.onclick %}layer.on("click", function (e) { window[{{ this.onclick|tojson }}](f, layer, e); });{% endif %}
  }
});
{% if this.labels %}
// Hide labels that would overlap one already shown (bigger districts first), so a dense
// town centre stays readable on screen and on paper.
(function (layer, map) {
  function declutter() {
    var shown = [];
    layer.eachLayer(function (l) {
      var t = l.getTooltip(), el = t && t.options.permanent && t.getElement();
      if (!el) return;
      el.style.visibility = "";
      var r = el.getBoundingClientRect();
      var hit = shown.some(function (s) {
        return !(r.right < s.left || r.left > s.right || r.bottom < s.top || r.top > s.bottom);
      });
      if (hit) { el.style.visibility = "hidden"; } else { shown.push(r); }
    });
  }
  map.on("zoomend moveend resize", declutter);
  layer.on("add", function () { setTimeout(declutter, 0); });
})({{ this.get_name() }}, {{ this._parent.get_name() }});
{% endif %}
{% endmacro %}
""")

    def __init__(
        self,
        districts: Sequence[MapDistrict],
        *,
        name: str = "地区の境界",
        labels: str | None = None,
        fills: dict[str, str] | None = None,
        extra: dict[str, dict[str, str]] | None = None,
        fill_opacity: float = 0.7,
        onclick: str | None = None,
        label_class: str = "tsunagu-district-label",
        control: bool = True,
    ):
        super().__init__(name=name, overlay=True, control=control, show=True)
        self._name = "DistrictLayer"
        self.island_id = f"{self.get_name()}_data"
        features = district_features(districts)
        for f in features:
            f["properties"].update((extra or {}).get(f["properties"]["code"], {}))
        self.island = json_island(
            self.island_id, {"type": "FeatureCollection", "features": features}
        )
        self.styles = _LEVEL_STYLE
        self.labels = labels
        self.fills = fills or {}
        self.fill_opacity = fill_opacity
        self.onclick = onclick
        self.label_class = label_class


# --- bounds ----------------------------------------------------------------------------


def bounds_of(
    districts: Sequence[MapDistrict], points: Iterable[tuple[float | None, float | None]] = ()
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """(south, west), (north, east) around the districts and points; None when empty."""
    lats: list[float] = []
    lons: list[float] = []
    for d in districts:
        if d.geometry is not None and not d.geometry.is_empty:
            west, south, east, north = d.geometry.bounds
            lats += [south, north]
            lons += [west, east]
    for lat, lon in points:
        if lat is not None and lon is not None:
            lats.append(lat)
            lons.append(lon)
    if not lats:
        return None
    return (min(lats), min(lons)), (max(lats), max(lons))


def japanese_date(value: object, lang: str = "ja") -> str:
    """2024-04-01 → 2024年4月1日 (English: 2024-04-01; empty for None)."""
    if value is None:
        return ""
    return translate(
        N_("{year}-{month:02}-{day:02}"),
        lang,
        year=value.year,  # type: ignore[attr-defined]
        month=value.month,  # type: ignore[attr-defined]
        day=value.day,  # type: ignore[attr-defined]
    )


def credits_html(
    credits: Sequence[str], tiles: Sequence[Tiles], *, icons: bool = False, lang: str = "ja"
) -> str:
    """The data credits, the tile attributions and (when icons show) the icon licence."""
    items = [f"<li>{esc(c)}</li>" for c in credits]
    items += [
        "<li>"
        + translate(N_("Background map: {attribution}"), lang, attribution=t.attribution)
        + "</li>"
        for t in tiles
    ]
    if icons:
        items.append(
            "<li>"
            + translate(N_("Icons: {licence}"), lang, licence=esc(ICON_ATTRIBUTION))
            + "</li>"
        )
    return (
        '<section class="tsunagu-credits"><h2>'
        + esc(translate(N_("Sources and credits"), lang))
        + "</h2><ul>"
        + "".join(items)
        + "</ul></section>"
    )
