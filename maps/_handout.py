"""What printable pages share: layout, paper choice and print CSS, numbered markers.

The resident handout, the unmet-needs map for the consultative body and the one-need map
are all read on paper as often as on screen: a title, the map, a side panel (legend and
list) and credits, laid out side by side on a wide screen and on A3 landscape, stacked on
A4 portrait. The print CSS names both paper sizes (``@page`` A4 portrait by default, a
named A3 landscape page when chosen on the page), so the browser's print gives the
handout with no extra software.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import folium
from folium.template import Template

from directory.i18n import N_, translate
from directory.map_data import PublicResource
from maps._common import CategoryStyle, category_styles, japanese_date
from maps._page import Raw, SafeMacro, esc, json_island

__all__ = [
    "HANDOUT_CSS",
    "HandoutNumbering",
    "HandoutScript",
    "NumberedMarkers",
    "add_bounds",
    "handout_head",
    "number_resources",
]

#: Words of the page (catalogue msgids; f-strings cannot hold them for the extractor).
_W_PAPER = N_("Paper: ")
_W_PRINT_IT = N_("Print it")

HANDOUT_CSS = """
body.tsunagu-handout { font-size: 18px; line-height: 1.6; }
.tsunagu-handout-head { grid-area: head; padding: .5rem 1rem; border-bottom: 3px solid #0b5394; }
.tsunagu-handout-head h1 { font-size: 1.6rem; margin: 0; }
.tsunagu-handout-head p { margin: .2rem 0; }
.tsunagu-print-controls { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap;
                          margin-top: .3rem; }
.tsunagu-print-controls button { font-size: 1rem; padding: .3rem .9rem; border-radius: 6px;
                                 border: 2px solid #0b5394; background: #fff; color: #0b5394;
                                 cursor: pointer; }
.tsunagu-print-controls button[aria-pressed="true"], .tsunagu-print-controls .print {
  background: #0b5394; color: #fff; }
body.tsunagu-handout { display: grid; min-height: 100vh;
  grid-template-columns: minmax(0, 3fr) minmax(22rem, 2fr);
  grid-template-rows: auto 1fr auto;
  grid-template-areas: "head head" "map side" "foot foot"; }
body.tsunagu-handout .tsunagu-map-pane { grid-area: map; position: relative; min-height: 70vh; }
body.tsunagu-handout .folium-map { position: absolute !important; inset: 0; width: 100% !important;
                                   height: 100% !important; }
.tsunagu-side { grid-area: side; padding: .5rem 1rem; overflow: auto; max-height: calc(100vh - 6rem); }
.tsunagu-credits { grid-area: foot; padding: .3rem 1rem; font-size: .8rem; color: #444;
                   border-top: 1px solid #ccc; }
.tsunagu-credits h2 { font-size: .9rem; margin: 0; }
.tsunagu-credits ul { margin: 0; padding-left: 1.2rem; }
.tsunagu-side h2 { font-size: 1.25rem; margin: .8rem 0 .3rem; border-bottom: 2px solid #333; }
.tsunagu-side h3 { font-size: 1.1rem; margin: .7rem 0 .2rem; display: flex; gap: .4rem;
                   align-items: center; }
.tsunagu-legend-list { list-style: none; padding: 0; margin: 0; }
.tsunagu-legend-list li { margin: .25rem 0; display: flex; gap: .5rem; align-items: center; }
.tsunagu-legend-list li.kinds { flex-wrap: wrap; }
.tsunagu-legend-list li.kinds > span:first-child { flex-basis: 100%; }
.tsunagu-legend-kinds { display: flex; flex-wrap: wrap; gap: .2rem .9rem; }
.tsunagu-legend-kinds span.kind { display: inline-flex; gap: .3rem; align-items: center; }
ol.tsunagu-entries { list-style: none; padding: 0; margin: 0; }
ol.tsunagu-entries li { display: grid; grid-template-columns: 2.6rem 1fr; gap: 0 .5rem;
                        padding: .35rem 0; border-bottom: 1px dotted #999;
                        break-inside: avoid; page-break-inside: avoid; }
ol.tsunagu-entries .tsunagu-badge-num { align-self: start; }
.tsunagu-entry-name { display: block; font-weight: bold; font-size: 1.1rem; }
.tsunagu-entry-also { font-weight: normal; font-size: .9rem; }
.tsunagu-entry-line { display: block; font-size: 1rem; }
.tsunagu-entry-line .k { color: #555; margin-right: .3rem; }
.tsunagu-num { position: absolute; left: 0; top: 0; transform: translate(-50%, -50%);
               display: flex; align-items: center; justify-content: center; height: 34px;
               min-width: 34px; padding: 0 6px; box-sizing: border-box; border-radius: 17px;
               border: 3px solid #fff; box-shadow: 0 0 0 1px #333, 0 1px 4px rgba(0,0,0,.5);
               font-size: 18px; font-weight: bold; white-space: nowrap; line-height: 1; }
.tsunagu-num-wrap { background: transparent; border: 0; }
.tsunagu-badge-num { display: inline-flex; align-items: center; justify-content: center;
                     min-width: 2.2rem; height: 2.2rem; border-radius: 1.1rem; font-weight: bold;
                     font-size: 1.1rem; border: 2px solid #333; box-sizing: border-box; }
.tsunagu-empty { color: #555; }
@media (max-width: 900px) {
  body.tsunagu-handout { grid-template-columns: 1fr;
                         grid-template-areas: "head" "map" "side" "foot"; }
  body.tsunagu-handout .tsunagu-map-pane { min-height: 60vh; }
  .tsunagu-side { max-height: none; }
}

/* --- print: the browser's print gives the handout. A4 portrait by default (map on top,
   the list below in two columns); A3 landscape when chosen (map left, list right). --- */
@page { size: A4 portrait; margin: 10mm; }
@page tsunagu-a3 { size: A3 landscape; margin: 12mm; }
html.paper-a3 body { page: tsunagu-a3; }
@media print {
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .no-print, .leaflet-control-zoom, .leaflet-control-layers, .tsunagu-print-controls {
    display: none !important; }
  body.tsunagu-handout { display: block; min-height: 0; font-size: 12pt; }
  .tsunagu-handout-head { padding: 0 0 2mm; }
  .tsunagu-handout-head h1 { font-size: 18pt; }
  body.tsunagu-handout .tsunagu-map-pane { width: 190mm; height: 150mm; min-height: 0;
    break-inside: avoid; page-break-inside: avoid; outline: 1px solid #666; }
  .tsunagu-side { max-height: none; overflow: visible; padding: 0; }
  .tsunagu-side h2 { font-size: 13pt; break-after: avoid; page-break-after: avoid; }
  .tsunagu-side h3 { font-size: 12pt; break-after: avoid; page-break-after: avoid; }
  /* One column: Chrome moves a multi-column box that starts mid-page to the next page,
     leaving the rest of page 1 blank; entries are one run of text each instead. */
  ol.tsunagu-entries li { grid-template-columns: 9mm 1fr; padding: 1mm 0; }
  .tsunagu-badge-num { min-width: 8mm; height: 8mm; font-size: 11pt; }
  .tsunagu-entry-name { font-size: 12.5pt; }
  /* One run of text per entry on paper: 日時 … 場所 … 電話 … */
  .tsunagu-entry-line { display: inline; font-size: 11pt; margin-right: .8em; }
  .tsunagu-credits { font-size: 8pt; padding: 2mm 0 0; }
  html.paper-a3 body.tsunagu-handout { display: grid; grid-template-columns: 200mm 1fr;
    grid-template-rows: auto 1fr auto; grid-template-areas: "head head" "map side" "foot foot";
    column-gap: 8mm; }
  html.paper-a3 body.tsunagu-handout .tsunagu-map-pane { width: 200mm; height: 235mm; }
  html.paper-a3 .tsunagu-handout-head h1 { font-size: 22pt; }
  html.paper-a3 body.tsunagu-handout { font-size: 13pt; }
}
"""

HANDOUT_JS = """
(function (map) {
  var root = document.documentElement;
  var bounds = tsunaguData("tsunagu-bounds");
  function paper(name) {
    root.classList.toggle("paper-a3", name === "a3");
    document.querySelectorAll("[data-paper]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-paper") === name));
    });
    refit();
  }
  var pane = map.getContainer().parentNode;
  // Print size of the map box (mm, as in the print CSS). Browsers fire beforeprint while
  // the screen layout still holds, so the box gets its paper size first and Leaflet is
  // fitted to that; afterprint gives the screen layout back.
  var PAPER = {a4: [190, 150], a3: [200, 235]};
  function refit() {
    map.invalidateSize({animate: false});
    if (bounds) map.fitBounds(bounds, {animate: false, padding: [12, 12]});
  }
  function forPrint() {
    var size = PAPER[root.classList.contains("paper-a3") ? "a3" : "a4"];
    pane.style.width = size[0] + "mm";
    pane.style.height = size[1] + "mm";
    pane.style.minHeight = "0";
    refit();
  }
  function forScreen() {
    pane.style.width = pane.style.height = pane.style.minHeight = "";
    refit();
  }
  document.querySelectorAll("[data-paper]").forEach(function (b) {
    b.addEventListener("click", function () { paper(b.getAttribute("data-paper")); });
  });
  var print = document.querySelector(".tsunagu-print-controls .print");
  if (print) print.addEventListener("click", function () { window.print(); });
  // The map box changes size for print: let Leaflet redraw the markers in it.
  window.addEventListener("beforeprint", forPrint);
  window.addEventListener("afterprint", forScreen);
  var wanted = new URLSearchParams(window.location.search).get("paper");
  paper(wanted === "a3" ? "a3" : "a4");
})(MAP);
"""


class HandoutScript(SafeMacro):
    """Paper choice (A4 / A3), the print button, and redrawing the map for print."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        + HANDOUT_JS.replace("MAP", "{{ this._parent.get_name() }}")
        + "{% endmacro %}"
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "TsunaguHandout"


class NumberedMarkers(SafeMacro):
    """Numbered markers from a data island; one marker per place, its label the numbers
    of the resources there (「3・12」)."""

    _template = Template("""
{% macro html(this, kwargs) %}{{ this.island }}{% endmacro %}
{% macro script(this, kwargs) %}
(function (map) {
  var d = tsunaguData({{ this.island_id|tojson }});
  var group = L.featureGroup(), leaders = L.layerGroup();
  var H = 34;
  // The icon box is a point; the number is centred on it by CSS, so its width follows
  // the text, and (dx, dy) moves it off its place when it would overlap another.
  function icon(m, dx, dy) {
    return L.divIcon({className: "tsunagu-num-wrap", iconSize: [0, 0],
      iconAnchor: [-dx, -dy], popupAnchor: [dx, dy - H / 2],
      html: '<div class="tsunagu-num" data-numbers="' + m.numbers.join(",") +
            '" style="background:' + m.colour + ';color:' + m.text + '">' + tsunaguEsc(m.label) + '</div>'});
  }
  var items = d.markers.map(function (m) {
    var h = '<div class="tsunagu-popup">';
    m.numbers.forEach(function (n) {
      var e = d.entries[String(n)];
      h += '<p><strong>' + n + '. ' + tsunaguEsc(e[0]) + '</strong><br>' + tsunaguEsc(e[1]) + '</p>';
    });
    var marker = L.marker([m.lat, m.lon], {icon: icon(m, 0, 0), riseOnHover: true,
                                           title: m.numbers.join("・") + " " + m.names})
      .bindPopup(h + '</div>', {maxWidth: 320}).addTo(group);
    return {m: m, marker: marker};
  });
  // Numbers that would overlap are pushed apart (a few relaxation passes in screen
  // pixels) and tied to their true place by a thin line, so every number stays readable
  // in a crowded town centre and on paper. Redone after every zoom.
  function spread() {
    leaders.clearLayers();
    var pos = items.map(function (it) {
      var p = map.latLngToContainerPoint(it.marker.getLatLng());
      var el = it.marker.getElement(), box = el && el.firstChild;
      return {x: p.x, y: p.y, x0: p.x, y0: p.y, w: box ? box.offsetWidth : H};
    });
    for (var pass = 0; pass < 80; pass++) {
      var moved = false;
      for (var a = 0; a < pos.length; a++) {
        for (var b = a + 1; b < pos.length; b++) {
          var A = pos[a], B = pos[b];
          var dx = B.x - A.x, dy = B.y - A.y;
          var ox = (A.w + B.w) / 2 + 3 - Math.abs(dx), oy = H + 3 - Math.abs(dy);
          if (ox <= 0 || oy <= 0) continue;
          moved = true;
          if (oy <= ox) {
            var sy = (dy === 0 ? (a % 2 ? 1 : -1) : Math.sign(dy)) * oy / 2;
            A.y -= sy; B.y += sy;
          } else {
            var sx = (dx === 0 ? 1 : Math.sign(dx)) * ox / 2;
            A.x -= sx; B.x += sx;
          }
        }
      }
      if (!moved) break;
    }
    items.forEach(function (it, i) {
      var p = pos[i], dx = p.x - p.x0, dy = p.y - p.y0;
      it.marker.setIcon(icon(it.m, dx, dy));
      if (Math.abs(dx) + Math.abs(dy) > 2) {
        L.polyline([it.marker.getLatLng(), map.containerPointToLatLng([p.x, p.y])],
                   {color: "#222", weight: 1.5, interactive: false}).addTo(leaders);
        L.circleMarker(it.marker.getLatLng(), {radius: 3, color: "#222", weight: 1,
                       fillColor: "#fff", fillOpacity: 1, interactive: false}).addTo(leaders);
      }
    });
  }
  leaders.addTo(map);
  group.addTo(map);
  map.on("zoomend resize", spread);
  map.whenReady(function () { setTimeout(spread, 0); });
})({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self, island: dict[str, Any]):
        super().__init__()
        self._name = "TsunaguNumberedMarkers"
        self.island_id = f"{self.get_name()}_data"
        self.island = json_island(self.island_id, island)


def add_bounds(
    m: folium.Map, bounds: tuple[tuple[float, float], tuple[float, float]] | None
) -> None:
    """Give the page script the bounds to re-fit the map to when printing."""
    m.get_root().header.add_child(  # type: ignore[attr-defined]
        Raw(json_island("tsunagu-bounds", [list(bounds[0]), list(bounds[1])] if bounds else None)),
        name="tsunagu_bounds",
    )


def handout_head(
    title: str,
    *,
    subtitle: str | None = None,
    as_of: dt.date | None = None,
    notes: tuple[str, ...] = (),
    lang: str = "ja",
) -> Raw:
    """The page header: title, subtitle, the date the data is as of, paper and print
    buttons (hidden in print), in ``lang``."""

    def _(msgid: str, **params: Any) -> str:
        return esc(translate(msgid, lang, **params))

    head = [f"<h1>{esc(title)}</h1>"]
    if subtitle:
        head.append(f"<p>{esc(subtitle)}</p>")
    if as_of:
        head.append(
            "<p>"
            + _(N_("The information on this map is as of {date}."), date=japanese_date(as_of, lang))
            + "</p>"
        )
    head += [f"<p>{esc(n)}</p>" for n in notes]
    head.append(
        '<div class="tsunagu-print-controls no-print" role="group" aria-label="'
        + _(N_("Print"))
        + '">'
        + f"<span>{_(_W_PAPER)}</span>"
        + '<button type="button" data-paper="a4" aria-pressed="true">'
        + _(N_("A4 portrait"))
        + "</button>"
        + '<button type="button" data-paper="a3" aria-pressed="false">'
        + _(N_("A3 landscape"))
        + "</button>"
        + f'<button type="button" class="print">{_(_W_PRINT_IT)}</button></div>'
    )
    return Raw(f'<header class="tsunagu-handout-head">{"".join(head)}</header>')


# --- numbering -------------------------------------------------------------------------


@dataclass(frozen=True)
class HandoutNumbering:
    """How a handout numbers its resources, shared so that every printed form of one
    area (the HTML page, the PDF) gives the same resource the same number.

    ``located``: (number, resource) in list order (category in taxonomy order, then name,
    then id), numbered from 1. ``places``: the marker places, each with the numbers of the
    resources there (resources ≈1 m apart share one marker). ``visiting``: the resources
    without a place (snow removal, meal delivery), in the same order, unnumbered.
    ``styles``: the style of every category the resources name, in taxonomy order.
    """

    styles: dict[str, CategoryStyle]
    located: tuple[tuple[int, PublicResource], ...]
    visiting: tuple[PublicResource, ...]
    places: tuple[tuple[tuple[float, float], tuple[tuple[int, PublicResource], ...]], ...]


def number_resources(resources: Sequence[PublicResource]) -> HandoutNumbering:
    """Number the resources as the resident handout does (see :class:`HandoutNumbering`)."""
    styles = {s.code: s for s in category_styles({c for r in resources for c in r.categories})}
    order = {code: i for i, code in enumerate(styles)}

    def key(r: PublicResource) -> tuple[int, str, str]:
        primary = r.categories[0] if r.categories else ""
        return (order.get(primary, len(order)), r.name, r.external_id)

    located = tuple(
        enumerate(sorted((r for r in resources if r.lat is not None), key=key), start=1)
    )
    visiting = tuple(sorted((r for r in resources if r.lat is None), key=key))
    places: dict[tuple[float, float], list[tuple[int, PublicResource]]] = {}
    for n, r in located:
        places.setdefault((round(r.lat, 5), round(r.lon, 5)), []).append((n, r))  # type: ignore[arg-type]
    return HandoutNumbering(
        styles, located, visiting, tuple((place, tuple(group)) for place, group in places.items())
    )
