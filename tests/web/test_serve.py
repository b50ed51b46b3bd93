"""``tsunagu serve`` (issue 12 point 9): gunicorn with several worker processes, each
with its own database connections; SIGTERM stops it; a guessable SECRET_KEY still
refuses to start; ``--debug`` is werkzeug's development server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine

from web.cli import serve as serve_module

ROOT = Path(__file__).resolve().parents[2]
STARTUP_LIMIT = 120.0  # a hang guard on a busy machine, not a speed requirement
SECRET = "s" * 40


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(db_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a server: none of the developer's TSUNAGU_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGU_")}
    env.pop("REDIS_URL", None)
    return (
        env
        | {
            "DATABASE_URL": db_url,
            "TSUNAGU_INSTANCE": str(tmp_path / "instance"),
            "LANG": "ja_JP.UTF-8",
        }
        | extra
    )


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "web.cli", "serve", *args]


def _children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (from /proc: no psutil)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid …": comm may hold spaces and parentheses
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def _listening(pid: int, port: int) -> set[int]:
    """The inodes of the sockets ``pid`` holds that listen on ``port`` (from /proc)."""
    listening = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                listening.add(int(fields[9]))
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            held.add(int(target[8:-1]))
    return listening & held


def _get(port: int, path: str) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
        status: int = response.status
        return status


@contextmanager
def _server(
    env: dict[str, str], log: Path, *args: str
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = _free_port()
    with log.open("wb") as err:
        proc = subprocess.Popen(
            _command("--host", "127.0.0.1", "--port", str(port), *args),
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + STARTUP_LIMIT
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"the server exited: {log.read_text()[-2000:]}")
            try:
                if _get(port, "/login") == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the server did not answer: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_runs_worker_processes_and_stops_on_sigterm(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    env = _env(db_url, tmp_path, TSUNAGU_SECRET_KEY=SECRET)
    with _server(env, log, "--workers", "2", "--threads", "2") as (proc, port):
        deadline = time.monotonic() + STARTUP_LIMIT
        while len(workers := _children(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(workers) == 2 and proc.pid not in workers
        # each worker listens on a socket of its own (SO_REUSEPORT): the kernel spreads
        # connections over them, instead of the first worker awake taking them all
        deadline = time.monotonic() + STARTUP_LIMIT
        while not all(_listening(w, port) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        sockets = [_listening(w, port) for w in workers]
        assert all(len(own) == 1 for own in sockets) and sockets[0] != sockets[1]
        # twenty requests at once, on both workers' threads: every one answered
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: _get(port, "/login"), range(20)))
        assert statuses == [200] * 20
        assert _children(proc.pid) == workers  # no worker died and was replaced
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=serve_module.GRACEFUL_SECONDS + 30) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
    text = log.read_text(encoding="utf-8")
    # the sign-in limits are counted in the database every worker shares: no warning
    assert "ワーカープロセスがそれぞれ別に数えます" not in text
    assert "Traceback" not in text
    assert "GET /login" not in text  # no access log: paths name need ids


def test_serve_refuses_a_missing_secret_key(db_url: str, engine: Engine, tmp_path: Path) -> None:
    env = _env(db_url, tmp_path)
    out = subprocess.run(
        _command("--workers", "2", "--port", str(_free_port())),
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=STARTUP_LIMIT,
        check=False,
    )
    assert out.returncode == 2
    assert out.stderr.startswith("SECRET_KEY が設定されていません。"), out.stderr


@pytest.fixture
def served_with(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Flask, dict[str, Any]]]:
    """``Server.run`` replaced: what ``serve`` would give gunicorn, without serving."""
    calls: list[tuple[Flask, dict[str, Any]]] = []

    def run(self: serve_module.Server) -> None:
        calls.append((self.application, self.options))

    monkeypatch.setattr(serve_module.Server, "run", run)
    return calls


def test_serve_gives_gunicorn_threads_keepalive_and_no_access_log(
    cli: Any, engine: Engine, tmp_path: Path, served_with: list[tuple[Flask, dict[str, Any]]]
) -> None:
    env = {"TSUNAGU_SECRET_KEY": SECRET, "TSUNAGU_INSTANCE": str(tmp_path)}
    # limits counted in each process's memory (set by hand): the warning names the workers
    env |= {"TSUNAGU_RATELIMIT_STORAGE_URI": "memory://"}
    result = cli("serve", "--workers", "3", "--threads", "5", "--port", "5123", env=env)
    assert result.exit_code == 0, result.stderr
    (app, options) = served_with[0]
    assert options["bind"] == ["127.0.0.1:5123"]
    assert (options["workers"], options["threads"]) == (3, 5)
    assert options["worker_class"] == "gthread"
    assert options["keepalive"] > 0 and options["accesslog"] is None
    assert options["reuse_port"] is True
    assert "3 個のワーカープロセス" in result.stderr
    # each worker drops the pool inherited from the master and opens its own
    engine_ = app.extensions["db_engine"]
    inherited = engine_.pool
    options["post_fork"](None, None)
    assert engine_.pool is not inherited


def test_serve_defaults_to_one_worker_per_core_at_least_two(
    cli: Any, engine: Engine, tmp_path: Path, served_with: list[tuple[Flask, dict[str, Any]]]
) -> None:
    env = {"TSUNAGU_SECRET_KEY": SECRET, "TSUNAGU_INSTANCE": str(tmp_path)}
    assert cli("serve", "--lang", "en", env=env).exit_code == 0
    assert served_with[0][1]["workers"] == max(2, len(os.sched_getaffinity(0)))


def test_one_worker_or_a_shared_store_needs_no_warning(
    cli: Any, engine: Engine, tmp_path: Path, served_with: list[tuple[Flask, dict[str, Any]]]
) -> None:
    env = {"TSUNAGU_SECRET_KEY": SECRET, "TSUNAGU_INSTANCE": str(tmp_path)}
    alone = env | {"TSUNAGU_RATELIMIT_STORAGE_URI": "memory://"}
    assert "ワーカー" not in cli("serve", "--workers", "1", env=alone).stderr
    shared = env | {"TSUNAGU_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}
    assert "ワーカー" not in cli("serve", "--workers", "2", env=shared).stderr
    assert "ワーカー" not in cli("serve", "--workers", "2", env=env).stderr  # the database
    assert len(served_with) == 3


def test_debug_is_werkzeugs_server_in_one_process(
    cli: Any,
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    served_with: list[tuple[Flask, dict[str, Any]]],
) -> None:
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(serve_module, "run_simple", lambda *a, **kw: calls.append((a, kw)))
    # no SECRET_KEY needed for development, as before
    result = cli("serve", "--debug", "--port", "5124", env={"TSUNAGU_INSTANCE": str(tmp_path)})
    assert result.exit_code == 0, result.stderr
    ((args, kwargs),) = calls
    assert args[:2] == ("127.0.0.1", 5124) and args[2].debug
    assert kwargs == {"use_reloader": True, "use_debugger": True, "threaded": True}
    assert served_with == []


def test_workers_start_warm_with_templates_compiled_before_the_fork(
    cli: Any,
    engine: Engine,
    tmp_path: Path,
    served_with: list[tuple[Flask, dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker's first search or need page must not wait for the search index, the
    matcher's snapshot or the templates: the master compiles every template before it
    forks, and each worker builds the rest as it starts (once)."""
    import threading

    from web import warm
    from web.db import get_db
    from web.search import index_cache

    env = {"TSUNAGU_SECRET_KEY": SECRET, "TSUNAGU_INSTANCE": str(tmp_path)}
    assert cli("serve", "--workers", "2", env=env).exit_code == 0
    (app, options) = served_with[0]
    pages = app.jinja_env.list_templates(extensions=("html",))
    assert pages and len(app.jinja_env.cache or {}) >= len(pages)
    done = threading.Event()
    real = warm.warm_up

    def warm_up(a: Flask) -> None:
        real(a)
        done.set()

    monkeypatch.setattr(warm, "warm_up", warm_up)
    options["post_worker_init"](None)
    assert done.wait(60)
    with app.app_context():
        db = get_db()
        assert (index_cache(db).builds, db.snapshots.builds) == (1, 1)
    done.clear()
    options["post_worker_init"](None)  # a process warms up once
    assert not done.wait(0.5)


def test_serve_refuses_a_port_in_use(
    cli: Any, engine: Engine, tmp_path: Path, served_with: list[tuple[Flask, dict[str, Any]]]
) -> None:
    """The workers listen with SO_REUSEPORT, which would let a second server share a port
    in silence: a port in use is refused first, saying what to do."""
    env = {"TSUNAGU_SECRET_KEY": SECRET, "TSUNAGU_INSTANCE": str(tmp_path)}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("serve", "--port", str(port), env=env)
    assert result.exit_code == 2
    assert f"127.0.0.1 のポート {port} は使用中です" in result.stderr
    assert "--port" in result.stderr
    assert served_with == []
    assert serve_module.port_free("127.0.0.1", port)  # free again once closed


def test_a_port_is_free_again_as_soon_as_its_server_stopped() -> None:
    """A server listening as the workers do (SO_REUSEADDR, SO_REUSEPORT) holds the port;
    once it has stopped, the connections it closed (TIME_WAIT) do not: a restart works."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    assert not serve_module.port_free("127.0.0.1", port)
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first: its end waits in TIME_WAIT
    client.close()
    server.close()
    assert serve_module.port_free("127.0.0.1", port)
