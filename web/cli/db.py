"""``tsunagu db …`` and ``tsunagu demo …``: the database itself and the demo town."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from directory.errors import DirectoryError
from directory.schema import upgrade
from web.actors import system_actor
from web.cli._common import _, describe, fail, json_option, lang, lang_option, not_yet
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


not_yet("backup", db, "Back up the database (not implemented yet).")
not_yet("restore", db, "Restore the database (not implemented yet).")


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
