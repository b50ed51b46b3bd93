"""The directory's change counter (see :class:`directory.models.DirectoryState`)."""

from __future__ import annotations

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from directory.models import DirectoryState


def bump(session: Session) -> None:
    """Count one change to the directory, inside the caller's transaction.

    Every writer of districts, venues, categories, organisations or resources calls this
    before committing, so readers elsewhere learn that their snapshot is stale.
    """
    session.execute(
        update(DirectoryState)
        .where(DirectoryState.id == 1)
        .values(version=DirectoryState.version + 1)
    )


def current(bind: Session | Connection) -> int:
    """The last committed directory version this connection can see."""
    return int(
        bind.execute(select(DirectoryState.version).where(DirectoryState.id == 1)).scalar_one()
    )
