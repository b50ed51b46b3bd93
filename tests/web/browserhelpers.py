"""The web app in a real browser: Debian's chromium driven by Playwright for Python.

Never a downloaded browser: ``.ci/run`` installs ``chromium`` with apt and the tests pass
its path (``executable_path``). Pages are checked with axe-core (the copy that the
``axe-playwright-python`` wheel carries: nothing is fetched) for the serious and critical
WCAG 2 A/AA problems, and screenshots go to ``artifacts/guide/`` (``make guide`` copies
them to ``tests/guide/`` for the README's guide).
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "guide"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
#: axe-core rule tags checked: WCAG 2.0/2.1 level A and AA.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's chromium under Playwright (skips the test when either is missing)."""
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed (pip install playwright)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def served(app: Flask) -> Iterator[str]:
    """The app on a real HTTP server at 127.0.0.1 (a free port), threaded like a deployment."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def new_page(browser: Any, base: str, *, locale: str = "ja-JP") -> tuple[Any, list[str]]:
    """A page in a fresh context that may talk to ``base`` only (tiles and anything else
    are aborted), and the list its script errors and CSP refusals go to."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale=locale, base_url=base
    )
    errors: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith(base):
            r.continue_()
        else:
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return page, errors


def axe_problems(page: Any) -> list[str]:
    """The serious and critical WCAG 2 A/AA violations axe-core finds on the page, one
    line each (rule, impact, how many elements, the first element)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    problems = []
    for v in results.response["violations"]:
        if v.get("impact") in ("serious", "critical"):
            first = v["nodes"][0]["target"] if v["nodes"] else ""
            problems.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])}): {first}")
    return problems


def shot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """A screenshot for the guide (artifacts/guide/NAME.png)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
