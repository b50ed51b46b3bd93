"""The maps in a real browser with the network cut off (Debian's chromium + Playwright).

Offline is the point: municipal PCs on closed networks must get working maps from the app
alone. Every request that is not to the page itself (file:// or the app on 127.0.0.1) is
aborted; the only ones the page may make are map tiles, which fail and leave the plain
background, with districts and markers still drawn. Screenshots go to ``artifacts/``.

Skipped only when chromium or Playwright for Python is not installed (.ci/run installs
both: ``apt-get install -y chromium fonts-ipaexfont-gothic`` and ``pip install playwright``;
never ``playwright install``).
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.demo import credits
from directory.map_data import coordinator_resources, map_districts, public_resources
from directory.models import District
from maps import coordinator_map, resident_map, standalone_html
from web.accounts import add_user
from web.actors import system_actor
from web.db import get_db

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
TILE_HOSTS = ("https://cyberjapandata.gsi.go.jp/", "https://tile.openstreetmap.org/")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed (pip install playwright)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Offline:
    """A page whose every request except to ``allowed`` prefixes is aborted and noted."""

    def __init__(self, browser: Any, allowed: tuple[str, ...]):
        # a Japanese browser (Accept-Language: ja): the pages follow the browser's language
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
        self.aborted: list[str] = []
        self.errors: list[str] = []

        def route(r: Any) -> None:
            if r.request.url.startswith(allowed):
                r.continue_()
            else:
                self.aborted.append(r.request.url)
                r.abort()

        self.context.route("**/*", route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        # a script or style refused by the Content-Security-Policy is an error too
        self.page.on(
            "console",
            lambda m: self.errors.append(m.text) if "Content Security Policy" in m.text else None,
        )

    def open(self, url: str) -> Any:
        self.page.goto(url)
        self.page.wait_for_load_state("load")
        self.page.wait_for_timeout(600)  # chunked marker loading, label decluttering
        return self.page

    def check(self) -> None:
        assert self.errors == []
        # nothing but tiles was asked of the outside world: no CDN, no font, no script
        assert all(u.startswith(TILE_HOSTS) for u in self.aborted), self.aborted

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def served(app: Flask, demo: Session) -> Iterator[str]:
    """The app with the maps blueprint on a real HTTP server at 127.0.0.1."""
    from werkzeug.serving import make_server

    from web import maps_views

    if "maps" not in app.blueprints:
        app.register_blueprint(maps_views.bp)
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def first_area(session: Session) -> str:
    code = session.scalars(
        select(District.code).where(District.level == "area").order_by(District.code)
    ).first()
    assert code
    return code


def check_resident(page: Any, expected_markers: int, expected_numbers: int, shot: str) -> None:
    assert page.locator(".tsunagu-num").count() == expected_markers
    numbers = page.eval_on_selector_all(
        ".tsunagu-num", "els => els.flatMap(e => e.dataset.numbers.split(',').map(Number))"
    )
    assert sorted(numbers) == list(range(1, expected_numbers + 1))
    listed = page.eval_on_selector_all(
        "li[data-number]:not([data-number=''])", "els => els.map(e => Number(e.dataset.number))"
    )
    assert listed == list(range(1, expected_numbers + 1))
    legend = page.locator("section.tsunagu-legend")
    assert legend.is_visible() and "地図の見かた" in legend.inner_text()
    assert page.locator("path.leaflet-interactive").count() > 0  # districts drawn
    assert "地理院タイル" in page.locator(".leaflet-control-attribution").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / shot), full_page=True)


def check_coordinator(page: Any, located: int, shot: str) -> None:
    assert page.evaluate("window.tsunaguMaps[0].count()") == located
    assert page.locator(".marker-cluster").count() + page.locator(".tsunagu-pin").count() > 0
    assert page.locator(".tsunagu-legend").is_visible()
    assert "凡例" in page.locator(".tsunagu-legend").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / shot))


def test_resident_map_file_works_offline(browser: Any, demo: Session, tmp_path: Path) -> None:
    area = first_area(demo)
    resources = public_resources(demo, area_code=area)
    html = standalone_html(
        resident_map(resources, map_districts(demo, area_code=area), credits=credits())
    )
    path = tmp_path / "resident.html"
    path.write_text(html, encoding="utf-8")
    located = [r for r in resources if r.lat is not None]
    places = {(round(r.lat, 5), round(r.lon, 5)) for r in located}  # type: ignore[arg-type]
    offline = Offline(browser, ("file://",))
    try:
        page = offline.open(path.as_uri())
        check_resident(page, len(places), len(located), "maps-resident-file.png")
        offline.check()
    finally:
        offline.close()


def test_coordinator_map_file_works_offline_and_categories_toggle(
    browser: Any, demo: Session, tmp_path: Path
) -> None:
    resources = coordinator_resources(demo)
    path = tmp_path / "coordinator.html"
    path.write_text(
        standalone_html(coordinator_map(resources, map_districts(demo))), encoding="utf-8"
    )
    located = [r for r in resources if r.lat is not None]
    offline = Offline(browser, ("file://",))
    try:
        page = offline.open(path.as_uri())
        check_coordinator(page, len(located), "maps-coordinator-file.png")
        # one overlay per category (plus the districts); unticking one removes exactly the
        # markers that have no other category shown
        boxes = page.locator(".leaflet-control-layers-overlays input[type=checkbox]")
        codes = sorted({c for r in resources for c in r.categories})
        assert boxes.count() == len(codes) + 1
        label = page.locator(".leaflet-control-layers-overlays label", has_text="サロン").first
        label.locator("input").uncheck()
        only_salon = [r for r in located if set(r.categories) == {"salon"}]
        assert page.evaluate("window.tsunaguMaps[0].count()") == len(located) - len(only_salon)
        label.locator("input").check()
        assert page.evaluate("window.tsunaguMaps[0].count()") == len(located)
        offline.check()
    finally:
        offline.close()


PASSWORD = "a long enough test password"


def test_maps_served_by_the_app_work_offline(
    browser: Any, app: Flask, demo: Session, served: str
) -> None:
    area = first_area(demo)
    with app.app_context(), get_db().write() as s:
        add_user(s, system_actor("test"), "coord", role="tier2", password=PASSWORD, areas=[area])
    resources = public_resources(demo, area_code=area)
    located = [r for r in resources if r.lat is not None]
    places = {(round(r.lat, 5), round(r.lon, 5)) for r in located}  # type: ignore[arg-type]
    offline = Offline(browser, (served,))
    try:
        page = offline.open(f"{served}/maps/resident?area={area}")
        check_resident(page, len(places), len(located), "maps-resident-app.png")
        # the coordinators' map needs sign-in: the app sends the browser to the §8 form
        page = offline.open(f"{served}/maps/coordinator?area={area}")
        assert "/login" in page.url
        page.fill("input[name=login]", "coord")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{served}/maps/coordinator?area={area}")
        page.wait_for_load_state("load")
        page.wait_for_timeout(600)
        in_area = [r for r in coordinator_resources(demo, area_code=area) if r.lat is not None]
        check_coordinator(page, len(in_area), "maps-coordinator-app.png")
        offline.check()
    finally:
        offline.close()
