"""Unmet needs per district: a choropleth for coordinators and the consultative body.

Needs that nothing in the directory meets are the evidence for creating new services
(資源開発); coordinators take these maps to the 協議体, where residents sit. In a small
district a count of 1 or 2 can point at a neighbour, so by default every count below 3 is
shown as 「少数」 and never as a number: not in the labels, not in the popups, not in the
page's data, and not through the colour (the fill class is computed from what is shown,
so 4 + 1 and 4 + 2 look the same). A district total that includes suppressed rows is
shown as 「4件＋少数」, which reveals nothing the rows do not.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import folium

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
from maps._page import Raw, esc
from matching.reasons import UnmetCount, unmet_label

__all__ = ["DEFAULT_BINS", "UnmetCount", "unmet_map"]

#: Lower edges of the fill classes above the small-count band (3–5, 6–10, 11–20, 21+).
DEFAULT_BINS = (3, 6, 11, 21)
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
    small_count_label: str = "少数",
    suppress_below: int = 3,
    category: str | None = None,
    reason: str | None = None,
    bins: Sequence[int] = DEFAULT_BINS,
    title: str = "生活支援ニーズの不足（地区別）",
    as_of: dt.date | None = None,
    credits: Sequence[str] = (),
    tiles: Sequence[Tiles] = DEFAULT_TILES,
) -> folium.Map:
    """A choropleth of unmet needs per district, with the breakdown by category and reason.

    ``counts_by_district``: (district code, category code, reason, count) tuples,
    :class:`~matching.reasons.UnmetCount` rows or the dicts of ``tsunagu unmet --json``. ``category`` (a parent
    takes its children) and ``reason`` narrow the map. Counts from 1 to
    ``suppress_below - 1`` show as ``small_count_label``; ``suppress_below=0`` shows exact
    numbers, for coordinators' own use only.
    """
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
        return small_count_label if 0 < n < suppress_below else f"{n}件"

    def fill_class(n: int, small: bool) -> int:
        # -1: nothing; 0: only the small band; i+1: at or above bins[i]
        if n <= 0:
            return 0 if small else -1
        if n < suppress_below:
            return 0
        return 1 + max((i for i, edge in enumerate(bins) if n >= edge), default=-1)

    by_district: dict[str, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        by_district[r.district][(r.category, r.reason)] += r.count
    names = {d.code: d.name for d in districts}
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
            total_label = f"{visible_sum}件＋{small_count_label}"
            cls = fill_class(visible_sum, True)
        else:
            # Only small cells: whatever their sum, say no more than that they are few.
            total_label, cls = small_count_label, 0
        colour = _SMALL_FILL if cls == 0 else _FILLS[min(cls - 1, len(_FILLS) - 1)]
        breakdown = sorted(cells.items(), key=lambda kv: (_order(taxonomy, kv[0][0]), kv[0][1]))
        lines = "".join(
            f"<tr><td>{esc(_category_label(taxonomy, cat))}</td>"
            f'<td>{esc(unmet_label(why))}</td><td class="n">{esc(shown(n))}</td></tr>'
            for (cat, why), n in breakdown
        )
        name = names.get(code)
        if name is None:
            table.append(
                f'<tr><th colspan="2">{esc(code)}（地図に境界がない地区）</th>'
                f'<td class="n">{esc(total_label)}</td></tr>{lines}'
            )
            continue
        fills[code] = colour
        labels[code] = {
            "label": f"{name} {total_label}",
            "popup": (
                f'<div class="tsunagu-popup"><strong>{esc(name)}：{esc(total_label)}</strong>'
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
    )
    DistrictLayer(
        districts,
        name="未充足のニーズ",
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
        scope.append(f"種類：{_category_label(taxonomy, category)}")
    if reason:
        scope.append(f"理由：{unmet_label(reason)}")
    page = m.get_root()
    page.before.add_child(  # type: ignore[attr-defined]
        handout_head(title, subtitle="、".join(scope) or None, as_of=as_of)
    )
    edges = list(bins)
    legend_rows = [
        f'<li><span class="tsunagu-fill" style="background:{_SMALL_FILL}"></span>'
        f"{esc(small_count_label)}（{suppress_below - 1}件以下。人が特定されないよう数を伏せています）</li>"
        if suppress_below > 1
        else ""
    ]
    for i, low in enumerate(edges):
        high = edges[i + 1] - 1 if i + 1 < len(edges) else None
        legend_rows.append(
            f'<li><span class="tsunagu-fill" style="background:{_FILLS[min(i, len(_FILLS) - 1)]}">'
            f"</span>{low}件{'～' + str(high) + '件' if high else '以上'}</li>"
        )
    legend = (
        '<section class="tsunagu-legend"><h2>地図の見かた</h2><ul class="tsunagu-legend-list">'
        + "".join(legend_rows)
        + "<li>色のない地区：未充足のニーズの記録なし</li></ul></section>"
    )
    listing = (
        '<h2>地区ごとの内訳</h2><table class="tsunagu-unmet-table">'
        "<thead><tr><th>種類</th><th>理由</th><th>件数</th></tr></thead><tbody>"
        + ("".join(table) or '<tr><td colspan="3">記録はありません。</td></tr>')
        + "</tbody></table>"
    )
    page.after.add_child(  # type: ignore[attr-defined]
        Raw(
            f'<aside class="tsunagu-side">{legend}{listing}</aside>'
            + credits_html(list(credits), tiles)
        )
    )
    return finish(m, bounds, collapsed=True)


def _order(taxonomy: Any, code: str) -> int:
    codes = [c.code for c in taxonomy]
    return codes.index(code) if code in codes else len(codes)


def _category_label(taxonomy: Any, code: str) -> str:
    return taxonomy[code].label_ja if code in taxonomy else code
