"""The coordinators' working map: every resource of an area, one layer per category.

Built for a prefecture's worth of markers: the resources travel as one compact JSON data
island (a schedule text table, rounded coordinates) and the browser makes the markers,
instead of folium writing a ``L.marker(...)`` statement per marker (≈ 600 bytes and a
Jinja render each). One shared ``L.markerClusterGroup`` (``chunkedLoading``) holds them
all, and each category's entry in the layer control adds or removes its markers from
that cluster, so toggling categories re-clusters instead of stacking 16 cluster layers. A
resource with two categories stays shown while either is on. One popup is shared and
filled on click, so 100,000 markers do not make 100,000 popup objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import folium
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from directory.i18n import N_, ngettext, translate
from directory.map_data import CoordinatorResource, MapDistrict, PublicResource
from maps._common import (
    DEFAULT_TILES,
    AttributionNote,
    DistrictLayer,
    LegendControl,
    Tiles,
    bounds_of,
    category_styles,
    finish,
    icon_credit_html,
    japanese_date,
    new_map,
    vendored,
)
from maps._page import SafeMacro, esc, js_string, json_island

__all__ = ["STATUS_LABELS", "coordinator_map"]

STATUSES = ("active", "paused", "ended")
STATUS_LABELS = {"active": "活動中", "paused": "休止中", "ended": "終了"}
#: The statuses and the popups' words, as catalogue msgids (STATUS_LABELS is their Japanese).
_STATUS_MSGIDS = {"active": N_("active"), "paused": N_("paused"), "ended": N_("ended")}
_POPUP_MSGIDS = {
    "private": N_("private"),
    "when": N_("When"),
    "contact": N_("Contact details"),
    "where": N_("Where"),
    "verified": N_("Last verified"),
    "unverified": N_("not verified"),
    "unlocated": N_("Support without a place on the map (for this district)"),
}
_LEGEND_MSGIDS = (
    N_("coloured: active"),
    N_("grey (dotted): paused"),
    N_("light grey: ended"),
    N_("red dot: private (not on the residents' map)"),
    N_("numbered circle: resources close together (zoom in to separate them)"),
)


_W_LEGEND = N_("Legend")
_W_UNLOCATED = N_("support without a place on the map: {count} (click a district for the list)")
_W_TOGGLE = N_("Use the list at the top right to show or hide each kind.")


def _words(lang: str) -> dict[str, object]:
    """The words the popups' script shows, in ``lang``."""
    words: dict[str, object] = {k: translate(v, lang) for k, v in _STATUS_MSGIDS.items()}
    words.update({k: translate(v, lang) for k, v in _POPUP_MSGIDS.items()})
    words["inparens"] = {
        k: translate(N_("({status})"), lang, status=translate(v, lang))
        for k, v in _STATUS_MSGIDS.items()
    }
    words["sep"] = translate(N_("{a}, {b}"), lang, a="", b="")
    return words


# Row layout of the data island (arrays, not objects: it is repeated per resource):
# lat, lon, [category index…], status index, public 0/1, name, schedule index, phone,
# address, place, last verified (Japanese date).
_LAT, _LON = 0, 1

COORDINATOR_CSS = """
.tsunagu-pin { position: relative; width: 28px; height: 28px; border-radius: 50%; border: 2px solid #fff;
               box-shadow: 0 0 0 1px rgba(0,0,0,.45), 0 1px 3px rgba(0,0,0,.4);
               display: flex; align-items: center; justify-content: center; box-sizing: border-box; }
.tsunagu-pin svg { width: 15px; height: 15px; fill: #fff; }
/* Paused and ended resources stay on the map, greyed, so nobody re-creates what exists. */
.tsunagu-pin.s-paused { background: #9e9e9e !important; border-style: dashed; border-color: #424242; }
.tsunagu-pin.s-ended { background: #d6d6d6 !important; opacity: .75; }
.tsunagu-pin.s-ended svg { fill: #757575; }
.tsunagu-pin.is-private::after { content: ""; position: absolute; right: -3px; top: -3px;
               width: 9px; height: 9px; border-radius: 50%; background: #8a1c1c;
               border: 1px solid #fff; }
.tsunagu-pin-wrap { background: transparent; border: 0; }
.tsunagu-legend .tsunagu-pin { display: inline-flex; width: 20px; height: 20px; position: relative; }
.tsunagu-legend .tsunagu-pin svg { width: 11px; height: 11px; }
.tsunagu-served { max-height: 14rem; overflow: auto; margin: .3rem 0 0; padding-left: 1.1rem; }
"""


