"""Checked rows written with bulk statements: organisations reused by name, venues
linked or created within :data:`VENUE_LINK_M`, rows created, updated (version bumped) or
left unchanged by fingerprint, and their categories, districts and schedules (a stored
隔週 anchor kept).
"""

from __future__ import annotations

import datetime as dt
import json
import typing
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy import JSON, Text, bindparam, cast, delete, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from directory.bulk import bulk_insert_columns, insert_returning_ids
from directory.errors import ConcurrentEditError
from directory.geography import (
    ImportResult,
    districts_frame,
    locate_points,
    nearest_within,
    pairs_within,
)
from directory.models import (
    Base,
    District,
    Organization,
    Resource,
    Schedule,
    Venue,
    resource_category,
    resource_district,
    utcnow,
)
from directory.queries import ancestor_at, ancestor_map
from directory.resources.checks import Checked, Progress
from directory.text import normalize


def _table(model: type[Base]) -> sa.Table:
    """A model's table. DeclarativeBase types ``__table__`` as a FromClause (it may be a
    join or a subquery); every model here is mapped to a plain Table."""
    return typing.cast(sa.Table, model.__table__)


VENUE_LINK_M = 50.0


def _write(
    session: Session, checked: Checked, result: ImportResult, progress: Progress | None
) -> None:
    total = len(checked)
    if progress:
        progress("write", 0, total)
    values = checked.values
    org_ids = _organizations(session, checked.organization)
    values["organization_id"] = [org_ids[o] if o else None for o in checked.organization]
    values["venue_id"] = _venues(session, checked)
    existing = _existing(session, values["external_id"])
    existing_links = _existing_links(session, [e.id for e in existing.values()])
    new: list[int] = []  # row indexes
    changed: list[tuple[_Existing, int]] = []
    digests = _digests(values) if existing else []
    for n, external_id in enumerate(values["external_id"]):
        old = existing.get(external_id)
        if old is None:
            new.append(n)
        elif old.digest == digests[n] and existing_links.get(old.id) == hash(_links_of(checked, n)):
            result.unchanged += 1
        else:
            changed.append((old, n))
    now = utcnow()
    new_ids: list[int] = []
    if new:
        columns = (
            dict(values)
            if len(new) == total
            else {k: [v[n] for n in new] for k, v in values.items()}
        )
        columns |= {
            "version": [1] * len(new),
            "created_at": [now] * len(new),
            "updated_at": [now] * len(new),
        }
        new_ids = insert_returning_ids(session, _table(Resource), columns, "external_id")
        result.created += len(new_ids)
        if progress:
            progress("write", total // 2, total)
    if changed:
        _keep_anchors(session, checked, changed)  # before their schedule rows are deleted
        _update_resources(
            session,
            [
                {k: v[n] for k, v in values.items()}
                | {"id": old.id, "version": old.version + 1, "updated_at": now}
                for old, n in changed
            ],
        )
        changed_ids = [old.id for old, _ in changed]
        for chunk in _chunks(changed_ids, 5000):
            session.execute(
                delete(resource_category).where(resource_category.c.resource_id.in_(chunk))
            )
            session.execute(
                delete(resource_district).where(resource_district.c.resource_id.in_(chunk))
            )
            session.execute(delete(Schedule).where(Schedule.resource_id.in_(chunk)))
        result.updated += len(changed)
    targets = list(zip(new_ids, new, strict=True)) + [(old.id, n) for old, n in changed]
    _insert_links(session, checked, targets)
    session.flush()
    if progress:
        progress("write", total, total)


def _existing(session: Session, external_ids: list[str]) -> dict[str, _Existing]:
    """The rows of these ids already in the database: only what the comparison needs, as
    fingerprints (150,000 full rows would not fit the memory budget). Locked FOR UPDATE
    (SQLite: inside BEGIN IMMEDIATE)."""
    table = Resource.__table__
    # JSON columns as their stored text: compared with the file's values serialised the
    # same way (see _digests), so 300,000 JSON documents need not be parsed.
    compared = [
        cast(table.c[k], Text) if i in _JSON_POSITIONS else table.c[k]
        for i, k in enumerate(_COMPARED)
    ]
    stmt = select(table.c.id, table.c.version, table.c.external_id, *compared).with_for_update()
    existing: dict[str, _Existing] = {}
    for row in _where_in(session, stmt, table.c.external_id, external_ids):
        existing[row[2]] = _Existing(row[0], row[1], hash(row[3:]))
    return existing


def _where_in(session: Session, stmt: Any, column: Any, keys: Sequence[Any]) -> Iterator[Any]:
    """The rows of ``stmt`` whose ``column`` is one of ``keys`` (``column`` must be selected),
    streamed a partition at a time (a re-import reads 150,000 rows and keeps only their
    fingerprints).

    In chunks of ``IN (…)``; but when the keys are a large share of the table (a
    re-import), one scan filtered here, as compiling 150,000 IN parameters costs more
    than reading the rows.
    """
    if not keys:
        return
    total = session.scalar(select(func.count()).select_from(column.table)) or 0
    if len(keys) * 4 < total:
        for chunk in _chunks(keys, 5000):
            yield from session.execute(stmt.where(column.in_(chunk))).all()
        return
    wanted = set(keys)
    position = next(i for i, c in enumerate(stmt.selected_columns) if c is column)
    result = session.execute(stmt, execution_options={"yield_per": 10_000})
    for partition in result.partitions():
        yield from (row for row in partition if row[position] in wanted)


def _insert_links(session: Session, checked: Checked, targets: list[tuple[int, int]]) -> None:
    """Categories, served districts and schedules of the (resource id, row index) pairs."""
    categories, district_ids, schedules = (
        checked.categories,
        checked.district_ids,
        checked.schedules,
    )
    pairs: list[tuple[int, Any]] = [(rid, c) for rid, n in targets for c in categories[n]]
    bulk_insert_columns(
        session,
        resource_category,
        {"resource_id": [rid for rid, _ in pairs], "category_code": [c for _, c in pairs]},
    )
    pairs = [(rid, d) for rid, n in targets for d in district_ids[n]]
    bulk_insert_columns(
        session,
        resource_district,
        {"resource_id": [rid for rid, _ in pairs], "district_id": [d for _, d in pairs]},
    )
    pairs = [(rid, row) for rid, n in targets for row in schedules[n]]
    names = tuple(pairs[0][1]) if pairs else ()
    fields = {f: [row[f] for _, row in pairs] for f in names}
    rids = [rid for rid, _ in pairs]
    bulk_insert_columns(session, _table(Schedule), {"resource_id": rids, **fields})


def _update_resources(session: Session, rows: list[dict[str, Any]]) -> None:
    """Bulk UPDATE by id *and* the version read above, bumping the version.

    version_id_col guards ORM flushes only, so the check is written out here. The rows
    were read FOR UPDATE (SQLite: inside the BEGIN IMMEDIATE write lock), so a mismatch
    means the database changed under us: refuse rather than overwrite.
    """
    table = _table(Resource)
    columns = [k for k in rows[0] if k not in ("id", "version")]
    stmt = (
        update(table)
        .where(table.c.id == bindparam("_id"), table.c.version == bindparam("_old_version"))
        .values({c: bindparam(c) for c in columns} | {"version": bindparam("_new_version")})
    )
    params = [
        {c: row[c] for c in columns}
        | {"_id": row["id"], "_old_version": row["version"] - 1, "_new_version": row["version"]}
        for row in rows
    ]
    # An executemany UPDATE's result is a CursorResult; Session.execute is typed Result.
    matched = typing.cast(CursorResult[Any], session.execute(stmt, params)).rowcount
    if matched != len(rows):
        msg = f"{len(rows) - matched} resource(s) changed during the import; nothing was written"
        raise ConcurrentEditError(msg)


_SCHEDULE_FIELDS = (
    "rrule",
    "start_time",
    "end_time",
    "season_start_month",
    "season_end_month",
    "holiday_rule",
    "year_end_closed",
    "source_text",
    "understood",
)


def _keep_anchors(session: Session, checked: Checked, changed: list[tuple[_Existing, int]]) -> None:
    """A changed resource keeps the stored ``anchor_date`` of every schedule row whose text
    and rule are the same as before, so that editing, say, its phone number does not move
    its 隔週 weeks to the re-import day (nor a one-off date's year). Rows with the same
    fields (a list of one-off dates) are paired in date order."""
    schedule = Schedule.__table__
    old: dict[tuple[int, tuple[Any, ...]], list[dt.date]] = defaultdict(list)
    stmt = select(
        schedule.c.resource_id, schedule.c.anchor_date, *(schedule.c[f] for f in _SCHEDULE_FIELDS)
    ).where(schedule.c.anchor_date.is_not(None))
    for row in _where_in(session, stmt, schedule.c.resource_id, [e.id for e, _ in changed]):
        old[row[0], tuple(row[2:])].append(row[1])
    if not old:
        return
    for existing, n in changed:
        rows = checked.schedules[n]
        new: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        for i, row in enumerate(rows):
            if row["anchor_date"] is not None:
                new[tuple(row[f] for f in _SCHEDULE_FIELDS)].append(i)
        kept = list(rows)  # the rows are shared between resources: replaced, not changed
        for key, indexes in new.items():
            anchors = sorted(old.get((existing.id, key), ()))
            if len(anchors) == len(indexes):
                indexes.sort(key=lambda i: rows[i]["anchor_date"])
                for i, anchor in zip(indexes, anchors, strict=True):
                    kept[i] = rows[i] | {"anchor_date": anchor}
        checked.schedules[n] = tuple(kept)


def _links_of(checked: Checked, n: int) -> tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]:
    schedules = [
        (*(row[f] for f in _SCHEDULE_FIELDS), row["anchor_date"] is not None)
        for row in checked.schedules[n]
    ]
    return (
        _sorted(checked.categories[n]),
        _sorted(checked.district_ids[n]),
        _sorted(schedules, key=repr),
    )


