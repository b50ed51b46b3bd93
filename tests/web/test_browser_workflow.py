"""A coordinator's day in Debian's chromium (issue 12 point 8): sign in, find a resource
with a hiragana query, record a need through the form, follow the ranked matches up to
「つながった」, print the resident's list; another area's coordinator is refused the need;
an edit on a stale version is refused with nothing lost. Every main page is checked by
axe-core, and the screenshots are the README's guide (``make guide``).

The demo town (加美町): 中新田 (04445-A1) is the coordinator's area, 小野田 (04445-A2)
another's. 字町裏 (04445011003) lies in 中新田, where 町裏いきいきサロン (R-002) meets on
Tuesday mornings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from browserhelpers import axe_problems, chromium, new_page, served, shot
from flask import Flask
from sqlalchemy import Engine, select
from test_browser_pages import sign_in
from webhelpers import add_account

from directory.db import transaction
from directory.models import Resource
from web.need_service import status_label

pytestmark = pytest.mark.browser

OWN, OTHER = "04445-A1", "04445-A2"
DISTRICT = "字町裏"
SALON, SALON_NAME = "R-002", "町裏いきいきサロン（架空）"
#: What only the need holds: none of it may reach the resident's list.
NEED_TEXT = "近所の人とおしゃべりしたい。膝が悪く、遠くへは歩けない"
PSEUDONYM = "R-5f3c9a"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One chromium for the module: launching it costs seconds."""
    with chromium() as b:
        yield b


@pytest.fixture
def demo_app(app: Flask, demo_town_with_needs: Engine) -> Flask:
    return app


def checked(page: Any) -> None:
    """No serious or critical WCAG 2 A/AA problem on the page."""
    assert axe_problems(page) == [], page.url


def submit(page: Any, button: Any) -> Any:
    """Click a form's button; the response the navigation ends on (after redirects)."""
    with page.expect_navigation() as nav:
        button.click()
    return nav.value


