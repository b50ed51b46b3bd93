"""The Flask application: app factory, blueprints and the ``tsunagu`` command line.

Only ``web`` knows about requests, sessions and users; it imports ``maps``, ``matching``
and ``directory``, never the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from directory.db import database_url


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the web app: defaults → ``instance/config.py`` → ``TSUNAGU_*`` env, or tests'."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY="dev",  # override in instance/config.py or TSUNAGU_SECRET_KEY
        DATABASE_URL=database_url(),
        JSON_AS_ASCII=False,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("TSUNAGU")
    else:
        app.config.update(test_config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    from web import db, errors, maps_views, views

    db.init_app(app)
    errors.init_app(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(maps_views.bp)
    return app
