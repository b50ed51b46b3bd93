"""What every ``tsunagu`` command shares: language, failing with a message, the actor,
the app's database.

Commands run inside the app factory (flaskr's pattern, through :class:`flask.cli.FlaskGroup`),
so the CLI and the pages share configuration, database and rules.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from directory.errors import DirectoryError
from directory.schema import SchemaError
from web.actors import Actor, system_actor
from web.db import Database, get_db

F = TypeVar("F", bound=Callable[..., Any])
_LANG_KEY = "tsunagu.lang"
_ACTOR_KEY = "tsunagu.as"


def default_lang() -> str:
    env = os.environ.get("LC_ALL") or os.environ.get("LANG") or ""
    return "en" if env.lower().startswith("en") else "ja"


def lang_option(func: F) -> F:
    """``--lang ja|en`` on every command, so it may follow the arguments as users type it."""

    def store(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value:
            ctx.meta[_LANG_KEY] = value

    return click.option(
        "--lang", type=click.Choice(["ja", "en"]), expose_value=False, callback=store,
        is_eager=True, help="表示言語 / message language",
    )(func)


def lang() -> str:
    ctx = click.get_current_context(silent=True)
    if ctx is not None and _LANG_KEY in ctx.meta:
        return str(ctx.meta[_LANG_KEY])
    return default_lang()


def t(ja: str, en: str) -> str:
    return en if lang() == "en" else ja


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def describe(exc: BaseException) -> str:
    """A library error as the user's language has it (never a traceback)."""
    describe_ = getattr(exc, "describe", None)
    if callable(describe_):
        return str(describe_(lang()))
    return str(exc)


def database() -> Database:
    """The app's database, refusing one that is not at the migration head."""
    db = get_db()
    try:
        db.require_current()
    except SchemaError as exc:
        fail(str(exc) if lang() == "ja"
             else "the database is not up to date: run `tsunagu db upgrade`")
    return db


def as_option(func: F) -> F:
    """``--as LOGIN``: act as that account (its role and areas), not as the system."""

    def store(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value:
            ctx.meta[_ACTOR_KEY] = value

    return click.option(
        "--as", "as_login", expose_value=False, callback=store, metavar="LOGIN",
        help="このアカウントとして実行（役割と担当圏域の範囲で） / act as this account",
    )(func)


def actor() -> Actor:
    """The actor of this command: ``--as LOGIN``, else the named system actor."""
    from web.accounts import actor_for, find_user

    ctx = click.get_current_context(silent=True)
    login = ctx.meta.get(_ACTOR_KEY) if ctx is not None else None
    if not login:
        return system_actor("cli")
    with get_db().read() as session:
        user = find_user(session, str(login))
        if user is None or user.disabled:
            fail(t(f"--as: 有効なアカウント {login} がありません",
                   f"--as: no active account {login}"), code=2)
        return actor_for(user)


def fail_on(exc: DirectoryError | PermissionError | LookupError) -> NoReturn:
    fail(describe(exc))


NOT_YET = {
    "ja": "このコマンドはまだ実装されていません",
    "en": "this command is not implemented yet",
}


def not_yet(name: str, group: click.Group, help_text: str) -> None:
    """A §7 command that exists but is not built: it says so and exits 2."""

    @group.command(
        name, help=help_text,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
    @lang_option
    def _cmd() -> None:
        fail(NOT_YET["en" if lang() == "en" else "ja"], code=2)


def json_option(help_text: str = "結果を JSON で標準出力へ") -> Callable[[F], F]:
    return click.option("--json", "as_json", is_flag=True, help=help_text)


def on_option(func: F) -> F:
    return click.option(
        "--on", "on", type=click.DateTime(["%Y-%m-%d"]), default=None,
        help="この日から4週間の予定で判定（既定: 今日）",
    )(func)