def test_a_coordinator_finds_records_connects_and_prints(browser: Any, demo_app: Flask) -> None:
    add_account(demo_app, "coord", "tier2", (OWN,))
    add_account(demo_app, "neighbour", "tier2", (OTHER,))
    with served(demo_app) as base:
        page, errors = new_page(browser, base)
        sign_in(page, "coord")
        assert "coord" in page.locator("header.site").inner_text()

        # find: hiragana for 町裏 and サロン
        page.goto("/resources")
        page.get_by_label("さがす言葉").fill("まちうらさろん")
        submit(page, page.get_by_role("button", name="さがす", exact=True))
        results = page.locator("ol.results a.name")
        assert SALON_NAME in results.all_inner_texts()
        checked(page)
        shot(page, "10-search", full_page=False)
        submit(page, results.filter(has_text=SALON_NAME))
        assert page.url.endswith(f"/resources/{SALON}")
        assert "0229-00-2002" in page.inner_text("main")
        checked(page)
        shot(page, "11-resource", full_page=False)

        # record a need through the form, by its labels
        page.goto("/needs/new")
        page.get_by_label("地区（担当圏域内）").select_option(label=DISTRICT)
        page.get_by_role("group", name="支援の種別", exact=False).get_by_label(
            "サロン", exact=True
        ).check()
        page.get_by_label("相談内容", exact=False).fill(NEED_TEXT)
        page.get_by_role("group", name="希望の曜日").get_by_label("火", exact=True).check()
        page.get_by_label("希望の時間帯", exact=False).fill("午前")
        page.get_by_label("本人の仮名ID", exact=False).fill(PSEUDONYM)
        page.get_by_label("同意日").fill(dt.date.today().isoformat())
        page.get_by_label("同意した人").select_option("本人")
        checked(page)
        shot(page, "12-intake")
        response = submit(page, page.get_by_role("button", name="保存して資源を探す"))
        assert response.status == 200
        need_path = page.url.split("?")[0].removeprefix(base)
        need_id = need_path.rsplit("/", 1)[1]
        assert need_path == f"/needs/{need_id}" and need_id

        # ranked matches, every one with its reasons; the salon first
        matches = page.locator("#matches-h ~ ol.matches > li")
        assert matches.count() >= 1
        assert matches.first.get_attribute("id") == f"r-{SALON}"
        salon = page.locator(f"#r-{SALON}")
        reasons = salon.locator("ul.reasons li").all_inner_texts()
        assert reasons and any("対象地区内" in r for r in reasons), reasons
        assert "0229-00-2002" in salon.inner_text()
        checked(page)
        page.locator("#matches-h").evaluate("e => e.scrollIntoView()")
        shot(page, "13-need-matches", full_page=False)

        # what happened: contacted, then connected, each into the timeline
        for status, note in (("contacted", "電話で空きを確認"), ("connected", "")):
            salon.get_by_label("経過").select_option(status)
            salon.get_by_label("メモ（任意）", exact=True).fill(note)
            response = submit(page, salon.get_by_role("button", name="記録する"))
            assert response.status == 200
        timeline = page.locator("#timeline").inner_text()
        for status in ("contacted", "connected"):
            assert status_label(status, "ja") in timeline
        assert "電話で空きを確認" in timeline and SALON_NAME in timeline
        page.locator("#timeline").evaluate("e => e.scrollIntoView({block: 'center'})")
        shot(page, "14-timeline", full_page=False)

        # the resident's list: the connected salon, printed, with no value of the need
        submit(page, page.get_by_role("button", name="本人に渡す一覧を作る"))
        assert f"/needs/{need_id}/list" in page.url
        assert SALON_NAME in page.inner_text("main")
        checked(page)
        page.emulate_media(media="print")
        assert not page.locator("main > p.no-print").first.is_visible()
        text = page.inner_text("body")
        for value in (NEED_TEXT, "おしゃべり", need_id, PSEUDONYM):
            assert value not in text, value
        pdf = page.pdf(format="A4")
        assert pdf.startswith(b"%PDF") and PSEUDONYM.encode() not in pdf
        shot(page, "15-resident-list")
        page.emulate_media(media="screen")

        # what is missing, and the reports
        page.goto("/unmet")
        checked(page)
        shot(page, "17-unmet", full_page=False)
        page.goto("/reports")
        checked(page)
        shot(page, "18-reports", full_page=False)
        page.goto("/verification")
        checked(page)
        shot(page, "19-verification", full_page=False)
        assert errors == []

        # another area's coordinator: not the page, not the list, not its PDF, not the API
        other, other_errors = new_page(browser, base)
        sign_in(other, "neighbour")
        response = other.goto(need_path)
        assert response is not None and response.status in (403, 404)
        assert "おしゃべり" not in other.inner_text("body")
        for path in (f"{need_path}/list", f"{need_path}/list.pdf", f"/api/v1/needs/{need_id}"):
            refused = other.request.get(path)
            assert refused.status in (403, 404), path
            assert "おしゃべり" not in refused.text()
        assert other_errors == []


def test_an_edit_on_a_stale_version_is_refused_with_nothing_lost(
    browser: Any, demo_app: Flask, engine: Engine
) -> None:
    add_account(demo_app, "coord", "tier2", (OWN,))
    add_account(demo_app, "coord2", "tier2", (OWN,))
    with served(demo_app) as base:
        first, _ = new_page(browser, base)
        second, errors = new_page(browser, base)
        for page, login in ((first, "coord"), (second, "coord2")):
            sign_in(page, login)
            page.goto(f"/resources/{SALON}/edit")
        checked(first)
        first.get_by_label("費用", exact=True).fill("1回100円")
        response = submit(first, first.get_by_role("button", name="保存", exact=True))
        assert response.status == 200 and first.url.endswith(f"/resources/{SALON}?saved=1")

        second.get_by_label("費用", exact=True).fill("1回200円")
        response = submit(second, second.get_by_role("button", name="保存", exact=True))
        assert response.status == 409
        table = second.locator("table.conflict")
        row = table.locator("tr.differs", has=second.get_by_role("rowheader", name="費用 違い"))
        cells = row.locator("td").all_inner_texts()
        assert cells == ["1回200円", "1回100円"]  # what they typed, kept; what is saved
        checked(second)
        row.evaluate("e => e.scrollIntoView({block: 'center'})")
        shot(second, "16-conflict", full_page=False)
        with transaction(engine) as s:
            fee = s.scalars(select(Resource.fee).where(Resource.external_id == SALON)).one()
        assert fee == "1回100円"  # nothing overwritten
        assert errors == []
