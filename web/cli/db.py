"""``tsunagu db …`` and ``tsunagu demo …``: the database itself and the demo town."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

from directory.errors import DirectoryError
from directory.schema import upgrade
from web import audit
from web.actors import system_actor
from web.cli._common import ProgressBar, _, describe, fail, json_option, lang, lang_option
from web.cli.data import report_import
from web.db import get_db
from web.services import audit_needs_import

db = AppGroup("db", help="Create and migrate the database.")
demo = AppGroup("demo", help="The demo town.")


@db.command("upgrade")
@lang_option
def db_upgrade() -> None:
    """Create the database or bring it up to date (Alembic)."""
    upgrade(get_db().engine)
    click.echo(_("the database is up to date"), err=True)


@db.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@lang_option
def db_backup(file: Path) -> None:
    """Write a consistent copy of the whole database (every table, the audit log included)
    to FILE. The file holds needs: it is readable by its owner only; keep it safe."""
    from web.backup import BackupError, backup

    database = get_db()
    bar = ProgressBar()
    try:
        result = backup(database.engine, file, progress=lambda t, d, n: bar(t, d, n))
    except (BackupError, OSError) as exc:
        fail(describe(exc))
    with database.write() as session:
        audit.record(
            session,
            system_actor("cli"),
            "backup",
            "database",
            file.name,
            detail=f"rows={result.rows}",
        )
    click.echo(
        _(
            "{file}: {tables} tables, {rows} rows backed up",
            file=file,
            tables=len(result.tables),
            rows=result.rows,
        ),
        err=True,
    )


@db.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace everything in a database that is not empty.")
@lang_option
def db_restore(file: Path, force: bool) -> None:
    """Restore a backup made by `tsunagu db backup` into an empty database (any engine),
    check every table against the backup's checksums and migrate it to this version."""
    from web.backup import BackupError, restore

    database = get_db()
    bar = ProgressBar()
    try:
        result = restore(database.engine, file, force=force, progress=lambda t, d, n: bar(t, d, n))
    except BackupError as exc:
        fail(describe(exc))
    with database.write() as session:
        # every running process's snapshot is now stale, whatever version it had seen
        from directory.state import bump

        bump(session)
        audit.record(
            session,
            system_actor("cli"),
            "restore",
            "database",
            file.name,
            detail=f"rows={result.rows}",
        )
    click.echo(
        _(
            "{file}: {tables} tables, {rows} rows restored",
            file=file,
            tables=len(result.tables),
            rows=result.rows,
        ),
        err=True,
    )


@demo.command("load")
@json_option()
@lang_option
def demo_load(as_json: bool) -> None:
    """Load the demo town from seeds/ (the same result however often it runs)."""
    from directory.demo import SEEDS_DIR, demo_manifest, load_demo

    database = get_db()
    upgrade(database.engine)
    manifest = demo_manifest()
    try:
        with database.write() as session:
            results = load_demo(session)
            if "needs" in manifest:  # matching's data: loaded here to keep directory → matching out
                from matching.needs import import_needs

                results["needs"] = import_needs(session, SEEDS_DIR / manifest["needs"])
                audit_needs_import(session, system_actor("cli"), results["needs"])
    except DirectoryError as exc:
        fail(describe(exc))
    if as_json:
        click.echo(
            json.dumps({k: r.as_json(lang()) for k, r in results.items()}, ensure_ascii=False)
        )
    for name, result in results.items():
        report_import(SEEDS_DIR / manifest[name], result, False, dry_run=False)


COMMANDS = (db, demo)
