"""Unmet needs per district: a choropleth for coordinators and the consultative body.

Needs that nothing in the directory meets are the evidence for creating new services
(資源開発); coordinators take these maps to the 協議体, where residents sit. In a small
district a count of 1 or 2 can point at a neighbour, so by default every count below 3 is
shown as 「少数」 and never as a number: not in the labels, not in the popups, not in the
page's data, and not through the colour (the fill class is computed from what is shown,
so 4 + 1 and 4 + 2 look the same). A district total that includes suppressed rows is
shown as 「4件＋少数」, which reveals nothing the rows do not.

Coordinators' own maps (``suppress_below=0``) show exact counts, and then the classes
come from the counts themselves (natural breaks over the district totals, one class per
distinct total up to five), so a town where every district has one to three unmet needs
still shows three colours instead of one 「少数」 band.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import folium

from directory.i18n import N_, ngettext, translate
from directory.map_data import MapDistrict
from directory.taxonomy import load_taxonomy
from maps._common import (
    DEFAULT_TILES,
    DistrictLayer,
    Tiles,
    bounds_of,
    credits_html,
    finish,
    new_map,
)
from maps._handout import HANDOUT_CSS, HandoutScript, add_bounds, handout_head
from maps._page import Raw, esc, side_panel
from matching.reasons import UnmetCount, unmet_label

__all__ = ["DEFAULT_BINS", "MAX_CLASSES", "UnmetCount", "data_classes", "unmet_map"]

#: Lower edges of the fill classes above the small-count band (3–5, 6–10, 11–20, 21+).
DEFAULT_BINS = (3, 6, 11, 21)
#: The most classes computed from the data (five shades stay apart on paper and screen).
MAX_CLASSES = 5
_SMALL_FILL = "#FDE9D9"
_FILLS = ("#FBC9A5", "#F59C6B", "#E3683F", "#B23A1E", "#7A1F0E", "#4D1306")

UNMET_CSS = """
.tsunagu-unmet-table { border-collapse: collapse; width: 100%; font-size: .95rem; }
.tsunagu-unmet-table th, .tsunagu-unmet-table td { border-bottom: 1px solid #ccc;
  padding: .2rem .4rem; text-align: left; vertical-align: top; }
.tsunagu-unmet-table td.n { text-align: right; white-space: nowrap; }
.tsunagu-unmet-table tr { break-inside: avoid; page-break-inside: avoid; }
.tsunagu-fill { display: inline-block; width: 1.4em; height: 1em; border: 1px solid #555;
                vertical-align: middle; margin-right: .4rem; }
.tsunagu-unmet-label { background: rgba(255,255,255,.85); border: 1px solid #777; border-radius: 4px;
  padding: 0 .3rem; font-size: 12px; font-weight: bold; box-shadow: none; }
