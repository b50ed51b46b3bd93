"""Shared fixtures: every test gets its own fresh database on the engine under test.

``DATABASE_URL`` unset → a SQLite file in the test's tmp folder. ``DATABASE_URL`` naming
PostgreSQL → a fresh schema in that database, made for the test and dropped after it, so
concurrent or repeated runs never see each other's rows.

A migrated database is a copy: the migrations run once per session, into a template that
every ``engine`` copies (SQLite: the file; PostgreSQL: the statements the migrations sent,
replayed into the test's schema). A test asking for ``demo_town`` or
``demo_town_with_needs`` gets a copy of a template that holds them as well. Each test's copy
is still its own database. ``tests/test_schema.py`` checks that each copy equals what
``upgrade()`` (and loading) makes, and keeps running the real upgrade.
"""

from __future__ import annotations

import functools
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from jinja2.bccache import Bucket, BytecodeCache
from sqlalchemy import DateTime, Engine, bindparam, create_engine, event, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from directory.db import make_engine, make_sessionmaker, normalise_url, transaction
from directory.fiscal import today_in_japan
from directory.models import Base, utcnow
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


def _load_demo(engine: Engine) -> None:
    from directory.demo import load_demo

    with transaction(engine) as s:
        load_demo(s)


def _load_demo_and_needs(engine: Engine) -> None:
    from directory.demo import SEEDS_DIR, load_demo
    from matching.needs import import_needs

    with transaction(engine) as s:
        load_demo(s)
        import_needs(s, SEEDS_DIR / "kami" / "needs.json")


# Fixtures naming what a test's database holds besides the migrated schema: a test asking
# for one (itself or through its fixtures) gets its `engine` copied from that template.
FILLED = {"demo_town": _load_demo, "demo_town_with_needs": _load_demo_and_needs}