class _Resources(JSCSSMixin, SafeMacro):
    """The data island, the shared cluster and the per-category toggling logic."""

    _template = Template("""
{% macro html(this, kwargs) %}{{ this.island }}{% endmacro %}
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function (map) {
  var d = tsunaguData({{ this.island_id|tojson }});
  var STATUS = ["active", "paused", "ended"], LABEL = {{ this.status_labels }};
  var cluster = L.markerClusterGroup({chunkedLoading: true, showCoverageOnHover: false,
                                     maxClusterRadius: 60, disableClusteringAtZoom: 18});
  var icons = d.cats.map(function (c) {
    return STATUS.map(function (s) {
      return [false, true].map(function (pub) {
        return L.divIcon({className: "tsunagu-pin-wrap", iconSize: [28, 28], iconAnchor: [14, 14],
          popupAnchor: [0, -14],
          html: '<div class="tsunagu-pin s-' + s + (pub ? '' : ' is-private') +
                '" data-category="' + c.code + '" style="background:' + c.colour + '">' + c.svg + '</div>'});
      });
    });
  });
  var byCat = d.cats.map(function () { return []; });
  var rows = d.rows;
  for (var i = 0; i < rows.length; i++) {
    var r = rows[i];
    if (r[0] === null) continue;
    var mk = L.marker([r[0], r[1]], {icon: icons[r[2][0]][r[3]][r[4]], title: r[5]});
    mk._tsunaguRow = i;
    mk._tsunaguOn = 0;
    for (var k = 0; k < r[2].length; k++) byCat[r[2][k]].push(mk);
  }
  function popup(i) {
    var r = rows[i], h = '<div class="tsunagu-popup"><strong>' + tsunaguEsc(r[5]) + '</strong>';
    if (r[3] === 1) h += '<span class="tsunagu-badge paused">' + LABEL.paused + '</span>';
    if (r[3] === 2) h += '<span class="tsunagu-badge ended">' + LABEL.ended + '</span>';
    if (!r[4]) h += '<span class="tsunagu-badge private">' + LABEL.private + '</span>';
    h += '<div>' + r[2].map(function (c) { return tsunaguEsc(d.cats[c].label); }).join(LABEL.sep) + '</div><dl>';
    var rowsOut = [[LABEL.when, d.schedules[r[6]]], [LABEL.contact, r[7]], [LABEL.where, [r[9], r[8]].filter(Boolean).join(" ")],
                   [LABEL.verified, r[10] || LABEL.unverified]];
    rowsOut.forEach(function (p) { if (p[1]) h += '<dt>' + p[0] + '</dt><dd>' + tsunaguEsc(p[1]) + '</dd>'; });
    return h + '</dl></div>';
  }
  var shared = L.popup({maxWidth: 360});
  cluster.on("click", function (e) {
    shared.setLatLng(e.layer.getLatLng()).setContent(popup(e.layer._tsunaguRow)).openOn(map);
  });
  cluster.addTo(map);
  window[{{ this.district_click|tojson }}] = function (f, layer, e) {
    var code = f.properties.code, seen = {}, found = [];
    while (code && !seen[code]) {
      seen[code] = true;
      (d.served[code] || []).forEach(function (i) { found.push(i); });
      code = d.parents[code];
    }
    var h = '<div class="tsunagu-popup"><strong>' + tsunaguEsc(f.properties.name) + '</strong>';
    if (found.length) {
      h += '<div>' + LABEL.unlocated + '</div><ul class="tsunagu-served">';
      found.forEach(function (i) {
        var r = rows[i];
        h += '<li>' + tsunaguEsc(r[5]) + (r[3] ? LABEL.inparens[STATUS[r[3]]] : '') + '</li>';
      });
      h += '</ul>';
    }
    L.popup({maxWidth: 360}).setLatLng(e.latlng).setContent(h + '</div>').openOn(map);
  };
  var state = {
    enable: function (c) {
      var add = [];
      byCat[c].forEach(function (m) { if (m._tsunaguOn++ === 0) add.push(m); });
      cluster.addLayers(add);
    },
    disable: function (c) {
      var out = [];
      byCat[c].forEach(function (m) { if (--m._tsunaguOn === 0) out.push(m); });
      cluster.removeLayers(out);
    },
    // How many markers the cluster holds now (tests and the browser console use it).
    count: function () { return cluster.getLayers().length; }
  };
  (window.tsunaguMaps = window.tsunaguMaps || []).push(state);
  return state;
})({{ this._parent.get_name() }});
var TsunaguCategoryLayer = L.Layer.extend({
  initialize: function (state, index) { this._state = state; this._index = index; },
  onAdd: function () { this._state.enable(this._index); },
  onRemove: function () { this._state.disable(this._index); }
});
{% endmacro %}
""")

    def __init__(self, island: dict[str, object], district_click: str, lang: str = "ja"):
        super().__init__()
        self._name = "TsunaguResources"
        self.default_js = vendored("markerclusterjs")
        self.default_css = vendored("markerclustercss", "markerclusterdefaultcss")
        self.island_id = f"{self.get_name()}_data"
        self.island = json_island(self.island_id, island)
        self.status_labels = js_string(_words(lang))
        self.district_click = district_click


