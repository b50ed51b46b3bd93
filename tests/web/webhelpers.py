"""Accounts for web tests: make users, sign them in through the real §8 form."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from directory.models import District
from web import accounts
from web.actors import system_actor
from web.db import get_db

PASSWORD = "correct horse battery staple"
# Cheap argon2id parameters keep hundreds of sign-ins fast; the production defaults are
# checked by test_accounts (and a parameter change rehashes at sign-in).
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass
class Account:
    login: str
    role: str
    areas: tuple[str, ...]
    totp_secret: str | None = None


def add_account(
    app: Flask, login: str, role: str, areas: tuple[str, ...] = (), *, totp: bool | None = None
) -> Account:
    """Create an account (admin and tier1 get a TOTP secret, as after enrolment)."""
    with app.app_context(), get_db().write() as s:
        user = accounts.add_user(
            s, system_actor("test"), login, role=role, password=PASSWORD, areas=areas
        )
        secret = None
        if totp if totp is not None else role in ("admin", "tier1"):
            secret = user.totp_secret = pyotp.random_base32()
    return Account(login, role, areas, secret)


def area_codes(app: Flask) -> list[str]:
    with app.app_context(), get_db().read() as s:
        return list(
            s.scalars(select(District.code).where(District.level == "area").order_by(District.code))
        )


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(client: FlaskClient, account: Account, password: str = PASSWORD) -> object:
    data = {"login": account.login, "password": password, "csrf_token": csrf_token(client)}
    if account.totp_secret:
        data["otp"] = pyotp.TOTP(account.totp_secret).now()
    return client.post("/login", data=data)


def sign_out(client: FlaskClient) -> object:
    return client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
