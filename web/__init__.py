"""The Flask application: app factory, blueprints and the ``tsunagu`` command line.

Only ``web`` knows about requests, sessions and users; it imports ``maps``, ``matching``
and ``directory``, never the other way round. Pages, the CLI (:mod:`web.cli`, run inside
this factory) and later the API call one service layer (:mod:`web.services`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from directory.db import database_url, instance_dir
from directory.i18n import N_, LocalisedError

DEFAULT_RETENTION_DAYS = 5 * 365 + 1  # SECURITY_NOTES: no rule fixes it; 5 years by default


class InsecureConfigError(LocalisedError, RuntimeError):
    """The app would serve with a guessable SECRET_KEY: ``str()`` is Japanese,
    ``describe(lang)`` any language (``tsunagu serve --lang en`` shows English)."""

    def __init__(
        self,
        msgid: str = N_(
            "SECRET_KEY is not set. Write a SECRET_KEY into instance/config.py or set the "
            "environment variable TSUNAGU_SECRET_KEY (make run writes one for you)."
        ),
        /,
        **params: Any,
    ) -> None:
        super().__init__(msgid, **params)


def _tile_urls() -> list[str]:
    from maps import DEFAULT_TILES

    return [t.url for t in DEFAULT_TILES]


def create_app(test_config: Mapping[str, Any] | None = None, *, for_cli: bool = False) -> Flask:
    """Create the web app: defaults → ``instance/config.py`` → ``TSUNAGU_*`` env, or tests'.

    Outside tests and debug the app refuses to serve with the placeholder ``SECRET_KEY``
    (``make run`` writes a random one into ``instance/config.py`` once). The CLI
    (``for_cli``) has no sessions to sign, so it runs without one; ``serve`` checks.
    """
    # One instance folder for the SQLite file, config.py and the secret key.
    app = Flask(__name__, instance_path=str(instance_dir()), instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY="dev",  # placeholder: refused when serving (see above)
        DATABASE_URL=database_url(),
        JSON_AS_ASCII=False,
        IDLE_TIMEOUT_MINUTES=30,
        HTTPS=False,  # True behind TLS: cookies get the Secure flag
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="tsunagu_session",
        AUDIT_RETENTION_DAYS=DEFAULT_RETENTION_DAYS,
        MAP_TILE_URLS=_tile_urls(),
        MAX_CONTENT_LENGTH=32 * 1024 * 1024,
        RATELIMIT_STORAGE_URI=None,  # e.g. redis://127.0.0.1:6379/0 when several workers run
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("TSUNAGU")
    else:
        app.config.update(test_config)
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config["HTTPS"])
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    from web import auth, db, directory_views, errors, i18n, maps_views, preferences, security

    if not (for_cli or app.testing or app.debug) and security.insecure_secret_key(app):
        raise InsecureConfigError()
    db.init_app(app)
    i18n.init_app(app)
    preferences.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    for blueprint in (auth.bp, directory_views.bp, maps_views.bp):
        app.register_blueprint(blueprint)
    from web import api_needs, needs_views

    for blueprint in (needs_views.bp, api_needs.bp):
        app.register_blueprint(blueprint)
    from web import api, resources_views

    for blueprint in (resources_views.bp, api.bp):
        app.register_blueprint(blueprint)
    from web import api_unmet, public_views, unmet_views

    for blueprint in (unmet_views.bp, public_views.bp, api_unmet.bp):
        app.register_blueprint(blueprint)
    from web import duplicates_views, reports_views, verification_views

    app.register_blueprint(reports_views.bp)
    app.register_blueprint(verification_views.bp)
    app.register_blueprint(duplicates_views.bp)
    return app
