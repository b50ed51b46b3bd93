"""`tsunagu map resident|coordinator|unmet`: offline HTML files, no personal data."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from sqlalchemy import Engine

from directory.demo import SEEDS_DIR

# Script and style assets fetched from the internet (attribution links are fine).
CDN = re.compile(r"<(script|link)\b[^>]*\b(src|href)=[\"']https?://")


@pytest.fixture
def demo(demo_town_with_needs: Engine) -> Engine:
    return demo_town_with_needs


def test_resident_map_file_is_offline_and_public_only(demo: Engine, cli, tmp_path: Path) -> None:
    out = tmp_path / "resident.html"
    result = cli("map", "resident", "--area", "04445-A1", "-o", out)
    assert result.exit_code == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    assert "中新田の地域資源マップ" in html
    assert "赤塚ふれあいサロン（架空）" in html  # public, active, in 中新田
    with (SEEDS_DIR / "kami" / "resources.csv").open(encoding="utf-8-sig") as f:
        rows = {r["ID"]: r for r in csv.DictReader(f)}
    assert rows["R-004"]["状態"] == "休止中" and rows["R-004"]["名称"] not in html  # paused
    assert rows["R-027"]["公開"] == "否" and rows["R-027"]["名称"] not in html  # private
    assert not CDN.search(html), CDN.search(html)
    assert "国土数値情報" in html  # data credits
    # needs never reach a published map: no need id, pseudonym or intake text
    assert not re.search(r"N-0\d{3}", html)


def test_resident_map_without_an_area_is_the_whole_municipality(
    demo: Engine, cli, tmp_path: Path
) -> None:
    """§7: --area is optional; an unknown one is refused."""
    out = tmp_path / "town.html"
    result = cli("map", "resident", "-o", out)
    assert result.exit_code == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    assert "加美町の地域資源マップ" in html
    # resources of every area are on it
    assert "赤塚ふれあいサロン（架空）" in html  # 中新田
    assert "北町ごみ出しサポート（架空）" in html
    assert not re.search(r"N-0\d{3}", html)
    result = cli("map", "resident", "--area", "NOPE", "-o", tmp_path / "x.html")
    assert result.exit_code == 1 and "NOPE" in result.stderr


def test_a_handout_longer_than_a_folded_sheet_warns_and_says_how_to_split(
    demo: Engine, cli, tmp_path: Path
) -> None:
    from pypdf import PdfReader

    from maps.pdf import HANDOUT_PAGES, page_count

    town = tmp_path / "town.pdf"
    result = cli("map", "resident", "--pdf", "-o", town)
    assert result.exit_code == 0, result.stderr
    pages = len(PdfReader(town).pages)
    assert page_count(town.read_bytes()) == pages > HANDOUT_PAGES
    assert f"配布物が{pages}ページあり" in result.stderr
    # the whole town splits by area: every area's code is named
    for code in ("04445-A1", "04445-A2", "04445-A3"):
        assert code in result.stderr
    # one area still too long: split by kind, and the split handouts are short enough
    area = tmp_path / "area.pdf"
    result = cli("map", "resident", "--pdf", "--area", "04445-A3", "-o", area, "--lang", "en")
    assert result.exit_code == 0, result.stderr
    assert "Split it into one handout per kind" in result.stderr
    kinds = re.findall(r"\b([a-z_]+)（", result.stderr)
    assert {"prevention", "support"} <= set(kinds)
    total = 0
    for kind in kinds:
        part = tmp_path / f"{kind}.pdf"
        done = cli("map", "resident", "--pdf", "--area", "04445-A3", "--category", kind, "-o", part)
        assert done.exit_code == 0, done.stderr
        total += len(PdfReader(part).pages)
    assert total >= page_count(area.read_bytes())  # nothing left out: each kind has its own
    # a short handout says nothing; an unknown kind is refused
    short = cli("map", "resident", "--pdf", "--area", "04445-A3", "--category", "除雪", "-o", area)
    assert short.exit_code == 0 and "配布物" not in short.stderr
    assert page_count(area.read_bytes()) <= HANDOUT_PAGES
    bad = cli("map", "resident", "--category", "存在しない種別", "-o", area)
    assert bad.exit_code == 2 and "存在しない種別" in bad.stderr


def test_coordinator_and_unmet_maps(demo: Engine, cli, tmp_path: Path) -> None:
    coord = tmp_path / "coordinator.html"
    assert cli("map", "coordinator", "--area", "04445-A2", "-o", coord).exit_code == 0
    assert "小野田の地域資源（職員用）" in coord.read_text(encoding="utf-8")
    unmet = tmp_path / "unmet.html"
    result = cli("map", "unmet", "-o", unmet, "--on", "2026-11-23")
    assert result.exit_code == 0, result.stderr
    html = unmet.read_text(encoding="utf-8")
    assert "少数" in html  # 1–2 unmet needs per district are never shown as numbers
    assert not CDN.search(html)


def test_resident_pdf_handout(demo: Engine, cli, tmp_path: Path) -> None:
    from pypdf import PdfReader

    out = tmp_path / "handout.pdf"
    result = cli("map", "resident", "--area", "04445-A3", "--pdf", "-o", out)
    assert result.exit_code == 0, result.stderr
    reader = PdfReader(out)
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=1)  # A4 portrait
    text = "".join(p.extract_text() for p in reader.pages).replace("\n", "")
    assert "宮崎の地域資源マップ" in text
    assert not re.search(r"N-0\d{3}", text)