class DatabaseTemplate:
    """A database made once per session (migrated, then ``fill``), copied into each test's.

    SQLite: the file itself, copied. PostgreSQL: every statement sent while making it (in
    a schema of its own, each with its parameters bound by psycopg as they were sent),
    replayed into the test's empty schema as one batch: the same DDL and the same writes,
    so the same tables, constraints, indexes, triggers, sequences and rows.

    Rows ``fill`` stamps with the time (``utcnow`` columns) have their stamps moved forward
    in each copy by the time since, as if filled just before the test; a template made on
    an earlier day (in Japan: imports date schedules from today) is made again.
    """

    def __init__(self, folder: Path, fill: Callable[[Engine], None] | None = None) -> None:
        self.day = today_in_japan()
        self.sqlite_file: Path | None = None
        self.script = ""
        self.stamps: list[tuple[str, str]] = []
        self.filled = (utcnow(), utcnow())
        if not on_postgresql():
            self.sqlite_file = folder / "template.sqlite"
            self.sqlite_file.unlink(missing_ok=True)
            eng = make_engine(f"sqlite:///{self.sqlite_file}")
            self._make(eng, fill)
            eng.dispose()
            # the last connection's close checkpointed the WAL: the file alone is the database
            assert not Path(f"{self.sqlite_file}-wal").exists()
            return
        import psycopg

        sent: list[str] = []

        def keep(
            _conn: Any, cursor: Any, statement: str, parameters: Any, _ctx: Any, many: bool
        ) -> None:
            # an "insertmanyvalues" batch is one execute of one mapping, though `many`
            each = parameters if many and isinstance(parameters, list) else [parameters]
            bind = psycopg.ClientCursor(cursor.connection)
            sent.extend(bind.mogrify(statement, p) for p in each)

        from directory import bulk

        copy = bulk._copy

        def copy_and_keep(conn: Any, table: Any, names: list[str], values: Any) -> None:
            """Bulk imports send rows by COPY, which no statement event sees: keep them as
            one INSERT of the same rows, in the same order."""
            copy(conn, table, names, values)
            bind = psycopg.ClientCursor(conn.connection.driver_connection)
            row = f"({', '.join(['%s'] * len(names))})"
            rows = ", ".join(
                bind.mogrify(row, r) for r in zip(*(values[n] for n in names), strict=True)
            )
            quote = conn.dialect.identifier_preparer
            into = f"{quote.format_table(table)} ({', '.join(map(quote.quote, names))})"
            sent.append(f"INSERT INTO {into} VALUES {rows}")

        with fresh_database(folder) as url, pytest.MonkeyPatch.context() as patch:
            patch.setattr(bulk, "_copy", copy_and_keep)
            eng = make_engine(url)
            event.listen(eng, "before_cursor_execute", keep)
            self._make(eng, fill)
            event.remove(eng, "before_cursor_execute", keep)
            eng.dispose()
        # unqualified names only: the test's search_path decides where they go
        assert not any(_schema_of(url) in statement for statement in sent)
        self.script = "".join(f"{statement};\n" for statement in sent)

    def _make(self, engine: Engine, fill: Callable[[Engine], None] | None) -> None:
        upgrade(engine)
        if fill is None:
            return
        import matching.models  # noqa: F401  (the needs' tables, for the stamps a fill writes)
        import web.models  # noqa: F401  (and the accounts' and audit log's)

        start = utcnow()
        fill(engine)
        self.filled = start, utcnow()
        with engine.connect() as conn:  # the columns fill stamped with its time
            for table in Base.metadata.sorted_tables:
                for column in table.columns:
                    if isinstance(column.type, DateTime):
                        hit = select(column).where(column.between(*self.filled)).limit(1)
                        if conn.execute(hit).first() is not None:
                            self.stamps.append((table.name, column.name))

    def copy_into(self, engine: Engine) -> None:
        """Make the empty database of ``engine`` (not connected yet) the template's copy."""
        if self.sqlite_file is not None:
            assert engine.url.database
            shutil.copyfile(self.sqlite_file, engine.url.database)
        else:
            raw = engine.raw_connection()
            try:
                raw.cursor().execute(self.script)  # one round trip, in one transaction
                raw.commit()
            finally:
                raw.close()
        if not self.stamps:
            return
        moved = utcnow() - self.filled[1]
        start, end = self.filled
        with engine.begin() as conn:
            for table_name in dict.fromkeys(name for name, _ in self.stamps):
                table = Base.metadata.tables[table_name]
                (key,) = table.primary_key.columns
                stamped = [table.c[c] for t, c in self.stamps if t == table_name]
                # every column with an onupdate is set too, to what it was (not to now)
                columns = stamped + [c for c in table.columns if c.onupdate and c not in stamped]
                rows = [
                    {"_key": row[0]}
                    | {
                        f"_{c.name}": v + moved if c in stamped and v and start <= v <= end else v
                        for c, v in zip(columns, row[1:], strict=True)
                    }
                    for row in conn.execute(select(key, *columns))
                ]
                if rows:
                    move = update(table).where(key == bindparam("_key"))
                    conn.execute(move.values({c: bindparam(f"_{c.name}") for c in columns}), rows)


class DatabaseTemplates:
    """The session's templates, each made when a test first asks for it."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self._factory = factory
        self._made: dict[str | None, DatabaseTemplate] = {}

    def get(self, filled: str | None) -> DatabaseTemplate:
        template = self._made.get(filled)
        if template is None or template.day != today_in_japan():
            folder = self._factory.mktemp(filled or "migrated")
            template = DatabaseTemplate(folder, FILLED[filled] if filled else None)
            self._made[filled] = template
        return template


@pytest.fixture(scope="session")
def database_templates(tmp_path_factory: pytest.TempPathFactory) -> DatabaseTemplates:
    return DatabaseTemplates(tmp_path_factory)


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
def engine(
    request: pytest.FixtureRequest, db_url: str, database_templates: DatabaseTemplates
) -> Iterator[Engine]:
    """An engine on a database migrated to head (the way `tsunagu db upgrade` makes it: a
    copy of the session's migrated template), holding the demo town too when the test
    asks for `demo_town` or `demo_town_with_needs`."""
    filled = [name for name in FILLED if name in request.fixturenames]
    assert len(filled) <= 1, f"a test's database holds one of {list(FILLED)}, not {filled}"
    eng = make_engine(db_url)
    database_templates.get(filled[0] if filled else None).copy_into(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def demo_town(engine: Engine) -> Engine:
    """The test's database holds the demo town as ``load_demo`` in a transaction of its
    own leaves it (a copy: tests/test_schema.py checks it is the same)."""
    return engine


@pytest.fixture
def demo_town_with_needs(engine: Engine) -> Engine:
    """The test's database holds the demo town and its needs (seeds/kami/needs.json), as
    ``load_demo`` then ``import_needs`` in one transaction leave them (a copy, likewise)."""
    return engine


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
