"""One engine per app; read sessions per request (flaskr's ``g`` pattern) and explicit
write transactions for the service layer.

Reads never take a write lock (SQLite ``BEGIN DEFERRED``); writes begin ``IMMEDIATE``
(:func:`directory.db.transaction`), so a read-only command or page never fails because
another process is writing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g, has_request_context
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from directory.db import make_engine, make_sessionmaker, transaction
from directory.schema import require_current
from directory.state import READ_ONLY

CURRENT_FOR_SECONDS = 5.0  # how long a database seen at the migration head is taken as such


class Database:
    """The app's database: ``read()`` sessions and ``write()`` transactions on one engine."""

    def __init__(self, engine: Engine) -> None:
        from matching.service import SnapshotCache, UnmetCount
        from web.report_cache import ReportCache

        self.engine = engine
        self._read = make_sessionmaker(engine)
        # The matcher's in-memory directory, one per database (never shared between two).
        self.snapshots = SnapshotCache()
        # Recent unmet-needs reports (counts only), each valid while its data is unchanged.
        self.unmet_reports: ReportCache[tuple[UnmetCount, ...]] = ReportCache()
        self._current_until = 0.0

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session that only reads (rolled back at the end, whatever happened).

        Within a request every read session runs on one connection, taken from the pool
        once (each checkout pings the server first): one transaction per session, one
        after the other, so each still sees what was committed before it began.
        """
        conn = request_connection(self.engine) if has_request_context() else None
        if conn is None:
            with self._read() as session:
                session.info[READ_ONLY] = True
                yield session
            return
        with Session(bind=conn, expire_on_commit=False) as session:
            session.info[READ_ONLY] = True
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed together at the end, or not at all."""
        with transaction(self.engine) as session:
            yield session

    def require_current(self) -> None:
        """Refuse a database that is not at the migration head; once seen current, the
        answer is kept for a few seconds (each page asks, and the check costs a query)."""
        now = time.monotonic()
        if now < self._current_until:
            return
        require_current(self.engine)
        self._current_until = now + CURRENT_FOR_SECONDS


def init_app(app: Flask) -> None:
    # SQLAlchemy logs statements at INFO and result rows (need values) at DEBUG whenever its
    # logger is enabled; pin it to WARNING so a root DEBUG level never turns that on.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["db_engine"] = engine
    app.extensions["tsunagu_db"] = Database(engine)
    app.extensions["sessionmaker"] = make_sessionmaker(engine)
    app.teardown_appcontext(close_session)


def get_db() -> Database:
    """The current app's :class:`Database`."""
    db: Database = current_app.extensions["tsunagu_db"]
    return db


def get_session() -> Session:
    """Return this request's read session, opening it on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["sessionmaker"]()
        g.db_session.info[READ_ONLY] = True
    session: Session = g.db_session
    return session


def request_connection(engine: Engine) -> Connection:
    """This request's connection for reads (:meth:`Database.read`, the signed-in account),
    taken from the pool once and given back at teardown; never left in a transaction."""
    conn: Connection | None = g.get("tsunagu_read_connection")
    if conn is None or conn.closed or conn.engine is not engine:
        if conn is not None:
            conn.close()
        conn = engine.connect()
        if engine.dialect.name == "postgresql":
            # READ COMMITTED gives each statement its own snapshot anyway: without a
            # transaction there is no BEGIN and ROLLBACK round trip per read session
            # (web.report_cache.begin_snapshot still asks for one REPEATABLE READ snapshot)
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        g.tsunagu_read_connection = conn
    return conn


def close_session(exc: BaseException | None = None) -> None:
    conn = g.pop("tsunagu_read_connection", None)
    if conn is not None:
        conn.close()
    session = g.pop("db_session", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()
