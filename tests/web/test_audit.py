"""The audit log: every access to a need recorded, chained, unalterable (issue 10 point 7)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from webhelpers import add_account, area_codes

from directory.db import transaction
from directory.demo import SEEDS_DIR, demo_manifest
from matching.models import Need
from web import audit
from web.actors import Actor, NeedAreas, system_actor
from web.db import get_db
from web.models import AuditEvent


@pytest.fixture
def town(demo_town: Engine, app: Flask) -> Flask:
    """The demo town without its needs (tests import them as someone)."""
    return app


def _events(engine: Engine) -> list[AuditEvent]:
    with transaction(engine) as s:
        return list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def _needs_file() -> Path:
    return SEEDS_DIR / demo_manifest()["needs"]


def test_an_import_writes_one_create_event_per_need_and_no_need_values(
    cli, engine: Engine, town: Flask
) -> None:
    result = cli("import", "needs", _needs_file())
    assert result.exit_code == 0, result.stderr
    events = [e for e in _events(engine) if e.record_type == "need"]
    with transaction(engine) as s:
        ids = set(s.scalars(select(Need.external_id)))
        texts = [t for t in s.scalars(select(Need.text)) if t]
    assert {e.record_id for e in events} == ids and len(events) == len(ids)
    assert {e.action for e in events} == {"create"}
    assert all(e.actor.startswith("system:cli") and e.role == "system" for e in events)
    dump = json.dumps(
        [[getattr(e, c.name) for c in AuditEvent.__table__.columns] for e in _events(engine)],
        default=str,
        ensure_ascii=False,
    )
    assert not any(t[:12] in dump for t in texts)


def test_a_coordinator_imports_only_needs_of_their_areas_and_the_refusal_is_audited(
    cli, engine: Engine, town: Flask
) -> None:
    area = area_codes(town)[0]
    add_account(town, "coord", "tier2", (area,))
    result = cli("import", "needs", _needs_file(), "--as", "coord")
    assert result.exit_code == 1
    assert "担当圏域に含まれていない" in result.stderr
    with transaction(engine) as s:
        assert s.scalar(select(func.count(Need.id))) == 0
    denied = [e for e in _events(engine) if e.outcome == "denied"]
    assert len(denied) == 1 and denied[0].actor == "coord" and denied[0].areas == area


def test_match_as_a_coordinator_reads_only_their_areas_and_audits_each_need(
    cli, engine: Engine, town: Flask
) -> None:
    assert cli("import", "needs", _needs_file()).exit_code == 0
    area = area_codes(town)[0]
    add_account(town, "coord", "tier2", (area,))
    result = cli("match", "--json", "--as", "coord", "--on", "2026-12-01")
    assert result.exit_code == 0, result.stderr
    seen = {r["need"] for r in json.loads(result.stdout)}
    with transaction(engine) as s:
        areas = NeedAreas(s)
        mine = {
            n.external_id
            for n in s.scalars(select(Need).where(Need.status == "open"))
            if areas.area_of(n.district_id) == _area_id(s, area)
        }
    assert seen == mine and mine
    matched = [e for e in _events(engine) if e.action == "match"]
    assert {e.record_id for e in matched} == mine
    assert all(e.actor == "coord" for e in matched)


def _area_id(session, code: str) -> int:  # type: ignore[no-untyped-def]
    from directory.models import District

    return int(session.scalar(select(District.id).where(District.code == code)))


def test_another_areas_need_is_not_found_and_the_attempt_is_audited(
    cli, engine: Engine, town: Flask
) -> None:
    assert cli("import", "needs", _needs_file()).exit_code == 0
    first, second = area_codes(town)[:2]
    add_account(town, "coord", "tier2", (first,))
    with transaction(engine) as s:
        areas = NeedAreas(s)
        other = next(
            n.external_id
            for n in s.scalars(select(Need))
            if areas.area_of(n.district_id) == _area_id(s, second)
        )
    result = cli("match", "--need", other, "--as", "coord")
    assert result.exit_code == 1 and "見つかりません" in result.stderr
    last = _events(engine)[-1]
    assert (last.actor, last.action, last.record_id, last.outcome) == (
        "coord",
        "match",
        other,
        "not_found",
    )


def test_a_viewer_is_denied_needs_and_it_is_audited(cli, engine: Engine, town: Flask) -> None:
    add_account(town, "reader", "viewer")
    result = cli("match", "--as", "reader")
    assert result.exit_code == 1 and "権限がありません" in result.stderr
    last = _events(engine)[-1]
    assert (last.actor, last.outcome) == ("reader", "denied")


def test_verify_finds_a_row_edited_behind_the_apps_back(cli, engine: Engine, town: Flask) -> None:
    assert cli("import", "needs", _needs_file()).exit_code == 0
    ok = cli("audit", "verify")
    assert ok.exit_code == 0 and "正常" in ok.stderr
    events = _events(engine)
    victim = events[len(events) // 2]
    with engine.begin() as conn:
        _disable_guard(conn)
        conn.execute(
            text("UPDATE audit_event SET record_id = 'X-forged' WHERE id = :i"), {"i": victim.id}
        )
        _enable_guard(conn)
    broken = cli("audit", "verify")
    assert broken.exit_code == 1
    assert f"id {victim.id} " in broken.stderr


def test_verify_finds_a_deleted_row(cli, engine: Engine, town: Flask) -> None:
    assert cli("import", "needs", _needs_file()).exit_code == 0
    events = _events(engine)
    with engine.begin() as conn:
        _disable_guard(conn)
        conn.execute(text("DELETE FROM audit_event WHERE id = :i"), {"i": events[3].id})
        _enable_guard(conn)
    broken = cli("audit", "verify")
    assert broken.exit_code == 1 and f"id {events[4].id} " in broken.stderr


def _disable_guard(conn) -> None:  # type: ignore[no-untyped-def]
    """What someone with the database's owner rights could do (the app never does)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
    else:
        conn.execute(text("DROP TRIGGER audit_event_no_update"))
        conn.execute(text("DROP TRIGGER audit_event_no_delete"))


