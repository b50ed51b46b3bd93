"""``/public/<municipality>[/<area>]``: resident maps without sign-in (issue 12 point 6).

Public, active resources only and never a need (checked with canaries in every need
field), cached with validators tied to the directory version, printable, the PDF a
click away, and a Japanese 404 for a code that is not there.
"""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from directory import state
from directory.db import transaction
from directory.demo import SEEDS_DIR, load_demo
from directory.map_data import coordinator_resources, public_resources
from directory.models import Resource
from maps.pdf import HANDOUT_PAGES, page_count
from matching.needs import import_needs

TOWN, AREA = "04445", "04445-A1"
CANARY = "QZXPUBLICCANARY"


@pytest.fixture
def town(engine: Engine, app: Flask, tmp_path: Path) -> Flask:
    """The demo town with its needs, a canary in every need field that holds text."""
    items = json.loads((SEEDS_DIR / "kami" / "needs.json").read_text(encoding="utf-8"))
    for i, item in enumerate(items):
        item["text"] = f"{item.get('text', '')} {CANARY}{i}"
        item["source"] = f"{CANARY}-source"
        item["basis"] = f"{CANARY} 第{i}条"
    path = tmp_path / "needs.json"
    path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    with transaction(engine) as s:
        load_demo(s)
        import_needs(s, path)
    return app


@pytest.fixture
def anonymous(town: Flask) -> FlaskClient:
    return town.test_client()


def assert_no_need(text: str) -> None:
    assert CANARY not in text
    assert not re.search(r"\bN-\d{4}\b", text), "a need id"
    assert not re.search(r"\bR-[0-9a-f]{8}\b", text), "a pseudonym"


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def test_anyone_sees_every_public_active_resource_and_nothing_else(
    engine: Engine, anonymous: FlaskClient
) -> None:
    with Session(engine) as s:
        shown = {r.name for r in public_resources(s)}
        hidden = {
            r.name for r in coordinator_resources(s) if not r.public or r.status != "active"
        } - shown
        in_area = {r.name for r in public_resources(s, area_code=AREA)}
    assert hidden and shown
    page = anonymous.get(f"/public/{TOWN}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert '<html lang="ja"' in text and "加美町の地域資源マップ" in text
    for name in shown:
        assert html.escape(name) in text, name
    for name in hidden:
        assert html.escape(name) not in text, name
    area = anonymous.get(f"/public/{TOWN}/{AREA}").get_data(as_text=True)
    assert "中新田の地域資源マップ" in area
    for name in in_area:
        assert html.escape(name) in area, name
    # without JavaScript the whole numbered list is there, as text
    assert '<ol class="tsunagu-entries">' in area


def test_no_need_reaches_a_public_page_or_pdf(anonymous: FlaskClient) -> None:
    said = []
    for path in (f"/public/{TOWN}", f"/public/{TOWN}/{AREA}"):
        response = anonymous.get(path)
        said.append(response.get_data(as_text=True))
        pdf = anonymous.get(path + ".pdf")
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
        said.append(pdf_text(pdf.data))
        said.append(pdf.data.decode("latin-1"))
    for text in said:
        assert_no_need(text)


def _nonce(csp: str) -> str:
    found = re.search(r"'nonce-([^']+)'", csp)
    assert found
    return found.group(1)


def test_cached_with_validators_tied_to_the_directory_version(
    engine: Engine, anonymous: FlaskClient
) -> None:
    first = anonymous.get(f"/public/{TOWN}/{AREA}")
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, no-cache"
    # the cached copy's scripts carry the nonce that a 304's header names
    body_nonces = set(re.findall(r'nonce="([^"]+)"', first.get_data(as_text=True)))
    assert body_nonces == {_nonce(first.headers["Content-Security-Policy"])}
    again = anonymous.get(f"/public/{TOWN}/{AREA}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    assert _nonce(again.headers["Content-Security-Policy"]) in body_nonces
    # another language, area or kind is another document
    assert anonymous.get(f"/public/{TOWN}/{AREA}?lang=en").headers["ETag"] != etag
    assert anonymous.get(f"/public/{TOWN}").headers["ETag"] != etag
    # a change to the directory makes the old copy stale
    with transaction(engine) as s:
        rid = s.scalars(select(Resource.id).where(Resource.public.is_(True))).first()
        s.execute(update(Resource).where(Resource.id == rid).values(name="改名したサロン（架空）"))
        state.bump(s)
    stale = anonymous.get(
        f"/public/{TOWN}/{AREA}", headers={"If-None-Match": etag}, query_string={"lang": "ja"}
    )
    assert stale.status_code == 200 and stale.headers["ETag"] != etag
    town_page = anonymous.get(f"/public/{TOWN}").get_data(as_text=True)
    assert "改名したサロン（架空）" in town_page
    # the PDFs too
    pdf = anonymous.get(f"/public/{TOWN}/{AREA}.pdf")
    assert pdf.headers["Cache-Control"] == "public, no-cache"
    cached = anonymous.get(
        f"/public/{TOWN}/{AREA}.pdf", headers={"If-None-Match": pdf.headers["ETag"]}
    )
    assert cached.status_code == 304


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/public/99999", "コード 99999 の市町村はありません"),
        (f"/public/{AREA}", f"コード {AREA} の市町村はありません"),  # an area is not a town
        (f"/public/{TOWN}/nowhere", "加美町にはコード nowhere の圏域はありません"),
        (f"/public/{TOWN}/04445001009", "圏域はありません"),  # a district, not an area
        ("/public/99999.pdf", "市町村はありません"),
        (f"/public/{TOWN}/nowhere.pdf", "圏域はありません"),
    ],
)
def test_unknown_codes_are_a_404_page_in_japanese(
    anonymous: FlaskClient, path: str, words: str
) -> None:
    response = anonymous.get(path)
    assert response.status_code == 404
    text = response.get_data(as_text=True)
    assert "ページが見つかりません" in text and words in text


