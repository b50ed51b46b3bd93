"""``tsunagu user …`` (DATA_FORMATS §8) and accounts made there signing in with the form."""

from __future__ import annotations

import json

from flask import Flask
from sqlalchemy import Engine, select
from webhelpers import PASSWORD, Account, area_codes, csrf_token, sign_in

from directory.db import transaction
from directory.demo import load_demo
from web.models import ApiToken, AuditEvent, User


def _town(engine: Engine) -> None:
    with transaction(engine) as s:
        load_demo(s)


def test_an_account_made_from_the_cli_signs_in_with_the_form(
    cli, engine: Engine, app: Flask
) -> None:
    _town(engine)
    area = area_codes(app)[0]
    made = cli(
        "user",
        "add",
        "yamada",
        "--role",
        "tier2",
        "--area",
        area,
        "--name",
        "山田",
        "--password-stdin",
        input_=PASSWORD + "\n",
    )
    assert made.exit_code == 0, made.stderr
    client = app.test_client()
    assert sign_in(client, Account("yamada", "tier2", (area,))).status_code == 303  # type: ignore[attr-defined]
    assert client.get(f"/maps/coordinator?area={area}").status_code == 200
    listed = json.loads(cli("user", "list", "--json").stdout)
    assert listed == [
        {
            "login": "yamada",
            "name": "山田",
            "role": "tier2",
            "areas": [area],
            "disabled": False,
            "second_factor": False,
            "last_sign_in_at": listed[0]["last_sign_in_at"],
        }
    ]
    assert listed[0]["last_sign_in_at"].endswith("Z")
    with transaction(engine) as s:
        stored = s.scalar(select(User.password_hash))
        assert stored is not None and stored.startswith("$argon2id$")
        dump = " ".join(
            str(v) for e in s.scalars(select(AuditEvent)) for v in (e.action, e.record_id, e.detail)
        )
    assert PASSWORD not in dump and "user_add" in dump


def test_bad_accounts_are_refused_with_a_reason(cli, engine: Engine, app: Flask) -> None:
    _town(engine)
    cases = [
        (["user", "add", "a b", "--role", "viewer"], "ログイン名"),
        (["user", "add", "t2", "--role", "tier2"], "担当圏域"),
        (["user", "add", "t2", "--role", "tier2", "--area", "nowhere"], "地区コード"),
        (["user", "add", "short", "--role", "viewer"], "12文字以上"),
    ]
    for args, reason in cases:
        password = "short" if args[2] == "short" else PASSWORD
        result = cli(*args, "--password-stdin", input_=password + "\n")
        assert result.exit_code == 1 and reason in result.stderr, (args, result.stderr)
    with transaction(engine) as s:
        assert s.scalars(select(User)).all() == []


def test_passwd_disable_and_token_end_sessions_as_promised(cli, engine: Engine, app: Flask) -> None:
    _town(engine)
    assert (
        cli(
            "user", "add", "ono", "--role", "viewer", "--password-stdin", input_=PASSWORD + "\n"
        ).exit_code
        == 0
    )
    token = cli("user", "token", "ono")
    assert token.exit_code == 0
    secret = token.stdout.strip()
    with transaction(engine) as s:
        assert secret not in s.scalars(select(ApiToken.token_hash)).all()
    browser = app.test_client()
    sign_in(browser, Account("ono", "viewer", ()))
    assert browser.get("/", headers={}).headers.get("Cache-Control") == "no-store"
    script = app.test_client()
    assert (
        script.get("/", headers={"Authorization": f"Bearer {secret}"}).headers.get("Cache-Control")
        == "no-store"
    )
    assert (
        cli("user", "passwd", "ono", "--password-stdin", input_="a brand new password\n").exit_code
        == 0
    )
    assert browser.get("/").headers.get("Cache-Control") is None  # signed out
    assert (
        script.get("/maps/coordinator", headers={"Authorization": f"Bearer {secret}"}).status_code
        == 401
    )
    assert cli("user", "disable", "ono").exit_code == 0
    again = app.test_client()
    response = again.post(
        "/login",
        data={"login": "ono", "password": "a brand new password", "csrf_token": csrf_token(again)},
    )
    assert response.status_code == 200 and "違います" in response.get_data(as_text=True)
    assert cli("user", "token", "ono").exit_code == 1
    listed = json.loads(cli("user", "list", "--json").stdout)
    assert listed[0]["disabled"] is True
