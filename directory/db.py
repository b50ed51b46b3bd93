"""Engines and sessions for the two supported databases.

``DATABASE_URL`` unset → a SQLite file under ``instance/`` (WAL, foreign keys on, write
transactions ``BEGIN IMMEDIATE``, reads deferred); ``DATABASE_URL=postgresql+psycopg://…`` → PostgreSQL.
A plain ``postgresql://`` URL is taken as psycopg (version 3), the driver we ship.

Database errors must not repeat data (needs are 要配慮個人情報, SECURITY_NOTES.md): every
engine hides SQL parameters, PostgreSQL errors lose the lines that quote the failing row,
and :func:`transaction` turns every database error into a
:class:`~directory.errors.DatabaseProblem` with a plain Japanese/English message.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from directory.errors import DatabaseProblem

SQLITE_FILENAME = "tsunagu.sqlite"


def instance_dir() -> Path:
    """Where the embedded database lives: ``TSUNAGU_INSTANCE`` or ``<project>/instance``.

    In a source checkout the project is the folder holding ``pyproject.toml``; for an
    installed copy it is the current directory, as for Flask's own instance folder.
    """
    if env := os.environ.get("TSUNAGU_INSTANCE"):
        return Path(env).resolve()
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
    """Create an engine with the settings each backend needs to be safe for our use.

    ``hide_parameters`` is always on: SQLAlchemy would otherwise print every bound value
    (a need's intake text) in an exception's ``[parameters: …]`` and in the INFO log.
    """
    url = normalise_url(url) if url else database_url()
    parsed = make_url(url)
    kwargs["hide_parameters"] = True
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "handle_error", _without_row_values)
    return engine


def _without_row_values(ctx: ExceptionContext) -> BaseException | None:
    """PostgreSQL: keep only the primary line of an error, rebuilt without data.

    The server adds ``DETAIL: Failing row contains (…)`` / ``Key (col)=(value)`` lines
    and data errors quote the value (``invalid input syntax for type integer: "…"``);
    ``hide_parameters`` does not touch them. The driver's diagnostics (SQLSTATE,
    constraint, column) stay available to :func:`database_problem`.
    """
    orig = ctx.original_exception
    diag = getattr(orig, "diag", None)
    sqlstate = getattr(orig, "sqlstate", None) or ""
    primary = getattr(diag, "message_primary", None)
    if primary is None or not orig.args:
        return None
    if sqlstate.startswith("22"):  # data exceptions quote the value they refused
        primary = f"the database refused a value (SQLSTATE {sqlstate}; the value is not shown)"
    if orig.args == (primary,):
        return None
    orig.args = (primary,)
    if ctx.sqlalchemy_exception is None or ctx.dialect is None:
        return None
    context = ctx.execution_context
    return DBAPIError.instance(
        ctx.statement,
        ctx.parameters,
        orig,
        ctx.dialect.loaded_dbapi.Error,
        hide_parameters=True,
        connection_invalidated=ctx.is_disconnect,
        dialect=ctx.dialect,
        ismulti=context.executemany if context is not None else None,
    )


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("timeout", 30)
    busy_ms = int(float(connect_args["timeout"]) * 1000)
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin, so that
    # writes can start with BEGIN IMMEDIATE (a deferred transaction that reads and then
    # writes is not rescued by busy_timeout: see SECURITY_NOTES.md).
    connect_args["isolation_level"] = None
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute(f"PRAGMA busy_timeout = {busy_ms}")
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
    """A write session whose work is committed together at the end, or not at all.

    A database error inside it (or at commit) leaves as a :class:`DatabaseProblem`, raised
    ``from None``: its message names tables, columns and constraints only, and no chained
    exception carrying SQL, parameters or row values survives in its traceback.
    """
    try:
        with make_sessionmaker(engine, write=True)() as session, session.begin():
            yield session
    except Exception as exc:
        problem = database_problem(exc)
        if problem is None:
            raise
        raise problem from None


# PostgreSQL advisory lock "space" for imports (the other key is the import kind).
_IMPORT_LOCK_SPACE = 0x7473  # "ts"


def import_lock(session: Session, kind: str) -> None:
    """Refuse at once if another import of ``kind`` is running on this database.

    PostgreSQL: a transaction-level advisory lock on (schema, kind), so two imports of the
    same file fail fast with :class:`DatabaseProblem` ``import_running`` instead of one
    tripping over the other's rows (a unique violation) half-way. SQLite: the write
    transaction's ``BEGIN IMMEDIATE`` is the lock; a second import waits for the busy
    timeout and is then refused with the same message.
    """
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        session.connection()  # begins the write transaction: BEGIN IMMEDIATE
        return
    got = session.execute(
        text(
            "SELECT pg_try_advisory_xact_lock(:space, hashtext(current_schema() || ':' || :kind))"
        ),
        {"space": _IMPORT_LOCK_SPACE, "kind": kind},
    ).scalar()
    if not got:
        raise DatabaseProblem("import_running")


_NAME = re.compile(r"[\w.]+(?:, [\w.]+)*")
_SQLITE_CONSTRAINT = re.compile(r"(UNIQUE|NOT NULL|CHECK|FOREIGN KEY) constraint failed(?:: (.+))?")
_PG_KEY = re.compile(r"Key \(([^)]*)\)=")
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


def _name(text: str | None) -> str:
    """A table/column/constraint name from an error, or "?" when it looks like anything else."""
    return text if text and _NAME.fullmatch(text) else "?"


def database_problem(exc: BaseException) -> DatabaseProblem | None:
    """The plain message for a database error (SQLAlchemy's or the driver's), else None.

    Only names (of columns, constraints) are taken from the error, never its text, which
    may quote values.
    """
    if isinstance(exc, DatabaseProblem):
        return exc
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(orig, sqlite3.Error):
        return _sqlite_problem(orig)
    if orig is not None and type(orig).__module__.split(".")[0] == "psycopg":
        return _postgresql_problem(orig)
    if isinstance(exc, DBAPIError):
        return DatabaseProblem("db_error", kind=type(orig).__name__)
    return None


def _sqlite_problem(orig: sqlite3.Error) -> DatabaseProblem:
    base = (getattr(orig, "sqlite_errorcode", 0) or 0) & 0xFF
    message = str(orig)  # SQLite's messages name constraints and columns, never values
    if base in (_SQLITE_BUSY, _SQLITE_LOCKED) or "database is locked" in message:
        return DatabaseProblem("import_running")
    if m := _SQLITE_CONSTRAINT.match(message):
        kind, names = m[1], _name(m[2])
        if kind == "UNIQUE":
            return DatabaseProblem("db_duplicate", column=names)
        if kind == "NOT NULL":
            return DatabaseProblem("db_not_null", column=names)
        if kind == "CHECK":
            return DatabaseProblem("db_check", constraint=names)
        return DatabaseProblem("db_foreign_key", column="?")
    if isinstance(orig, sqlite3.OperationalError) and "unable to open" in message:
        return DatabaseProblem("db_unavailable")
    return DatabaseProblem("db_error", kind=type(orig).__name__)


def _postgresql_problem(orig: BaseException) -> DatabaseProblem:
    sqlstate = getattr(orig, "sqlstate", None) or ""
    diag = getattr(orig, "diag", None)

    def field(name: str) -> str | None:
        return getattr(diag, name, None) if diag is not None else None

    def key_columns() -> str:
        m = _PG_KEY.match(field("message_detail") or "")
        table = field("table_name")
        if m and _NAME.fullmatch(m[1]):
            return f"{table}.{m[1]}" if table and "," not in m[1] else m[1]
        return _name(field("constraint_name"))

    if sqlstate in ("55P03", "40001", "40P01"):  # lock timeout, serialization, deadlock
        return DatabaseProblem("import_running")
    if sqlstate == "23505":
        return DatabaseProblem("db_duplicate", column=key_columns())
    if sqlstate == "23502":
        table, column = field("table_name"), field("column_name")
        return DatabaseProblem(
            "db_not_null", column=_name(f"{table}.{column}" if table else column)
        )
    if sqlstate == "23503":
        return DatabaseProblem("db_foreign_key", column=key_columns())
    if sqlstate == "23514":
        return DatabaseProblem("db_check", constraint=_name(field("constraint_name")))
    if sqlstate == "22P05" or (not sqlstate and "NUL" in str(orig)):
        return DatabaseProblem("db_nul")  # psycopg refuses NUL before sending: no SQLSTATE
    if sqlstate.startswith("22"):
        return DatabaseProblem("db_bad_value")
    if sqlstate.startswith("08") or (not sqlstate and type(orig).__name__ == "OperationalError"):
        return DatabaseProblem("db_unavailable")
    kind = type(orig).__name__ + (f" {sqlstate}" if sqlstate else "")
    return DatabaseProblem("db_error", kind=kind)
