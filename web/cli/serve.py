"""``tsunagu serve``: the web app."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.serving import run_simple

from web.cli._common import _, fail, lang_option
from web.security import insecure_secret_key


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--debug", is_flag=True, help="For development (automatic reload, detailed errors).")
@lang_option
@with_appcontext
def serve(host: str, port: int, debug: bool) -> None:
    """Start the web app."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not debug and insecure_secret_key(app):
        fail(
            _(
                "SECRET_KEY is not set: put SECRET_KEY in instance/config.py or set "
                "TSUNAGU_SECRET_KEY (make run makes one)"
            ),
            code=2,
        )
    app.debug = debug
    run_simple(host, port, app, use_reloader=debug, use_debugger=debug, threaded=True)


COMMANDS = (serve,)
