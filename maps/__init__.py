"""Folium maps built by pure functions from plain data; no database or Flask here.

Each builder takes plain values (the dataclasses of :mod:`directory.map_data`, tuples,
lists) and returns a ``folium.Map`` whose root is a whole Japanese page. The maps link
their JavaScript and CSS from the app's ``/static/vendor/`` (never a CDN); use
:func:`maps.assets.standalone_html` for a single offline file, or
:func:`maps.assets.page_html` to serve one under another URL prefix.

* :func:`coordinator_map` — every resource of an area for coordinators (layers per category)
* :func:`resident_map` — the published, printable handout (``PublicResource`` only)
* :func:`unmet_map` — unmet needs per district, small counts shown as 「少数」
* :func:`need_map` — one need's approximate place, walking radius and ranked candidates
"""

from __future__ import annotations

from maps._common import DEFAULT_TILES, GSI_PALE, OSM, Tiles
from maps.assets import UnvendoredAssetError, page_html, standalone_html
from maps.coordinator import coordinator_map
from maps.need import Candidate, need_map
from maps.resident import resident_map
from maps.unmet import UnmetCount, unmet_map

__all__ = [
    "DEFAULT_TILES",
    "GSI_PALE",
    "OSM",
    "Candidate",
    "Tiles",
    "UnmetCount",
    "UnvendoredAssetError",
    "coordinator_map",
    "need_map",
    "page_html",
    "resident_map",
    "standalone_html",
    "unmet_map",
]
