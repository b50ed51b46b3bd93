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

from directory.i18n import N_, translate
from directory.map_data import MapDistrict, PublicResource
from maps._common import (
    DEFAULT_TILES,
    AttributionNote,
    CategoryStyle,
    DistrictLayer,
    Tiles,
    bounds_of,
    category_styles,
    credits_html,
    finish,
    icon_credit_html,
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
from maps._page import Raw, esc, side_panel

__all__ = ["MIXED_COLOUR", "resident_map"]

#: Words of the page (catalogue msgids; f-strings cannot hold them for the extractor).
_W_WHEN = N_("When")
_W_WHERE = N_("Where")
_W_FOR = N_("For")
_W_PHONE = N_("Phone")
_W_HOW_TO_READ_THE = N_("How to read the map")
_W_THE_NUMBER_IN_A = N_("The number in a circle is its number in the list below.")
_W_THE_COLOUR_IS_THE = N_("The colour is the kind of activity: ")
_W_SEVERAL_ACTIVITIES_IN_THE = N_("Several activities in the same place.")
_W_THE_THIN_LINES_ARE = N_("The thin lines are the borders of the districts.")
_W_LIST_THE_NUMBERS_ARE = N_("List (the numbers are those on the map)")
_W_NO_ACTIVITIES_TO_SHOW = N_("No activities to show on the map yet.")
_W_SUPPORT_WITHOUT_A_PLACE = N_(
    "Support without a place on the map (such as help that comes to the home)"
)
_W_CONTACT = N_("Contact")

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


def _served_words(codes: Sequence[str], districts: Sequence[MapDistrict], lang: str = "ja") -> str:
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

    def whole(d: MapDistrict) -> str:
        return (
            translate(N_("all of {name}"), lang, name=d.name) if d.level != "district" else d.name
        )

    sep = translate(N_("{a}; {b}"), lang, a="", b="")
    if wanted & {d.parent for d in roots if d.parent}:
        return sep.join(whole(d) for d in roots)
    words: list[str] = []
    covered: set[str] = set()
    rank = {"municipality": 0, "area": 1}
    for d in sorted(districts, key=lambda d: (rank.get(d.level, 2), d.code)):
        if d.code in covered:
            continue
        below = children.get(d.code, set())
        if d.code in wanted or (below and below <= wanted and d.level != "district"):
            words.append(whole(d))
            covered |= _descendants(d.code, children) | {d.code}
    return sep.join(words)


def _and_list(items: Sequence[str], lang: str) -> str:
    """a・b (Japanese) / a, b (English)."""
    text = items[0] if items else ""
    for item in items[1:]:
        text = translate(N_("{a}, {b}"), lang, a=text, b=item)
    return text


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
    number: int | None,
    r: PublicResource,
    style: CategoryStyle,
    labels: dict[str, str],
    served: str,
    lang: str = "ja",
) -> str:
    def key(msgid: str) -> str:
        return esc(translate(msgid, lang))

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
            '<span class="tsunagu-entry-also">'
            + esc(translate(N_(" (also {kinds})"), lang, kinds=_and_list(others, lang)))
            + "</span>"
            if others
            else ""
        )
        + "</span>"
    ]
    if r.schedule:
        lines.append(
            f'<span class="tsunagu-entry-line"><span class="k">{key(_W_WHEN)}</span>{esc(r.schedule)}</span>'
        )
    where = " ".join(p for p in (r.place, r.address) if p)
    if where and number is not None:
        lines.append(
            f'<span class="tsunagu-entry-line"><span class="k">{key(_W_WHERE)}</span>{esc(where)}</span>'
        )
    if served and number is None:
        lines.append(
            f'<span class="tsunagu-entry-line"><span class="k">{key(_W_FOR)}</span>{esc(served)}</span>'
        )
    if r.phone:
        lines.append(
            f'<span class="tsunagu-entry-line"><span class="k">{key(_W_PHONE)}</span>{esc(r.phone)}</span>'
        )
    attr = f' data-number="{number}"' if number is not None else ' data-number=""'
    return f'<li{attr}>{head}<div class="tsunagu-entry">{"".join(lines)}</div></li>'


