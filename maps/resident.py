"""The published resident map: a printable handout of one area's public resources.

Residents are mostly over 70 and get this on paper at community events, so: large text
and markers, numbered markers that match a numbered list beside (screen, A3) or below
(A4) the map, a legend in plain Japanese, and print CSS for A4 portrait and A3 landscape.

Privacy by type: the only input is :class:`directory.map_data.PublicResource`, which has
no field able to hold a need and can only be active; anything else, even a
``CoordinatorResource`` of a public resource, is refused with ``TypeError``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import folium

from directory.map_data import MapDistrict, PublicResource
from maps._common import (
    DEFAULT_TILES,
    ICON_CREDIT_HTML,
    AttributionNote,
    CategoryStyle,
    DistrictLayer,
    Tiles,
    bounds_of,
    credits_html,
    finish,
    new_map,
    text_colour,
)
from maps._handout import (
    HANDOUT_CSS,
    HandoutScript,
    NumberedMarkers,
    add_bounds,
    handout_head,
    number_resources,
)
from maps._page import Raw, esc

__all__ = ["MIXED_COLOUR", "resident_map"]

#: The colour of a marker whose number stands for resources of several kinds.
MIXED_COLOUR = "#455A64"


def _label(numbers: list[int]) -> str:
    """The numbers of one place, runs of three or more shortened: 4・10・13～17."""
    parts: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        if prev - start >= 2:
            parts.append(f"{start}～{prev}")
        else:
            parts.extend(str(k) for k in range(start, prev + 1))
        if n is not None:
            start = prev = n
    return "・".join(parts)


def _credit_texts(credits: Sequence[str | Mapping[str, Any]]) -> list[str]:
    texts = []
    for c in credits:
        text = c if isinstance(c, str) else (c.get("credit") or c.get("source"))
        if text:
            texts.append(str(text))
    return texts


def _served_words(codes: Sequence[str], districts: Sequence[MapDistrict]) -> str:
    """Where a visiting service is available, in words: whole areas as 「〇〇 全域」.

    A code above the map's districts (the municipality, for 全域) covers everything shown;
    codes of districts outside the map are not named.
    """
    by_code = {d.code: d for d in districts}
    children: dict[str, set[str]] = {}
    for d in districts:
        if d.parent:
            children.setdefault(d.parent, set()).add(d.code)
    wanted = set(codes)
    roots = [d for d in districts if d.parent not in by_code]
    if wanted & {d.parent for d in roots if d.parent}:
        return "、".join(f"{d.name} 全域" if d.level != "district" else d.name for d in roots)
    words: list[str] = []
    covered: set[str] = set()
    rank = {"municipality": 0, "area": 1}
    for d in sorted(districts, key=lambda d: (rank.get(d.level, 2), d.code)):
        if d.code in covered:
            continue
        below = children.get(d.code, set())
        if d.code in wanted or (below and below <= wanted and d.level != "district"):
            words.append(f"{d.name} 全域" if d.level != "district" else d.name)
            covered |= _descendants(d.code, children) | {d.code}
    return "、".join(words)


def _descendants(code: str, children: dict[str, set[str]]) -> set[str]:
    out: set[str] = set()
    stack = [code]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in out:
                out.add(child)
                stack.append(child)
    return out


def _entry(
    number: int | None, r: PublicResource, style: CategoryStyle, labels: dict[str, str], served: str
) -> str:
    others = [labels[c] for c in r.categories[1:] if c in labels]
    head = (
        f'<span class="tsunagu-badge-num" style="background:{style.colour};'
        f'color:{text_colour(style.colour)}">{number}</span>'
        if number is not None
        else '<span class="tsunagu-badge-num" style="background:#fff;color:#333">・</span>'
    )
    lines = [
        f'<span class="tsunagu-entry-name">{esc(r.name)}'
        + (
            f'<span class="tsunagu-entry-also">（{esc("・".join(others))}も）</span>'
            if others
            else ""
        )
        + "</span>"
    ]
    if r.schedule:
        lines.append(
            f'<span class="tsunagu-entry-line"><span class="k">日時</span>{esc(r.schedule)}</span>'
        )
    where = " ".join(p for p in (r.place, r.address) if p)
    if where and number is not None:
        lines.append(
            f'<span class="tsunagu-entry-line"><span class="k">場所</span>{esc(where)}</span>'
        )
    if served and number is None:
        lines.append(
            f'<span class="tsunagu-entry-line"><span class="k">対象</span>{esc(served)}</span>'
        )
    if r.phone:
        lines.append(
            f'<span class="tsunagu-entry-line"><span class="k">電話</span>{esc(r.phone)}</span>'
        )
    attr = f' data-number="{number}"' if number is not None else ' data-number=""'
    return f'<li{attr}>{head}<div class="tsunagu-entry">{"".join(lines)}</div></li>'


def resident_map(
    resources: Sequence[PublicResource],
    districts: Sequence[MapDistrict],
    *,
    credits: Sequence[str | Mapping[str, Any]],
    title: str = "地域資源マップ",
    subtitle: str | None = None,
    contact: str | None = None,
    as_of: dt.date | None = None,
    tiles: Sequence[Tiles] = DEFAULT_TILES,
) -> folium.Map:
    """The printable handout map of public resources, with its numbered list and credits.

    ``credits`` are the data sources' credits (``seeds/credits.json`` entries or plain
    strings); the tile attributions are added. Raises ``TypeError`` for any resource that
    is not a :class:`PublicResource` (a published map must not take data from any other
    code path).
    """
    for r in resources:
        if type(r) is not PublicResource:
            raise TypeError(
                "resident_map accepts PublicResource only (public, active resources from "
                f"directory.map_data.public_resources), got {type(r).__name__}"
            )
    numbering = number_resources(resources)  # shared with the PDF handout (maps.pdf)
    styles = numbering.styles
    labels = {code: s.label for code, s in styles.items()}
    located = [r for _, r in numbering.located]
    visiting = list(numbering.visiting)
    fallback = CategoryStyle("", "その他", MIXED_COLOUR, "")

    def style_of(r: PublicResource) -> CategoryStyle:
        return styles.get(r.categories[0], fallback) if r.categories else fallback

    # One marker per place (resources ≈1 m apart share it), numbered in list order.
    places = dict(numbering.places)
    markers = []
    for (lat, lon), group in places.items():
        kinds = {style_of(r).code for _, r in group}
        colour = style_of(group[0][1]).colour if len(kinds) == 1 else MIXED_COLOUR
        markers.append(
            {
                "lat": lat,
                "lon": lon,
                "colour": colour,
                "text": text_colour(colour),
                "numbers": [n for n, _ in group],
                "label": _label([n for n, _ in group]),
                "names": "、".join(r.name for _, r in group),
            }
        )
    entries = {str(n): [r.name, r.schedule] for n, r in enumerate(located, start=1)}

    m = new_map(title, tiles=tiles, body_class="tsunagu-handout", extra_css=HANDOUT_CSS)
    DistrictLayer(districts, labels="districts", name="地区").add_to(m)
    m.add_child(NumberedMarkers({"markers": markers, "entries": entries}))
    m.add_child(HandoutScript())
    if styles:
        m.add_child(AttributionNote(ICON_CREDIT_HTML))
    bounds = bounds_of(districts, ((r.lat, r.lon) for r in located))
    add_bounds(m, bounds)
    page = m.get_root()
    page.before.add_child(handout_head(title, subtitle=subtitle, as_of=as_of))  # type: ignore[attr-defined]

    on_map = {style_of(r).code for r in located}
    kinds_html = "".join(
        f'<span class="kind"><span class="tsunagu-swatch" style="background:{s.colour}">'
        f"{s.svg}</span>{esc(s.label)}</span>"
        for s in styles.values()
        if s.code in on_map
    )
    legend = (
        '<section class="tsunagu-legend"><h2>地図の見かた</h2><ul class="tsunagu-legend-list">'
        '<li><span class="tsunagu-badge-num" style="background:#0072B2;color:#fff">1</span>'
        "丸の中の数字は、下の一覧の番号です。</li>"
        f'<li class="kinds"><span>色は 活動の種類 です：</span>'
        f'<span class="tsunagu-legend-kinds">{kinds_html}</span></li>'
        + (
            f'<li><span class="tsunagu-badge-num" style="background:{MIXED_COLOUR};color:#fff">'
            "2・3</span>同じ場所で いくつかの活動が あります。</li>"
            if len(places) < len(located)
            else ""
        )
        + "<li>細い線は 地区の さかいめ です。</li></ul></section>"
    )

    sections = []
    current = None
    items: list[str] = []
    for n, r in enumerate(located, start=1):
        style = style_of(r)
        if style.code != current:
            if items:
                sections.append("".join(items) + "</ol></section>")
            current = style.code
            items = [
                f'<section><h3><span class="tsunagu-swatch" style="background:{style.colour}">'
                f'{style.svg}</span>{esc(style.label)}</h3><ol class="tsunagu-entries">'
            ]
        items.append(_entry(n, r, style, labels, ""))
    if items:
        sections.append("".join(items) + "</ol></section>")
    listing = (
        '<h2>一覧（番号は地図の数字です）</h2><div class="tsunagu-lists">'
        + (
            "".join(sections)
            or '<p class="tsunagu-empty">地図に載せられる活動は まだ ありません。</p>'
        )
        + "</div>"
    )
    if visiting:
        listing += (
            "<h2>地図に場所がない支援（家まで来てくれる支援など）</h2>"
            '<div class="tsunagu-lists"><section><ol class="tsunagu-entries">'
            + "".join(
                _entry(None, r, style_of(r), labels, _served_words(r.districts, districts))
                for r in visiting
            )
            + "</ol></section></div>"
        )
    if contact:
        listing += f"<h2>お問い合わせ</h2><p>{esc(contact)}</p>"
    page.after.add_child(  # type: ignore[attr-defined]
        Raw(
            f'<aside class="tsunagu-side">{legend}{listing}</aside>'
            + credits_html(_credit_texts(credits), tiles, icons=bool(styles))
        )
    )
    return finish(m, bounds, collapsed=True)
