"""The directory's change counter (see :class:`directory.models.DirectoryState`) and the
log of which resources each version changed (:class:`directory.models.DirectoryChange`)."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.orm import Session

from directory.models import DirectoryChange, DirectoryState, utcnow

#: Versions of the change log kept: a reader further behind than this rebuilds.
KEEP_CHANGES = 10_000

#: ``session.info`` key of sessions that only read: only they may use :func:`derived`'s
#: cache (a writer could see its own uncommitted change under a version number that a
#: rollback gives back).
READ_ONLY = "tsunagu_read_only"
_VERSION = "tsunagu_directory_version"

_VERSION_QUERY = select(DirectoryState.version).where(DirectoryState.id == 1)

T = TypeVar("T")
_DERIVED: weakref.WeakKeyDictionary[Any, dict[str, tuple[int, Any]]] = weakref.WeakKeyDictionary()
_DERIVED_LOCK = threading.Lock()


def bump(session: Session, resource_ids: Iterable[int] | None = None) -> int:
    """Count one change to the directory, inside the caller's transaction; return the new
    version.

    Every writer of districts, venues, categories, organisations or resources calls this
    before committing, so readers elsewhere learn that their snapshot is stale.
    ``resource_ids`` names every resource whose matching data the change touched
    (including deleted ones and those at an edited venue; ``[]`` when none, as for an
    organisation's phone): readers then re-read only those. Left out, readers rebuild
    everything — right for imports and anything that cannot say.
    """
    session.execute(
        update(DirectoryState)
        .where(DirectoryState.id == 1)
        .values(version=DirectoryState.version + 1)
    )
    version = current(session)
    if resource_ids is not None:
        session.execute(
            insert(DirectoryChange).values(
                version=version, resource_ids=sorted(set(resource_ids)), changed_at=utcnow()
            )
        )
        session.execute(
            delete(DirectoryChange).where(DirectoryChange.version <= version - KEEP_CHANGES)
        )
    return version


def current(bind: Session | Connection) -> int:
    """The last committed directory version this connection can see (read once per
    :data:`READ_ONLY` session: what it reads next is at least as new)."""
    memo = isinstance(bind, Session) and bind.info.get(READ_ONLY)
    if memo and _VERSION in bind.info:
        return int(bind.info[_VERSION])
    # Core on the connection: the ORM's execution layer costs more than the query
    conn = bind.connection() if isinstance(bind, Session) else bind
    version = int(conn.execute(_VERSION_QUERY).scalar_one())
    if memo:
        bind.info[_VERSION] = version
    return version


def changed_since(bind: Session | Connection, since: int, until: int) -> set[int] | None:
    """The resources changed by versions ``since + 1 … until``, or None when one of those
    versions did not say (or was pruned): the caller must then re-read everything."""
    if until <= since:
        return set()
    rows = bind.execute(
        select(DirectoryChange.version, DirectoryChange.resource_ids).where(
            DirectoryChange.version > since, DirectoryChange.version <= until
        )
    ).all()
    if len(rows) != until - since:
        return None
    return {int(i) for _version, ids in rows for i in ids or ()}


def derived(session: Session, name: str, build: Callable[[Session], T]) -> T:
    """``build(session)``, kept per database and ``name`` while the directory version stays
    the same: for what pages read on every request (the district tree) and only a bump
    can change. Sessions not marked :data:`READ_ONLY` always build. The value is shared
    between threads: callers must not change it."""
    if not session.info.get(READ_ONLY):
        return build(session)
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)  # a session bound to a connection: its engine
    version = current(session)
    with _DERIVED_LOCK:
        kept = _DERIVED.setdefault(engine, {}).get(name)
    if kept is not None and kept[0] == version:
        value: T = kept[1]
        return value
    value = build(session)
    with _DERIVED_LOCK:
        values = _DERIVED.setdefault(engine, {})
        if name not in values or values[name][0] <= version:
            values[name] = (version, value)
    return value
