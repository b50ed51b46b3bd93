"""The HTML page around a map: a Japanese document with slots before and after the map.

folium's default page has no ``lang`` (Chrome then picks Chinese glyphs for kanji) and no
place for a title or a numbered list. :class:`Page` is a branca ``Figure`` with
``lang="ja"`` and two slots, so a handout (title, map, legend, list, credits) is still one
``folium.Map`` whose root renders the whole page.

Every piece of text that comes from data is escaped here, in Python (:func:`esc`), or in
the browser by the maps' JavaScript ``esc`` helper; data reaches scripts only as JSON data
islands (:func:`json_island`), never spliced into JavaScript source or a Jinja template.
"""

from __future__ import annotations

import html
import json
from typing import Any

from branca.element import Element, Figure, MacroElement
from folium.template import Template

from directory.i18n import N_, translate

__all__ = [
    "Page",
    "Raw",
    "SafeMacro",
    "StyleSheet",
    "esc",
    "js_string",
    "json_island",
    "side_panel",
]


def esc(text: object) -> str:
    """HTML-escape any value (None gives the empty string)."""
    return "" if text is None else html.escape(str(text), quote=True)


def _json(data: Any) -> str:
    # <, > and & escaped so no text inside can close the <script> element or start a
    # comment; U+2028/2029 are line ends in older JavaScript engines.
    return (
        json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def json_island(element_id: str, data: Any) -> str:
    """``<script type="application/json">``: data the page's scripts read with JSON.parse."""
    return f'<script type="application/json" id="{esc(element_id)}">{_json(data)}</script>'


def side_panel(content: str, lang: str) -> str:
    """The map page's side column (legend and list). It scrolls on its own, so it takes
    the keyboard focus (``tabindex``) and is named for screen readers: people who cannot
    use a mouse must be able to scroll it too (WCAG 2.1.1)."""
    label = esc(translate(N_("Map key and list"), lang))
    return f'<aside class="tsunagu-side" tabindex="0" aria-label="{label}">{content}</aside>'


def js_string(value: Any) -> str:
    """A JavaScript literal (string, or any JSON value) safe inside a ``<script>`` element,
    with Japanese kept readable (folium's ``tojson`` would write \\uXXXX escapes)."""
    return _json(value)


class Raw(Element):
    """A fixed piece of HTML. Unlike ``branca.Element(text)`` it is not a Jinja template,
    so a resource named 「{{ 」 cannot inject template code."""

    _template = Template("{{ this.content }}")

    def __init__(self, content: str):
        super().__init__()
        self.content = content


class SafeMacro(MacroElement):
    """A ``MacroElement`` whose rendered macros are inserted as text.

    branca's ``MacroElement.render`` wraps each macro's output in ``Element(output)``, which
    compiles it as a Jinja template again: data inside it (a resource named
    ``{{ 7*7 }}`` becomes 「49」) would be evaluated, and Jinja without a sandbox can reach
    Python objects. Every element of ours that carries data renders through this class.
    """

    # branca annotates Element.render as returning the HTML; MacroElement.render (whose
    # contract this keeps) returns nothing, and its children write into the figure.
    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        figure = self.get_root()
        module = self._template.module.__dict__
        for part in ("header", "html", "script"):
            macro = module.get(part)
            if macro is not None:
                getattr(figure, part).add_child(Raw(macro(self, kwargs)), name=self.get_name())
        for child in self._children.values():
            child.render(**kwargs)


class StyleSheet(SafeMacro):
    """CSS added to the page head at render time, after the vendored Leaflet CSS, so its
    rules win over Leaflet's defaults whether assets are linked or inlined."""

    _template = Template(
        "{% macro header(this, kwargs) %}<style>{{ this.css }}</style>{% endmacro %}"
    )

    def __init__(self, css: str):
        super().__init__()
        self._name = "StyleSheet"
        self.css = css.replace("</", "<\\/")


class Page(Figure):
    """An HTML page in ``lang`` (Japanese by default): ``before`` (title, controls), the map, ``after`` (legend,
    list, credits). ``body_class`` selects the layout in the page CSS."""

    _template = Template(
        "<!DOCTYPE html>\n"
        '<html lang="{{ this.lang }}" class="{{ this.html_class }}">\n'
        "<head>\n"
        "{% if this.title %}<title>{{ this.title|e }}</title>{% endif %}\n"
        "{{ this.header.render(**kwargs) }}\n"
        "</head>\n"
        '<body class="{{ this.body_class }}">\n'
        "{{ this.before.render(**kwargs) }}\n"
        '<div class="tsunagu-map-pane">\n{{ this.html.render(**kwargs) }}\n</div>\n'
        "{{ this.after.render(**kwargs) }}\n"
        "<script>\n{{ this.script.render(**kwargs) }}\n</script>\n"
        "</body>\n"
        "</html>\n"
    )

    def __init__(
        self,
        title: str,
        *,
        body_class: str = "tsunagu-full",
        html_class: str = "",
        robots_noindex: bool = False,
        lang: str = "ja",
    ):
        super().__init__(title=title)
        self.lang = "en" if lang == "en" else "ja"
        self.body_class = body_class
        self.html_class = html_class
        self.before = Element()
        self.after = Element()
        self.before._parent = self
        self.after._parent = self
        self.header.add_child(Raw('<meta charset="utf-8">'), name="meta_charset")
        self.header.add_child(
            Raw('<meta name="viewport" content="width=device-width, initial-scale=1">'),
            name="meta_viewport_page",
        )
        if robots_noindex:
            # Working maps hold unpublished resources: keep them out of any search index.
            self.header.add_child(
                Raw('<meta name="robots" content="noindex, nofollow">'), name="meta_robots"
            )