def _sorted(items: Sequence[Any], key: Callable[[Any], Any] | None = None) -> tuple[Any, ...]:
    """``tuple(sorted(items))``, without the sort (and its key) for the usual one item."""
    return tuple(items) if len(items) < 2 else tuple(sorted(items, key=key))


def _existing_links(session: Session, ids: list[int]) -> dict[int, int]:
    """For each resource id, the fingerprint of its categories, districts and schedules
    (compared with :func:`_links_of` of the file's row)."""
    cats: dict[int, list[str]] = defaultdict(list)
    dists: dict[int, list[int]] = defaultdict(list)
    scheds: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    rc, rd, schedule = resource_category, resource_district, Schedule.__table__
    for rid, code in _where_in(
        session, select(rc.c.resource_id, rc.c.category_code), rc.c.resource_id, ids
    ):
        cats[rid].append(code)
    for rid, did in _where_in(
        session, select(rd.c.resource_id, rd.c.district_id), rd.c.resource_id, ids
    ):
        dists[rid].append(did)
    fields = [schedule.c[f] for f in _SCHEDULE_FIELDS]
    for row in _where_in(
        session,
        select(schedule.c.resource_id, *fields, schedule.c.anchor_date),
        schedule.c.resource_id,
        ids,
    ):
        # whether an anchor is stored, not which: a re-import keeps it (_keep_anchors), and
        # a row stored before anchors existed gets one
        scheds[row[0]].append((*row[1:-1], row[-1] is not None))
    return {
        rid: hash(
            (
                _sorted(cats.get(rid, ())),
                _sorted(dists.get(rid, ())),
                _sorted(scheds.get(rid, ()), key=repr),
            )
        )
        for rid in ids
    }