"""


#: Legend and table words (catalogue msgids).
_W_FEW = N_("{few} ({max} or fewer: the number is hidden so that no one can be identified)")
_W_RANGE = N_("{low} to {high} needs")
_W_OR_MORE = N_("{low} needs or more")
_W_TABLE_HEADS = (N_("Kind"), N_("Reason"), N_("Count"))


def _rows(counts: Iterable[UnmetCount | Sequence[Any] | Mapping[str, Any]]) -> list[UnmetCount]:
    rows = []
    for c in counts:
        if isinstance(c, UnmetCount):
            rows.append(c)
        elif isinstance(c, Mapping):
            rows.append(
                UnmetCount(
                    str(c["district"]),
                    str(c.get("name", c["district"])),
                    str(c["category"]),
                    str(c["reason"]),
                    int(c["count"]),
                )
            )
        else:
            district, category, reason, count = c
            rows.append(
                UnmetCount(str(district), str(district), str(category), str(reason), int(count))
            )
    return rows


def unmet_map(
    counts_by_district: Iterable[UnmetCount | Sequence[Any] | Mapping[str, Any]],
    districts: Sequence[MapDistrict],
    *,
    small_count_label: str | None = None,
    suppress_below: int = 3,
    category: str | None = None,
    reason: str | None = None,
    bins: Sequence[int] | None = None,
    title: str | None = None,
    as_of: dt.date | None = None,
    credits: Sequence[str] = (),
    tiles: Sequence[Tiles] = DEFAULT_TILES,
    lang: str = "ja",
) -> folium.Map:
    """A choropleth of unmet needs per district, with the breakdown by category and reason.

    ``counts_by_district``: (district code, category code, reason, count) tuples,
    :class:`~matching.reasons.UnmetCount` rows or the dicts of ``tsunagu unmet --json``. ``category`` (a parent
    takes its children) and ``reason`` narrow the map. Counts from 1 to
    ``suppress_below - 1`` show as ``small_count_label``; ``suppress_below=0`` shows exact
    numbers, for coordinators' own use only. ``bins`` are the lower edges of fixed classes
    (:data:`DEFAULT_BINS` when counts are suppressed); without them exact maps take their
    classes from the data (:func:`data_classes`). ``lang`` words the page (Japanese by
    default).
    """

    def _(msgid: str, **params: Any) -> str:
        return translate(msgid, lang, **params)

    if small_count_label is None:
        small_count_label = _(N_("a few"))
    if title is None:
        title = _(N_("Unmet needs for life support (by district)"))
    taxonomy = load_taxonomy()
    wanted = taxonomy.descendants(category) if category else None
    rows = [
        r
        for r in _rows(counts_by_district)
        if r.count > 0
        and (wanted is None or r.category in wanted)
        and (reason is None or r.reason == reason)
    ]

    def shown(n: int) -> str:
        if 0 < n < suppress_below:
            return str(small_count_label)
        return ngettext("{n} need", "{n} needs", n, lang)

    by_district: dict[str, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        by_district[r.district][(r.category, r.reason)] += r.count
    names = {d.code: d.name for d in districts}
    # The classes: (lowest, highest or None for "or more", colour), lowest first.
    classes: list[tuple[int, int | None, str]]
    if bins is None and suppress_below <= 1:
        ranges = data_classes(sum(c.values()) for code, c in by_district.items() if code in names)
        colours = _spread(len(ranges))
        classes = [(low, high, colours[i]) for i, (low, high) in enumerate(ranges)]
    else:
        edges = list(DEFAULT_BINS if bins is None else bins)
        classes = [
            (low, edges[i + 1] - 1 if i + 1 < len(edges) else None, _FILLS[min(i, len(_FILLS) - 1)])
            for i, low in enumerate(edges)
        ]

    def fill_class(n: int, small: bool) -> int:
        # -1: nothing; 0: the small band (hidden counts, or below every class); i+1: classes[i]
        if n <= 0:
            return 0 if small else -1
        if n < suppress_below:
            return 0
        return 1 + max((i for i, (low, _h, _c) in enumerate(classes) if n >= low), default=-1)

    fills: dict[str, str] = {}
    labels: dict[str, dict[str, str]] = {}
    table: list[str] = []
    for code in sorted(by_district, key=lambda c: (c not in names, names.get(c, c))):
        cells = by_district[code]
        total = sum(cells.values())
        hidden = [n for n in cells.values() if 0 < n < suppress_below]
        visible_sum = sum(n for n in cells.values() if n >= suppress_below)
        if not hidden:
            total_label, cls = shown(total), fill_class(total, False)
        elif visible_sum:
            total_label = _(N_("{count} + {few}"), count=shown(visible_sum), few=small_count_label)
            cls = fill_class(visible_sum, True)
        else:
            # Only small cells: whatever their sum, say no more than that they are few.
            total_label, cls = small_count_label, 0
        colour = _SMALL_FILL if cls == 0 else classes[cls - 1][2]
        breakdown = sorted(cells.items(), key=lambda kv: (_order(taxonomy, kv[0][0]), kv[0][1]))
        lines = "".join(
            f"<tr><td>{esc(_category_label(taxonomy, cat, lang))}</td>"
            f'<td>{esc(unmet_label(why, lang))}</td><td class="n">{esc(shown(n))}</td></tr>'
            for (cat, why), n in breakdown
        )
        name = names.get(code)
        if name is None:
            no_boundary = esc(_(N_("{code} (a district with no boundary on the map)"), code=code))
            table.append(
                f'<tr><th colspan="2">{no_boundary}</th>'
                f'<td class="n">{esc(total_label)}</td></tr>{lines}'
            )
            continue
        fills[code] = colour
        labels[code] = {
            "label": f"{name} {total_label}",
            "popup": (
                '<div class="tsunagu-popup"><strong>'
                + esc(_(N_("{name}: {total}"), name=name, total=total_label))
                + "</strong>"
                f'<table class="tsunagu-unmet-table">{lines}</table></div>'
            ),
        }
        table.append(
            f'<tr><th colspan="2"><span class="tsunagu-fill" style="background:{colour}">'
            f'</span>{esc(name)}</th><td class="n">{esc(total_label)}</td></tr>{lines}'
        )

    # Exact small counts are for coordinators only: mark such a page as staff-only.
    m = new_map(
        title,
        tiles=tiles,
        body_class="tsunagu-handout",
        staff_only=suppress_below <= 1,
        extra_css=HANDOUT_CSS + UNMET_CSS,
        lang=lang,
    )
    DistrictLayer(
        districts,
        name=_(N_("Unmet needs (map layer)")),
        fills=fills,
        extra=labels,
        fill_opacity=0.75,
        labels="labelled",
        label_class="tsunagu-unmet-label",
    ).add_to(m)
    m.add_child(HandoutScript())
    bounds = bounds_of(districts)
    add_bounds(m, bounds)
    scope = []
    if category:
        scope.append(_(N_("Kind: {kind}"), kind=_category_label(taxonomy, category, lang)))
    if reason:
        scope.append(_(N_("Reason: {reason}"), reason=unmet_label(reason, lang)))
    page = m.get_root()
    subtitle = _(N_("{a}; {b}"), a=scope[0], b=scope[1]) if len(scope) == 2 else "".join(scope)
    page.before.add_child(  # type: ignore[attr-defined]
        handout_head(title, subtitle=subtitle or None, as_of=as_of, lang=lang)
    )
    legend_rows = [
        f'<li><span class="tsunagu-fill" style="background:{_SMALL_FILL}"></span>'
        + esc(_(_W_FEW, few=small_count_label, max=suppress_below - 1))
        + "</li>"
        if suppress_below > 1
        else ""
    ]
    for low, high, fill in classes:
        if high is None:
            words = _(_W_OR_MORE, low=low)
        elif high == low:
            words = ngettext("{n} need", "{n} needs", low, lang)
        else:
            words = _(_W_RANGE, low=low, high=high)
        legend_rows.append(
            f'<li><span class="tsunagu-fill" style="background:{fill}"></span>{esc(words)}</li>'
        )
    legend = (
        '<section class="tsunagu-legend"><h2>'
        + esc(_(N_("How to read the map")))
        + '</h2><ul class="tsunagu-legend-list">'
        + "".join(legend_rows)
        + "<li>"
        + esc(_(N_("Districts without colour: no unmet needs recorded")))
        + "</li></ul></section>"
    )
    heads = "".join(f"<th>{esc(_(h))}</th>" for h in _W_TABLE_HEADS)
    listing = (
        "<h2>"
        + esc(_(N_("Breakdown by district")))
        + '</h2><table class="tsunagu-unmet-table">'
        + f"<thead><tr>{heads}</tr></thead><tbody>"
        + (
            "".join(table)
            or '<tr><td colspan="3">' + esc(_(N_("Nothing recorded."))) + "</td></tr>"
        )
        + "</tbody></table>"
    )
    page.after.add_child(  # type: ignore[attr-defined]
        Raw(side_panel(legend + listing, lang) + credits_html(list(credits), tiles, lang=lang))
    )
    return finish(m, bounds, collapsed=True)


def data_classes(totals: Iterable[int], k: int = MAX_CLASSES) -> list[tuple[int, int]]:
    """Classes for exact counts, computed from the counts: ``(lowest, highest)`` each,
    lowest first, covering every positive total.

    With at most ``k`` distinct totals each gets a class of its own (1, 2 and 3 needs are
    three colours); with more, natural breaks (Jenks/Fisher: the grouping of the sorted
    distinct totals, weighted by how many districts have each, whose classes vary least
    inside) give exactly ``k`` classes. Why not fixed bins: in a small town every count is
    small, and fixed bins then paint every district alike.
    """
    weights = Counter(n for n in totals if n > 0)
    values = sorted(weights)
    if len(values) <= k:
        return [(v, v) for v in values]
    # prefix sums of weight, weight·x and weight·x² give any run's squared deviation in O(1)
    w, wx, wxx = [0.0], [0.0], [0.0]
    for v in values:
        w.append(w[-1] + weights[v])
        wx.append(wx[-1] + weights[v] * v)
        wxx.append(wxx[-1] + weights[v] * v * v)

    def spread(i: int, j: int) -> float:  # values[i:j]
        n, s1 = w[j] - w[i], wx[j] - wx[i]
        return wxx[j] - wxx[i] - s1 * s1 / n

    n = len(values)
    inf = float("inf")
    # best[c][j]: least spread of values[:j] in c classes; start[c][j]: where the last begins
    best = [[inf] * (n + 1) for _ in range(k + 1)]
    start = [[0] * (n + 1) for _ in range(k + 1)]
    best[0][0] = 0.0
    for c in range(1, k + 1):
        for j in range(c, n - (k - c) + 1):
            for i in range(c - 1, j):
                cost = best[c - 1][i] + spread(i, j)
                if cost < best[c][j]:
                    best[c][j], start[c][j] = cost, i
    cuts, j = [], n
    for c in range(k, 0, -1):
        i = start[c][j]
        cuts.append((values[i], values[j - 1]))
        j = i
    return cuts[::-1]


def _spread(k: int) -> list[str]:
    """``k`` fills from light to dark, as far apart as the palette allows."""
    if k <= 1:
        return [_FILLS[2]] * k
    last = len(_FILLS) - 1
    return [_FILLS[round(i * last / (k - 1))] for i in range(k)]


def _order(taxonomy: Any, code: str) -> int:
    codes = [c.code for c in taxonomy]
    return codes.index(code) if code in codes else len(codes)


def _category_label(taxonomy: Any, code: str, lang: str = "ja") -> str:
    return taxonomy[code].label(lang) if code in taxonomy else code
