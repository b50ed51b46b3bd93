"""Fixtures for the map tests: small plain-data inputs, and the demo town in a database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from maphelpers import DISTRICTS
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from directory.db import make_sessionmaker, transaction
from directory.demo import load_demo
from directory.map_data import MapDistrict


@pytest.fixture
def districts() -> list[MapDistrict]:
    return list(DISTRICTS)


@pytest.fixture
def demo(engine: Engine) -> Iterator[Session]:
    """A session on a database holding the demo town (districts, venues, resources)."""
    with transaction(engine) as s:
        load_demo(s)
    with make_sessionmaker(engine)() as s:
        yield s




@pytest.fixture
def maps_client(app: Flask) -> FlaskClient:
    """A test client of the app with the maps blueprint (registered here until
    ``web.create_app`` registers it itself)."""
    from web import maps_views

    if "maps" not in app.blueprints:
        app.register_blueprint(maps_views.bp)
    return app.test_client()
