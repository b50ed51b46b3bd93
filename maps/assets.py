"""Point a map's JavaScript and CSS at vendored copies: app URLs, or inlined content.

folium links Leaflet and its plugins from CDNs. Municipal PCs sit on closed networks
(LGWAN) where a CDN is unreachable, and a published page must not depend on one anyway, so
every asset a map needs is vendored from the npm registry at build time into
``web/static/vendor/`` (``scripts/vendor_assets.sh``) and a map is rewritten to use it:

* :func:`use_vendored` — URLs under the app's ``/static/vendor/`` (maps served by Flask);
* :func:`inline_assets` / :func:`standalone_html` — the files' content inside the page,
  with CSS images as ``data:`` URIs (a ``-o FILE.html`` that works offline anywhere).

Assets are matched by the *name* folium gives each link (``"leaflet"``,
``"markerclusterjs"``…), not by URL, so rewriting is idempotent and survives folium changing
its CDN. A map that still links something not vendored (Bootstrap, Font Awesome webfonts,
awesome-markers: our maps draw inline SVG instead) is refused with
:class:`UnvendoredAssetError` rather than silently fetching it at run time.

The builders in :mod:`maps` already return maps on :data:`DEFAULT_BASE_URL`, so a map saved
as it comes fails closed (no CDN) instead of leaking requests.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import folium
from branca.element import CssLink, Element, JavascriptLink

from maps._page import Raw

__all__ = [
    "ASSETS",
    "DEFAULT_BASE_URL",
    "UNUSED",
    "VENDOR_DIR",
    "UnvendoredAssetError",
    "inline_assets",
    "lean",
    "page_html",
    "standalone_html",
    "use_vendored",
]

#: Where ``scripts/vendor_assets.sh`` puts the files (inside the web package's static
#: folder, so Flask serves them and ``pip install`` ships them as package data).
VENDOR_DIR = Path(__file__).resolve().parents[1] / "web" / "static" / "vendor"
#: The URL the app serves :data:`VENDOR_DIR` at.
DEFAULT_BASE_URL = "/static/vendor"


@dataclass(frozen=True)
class Asset:
    kind: str  # "js" or "css"
    path: str  # relative to the vendor folder


#: Every asset a map may use, by folium's link name.
ASSETS: dict[str, Asset] = {
    "leaflet": Asset("js", "leaflet/leaflet.js"),
    "leaflet_css": Asset("css", "leaflet/leaflet.css"),
    "jquery": Asset("js", "jquery/jquery.min.js"),
    "markerclusterjs": Asset("js", "leaflet.markercluster/leaflet.markercluster.js"),
    "markerclustercss": Asset("css", "leaflet.markercluster/MarkerCluster.css"),
    "markerclusterdefaultcss": Asset("css", "leaflet.markercluster/MarkerCluster.Default.css"),
}

#: folium's default links that our maps do not need: Bootstrap and the icon fonts serve
#: ``folium.Icon`` markers only, and our markers are inline SVG; jQuery only folium's
#: ``Popup`` (ours are plain Leaflet popups). :func:`lean` drops them.
UNUSED = frozenset(
    {
        "jquery",
        "bootstrap",
        "bootstrap_css",
        "glyphicons_css",
        "awesome_markers",
        "awesome_markers_font_css",
        "awesome_markers_css",
        "awesome_rotate_css",
    }
)


class UnvendoredAssetError(ValueError):
    """A map links a JS/CSS file that is not vendored; it would be fetched at run time."""


def _elements(root: Element) -> Iterator[Element]:
    yield root
    for child in list(root._children.values()):
        yield from _elements(child)


def _linked(m: folium.Map) -> Iterator[Element]:
    """The elements of the map's page that declare JS/CSS links (folium's JSCSSMixin)."""
    for element in _elements(m.get_root()):
        if hasattr(element, "default_js") or hasattr(element, "default_css"):
            yield element


def lean(m: folium.Map) -> folium.Map:
    """Drop folium's default links that our maps never use (see :data:`UNUSED`).

    Only for maps without ``folium.Icon`` markers or ``folium.Popup``s, which need them.
    """
    for element in _linked(m):
        for attr in ("default_js", "default_css"):
            links = getattr(element, attr, [])
            setattr(element, attr, [(n, u) for n, u in links if n not in UNUSED])
    return m


def _check(name: str, url: str) -> Asset:
    asset = ASSETS.get(name)
    if asset is None:
        raise UnvendoredAssetError(
            f"the map links {name!r} ({url}), which is not vendored: add it to "
            "scripts/vendor_assets.sh and maps.assets.ASSETS, or remove it (maps.assets.lean)"
        )
    return asset


def use_vendored(m: folium.Map, base_url: str = DEFAULT_BASE_URL) -> folium.Map:
    """Point every JS/CSS link of the map at ``base_url`` (the app's vendored copies)."""
    base = base_url.rstrip("/")
    for element in _linked(m):
        for attr in ("default_js", "default_css"):
            links = getattr(element, attr, [])
            if links:
                setattr(element, attr, [(n, f"{base}/{_check(n, u).path}") for n, u in links])
    return m


_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")


@lru_cache(maxsize=32)
def _read(vendor_dir: Path, rel: str) -> str:
    path = vendor_dir / rel
    if not path.is_file():
        raise UnvendoredAssetError(
            f"{path} is missing: run scripts/vendor_assets.sh to vendor the map assets"
        )
    text = path.read_text(encoding="utf-8")
    if rel.endswith(".css"):
        folder = (vendor_dir / rel).parent

        def data_uri(match: re.Match[str]) -> str:
            target = match.group(2)
            if target.startswith(("data:", "#", "about:")):
                return match.group(0)
            file = (folder / target.split("?")[0].split("#")[0]).resolve()
            if not file.is_file() or vendor_dir.resolve() not in file.parents:
                raise UnvendoredAssetError(f"{rel} refers to {target}, which is not vendored")
            mime = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            encoded = base64.b64encode(file.read_bytes()).decode("ascii")
            return f'url("data:{mime};base64,{encoded}")'

        return _URL.sub(data_uri, text).replace("</style", "<\\/style")
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)