def _enable_guard(conn) -> None:  # type: ignore[no-untyped-def]
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET outcome = 'ok'",
        "DELETE FROM audit_event",
        "UPDATE audit_anchor SET prune_before = '2999-01-01 00:00:00'",
        "DELETE FROM audit_anchor",
    ],
)
def test_the_database_itself_refuses_to_alter_the_log(
    engine: Engine, town: Flask, statement: str
) -> None:
    with town.app_context(), get_db().write() as s:
        audit.record(s, system_actor("test"), "read", "need", "N-1")
    with pytest.raises(DBAPIError), engine.begin() as conn:
        conn.execute(text(statement))
    assert len(_events(engine)) == 1


def test_truncate_is_refused_on_postgresql(engine: Engine, town: Flask) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    with pytest.raises(DBAPIError), engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_event"))


def test_pruning_keeps_the_rest_verifiable(engine: Engine, town: Flask) -> None:
    actor = Actor("coord", "tier2", area_codes=("A",))
    now = dt.datetime(2026, 12, 1, 12, 0)
    with town.app_context():
        for years_ago in (7, 6, 4, 1):
            with get_db().write() as s:
                audit.record(
                    s,
                    actor,
                    "read",
                    "need",
                    f"N-{years_ago}",
                    at=now - dt.timedelta(days=365 * years_ago),
                )
        with get_db().write() as s:
            deleted = audit.prune(s, system_actor("test"), keep_days=5 * 365 + 1, now=now)
        with get_db().read() as s:
            checked, broken = audit.verify(s)
    assert deleted == 2
    assert broken is None and checked == 3  # two kept + the prune event itself
    assert [e.record_id for e in _events(engine)][:2] == ["N-4", "N-1"]


def test_export_answers_what_one_user_touched_between_two_times(
    cli, engine: Engine, town: Flask, tmp_path: Path
) -> None:
    with town.app_context():
        for who, day, need in (
            ("u1", 1, "N-1"),
            ("u2", 2, "N-2"),
            ("u1", 3, "N-3"),
            ("u1", 9, "N-9"),
        ):
            with get_db().write() as s:
                audit.record(
                    s, Actor(who, "tier2"), "read", "need", need, at=dt.datetime(2026, 11, day, 10)
                )
    out = tmp_path / "leak.csv"
    result = cli(
        "audit", "export", "--from", "2026-11-01", "--to", "2026-11-05", "--user", "u1", "-o", out
    )
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [r["record_id"] for r in rows] == ["N-1", "N-3"]
    assert set(rows[0]) == set(audit.EXPORT_COLUMNS)
    assert "hash" not in rows[0]


def test_appends_from_two_writers_never_fork_the_chain(engine: Engine, town: Flask) -> None:
    import threading

    def write(n: int) -> None:
        with town.app_context():
            for i in range(10):
                with get_db().write() as s:
                    audit.record(s, Actor(f"u{n}", "tier2"), "read", "need", f"N-{n}-{i}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with town.app_context(), get_db().read() as s:
        checked, broken = audit.verify(s)
    assert broken is None and checked == 30
