"""The first page: the areas with their districts and venues counts, in Japanese."""

from __future__ import annotations

import json
import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from shapely.geometry import Point, shape
from sqlalchemy import Engine
from webhelpers import add_account, area_codes, sign_in

from directory.db import transaction
from directory.demo import load_demo
from directory.geography import import_districts, import_venues

SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "kami"


def expected_counts() -> dict[str, tuple[str, int, int]]:
    """Per area code: (name, districts, venues), computed straight from the seed files."""
    features = json.loads((SEEDS / "districts.geojson").read_text(encoding="utf-8"))["features"]
    venues = json.loads((SEEDS / "venues.geojson").read_text(encoding="utf-8"))["features"]
    areas = {
        f["properties"]["code"]: f["properties"]["name"]
        for f in features
        if f["properties"]["level"] == "area"
    }
    districts = [
        (f["properties"]["parent"], shape(f["geometry"]))
        for f in features
        if f["properties"]["level"] == "district"
    ]
    result = {}
    for code, name in areas.items():
        mine = [poly for parent, poly in districts if parent == code]
        inside = sum(
            any(poly.covers(Point(*v["geometry"]["coordinates"])) for poly in mine) for v in venues
        )
        result[code] = (name, len(mine), inside)
    return result


def test_first_page_lists_areas_with_districts_and_venues(
    engine: Engine, client: FlaskClient
) -> None:
    with transaction(engine) as session:
        import_districts(session, SEEDS / "districts.geojson")
        import_venues(session, SEEDS / "venues.geojson")
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="ja">' in page and "日常生活圏域" in page and "加美町" in page
    expected = expected_counts()
    assert len(expected) == 3
    for code, (name, n_districts, n_venues) in expected.items():
        row = re.search(rf'<tr data-area="{re.escape(code)}">(.*?)</tr>', page, re.S)
        assert row, code
        assert name in row.group(1)
        assert f'class="num districts">{n_districts}<' in row.group(1)
        assert f'class="num venues">{n_venues}<' in row.group(1)


def test_empty_database_tells_how_to_load_data(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "tsunagu demo load" in page


def test_unmigrated_database_gets_a_japanese_503(db_url: str) -> None:
    from web import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": db_url})
    response = app.test_client().get("/")
    app.extensions["db_engine"].dispose()
    assert response.status_code == 503
    assert "tsunagu db upgrade" in response.get_data(as_text=True)


def test_unknown_page_is_a_japanese_404(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "ページが見つかりません" in response.get_data(as_text=True)


def test_first_page_lists_resources_by_area_and_category_with_schedules(
    engine: Engine, client: FlaskClient, tmp_path: Path
) -> None:
    with transaction(engine) as session:
        load_demo(session)
    page = client.get("/").get_data(as_text=True)
    sections = dict(
        re.findall(r'<section class="area-resources" id="area-([^"]+)">(.*?)</section>', page, re.S)
    )
    assert set(sections) == {"04445-A1", "04445-A2", "04445-A3"}
    # R-001 meets on the 2nd and 4th Thursday at a venue in 中新田.
    salon = re.search(
        r'<ul class="resources" data-category="salon">(.*?)</ul>', sections["04445-A1"], re.S
    )
    assert salon is not None
    item = re.search(r'<li data-resource="R-001">(.*?)</li>', salon.group(1), re.S)
    assert item is not None
    assert "赤塚ふれあいサロン（架空）" in item.group(1)
    assert "第2・第4木曜" in item.group(1) and "10:00" in item.group(1)
    # Without sign-in only public, active resources are listed.
    assert 'data-resource="R-004"' not in page  # paused
    assert 'data-resource="R-027"' not in page  # private
    assert re.search(r'data-resource="R-034">.*?予定を解釈できません', page, re.S)
    # A whole-town (全域) resource appears in every area.
    for section in sections.values():
        assert 'data-resource="R-102"' in section


def test_staff_see_paused_and_private_resources_marked_not_hidden(
    engine: Engine, app: Flask, client: FlaskClient
) -> None:
    with transaction(engine) as session:
        load_demo(session)
    sign_in(client, add_account(app, "staff", "tier2", (area_codes(app)[0],)))
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'data-resource="R-004">.*?休止中', page, re.S)
    assert re.search(r'data-resource="R-027">.*?非公開', page, re.S)
