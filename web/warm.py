"""Warming a server process up: what its first pages would otherwise wait for.

A worker process starts with nothing in memory: the search index (10 s at 150,000
resources) and the matcher's snapshot of the directory are built by the first search and
the first need page, which then take seconds. :func:`start` builds both in a background
thread as soon as the process can serve (``tsunagu serve`` calls it in every worker, and
the first request of any other server does). Never in tests.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

log = logging.getLogger(__name__)

_FLAG = "tsunagu_warm_up"


def warm_up(app: Flask) -> None:
    """Build this process's search index and matcher snapshot (for today, in Japan)."""
    from directory.fiscal import today_in_japan
    from web.db import get_db
    from web.search import index_cache

    with app.app_context():
        db = get_db()
        db.require_current()
        with db.read() as session:
            index_cache(db).get(session)
        with db.read() as session:
            db.snapshots.get(session, today_in_japan())


def start(app: Flask) -> None:
    """:func:`warm_up` in a background thread, once per process; a failure is logged by
    its kind only (the first search or need page then builds, and reports, instead)."""
    if app.testing or not app.config.get("SEARCH_WARM_UP", True):
        return
    if app.extensions.setdefault(_FLAG, False):
        return
    app.extensions[_FLAG] = True

    def run() -> None:
        try:
            warm_up(app)
        except Exception as exc:
            log.warning("warm-up failed: %s", type(exc).__name__)

    threading.Thread(target=run, name="tsunagu-warm-up", daemon=True).start()
