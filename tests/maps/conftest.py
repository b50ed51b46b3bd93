"""Fixtures for the map tests: small plain-data inputs, and the demo town in a database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from maphelpers import DISTRICTS
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from directory.db import make_sessionmaker
from directory.map_data import MapDistrict


@pytest.fixture
def districts() -> list[MapDistrict]:
    return list(DISTRICTS)


@pytest.fixture
def demo(demo_town: Engine) -> Iterator[Session]:
    """A session on a database holding the demo town (districts, venues, resources)."""
    with make_sessionmaker(demo_town)() as s:
        yield s


@pytest.fixture
def maps_client(app: Flask, demo: Session) -> FlaskClient:
    """A test client of the app signed in as a tier-2 coordinator of every area (the
    coordinators' map needs sign-in; the access rules have their own tests in tests/web)."""
    import re

    from argon2 import PasswordHasher
    from sqlalchemy import select

    from directory.models import District
    from web import accounts
    from web.actors import system_actor
    from web.db import get_db

    password = "a long enough test password"
    accounts.set_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    with app.app_context(), get_db().write() as s:
        areas = list(s.scalars(select(District.code).where(District.level == "area")))
        accounts.add_user(
            s, system_actor("test"), "mapper", role="tier2", password=password, areas=areas
        )
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    signed = client.post(
        "/login", data={"login": "mapper", "password": password, "csrf_token": token.group(1)}
    )
    assert signed.status_code == 303
    accounts.set_hasher(PasswordHasher())
    return client
