"""``tsunagu user add|passwd|disable|token|list``: accounts (DATA_FORMATS §8)."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

from web.accounts import AccountError, add_user, disable, issue_token, list_users, set_password
from web.cli._common import _, actor, as_option, database, describe, fail, json_option, lang_option
from web.models import ROLES

user = AppGroup("user", help="利用者アカウント / accounts.")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt(_("Password"), hide_input=True, confirmation_prompt=True, err=True))


@user.command("add")
@click.argument("login")
@click.option("--role", required=True, type=click.Choice(ROLES), help="役割")
@click.option(
    "--area",
    "areas",
    multiple=True,
    metavar="CODE",
    help="担当する日常生活圏域のコード（tier2 は1つ以上、複数可）",
)
@click.option("--name", "display_name", default=None, help="表示名（省略時はログイン名）")
@click.option("--password-stdin", is_flag=True, help="パスワードを標準入力の1行から読む")
@lang_option
@as_option
def user_add(
    login: str, role: str, areas: tuple[str, ...], display_name: str | None, password_stdin: bool
) -> None:
    """アカウントを作ります。admin と tier1 は初回のサインインで二段階認証を設定します。"""
    password = _password(password_stdin)
    by = actor()
    try:
        with database().write() as session:
            add_user(
                session,
                by,
                login,
                role=role,
                password=password,
                areas=areas,
                display_name=display_name,
            )
    except AccountError as exc:
        fail(describe(exc))
    click.echo(_("account {login} ({role}) created", login=login, role=role), err=True)


@user.command("passwd")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="パスワードを標準入力の1行から読む")
@lang_option
@as_option
def user_passwd(login: str, password_stdin: bool) -> None:
    """パスワードを変えます。そのアカウントのサインイン中のセッションとトークンはすべて終了します。"""
    password = _password(password_stdin)
    by = actor()
    try:
        with database().write() as session:
            set_password(session, by, login, password)
    except AccountError as exc:
        fail(describe(exc))
    click.echo(_("password of {login} changed (every session ended)", login=login), err=True)


@user.command("disable")
@click.argument("login")
@lang_option
@as_option
def user_disable(login: str) -> None:
    """アカウントを停止します。セッションと API トークンはすぐに無効になります。"""
    by = actor()
    try:
        with database().write() as session:
            disable(session, by, login)
    except AccountError as exc:
        fail(describe(exc))
    click.echo(_("{login} disabled", login=login), err=True)


@user.command("token")
@click.argument("login")
@lang_option
@as_option
def user_token(login: str) -> None:
    """API トークンを新しく作り、一度だけ表示します（保存されるのはハッシュだけです）。"""
    by = actor()
    try:
        with database().write() as session:
            token = issue_token(session, by, login)
    except AccountError as exc:
        fail(describe(exc))
    click.echo(token)


@user.command("list")
@json_option()
@lang_option
def user_list(as_json: bool) -> None:
    """アカウントの一覧（パスワードや秘密は表示しません）。"""
    with database().read() as session:
        rows = [
            {
                "login": u.login,
                "name": u.display_name,
                "role": u.role,
                "areas": [a.code for a in u.areas],
                "disabled": u.disabled,
                "second_factor": u.totp_secret is not None,
                "last_sign_in_at": u.last_sign_in_at.isoformat() + "Z"
                if u.last_sign_in_at
                else None,
            }
            for u in list_users(session)
        ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        state = _("disabled") if r["disabled"] else ""
        areas = ",".join(str(a) for a in r["areas"] or ())  # type: ignore[union-attr]
        click.echo(f"{r['login']}\t{r['role']}\t{areas}\t{state}")


COMMANDS = (user,)
