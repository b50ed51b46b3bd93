"""Sign-in, second factor and sign-out (DATA_FORMATS §8: ``/login``, ``/logout``).

A failed sign-in counts against the login and the address; the 11th within 15 minutes
is refused with 429 before the password is even checked (Flask-Limiter, shared through
Redis when configured). Admin and tier-1 accounts need a TOTP code: the first sign-in
enrols one (the QR code is drawn here, offline, by segno).
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

import segno
from flask import Blueprint, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user

from directory.i18n import N_
from directory.models import utcnow
from web import audit
from web.accounts import (
    authenticate,
    end_sessions,
    find_user,
    new_totp_secret,
    provisioning_uri,
    verify_otp,
)
from web.actors import Actor
from web.db import get_db
from web.i18n import _
from web.models import User
from web.security import SignedIn, limiter, public

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

FAILURES_ALLOWED = "10 per 15 minutes"
_MESSAGES = {
    "bad_credentials": N_("Wrong login name or password"),
    "disabled": N_("Wrong login name or password"),  # a disabled account looks the same
    "bad_otp": N_("Wrong verification code. Enter the 6-digit code of the authenticator app"),
    "otp_required": N_("Enter the verification code (6 digits from the authenticator app)"),
}


def _failed(response: Any) -> bool:
    return bool(g.get("sign_in_failed"))


def _login_key() -> str:
    return "login:" + (request.form.get("login") or "").strip().lower()[:64]


def _address_key() -> str:
    return "addr:" + (request.remote_addr or "unknown")


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never another host: no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return url_for("directory.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return url_for("directory.index")
    return target


def _actor_of_attempt(login: str) -> Actor:
    """Who a failed sign-in claimed to be: the login only when such an account exists (a
    password typed into the login field must never reach the audit log)."""
    with get_db().read() as s:
        known = bool(login) and find_user(s, login) is not None
    return Actor(login=login if known else "unknown", role="anonymous")


def _breached(limit: Any) -> None:
    """The 11th failure: logged (address only) and audited."""
    log.warning("sign-in attempts over the limit from %s", request.remote_addr)
    _record(
        _actor_of_attempt((request.form.get("login") or "").strip()),
        "sign_in",
        "denied",
        "rate_limited",
    )


def _record(actor: Actor, action: str, outcome: str, detail: str | None = None) -> None:
    with get_db().write() as s:
        audit.record(s, actor, action, "session", None, outcome, detail)


def _start_session(user: User) -> None:
    """A fresh session for a successful sign-in (nothing from before it survives)."""
    session.clear()
    login_user(SignedIn.of(user))
    session["seen"] = int(time.time())


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(
    FAILURES_ALLOWED,
    key_func=_login_key,
    methods=["POST"],
    deduct_when=_failed,
    scope="sign-in-login",
    on_breach=_breached,
)
@limiter.limit(
    FAILURES_ALLOWED,
    key_func=_address_key,
    methods=["POST"],
    deduct_when=_failed,
    scope="sign-in-address",
    on_breach=_breached,
)
def login() -> ResponseReturnValue:
    """The sign-in form; a wrong password answers 200 with a message."""
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(_safe_next(request.args.get("next")))
        expired = request.args.get("expired") == "1"
        return render_template(
            "auth/login.html",
            next=request.args.get("next", ""),
            message=_("You were signed out after a period without activity") if expired else None,
        )
    login_name = (request.form.get("login") or "").strip()
    password = request.form.get("password") or ""
    otp = (request.form.get("otp") or "").strip() or None
    target = _safe_next(request.form.get("next"))
    with get_db().write() as s:
        outcome = authenticate(s, login_name, password, otp)
        user = outcome.user
        if outcome.outcome == "ok" and user is not None:
            user.last_sign_in_at = utcnow()
            audit.record(s, SignedIn.of(user).actor, "sign_in", "session", None, "ok")
            s.flush()
            _start_session(user)
            return redirect(target, code=303)
    if outcome.outcome == "otp_enrol" and user is not None:
        session.clear()
        session["enrol"] = {"user": user.id, "secret": new_totp_secret(), "next": target}
        return redirect(url_for("auth.enrol"), code=303)
    if outcome.outcome == "otp_required":
        return render_template(
            "auth/login.html",
            next=target,
            login=login_name,
            ask_otp=True,
            message=_(_MESSAGES["otp_required"]),
        )
    g.sign_in_failed = True
    log.warning("sign-in failed from %s", request.remote_addr)
    _record(_actor_of_attempt(login_name), "sign_in", "denied", outcome.outcome)
    return render_template(
        "auth/login.html",
        next=target,
        login=login_name,
        ask_otp=outcome.outcome == "bad_otp",
        message=_(_MESSAGES.get(outcome.outcome, _MESSAGES["bad_credentials"])),
    )


@bp.route("/login/second-factor", methods=["GET", "POST"])
@public
@limiter.limit(
    FAILURES_ALLOWED,
    key_func=_address_key,
    methods=["POST"],
    deduct_when=_failed,
    scope="enrol-address",
)
def enrol() -> ResponseReturnValue:
    """First sign-in of an admin or tier-1 account: set up the authenticator app."""
    pending = session.get("enrol")
    if not isinstance(pending, dict):
        return redirect(url_for("auth.login"))
    with get_db().write() as s:
        user = s.get(User, pending["user"])
        if user is None or user.disabled or user.totp_secret:
            session.clear()
            return redirect(url_for("auth.login"))
        secret = str(pending["secret"])
        message = None
        if request.method == "POST":
            if verify_otp(secret, request.form.get("otp") or ""):
                user.totp_secret = secret
                user.last_sign_in_at = utcnow()
                audit.record(
                    s,
                    SignedIn.of(user).actor,
                    "sign_in",
                    "session",
                    None,
                    "ok",
                    "second_factor_enrolled",
                )
                s.flush()
                target = _safe_next(pending.get("next"))
                _start_session(user)
                return redirect(target, code=303)
            g.sign_in_failed = True
            message = _MESSAGES["bad_otp"]
        uri = provisioning_uri(secret, user.login)
    qr_svg = segno.make(uri, error="m").svg_inline(scale=4)
    return render_template("auth/enrol.html", qr_svg=qr_svg, secret=secret, message=message)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Sign out: every session of this account ends on the server, not just this cookie."""
    if current_user.is_authenticated and not current_user.via_token:
        with get_db().write() as s:
            user = find_user(s, current_user.login)
            if user is not None:
                end_sessions(s, user)
            audit.record(s, current_user.actor, "sign_out", "session", None, "ok")
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"), code=303)