def test_printable_with_the_pdf_a_click_away(anonymous: FlaskClient) -> None:
    page = anonymous.get(f"/public/{TOWN}/{AREA}").get_data(as_text=True)
    # the print stylesheet: A4 portrait and A3 landscape, the list at full width
    assert "@page { size: A4 portrait;" in page and "size: A3 landscape" in page
    assert "html.paper-a3 body.tsunagu-handout { display: block; }" in page
    # the PDFs, without JavaScript
    assert f'href="/public/{TOWN}/{AREA}.pdf"' in page
    assert f'href="/public/{TOWN}/{AREA}.pdf?paper=A3"' in page
    assert f'href="/public/{TOWN}"' in page  # back to the whole town
    a4 = anonymous.get(f"/public/{TOWN}/{AREA}.pdf")
    assert a4.mimetype == "application/pdf" and "inline" in a4.headers["Content-Disposition"]
    a3 = anonymous.get(f"/public/{TOWN}/{AREA}.pdf?paper=A3")
    width, height = PdfReader(io.BytesIO(a3.data)).pages[0].mediabox.upper_right
    assert round(float(width)) == 842 and round(float(height)) == 1191  # A3 portrait
    assert anonymous.get(f"/public/{TOWN}/{AREA}.pdf?paper=B5").status_code == 400


def test_a_long_handout_brings_the_commands_advice_as_links(anonymous: FlaskClient) -> None:
    whole = anonymous.get(f"/public/{TOWN}.pdf")
    assert page_count(whole.data) > HANDOUT_PAGES
    page = anonymous.get(f"/public/{TOWN}").get_data(as_text=True)
    advice = re.search(r'<div class="tsunagu-advice.*?</div>', page, re.S)
    assert advice, "no advice for a long handout"
    words = advice.group(0)
    assert f"配布物が{page_count(whole.data)}ページあり" in words
    assert "圏域ごとに分けて作成してください" in words
    for area in ("04445-A1", "04445-A2", "04445-A3"):
        assert f'href="/public/{TOWN}/{area}"' in words
        assert f'href="/public/{TOWN}/{area}.pdf"' in words
    # an area whose handout is still long is split by kind, each a PDF of its own
    area_pdf = anonymous.get(f"/public/{TOWN}/{AREA}.pdf")
    area_page = anonymous.get(f"/public/{TOWN}/{AREA}").get_data(as_text=True)
    if page_count(area_pdf.data) > HANDOUT_PAGES:
        assert "種類ごとに分けて作成してください" in area_page
        kinds = re.findall(rf'href="/public/{TOWN}/{AREA}\.pdf\?category=([a-z_]+)"', area_page)
        assert kinds
        part = anonymous.get(f"/public/{TOWN}/{AREA}.pdf?category={kinds[0]}")
        assert part.status_code == 200 and page_count(part.data) < page_count(area_pdf.data)
    else:
        assert "tsunagu-advice" not in area_page
    assert anonymous.get(f"/public/{TOWN}.pdf?category=nothing-like-it").status_code == 400


def test_the_page_in_english(anonymous: FlaskClient) -> None:
    page = anonymous.get(f"/public/{TOWN}/{AREA}?lang=en").get_data(as_text=True)
    assert '<html lang="en"' in page and "Print as PDF (A4)" in page
