"""The directory version and what is kept per version (:func:`directory.state.derived`)."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from directory import state
from directory.db import make_sessionmaker, transaction


def _reader(engine: Engine) -> Session:
    session = make_sessionmaker(engine)()
    session.info[state.READ_ONLY] = True
    return session


def test_derived_values_are_kept_per_version_for_readers_only(engine: Engine) -> None:
    built: list[int] = []

    def build(session: Session) -> int:
        built.append(state.current(session))
        return len(built)

    with _reader(engine) as s:
        first = state.derived(s, "thing", build)
    with _reader(engine) as s:
        assert state.derived(s, "thing", build) == first  # kept: the version did not move
    assert len(built) == 1
    with transaction(engine) as w:
        # a writer builds afresh, even before it bumps, and keeps nothing
        assert state.derived(w, "thing", build) == 2
        state.bump(w)
        assert state.derived(w, "thing", build) == 3
    with _reader(engine) as s:
        assert state.derived(s, "thing", build) == 4  # a new version: built again
        assert state.derived(s, "other", build) == 5  # each name is its own value
    assert built[0] + 1 == built[-1]


def test_a_reader_sees_one_version_for_its_whole_session(engine: Engine) -> None:
    with _reader(engine) as s:
        before = state.current(s)
        with transaction(engine) as w:
            state.bump(w)
        assert state.current(s) == before  # what it reads next is at least as new
    with _reader(engine) as s:
        assert state.current(s) == before + 1
    with make_sessionmaker(engine)() as plain:  # unmarked sessions always ask
        assert state.current(plain) == before + 1


def test_sessions_on_connections_share_their_engines_values(engine: Engine) -> None:
    """A request's read sessions run on a connection of their own (web.db): what one
    request built is still there for the next, on another connection."""
    built: list[int] = []

    def build(session: Session) -> int:
        built.append(1)
        return len(built)

    for _request in range(3):
        with engine.connect() as conn, Session(bind=conn) as s:
            s.info[state.READ_ONLY] = True
            assert state.derived(s, "per engine", build) == 1
    assert built == [1]
