"""The sign-in limits' counters in the database (web.rate_limits): a fixed window per key
that starts again once it has ended, on both engines."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import Engine

import web.rate_limits
from web.rate_limits import SCHEME, DatabaseStorage


@pytest.fixture
def storage(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> DatabaseStorage:
    clock = [1_000_000.0]
    monkeypatch.setattr(web.rate_limits.time, "time", lambda: clock[0])
    store = DatabaseStorage(f"{SCHEME}://", engine=engine)
    store.clock = clock  # type: ignore[attr-defined]
    return store


def test_a_window_counts_then_starts_again(storage: DatabaseStorage) -> None:
    clock = storage.clock  # type: ignore[attr-defined]
    assert storage.get("sign-in/sato") == 0
    assert [storage.incr("sign-in/sato", 900) for _ in range(3)] == [1, 2, 3]
    assert storage.get("sign-in/sato") == 3
    assert storage.get("sign-in/other") == 0  # keys are apart
    assert storage.get_expiry("sign-in/sato") == clock[0] + 900
    clock[0] += 899
    assert storage.incr("sign-in/sato", 900) == 4  # the same window
    clock[0] += 2
    assert storage.get("sign-in/sato") == 0  # the window ended
    assert storage.incr("sign-in/sato", 900) == 1  # a new one
    assert storage.get_expiry("sign-in/sato") == clock[0] + 900


def test_clear_reset_and_check(storage: DatabaseStorage) -> None:
    storage.incr("a", 60)
    storage.incr("b", 60, amount=2)
    storage.clear("a")
    assert (storage.get("a"), storage.get("b")) == (0, 2)
    assert storage.reset() == 1
    assert storage.get("b") == 0
    assert storage.check()


def test_the_app_counts_in_its_database_unless_told_otherwise(app: Flask) -> None:
    assert app.config["RATELIMIT_STORAGE_URI"] == f"{SCHEME}://"
    assert app.config["RATELIMIT_STORAGE_OPTIONS"]["engine"] is app.extensions["db_engine"]


def test_a_storage_without_an_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="engine"):
        DatabaseStorage(f"{SCHEME}://")


def test_serve_warns_only_when_each_process_counts_alone(app: Flask) -> None:
    from web import create_app
    from web.cli.serve import shared_rate_limits

    assert shared_rate_limits(app)  # the database: every worker counts together
    alone = create_app(
        {"TESTING": True, "DATABASE_URL": app.config["DATABASE_URL"]}
        | {"RATELIMIT_STORAGE_URI": "memory://"}
    )
    assert not shared_rate_limits(alone)
    alone.extensions["db_engine"].dispose()


def test_hits_at_once_are_all_counted(engine: Engine) -> None:
    """Two workers counting the same key at the same moment: none is lost, none fails
    (SQLite takes the write lock at BEGIN; PostgreSQL locks the row)."""
    from concurrent.futures import ThreadPoolExecutor

    store = DatabaseStorage(f"{SCHEME}://", engine=engine)
    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(lambda _: store.incr("sign-in/race", 900), range(40)))
    assert sorted(counts) == list(range(1, 41))
    assert store.get("sign-in/race") == 40


def test_each_app_counts_in_its_own_database(app: Flask, engine: Engine, other_db_url: str) -> None:
    """Flask-Limiter keeps one storage for every app of the process (tests, the command
    line): a failure at this app is counted in this app's database even after another app
    was made (and its engine disposed)."""
    from sqlalchemy import func, select
    from webhelpers import add_account, csrf_token

    from web import create_app
    from web.models import RateLimitCount

    add_account(app, "sato", "viewer")
    client = app.test_client()
    token = csrf_token(client)
    later = create_app({"TESTING": True, "DATABASE_URL": other_db_url})
    later.extensions["db_engine"].dispose()
    failed = client.post("/login", data={"login": "sato", "password": "nope", "csrf_token": token})
    assert failed.status_code == 200
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(RateLimitCount)) == 2  # login, address
