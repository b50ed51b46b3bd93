"""Large text and the language switch: on every page, without JavaScript, remembered."""

from __future__ import annotations

import re

from flask.testing import FlaskClient


def test_large_text_is_a_link_and_is_remembered(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="ja">' in page  # normal size by default
    link = re.search(r'<a href="([^"]*)">大きな文字</a>', page)
    assert link is not None and link.group(1) == "/?text=large"
    large = client.get(link.group(1))
    assert '<html lang="ja" class="large-text">' in large.get_data(as_text=True)
    assert any(c.startswith("text=large") for c in large.headers.getlist("Set-Cookie"))
    # remembered by the cookie on the next page, and offered back
    maps = client.get("/maps/").get_data(as_text=True)
    assert 'class="large-text"' in maps and "標準の文字" in maps
    client.get("/?text=normal")
    assert 'class="large-text"' not in client.get("/maps/").get_data(as_text=True)
    # nonsense is ignored, not echoed
    odd = client.get("/?text=%3Cscript%3E").get_data(as_text=True)
    assert "<script>" not in odd and 'class="large-text"' not in odd


def test_switches_keep_the_query_the_user_is_on(client: FlaskClient) -> None:
    page = client.get("/login?next=%2Fmaps%2F").get_data(as_text=True)
    assert 'href="/login?next=%2Fmaps%2F&amp;text=large"' in page
    assert 'href="/login?next=%2Fmaps%2F&amp;lang=en"' in page
    english = client.get("/login?next=%2Fmaps%2F&lang=en").get_data(as_text=True)
    assert 'href="/login?next=%2Fmaps%2F&amp;lang=ja"' in english and "Large text" in english


def test_the_stylesheet_scales_with_the_root_size(client: FlaskClient) -> None:
    """Large text works because sizes are relative: no fixed pixel font sizes."""
    response = client.get("/static/tsunagu.css")
    css = response.get_data(as_text=True)
    response.close()
    assert "html.large-text" in css
    assert not re.search(r"font-size:\s*\d+px", css)
