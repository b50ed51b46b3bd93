"""Accounts: passwords (argon2id), second factors (TOTP), API tokens, sessions that end.

Used by the sign-in pages and ``tsunagu user …`` alike. Passwords are hashed with
argon2-cffi's argon2id and rehashed at sign-in when the parameters change. API tokens are
random and stored as SHA-256 only. Ending a user's sessions means bumping
``session_version`` (see :mod:`web.models`); tokens end by being revoked.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Dialect, Engine, bindparam, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.compiler import SQLCompiler

from directory.i18n import N_, LocalisedError
from directory.models import District, utcnow
from web import audit
from web.actors import Actor
from web.models import ROLES, SECOND_FACTOR_ROLES, ApiToken, User, user_area

LOGIN_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; a cap stops a megabyte "password"
TOKEN_PREFIX = "tsu_"

_hasher = PasswordHasher()
# A hash to verify against when the login does not exist, so a wrong login costs the same
# time as a wrong password (no account enumeration by timing).
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class AccountError(LocalisedError, ValueError):
    """A request about accounts that cannot be done; the message says what to fix
    (a catalogue msgid: ``str()`` is Japanese, ``describe(lang)`` any language)."""


def set_hasher(hasher: PasswordHasher) -> None:
    """Use other argon2 parameters (tests use cheap ones; production keeps the defaults)."""
    global _hasher, _DUMMY_HASH
    _hasher = hasher
    _DUMMY_HASH = hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            N_("The password must have at least {n} characters"), n=MIN_PASSWORD_LENGTH
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(
            N_("The password must have at most {n} characters"), n=MAX_PASSWORD_LENGTH
        )


def actor_for(user: User) -> Actor:
    """The actor a signed-in user acts as (role and areas read from the database)."""
    return Actor(
        login=user.login,
        role=user.role,
        user_id=user.id,
        area_ids=frozenset(a.id for a in user.areas),
        area_codes=tuple(a.code for a in user.areas),
    )


@dataclass(frozen=True)
class Account:
    """What each request needs to know of its signed-in user, read in one query (the
    ORM's ``User`` would also load every area's boundary)."""

    id: int
    login: str
    display_name: str
    role: str
    disabled: bool
    session_version: int
    actor: Actor


# Built once: each signed-in request runs it, and building a statement (and its cache key)
# costs more than running it.
_ACCOUNT = (
    select(
        User.id,
        User.login,
        User.display_name,
        User.role,
        User.disabled,
        User.session_version,
        District.id,
        District.code,
    )
    .outerjoin(user_area, user_area.c.user_id == User.id)
    .outerjoin(District, District.id == user_area.c.district_id)
    .where(User.id == bindparam("user_id"))
    .order_by(District.code)
)


def account(session: Session | Connection, user_id: int) -> Account | None:
    """The account ``user_id`` with its areas' ids and codes, or None (read in ``session``,
    or in a plain connection, which costs less than opening an ORM session)."""
    return _account_of(session.execute(_ACCOUNT, {"user_id": user_id}).all())


@lru_cache(maxsize=8)
def _account_sql(dialect: Dialect) -> SQLCompiler:
    compiled = _ACCOUNT.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    return compiled


def fresh_account(bind: Engine | Connection, user_id: int) -> Account | None:
    """:func:`account` read on a DB-API connection (what each signed-in request does,
    so that a disabled account or a new role counts from the next request): the statement
    compiled once per dialect and run as one query, without SQLAlchemy's connection, its
    ``BEGIN`` and result objects, which cost three times the query itself.

    ``bind`` is the request's read connection (:func:`web.db.request_connection`, not in
    a transaction: autocommit, so one round trip) or, outside a request, the engine (a
    connection from its pool)."""
    compiled = _account_sql(bind.dialect)
    params: dict[str, Any] = dict(compiled.construct_params({"user_id": user_id}) or {})
    args: Any = (
        tuple(params[name] for name in compiled.positiontup or ())
        if compiled.positional
        else params
    )
    dbapi = bind.connection if isinstance(bind, Connection) else bind.raw_connection()
    try:
        cursor = dbapi.cursor()
        try:
            cursor.execute(compiled.string, args)
            rows = cursor.fetchall()
        finally:
            cursor.close()
    finally:
        if not isinstance(bind, Connection):
            dbapi.close()  # back to the pool, rolled back
    return _account_of(rows)


def _account_of(rows: Sequence[Any]) -> Account | None:
    if not rows:
        return None
    first = rows[0]
    areas = [(r[6], r[7]) for r in rows if r[6] is not None]
    actor = Actor(
        login=first[1],
        role=first[3],
        user_id=first[0],
        area_ids=frozenset(a for a, _code in areas),
        area_codes=tuple(code for _a, code in areas),
    )
    return Account(first[0], first[1], first[2], first[3], bool(first[4]), first[5], actor)


def find_user(session: Session, login: str) -> User | None:
    return session.scalar(select(User).where(User.login == login).options(selectinload(User.areas)))


def _areas(session: Session, codes: Sequence[str]) -> list[District]:
    found = {d.code: d for d in session.scalars(select(District).where(District.code.in_(codes)))}
    missing = [c for c in codes if c not in found]
    if missing:
        raise AccountError(N_("District codes not registered: {codes}"), codes=", ".join(missing))
    not_area = [c for c in codes if found[c].level != "area"]
    if not_area:
        raise AccountError(
            N_("Areas must be daily-living areas (districts of level area): {codes}"),
            codes=", ".join(not_area),
        )
    return [found[c] for c in codes]


def add_user(
    session: Session,
    by: Actor,
    login: str,
    *,
    role: str,
    password: str,
    areas: Sequence[str] = (),
    display_name: str | None = None,
) -> User:
    """Create an account. tier2 needs at least one area; the others reach everything."""
    if not LOGIN_PATTERN.match(login):
        raise AccountError(
            N_("A login name is up to 64 characters: ASCII letters, digits and . _ @ -")
        )
    if role not in ROLES:
        raise AccountError(N_("The role must be one of {roles}"), roles=" / ".join(ROLES))
    if role == "tier2" and not areas:
        raise AccountError(N_("A tier-2 account (tier2) needs at least one area: give --area"))
    if role != "tier2" and areas:
        raise AccountError(N_("--area can only be given for a tier-2 (tier2) account"))
    check_password_rules(password)
    if find_user(session, login) is not None:
        raise AccountError(N_("The login name {login} is already taken"), login=login)
    user = User(
        login=login,
        display_name=display_name or login,
        role=role,
        password_hash=hash_password(password),
        areas=_areas(session, areas),
        disabled=False,
        session_version=1,
    )
    session.add(user)
    session.flush()
    audit.record(session, by, "user_add", "user", login, detail=f"role={role}")
    return user


def set_password(session: Session, by: Actor, login: str, password: str) -> None:
    """Change a password; every live session and token of the account ends."""
    user = _existing(session, login)
    check_password_rules(password)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    _end_sessions(session, user)
    audit.record(session, by, "user_passwd", "user", login)


def disable(session: Session, by: Actor, login: str) -> None:
    """Disable an account: its sessions and tokens end at once."""
    user = _existing(session, login)
    user.disabled = True
    _end_sessions(session, user)
    audit.record(session, by, "user_disable", "user", login)


def _existing(session: Session, login: str) -> User:
    user = find_user(session, login)
    if user is None:
        raise AccountError(N_("There is no account with the login name {login}"), login=login)
    return user


def _end_sessions(session: Session, user: User) -> None:
    user.session_version += 1
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    session.flush()


def end_sessions(session: Session, user: User) -> None:
    """Sign-out: every session of this account ends on the server (and its tokens too)."""
    user.session_version += 1
    session.flush()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, by: Actor, login: str) -> str:
    """A new API token for ``login``; shown once, stored hashed."""
    user = _existing(session, login)
    if user.disabled:
        raise AccountError(N_("The account {login} is disabled"), login=login)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token)))
    audit.record(session, by, "token_issue", "user", login)
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The live account behind a bearer token, or None (unknown, revoked, disabled)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        return None
    return user


@dataclass(frozen=True)
class SignIn:
    """The outcome of checking a password (and a code): who, or why not."""

    user: User | None
    outcome: str  # ok | bad_credentials | otp_required | otp_enrol | bad_otp | disabled


def authenticate(session: Session, login: str, password: str, otp: str | None) -> SignIn:
    """Check a sign-in; rehash the password when argon2's parameters changed."""
    user = find_user(session, login) if LOGIN_PATTERN.match(login) else None
    if len(password) > MAX_PASSWORD_LENGTH:
        return SignIn(None, "bad_credentials")
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return SignIn(None, "bad_credentials")
    if user is None:
        return SignIn(None, "bad_credentials")
    if user.disabled:
        return SignIn(None, "disabled")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    if user.totp_secret:
        if not otp:
            return SignIn(user, "otp_required")
        if not verify_otp(user.totp_secret, otp):
            return SignIn(None, "bad_otp")
    elif user.role in SECOND_FACTOR_ROLES:
        return SignIn(user, "otp_enrol")
    return SignIn(user, "ok")


def new_totp_secret() -> str:
    return pyotp.random_base32()


def verify_otp(secret: str, code: str) -> bool:
    code = re.sub(r"\s", "", code)
    return bool(re.fullmatch(r"\d{6}", code)) and pyotp.TOTP(secret).verify(code, valid_window=1)


def provisioning_uri(secret: str, login: str, issuer: str = "Tsunagu") -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name=issuer)


def list_users(session: Session) -> Iterable[User]:
    return session.scalars(select(User).options(selectinload(User.areas)).order_by(User.login))
