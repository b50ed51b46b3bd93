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

db = AppGroup("db", help="データベースの作成・更新 / create and migrate the database.")
demo = AppGroup("demo", help="デモの町 / the demo town.")


@db.command("upgrade")
@lang_option
def db_upgrade() -> None:
    """データベースを作成・最新化します（Alembic）。"""
    upgrade(get_db().engine)
    click.echo(_("the database is up to date"), err=True)


not_yet("backup", db, "バックアップ（未実装）")
not_yet("restore", db, "復元（未実装）")


@demo.command("load")
@json_option()
@lang_option
def demo_load(as_json: bool) -> None:
    """seeds/ のデモの町を読み込みます（何度実行しても同じ結果）。"""
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