_COMPARED = (
    "name",
    "kana",
    "description",
    "organization_id",
    "venue_id",
    "address",
    "building",
    "lat",
    "lon",
    "capacity",
    "seats_left",
    "accepts_new",
    "fee",
    "fee_yen",
    "eligibility",
    "min_age",
    "eligibility_attributes",
    "transport",
    "phone",
    "url",
    "status",
    "public",
    "last_verified_on",
    "notes",
    "extra",
    "schedule_days",
    "schedule_start",
    "schedule_end",
    "schedule_note",
    "schedule_understood",
)
_JSON_POSITIONS = frozenset(  # eligibility_attributes, extra: lists and dicts
    i for i, key in enumerate(_COMPARED) if isinstance(Resource.__table__.c[key].type, JSON)
)


@dataclass(frozen=True, slots=True)
class _Existing:
    id: int
    version: int
    digest: int  # of the _COMPARED columns, in order (see _digest)


def _digests(values: dict[str, list[Any]]) -> list[int]:
    """The fingerprint of every row of the file's _COMPARED values, as :func:`_existing`
    reads them from the database, computed column-wise (C-speed hashing)."""
    columns: list[Sequence[Any]] = []
    for i, key in enumerate(_COMPARED):
        column = values[key]
        if i in _JSON_POSITIONS:  # the stored text; values are shared: serialise each once
            distinct = {id(v): v for v in column}
            texts = {i: json.dumps(v) for i, v in distinct.items()}
            column = [texts[id(v)] for v in column]
        columns.append(column)
    return list(map(hash, zip(*columns, strict=True)))


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _organizations(session: Session, names: Iterable[str | None]) -> dict[str, int]:
    """Reuse organisations by normalised name; create the missing ones.

    Returns the id for every spelling given (㈱つなぐ and (株)つなぐ are one organisation).
    """
    all_names = {name for name in names if name}
    wanted: dict[str, str] = {}
    for name in all_names:
        wanted.setdefault(normalize(name), name)
    if not wanted:
        return {}
    ids: dict[str, int] = {}
    for chunk in _chunks(list(wanted), 5000):
        for org_id, key in session.execute(
            select(Organization.id, Organization.name_key).where(Organization.name_key.in_(chunk))
        ):
            ids[key] = org_id
    missing = [k for k in wanted if k not in ids]
    created = insert_returning_ids(
        session,
        _table(Organization),
        {"name": [wanted[k] for k in missing], "name_key": missing},
        "name_key",
    )
    ids.update(zip(missing, created, strict=True))
    return {name: ids[normalize(name)] for name in all_names}


