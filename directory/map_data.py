"""Plain data for the maps, read from the directory tables only.

The maps (``maps/``) are pure functions of these dataclasses, so what a published map can
show is decided here, by construction: :func:`public_resources` selects public, active
resources and copies a short allow-list of fields into :class:`PublicResource`, a type that
has no field able to carry a need (no description, notes, organisation contact or
free-form extras). Nothing in this module reads the matching tables, so a resident map
cannot reach need records however it is called.

SQLAlchemy and the ORM models are imported inside the functions, not at module level, so
``maps`` can import these dataclasses without importing a database module (the arrows
point web → maps → directory, and maps stay free of DB code).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry
    from sqlalchemy.orm import Session

__all__ = [
    "CoordinatorResource",
    "MapDistrict",
    "PublicResource",
    "UnknownAreaError",
    "coordinator_resources",
    "map_districts",
    "public_resources",
]


class UnknownAreaError(LookupError):
    """No district, area or municipality has the requested code."""

    def __init__(self, code: str):
        super().__init__(f"unknown area code {code!r}")
        self.code = code


@dataclass(frozen=True)
class PublicResource:
    """What a published resident map may show about one resource, and nothing more.

    Only public (公開=可), active resources become one: ``status`` is always ``"active"``
    and the constructor refuses anything else, so a paused or ended resource cannot slip
    onto a handout. ``lat``/``lon`` are the resource's own point or its venue's; both None
    when it serves districts without a venue (snow removal, garbage help).
    ``categories`` are taxonomy codes in taxonomy order (the first one styles the marker).
    """

    external_id: str
    name: str
    categories: tuple[str, ...]
    lat: float | None
    lon: float | None
    districts: tuple[str, ...]  # codes of the districts served
    schedule: str  # in words
    phone: str | None
    address: str | None
    place: str | None  # 方書 or venue name (〇〇集会所 和室)
    status: str
    last_verified_on: dt.date | None

    def __post_init__(self) -> None:
        if self.status != "active":
            raise ValueError(
                f"{self.external_id}: a PublicResource must be active, not {self.status!r}"
            )
        if (self.lat is None) != (self.lon is None):
            raise ValueError(f"{self.external_id}: lat and lon must both be given or neither")


@dataclass(frozen=True)
class CoordinatorResource:
    """One resource on a coordinator's working map: any status, public or not.

    A separate type from :class:`PublicResource` (not a subclass), so a resident map,
    which accepts only ``PublicResource``, refuses it even when its data looks public.
    """

    external_id: str
    name: str
    categories: tuple[str, ...]
    lat: float | None
    lon: float | None
    districts: tuple[str, ...]
    schedule: str  # in words, with what the parser could not read marked
    phone: str | None
    address: str | None
    place: str | None
    status: str  # active / paused / ended
    last_verified_on: dt.date | None
    public: bool
    organization: str | None


@dataclass(frozen=True)
class MapDistrict:
    """A municipality, tier-2 area or district outline to draw (WGS84)."""

    code: str
    name: str
    level: str  # municipality / area / district
    parent: str | None  # code of the enclosing district
    geometry: BaseGeometry


# --- reading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scope:
    """Which district ids an area covers (itself and below) and which lie above it."""

    inside: frozenset[int]
    above: frozenset[int]
    geometry: Any


def _scope(session: Session, area_code: str | None) -> _Scope | None:
    if area_code is None:
        return None
    from sqlalchemy import select

    from directory.models import District
    from directory.queries import ancestor_map

    row = session.execute(
        select(District.id, District.geometry).where(District.code == area_code)
    ).first()
    if row is None:
        raise UnknownAreaError(area_code)
    tree = ancestor_map(session)

    def chain(district_id: int) -> list[int]:
        seen: list[int] = []
        current: int | None = district_id
        while current is not None and current not in seen:
            seen.append(current)
            current = tree[current][0]
        return seen

    inside = frozenset(d for d in tree if row.id in chain(d))
    return _Scope(inside, frozenset(chain(row.id)[1:]), row.geometry)


@lru_cache(maxsize=4096)
def _schedule_words(source: str, public: bool, anchor: dt.date | None = None) -> str:
    """The schedule in words; for residents, the text as written when it was not understood
    (「（解釈できない記述: 不定期）」 is a note for coordinators, not for a handout)."""
    from directory.schedules import describe, parse_schedule

    parsed = parse_schedule(source, anchor)
    if public and not parsed.understood:
        return source.strip()
    return describe(parsed)


def _rows(
    session: Session,
    area_code: str | None,
    *,
    public_only: bool,
    external_ids: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    """The allow-listed fields of the resources in scope (only ``external_ids`` when
    given), as dicts (one query per table)."""
    import shapely
    from sqlalchemy import select

    from directory import state
    from directory.models import (
        Organization,
        Resource,
        Schedule,
        Venue,
        resource_category,
        resource_district,
    )
    from directory.taxonomy import load_taxonomy

    scope = _scope(session, area_code)
    query = (
        select(
            Resource.id,
            Resource.external_id,
            Resource.name,
            Resource.name_key,
            Resource.lat,
            Resource.lon,
            Resource.phone,
            Resource.address,
            Resource.building,
            Resource.status,
            Resource.public,
            Resource.last_verified_on,
            Resource.venue_id,
            Venue.lat.label("venue_lat"),
            Venue.lon.label("venue_lon"),
            Venue.name.label("venue_name"),
            Venue.address.label("venue_address"),
            Venue.district_id.label("venue_district"),
            Organization.name.label("org_name"),
            Organization.phone.label("org_phone"),
        )
        .outerjoin(Venue, Venue.id == Resource.venue_id)
        .outerjoin(Organization, Organization.id == Resource.organization_id)
        .order_by(Resource.name_key, Resource.external_id)
    )
    if public_only:
        query = query.where(Resource.public.is_(True), Resource.status == "active")
    if external_ids is not None:
        query = query.where(Resource.external_id.in_(list(external_ids)))
    conn = session.connection()  # plain columns: Core, no ORM execution layer
    resources = conn.execute(query).all()
    ids = [r.id for r in resources] if external_ids is not None else None

    def only(stmt: Any, column: Any) -> Any:
        return stmt if ids is None else stmt.where(column.in_(ids))

    codes = state.derived(session, "map_data.district_codes", _district_codes)
    served: dict[int, list[int]] = defaultdict(list)
    for rid, did in conn.execute(only(select(resource_district), resource_district.c.resource_id)):
        served[rid].append(did)
    order = {code: i for i, code in enumerate(c.code for c in load_taxonomy())}
    categories: dict[int, list[str]] = defaultdict(list)
    for rid, code in conn.execute(only(select(resource_category), resource_category.c.resource_id)):
        categories[rid].append(code)
    sources: dict[int, str] = {}
    anchors: dict[int, dt.date] = {}  # 隔週's stored anchor: the words match what was stored
    for rid, text, anchor in conn.execute(
        only(
            select(Schedule.resource_id, Schedule.source_text, Schedule.anchor_date),
            Schedule.resource_id,
        ).order_by(Schedule.id)
    ):
        if text and rid not in sources:
            sources[rid] = text
        if anchor is not None and rid not in anchors:
            anchors[rid] = anchor

    rows = []
    for r in resources:
        lat, lon = (
            (r.lat, r.lon)
            if r.lat is not None and r.lon is not None
            else (r.venue_lat, r.venue_lon)
        )
        if scope is not None and not _in_scope(
            scope, r.venue_district, served[r.id], lat, lon, shapely
        ):
            continue
        source = sources.get(r.id, "")
        rows.append(
            {
                "external_id": r.external_id,
                "name": r.name,
                "categories": tuple(
                    sorted(categories[r.id], key=lambda c: order.get(c, len(order)))
                ),
                "lat": lat,
                "lon": lon,
                "districts": tuple(sorted(codes[d] for d in served[r.id])),
                "schedule": _schedule_words(source, public_only, anchors.get(r.id))
                if source
                else "",
                "phone": r.phone or r.org_phone,
                "address": r.address or r.venue_address,
                "place": r.building or r.venue_name,  # 方書 (和室, 2階研修室) is the more exact
                "status": r.status,
                "last_verified_on": r.last_verified_on,
                "public": r.public,
                "organization": r.org_name,
                "order": (r.name_key, r.external_id),
            }
        )
    return rows


def _district_codes(session: Session) -> dict[int, str]:
    from sqlalchemy import select

    from directory.models import District

    return dict(session.execute(select(District.id, District.code)).tuples().all())


def _in_scope(
    scope: _Scope,
    venue_district: int | None,
    served: Iterable[int],
    lat: float | None,
    lon: float | None,
    shapely: Any,
) -> bool:
    """In the area when its venue is, when it serves a district in the area or one that
    encloses it (全域), or, with no venue, when its own point lies in the area."""
    if venue_district is not None and venue_district in scope.inside:
        return True
    if any(d in scope.inside or d in scope.above for d in served):
        return True
    return (
        venue_district is None
        and lat is not None
        and lon is not None
        and scope.geometry is not None
        and bool(shapely.covers(scope.geometry, shapely.Point(lon, lat)))
    )


_PUBLIC_FIELDS = (
    "external_id",
    "name",
    "categories",
    "lat",
    "lon",
    "districts",
    "schedule",
    "phone",
    "address",
    "place",
    "status",
    "last_verified_on",
)


def public_resources(session: Session, *, area_code: str | None = None) -> list[PublicResource]:
    """Public (公開=可), active resources of an area (all when None), for published maps."""
    return [
        PublicResource(**{k: row[k] for k in _PUBLIC_FIELDS})
        for row in _rows(session, area_code, public_only=True)
    ]


def coordinator_resources(
    session: Session,
    *,
    area_code: str | None = None,
    external_ids: Collection[str] | None = None,
) -> list[CoordinatorResource]:
    """Every resource of an area (all when None) whatever its status or 公開 flag, for the
    coordinators' working map, where paused and ended ones are greyed, not hidden; only
    those of ``external_ids`` when given (a need's candidates: a few rows, not the town),
    which read-only sessions keep per directory version (:class:`_Kept`), ordered by
    (name key, id) in Python."""
    if external_ids is None or area_code is not None:
        return [
            _coordinator(row)
            for row in _rows(session, area_code, public_only=False, external_ids=external_ids)
        ]
    from directory import state

    kept = state.derived(session, "map_data.coordinator_resources", _Kept)
    wanted = set(external_ids)
    found, missing = kept.get(wanted)
    if missing:
        fresh = {
            row["external_id"]: (row["order"], _coordinator(row))
            for row in _rows(session, None, public_only=False, external_ids=sorted(missing))
        }
        got = {e: fresh.get(e) for e in missing}
        kept.put(got)
        found.update(got)
    kept_rows = [v for v in found.values() if v is not None]
    return [r for _order, r in sorted(kept_rows, key=lambda v: v[0])]


_COORDINATOR_FIELDS = (*_PUBLIC_FIELDS, "public", "organization")


def _coordinator(row: dict[str, Any]) -> CoordinatorResource:
    return CoordinatorResource(**{k: row[k] for k in _COORDINATOR_FIELDS})


_Entry = tuple[tuple[str, str], CoordinatorResource] | None


class _Kept:
    """Coordinator resources read by id in one directory version (None: no such resource):
    :func:`directory.state.derived` gives each version a new one, and read-only sessions
    only. Shared between threads (hence the lock) and bounded: once full, it keeps what
    it holds and the rest is read each time."""

    LIMIT = 8192  # ≈ 2.3 KiB each (measured): all of most municipalities, ≈ 19 MiB at most

    def __init__(self, _session: Session | None = None) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, _Entry] = {}

    def get(self, wanted: Iterable[str]) -> tuple[dict[str, _Entry], set[str]]:
        found: dict[str, _Entry] = {}
        missing: set[str] = set()
        with self._lock:
            for e in wanted:
                if e in self._rows:
                    found[e] = self._rows[e]
                else:
                    missing.add(e)
        return found, missing

    def put(self, rows: dict[str, _Entry]) -> None:
        with self._lock:
            if len(self._rows) + len(rows) <= self.LIMIT:
                self._rows.update(rows)


def map_districts(session: Session, *, area_code: str | None = None) -> list[MapDistrict]:
    """The outlines to draw: the area and everything below it (every district when None)."""
    from sqlalchemy import select

    from directory.models import District

    scope = _scope(session, area_code)
    rows = session.execute(
        select(
            District.id,
            District.code,
            District.name,
            District.level,
            District.parent_id,
            District.geometry,
        ).order_by(District.code)
    ).all()
    codes = {r.id: r.code for r in rows}
    return [
        MapDistrict(r.code, r.name, r.level, codes.get(r.parent_id), r.geometry)
        for r in rows
        if scope is None or r.id in scope.inside
    ]
