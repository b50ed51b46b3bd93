"""Rate limits counted in the application's database (the default storage of the limits).

Why: Flask-Limiter keeps its counters in each process's memory unless Redis is set up, and
``tsunagu serve`` runs several worker processes, so each would allow the full number of
failed sign-ins. Only the sign-in form is limited, and only failures are counted, so a
write per failed attempt costs nothing that matters; every worker, and every host sharing
the database, then counts together. Redis stays an option (``RATELIMIT_STORAGE_URI``).

A ``limits`` storage for the fixed-window strategy: one row per key with its count and
the end of its window. A window that has ended counts from the next hit again.
"""

from __future__ import annotations

import random
import time
from typing import Any

from flask import current_app, has_app_context
from limits.storage import Storage
from sqlalchemy import Engine, Table, delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from web.models import RateLimitCount

__all__ = ["SCHEME", "DatabaseStorage"]

#: The storage URI that names this storage (``RATELIMIT_STORAGE_URI``).
SCHEME = "tsunagu+db"
_TABLE: Table = RateLimitCount.__table__  # type: ignore[assignment]
#: One increment in this many also deletes the rows whose windows have ended.
_SWEEP_ONE_IN = 50


class DatabaseStorage(Storage):
    """Fixed-window counters in the ``rate_limit_count`` table (migration 0011)."""

    STORAGE_SCHEME = [SCHEME]  # noqa: RUF012 (the limits registry reads a list)

    def __init__(
        self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any
    ) -> None:
        engine = options.pop("engine", None)
        if not isinstance(engine, Engine):
            raise ValueError("DatabaseStorage needs the application's engine (engine=...)")
        self._engine = engine
        super().__init__(uri, wrap_exceptions=wrap_exceptions)

    @property
    def engine(self) -> Engine:
        """The engine of the app handling the request. Flask-Limiter keeps one storage per
        ``Limiter``, and ours is shared by every app made in the process (tests, the
        command line): the engine given at ``init_app`` may be another app's, disposed."""
        if has_app_context():
            found = current_app.extensions.get("db_engine")
            if isinstance(found, Engine):
                return found
        return self._engine

    @property
    def writer(self) -> Engine:
        """SQLite: a transaction that reads then writes must hold the write lock from its
        BEGIN (IMMEDIATE), or two workers counting at once fail instead of waiting."""
        return self.engine.execution_options(tsunagu_write=True)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        table = _TABLE
        for _attempt in range(3):  # two first hits at once: one inserts, the other updates
            try:
                with self.writer.begin() as conn:
                    if random.randrange(_SWEEP_ONE_IN) == 0:
                        conn.execute(delete(table).where(table.c.expires_at <= now))
                    row = conn.execute(
                        select(table.c.count, table.c.expires_at)
                        .where(table.c.key == key)
                        .with_for_update()
                    ).first()
                    if row is None:
                        conn.execute(
                            table.insert().values(key=key, count=amount, expires_at=now + expiry)
                        )
                        return amount
                    count, expires_at = row
                    if expires_at <= now:  # the window ended: a new one
                        values = {"count": amount, "expires_at": now + expiry}
                    else:
                        values = {"count": int(count) + amount}
                    conn.execute(update(table).where(table.c.key == key).values(**values))
                    return int(values["count"])
            except IntegrityError:
                continue
        raise RuntimeError(f"could not count a hit on the rate limit {key!r}")

    def get(self, key: str) -> int:
        table = _TABLE
        with self.engine.connect() as conn:
            row = conn.execute(
                select(table.c.count).where(table.c.key == key, table.c.expires_at > time.time())
            ).first()
        return 0 if row is None else int(row[0])

    def get_expiry(self, key: str) -> float:
        table = _TABLE
        with self.engine.connect() as conn:
            expires = conn.execute(select(table.c.expires_at).where(table.c.key == key)).scalar()
        now = time.time()
        return float(expires) if expires is not None and expires > now else now

    def check(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        table = _TABLE
        with self.writer.begin() as conn:
            return conn.execute(delete(table)).rowcount

    def clear(self, key: str) -> None:
        table = _TABLE
        with self.writer.begin() as conn:
            conn.execute(delete(table).where(table.c.key == key))
