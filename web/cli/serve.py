"""``tsunagu serve``: the web app.

Served by gunicorn (embedded, :class:`Server`): a master process and ``--workers``
worker processes, each answering with ``--threads`` threads (the ``gthread`` worker), so
pages use every core rather than the one a single Python process (its GIL) can.
Every worker inherits the app made for this command and opens its own database
connections (:func:`_reopen_database`); its in-memory caches (search index, matcher
snapshot) are its own and follow the database's change counter like any other reader.
SIGTERM stops it gracefully: workers finish the requests they have, then exit.

``--debug`` keeps werkzeug's development server in one process (reloader, debugger).
"""

from __future__ import annotations

import os
import socket
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from gunicorn.app.base import BaseApplication
from werkzeug.serving import run_simple

from web.cli._common import _, fail, lang_option
from web.security import insecure_secret_key

DEFAULT_THREADS = 3  # per worker: 20 clients on 2 cores, p95 100–150 ms (4: 130–235 ms)
KEEPALIVE_SECONDS = 75  # an idle connection stays open this long for its next request (nginx: 75)
GRACEFUL_SECONDS = 5  # on SIGTERM, how long requests in progress may take to finish


def default_workers() -> int:
    """One worker per core this process may run on, at least two."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(2, cores)


class Server(BaseApplication):
    """gunicorn serving an app already made (gunicorn's "custom application")."""

    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def _reopen_database(app: Flask) -> Any:
    """gunicorn's ``post_fork`` hook: the worker drops the connection pool it inherited
    from the master, without closing the master's connections, and opens its own
    (SQLAlchemy, "Using Connection Pools with Multiprocessing or os.fork()")."""

    def post_fork(_server: Any, _worker: Any) -> None:
        app.extensions["db_engine"].dispose(close=False)

    return post_fork


def _warm_up(app: Flask) -> Any:
    """gunicorn's ``post_worker_init`` hook: each worker builds its search index and
    matcher snapshot in the background as it starts (:mod:`web.warm`), not on its first
    pages."""

    def post_worker_init(_worker: Any) -> None:
        from web import warm

        warm.start(app)

    return post_worker_init


def port_free(host: str, port: int) -> bool:
    """Whether ``host:port`` can be listened on. Asked first because the workers listen
    with SO_REUSEPORT, which would let a second server share the port in silence."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # as the workers do: connections of a server stopped a moment ago (TIME_WAIT) do
        # not hold the port, another server listening on it does
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def compile_templates(app: Flask) -> int:
    """Compile every page template once, before the workers fork: they inherit them
    instead of each compiling its own on its first pages. Returns how many."""
    names = app.jinja_env.list_templates(extensions=("html",))
    for name in names:
        app.jinja_env.get_template(name)
    return len(names)


def shared_rate_limits(app: Flask) -> bool:
    """Whether the rate limits are counted in one store for every worker (the database,
    the default, or Redis), not in each process's memory (``memory://``, set by hand)."""
    uri = str(app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    return not uri.startswith("memory://")


def options(app: Flask, host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    """gunicorn's settings for ``tsunagu serve``."""
    address = f"[{host}]" if ":" in host else host
    return {
        "bind": [f"{address}:{port}"],
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "keepalive": KEEPALIVE_SECONDS,
        # each worker listens on a socket of its own and the kernel spreads new
        # connections over them; on one shared socket whichever worker wakes first takes
        # them all (19 of 20 kept-alive clients on one worker, one core idle: measured)
        "reuse_port": True,
        "graceful_timeout": GRACEFUL_SECONDS,
        "accesslog": None,  # no access log: paths name need ids
        "errorlog": "-",  # errors and start/stop lines on stderr
        "proc_name": "tsunagu",
        "control_socket_disable": True,  # no gunicornc socket in the user's home
        "post_fork": _reopen_database(app),
        "post_worker_init": _warm_up(app),
    }


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=default_workers,
    envvar="TSUNAGU_WORKERS",
    help="Worker processes (default: one per CPU core, at least 2).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=DEFAULT_THREADS,
    show_default=True,
    envvar="TSUNAGU_THREADS",
    help="Threads per worker process.",
)
@click.option("--debug", is_flag=True, help="For development (automatic reload, detailed errors).")
@lang_option
@with_appcontext
def serve(host: str, port: int, workers: int, threads: int, debug: bool) -> None:
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
    if debug:
        run_simple(host, port, app, use_reloader=True, use_debugger=True, threaded=True)
        return
    if workers > 1 and not shared_rate_limits(app):
        click.echo(
            _(
                "Warning: each of the {workers} worker processes counts sign-in attempts "
                "on its own (up to {workers} times the limit); set RATELIMIT_STORAGE_URI "
                "(or REDIS_URL), e.g. redis://127.0.0.1:6379/0, to count them together",
                workers=workers,
            ),
            err=True,
        )
    if not port_free(host, port):
        fail(
            _(
                "Port {port} on {host} is already in use (another tsunagu serve?): stop "
                "it or choose another port with --port",
                port=port,
                host=host,
            ),
            code=2,
        )
    compile_templates(app)
    Server(app, options(app, host, port, workers, threads)).run()


COMMANDS = (serve,)
