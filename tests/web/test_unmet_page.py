"""``/unmet``: what is missing, by place, kind and reason (issue 12 point 5).

The counts are checked against the engine on the demo town (seeds/kami): the page, its
downloads, the API and ``tsunagu unmet`` say what :func:`matching.service.unmet_counts`
says, narrowed to the caller's areas and to a fiscal year or month.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session
from webhelpers import Account, add_account, sign_in

from directory.db import transaction
from directory.demo import SEEDS_DIR
from directory.fiscal import japan_date, today_in_japan
from directory.models import District, Resource
from directory.queries import ancestor_at, ancestor_map
from matching.models import Match, Need
from matching.needs import import_needs
from matching.reasons import REFERRAL_END_LABELS
from matching.service import SnapshotCache, load_needs, match_needs, unmet_counts

OWN, OTHER = "04445-A1", "04445-A2"
Cells = dict[tuple[str, str, str], int]


@pytest.fixture
def town(demo_town_with_needs: Engine, app: Flask) -> Flask:
    """The demo town with its 150 needs (all recorded in FY2024, 令和6年度)."""
    return app


@pytest.fixture
def signed_in(town: Flask) -> Callable[..., FlaskClient]:
    def make(role: str, *areas: str, login: str | None = None) -> FlaskClient:
        account: Account = add_account(town, login or f"{role}-{'-'.join(areas)}", role, areas)
        client = town.test_client()
        assert sign_in(client, account).status_code == 303  # type: ignore[attr-defined]
        return client

    return make


def engine_cells(
    engine: Engine,
    level: str = "district",
    *,
    area: str | None = None,
    keep: Callable[[Need], bool] = lambda n: True,
) -> Cells:
    """What the engine says is unmet today, straight from matching.service."""
    with Session(engine) as s:
        tree = ancestor_map(s)
        area_id = s.scalar(select(District.id).where(District.code == area)) if area else None
        needs = [
            n
            for n in load_needs(s)
            if keep(n) and (area_id is None or ancestor_at(tree, n.district_id, "area") == area_id)
        ]
        results = match_needs(s, SnapshotCache(), needs, on=today_in_japan(), top=1)
        return {
            (r.district, r.category, r.reason): r.count
            for r in unmet_counts(s, needs, results, level=level)
        }


def api_cells(client: FlaskClient, query: str = "") -> Cells:
    response = client.get(f"/api/v1/unmet{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return {(r["district"], r["category"], r["reason"]): r["count"] for r in response.json}  # type: ignore[union-attr]


def page_cells(html: str) -> Cells:
    """The non-zero cells of the page's tables, read back from the markup."""
    cells: Cells = {}
    for row in re.finditer(
        r'<tr data-place="([^"]+)" data-category="([^"]+)">(.*?)</tr>', html, re.S
    ):
        for reason, n in re.findall(r'data-reason="([^"]+)">(\d+)</td>', row.group(3)):
            if int(n):
                cells[(row.group(1), row.group(2), reason)] = int(n)
    return cells


def area_districts(engine: Engine, area: str) -> set[str]:
    with Session(engine) as s:
        tree = ancestor_map(s)
        area_id = s.scalar(select(District.id).where(District.code == area))
        return {
            code
            for did, code in s.execute(select(District.id, District.code))
            if ancestor_at(tree, did, "area") == area_id
        }


def secrets_of_the_demo() -> list[str]:
    """Need values that must never appear in a count: texts and pseudonyms."""
    items = json.loads((SEEDS_DIR / "kami" / "needs.json").read_text(encoding="utf-8"))
    return [i["text"] for i in items if i.get("text")] + [i["resident"] for i in items]


def assert_no_need_values(text: str) -> None:
    assert not re.search(r"\bN-\d{4}\b", text), "a need id"
    assert not re.search(r"\bR-[0-9a-f]{8}\b", text), "a pseudonym"
    leaked = [s for s in secrets_of_the_demo() if s in text]
    assert leaked == []


# ---------------------------------------------------------------------------- counts


