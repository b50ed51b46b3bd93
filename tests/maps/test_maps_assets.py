"""Every JS/CSS file a map needs is vendored; no map page names a CDN."""

from __future__ import annotations

import re
from pathlib import Path

import folium
import folium.plugins
import pytest
from maphelpers import CDN_MARKERS, DISTRICTS, coordinator, public

from maps import assets, coordinator_map, need_map, resident_map, unmet_map

ALL_MAPS = {
    "coordinator": lambda: coordinator_map(
        [coordinator("R-1", "サロン", ("salon",), 38.1, 140.1)], DISTRICTS
    ),
    "resident": lambda: resident_map(
        [public("R-1", "サロン", ("salon",), 38.1, 140.1)], DISTRICTS, credits=["出典"]
    ),
    "unmet": lambda: unmet_map([("TOWN-EAST-N", "snow", "no_resource", 4)], DISTRICTS),
    "need": lambda: need_map((38.1, 140.1), 500, [(1, "サロン", 38.1, 140.11, 0.9)]),
}


def assert_no_cdn(html: str) -> None:
    for marker in CDN_MARKERS:
        assert marker not in html, marker


@pytest.mark.parametrize("name", sorted(ALL_MAPS))
def test_maps_as_built_link_only_the_apps_vendored_copies(name: str) -> None:
    html = ALL_MAPS[name]().get_root().render()
    assert_no_cdn(html)
    links = re.findall(r'<script src="([^"]+)"|<link rel="stylesheet" href="([^"]+)"', html)
    urls = [a or b for a, b in links]
    assert urls and all(u.startswith("/static/vendor/") for u in urls), urls
    for url in urls:
        assert (assets.VENDOR_DIR / url.removeprefix("/static/vendor/")).is_file(), url


@pytest.mark.parametrize("name", sorted(ALL_MAPS))
def test_page_html_uses_the_given_prefix(name: str) -> None:
    html = assets.page_html(ALL_MAPS[name](), "/tsunagu/static/vendor/")
    assert '<script src="/tsunagu/static/vendor/leaflet/leaflet.js">' in html
    assert_no_cdn(html)


@pytest.mark.parametrize("name", sorted(ALL_MAPS))
def test_standalone_html_inlines_everything(name: str) -> None:
    html = assets.standalone_html(ALL_MAPS[name]())
    assert_no_cdn(html)
    assert "<script src=" not in html and '<link rel="stylesheet"' not in html
    assert "/static/vendor" not in html
    assert "leaflet/leaflet.js (vendored)" in html
    # Leaflet's CSS images are data URIs, so the layer control icon shows offline too
    assert 'url("data:image/png;base64,' in html
    assert "images/layers.png" not in html


def test_a_plain_folium_map_is_refused_until_it_is_made_lean() -> None:
    m = folium.Map(tiles=None)
    with pytest.raises(assets.UnvendoredAssetError, match="bootstrap"):
        assets.use_vendored(m)
    html = assets.page_html(assets.lean(m))
    assert_no_cdn(html)
    assert "/static/vendor/leaflet/leaflet.js" in html


def test_folium_markercluster_links_are_mapped_by_name() -> None:
    m = assets.lean(folium.Map(tiles=None))
    folium.plugins.MarkerCluster().add_to(m)
    html = assets.standalone_html(m)
    assert_no_cdn(html)
    assert "leaflet.markercluster/leaflet.markercluster.js (vendored)" in html


def test_inlined_code_cannot_close_its_script_element(tmp_path: Path) -> None:
    (tmp_path / "leaflet").mkdir()
    (tmp_path / "leaflet" / "leaflet.js").write_text('var s = "</script><b>";', encoding="utf-8")
    (tmp_path / "leaflet" / "leaflet.css").write_text("a { color: red }", encoding="utf-8")
    m = assets.lean(folium.Map(tiles=None))
    html = assets.standalone_html(m, vendor_dir=tmp_path)
    assert 'var s = "<\\/script><b>";' in html


def test_a_missing_vendored_file_is_an_error_not_a_silent_cdn(tmp_path: Path) -> None:
    m = assets.lean(folium.Map(tiles=None))
    with pytest.raises(assets.UnvendoredAssetError, match=r"vendor_assets\.sh"):
        assets.standalone_html(m, vendor_dir=tmp_path)


def test_vendored_files_keep_their_licences() -> None:
    for licence in (
        "leaflet/LICENSE",
        "leaflet.markercluster/MIT-LICENCE.txt",
        "jquery/LICENSE.txt",
        "fontawesome-free/LICENSE.txt",
        "README.md",
    ):
        assert (assets.VENDOR_DIR / licence).is_file(), licence
    for asset in assets.ASSETS.values():
        text = (assets.VENDOR_DIR / asset.path).read_text(encoding="utf-8")
        assert "sourceMappingURL" not in text, asset.path


def test_every_taxonomy_icon_is_vendored_as_svg() -> None:
    from directory.taxonomy import load_taxonomy
    from maps._fa_icons import ICONS

    missing = sorted({c.icon for c in load_taxonomy()} - set(ICONS))
    assert not missing, f"run scripts/vendor_assets.sh to vendor the icons {missing}"
