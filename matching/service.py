"""Matching against the database: needs → engine → proposed matches and unmet counts.

The engine (:mod:`matching.engine`) works on an in-memory snapshot of the directory. A
:class:`SnapshotCache` keeps one per process and rebuilds it when the directory version
stored in the database (:mod:`directory.state`) is newer than the snapshot's, so several
processes or hosts serving one PostgreSQL database never match against a directory older
than the last committed change they can see.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from directory import state
from directory.models import District
from directory.queries import ancestor_at, ancestor_map
from directory.weekdays import WEEKDAY_CODES
from matching.engine import NeedQuery, NeedResult, score_many
from matching.models import Location, Match, Need, NeedCategory
from matching.reasons import UnmetCount
from matching.snapshot import DirectorySnapshot, build_snapshot, update_snapshot

LEVELS = ("district", "area", "municipality")


class UnknownNeedError(LookupError):
    """A need id that is not in the database."""


class SnapshotCache:
    """The directory snapshot of this process, rebuilt when the database says it is stale.

    The version is read *before* the directory rows, so a snapshot is never labelled
    newer than its contents; at worst it is rebuilt once more than needed. A newer
    version whose change log names the resources it changed is applied to the snapshot
    (:func:`matching.snapshot.update_snapshot`: milliseconds) instead of a rebuild.
    """

    def __init__(self, horizon_days: int = 28) -> None:
        self.horizon_days = horizon_days
        self._snapshot: DirectorySnapshot | None = None
        self._lock = threading.Lock()
        self.builds = 0
        self.updates = 0

    def get(self, session: Session, on: dt.date) -> DirectorySnapshot:
        version = state.current(session)
        with self._lock:
            snap = self._snapshot
            if snap is not None and snap.on == on and snap.version < version:
                updated = update_snapshot(session, snap, version=version)
                if updated is not None:
                    self._snapshot = updated
                    self.updates += 1
                    return updated
            if snap is None or snap.version < version or snap.on != on:
                snap = build_snapshot(
                    session, on=on, horizon_days=self.horizon_days, version=version
                )
                self._snapshot = snap
                self.builds += 1
            return snap


@dataclass(frozen=True)
class NeedValues:
    """A stored need's values and its district's names, read in one Core query with
    :func:`need_values` (no ORM object: a read-only page's cheaper copy of a :class:`Need`,
    which :func:`need_query` and :func:`match_needs` take alike)."""

    id: int
    external_id: str
    resident_ref: str | None
    district_id: int
    lat: float | None
    lon: float | None
    text: str | None
    days: list[str] | None
    time_start: dt.time | None
    time_end: dt.time | None
    months: list[int] | None
    max_walk_m: int | None
    transport: bool | None
    age: int | None
    attributes: list[str]
    recorded_on: dt.date | None
    urgency: str
    status: str
    consent_on: dt.date | None
    consent_by: str | None
    basis: str | None
    district_code: str
    district_name: str
    centroid_lat: float | None
    centroid_lon: float | None
    #: (code, inferred) in code order, as :attr:`Need.category_links`
    categories: tuple[tuple[str, bool], ...]

    @property
    def category_codes(self) -> list[str]:
        return [code for code, _inferred in self.categories]

    def location(self) -> Location:
        """As :meth:`Need.location`: the recorded point, else the district centroid."""
        if self.lat is not None and self.lon is not None:
            return Location(self.lat, self.lon, False)
        return Location(self.centroid_lat, self.centroid_lon, True)  # type: ignore[arg-type]


_NEED_COLUMNS = (
    Need.id,
    Need.external_id,
    Need.resident_ref,
    Need.district_id,
    Need.lat,
    Need.lon,
    Need.text,
    Need.days,
    Need.time_start,
    Need.time_end,
    Need.months,
    Need.max_walk_m,
    Need.transport,
    Need.age,
    Need.attributes,
    Need.recorded_on,
    Need.urgency,
    Need.status,
    Need.consent_on,
    Need.consent_by,
    Need.basis,
)
_NEED_VALUES = (
    select(
        *_NEED_COLUMNS,
        District.code.label("district_code"),
        District.name.label("district_name"),
        District.centroid_lat,
        District.centroid_lon,
        NeedCategory.category_code,
        NeedCategory.inferred,
    )
    .join(District, District.id == Need.district_id)
    .outerjoin(NeedCategory, NeedCategory.need_id == Need.id)
    .where(Need.external_id == bindparam("external_id"))
    .order_by(NeedCategory.category_code)
)


def need_values(session: Session, external_id: str) -> NeedValues | None:
    """One need as :class:`NeedValues` (None when there is none): one statement for the
    need, its district's names and centroid and its categories."""
    # Core on the session's connection: no ORM execution layer for plain columns
    rows = session.connection().execute(_NEED_VALUES, {"external_id": external_id}).all()
    if not rows:
        return None
    first: Any = rows[0]
    values = {c.key: getattr(first, c.key) for c in _NEED_COLUMNS}
    return NeedValues(
        **values,
        district_code=first.district_code,
        district_name=first.district_name,
        centroid_lat=first.centroid_lat,
        centroid_lon=first.centroid_lon,
        categories=tuple(
            (r.category_code, bool(r.inferred)) for r in rows if r.category_code is not None
        ),
    )


