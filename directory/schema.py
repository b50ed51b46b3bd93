"""Create and migrate the schema with Alembic, and keep the category mirror in sync.

Alembic migrations in ``migrations/`` are the only way the schema is made; nothing calls
``metadata.create_all`` outside tests that compare the two.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from directory.errors import DirectoryError
from directory.i18n import N_, translate
from directory.models import Category

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"


class SchemaError(DirectoryError):
    """The database is missing or behind the code's schema.

    ``msgid`` is a catalogue message; ``str()`` is its Japanese, :meth:`describe` any language.
    """

    def __init__(self, msgid: str, **params: Any):
        self.msgid = msgid
        self.params = params
        super().__init__(self.describe("ja"))

    def describe(self, lang: str = "ja") -> str:
        return translate(self.msgid, lang, **self.params)


def alembic_config() -> Config:
    if not (MIGRATIONS_DIR / "env.py").exists():
        raise SchemaError(N_("migrations folder not found at {path}"), path=MIGRATIONS_DIR)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` and mirror the taxonomy into ``category``."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    with Session(engine) as session, session.begin():
        sync_categories(session)


@functools.cache
def head_revision() -> str | None:
    """The newest migration this code knows (the migrations folder is part of the code)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def require_current(engine: Engine) -> None:
    """Refuse to work on a database that is not at the migration head."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise SchemaError(
            N_(
                "the database is not up to date (now {current}, latest {head}): run "
                "`tsunagu db upgrade`"
            )
            if current
            else N_(
                "the database is not up to date (now none, latest {head}): run `tsunagu db upgrade`"
            ),
            current=current,
            head=head,
        )


def sync_categories(session: Session) -> None:
    """Make the ``category`` table equal the taxonomy file (the single source of truth)."""
    from directory.state import bump
    from directory.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    existing = {c.code: c for c in session.scalars(select(Category))}
    changed = False
    for cat in taxonomy.categories.values():
        row = existing.get(cat.code)
        if row is None:
            row = Category(code=cat.code)
            session.add(row)
        values = {"parent_code": cat.parent, "label_ja": cat.label_ja, "label_en": cat.label_en}
        if any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            changed = True
    if changed:
        session.flush()
        bump(session)
