"""Shared fixtures: every test gets its own fresh database on the engine under test.

``DATABASE_URL`` unset → a SQLite file in the test's tmp folder. ``DATABASE_URL`` naming
PostgreSQL → a fresh schema in that database, made for the test and dropped after it, so
concurrent or repeated runs never see each other's rows.

A migrated database is a copy: the migrations run once per session, into a template that
every ``engine`` copies (SQLite: the file; PostgreSQL: the statements the migrations sent,
replayed into the test's schema). ``tests/test_schema.py`` checks that a copy equals what
``upgrade()`` makes, and keeps running the real upgrade.
"""

from __future__ import annotations

import functools
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from jinja2.bccache import Bucket, BytecodeCache
from sqlalchemy import Engine, create_engine, event, text
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


@functools.cache
def _admin() -> Engine:
    """One engine for the whole run to make and drop the tests' PostgreSQL schemas."""
    assert _SERVER_URL is not None
    return create_engine(_SERVER_URL, isolation_level="AUTOCOMMIT")


def _schema_url(schema: str) -> str:
    assert _SERVER_URL is not None
    url = make_url(_SERVER_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def _schema_of(url: str) -> str:
    options = make_url(url).query["options"]
    assert isinstance(options, str) and options.startswith("-csearch_path=")
    return options.removeprefix("-csearch_path=")


@contextmanager
def fresh_database(tmp_path: Path, name: str = "test") -> Iterator[str]:
    """The URL of a fresh, empty database (a SQLite file, or a PostgreSQL schema dropped
    afterwards)."""
    if not on_postgresql():
        yield f"sqlite:///{tmp_path / f'{name}.sqlite'}"
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with _admin().connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _schema_url(schema)
    finally:
        with _admin().connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


class MigratedTemplate:
    """A database migrated to head once per session, copied into each test's database.

    SQLite: the migrated file itself, copied. PostgreSQL: every statement the migration
    sent (``upgrade()`` into a schema of its own, its parameters bound by psycopg as they
    were sent), replayed into the test's empty schema as one batch: the same DDL, so the
    same tables, constraints, indexes, triggers and rows.
    """

    def __init__(self, folder: Path) -> None:
        self.sqlite_file: Path | None = None
        self.script = ""
        if not on_postgresql():
            self.sqlite_file = folder / "migrated.sqlite"
            eng = make_engine(f"sqlite:///{self.sqlite_file}")
            upgrade(eng)
            eng.dispose()
            # the last connection's close checkpointed the WAL: the file alone is the database
            assert not Path(f"{self.sqlite_file}-wal").exists()
            return
        import psycopg

        sent: list[str] = []

        def keep(
            _conn: Any, cursor: Any, statement: str, parameters: Any, _ctx: Any, many: bool
        ) -> None:
            bind = psycopg.ClientCursor(cursor.connection)
            sent.extend(bind.mogrify(statement, p) for p in (parameters if many else [parameters]))

        with fresh_database(folder) as url:
            eng = make_engine(url)
            event.listen(eng, "before_cursor_execute", keep)
            upgrade(eng)
            eng.dispose()
        # unqualified names only: the test's search_path decides where they go
        assert not any(_schema_of(url) in statement for statement in sent)
        self.script = "".join(f"{statement};\n" for statement in sent)

    def copy_into(self, engine: Engine) -> None:
        """Make the empty database of ``engine`` (not connected yet) what ``upgrade()``
        makes."""
        if self.sqlite_file is not None:
            assert engine.url.database
            shutil.copyfile(self.sqlite_file, engine.url.database)
            return
        raw = engine.raw_connection()
        try:
            raw.cursor().execute(self.script)  # one round trip, in one transaction
            raw.commit()
        finally:
            raw.close()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> MigratedTemplate:
    return MigratedTemplate(tmp_path_factory.mktemp("template"))


class _CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates, kept for the run and shared by every app the tests make.

    Each ``create_app`` has a Jinja environment of its own that would compile every page
    it renders again (about 0.1 s a test). The apps are configured alike; as with Jinja's
    own caches, a template whose source changed is compiled again.
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if (code := self._code.get(bucket.key)) is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


@pytest.fixture(scope="session", autouse=True)
def compiled_templates() -> Iterator[None]:
    options = {**Flask.jinja_options, "bytecode_cache": _CompiledTemplates()}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Flask, "jinja_options", options)
        yield


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
def engine(db_url: str, migrated_template: MigratedTemplate) -> Iterator[Engine]:
    """An engine on a database migrated to head (the way `tsunagu db upgrade` makes it: a
    copy of the session's migrated template)."""
    eng = make_engine(db_url)
    migrated_template.copy_into(eng)
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
