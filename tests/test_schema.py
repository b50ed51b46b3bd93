"""The schema is made by Alembic migrations alone, and they agree with the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text

from directory.db import make_engine
from directory.models import Base, Category
from directory.schema import current_revision, head_revision, upgrade
from directory.taxonomy import load_taxonomy


def test_migration_head_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_upgrade_creates_every_table_and_records_the_head(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert current_revision(engine) == head_revision()


def test_upgrade_twice_is_harmless_and_mirrors_the_taxonomy(db_url: str) -> None:
    eng = make_engine(db_url)
    upgrade(eng)
    upgrade(eng)
    with eng.connect() as conn:
        codes = set(conn.scalars(select(Category.code)))
    assert codes == set(load_taxonomy().categories)
    eng.dispose()


def test_sqlite_runs_with_foreign_keys_and_wal(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_every_directory_write_bumps_the_change_counter(engine: Engine) -> None:
    """Matching processes rely on this counter to notice a stale snapshot."""
    from pathlib import Path

    from directory.db import transaction
    from directory.geography import import_districts, import_venues
    from directory.resources import import_resources
    from directory.state import current

    data = Path(__file__).resolve().parent / "data" / "other_town"
    seen = []
    with engine.connect() as conn:
        seen.append(current(conn))
    for importer, path in (
        (import_districts, data / "districts.geojson"),
        (import_venues, data / "venues.geojson"),
        (import_resources, data / "resources_cp932.csv"),
        (import_resources, data / "resources_cp932.csv"),
    ):
        with transaction(engine) as s:
            importer(s, path)
        with engine.connect() as conn:
            seen.append(current(conn))
    assert seen[0] >= 1  # the taxonomy mirror was written by upgrade
    assert seen[1] > seen[0] and seen[2] > seen[1] and seen[3] > seen[2]
    assert seen[4] == seen[3]  # re-importing an unchanged file is not a change
