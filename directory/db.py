"""Engines and sessions for the two supported databases.

``DATABASE_URL`` unset → a SQLite file under ``instance/`` (WAL, foreign keys on, write
transactions ``BEGIN IMMEDIATE``, reads deferred); ``DATABASE_URL=postgresql+psycopg://…`` → PostgreSQL.
A plain ``postgresql://`` URL is taken as psycopg (version 3), the driver we ship.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_FILENAME = "tsunagu.sqlite"


def instance_dir() -> Path:
    """Where the embedded database lives: ``TSUNAGU_INSTANCE`` or ``<project>/instance``.

    In a source checkout the project is the folder holding ``pyproject.toml``; for an
    installed copy it is the current directory, as for Flask's own instance folder.
    """
    if env := os.environ.get("TSUNAGU_INSTANCE"):
        return Path(env)
    root = Path(__file__).resolve().parents[1]
    if (root / "pyproject.toml").exists():
        return root / "instance"
    return Path.cwd() / "instance"


def database_url(environ: Mapping[str, str] | None = None) -> str:
    """Return the SQLAlchemy URL to use, normalised (``postgresql://`` → psycopg)."""
    environ = os.environ if environ is None else environ
    url = environ.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{instance_dir() / SQLITE_FILENAME}"
    return normalise_url(url)


def normalise_url(url: str) -> str:
    """Make ``postgres://`` and ``postgresql://`` use psycopg 3, the driver we install."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """Create an engine with the settings each backend needs to be safe for our use."""
    url = normalise_url(url) if url else database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("timeout", 30)
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin, so that
    # writes can start with BEGIN IMMEDIATE (a deferred transaction that reads and then
    # writes is not rescued by busy_timeout: see SECURITY_NOTES.md).
    connect_args["isolation_level"] = None
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA busy_timeout = 30000")
        if database and database != ":memory:":
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("tsunagu_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_sessionmaker(engine: Engine, *, write: bool = False) -> sessionmaker[Session]:
    """Sessions on ``engine``; ``write=True`` ones take SQLite's write lock when they begin.

    Reads stay deferred so they never wait for a writer (WAL lets them run beside it).
    """
    bind = engine.execution_options(tsunagu_write=True) if write else engine
    return sessionmaker(bind, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A write session whose work is committed together at the end, or not at all."""
    with make_sessionmaker(engine, write=True)() as session, session.begin():
        yield session