def inline_assets(m: folium.Map, vendor_dir: Path = VENDOR_DIR) -> folium.Map:
    """Put the content of every JS/CSS file the map links into its page head.

    Call it last: an element added afterwards would bring its own links back.
    """
    root = m.get_root()
    seen: dict[str, Asset] = {}
    for element in _linked(m):
        for attr in ("default_js", "default_css"):
            for name, url in getattr(element, attr, []):
                seen.setdefault(name, _check(name, url))
            if getattr(element, attr, None):
                setattr(element, attr, [])
    header = root.header  # type: ignore[attr-defined]
    for name, asset in seen.items():
        text = _read(vendor_dir, asset.path)
        tag = f"<script>{text}</script>" if asset.kind == "js" else f"<style>{text}</style>"
        header.add_child(Raw(f"<!-- {asset.path} (vendored) -->\n{tag}"), name=name)
    # Links an earlier render left in the head, if any, are replaced by the same names
    # above; anything else linking out is an error.
    for name, child in header._children.items():
        if isinstance(child, JavascriptLink | CssLink) and name not in seen:
            raise UnvendoredAssetError(f"the page head links {name!r} ({child.url})")
    return m


def standalone_html(m: folium.Map, vendor_dir: Path = VENDOR_DIR) -> str:
    """The map as one self-contained HTML document that needs no network for its code."""
    return inline_assets(m, vendor_dir).get_root().render()


def page_html(m: folium.Map, base_url: str = DEFAULT_BASE_URL) -> str:
    """The map as an HTML page that loads its code from the app's vendored copies."""
    return use_vendored(m, base_url).get_root().render()