def test_the_page_counts_what_the_engine_finds_unmet(
    engine: Engine, signed_in: Callable[..., FlaskClient]
) -> None:
    tier1 = signed_in("tier1")
    expected = engine_cells(engine)
    assert sum(expected.values()) >= 6  # the demo has needs unmet for every reason
    page = tier1.get("/unmet")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert page_cells(html) == expected
    assert api_cells(tier1, "?level=district") == expected
    # by area: the same needs rolled up
    by_area = engine_cells(engine, "area")
    assert page_cells(tier1.get("/unmet?level=area").get_data(as_text=True)) == by_area
    assert sum(by_area.values()) == sum(expected.values())
    # the reasons are named in Japanese, in a labelled table
    for words in ("該当する資源がない", "遠くて通えない", "日時が合わない", "定員に空きがない"):
        assert words in html
    assert "<caption" in html and '<th scope="col"' in html and '<th scope="row"' in html
    assert '<html lang="ja"' in html
    assert_no_need_values(html)


def test_tier2_sees_only_their_own_areas(
    engine: Engine, signed_in: Callable[..., FlaskClient]
) -> None:
    tier2 = signed_in("tier2", OWN)
    mine = area_districts(engine, OWN)
    expected = engine_cells(engine, area=OWN)
    assert expected and api_cells(tier2) == expected
    html = tier2.get("/unmet").get_data(as_text=True)
    assert page_cells(html) == expected
    others = area_districts(engine, OTHER) - {OTHER}
    assert not any(f'data-place="{code}"' in html for code in others)
    # each district and kind links to the needs behind it, in the caller's own districts
    links = re.findall(r'href="/needs/\?([^"]+)"', html)
    assert links
    for link in links:
        args = dict(a.split("=", 1) for a in link.replace("&amp;", "&").split("&"))
        assert args["district"] in mine and args["state"] == "unmet" and args["category"]
    # with the period, when one is chosen
    june = tier2.get("/unmet?fy=2024&month=6").get_data(as_text=True)
    assert all(
        "since=2024-06-01&amp;until=2024-06-30" in link
        for link in re.findall(r'href="(/needs/\?[^"]+)"', june)
    )
    # by area, the area row drills down into its districts
    by_area = tier2.get("/unmet?level=area").get_data(as_text=True)
    assert f"/unmet?level=district&amp;area={OWN}" in by_area
    assert tier2.get(f"/unmet?level=district&area={OWN}").status_code == 200
    # another area's drill-down is not found, whatever the output
    for path in ("/unmet", "/unmet.csv", "/unmet.xlsx", "/unmet/map", "/api/v1/unmet"):
        assert tier2.get(f"{path}?area={OTHER}").status_code == 404, path
        assert tier2.get(f"{path}?area=04445").status_code == 404, path  # the whole town
        assert tier2.get(f"{path}?area=nowhere").status_code == 404, path
    # tier 1 may drill into any area
    assert signed_in("tier1").get(f"/unmet?area={OTHER}").status_code == 200


def test_anonymous_callers_and_viewers_are_refused(
    town: Flask, signed_in: Callable[..., FlaskClient]
) -> None:
    anonymous = town.test_client()
    for path in ("/unmet", "/unmet.csv", "/unmet.xlsx", "/unmet/map"):
        response = anonymous.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    api = anonymous.get("/api/v1/unmet")
    assert api.status_code == 401 and api.json["error"] == "unauthorized"  # type: ignore[index]
    viewer = signed_in("viewer")
    for path in ("/unmet", "/unmet.csv", "/unmet.xlsx", "/unmet/map"):
        assert viewer.get(path).status_code == 403, path
    denied = viewer.get("/api/v1/unmet")
    assert denied.status_code == 403 and denied.json["error"] == "forbidden"  # type: ignore[index]
    assert "未充足" in denied.json["message"]  # type: ignore[index]
    # the navigation offers the page to those who may open it
    assert 'href="/unmet"' not in viewer.get("/").get_data(as_text=True)
    assert 'href="/unmet"' in signed_in("tier2", OWN).get("/").get_data(as_text=True)


# ------------------------------------------------------------------- fiscal year and month


