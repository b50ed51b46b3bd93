"""The audit log: one event per access to a need, hash-chained, append-only.

Events are written in the transaction of the operation they record, so an operation
and its record commit together or not at all. Each row's ``hash`` is SHA-256 over the
previous row's hash and the row's own fields; changing, removing or reordering a row
breaks the chain at that row, and :func:`verify` names it. The database refuses UPDATE
and DELETE itself (migration 0005); :func:`prune` deletes rows past the retention
period and moves ``audit_anchor`` so what remains still verifies.

Never put a need's values here: ``record_id`` is the need's id, ``detail`` a code or
a count.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from directory.db import database_problem
from directory.models import utcnow
from web.actors import Actor
from web.models import AuditAnchor, AuditEvent

GENESIS = "0" * 64
ACTIONS = (
    "read",
    "list",
    "export",
    "create",
    "update",
    "match",
    "sign_in",
    "sign_out",
    "user_add",
    "user_passwd",
    "user_disable",
    "token_issue",
    "prune",
    "backup",
    "restore",
)
OUTCOMES = ("ok", "denied", "not_found", "failed")
EXPORT_COLUMNS = (
    "id",
    "at",
    "actor",
    "role",
    "areas",
    "action",
    "record_type",
    "record_id",
    "outcome",
    "detail",
)
_PG_CHAIN_LOCK = 0x7453_7547  # "tsug": serialises appends so the chain never forks


def _stamp(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")


def row_hash(prev_hash: str, event: AuditEvent) -> str:
    """The chain hash of one row (everything but its id and its own hash)."""
    return _hash(
        prev_hash,
        event.at,
        event.actor,
        event.role,
        event.areas,
        event.action,
        event.record_type,
        event.record_id,
        event.outcome,
        event.detail,
    )


def _hash(
    prev_hash: str,
    at: dt.datetime,
    actor: str,
    role: str,
    areas: str,
    action: str,
    record_type: str,
    record_id: str | None,
    outcome: str,
    detail: str | None,
) -> str:
    fields = (
        prev_hash,
        _stamp(at),
        actor,
        role,
        areas,
        action,
        record_type,
        record_id or "",
        outcome,
        detail or "",
    )
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()


_TAIL = select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
_ANCHOR = select(AuditAnchor.anchor_hash).where(AuditAnchor.id == 1)


def _tail_hash(bind: Session | Connection) -> str:
    """The last row's hash (the anchor's, the genesis' when none), under PostgreSQL's
    chain lock, held to the end of the transaction."""
    dialect = bind.get_bind().dialect if isinstance(bind, Session) else bind.dialect
    if dialect.name == "postgresql":
        bind.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_CHAIN_LOCK})
    last = bind.execute(_TAIL).scalar()
    if last is not None:
        return str(last)
    anchor = bind.execute(_ANCHOR).scalar()
    return str(anchor) if anchor is not None else GENESIS


@dataclass(frozen=True)
class Entry:
    """What one event says, before it is chained."""

    action: str
    record_type: str
    record_id: str | None = None
    outcome: str = "ok"
    detail: str | None = None


def record(
    session: Session,
    actor: Actor,
    action: str,
    record_type: str,
    record_id: str | None = None,
    outcome: str = "ok",
    detail: str | None = None,
    *,
    at: dt.datetime | None = None,
) -> AuditEvent:
    """Append one event in ``session``'s transaction."""
    return record_many(
        session, actor, [Entry(action, record_type, record_id, outcome, detail)], at=at
    )[0]


def record_many(
    session: Session, actor: Actor, entries: Iterable[Entry], *, at: dt.datetime | None = None
) -> list[AuditEvent]:
    """Append several events (e.g. one per need of an import) with one tail read."""
    entries = list(entries)
    if action_errors := {e.action for e in entries if e.action not in ACTIONS}:
        raise ValueError(f"unknown audit action(s): {sorted(action_errors)}")
    when = at or utcnow()
    prev = _tail_hash(session)
    areas = ",".join(actor.area_codes)
    events = []
    for e in entries:
        if e.outcome not in OUTCOMES:
            raise ValueError(f"unknown audit outcome {e.outcome!r}")
        event = AuditEvent(
            at=when,
            actor=actor.login,
            role=actor.role,
            areas=areas,
            action=e.action,
            record_type=e.record_type,
            record_id=e.record_id,
            outcome=e.outcome,
            detail=e.detail,
            prev_hash=prev,
        )
        event.hash = prev = row_hash(prev, event)
        events.append(event)
    session.add_all(events)
    session.flush()
    return events


