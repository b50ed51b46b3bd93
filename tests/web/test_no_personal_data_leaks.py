"""Canary needs: no need value in any log, stderr, error page or public output (point 6).

Every need field that can hold free text carries a canary; then the CLI and the pages are
driven through success and failure (bad files, a NUL byte, a duplicate, a crash) with every
logger at DEBUG, and everything they said is searched.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine
from webhelpers import add_account, area_codes, sign_in

from directory.db import transaction
from directory.demo import SEEDS_DIR, demo_manifest, load_demo
from web.security import public

CANARY = "ZQXCANARY"  # in text, basis, source; a pseudonym variant for resident


def _planted(
    tmp_path: Path, *, extra: dict[str, object] | None = None, name: str = "needs.json"
) -> Path:
    items = json.loads((SEEDS_DIR / demo_manifest()["needs"]).read_text(encoding="utf-8"))
    for i, item in enumerate(items):
        item["text"] = f"{item.get('text', '')}（{CANARY}{i}）"
        item["basis"] = f"{CANARY} 第{i}条"
        item["resident"] = f"{CANARY}{i}"
        item["source"] = f"{CANARY}-intake"
    if extra:
        items[0].update(extra)
    path = tmp_path / name
    path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def test_the_cli_never_says_a_need_value(
    cli, engine: Engine, app: Flask, tmp_path: Path, everything_logged: pytest.LogCaptureFixture
) -> None:
    with transaction(engine) as s:
        load_demo(s)
    said: list[str] = []

    def run(*args: object, ok: bool = True) -> None:
        result = cli(*[str(a) for a in args])
        said.append(result.stderr)
        if not any(a in ("--json",) for a in args) or args[0] != "match":
            said.append(result.stdout)
        assert (result.exit_code == 0) is ok, (args, result.stderr[-300:])

    good = _planted(tmp_path)
    run("import", "needs", good, "--dry-run")
    run("import", "needs", good)
    run("import", "needs", good, "--json")  # unchanged
    for extra in (
        {"text": f"{CANARY}\x00NUL"},
        {"age": CANARY},
        {"district": CANARY},
        {"days": [CANARY]},
        {"time": CANARY},
        {"consent_on": CANARY},
        {"categories": [CANARY]},
        {"attributes": [CANARY]},
        {"lat": CANARY},
        {"id": f"{CANARY}さん"},
    ):
        bad = _planted(tmp_path, extra=extra, name="bad.json")
        result = cli("import", "needs", bad)
        said.extend((result.stdout, result.stderr))
        # an unknown attribute is a warning (not stored); everything else refuses the file
        assert result.exit_code == (0 if "attributes" in extra else 1), extra
    run("match", "--on", "2026-12-01")
    run("unmet", "--on", "2026-12-01")
    run("unmet", "--json", "--level", "area")
    out = tmp_path / "out"
    out.mkdir()
    area = area_codes(app)[0]
    run("map", "unmet", "-o", out / "unmet.html")
    run("map", "resident", "--area", area, "-o", out / "resident.html")
    run("map", "coordinator", "-o", out / "coordinator.html")
    for fmt in ("csv", "geojson", "hsds", "ics"):
        run("export", "resources", "--format", fmt, "--all", "-o", out / f"r.{fmt}")
    run("audit", "verify")
    run("audit", "export", "--from", "2020-01-01", "--to", "2100-01-01")
    said += [r.getMessage() for r in everything_logged.records]
    said += [p.read_text(encoding="utf-8") for p in out.iterdir()]
    hits = [s for s in said if CANARY in s]
    assert hits == []


def test_error_pages_and_logs_hold_no_need_value(
    engine: Engine, app: Flask, cli, tmp_path: Path, everything_logged: pytest.LogCaptureFixture
) -> None:
    with transaction(engine) as s:
        load_demo(s)
    assert cli("import", "needs", _planted(tmp_path)).exit_code == 0

    @public
    def crash() -> str:
        raise RuntimeError(f"a bug holding a need value {CANARY}")

    app.add_url_rule("/crash", "crash", crash)
    client = app.test_client()
    sign_in(client, add_account(app, "coord", "tier2", (area_codes(app)[0],)))
    pages = [client.get(p) for p in ("/", "/maps/", "/maps/coordinator", "/needs/1", "/crash")]
    assert pages[-1].status_code == 500
    assert "エラーが発生しました" in pages[-1].get_data(as_text=True)
    said = [p.get_data(as_text=True) for p in pages]
    said += [r.getMessage() for r in everything_logged.records]
    said += [str(r.exc_info) for r in everything_logged.records if r.exc_info]
    assert [s for s in said if CANARY in s] == []