def test_fiscal_year_and_month_filters(
    engine: Engine, signed_in: Callable[..., FlaskClient]
) -> None:
    admin = signed_in("admin")
    everything = engine_cells(engine)
    assert api_cells(admin, "?fy=2024") == everything  # the demo is all 令和6年度
    assert api_cells(admin, "?fy=2025") == {}
    june = engine_cells(
        engine, keep=lambda n: n.recorded_on is not None and n.recorded_on.month == 6
    )
    assert api_cells(admin, "?fy=2024&month=6") == june
    html = admin.get("/unmet?fy=2024&month=6").get_data(as_text=True)
    assert page_cells(html) == june
    assert "令和6年度（2024年度） 6月" in html
    assert '<option value="2024" selected>令和6年度（2024年度）</option>' in html


def _an_unmet_need(engine: Engine) -> tuple[str, str, str]:
    """(need id, district code, one category) of a need the engine finds unmet."""
    with Session(engine) as s:
        needs = load_needs(s)
        results = match_needs(s, SnapshotCache(), needs, on=today_in_japan(), top=1)
        need = next(n for n, r in zip(needs, results, strict=True) if r.unmet)
        return need.external_id, need.district.code, need.category_codes[0]


def _reason_count(cells: Cells, district: str, category: str) -> int:
    return sum(n for (d, c, _r), n in cells.items() if d == district and c == category)


@pytest.mark.parametrize(
    ("recorded_on", "created_at", "fy", "month"),
    [
        (dt.date(2025, 3, 31), None, 2024, 3),  # 31 March: the old year's last day
        (dt.date(2025, 4, 1), None, 2025, 4),  # 1 April: the new year's first
        (None, dt.datetime(2025, 3, 31, 15, 30), 2025, 4),  # entered at 00:30 on 1 April (JST)
        (None, dt.datetime(2025, 3, 31, 14, 30), 2024, 3),  # 23:30 on 31 March (JST)
    ],
)
def test_a_need_counts_in_the_fiscal_year_of_the_day_it_was_recorded(
    engine: Engine,
    signed_in: Callable[..., FlaskClient],
    recorded_on: dt.date | None,
    created_at: dt.datetime | None,
    fy: int,
    month: int,
) -> None:
    need_id, district, category = _an_unmet_need(engine)
    with transaction(engine) as s:
        values: dict[str, Any] = {"recorded_on": recorded_on}
        if created_at is not None:
            values["created_at"] = created_at
        s.execute(update(Need).where(Need.external_id == need_id).values(**values))
    tier1 = signed_in("tier1")
    assert _reason_count(api_cells(tier1, f"?fy={fy}"), district, category) >= 1
    assert _reason_count(api_cells(tier1, f"?fy={fy}&month={month}"), district, category) >= 1
    other_fy = 2025 if fy == 2024 else 2024
    before = _reason_count(api_cells(tier1, f"?fy={other_fy}"), district, category)
    expected_other = _reason_count(
        engine_cells(
            engine,
            keep=lambda n: (
                n.external_id != need_id
                and (n.recorded_on or japan_date(n.created_at)).year
                + (0 if (n.recorded_on or japan_date(n.created_at)).month >= 4 else -1)
                == other_fy
            ),
        ),
        district,
        category,
    )
    assert before == expected_other


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("?fy=abc", "2026 のような西暦の年"),
        ("?fy=2024&month=13", "1 から 12"),
        ("?month=6", "年度も選んでください"),
        ("?level=town", "level は district, area"),
        ("?fy=1700", "1886 年から"),
    ],
)
def test_bad_filters_are_refused_with_a_reason_in_japanese(
    signed_in: Callable[..., FlaskClient], query: str, words: str
) -> None:
    tier1 = signed_in("tier1")
    page = tier1.get(f"/unmet{query}")
    assert page.status_code == 400 and words in page.get_data(as_text=True)
    api = tier1.get(f"/api/v1/unmet{query}")
    if "town" in query:  # the API has the command line's levels
        assert "municipality" in api.json["message"]  # type: ignore[index]
    assert api.status_code == 400 and api.json["error"] == "bad_request"  # type: ignore[index]
    assert tier1.get(f"/unmet.csv{query}").status_code == 400


# ------------------------------------------------------------------------ referral ends