class _CategoryLayer(Layer, SafeMacro):
    """One category's entry in the layer control (a proxy over the shared cluster)."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = new TsunaguCategoryLayer({{ this.state }}, {{ this.index }});
{% endmacro %}
""")

    def __init__(self, name: str, state: str, index: int):
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "TsunaguCategory"
        self.state = state
        self.index = index


def _swatch(colour: str, svg: str) -> str:
    return f'<span class="tsunagu-swatch" style="background:{esc(colour)}">{svg}</span>'


def coordinator_map(
    resources: Sequence[CoordinatorResource | PublicResource],
    districts: Sequence[MapDistrict],
    *,
    tiles: Sequence[Tiles] = DEFAULT_TILES,
    title: str | None = None,
    lang: str = "ja",
) -> folium.Map:
    """All resources on one working map: a toggleable layer per category (taxonomy colour
    and icon), paused and ended ones greyed, private ones marked, district outlines, and a
    popup with the schedule in words, contact and last-verified date. Resources without
    a place of their own are listed when their district is clicked. ``lang`` words the
    page (Japanese by default)."""

    def _(msgid: str, **params: Any) -> str:
        return esc(translate(msgid, lang, **params))

    if title is None:
        title = translate(N_("Resource map (for staff)"), lang)
    used = sorted({c for r in resources for c in r.categories})
    styles = category_styles(used, lang)
    index = {s.code: i for i, s in enumerate(styles)}
    schedules: dict[str, int] = {}
    rows: list[list[object]] = []
    served: dict[str, list[int]] = {}
    per_category = [0] * len(styles)
    for r in resources:
        cats = sorted({index[c] for c in r.categories}) or None
        if cats is None:
            continue  # a resource without a category cannot be styled or toggled
        status = STATUSES.index(r.status) if r.status in STATUSES else 0
        public = 1 if isinstance(r, PublicResource) or r.public else 0
        i = len(rows)
        rows.append(
            [
                None if r.lat is None else round(r.lat, 6),
                None if r.lon is None else round(r.lon, 6),
                cats,
                status,
                public,
                r.name,
                schedules.setdefault(r.schedule, len(schedules)),
                r.phone or "",
                r.address or "",
                r.place or "",
                japanese_date(r.last_verified_on, lang),
            ]
        )
        for c in cats:
            per_category[c] += 1
        if r.lat is None:
            for code in r.districts:
                served.setdefault(code, []).append(i)

    m = new_map(title, tiles=tiles, staff_only=True, extra_css=COORDINATOR_CSS, lang=lang)
    click = "tsunaguDistrictClick"
    DistrictLayer(districts, name=translate(N_("District boundaries"), lang), onclick=click).add_to(
        m
    )
    unlocated = sum(1 for row in rows if row[_LAT] is None)
    pins = (
        '<span class="tsunagu-pin" style="background:#0072B2"></span>',
        '<span class="tsunagu-pin s-paused"></span>',
        '<span class="tsunagu-pin s-ended"></span>',
        '<span class="tsunagu-pin is-private" style="background:#0072B2"></span>',
        "",
    )
    legend = (
        f"<h2>{_(_W_LEGEND)}</h2><ul>"
        + "".join(f"<li>{pin}{_(w)}</li>" for pin, w in zip(pins, _LEGEND_MSGIDS, strict=True))
        + f"<li>{_(_W_UNLOCATED, count=unlocated)}</li>"
        + f"</ul><p>{_(_W_TOGGLE)}</p>"
    )
    state = _Resources(
        {
            "cats": [
                {"code": s.code, "label": s.label, "colour": s.colour, "svg": s.svg} for s in styles
            ],
            "schedules": list(schedules),
            "rows": rows,
            "served": served,
            "parents": {d.code: d.parent for d in districts if d.parent},
        },
        click,
        lang,
    )
    m.add_child(state)
    m.add_child(LegendControl(legend))
    m.add_child(AttributionNote(icon_credit_html(lang)))
    for i, s in enumerate(styles):
        count = esc(ngettext("{n} resource", "{n} resources", per_category[i], lang))
        name = (
            f'{_swatch(s.colour, s.svg)} {esc(s.label)} <span class="tsunagu-count">{count}</span>'
        )
        _CategoryLayer(name, state.get_name(), i).add_to(m)
    points = ((row[_LAT], row[_LON]) for row in rows)
    return finish(m, bounds_of(districts, points), collapsed=False)  # type: ignore[arg-type]
