"""Shared fixtures: every test gets its own fresh database on the engine under test.

``DATABASE_URL`` unset → a SQLite file in the test's tmp folder. ``DATABASE_URL`` naming
PostgreSQL → a fresh schema in that database, made for the test and dropped after it, so
concurrent or repeated runs never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from directory.db import make_engine, make_sessionmaker, normalise_url
from directory.schema import upgrade

ROOT = Path(__file__).resolve().parents[1]
TESTS_DATA = ROOT / "tests" / "data"
SEEDS = ROOT / "seeds"

_SERVER_URL = normalise_url(os.environ.get("DATABASE_URL", "").strip()) or None


def on_postgresql() -> bool:
    return bool(_SERVER_URL) and make_url(_SERVER_URL).get_backend_name() == "postgresql"


@contextmanager
def fresh_database(tmp_path: Path, name: str = "test") -> Iterator[str]:
    """The URL of a fresh, empty database (a SQLite file, or a PostgreSQL schema dropped
    afterwards)."""
    if not on_postgresql():
        yield f"sqlite:///{tmp_path / f'{name}.sqlite'}"
        return
    assert _SERVER_URL is not None
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(_SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(_SERVER_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, empty database for this test alone."""
    with fresh_database(tmp_path) as url:
        yield url


@pytest.fixture
def other_db_url(tmp_path: Path) -> Iterator[str]:
    """A second fresh, empty database (restore drills, copies between databases)."""
    with fresh_database(tmp_path, "other") as url:
        yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a database migrated to head (the way `tsunagu db upgrade` makes it)."""
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with make_sessionmaker(engine)() as s:
        yield s


@pytest.fixture
def cli(db_url: str) -> Any:
    """Run `tsunagu …` in-process against this test's database; returns click's Result."""
    from web.cli import main

    runner = CliRunner()

    def run(*args: str, env: dict[str, str] | None = None, input_: str | None = None) -> Result:
        full_env = {"DATABASE_URL": db_url, "LANG": "ja_JP.UTF-8"} | (env or {})
        return runner.invoke(
            main, [str(a) for a in args], env=full_env, input=input_, catch_exceptions=False
        )

    return run


@pytest.fixture
def app(engine: Engine, db_url: str) -> Iterator[Flask]:
    from web import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": db_url})
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
