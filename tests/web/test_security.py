"""Headers, cookies, secrets, rate limits and read-only commands (issue 10 points 1, 3, 5)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, Request, build_opener

import pytest
from flask import Flask
from sqlalchemy import Engine, select, text
from webhelpers import PASSWORD, add_account, csrf_token, sign_in

from directory.db import transaction
from directory.demo import SEEDS_DIR, demo_manifest, load_demo
from web import InsecureConfigError, create_app
from web.db import get_db
from web.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]


def test_csp_allows_only_our_origin_and_the_tile_servers(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    csp = client.get("/").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert re.fullmatch(r"'self' 'nonce-[A-Za-z0-9_-]{20,}'", directives["script-src"])
    assert directives["frame-ancestors"] == "'none'"
    hosts = set(directives["img-src"].split()) - {"'self'", "data:"}
    assert hosts == {"https://cyberjapandata.gsi.go.jp", "https://tile.openstreetmap.org"}


def test_every_inline_script_of_a_map_page_carries_this_responses_nonce(
    engine: Engine, app: Flask, client
) -> None:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        load_demo(s)
    first = client.get("/maps/resident?area=04445-A1")
    second = client.get("/maps/resident?area=04445-A1")
    nonces = []
    for response in (first, second):
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])
        assert nonce
        nonces.append(nonce.group(1))
        page = response.get_data(as_text=True)
        inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page)
        assert inline and all(f'nonce="{nonce.group(1)}"' in attrs for attrs in inline)
    assert nonces[0] != nonces[1]


def test_headers_on_errors_too(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    for response in (client.get("/nowhere"), client.post("/login")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("https", [False, True])
def test_session_cookie_flags(engine: Engine, db_url: str, https: bool) -> None:
    app = create_app(
        {"TESTING": True, "DATABASE_URL": db_url, "HTTPS": https, "SECRET_KEY": "x" * 32}
    )
    try:
        client = app.test_client()
        client.get("/login")
        cookie = client.get_cookie("tsunagu_session")
        assert cookie is not None
        assert cookie.http_only and cookie.same_site == "Lax"
        assert cookie.secure is https
    finally:
        app.extensions["db_engine"].dispose()


def test_the_app_refuses_the_placeholder_secret_key_outside_tests(db_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("TSUNAGU_SECRET_KEY", raising=False)
    monkeypatch.setenv("TSUNAGU_INSTANCE", "/nonexistent-tsunagu-instance")
    with pytest.raises(InsecureConfigError, match="SECRET_KEY"):
        create_app({"SECRET_KEY": "dev", "DATABASE_URL": db_url})
    ok = create_app({"SECRET_KEY": "a" * 40, "DATABASE_URL": db_url})
    ok.extensions["db_engine"].dispose()


def test_serve_refuses_without_a_secret_key(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("serve", "--port", "1", env={"TSUNAGU_SECRET_KEY": "dev"})
    assert result.exit_code == 2 and "SECRET_KEY" in result.stderr


def test_the_11th_failed_sign_in_for_one_login_is_429(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    account = add_account(app, "sato", "viewer")
    token = csrf_token(client)
    for _ in range(10):
        bad = client.post(
            "/login", data={"login": "sato", "password": "wrong password!", "csrf_token": token}
        )
        assert bad.status_code == 200
    refused = client.post(
        "/login", data={"login": "sato", "password": PASSWORD, "csrf_token": token}
    )
    assert refused.status_code == 429
    assert "試行回数が多すぎます" in refused.get_data(as_text=True)
    with app.app_context(), get_db().read() as s:
        events = s.execute(
            select(AuditEvent.actor, AuditEvent.outcome, AuditEvent.detail).where(
                AuditEvent.action == "sign_in"
            )
        ).all()
    assert events.count(("sato", "denied", "bad_credentials")) == 10
    assert ("sato", "denied", "rate_limited") in events
    # another login from another address is not affected
    other = app.test_client()
    add_account(app, "kato", "viewer")
    ok = other.post(
        "/login",
        data={"login": "kato", "password": PASSWORD, "csrf_token": csrf_token(other)},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    assert ok.status_code == 303
    assert account.login == "sato"


def test_a_password_typed_as_the_login_never_reaches_the_audit_log(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    client.post(
        "/login",
        data={"login": "MySecretPassw0rd", "password": "x" * 12, "csrf_token": csrf_token(client)},
    )
    with app.app_context(), get_db().read() as s:
        actors = s.scalars(select(AuditEvent.actor)).all()
    assert actors == ["unknown"]


def test_successful_sign_ins_do_not_count(app: Flask) -> None:
    account = add_account(app, "sato", "viewer")
    for _ in range(12):
        client = app.test_client()
        assert sign_in(client, account).status_code == 303  # type: ignore[attr-defined]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.parametrize("store", ["database", "redis"])
def test_two_app_processes_count_failures_together(
    engine: Engine, db_url: str, app: Flask, tmp_path: Path, store: str
) -> None:
    """The limit holds across workers and hosts: failures at two processes add up, in the
    database they share (the default) or in Redis."""
    env = os.environ | {
        "DATABASE_URL": db_url,
        "TSUNAGU_SECRET_KEY": "s" * 40,
        "TSUNAGU_INSTANCE": str(tmp_path),
    }
    env.pop("TSUNAGU_RATELIMIT_STORAGE_URI", None)
    env.pop("TSUNAGU_REDIS_URL", None)
    if store == "redis":
        if not _redis_up():
            if os.environ.get("TSUNAGU_REQUIRE_REDIS"):  # .ci/run sets it: CI must test this
                pytest.fail("Redis is not running at 127.0.0.1:6379")
            pytest.skip("Redis is not running at 127.0.0.1:6379")
        env |= {
            "TSUNAGU_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
            "TSUNAGU_RATELIMIT_KEY_PREFIX": f"tsunagu-test-{uuid.uuid4().hex}",
        }
    add_account(app, "sato", "viewer")
    ports = [_free_port(), _free_port()]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "web.cli", "serve", "--port", str(p)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for p in ports
    ]
    try:
        for port, proc in zip(ports, procs, strict=True):
            _wait_for(port, proc)
        jar = CookieJar()
        opener = build_opener(HTTPCookieProcessor(jar))
        statuses = []
        for i in range(11):
            base = f"http://127.0.0.1:{ports[i % 2]}"
            page = opener.open(f"{base}/login").read().decode()
            token = re.search(r'name="csrf_token" value="([^"]+)"', page)
            assert token
            body = urlencode(
                {"login": "sato", "password": "wrong password!", "csrf_token": token.group(1)}
            ).encode()
            try:
                statuses.append(opener.open(Request(f"{base}/login", data=body)).status)
            except HTTPError as exc:
                statuses.append(exc.code)
        assert statuses == [200] * 10 + [429]
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
            if p.stderr:
                p.stderr.close()


def _wait_for(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90  # a busy machine takes a while to start a server
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise AssertionError(f"the app exited: {err[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"the app did not start on port {port}")


def test_read_only_commands_work_while_another_process_holds_the_write_lock(
    cli, engine: Engine, tmp_path: Path
) -> None:
    """unmet and map unmet never open a write transaction (they used to, and failed)."""
    assert cli("demo", "load").exit_code == 0
    if engine.dialect.name != "sqlite":
        pytest.skip("the write lock that blocks readers' upgrades is SQLite's")
    holder = engine.execution_options(tsunagu_write=True).connect()  # BEGIN IMMEDIATE
    holder.execute(text("UPDATE directory_state SET version = version"))
    try:
        done: dict[str, object] = {}

        def run() -> None:
            done["unmet"] = cli("unmet", "--json", "--on", "2026-12-01")
            done["map"] = cli("map", "unmet", "-o", tmp_path / "u.html", "--on", "2026-12-01")

        worker = threading.Thread(target=run)
        started = time.monotonic()
        worker.start()
        worker.join(60)
        assert not worker.is_alive()
        assert time.monotonic() - started < 25  # no wait for the lock (busy timeout is 30 s)
    finally:
        holder.rollback()
        holder.close()
    unmet = done["unmet"]
    assert unmet.exit_code == 0 and json.loads(unmet.stdout)  # type: ignore[attr-defined]
    assert done["map"].exit_code == 0  # type: ignore[attr-defined]
    assert SEEDS_DIR and demo_manifest()
