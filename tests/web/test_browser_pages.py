"""The pages as people use them, in Debian's chromium: signed in through the real form,
by keyboard, in large text, checked by axe-core for serious WCAG 2 A/AA problems."""

from __future__ import annotations

from typing import Any

import pytest
from browserhelpers import axe_problems, chromium, new_page, served, shot
from flask import Flask
from sqlalchemy import Engine
from webhelpers import PASSWORD, add_account

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_app(app: Flask, demo_town_with_needs: Engine) -> Flask:
    return app


def sign_in(page: Any, login: str) -> None:
    """The §8 form as a person fills it: by label, then Enter."""
    page.goto("/login")
    page.get_by_label("ログイン名").fill(login)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_label("パスワード").press("Enter")
    page.wait_for_load_state("load")


def test_sign_in_by_keyboard_and_large_text(demo_app: Flask) -> None:
    add_account(demo_app, "miyazaki", "tier2", ("04445-A3",))
    with chromium() as browser, served(demo_app) as base:
        page, errors = new_page(browser, base)
        page.goto("/login")
        assert axe_problems(page) == []
        shot(page, "01-sign-in")
        # keyboard: the first Tab reaches the skip link, which leads to the content
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        page.keyboard.press("Enter")
        assert page.evaluate("location.hash") == "#main"
        sign_in(page, "miyazaki")
        assert page.url.rstrip("/") == base
        assert "miyazaki" in page.locator("header.site").inner_text()
        assert axe_problems(page) == []
        # large text: a link, remembered on the next page
        before = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        page.get_by_role("link", name="大きな文字").click()
        page.goto("/maps/")
        after = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert after >= before * 1.25
        assert axe_problems(page) == []
        shot(page, "02-large-text", full_page=False)
        assert errors == []


def test_pages_in_english_pass_the_same_checks(demo_app: Flask) -> None:
    with chromium() as browser, served(demo_app) as base:
        page, errors = new_page(browser, base, locale="en-GB")
        page.goto("/")
        assert page.evaluate("document.documentElement.lang") == "en"
        assert axe_problems(page) == []
        page.get_by_role("link", name="日本語").click()
        assert page.evaluate("document.documentElement.lang") == "ja"
        assert errors == []