def need_query(need: Need | NeedValues, on: dt.date) -> NeedQuery:
    """The engine's view of a stored need (its location falls back to the district centroid)."""
    location = need.location()
    time = None
    if need.time_start is not None and need.time_end is not None:
        time = (
            need.time_start.hour * 60 + need.time_start.minute,
            need.time_end.hour * 60 + need.time_end.minute,
        )
    return NeedQuery(
        id=need.external_id,
        district_id=need.district_id,
        lat=location.lat,
        lon=location.lon,
        categories=tuple(need.category_codes),
        text=need.text or "",
        days=tuple(WEEKDAY_CODES.index(d) for d in need.days or ()),
        time=time,
        months=tuple(need.months or ()),
        max_walk_m=None if need.max_walk_m is None else float(need.max_walk_m),
        transport=bool(need.transport),
        age=need.age,
        # The model cannot tell "not recorded" from "none": a stored list is complete.
        attributes=tuple(need.attributes or ()),
        on=on,
    )


def load_needs(
    session: Session,
    external_ids: Sequence[str] = (),
    *,
    where: Sequence[ColumnElement[bool]] = (),
) -> list[Need]:
    """The needs asked for (all open ones when none are named), in id order; ``where``
    narrows the open ones in the query (a report's period and places), so a report of one
    month does not load every open need."""
    stmt = select(Need).options(selectinload(Need.category_links), selectinload(Need.district))
    if external_ids:
        stmt = stmt.where(Need.external_id.in_(list(external_ids)))
    else:
        stmt = stmt.where(Need.status == "open", *where)
    needs = list(session.scalars(stmt.order_by(Need.external_id)))
    missing = set(external_ids) - {n.external_id for n in needs}
    if missing:
        raise UnknownNeedError(", ".join(sorted(missing)))
    return needs


def match_needs(
    session: Session,
    cache: SnapshotCache,
    needs: Sequence[Need | NeedValues],
    *,
    on: dt.date,
    top: int = 5,
    progress: Callable[[int, int], None] | None = None,
) -> list[NeedResult]:
    """Score each need against the current directory (no writes); ``progress(done,
    total)`` after each batch of needs."""
    snapshot = cache.get(session, on)
    return score_many(snapshot, [need_query(n, on) for n in needs], top=top, progress=progress)


def record_proposals(session: Session, needs: Sequence[Need], results: Sequence[NeedResult]) -> int:
    """Store the proposed matches, keeping the status and note of ones already followed up.

    A match the coordinator has marked contacted/connected/declined/ended keeps its status;
    its score and reasons are refreshed. Returns how many matches were added.
    """
    existing = {
        (m.need_id, m.resource_id): m
        for m in session.scalars(select(Match).where(Match.need_id.in_([n.id for n in needs])))
    }
    added = 0
    for need, result in zip(needs, results, strict=True):
        for m in result.matches:
            row = existing.get((need.id, m.resource_id))
            factors = {k: round(float(v), 4) for k, v in m.factors.items()}
            if row is None:
                session.add(
                    Match(
                        need_id=need.id,
                        resource_id=m.resource_id,
                        score=float(m.score),
                        factors=factors,
                        reasons=list(m.reasons),
                    )
                )
                added += 1
            elif row.score != float(m.score) or row.reasons != list(m.reasons):
                row.score, row.factors, row.reasons = float(m.score), factors, list(m.reasons)
    session.flush()
    return added


def unmet_counts(
    session: Session,
    needs: Iterable[Need],
    results: Iterable[NeedResult],
    *,
    level: str = "district",
) -> list[UnmetCount]:
    """Unmet needs per district (or rolled up to area / municipality), category and reason.

    A need with two categories counts once under each. Needs whose district has no
    ancestor at ``level`` are counted under their own district, so none is lost.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    tree = ancestor_map(session)
    counts: Counter[tuple[int, str, str]] = Counter()
    for need, result in zip(needs, results, strict=True):
        if not result.unmet:
            continue
        target = ancestor_at(tree, need.district_id, level) or need.district_id
        for code in need.category_codes or ["-"]:
            counts[(target, code, result.unmet_reason or "no_resource")] += 1
    names = dict(session.execute(select(District.id, District.code)).tuples().all())
    labels = dict(session.execute(select(District.id, District.name)).tuples().all())
    rows = [UnmetCount(names[d], labels[d], c, r, n) for (d, c, r), n in counts.items()]
    return sorted(rows, key=lambda u: (u.district, u.category, u.reason))