def append(
    bind: Session | Connection,
    actor: Actor,
    entries: Iterable[Entry],
    *,
    at: dt.datetime | None = None,
) -> None:
    """:func:`record_many` without ORM objects (one Core INSERT; the same chain): for
    callers that do not need the rows back, such as a read's one event."""
    entries = list(entries)
    if action_errors := {e.action for e in entries if e.action not in ACTIONS}:
        raise ValueError(f"unknown audit action(s): {sorted(action_errors)}")
    if outcome_errors := {e.outcome for e in entries if e.outcome not in OUTCOMES}:
        raise ValueError(f"unknown audit outcome(s): {sorted(outcome_errors)}")
    if not entries:
        return
    when = at or utcnow()
    prev = _tail_hash(bind)
    areas = ",".join(actor.area_codes)
    rows = []
    for e in entries:
        row = {
            "at": when,
            "actor": actor.login,
            "role": actor.role,
            "areas": areas,
            "action": e.action,
            "record_type": e.record_type,
            "record_id": e.record_id,
            "outcome": e.outcome,
            "detail": e.detail,
            "prev_hash": prev,
        }
        row["hash"] = prev = _hash(
            prev,
            when,
            actor.login,
            actor.role,
            areas,
            e.action,
            e.record_type,
            e.record_id,
            e.outcome,
            e.detail,
        )
        rows.append(row)
    bind.execute(insert(AuditEvent), rows)


def append_alone(
    engine: Engine, actor: Actor, entries: Iterable[Entry], *, at: dt.datetime | None = None
) -> None:
    """:func:`append` in a write transaction of its own (SQLite ``BEGIN IMMEDIATE``), on a
    bare connection (no ORM session); a database error leaves as
    :class:`~directory.db.DatabaseProblem`, as from :func:`directory.db.transaction`."""
    try:
        with engine.connect() as conn:
            conn.execution_options(tsunagu_write=True)
            with conn.begin():
                append(conn, actor, entries, at=at)
    except Exception as exc:
        problem = database_problem(exc)
        if problem is None:
            raise
        raise problem from None


@dataclass(frozen=True)
class Break:
    """The first row where the chain does not hold, and why."""

    id: int
    reason: str


def verify(session: Session) -> tuple[int, Break | None]:
    """Walk the chain from the anchor; return (rows checked, first break or None)."""
    anchor = session.get(AuditAnchor, 1)
    prev = anchor.anchor_hash if anchor is not None else GENESIS
    checked = 0
    rows = session.scalars(
        select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=2000)
    )
    try:  # close the (server-side) cursor however the walk ends
        for event in rows:
            if event.prev_hash != prev:
                return checked, Break(event.id, "prev_hash")
            if row_hash(prev, event) != event.hash:
                return checked, Break(event.id, "hash")
            prev = event.hash
            checked += 1
    finally:
        rows.close()
    return checked, None


def events_between(
    session: Session, start: dt.datetime, end: dt.datetime, actor: str | None = None
) -> Iterator[AuditEvent]:
    """Events with ``start <= at < end`` (UTC), optionally of one actor, in order."""
    stmt = select(AuditEvent).where(AuditEvent.at >= start, AuditEvent.at < end)
    if actor is not None:
        stmt = stmt.where(AuditEvent.actor == actor)
    rows = session.scalars(stmt.order_by(AuditEvent.id).execution_options(yield_per=2000))
    try:
        yield from rows
    finally:
        rows.close()


def export_csv(events: Iterable[AuditEvent]) -> str:
    """The events as CSV (UTF-8, header first) for a leak report."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for e in events:
        writer.writerow(
            [
                e.id,
                _stamp(e.at) + "Z",
                e.actor,
                e.role,
                e.areas,
                e.action,
                e.record_type,
                e.record_id or "",
                e.outcome,
                e.detail or "",
            ]
        )
    return out.getvalue()


def prune(session: Session, actor: Actor, *, keep_days: int, now: dt.datetime | None = None) -> int:
    """Delete events older than ``keep_days`` (the retention setting), keeping the rest
    verifiable: the anchor takes the last deleted row's hash. Returns rows deleted."""
    cutoff = (now or utcnow()) - dt.timedelta(days=keep_days)
    last = session.scalars(
        select(AuditEvent).where(AuditEvent.at < cutoff).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    if last is None:
        return 0
    # Rows are appended in time order; delete by id so the chain's head goes as one piece.
    count = session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.id <= last.id)) or 0
    session.execute(
        update(AuditAnchor)
        .where(AuditAnchor.id == 1)
        .values(prune_before=cutoff, anchor_hash=last.hash)
    )
    session.execute(delete(AuditEvent).where(AuditEvent.id <= last.id))
    record(session, actor, "prune", "audit_event", None, detail=f"deleted={count}")
    return int(count)
