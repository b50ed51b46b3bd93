"""Every HTML page of the app, in Debian's chromium, checked by axe-core for serious WCAG 2
A/AA problems (issue 12 point 7). The list of pages is checked against the app's own
routes, so a page added later without being listed here fails this test."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest
from browserhelpers import axe_problems, chromium, new_page, served
from flask import Flask
from sqlalchemy import Engine, select
from webhelpers import PASSWORD, add_account

from directory.db import transaction
from directory.demo import SEEDS_DIR, load_demo
from directory.models import District, Resource
from matching.models import Need
from matching.needs import import_needs
from web.actors import NeedAreas

pytestmark = pytest.mark.browser

#: Routes that give no HTML page (downloads, the JSON API) or only redirect.
NOT_PAGES = ("/api/", "/static/", ".pdf", ".csv", ".xlsx", ".json")


def _pages(engine: Engine, area: str) -> tuple[list[str], list[str], list[str]]:
    """(pages anyone may open, pages of a coordinator of ``area``, pages of tier 1), ids
    taken from data."""
    with transaction(engine) as s:
        municipality = s.scalars(select(District.code).where(District.level == "municipality"))
        code = next(iter(municipality))
        resource, another = s.scalars(
            select(Resource.external_id).where(Resource.public).order_by(Resource.id).limit(2)
        ).all()
        area_id = s.scalars(select(District.id).where(District.code == area)).one()
        tree = NeedAreas(s)
        need = next(
            ext
            for ext, did in s.execute(select(Need.external_id, Need.district_id).order_by(Need.id))
            if tree.area_of(did) == area_id
        )
    public = [f"/public/{code}", f"/public/{code}/{area}", "/login"]
    staff = [
        "/",
        "/resources",
        "/resources?q=さろん",
        f"/resources/{resource}",
        f"/resources/{resource}/edit",
        "/resources/new",
        "/needs/",
        "/needs/new",
        f"/needs/{need}",
        f"/needs/{need}/list",
        f"/needs/{need}/map",
        "/unmet",
        "/unmet/map",
        "/unmet/map?public=1",
        "/reports",
        "/verification",
        "/resources/duplicates",
        "/maps/",
        f"/maps/resident?area={area}",
        f"/maps/coordinator?area={area}",
    ]
    tier1 = ["/resources/import", f"/resources/duplicates/merge?keep={resource}&drop={another}"]
    return public, staff, tier1


#: The sign-in form's labels (login, password, second-factor code) in each language.
LABELS = {
    "ja-JP": ("ログイン名", "パスワード", "確認コード"),
    "en-GB": ("Login name", "Password", "Verification code"),
}


@pytest.mark.parametrize("locale", list(LABELS))
def test_every_page_passes_axe(app: Flask, engine: Engine, locale: str) -> None:
    with transaction(engine) as s:
        load_demo(s)
        import_needs(s, SEEDS_DIR / "kami" / "needs.json")
    area = "04445-A1"
    add_account(app, "coord", "tier2", (area,))
    editor = add_account(app, "editor", "tier1")
    add_account(app, "newcomer", "tier1", totp=False)  # signs in to set up the second factor
    public, staff, tier1 = _pages(engine, area)
    seen: set[str] = set()
    problems: dict[str, list[str]] = {}
    with chromium() as browser, served(app) as base:
        page, errors = new_page(browser, base, locale=locale)
        login_label, password_label, code_label = LABELS[locale]
        langs: dict[str, str] = {}

        def check(path: str) -> None:
            response = page.goto(path)
            assert response is not None and response.status == 200, path
            page.wait_for_load_state("load")
            seen.add(path.split("?")[0])
            langs[path] = page.evaluate("document.documentElement.lang")
            found: Any = axe_problems(page)
            if found:
                problems[path] = found

        def sign_in(login: str, secret: str | None = None) -> None:
            page.context.clear_cookies()
            page.goto("/login")
            page.get_by_label(login_label).fill(login)
            page.get_by_label(password_label).fill(PASSWORD)
            page.get_by_label(password_label).press("Enter")
            page.wait_for_load_state("load")
            if secret is not None:  # the form asks for the code after the password
                page.get_by_label(password_label).fill(PASSWORD)
                page.get_by_label(code_label, exact=False).fill(pyotp.TOTP(secret).now())
                page.get_by_label(code_label, exact=False).press("Enter")
                page.wait_for_load_state("load")

        for path in public:
            check(path)
        sign_in("coord")
        for path in staff:
            check(path)
        sign_in("editor", editor.totp_secret)
        for path in tier1:
            check(path)
        sign_in("newcomer")
        assert page.url.endswith("/login/second-factor"), page.url
        check("/login/second-factor")
        assert errors == []
    assert problems == {}
    # every page says which language it is in (screen readers pick their voice by it)
    assert {p: lang for p, lang in langs.items() if lang != locale[:2]} == {}
    # every HTML route was visited: its rule matches one of the paths opened
    rules = [
        r
        for r in app.url_map.iter_rules()
        if "GET" in (r.methods or ()) and not any(part in r.rule for part in NOT_PAGES)
    ]
    adapter = app.url_map.bind("localhost")
    matched = {adapter.match(path)[0] for path in seen}
    missing = sorted(r.rule for r in rules if r.endpoint not in matched)
    assert missing == []