def resident_map(
    resources: Sequence[PublicResource],
    districts: Sequence[MapDistrict],
    *,
    credits: Sequence[str | Mapping[str, Any]],
    title: str | None = None,
    subtitle: str | None = None,
    contact: str | None = None,
    as_of: dt.date | None = None,
    tiles: Sequence[Tiles] = DEFAULT_TILES,
    lang: str = "ja",
) -> folium.Map:
    """The printable handout map of public resources, with its numbered list and credits.

    ``credits`` are the data sources' credits (``seeds/credits.json`` entries or plain
    strings); the tile attributions are added. Raises ``TypeError`` for any resource that
    is not a :class:`PublicResource` (a published map must not take data from any other
    code path). ``lang`` words the page (Japanese by default; the data stays as recorded).
    """

    def _(msgid: str, **params: Any) -> str:
        return esc(translate(msgid, lang, **params))

    if title is None:
        title = translate(N_("Community resource map"), lang)
    for r in resources:
        if type(r) is not PublicResource:
            raise TypeError(
                "resident_map accepts PublicResource only (public, active resources from "
                f"directory.map_data.public_resources), got {type(r).__name__}"
            )
    numbering = number_resources(resources)  # shared with the PDF handout (maps.pdf)
    styles = numbering.styles
    if lang != "ja":
        styles = {s.code: s for s in category_styles(styles, lang)}
    labels = {code: s.label for code, s in styles.items()}
    located = [r for _, r in numbering.located]
    visiting = list(numbering.visiting)
    fallback = CategoryStyle("", translate(N_("Other"), lang), MIXED_COLOUR, "")

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

    m = new_map(title, tiles=tiles, body_class="tsunagu-handout", extra_css=HANDOUT_CSS, lang=lang)
    DistrictLayer(
        districts, labels="districts", name=translate(N_("Districts (map layer)"), lang)
    ).add_to(m)
    m.add_child(NumberedMarkers({"markers": markers, "entries": entries}))
    m.add_child(HandoutScript())
    if styles:
        m.add_child(AttributionNote(icon_credit_html(lang)))
    bounds = bounds_of(districts, ((r.lat, r.lon) for r in located))
    add_bounds(m, bounds)
    page = m.get_root()
    page.before.add_child(handout_head(title, subtitle=subtitle, as_of=as_of, lang=lang))  # type: ignore[attr-defined]

    on_map = {style_of(r).code for r in located}
    kinds_html = "".join(
        f'<span class="kind"><span class="tsunagu-swatch" style="background:{s.colour}">'
        f"{s.svg}</span>{esc(s.label)}</span>"
        for s in styles.values()
        if s.code in on_map
    )
    legend = (
        f'<section class="tsunagu-legend"><h2>{_(_W_HOW_TO_READ_THE)}</h2>'
        '<ul class="tsunagu-legend-list">'
        '<li><span class="tsunagu-badge-num" style="background:#0072B2;color:#fff">1</span>'
        f"{_(_W_THE_NUMBER_IN_A)}</li>"
        f'<li class="kinds"><span>{_(_W_THE_COLOUR_IS_THE)}</span>'
        f'<span class="tsunagu-legend-kinds">{kinds_html}</span></li>'
        + (
            f'<li><span class="tsunagu-badge-num" style="background:{MIXED_COLOUR};color:#fff">'
            f"2・3</span>{_(_W_SEVERAL_ACTIVITIES_IN_THE)}</li>"
            if len(places) < len(located)
            else ""
        )
        + f"<li>{_(_W_THE_THIN_LINES_ARE)}</li></ul></section>"
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
        items.append(_entry(n, r, style, labels, "", lang))
    if items:
        sections.append("".join(items) + "</ol></section>")
    listing = (
        f"<h2>{_(_W_LIST_THE_NUMBERS_ARE)}</h2>"
        '<div class="tsunagu-lists">'
        + ("".join(sections) or f'<p class="tsunagu-empty">{_(_W_NO_ACTIVITIES_TO_SHOW)}</p>')
        + "</div>"
    )
    if visiting:
        listing += (
            f"<h2>{_(_W_SUPPORT_WITHOUT_A_PLACE)}</h2>"
            '<div class="tsunagu-lists"><section><ol class="tsunagu-entries">'
            + "".join(
                _entry(
                    None, r, style_of(r), labels, _served_words(r.districts, districts, lang), lang
                )
                for r in visiting
            )
            + "</ol></section></div>"
        )
    if contact:
        listing += f"<h2>{_(_W_CONTACT)}</h2><p>{esc(contact)}</p>"
    page.after.add_child(  # type: ignore[attr-defined]
        Raw(
            side_panel(legend + listing, lang)
            + credits_html(_credit_texts(credits), tiles, icons=bool(styles), lang=lang)
        )
    )
    return finish(m, bounds, collapsed=True)