def test_referrals_that_ended_are_counted_by_cause(
    engine: Engine, signed_in: Callable[..., FlaskClient]
) -> None:
    with transaction(engine) as s:
        needs = {n.external_id: n for n in load_needs(s)}
        need = needs["N-0001"]
        other = needs["N-0002"]
        resources = list(s.scalars(select(Resource.id).order_by(Resource.id).limit(3)))
        # two referrals of one need declined: the need counts once for 辞退
        for rid in resources[:2]:
            s.add(Match(need_id=need.id, resource_id=rid, score=0.5, status="declined"))
        s.add(Match(need_id=need.id, resource_id=resources[2], score=0.5, status="ended"))
        s.add(Match(need_id=other.id, resource_id=resources[0], score=0.5, status="connected"))
        s.flush()
        s.execute(
            update(Match)
            .where(Match.need_id == need.id, Match.status == "ended")
            .values(updated_at=dt.datetime(2025, 5, 1, 3, 0))  # FY2025
        )
        s.execute(
            update(Match)
            .where(Match.need_id == need.id, Match.status == "declined")
            .values(updated_at=dt.datetime(2024, 7, 1, 3, 0))  # FY2024
        )
        district, categories = need.district.code, need.category_codes
        area_id = ancestor_at(ancestor_map(s), need.district_id, "area")
        its_area = s.scalar(select(District.code).where(District.id == area_id))
    tier1 = signed_in("tier1")
    cells = api_cells(tier1)
    for category in categories:
        assert cells[(district, category, "declined")] == 1
        assert cells[(district, category, "ended")] == 1
    assert not any(r == "connected" for (_d, _c, r) in cells)  # not an end
    assert {r for (_d, _c, r) in cells} <= {*REFERRAL_END_LABELS, *_UNMET}
    fy2024 = api_cells(tier1, "?fy=2024")
    assert (district, categories[0], "declined") in fy2024
    assert (district, categories[0], "ended") not in fy2024
    assert (district, categories[0], "ended") in api_cells(tier1, "?fy=2025&month=5")
    html = tier1.get("/unmet").get_data(as_text=True)
    ended = html[html.index('id="ended"') :]
    assert "本人が辞退した" in ended and "つながった後に終了した" in ended
    assert page_cells(ended)[(district, categories[0], "declined")] == 1
    # the need's own area sees them, another area does not
    assert (district, categories[0], "declined") in api_cells(signed_in("tier2", its_area))
    elsewhere = OTHER if its_area != OTHER else OWN
    assert not any(d == district for (d, _c, _r) in api_cells(signed_in("tier2", elsewhere)))


_UNMET = ("no_resource", "distance", "paused", "schedule", "eligibility", "capacity")


def test_the_labels_cover_every_end_of_a_referral() -> None:
    from matching.models import MATCH_END_STATUSES

    assert tuple(REFERRAL_END_LABELS) == MATCH_END_STATUSES


# ------------------------------------------------------------------ downloads and the map


def test_csv_and_xlsx_hold_the_counts_and_nothing_else(
    signed_in: Callable[..., FlaskClient],
) -> None:
    from openpyxl import load_workbook

    tier1 = signed_in("tier1")
    expected = api_cells(tier1, "?fy=2024")
    response = tier1.get("/unmet.csv?fy=2024")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "unmet-district-FY2024.csv" in response.headers["Content-Disposition"]
    text = response.get_data().decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0] == "表,期間,地区コード,地区,種類コード,種類,理由コード,理由,件数"
    got = {}
    for line in lines[1:]:
        cols = line.split(",")
        got[(cols[2], cols[4], cols[6])] = int(cols[8])
        assert cols[1] == "令和6年度（2024年度）"
    assert got == expected
    assert_no_need_values(text)

    book = load_workbook(io.BytesIO(tier1.get("/unmet.xlsx?fy=2024").data), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][-1] == "件数"
    assert {(r[2], r[4], r[6]): r[8] for r in rows[1:]} == expected
    assert all(isinstance(r[8], int) for r in rows[1:])
    assert_no_need_values(json.dumps(rows, ensure_ascii=False))

    # the consultative body's table: 1 and 2 are 「少数」, never a number
    public = load_workbook(io.BytesIO(tier1.get("/unmet.xlsx?fy=2024&public=1").data))
    shown = [r[8] for r in list(public.active.iter_rows(values_only=True))[1:]]
    assert "少数" in shown and not {1, 2} & set(shown)


