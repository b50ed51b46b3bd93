"""Reports worth remembering between requests, and the question that says when they are stale.

The unmet-needs report (:func:`web.services.unmet_report`) runs the matcher over every
open need it counts: far too slow to do on each page view, and its answer only changes
when a need, a referral or the directory does. :class:`ReportCache` keeps a few recent
answers per database (a small LRU in this process, safe across threads); each is tied to
the :class:`Fingerprint` of the data it was computed from, read in the *same* snapshot as
that data, and is used again only while the fingerprint is unchanged.

The fingerprint is a handful of one-step index reads (migration 0009), whatever the
number of needs: the largest id and the latest ``updated_at`` of the needs and of the
referrals, the count of their deletions (kept by triggers, migration 0010) and the
directory's change counter (:mod:`directory.state`). Adding a row moves the id, deleting
one the deletion count, and every change of a need or a referral sets its ``updated_at``
to now (the models' ``onupdate``; the needs import sets it itself, also when only the
categories change), which is later than any row already committed:

* SQLite: writers run one at a time (``BEGIN IMMEDIATE``), so "later" holds in commit order.
* PostgreSQL: two writers may overlap, and the first to stamp may commit last, behind a
  later ``updated_at``. So the read runs in one REPEATABLE READ snapshot, and an answer
  remembers the transactions that were still running when it was computed; once any of
  them has finished, the answer is not used again (it may have written a need).

Entries also expire after :attr:`ReportCache.max_age` seconds, a bound on any staleness
the rules above could miss (a server clock set back). Only what the report returns is
kept — counts per place, category and reason — never a need.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, Text, func, select
from sqlalchemy.orm import Session

from directory.models import DirectoryState
from matching.models import Match, Need, NeedsState

T = TypeVar("T")


@dataclass(frozen=True)
class Fingerprint:
    """What a report's data looked like, read at the start of its snapshot."""

    data: tuple[Any, ...]
    running: frozenset[int] = frozenset()
    """PostgreSQL: the transactions in progress in this snapshot (SQLite: none)."""

    def still_matches(self, now: Fingerprint) -> bool:
        """Whether an answer computed at ``self`` is still the answer at ``now``."""
        return self.data == now.data and self.running <= now.running


def begin_snapshot(session: Session) -> None:
    """Make every read of ``session`` see one snapshot (call before its first statement).

    SQLite's read transaction is one snapshot already (WAL, ``BEGIN DEFERRED``);
    PostgreSQL's default READ COMMITTED takes a new one per statement.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def needs_fingerprint(session: Session) -> Fingerprint:
    """The fingerprint of the needs, referrals and directory ``session`` sees (one query)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    row = tuple(session.connection().execute(_fingerprint_query(postgres)).one())
    if not postgres:
        return Fingerprint(row)
    return Fingerprint(row[:-1], _running(str(row[-1])))


@functools.cache
def _fingerprint_query(postgres: bool) -> Select[Any]:
    """Built once (statements are immutable): a page view pays only for running it."""

    def latest(model: type[Need] | type[Match]) -> list[Any]:
        return [
            select(func.max(model.id)).scalar_subquery(),
            select(func.max(model.updated_at)).scalar_subquery(),
        ]

    columns = [
        *latest(Need),
        *latest(Match),
        # a deletion moves no id and no stamp: the triggers of migration 0010 count them
        select(NeedsState.deletions).where(NeedsState.id == 1).scalar_subquery(),
        select(DirectoryState.version).where(DirectoryState.id == 1).scalar_subquery(),
    ]
    if postgres:
        columns.append(func.pg_current_snapshot().cast(Text()))
    return select(*columns)


def _running(snapshot: str) -> frozenset[int]:
    """The in-progress transaction ids of a ``pg_snapshot`` written ``xmin:xmax:xip,…``."""
    xip = snapshot.split(":")[2] if snapshot.count(":") == 2 else ""
    return frozenset(int(x) for x in xip.split(",") if x)


@dataclass(frozen=True)
class _Entry(Generic[T]):
    fingerprint: Fingerprint
    made: float
    value: T


class ReportCache(Generic[T]):
    """A few recent answers by key, each valid while its data's fingerprint holds."""

    def __init__(
        self,
        size: int = 64,
        max_age: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = size
        self.max_age = max_age
        self._clock = clock
        self._entries: OrderedDict[Hashable, _Entry[T]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, fingerprint: Fingerprint) -> T | None:
        """The answer kept for ``key`` if it is still the answer at ``fingerprint``."""
        with self._lock:
            entry = self._entries.get(key)
            if (
                entry is None
                or not entry.fingerprint.still_matches(fingerprint)
                or self._clock() - entry.made > self.max_age
            ):
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry.value

    def put(self, key: Hashable, fingerprint: Fingerprint, value: T) -> None:
        with self._lock:
            self._entries[key] = _Entry(fingerprint, self._clock(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
