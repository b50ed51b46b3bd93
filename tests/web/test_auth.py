"""Sign-in that ends when it should (issue 10 point 3, SECURITY_NOTES session lifecycle)."""

from __future__ import annotations

import re

import pyotp
import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from freezegun import freeze_time
from sqlalchemy import select
from webhelpers import PASSWORD, add_account, csrf_token, sign_in, sign_out

from web import accounts
from web.actors import system_actor
from web.db import get_db
from web.models import ApiToken, User


def _user(app: Flask, login: str) -> User:
    with app.app_context(), get_db().read() as s:
        user = s.scalar(select(User).where(User.login == login))
        assert user is not None
        return user


def _can_see_coordinator_map(client: FlaskClient) -> bool:
    return client.get("/maps/coordinator").status_code == 200


def test_coordinator_pages_ask_for_sign_in(app: Flask, client: FlaskClient) -> None:
    response = client.get("/maps/coordinator?area=X")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/maps/coordinator")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="login"' in page and 'name="password"' in page and 'name="csrf_token"' in page


def test_sign_in_redirects_303_to_next_and_a_wrong_password_says_so(
    app: Flask, client: FlaskClient
) -> None:
    add_account(app, "sato", "viewer")
    token = csrf_token(client)
    wrong = client.post(
        "/login", data={"login": "sato", "password": "nope-nope-nope", "csrf_token": token}
    )
    assert wrong.status_code == 200
    assert "ログイン名またはパスワードが違います" in wrong.get_data(as_text=True)
    ok = client.post(
        "/login",
        data={"login": "sato", "password": PASSWORD, "csrf_token": token, "next": "/maps/"},
    )
    assert ok.status_code == 303 and ok.headers["Location"] == "/maps/"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_next_never_leaves_the_site(app: Flask, client: FlaskClient, target: str) -> None:
    add_account(app, "sato", "viewer")
    response = client.post(
        "/login",
        data={
            "login": "sato",
            "password": PASSWORD,
            "csrf_token": csrf_token(client),
            "next": target,
        },
    )
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_a_new_session_at_sign_in(app: Flask, client: FlaskClient) -> None:
    account = add_account(app, "sato", "viewer")
    with client.session_transaction() as s:
        s["planted"] = "from before sign-in"
    before = client.get_cookie("tsunagu_session")
    assert before is not None
    sign_in(client, account)
    after = client.get_cookie("tsunagu_session")
    assert after is not None and after.value != before.value
    with client.session_transaction() as s:
        assert "planted" not in s