def test_the_map_shows_exact_classes_for_staff_and_shosu_for_the_consultative_body(
    engine: Engine, signed_in: Callable[..., FlaskClient], tmp_path: Path
) -> None:
    # a second need like an unmet one: its district has 2 unmet needs, the others 1
    need_id, _district, _category = _an_unmet_need(engine)
    items = json.loads((SEEDS_DIR / "kami" / "needs.json").read_text(encoding="utf-8"))
    twin = next(i for i in items if i["id"] == need_id) | {"id": "N-9001", "resident": "R-00000001"}
    (tmp_path / "twin.json").write_text(json.dumps([twin], ensure_ascii=False), encoding="utf-8")
    with transaction(engine) as s:
        import_needs(s, tmp_path / "twin.json")
    tier1 = signed_in("tier1")
    staff = tier1.get("/unmet/map").get_data(as_text=True)
    assert "職員用" in staff and "少数" not in staff
    fills = json.loads(re.search(r"_fills = (\{.*?\});", staff).group(1))  # type: ignore[union-attr]
    totals: dict[str, int] = {}
    for (district, _c, reason), n in api_cells(tier1).items():
        if reason not in REFERRAL_END_LABELS:
            totals[district] = totals.get(district, 0) + n
    assert set(fills) == set(totals)
    # one colour per distinct count (up to five): 1 and 2 unmet needs are told apart
    assert len(set(fills.values())) == min(len(set(totals.values())), 5) >= 2
    body = tier1.get("/unmet/map?public=1").get_data(as_text=True)
    assert "少数" in body and "職員用" not in body
    for page in (staff, body):
        assert_no_need_values(page)
    tier2 = signed_in("tier2", OWN).get("/unmet/map").get_data(as_text=True)
    assert "中新田" in tier2 and "小野田" not in tier2  # the map of their own area


def test_the_page_in_english(signed_in: Callable[..., FlaskClient]) -> None:
    html = signed_in("tier1").get("/unmet?fy=2024&lang=en").get_data(as_text=True)
    assert '<html lang="en"' in html and "Unmet needs" in html
    assert "FY2024 (Reiwa 6)" in html and "too far to get to" in html


# --------------------------------------------------------------------- the command line


def test_tsunagu_unmet_takes_a_fiscal_year_and_month(town: Flask, engine: Engine, cli: Any) -> None:
    def rows(*args: str) -> Cells:
        result = cli("unmet", "--json", *args)
        assert result.exit_code == 0, result.stderr
        return {
            (r["district"], r["category"], r["reason"]): r["count"]
            for r in json.loads(result.stdout)
        }

    assert rows("--fy", "2024") == engine_cells(engine)
    assert rows("--fy", "2025") == {}
    june = engine_cells(
        engine, keep=lambda n: n.recorded_on is not None and n.recorded_on.month == 6
    )
    assert rows("--fy", "2024", "--month", "6") == june
    alone = cli("unmet", "--month", "6")
    assert alone.exit_code == 2 and "年度も選んでください" in alone.stderr
    assert cli("unmet", "--fy", "2024", "--month", "13").exit_code == 2
    assert "令和8年度" in cli("unmet", "--help").stdout


def test_the_openapi_document_describes_the_unmet_operation(
    signed_in: Callable[..., FlaskClient],
) -> None:
    tier1 = signed_in("tier1")
    doc = tier1.get("/api/v1/openapi.json").get_json()
    operation = doc["paths"]["/unmet"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"level", "fy", "month", "area"}
    schema = doc["components"]["schemas"]["UnmetCount"]
    reasons = set(schema["properties"]["reason"]["enum"])
    rows = tier1.get("/api/v1/unmet").get_json()
    assert rows and all(set(r) == set(schema["required"]) for r in rows)
    assert {r["reason"] for r in rows} <= reasons
    assert set(REFERRAL_END_LABELS) <= reasons
