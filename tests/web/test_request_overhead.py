"""What every page pays for, made cheaper without changing what it does: the templates'
gettext, the rate limits' look before each request, the signed-in account read fresh."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask, render_template_string
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import update
from webhelpers import add_account, sign_in

from web import create_app
from web.db import get_db
from web.models import User
from web.security import limiter


def _render(app: Flask, source: str, lang: str) -> str:
    with app.test_request_context(f"/?lang={lang}"):
        return render_template_string(source)


def test_template_gettext_translates_escapes_and_formats_like_jinja(app: Flask) -> None:
    assert _render(app, '{{ _("Sign out") }}', "ja") == "サインアウト"
    assert _render(app, '{{ _("Sign out") }}', "en") == "Sign out"
    # %(name)s takes an escaped value; %% is % even with no value; no autoescape, no escaping
    assert _render(app, '{{ _("a %(x)s", x="<b>") }}', "en") == "a &lt;b&gt;"
    assert _render(app, '{{ _("100%%") }}', "en") == "100%"
    assert _render(app, '{{ _("<i>") }}', "en") == "<i>"  # the msgid is ours, trusted
    off = '{% autoescape false %}{{ _("a %(x)s", x="<b>") }}{% endautoescape %}'
    assert _render(app, off, "en") == "a <b>"
    plural = '{{ ngettext("%(num)s day", "%(num)s days", n) }}'
    with app.test_request_context("/?lang=en"):
        assert render_template_string(plural, n=1) == "1 day"
        assert render_template_string(plural, n=3) == "3 days"
    trans = "{% trans n=2 %}{{ n }} of 100%{% endtrans %}"
    assert _render(app, trans, "en") == "2 of 100%"


def test_a_macro_imported_without_context_speaks_each_requests_language(app: Flask) -> None:
    """Jinja keeps such a module (and its context) between renders: the macro must still
    ask the request for its language."""
    pages = app.jinja_env.loader
    assert pages is not None
    macros = DictLoader({"m.html": '{% macro out() %}{{ _("Sign out") }}{% endmacro %}'})
    app.jinja_env.loader = ChoiceLoader([macros, pages])
    page = '{% import "m.html" as m %}{{ m.out() }}'
    assert _render(app, page, "ja") == "サインアウト"
    assert _render(app, page, "en") == "Sign out"
    assert _render(app, page, "ja") == "サインアウト"


@pytest.fixture
def limited_app(db_url: str, app: Flask) -> Iterator[Flask]:
    """An app configured with a default limit for every view (the limiter is shared by
    every app of the process: the limit is taken off again afterwards)."""
    limited = create_app(
        {"TESTING": True, "DATABASE_URL": db_url, "RATELIMIT_DEFAULT": "3 per minute"}
    )
    try:
        yield limited
    finally:
        limiter.limit_manager.set_default_limits([])
        limited.extensions["db_engine"].dispose()


def test_a_configured_default_limit_still_counts_every_request(limited_app: Flask) -> None:
    client = limited_app.test_client()
    statuses = [client.get("/login").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_unlimited_views_are_not_limited(app: Flask) -> None:
    client = app.test_client()
    assert {client.get("/login").status_code for _ in range(30)} == {200}


def test_a_new_role_or_a_disabled_account_counts_from_the_next_request(app: Flask) -> None:
    account = add_account(app, "ueda", "viewer")
    client = app.test_client()
    sign_in(client, account)
    assert 'href="/unmet' not in client.get("/").get_data(as_text=True)
    with app.app_context(), get_db().write() as s:
        s.execute(update(User).where(User.login == "ueda").values(role="tier1"))
    assert 'href="/unmet' in client.get("/").get_data(as_text=True)
    with app.app_context(), get_db().write() as s:
        s.execute(update(User).where(User.login == "ueda").values(disabled=True))
    assert client.get("/maps/coordinator").status_code == 302  # signed out