def _venues(session: Session, checked: Checked) -> list[int | None]:
    """Link each row with coordinates to the nearest venue within 50 m, creating venues
    for places no known venue is near.

    New venues are placed first (a row far from every known venue and from every new
    venue before it founds one, so new venues are over 50 m apart), then every row links
    to the nearest of the known and new venues. Two resources in one new hall share one
    venue, and importing the same file again links every row to the same venue.
    """
    values = checked.values
    located = [n for n, lat in enumerate(values["lat"]) if lat is not None]
    result: list[int | None] = [None] * len(checked)
    if not located:
        return result
    lon = np.array([values["lon"][n] for n in located])
    lat = np.array([values["lat"][n] for n in located])
    known = session.execute(select(Venue.id, Venue.lon, Venue.lat)).tuples().all()
    known_lon = np.array([k[1] for k in known], dtype=float)
    known_lat = np.array([k[2] for k in known], dtype=float)
    near_known = np.zeros(len(located), dtype=bool)
    near_known[pairs_within(lon, lat, known_lon, known_lat, VENUE_LINK_M)[0]] = True
    pending = np.flatnonzero(~near_known)
    neighbours: dict[int, list[int]] = defaultdict(list)
    a_idx, b_idx, _ = pairs_within(
        lon[pending], lat[pending], lon[pending], lat[pending], VENUE_LINK_M
    )
    for a, b in zip(a_idx.tolist(), b_idx.tolist(), strict=True):
        if b < a:
            neighbours[a].append(b)
    is_leader: list[bool] = []
    for a in range(len(pending)):
        is_leader.append(not any(is_leader[b] for b in neighbours.get(a, ())))
    leaders = pending[np.array(is_leader, dtype=bool)] if len(pending) else pending
    new_ids = _create_venues(session, checked, [located[k] for k in leaders.tolist()])
    # Every row: the nearest of all venues, known and new (a new venue's own row: itself).
    ids = [k[0] for k in known] + new_ids
    src, dst = nearest_within(
        lon,
        lat,
        np.concatenate([known_lon, lon[leaders]]),
        np.concatenate([known_lat, lat[leaders]]),
        VENUE_LINK_M,
    )
    for s, d in zip(src.tolist(), dst.tolist(), strict=True):
        result[located[s]] = ids[d]
    return result


def _create_venues(session: Session, checked: Checked, rows: list[int]) -> list[int]:
    """A venue at each of these rows' coordinates, named after its building or resource."""
    if not rows:
        return []
    values = checked.values
    lat_col, lon_col = values["lat"], values["lon"]
    placed = locate_points(
        districts_frame(session), [lon_col[n] for n in rows], [lat_col[n] for n in rows]
    )
    tree_map = ancestor_map(session)
    municipality_codes = dict(
        session.execute(select(District.id, District.code).where(District.level == "municipality"))
        .tuples()
        .all()
    )
    prefixes: dict[int | None, str] = {None: ""}
    for district_id in set(placed):
        municipality = ancestor_at(tree_map, district_id, "municipality") if district_id else None
        prefixes[district_id] = municipality_codes.get(municipality, "") if municipality else ""
    building, name, name_key = values["building"], values["name"], values["name_key"]
    now = utcnow()
    return insert_returning_ids(
        session,
        _table(Venue),
        {
            # Keyed by place: a venue first seen at these coordinates (any other point
            # within 50 m would have been linked to an existing venue instead).
            "code": [
                f"{prefixes[d]}:{lat_col[n]:.6f},{lon_col[n]:.6f}"
                for n, d in zip(rows, placed, strict=True)
            ],
            "name": [building[n] or name[n] for n in rows],
            "name_key": [normalize(building[n]) if building[n] else name_key[n] for n in rows],
            "address": [values["address"][n] for n in rows],
            "lat": [lat_col[n] for n in rows],
            "lon": [lon_col[n] for n in rows],
            "district_id": list(placed),
            "properties": [{"created_from": values["external_id"][n]} for n in rows],
            "updated_at": [now] * len(rows),
        },
        "code",
    )