def test_a_cookie_replayed_after_sign_out_is_refused(app: Flask, client: FlaskClient) -> None:
    account = add_account(app, "tanaka", "viewer")
    sign_in(client, account)
    stolen = client.get_cookie("tsunagu_session")
    assert stolen is not None
    assert client.get("/").status_code == 200
    assert sign_out(client).status_code == 303
    thief = app.test_client()
    thief.set_cookie("tsunagu_session", stolen.value)
    response = thief.get("/maps/coordinator")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_every_session_ends_on_password_change_and_disable(app: Flask) -> None:
    account = add_account(app, "ito", "viewer")
    first, second = app.test_client(), app.test_client()
    sign_in(first, account)
    sign_in(second, account)
    with app.app_context(), get_db().write() as s:
        accounts.set_password(s, system_actor("test"), "ito", "another long password")
    for client in (first, second):
        assert client.get("/maps/coordinator").status_code == 302
    sign_in(first, account, "another long password")
    with app.app_context(), get_db().write() as s:
        token = accounts.issue_token(s, system_actor("test"), "ito")
        accounts.disable(s, system_actor("test"), "ito")
    assert first.get("/maps/coordinator").status_code == 302
    api = app.test_client().get("/maps/coordinator", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 401
    # and a disabled account cannot sign in again
    again = sign_in(app.test_client(), account, "another long password")
    assert again.status_code == 200  # type: ignore[attr-defined]


def test_api_tokens_are_stored_hashed_and_work_until_revoked(
    app: Flask, client: FlaskClient
) -> None:
    add_account(app, "kato", "viewer")
    with app.app_context(), get_db().write() as s:
        token = accounts.issue_token(s, system_actor("test"), "kato")
    with app.app_context(), get_db().read() as s:
        stored = s.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored and len(stored) == 1 and re.fullmatch(r"[0-9a-f]{64}", stored[0])
    ok = client.get("/", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200 and ok.headers.get("Cache-Control") == "no-store"
    bad = client.get("/maps/coordinator", headers={"Authorization": "Bearer tsu_wrong"})
    assert bad.status_code == 401 and bad.get_json()["error"] == "unauthorized"


def test_idle_sessions_end_after_the_timeout(app: Flask, client: FlaskClient) -> None:
    account = add_account(app, "mori", "viewer")
    with freeze_time("2026-12-01 09:00:00") as clock:
        sign_in(client, account)
        assert client.get("/").headers.get("Cache-Control") == "no-store"
        clock.tick(29 * 60)
        assert client.get("/").headers.get("Cache-Control") == "no-store"  # still signed in
        clock.tick(31 * 60)
        expired = client.get("/maps/coordinator")
        assert expired.status_code == 302 and "expired=1" in expired.headers["Location"]
        page = client.get(expired.headers["Location"]).get_data(as_text=True)
        assert "一定時間操作がなかったため" in page


def test_passwords_are_argon2id_and_rehashed_when_parameters_change(app: Flask) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    accounts.set_hasher(weak)
    account = add_account(app, "abe", "viewer")
    old = _user(app, "abe").password_hash
    assert old.startswith("$argon2id$") and "m=1024,t=1" in old
    accounts.set_hasher(stronger)
    sign_in(app.test_client(), account)
    new = _user(app, "abe").password_hash
    assert new != old and "m=2048,t=2" in new
    assert stronger.verify(new, PASSWORD)


def test_admin_and_tier1_need_a_second_factor(app: Flask) -> None:
    account = add_account(app, "boss", "tier1", totp=True)
    client = app.test_client()
    no_code = client.post(
        "/login", data={"login": "boss", "password": PASSWORD, "csrf_token": csrf_token(client)}
    )
    assert no_code.status_code == 200 and 'name="otp"' in no_code.get_data(as_text=True)
    assert client.get("/maps/coordinator").status_code == 302
    wrong = client.post(
        "/login",
        data={
            "login": "boss",
            "password": PASSWORD,
            "otp": "000000",
            "csrf_token": csrf_token(client),
        },
    )
    assert wrong.status_code == 200 and "確認コードが違います" in wrong.get_data(as_text=True)
    assert account.totp_secret is not None
    assert sign_in(client, account).status_code == 303  # type: ignore[attr-defined]
    assert client.get("/maps/coordinator").status_code == 200


def test_the_first_sign_in_of_an_admin_enrols_a_second_factor_with_a_local_qr_code(
    app: Flask,
) -> None:
    add_account(app, "root1", "admin", totp=False)
    client = app.test_client()
    response = client.post(
        "/login", data={"login": "root1", "password": PASSWORD, "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/login/second-factor"
    page = client.get("/login/second-factor").get_data(as_text=True)
    assert "<svg" in page  # drawn here (segno), no image fetched from anywhere
    secret = re.search(r"<code>([A-Z2-7]+)</code>", page)
    assert secret
    assert client.get("/maps/coordinator").status_code == 302  # not signed in yet
    done = client.post(
        "/login/second-factor",
        data={
            "otp": pyotp.TOTP(secret.group(1)).now(),
            "csrf_token": csrf_token(client, "/login/second-factor"),
        },
    )
    assert done.status_code == 303
    assert client.get("/maps/coordinator").status_code == 200
    assert _user(app, "root1").totp_secret == secret.group(1)


@pytest.mark.parametrize("token", [None, "wrong"])
def test_state_changes_without_a_valid_csrf_token_are_400(
    app: Flask, client: FlaskClient, token: str | None
) -> None:
    add_account(app, "sato", "viewer")
    data = {"login": "sato", "password": PASSWORD}
    if token:
        data["csrf_token"] = token
    response = client.post("/login", data=data)
    assert response.status_code == 400
    assert "もう一度送信してください" in response.get_data(as_text=True)
    assert client.get("/maps/coordinator").status_code == 302  # nobody signed in


def test_a_csrf_token_of_another_session_is_refused(app: Flask) -> None:
    account = add_account(app, "sato", "viewer")
    mine, theirs = app.test_client(), app.test_client()
    sign_in(mine, account)
    foreign = csrf_token(theirs, "/login")
    response = mine.post("/logout", data={"csrf_token": foreign})
    assert response.status_code == 400
    assert mine.get("/").headers.get("Cache-Control") == "no-store"  # still signed in


def test_a_post_from_another_site_is_refused_even_with_a_token(app: Flask) -> None:
    account = add_account(app, "sato", "viewer")
    client = app.test_client()
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={"login": "sato", "password": PASSWORD, "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 400
    same = client.post(
        "/login",
        data={"login": "sato", "password": PASSWORD, "csrf_token": token},
        headers={"Origin": "http://localhost"},
    )
    assert same.status_code == 303
    assert account.login == "sato"
