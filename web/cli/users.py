"""``tsunagu user add|passwd|disable|token|list``: accounts (DATA_FORMATS §8)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from flask.cli import AppGroup

from web.accounts import AccountError, add_user, disable, issue_token, list_users, set_password
from web.cli._common import _, actor, as_option, database, describe, fail, json_option, lang_option
from web.models import ROLES

user = AppGroup("user", help="Accounts.")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt(_("Password"), hide_input=True, confirmation_prompt=True, err=True))


@user.command("add")
@click.argument("login")
@click.option("--role", required=True, type=click.Choice(ROLES), help="Role.")
@click.option(
    "--area",
    "areas",
    multiple=True,
    metavar="CODE",
    help="The code of a daily living area covered (tier2: one or more; may be repeated).",
)
@click.option("--name", "display_name", default=None, help="Display name (default: the login).")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from one line of standard input."
)
@lang_option
@as_option
def user_add(
    login: str, role: str, areas: tuple[str, ...], display_name: str | None, password_stdin: bool
) -> None:
    """Create an account. admin and tier1 set up two-step verification at their first sign-in."""
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
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from one line of standard input."
)
@lang_option
@as_option
def user_passwd(login: str, password_stdin: bool) -> None:
    """Change a password. Every signed-in session and token of that account ends."""
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
    """Disable an account. Its sessions and API tokens stop working at once."""
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
    """Make a new API token and show it once (only its hash is stored)."""
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
    """List the accounts (never passwords or secrets)."""
    with database().read() as session:
        rows: list[dict[str, Any]] = [
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
        click.echo(f"{r['login']}\t{r['role']}\t{','.join(r['areas'])}\t{state}")


COMMANDS = (user,)
