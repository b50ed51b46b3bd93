"""Maps in both languages: Japanese by default (the wording the other map tests assert),
English with ``lang="en"``: the page's ``lang``, legends, lists, credits and the PDF."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
from flask.testing import FlaskClient
from maphelpers import CREDITS, DISTRICTS, RESOURCES, coordinator, island
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.models import District
from maps import UnmetCount, coordinator_map, need_map, resident_map, unmet_map
from maps.pdf import FONT_ENV, resident_pdf

AS_OF = dt.date(2025, 4, 1)


def html_of(m: object) -> str:
    return m.get_root().render()  # type: ignore[attr-defined]


def test_resident_map_in_both_languages() -> None:
    ja = html_of(resident_map(RESOURCES, DISTRICTS, credits=CREDITS, as_of=AS_OF))
    en = html_of(resident_map(RESOURCES, DISTRICTS, credits=CREDITS, as_of=AS_OF, lang="en"))
    assert '<html lang="ja"' in ja and "<h1>地域資源マップ</h1>" in ja
    assert "この地図の情報は 2025年4月1日 現在のものです。" in ja
    assert "地図の見かた" in ja and "出典・クレジット" in ja and "背景地図：" in ja
    assert '<html lang="en"' in en and "<h1>Community resource map</h1>" in en
    assert "The information on this map is as of 2025-04-01." in en
    assert "How to read the map" in en and "Sources and credits" in en
    assert "Background map: " in en and ">A4 portrait<" in en and ">Print it<" in en
    assert "List (the numbers are those on the map)" in en
    # category headings follow the language; the resources' own data stays as recorded
    assert "<h3>" in en and "サロン" not in re.findall(r"<h3>.*?</svg></span>(.*?)</h3>", en)
    assert all(r.name in en for r in RESOURCES)
    for word in ("地図の見かた", "出典・クレジット", "一覧（番号は地図の数字です）", "印刷する"):
        assert word not in en


def test_unmet_map_in_both_languages() -> None:
    counts = [UnmetCount("TOWN-EAST-N", "北町", "salon", "distance", 7)]
    counts.append(UnmetCount("TOWN-EAST-N", "北町", "snow", "schedule", 1))
    ja = html_of(unmet_map(counts, DISTRICTS))
    en = html_of(unmet_map(counts, DISTRICTS, lang="en"))
    assert "<h1>生活支援ニーズの不足（地区別）</h1>" in ja and "7件＋少数" in ja
    assert "少数（2件以下。人が特定されないよう数を伏せています）" in ja
    assert "<h1>Unmet needs for life support (by district)</h1>" in en
    assert "7 needs + a few" in en and "too far to get to" in en
    assert "a few (2 or fewer: the number is hidden so that no one can be identified)" in en
    assert "<th>Kind</th><th>Reason</th><th>Count</th>" in en
    labels = {f["properties"].get("label") for f in island(en, "district_layer")["features"]}
    assert "北町 7 needs + a few" in labels
    assert 'class="n">1 need' not in en  # the small count is never shown as a number


def test_coordinator_map_in_both_languages() -> None:
    resources = [coordinator("R-1", "休んでいるサロン", ("salon",), 38.15, 140.15, status="paused")]
    ja = html_of(coordinator_map(resources, DISTRICTS))
    en = html_of(coordinator_map(resources, DISTRICTS, lang="en"))
    assert "<title>地域資源マップ（職員用）</title>" in ja and "灰色（点線）：休止中" in ja
    assert "職員用（個人情報・非公開情報を含みます。配布しないでください）" in ja
    assert "<title>Resource map (for staff)</title>" in en and "grey (dotted): paused" in en
    assert "For staff (contains personal and unpublished information" in en
    assert "e1 resource" in en and r"e1\u4ef6" in ja  # the layer control's count (1件)
    # the popups' words are data for the script, in the page's language
    words = json.loads(re.search(r"LABEL = (\{.*?\});", en).group(1))  # type: ignore[union-attr]
    assert words["paused"] == "paused" and words["when"] == "When" and words["sep"] == ", "
    words_ja = json.loads(re.search(r"LABEL = (\{.*?\});", ja).group(1))  # type: ignore[union-attr]
    assert words_ja["paused"] == "休止中" and words_ja["inparens"]["ended"] == "（終了）"


def test_need_map_in_both_languages() -> None:
    candidates = [(1, "サロン", 38.101, 140.15, 0.91), (2, "配食", None, None, 0.5)]
    ja = html_of(need_map((38.1, 140.15), 600, candidates))
    en = html_of(need_map((38.1, 140.15), 600, candidates, lang="en"))
    assert "順位 1・スコア 0.91・約110m" in ja and "点線の円：歩いて行ける範囲（半径600m）" in ja
    assert "rank 1, score 0.91, about 110 m" in en
    assert "dotted circle: how far the resident can walk (radius 600 m)" in en
    assert "no place on the map (serves the district)" in en and "Candidates (by rank)" in en


def test_pdf_in_english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FONT_ENV, raising=False)
    data = resident_pdf(
        RESOURCES, DISTRICTS, credits=CREDITS, title="Midori", as_of=AS_OF, lang="en"
    )
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    flat = " ".join(text.split())
    assert "The information on this map is as of 2025-04-01." in flat
    assert "Sources and credits" in flat and "page 1 of" in flat
    assert "List (the numbers are those on the map)" in flat
    assert "一覧（番号は地図の数字です）" not in flat and "ページ" not in flat


def test_map_pages_follow_the_page_language(demo: Session, maps_client: FlaskClient) -> None:
    code = demo.scalars(select(District.code).where(District.level == "area")).first()
    ja = maps_client.get(f"/maps/resident?area={code}").get_data(as_text=True)
    assert '<html lang="ja"' in ja and "地図の見かた" in ja
    en = maps_client.get(f"/maps/resident?area={code}&lang=en").get_data(as_text=True)
    assert '<html lang="en"' in en and "How to read the map" in en and "地図の見かた" not in en
