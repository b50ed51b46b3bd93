"""Deny by default, sessions that end, CSRF, rate limits and security headers.

* Every request passes :func:`_guard`: a view is reachable without sign-in only when it is
  marked :func:`public` in the code; anything else needs a signed-in user (pages redirect
  to ``/login``, the API answers 401). What a signed-in user may then do is decided by
  the service layer (:mod:`web.services`, :mod:`web.actors`).
* Flask-Login keeps ``"<user id>:<session_version>"`` in the signed cookie; the loader
  refuses a cookie whose version is not the account's current one, so sign-out, a
  password change and disabling the account end every session on the server.
* Sessions also end after ``IDLE_TIMEOUT_MINUTES`` without a request.
* CSRF (Flask-WTF) is checked on every state-changing request made with a cookie; bearer
  token requests carry no cookie and need none.
* Headers: a CSP that allows the app's own origin, the configured map tile servers and
  inline scripts carrying this response's nonce; nosniff; no framing; same-origin referrer.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, abort, g, jsonify, redirect, request, session, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import AnonymousUserMixin, LoginManager, current_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.wrappers import Response as BaseResponse

from web.accounts import actor_for, fresh_account, user_for_token
from web.actors import ANONYMOUS, Actor
from web.db import get_db, request_connection
from web.i18n import _
from web.models import User

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=False)

INSECURE_SECRET_KEYS = frozenset({"dev", "", "changeme", "secret"})
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def public(view: F) -> F:
    """Mark a view as reachable without signing in (everything else is denied)."""
    view._tsunagu_public = True  # type: ignore[attr-defined]
    return view


def is_public(view: Callable[..., Any] | None) -> bool:
    return bool(getattr(view, "_tsunagu_public", False))


def insecure_secret_key(app: Flask) -> bool:
    key = app.config.get("SECRET_KEY")
    return not key or str(key) in INSECURE_SECRET_KEYS or len(str(key)) < 16


@dataclass(frozen=True)
class SignedIn:
    """The signed-in user as Flask-Login sees it (plain data, no ORM session needed)."""

    id: int
    login: str
    display_name: str
    role: str
    session_version: int
    actor: Actor
    via_token: bool = False

    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @classmethod
    def of(cls, user: User, *, via_token: bool = False) -> SignedIn:
        return cls(
            user.id,
            user.login,
            user.display_name,
            user.role,
            user.session_version,
            actor_for(user),
            via_token,
        )


class Anonymous(AnonymousUserMixin):
    actor = ANONYMOUS
    role = "anonymous"
    via_token = False


def current_actor() -> Actor:
    """The actor of this request (anonymous when nobody is signed in)."""
    actor: Actor = current_user.actor if current_user.is_authenticated else ANONYMOUS
    return actor


@login_manager.user_loader
def _load_user(cookie_id: str) -> SignedIn | None:
    try:
        user_id, version = (int(part) for part in cookie_id.split(":"))
    except ValueError:
        return None
    # Read afresh on every request: a disabled account or new areas count at once.
    found = fresh_account(request_connection(get_db().engine), user_id)
    if found is None or found.disabled or found.session_version != version:
        return None
    return SignedIn(
        found.id, found.login, found.display_name, found.role, found.session_version, found.actor
    )


@login_manager.request_loader
def _load_from_token(req: Any) -> SignedIn | None:
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    with get_db().read() as s:
        user = user_for_token(s, header[len("Bearer ") :].strip())
        return SignedIn.of(user, via_token=True) if user is not None else None


def _wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json"


@login_manager.unauthorized_handler
def _unauthorized() -> Response | BaseResponse:
    if _wants_json() or request.headers.get("Authorization"):
        response = jsonify(error="unauthorized", message=_("You need to sign in"))
        response.status_code = 401
        return response
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=target))


def _idle_expired() -> bool:
    """True (and the session cleared) when a cookie session sat idle too long."""
    if "_user_id" not in session:
        return False
    now = int(time.time())
    last = session.get("seen")
    limit = int(_app_config("IDLE_TIMEOUT_MINUTES")) * 60
    if isinstance(last, int) and now - last > limit:
        logout_user()
        session.clear()
        return True
    if last != now:  # an unchanged session is not signed and sent again
        session["seen"] = now
    return False


def _app_config(key: str) -> Any:
    from flask import current_app

    return current_app.config[key]


def _same_origin() -> None:
    """A browser's form post from another site names that site in ``Origin``: refuse it
    (the CSRF token would stop it too; this needs no session)."""
    origin = request.headers.get("Origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.host:
        raise CSRFError("The request came from another site.")


def _guard() -> Response | BaseResponse | None:
    """Deny by default: only views marked :func:`public` are open to anonymous callers."""
    g.csp_nonce = secrets.token_urlsafe(18)
    if request.endpoint is None:
        return None  # no such route: the 404 handler answers
    if _idle_expired():
        if _wants_json():
            abort(401)
        return redirect(url_for("auth.login", next=request.path, expired=1))
    from flask import current_app

    view = current_app.view_functions.get(request.endpoint)
    open_to_all = request.endpoint == "static" or is_public(view)
    if not open_to_all and not current_user.is_authenticated:
        # first, so an API caller without a session learns it must sign in (401), not
        # that a CSRF token is missing (400)
        return login_manager.unauthorized()
    if request.method in STATE_CHANGING and not current_user.via_token:
        _same_origin()
        csrf.protect()
    return None


def _tile_origins(app: Flask) -> list[str]:
    origins = []
    for url in app.config["MAP_TILE_URLS"]:
        parts = urlsplit(url.replace("{s}", "a"))
        origins.append(f"{parts.scheme}://{parts.netloc}")
    return sorted(set(origins))


def _csp(app: Flask) -> tuple[str, str]:
    """The Content-Security-Policy around the nonce (the tile servers are read once)."""
    key = (tuple(app.config["MAP_TILE_URLS"]),)
    cached = app.extensions.get("tsunagu_csp")
    if cached is None or cached[0] != key:
        tiles = " ".join(_tile_origins(app))
        cached = app.extensions["tsunagu_csp"] = (
            key,
            "default-src 'self'; script-src 'self' 'nonce-",
            "'; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data: {tiles}; "
            "font-src 'self' data:; connect-src 'self'; object-src 'none'; "
            "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        )
    return cached[1], cached[2]


def _headers(response: Response) -> Response:
    from flask import current_app

    before, after = _csp(current_app)
    headers = response.headers
    headers["Content-Security-Policy"] = before + g.get("csp_nonce", "") + after
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "same-origin"
    if current_user.is_authenticated:
        headers["Cache-Control"] = "no-store"
    return response


_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(?:nonce|src)=)")


def with_nonce(html: str) -> str:
    """Give every inline ``<script>`` of a generated page (a folium map) this response's
    nonce (scripts with ``src`` come from the app's own origin, which the CSP allows).

    Only markup we generate reaches this: user text in maps is escaped (``<`` never
    survives), so every ``<script`` here is ours.
    """
    nonce = g.get("csp_nonce", "")
    return _INLINE_SCRIPT.sub(f'<script nonce="{nonce}"', html)


def _rate_limit_storage(app: Flask) -> None:
    """Redis when configured; otherwise the application's database, which every worker
    and host shares (:mod:`web.rate_limits`)."""
    from web.rate_limits import SCHEME

    uri = app.config.get("RATELIMIT_STORAGE_URI") or app.config.get("REDIS_URL")
    if not uri:
        uri = f"{SCHEME}://"
        options = dict(app.config.get("RATELIMIT_STORAGE_OPTIONS") or {})
        app.config["RATELIMIT_STORAGE_OPTIONS"] = options | {"engine": app.extensions["db_engine"]}
    app.config["RATELIMIT_STORAGE_URI"] = uri
    # Redis down must not lock everyone out: count in memory until it is back.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)


def _limits_checked_in_views(app: Flask) -> None:
    """Flask-Limiter looks before every request for limits that apply to every view
    (default, application, meta, blueprint or fallback limits). Ours decorate the sign-in
    views, which check them themselves; the look runs only while such a limit exists
    (configured with ``RATELIMIT_DEFAULT`` and the like). Should the library's attributes
    be renamed, ``getattr``'s default keeps the look on every request."""
    check = limiter._check_request_limit
    manager = limiter.limit_manager
    funcs = app.before_request_funcs.setdefault(None, [])
    if check not in funcs:  # pragma: no cover - Flask-Limiter changed how it hooks in
        return

    def _check_rate_limits() -> None:
        if (
            getattr(manager, "_application_limits", True)
            or getattr(manager, "_default_limits", True)
            or getattr(manager, "_blueprint_limits", True)
            or getattr(manager, "_endpoint_hints", True)
            or getattr(limiter, "_meta_limits", True)
            or getattr(limiter, "_in_memory_fallback", True)
        ):
            check()

    funcs[funcs.index(check)] = _check_rate_limits


def init_app(app: Flask) -> None:
    """Sessions, CSRF, limits, the guard and the headers, in that order."""
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # checked in the guard instead
    _rate_limit_storage(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    login_manager.anonymous_user = Anonymous
    csrf.init_app(app)
    limiter.init_app(app)
    _limits_checked_in_views(app)
    app.before_request(_guard)
    app.after_request(_headers)
    # Flask refuses a cookie signed longer ago than this: a backstop behind the idle check
    # (which, unlike it, can tell the user why they were signed out).
    app.permanent_session_lifetime = dt.timedelta(
        minutes=int(app.config["IDLE_TIMEOUT_MINUTES"]) + 24 * 60
    )
