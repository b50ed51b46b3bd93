"""The schema is made by Alembic migrations alone, and they agree with the models."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text

import matching.models  # noqa: F401  (the needs' tables)
import web.models  # noqa: F401  (the accounts' and audit log's)
from directory.db import make_engine, transaction
from directory.models import Base, Category, utcnow
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


def _shape(engine: Engine) -> dict[str, Any]:
    """Everything a migration makes: objects with their definitions, and every row."""
    shape: dict[str, Any] = {}
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            catalogue = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
            # Alembic's batch mode remakes a table with its constraints in no fixed order:
            # two upgrades may write a CREATE TABLE's lines in different orders.
            shape["objects"] = [
                (kind, name, table, sorted(line.rstrip(", ") for line in (sql or "").split("\n")))
                for kind, name, table, sql in conn.execute(text(catalogue))
            ]
            shape["journal_mode"] = conn.execute(text("PRAGMA journal_mode")).scalar()
        else:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            for name, query in _POSTGRESQL_CATALOGUE.items():
                shape[name] = [
                    tuple(str(v).replace(f"{schema}.", "<schema>.") for v in row)
                    for row in conn.execute(text(query))
                ]
        for name in sorted(inspect(conn).get_table_names()):
            table = Base.metadata.tables.get(name)  # typed: time stamps read as datetimes
            rows = conn.execute(text(f'SELECT * FROM "{name}"') if table is None else select(table))
            shape[f"rows of {name}"] = sorted(repr(tuple(map(_now_or, row))) for row in rows)
    return shape


def _now_or(value: Any) -> Any:
    """A time stamp of the last minutes is "just now" (two loads are never the same µs)."""
    if isinstance(value, dt.datetime) and abs(utcnow() - value) < dt.timedelta(minutes=2):
        return "just now"
    return value


_POSTGRESQL_CATALOGUE = {
    "relations": """SELECT c.relname, c.relkind FROM pg_class c
        WHERE c.relnamespace = current_schema()::regnamespace ORDER BY 1""",
    "columns": """SELECT table_name, column_name, ordinal_position, data_type,
        character_maximum_length, numeric_precision, is_nullable, column_default,
        is_identity FROM information_schema.columns
        WHERE table_schema = current_schema() ORDER BY 1, 3""",
    "constraints": """SELECT c.relname, k.conname, pg_get_constraintdef(k.oid)
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        WHERE k.connamespace = current_schema()::regnamespace ORDER BY 1, 2""",
    "indexes": """SELECT tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = current_schema() ORDER BY 1, 2""",
    "triggers": """SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal
        ORDER BY 1, 2""",
    "functions": """SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p
        WHERE p.pronamespace = current_schema()::regnamespace ORDER BY 1""",
    "sequences": """SELECT sequencename, data_type, start_value, increment_by, last_value
        FROM pg_sequences WHERE schemaname = current_schema() ORDER BY 1""",
}


def test_each_tests_migrated_database_is_what_upgrade_makes(
    engine: Engine, other_db_url: str
) -> None:
    """The `engine` fixture copies one database migrated per session (tests/conftest.py);
    the copy must be what `upgrade()` makes on an empty database, objects and rows."""
    fresh = make_engine(other_db_url)
    try:
        upgrade(fresh)
        copied, made = _shape(engine), _shape(fresh)
        assert copied["rows of alembic_version"] == [repr((head_revision(),))]
        assert copied == made
    finally:
        fresh.dispose()


def _loaded(db_url: str, *, needs: bool) -> dict[str, Any]:
    from directory.demo import SEEDS_DIR, load_demo
    from matching.needs import import_needs

    fresh = make_engine(db_url)
    try:
        upgrade(fresh)
        with transaction(fresh) as s:
            load_demo(s)
            if needs:
                import_needs(s, SEEDS_DIR / "kami" / "needs.json")
        return _shape(fresh)
    finally:
        fresh.dispose()


def test_a_tests_demo_town_is_what_load_demo_makes(demo_town: Engine, other_db_url: str) -> None:
    """`demo_town` copies one demo town loaded per session, its time stamps moved to the
    copy's time (tests/conftest.py): it must be what loading it just now makes."""
    copied = _shape(demo_town)
    assert len(copied["rows of resource"]) > 100
    assert copied == _loaded(other_db_url, needs=False)


def test_a_tests_demo_town_with_needs_is_what_loading_them_makes(
    demo_town_with_needs: Engine, other_db_url: str
) -> None:
    copied = _shape(demo_town_with_needs)
    assert len(copied["rows of need"]) == 150
    assert copied == _loaded(other_db_url, needs=True)
