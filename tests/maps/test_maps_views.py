"""The /maps pages of the web app."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from maphelpers import CDN_MARKERS
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.map_data import public_resources
from directory.models import District


def area_code(session: Session) -> str:
    code = session.scalars(
        select(District.code).where(District.level == "area").order_by(District.code)
    ).first()
    assert code
    return code


def test_index_links_every_area(demo: Session, maps_client: FlaskClient) -> None:
    page = maps_client.get("/maps/").get_data(as_text=True)
    for code in demo.scalars(select(District.code).where(District.level == "area")):
        assert f"/maps/resident?area={code}" in page
        assert f"/maps/coordinator?area={code}" in page


def test_resident_map_of_an_area(demo: Session, maps_client: FlaskClient) -> None:
    code = area_code(demo)
    response = maps_client.get(f"/maps/resident?area={code}")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    name = demo.scalar(select(District.name).where(District.code == code))
    assert f"<h1>{name}の地域資源マップ</h1>" in page
    for r in public_resources(demo, area_code=code):
        assert r.name in page
    assert "国土数値情報" in page  # the demo seeds' credits
    assert '<script src="/static/vendor/leaflet/leaflet.js">' in page
    for marker in CDN_MARKERS:
        assert marker not in page


def test_vendored_assets_are_served_by_the_app(demo: Session, maps_client: FlaskClient) -> None:
    page = maps_client.get(f"/maps/coordinator?area={area_code(demo)}").get_data(as_text=True)
    urls = re.findall(r'(?:src|href)="(/static/vendor/[^"]+)"', page)
    assert len(urls) >= 5
    for url in urls:
        response = maps_client.get(url)
        assert response.status_code == 200, url
        assert len(response.data) > 100
        response.close()


def test_download_gives_one_self_contained_file(demo: Session, maps_client: FlaskClient) -> None:
    response = maps_client.get(f"/maps/resident?area={area_code(demo)}&download=1")
    assert response.headers["Content-Disposition"].startswith("attachment; filename=resident-")
    page = response.get_data(as_text=True)
    assert "<script src=" not in page and "leaflet/leaflet.js (vendored)" in page


def test_coordinator_map_whole_database_and_area(demo: Session, maps_client: FlaskClient) -> None:
    assert maps_client.get("/maps/coordinator").status_code == 200
    page = maps_client.get(f"/maps/coordinator?area={area_code(demo)}").get_data(as_text=True)
    assert "職員用" in page and "noindex" in page


def test_unknown_area_is_404_and_no_area_goes_to_the_index(
    demo: Session, maps_client: FlaskClient
) -> None:
    response = maps_client.get("/maps/resident?area=nowhere")
    assert response.status_code == 404
    assert "nowhere" in response.get_data(as_text=True)
    assert maps_client.get("/maps/coordinator?area=nowhere").status_code == 404
    response = maps_client.get("/maps/resident")
    assert response.status_code == 302 and response.headers["Location"].endswith("/maps/")
