"""Alembic environment: the only way Tsunagu's schema is made (``tsunagu db upgrade``).

The URL comes from the caller (``directory.schema.upgrade`` passes a connection) or from
``DATABASE_URL`` / the embedded SQLite default, so ``alembic upgrade head`` run by hand
acts on the same database as the application.
"""

from __future__ import annotations

from alembic import context

import matching.models  # noqa: F401  (registers need, need_category, match on Base.metadata)
import web.models  # noqa: F401  (registers accounts and the audit log)
from directory.db import make_engine
from directory.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or None)
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
