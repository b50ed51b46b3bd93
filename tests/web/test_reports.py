"""`tsunagu report annual|monthly`: the demo's report per area equals counts computed
independently from the seed files; the XLSX holds no need value; tier 2 see their own."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from directory.demo import SEEDS_DIR

KAMI = SEEDS_DIR / "kami"
FY = 2024
FY_FIRST, FY_LAST = dt.date(2024, 4, 1), dt.date(2025, 3, 31)


@pytest.fixture
def demo(demo_town_with_needs: Engine) -> Engine:
    return demo_town_with_needs


def _area_of_district() -> tuple[dict[str, str], dict[str, str]]:
    features = json.loads((KAMI / "districts.geojson").read_text("utf-8"))["features"]
    props = [f["properties"] for f in features]
    parent = {p["code"]: p.get("parent") for p in props}
    by_name = {p["name"]: p["code"] for p in props}
    names = {p["code"]: p["name"] for p in props if p["level"] == "area"}
    return parent | {n: parent[c] for n, c in by_name.items()}, names


def expected_needs_per_area() -> Counter[str]:
    """Needs recorded in FY2024 per area, straight from needs.json and districts.geojson."""
    parent, _ = _area_of_district()
    counts: Counter[str] = Counter()
    for need in json.loads((KAMI / "needs.json").read_text("utf-8")):
        if FY_FIRST <= dt.date.fromisoformat(need["recorded_on"]) <= FY_LAST:
            counts[parent[need["district"]]] += 1
    return counts


def expected_salons_per_area() -> Counter[str]:
    """ふれあい・いきいきサロン-kind resources (code salon) registered at the end of
    FY2024 per area served: confirmed by then (or entered: today, after it)."""
    from directory.resources.cells import parse_verified
    from directory.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    parent, _ = _area_of_district()
    counts: Counter[str] = Counter()
    with (KAMI / "resources.csv").open(encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            kinds = {c.code for c in taxonomy.resolve_many(row["種別"])}
            checked = row["最終確認日"]
            if "salon" not in kinds or not checked:
                continue
            if parse_verified(checked) > FY_LAST:
                continue
            served = [d for d in row["対象地区"].split(";") if d]
            areas = {parent.get(d) for d in served}
            for area in areas - {None}:
                counts[area] += 1
    return counts


def test_the_annual_report_reproduces_the_seed_counts_per_area(
    demo: Engine, cli, tmp_path: Path
) -> None:
    out = tmp_path / "annual.xlsx"
    result = cli("report", "annual", "--fy", str(FY), "-o", out)
    assert result.exit_code == 0, result.stderr
    assert "令和6年度" in result.stderr
    wb = load_workbook(out)
    _, area_names = _area_of_district()
    summary = wb.worksheets[0]
    rows = {r[0]: r for r in summary.iter_rows(min_row=3, values_only=True) if r[0]}
    needs = expected_needs_per_area()
    assert sum(needs.values()) > 0
    for code, name in area_names.items():
        assert rows[name][3] == needs[code], name  # needs recorded in FY2024
        assert rows[name][4] == 0  # FY2023: none recorded yet
    salons = expected_salons_per_area()
    for code, name in area_names.items():
        sheet = wb[name]
        values = [r for r in sheet.iter_rows(values_only=True)]
        salon = next(r for r in values if r and r[0] == "サロン")
        assert salon[1] == salons[code], name
        assert sheet.freeze_panes is not None
    # the header says which years, in era form
    assert any("令和5年度" in str(c.value) for c in summary[2])
    # no need's text, id or pseudonym anywhere in the workbook
    text = " ".join(
        str(c) for ws in wb.worksheets for r in ws.iter_rows(values_only=True) for c in r if c
    )
    planted = json.loads((KAMI / "needs.json").read_text("utf-8"))
    for need in planted:
        assert need["id"] not in text and need["resident"] not in text
        assert need["text"][:12] not in text


def test_a_tier2_coordinator_gets_their_own_area_only(demo: Engine, cli, tmp_path: Path) -> None:
    add = cli(
        "user",
        "add",
        "sato",
        "--role",
        "tier2",
        "--area",
        "04445-A3",
        "--password-stdin",
        input_="correct horse battery staple\n",
    )
    assert add.exit_code == 0, add.stderr
    out = tmp_path / "mine.xlsx"
    result = cli("report", "annual", "--fy", str(FY), "-o", out, "--as", "sato")
    assert result.exit_code == 0, result.stderr
    names = load_workbook(out).sheetnames
    assert names[1:] == ["宮崎"]
    other = cli(
        "report", "annual", "--fy", str(FY), "--area", "04445-A1", "-o", out, "--as", "sato"
    )
    assert other.exit_code == 1 and "04445-A1" in other.stderr


def test_the_monthly_report_and_bad_periods(demo: Engine, cli, tmp_path: Path) -> None:
    out = tmp_path / "m.xlsx"
    result = cli("report", "monthly", "--fy", str(FY), "--month", "12", "-o", out)
    assert result.exit_code == 0, result.stderr
    wb = load_workbook(out)
    december = Counter()
    parent, names = _area_of_district()
    for need in json.loads((KAMI / "needs.json").read_text("utf-8")):
        if need["recorded_on"].startswith("2024-12"):
            december[parent[need["district"]]] += 1
    rows = {r[0]: r for r in wb.worksheets[0].iter_rows(min_row=3, values_only=True) if r[0]}
    for code, name in names.items():
        assert rows[name][3] == december[code]
    assert cli("report", "monthly", "--fy", str(FY), "--month", "13", "-o", out).exit_code == 2
    bad = cli("report", "annual", "--fy", "99999", "-o", out)
    assert bad.exit_code == 2


def test_the_report_page_and_its_workbook_show_the_same_figures(demo: Engine, app) -> None:  # type: ignore[no-untyped-def]
    import io
    import re

    from webhelpers import add_account, sign_in

    account = add_account(app, "tanaka", "tier1")
    client = app.test_client()
    sign_in(client, account)
    page = client.get(f"/reports?fy={FY}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "令和6年度" in html and "令和5年度" in html
    assert "うち休止中" in html and "of which paused" not in html  # headers in Japanese
    _, area_names = _area_of_district()
    needs = expected_needs_per_area()
    for code, name in area_names.items():
        assert f"<h2>{name}</h2>" in html
        section = html.split(f"<h2>{name}</h2>")[1].split("<h2>")[0]
        recorded = re.search(r"受け付けた相談</th>\s*<td class=\"num\">([\d,]+)</td>", section)
        assert recorded is not None and int(recorded.group(1)) == needs[code]
    workbook = client.get(f"/reports.xlsx?fy={FY}")
    assert workbook.status_code == 200
    summary = load_workbook(io.BytesIO(workbook.data)).worksheets[0]
    rows = {r[0]: r for r in summary.iter_rows(min_row=3, values_only=True) if r[0]}
    assert {name: rows[name][3] for name in area_names.values()} == {
        name: needs[code] for code, name in area_names.items()
    }
    bad = client.get("/reports?fy=abc")
    assert bad.status_code == 400 and "年度を選んでください" in bad.get_data(as_text=True)
