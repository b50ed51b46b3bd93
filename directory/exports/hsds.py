"""Open exports of the directory: GeoJSON, Open Referral HSDS 3.0 JSON and iCalendar.

These files leave the building (council web site, open-data portals, residents'
calendar apps), so every function here starts from the *published* set — 公開=可 and not
終了 — unless ``include_private=True``, and copies only allow-listed fields. Nothing here
reads needs, notes (備考) or capacity, and of the standard set's extra columns only those
named in ``_EXTRA_FIELDS`` (バリアフリー情報, FAX, 郵便番号, 都道府県・市区町村): a field that
is not named here cannot leak (SECURITY_NOTES.md, "published maps and exports").

Every whole-directory export has a streaming form (``iter_resources_*``): UTF-8 chunks,
the database read in keyset batches of :data:`BATCH_SIZE`, so memory stays bounded at
national scale (150,000 resources); the in-memory forms give the same document.

Decisions (DATA_FORMATS §6):

* **Where a resource is.** Its own 緯度/経度 when written, else its venue's point. A
  resource with no point but with served districts (配食 for 全域, 除雪 for two districts)
  is a GeoJSON feature whose geometry is the union of those districts, with
  ``"location": "service_area"``, so residents still find it on a map; a resource with
  neither is left out of GeoJSON (HSDS and CSV still carry it).
* **Stable ids.** HSDS ids and iCalendar UIDs are UUIDv5 over the resource's external id
  (the file's ID column) in a fixed namespace, so re-exports diff cleanly. IDs must stay
  unique across every dataset that is merged.
* **A horizon.** RFC 5545 and HSDS have no rule for Japanese public holidays or for
  seasons that recur every year, so the calendar and HSDS files are written for a window:
  ``start`` (default: the first day of the current month in Japan, so every export in a
  month is identical) to ``end`` (default: two years later). Inside it, holidays
  (jpholiday, with 振替休日) and 12/29–1/3 are EXDATEs and the RRULE ends (UNTIL) at
  ``end``, so a calendar never shows a holiday session that will not happen. 隔週 is
  anchored on ``start`` exactly as :func:`directory.schedules.to_rrule_set` anchors it,
  so the calendar expands to the same occurrences as ``tsunagu schedule expand --from
  START``.
* **Schedules that cannot be expressed** (not understood, or no days written) give no
  VEVENT; the calendar names them in ``X-TSUNAGU-UNSCHEDULED`` properties and HSDS keeps
  them as a schedule with only the words (``description``) and a note.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any, cast
from zoneinfo import ZoneInfo

import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from directory import schedules as sched
from directory.errors import DirectoryError
from directory.models import (
    Category,
    District,
    Organization,
    Resource,
    Schedule,
    Venue,
    resource_category,
    resource_district,
)
from directory.weekdays import WEEKDAY_CODES

__all__ = [
    "BATCH_SIZE",
    "GEOJSON_PROPERTIES",
    "HSDS_VERSION",
    "ID_NAMESPACE",
    "TIMEZONE",
    "ExportNotFoundError",
    "Progress",
    "count_published",
    "default_window",
    "district_ics",
    "district_resources",
    "iter_published",
    "iter_resources_geojson",
    "iter_resources_hsds",
    "iter_resources_ics",
    "published_resources",
    "resource_ics",
    "resources_geojson",
    "resources_hsds",
    "resources_ics",
    "stable_id",
]

TIMEZONE = ZoneInfo("Asia/Tokyo")
#: UUIDv5 namespace of every id this module writes (fixed forever: ids must not move).
ID_NAMESPACE = uuid.UUID("6f1c7a52-2b7e-5d0c-9a4e-7473756e6167")
_NAMESPACE_BYTES = ID_NAMESPACE.bytes
HSDS_VERSION = "3.0"
PRODID = "-//Tsunagu//Tsunagu resource directory//JA"
HORIZON_YEARS = 2

#: The only properties a GeoJSON feature carries (the published allow-list).
GEOJSON_PROPERTIES = (
    "id",
    "name",
    "kana",
    "categories",
    "category_labels",
    "organization",
    "description",
    "schedule",
    "address",
    "building",
    "phone",
    "url",
    "fee",
    "eligibility",
    "transport",
    "status",
    "status_label",
    "last_verified_on",
    "service_area",
    "location",
)

_STATUS_LABEL = {"active": "活動中", "paused": "休止中", "ended": "終了"}
# HSDS 3.0 service.status: 休止中 is exactly "temporarily closed"; 終了 is "defunct".
_HSDS_STATUS = {"active": "active", "paused": "temporarily closed", "ended": "defunct"}
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_ALL_DAYS = ",".join(WEEKDAY_CODES)
_NO_ORGANIZATION = "（運営団体の登録なし）"


class ExportNotFoundError(DirectoryError, LookupError):
    """The resource or district asked for does not exist or is not published."""


def stable_id(kind: str, key: str) -> str:
    """A UUID that stays the same for the same thing across exports (diffable files).

    ``uuid.uuid5(ID_NAMESPACE, f"{kind}:{key}")``, computed without building UUID
    objects: a national export makes over a million of them.
    """
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + f"{kind}:{key}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@lru_cache(maxsize=65_536)
def _shared_id(kind: str, key: str) -> str:
    """:func:`stable_id` of what many services name (an organization, a venue, a
    district): computed once."""
    return stable_id(kind, key)


#: One JSON encoder for every streamed object (no circular check: the objects are trees).
_ENCODE = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode


def default_window(
    start: dt.date | None = None, end: dt.date | None = None
) -> tuple[dt.date, dt.date]:
    """``start`` (default: the 1st of this month in Japan) and ``end`` (default: two years
    later, the day before): the window in which holidays and seasons are written out."""
    if start is None:
        start = dt.datetime.now(TIMEZONE).date().replace(day=1)
    if end is None:
        try:
            later = start.replace(year=start.year + HORIZON_YEARS)
        except ValueError:  # 29 February
            later = start.replace(year=start.year + HORIZON_YEARS, day=28)
        end = later - dt.timedelta(days=1)
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    return start, end


# ----------------------------------------------------------------------------- loading


#: Resources read per database round trip by the streaming exports: the ORM objects of
#: one batch (with their categories, districts, schedules…) are all that is held.
BATCH_SIZE = 1000

#: ``progress(done, total)``: called after each batch of a streaming export.
Progress = Callable[[int, int], None]


def _published_query(include_private: bool) -> Select[tuple[Resource]]:
    stmt = select(Resource).options(
        selectinload(Resource.categories),
        selectinload(Resource.districts),
        selectinload(Resource.schedules),
        selectinload(Resource.organization),
        selectinload(Resource.venue),
    )
    if not include_private:
        stmt = stmt.where(Resource.public.is_(True), Resource.status != "ended")
    return stmt


def published_resources(
    session: Session, *, include_private: bool = False, external_ids: Sequence[str] | None = None
) -> list[Resource]:
    """The resources an export may contain (公開=可 and not 終了, unless
    ``include_private``), with what the exports read loaded eagerly."""
    stmt = _published_query(include_private).order_by(Resource.external_id)
    if external_ids is not None:
        stmt = stmt.where(Resource.external_id.in_(list(external_ids)))
    return list(session.scalars(stmt))


def count_published(session: Session, *, include_private: bool = False) -> int:
    """How many resources :func:`iter_published` yields (for a Page head, a progress bar)."""
    stmt = select(func.count()).select_from(Resource)
    if not include_private:
        stmt = stmt.where(Resource.public.is_(True), Resource.status != "ended")
    return int(session.scalar(stmt) or 0)


class _Record:
    """A resource as the streaming exports read it: the columns they may read (named as
    on :class:`~directory.models.Resource`) and its links, with no ORM bookkeeping
    (loading ORM objects cost more than writing them at 150,000 resources). A column not
    in :data:`_RECORD_COLUMNS` (備考, 定員…) is not there to leak."""

    id: int
    external_id: str
    categories: list[Category]
    districts: list[District]
    schedules: list[Any]
    organization: Any
    venue: Any

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
        self.categories, self.districts, self.schedules = [], [], []
        self.organization = self.venue = None


_ORGANIZATION_COLUMNS = (Organization.id, Organization.name, Organization.name_key)
_VENUE_COLUMNS = (Venue.id, Venue.code, Venue.name, Venue.address, Venue.lat, Venue.lon)

#: The columns of a resource the exports read (everything else stays in the database).
_RECORD_COLUMNS = (
    "id",
    "external_id",
    "name",
    "kana",
    "description",
    "organization_id",
    "venue_id",
    "address",
    "building",
    "lat",
    "lon",
    "fee",
    "fee_yen",
    "eligibility",
    "min_age",
    "transport",
    "phone",
    "url",
    "status",
    "public",
    "last_verified_on",
    "extra",
    "updated_at",
)


def iter_published(
    session: Session,
    *,
    include_private: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> Iterator[Resource]:
    """:func:`published_resources` in the same order with the same attributes, read in
    keyset pages of ``batch_size`` so a national directory (150,000 resources) never sits
    in memory.

    The items are lightweight read-only records (Core rows plus their categories,
    districts, schedules, organization and venue), not ORM objects: read them, never
    change them. Categories and districts are few and shared: loaded once.
    """
    total = count_published(session, include_private=include_private) if progress else 0
    categories = {c.code: c for c in session.scalars(select(Category))}
    districts = {d.id: d for d in session.scalars(select(District))}
    table = Resource.__table__
    base = select(*(table.c[name] for name in _RECORD_COLUMNS))
    if not include_private:
        base = base.where(table.c.public.is_(True), table.c.status != "ended")
    last: str | None = None
    done = 0
    while True:
        stmt = base.order_by(table.c.external_id).limit(batch_size)
        if last is not None:
            stmt = stmt.where(table.c.external_id > last)
        batch = {row.id: _Record(row._asdict()) for row in session.execute(stmt)}
        if not batch:
            return
        ids = list(batch)
        link = resource_category.c
        for rid, code in session.execute(
            select(link.resource_id, link.category_code).where(link.resource_id.in_(ids))
        ):
            batch[rid].categories.append(categories[code])
        served = resource_district.c
        for rid, did in session.execute(
            select(served.resource_id, served.district_id).where(served.resource_id.in_(ids))
        ):
            batch[rid].districts.append(districts[did])
        schedule = Schedule.__table__
        for row in session.execute(
            select(schedule).where(schedule.c.resource_id.in_(ids)).order_by(schedule.c.id)
        ):
            batch[row.resource_id].schedules.append(row)
        records = list(batch.values())
        for columns, key, attribute in (
            (_ORGANIZATION_COLUMNS, "organization_id", "organization"),
            (_VENUE_COLUMNS, "venue_id", "venue"),
        ):
            wanted = {k for r in records if (k := getattr(r, key)) is not None}
            if wanted:
                found = {
                    row.id: row
                    for row in session.execute(select(*columns).where(columns[0].in_(wanted)))
                }
                for r in records:
                    setattr(r, attribute, found.get(getattr(r, key)))
        last = records[-1].external_id
        yield from cast("list[Resource]", records)
        done += len(records)
        del batch, records
        if progress is not None:
            progress(done, total)


def _point(r: Resource) -> tuple[float, float] | None:
    """(lon, lat): the resource's own coordinates, else its venue's."""
    if r.lat is not None and r.lon is not None:
        return r.lon, r.lat
    if r.venue is not None:
        return r.venue.lon, r.venue.lat
    return None


def _source_text(r: Resource) -> str:
    """The schedule as the importer read it (weekdays, times and notes in one text)."""
    return next((s.source_text for s in r.schedules if s.source_text), "") or ""


def _schedule_words(r: Resource, lang: str = "ja") -> str:
    source = _source_text(r)
    anchor = next((s.anchor_date for s in r.schedules if s.anchor_date is not None), None)
    return _describe(source, lang, anchor) if source else ""


@lru_cache(maxsize=65_536)
def _describe(source: str, lang: str, anchor: dt.date | None = None) -> str:
    """Schedule texts repeat heavily across a directory: each is described once (with the
    stored 隔週 anchor, so the words say what was stored)."""
    return sched.describe(sched.parse_schedule(source, anchor), lang)


def _address(r: Resource) -> str | None:
    return r.address or (r.venue.address if r.venue is not None else None)


def _url(value: str | None) -> str | None:
    """Only a real http(s) URL: the cell sometimes holds words (「なし」「準備中」)."""
    if value and _URL.fullmatch(value.strip()):
        return value.strip()
    return None


def _parsed(s: Schedule) -> sched.ParsedSchedule:
    return sched.ParsedSchedule(
        rrule=s.rrule,
        start_time=s.start_time,
        end_time=s.end_time,
        season_start_month=s.season_start_month,
        season_end_month=s.season_end_month,
        holiday_rule=s.holiday_rule,
        year_end_closed=s.year_end_closed,
        anchor_date=s.anchor_date,  # 隔週's week and a one-off date (ONE_DAY)
    )


def _season(ps: sched.ParsedSchedule) -> tuple[int, ...] | None:
    months = ps.season_months()
    return months if months and len(months) < 12 else None


# ----------------------------------------------------------------------------- GeoJSON


def _geojson_geometry(geom: BaseGeometry) -> dict[str, Any]:
    """RFC 7946 geometry: counter-clockwise exteriors, 1e-7° (≈1 cm) precision."""
    geom = shapely.orient_polygons(shapely.set_precision(geom, 1e-7), exterior_cw=False)
    return json.loads(shapely.to_geojson(geom))


class _Areas:
    """District geometries and the hierarchy, loaded once per export."""

    def __init__(self, session: Session):
        self.by_id: dict[int, District] = {d.id: d for d in session.scalars(select(District))}
        self.children: dict[int, list[int]] = defaultdict(list)
        for d in self.by_id.values():
            if d.parent_id is not None:
                self.children[d.parent_id].append(d.id)
        self._unions: dict[frozenset[int], dict[str, Any]] = {}

    def union(self, ids: Iterable[int]) -> dict[str, Any] | None:
        key = frozenset(ids)
        if not key:
            return None
        if key not in self._unions:
            geom = shapely.union_all([self.by_id[i].geometry for i in sorted(key)])
            self._unions[key] = _geojson_geometry(geom)
        return self._unions[key]

    def geometry(self, district_id: int) -> dict[str, Any]:
        return self.union([district_id]) or {}

    def descendants(self, district_id: int) -> set[int]:
        found, todo = set(), [district_id]
        while todo:
            current = todo.pop()
            if current not in found:
                found.add(current)
                todo.extend(self.children.get(current, []))
        return found

    def ancestors(self, district_id: int) -> set[int]:
        found: set[int] = set()
        current: int | None = district_id
        while current is not None and current not in found:
            found.add(current)
            current = self.by_id[current].parent_id
        return found


def _feature(r: Resource, areas: _Areas) -> dict[str, Any] | None:
    """The GeoJSON Feature of one resource, or None when it has nothing to draw."""
    point = _point(r)
    served = sorted(r.districts, key=lambda d: d.code)
    if point is not None:
        geometry: dict[str, Any] | None = {"type": "Point", "coordinates": list(point)}
        location = "point"
    else:
        geometry = areas.union(d.id for d in served)
        location = "service_area"
    if geometry is None:
        return None
    categories = sorted(r.categories, key=lambda c: c.code)
    properties = {
        "id": r.external_id,
        "name": r.name,
        "kana": r.kana,
        "categories": [c.code for c in categories],
        "category_labels": [c.label_ja for c in categories],
        "organization": r.organization.name if r.organization else None,
        "description": r.description,
        "schedule": _schedule_words(r),
        "address": _address(r),
        "building": r.building,
        "phone": r.phone,
        "url": _url(r.url),
        "fee": r.fee,
        "eligibility": r.eligibility,
        "transport": r.transport,
        "status": r.status,
        "status_label": _STATUS_LABEL.get(r.status, r.status),
        "last_verified_on": r.last_verified_on.isoformat() if r.last_verified_on else None,
        "service_area": [d.name for d in served],
        "location": location,
    }
    assert tuple(properties) == GEOJSON_PROPERTIES  # the allow-list is the contract
    return {"type": "Feature", "id": r.external_id, "geometry": geometry, "properties": properties}


def resources_geojson(session: Session, *, include_private: bool = False) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (RFC 7946) of resources for maps and open-data portals.

    Published resources only unless ``include_private``. A located resource is a Point; one
    served by districts only is the union of those districts (``location`` says which); one
    with neither is omitted. Properties are exactly :data:`GEOJSON_PROPERTIES`.
    """
    areas = _Areas(session)
    features = [
        f
        for r in published_resources(session, include_private=include_private)
        if (f := _feature(r, areas)) is not None
    ]
    return {"type": "FeatureCollection", "features": features}


def iter_resources_geojson(
    session: Session,
    *,
    include_private: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> Iterator[bytes]:
    """:func:`resources_geojson` as UTF-8 JSON chunks, read from the database in batches."""
    areas = _Areas(session)
    yield b'{"type": "FeatureCollection", "features": ['
    first = True
    for r in iter_published(
        session, include_private=include_private, batch_size=batch_size, progress=progress
    ):
        feature = _feature(r, areas)
        if feature is None:
            continue
        text = _ENCODE(feature)
        yield (text if first else ",\n" + text).encode()
        first = False
    yield b"]}\n"


# ------------------------------------------------------------------------ occurrences


@lru_cache(maxsize=8192)
def _rule_occurrences(
    ps: sched.ParsedSchedule, start: dt.date, end: dt.date
) -> tuple[tuple[dt.datetime, ...], tuple[dt.datetime, ...]]:
    """(every occurrence of the bare rule, the occurrences left after holidays and
    年末年始) in the window, exactly as :func:`directory.schedules.expand` computes them.

    Cached: schedule texts repeat heavily across a directory.
    """
    bare = replace(ps, holiday_rule=sched.HOLIDAY_OPEN, year_end_closed=False)
    return (tuple(sched.to_rrule_set(bare, start, end)), tuple(sched.to_rrule_set(ps, start, end)))


def _key(ps: sched.ParsedSchedule, when: dt.datetime) -> tuple[Any, ...]:
    """What makes two occurrences the same for :func:`directory.schedules.expand`."""
    return (when if ps.start_time else when.date(), ps.end_time)


def _expressible(
    r: Resource, start: dt.date, end: dt.date
) -> tuple[
    list[tuple[int, sched.ParsedSchedule, list[dt.datetime], list[dt.datetime]]], str | None
]:
    """The schedule rows an RRULE can carry, each with its kept occurrences and EXDATEs,
    or the reason why nothing can be written.

    An occurrence already given by an earlier row of the same resource is excluded from
    the later row, because ``expand`` returns each occurrence once.
    """
    rows = list(r.schedules)
    if not rows:
        return [], None
    if any(not s.understood for s in rows):
        parse = sched.parse_schedule(_source_text(r))
        return [], "解釈できない記述: " + "、".join(parse.not_understood or (_source_text(r),))
    out, reason = _expressible_rules(tuple(_parsed(s) for s in rows), start, end)
    return [(n, ps, list(keep), list(exdates)) for n, ps, keep, exdates in out], reason


@lru_cache(maxsize=4096)
def _expressible_rules(
    rules: tuple[sched.ParsedSchedule, ...], start: dt.date, end: dt.date
) -> tuple[
    tuple[tuple[int, sched.ParsedSchedule, tuple[dt.datetime, ...], tuple[dt.datetime, ...]], ...],
    str | None,
]:
    """:func:`_expressible` for understood rows, cached by the rules: a directory has few
    distinct schedules, and walking two years of occurrences per resource is what made a
    national calendar slow."""
    out = []
    seen: set[tuple[Any, ...]] = set()
    for n, ps in enumerate(rules):
        if ps.rrule is None:
            continue
        bare, kept = _rule_occurrences(ps, start, end)
        keep = [w for w in kept if _key(ps, w) not in seen]
        seen.update(_key(ps, w) for w in keep)
        if not keep:
            continue
        keep_set = set(keep)
        exdates = tuple(w for w in bare if w > keep[0] and w not in keep_set)
        out.append((n, ps, tuple(keep), exdates))
    if out:
        return tuple(out), None
    if all(ps.rrule is None for ps in rules):
        return (), "繰り返す曜日・日付の記載がありません"
    return (), f"{start.isoformat()}～{end.isoformat()} に該当する日がありません"


# --------------------------------------------------------------------------- iCalendar


def _rrule(ps: sched.ParsedSchedule, first: dt.datetime, end: dt.date) -> Any:
    from icalendar import vRecur

    assert ps.rrule is not None
    recur = vRecur.from_ical(ps.rrule)
    months = _season(ps)
    if months:
        recur["BYMONTH"] = sorted(months)
    if int(recur.get("INTERVAL", [1])[0]) > 1:
        recur["WKST"] = ["MO"]  # RFC 5545's default, written out because 隔週 counts weeks
    if ps.start_time is not None:
        until = dt.datetime.combine(end, ps.start_time, TIMEZONE).astimezone(dt.UTC)
        recur["UNTIL"] = [until]
    else:
        recur["UNTIL"] = [end]
    return recur


def _place(r: Resource) -> str:
    venue = r.venue.name if r.venue is not None else None
    parts = [p for p in (venue, r.building, _address(r)) if p]
    return " ".join(dict.fromkeys(parts))


def _stamp(r: Resource) -> dt.datetime:
    return (r.updated_at or dt.datetime(1970, 1, 1)).replace(tzinfo=dt.UTC)


def _events(r: Resource, start: dt.date, end: dt.date) -> tuple[list[bytes], str | None]:
    """The VEVENTs of one resource (serialised), and a note when its schedule cannot be
    written. The lines that depend only on the rule (DTSTART, DTEND, RRULE, EXDATE) are
    made once per rule (:func:`_rule_lines`): serialising two years of holiday EXDATEs for
    every resource was most of a national calendar's time."""
    from icalendar import Event
    from icalendar.enums import STATUS

    rows, reason = _expressible(r, start, end)
    events = []
    point = _point(r)
    labels = [c.label_ja for c in sorted(r.categories, key=lambda c: c.code)]
    for n, ps, keep, exdates in rows:
        event = Event.new(
            uid=stable_id("event", f"{r.external_id}:{n}"),
            stamp=_stamp(r),
            summary=r.name,
            location=_place(r) or None,
            description=_source_text(r) or None,
            url=_url(r.url),
            categories=labels,
            # 休止中: the pattern is kept (it resumes) but no session takes place.
            status=STATUS.CONFIRMED if r.status == "active" else STATUS.CANCELLED,
        )
        if point is not None:
            event.add("geo", (point[1], point[0]))
        event.add("x-tsunagu-resource", r.external_id)
        text = event.to_ical()
        end_line = b"END:VEVENT\r\n"
        assert text.endswith(end_line)
        events.append(
            text[: -len(end_line)] + _rule_lines(ps, keep[0], tuple(exdates), end) + end_line
        )
    note = None
    if not events and reason is not None:
        note = f"{r.external_id} {r.name}: {_source_text(r)}（{reason}）"
    return events, note


@lru_cache(maxsize=4096)
def _rule_lines(
    ps: sched.ParsedSchedule, first: dt.datetime, exdates: tuple[dt.datetime, ...], end: dt.date
) -> bytes:
    """DTSTART, DTEND, RRULE, EXDATE (and X-TSUNAGU-END-TIME) of one rule, serialised."""
    from icalendar import Event

    timed = ps.start_time is not None
    begin: dt.datetime | dt.date = first.replace(tzinfo=TIMEZONE) if timed else first.date()
    event = Event()
    event.add("dtstart", begin)
    if timed and ps.end_time is not None:
        event.add("dtend", dt.datetime.combine(first.date(), ps.end_time, TIMEZONE))
    if ps.rrule != sched.ONE_DAY:  # a one-off date is its DTSTART alone
        event.add("rrule", _rrule(ps, first, end))
    if exdates:
        event.add("exdate", [w.replace(tzinfo=TIMEZONE) if timed else w.date() for w in exdates])
    if not timed and ps.end_time is not None:
        # 「～12:00」 with no start: RFC 5545 cannot end an all-day event at a time.
        event.add("x-tsunagu-end-time", f"{ps.end_time:%H:%M}")
    text = event.to_ical()
    head, tail = b"BEGIN:VEVENT\r\n", b"END:VEVENT\r\n"
    assert text.startswith(head) and text.endswith(tail)
    return text[len(head) : -len(tail)]


def _calendar_head(
    name: str, uid_key: str, notes: Iterable[str], start: dt.date, end: dt.date
) -> Any:
    from icalendar import Calendar, Timezone

    cal = Calendar.new(
        prodid=PRODID,
        uid=stable_id("calendar", uid_key),
        name=name,
        description=f"{start.isoformat()}～{end.isoformat()}（祝日・年末年始はこの期間について除外済み）",
    )
    cal.add("calscale", "GREGORIAN")
    cal.add("x-tsunagu-window", f"{start.isoformat()}/{end.isoformat()}")
    for note in notes:
        cal.add("x-tsunagu-unscheduled", note)
    # Always present, so even a calendar without events has a component (RFC 5545).
    cal.add_component(Timezone.from_tzid("Asia/Tokyo"))
    return cal


def _calendar(
    name: str, uid_key: str, resources: Iterable[Resource], start: dt.date, end: dt.date
) -> bytes:
    """The whole calendar in memory (one resource, one district)."""
    return b"".join(_iter_calendar(name, uid_key, resources, start, end))


def _iter_calendar(
    name: str,
    uid_key: str,
    resources: Iterable[Resource],
    start: dt.date,
    end: dt.date,
) -> Iterator[bytes]:
    """A calendar in chunks of whole lines: the head, the VEVENTs, the end.

    RFC 5545 puts calendar properties before components, and the unscheduled notes are
    properties known only once every resource is seen: the events are spooled to a
    temporary file (disk, not memory) while the notes are collected, then copied out.
    """
    notes: list[str] = []
    with tempfile.TemporaryFile() as spool:
        for r in resources:
            events, note = _events(r, start, end)
            for event in events:
                spool.write(event)
            if note is not None:
                notes.append(note)
        head = _calendar_head(name, uid_key, notes, start, end).to_ical()
        end_line = b"END:VCALENDAR\r\n"
        assert head.endswith(end_line)
        yield head[: -len(end_line)]
        spool.seek(0)
        while chunk := spool.read(1 << 20):
            yield chunk + spool.readline()  # whole lines: a reader may count BEGIN:VEVENT
    yield end_line


def resource_ics(
    session: Session,
    external_id: str,
    *,
    include_private: bool = False,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> bytes:
    """The iCalendar (RFC 5545) of one resource: one VEVENT per schedule row.

    Raises :class:`ExportNotFoundError` when the resource does not exist or is not
    published (unless ``include_private``). See the module docstring for the window.
    """
    start, end = default_window(start, end)
    found = published_resources(
        session, include_private=include_private, external_ids=[external_id]
    )
    if not found:
        raise ExportNotFoundError(f"no published resource {external_id!r}")
    r = found[0]
    return _calendar(r.name, f"resource:{external_id}", found, start, end)


def resources_ics(
    session: Session,
    *,
    include_private: bool = False,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> bytes:
    """One calendar of every published resource (all, with ``include_private``)."""
    return b"".join(
        iter_resources_ics(session, include_private=include_private, start=start, end=end)
    )


def iter_resources_ics(
    session: Session,
    *,
    include_private: bool = False,
    start: dt.date | None = None,
    end: dt.date | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> Iterator[bytes]:
    """:func:`resources_ics` in chunks, the database read in batches (see
    :func:`_iter_calendar` for why the events wait in a temporary file)."""
    start, end = default_window(start, end)
    chosen = iter_published(
        session, include_private=include_private, batch_size=batch_size, progress=progress
    )
    yield from _iter_calendar("地域資源", "resources", chosen, start, end)


def district_resources(
    session: Session, district_code: str, *, include_private: bool = False
) -> list[Resource]:
    """The resources of a district's calendar: those located in it (or in a district
    inside it) and those serving it, a district inside it, or one enclosing it (全域).
    """
    district = session.scalar(select(District).where(District.code == district_code))
    if district is None:
        raise ExportNotFoundError(f"no district {district_code!r}")
    areas = _Areas(session)
    inside = areas.descendants(district.id)
    related = inside | areas.ancestors(district.id)
    shapes = [areas.by_id[i].geometry for i in inside]
    venue_district = dict(session.execute(select(Venue.id, Venue.district_id)).tuples().all())

    def located_inside(r: Resource) -> bool:
        if r.venue_id is not None:
            return venue_district.get(r.venue_id) in inside
        if r.lat is None or r.lon is None:
            return False
        here = Point(r.lon, r.lat)
        return any(shape.covers(here) for shape in shapes)

    return [
        r
        for r in iter_published(session, include_private=include_private)
        if any(d.id in related for d in r.districts) or located_inside(r)
    ]


def district_ics(
    session: Session,
    district_code: str,
    *,
    include_private: bool = False,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> bytes:
    """The calendar of one district (any level): see :func:`district_resources`."""
    start, end = default_window(start, end)
    district = session.scalar(select(District).where(District.code == district_code))
    if district is None:
        raise ExportNotFoundError(f"no district {district_code!r}")
    chosen = district_resources(session, district_code, include_private=include_private)
    return _calendar(f"{district.name}の地域資源", f"district:{district_code}", chosen, start, end)


# ------------------------------------------------------------------------------- HSDS


def _hsds_time(t: dt.time | None) -> str | None:
    """HSDS opens_at/closes_at: HH:MM with the UTC offset, as the schema asks."""
    return None if t is None else f"{t:%H:%M}+09:00"


def _season_windows(
    months: tuple[int, ...], start: dt.date, end: dt.date
) -> list[tuple[dt.date, dt.date]]:
    """Each occurrence of a season (12月～3月) that overlaps the window, as date ranges."""
    first, last = months[0], months[-1]
    windows = []
    for year in range(start.year - 1, end.year + 1):
        begin = dt.date(year, first, 1)
        last_year = year + (1 if last < first else 0)
        next_month = dt.date(last_year + (last == 12), last % 12 + 1, 1)
        finish = next_month - dt.timedelta(days=1)
        if begin <= end and finish >= start:
            windows.append((begin, finish))
    return windows


def _closures(ps: sched.ParsedSchedule) -> list[str]:
    notes = []
    if ps.holiday_rule == sched.HOLIDAY_CLOSED:
        notes.append("祝日（振替休日を含む）は休み")
    if ps.year_end_closed:
        notes.append("年末年始（12月29日～1月3日）は休み")
    return notes


def _hsds_schedules(
    r: Resource, service_id: str, start: dt.date, end: dt.date
) -> list[dict[str, Any]]:
    """HSDS 3.0 schedules: RRULE fields where they can say it, the words always.

    HSDS 3.0 allows only WEEKLY and MONTHLY: 毎日 is WEEKLY on all seven days. It has no
    BYMONTH: a season becomes one schedule per season in the window (valid_from/valid_to).
    It has no EXDATE: holidays and 年末年始 go in ``notes``. 隔週 gets ``dtstart`` (the
    anchor week, as the calendar export) because HSDS needs it for ``interval``.
    """
    source = _source_text(r)
    rows = list(r.schedules)
    if not rows:
        return []
    base = {"service_id": service_id, "description": source}
    if any(not s.understood for s in rows) or all(s.rrule is None for s in rows):
        parse = sched.parse_schedule(source)
        note = (
            "解釈できない記述: " + "、".join(parse.not_understood)
            if not parse.understood
            else "繰り返す曜日・日付の記載がありません"
        )
        return [{"id": stable_id("schedule", f"{r.external_id}:text"), **base, "notes": note}]
    out = []
    for n, s in enumerate(rows):
        ps = _parsed(s)
        if ps.rrule is None:
            continue
        fields, windows = _schedule_fields(ps, start, end)
        for window in windows:
            key = f"{r.external_id}:{n}" + (f":{window[0][:4]}" if window else "")
            item = {"id": stable_id("schedule", key), **base, **dict(fields)}
            if window:
                item["valid_from"], item["valid_to"] = window
            out.append(item)
    return out


@lru_cache(maxsize=8192)
def _schedule_fields(
    ps: sched.ParsedSchedule, start: dt.date, end: dt.date
) -> tuple[tuple[tuple[str, Any], ...], tuple[tuple[str, str] | None, ...]]:
    """The HSDS fields of one schedule rule and its season windows (ISO dates), cached:
    a directory has few distinct rules."""
    assert ps.rrule is not None
    fields: dict[str, Any] = {}
    if ps.rrule == sched.ONE_DAY:  # one date: no recurrence, valid that day only
        if ps.anchor_date is None:
            return (), ()
        day = ps.anchor_date.isoformat()
        fields.update(dtstart=day, count=1, valid_from=day, valid_to=day)
        if ps.start_time is not None:
            fields["opens_at"] = _hsds_time(ps.start_time)
        if ps.end_time is not None:
            fields["closes_at"] = _hsds_time(ps.end_time)
        fields["timezone"] = 9
        return tuple(fields.items()), (None,)
    parts = dict(p.split("=", 1) for p in ps.rrule.split(";"))
    freq = parts.get("FREQ")
    if freq == "DAILY":
        fields.update(freq="WEEKLY", byday=_ALL_DAYS)
    else:
        fields["freq"] = freq
        for key in ("BYDAY", "BYMONTHDAY"):
            if key in parts:
                fields[key.lower()] = parts[key]
    interval = int(parts.get("INTERVAL", "1"))
    fields["interval"] = interval
    if interval > 1:
        bare, _ = _rule_occurrences(ps, start, end)
        if bare:
            fields["dtstart"] = bare[0].date().isoformat()
        fields["wkst"] = "MO"
    if ps.start_time is not None:
        fields["opens_at"] = _hsds_time(ps.start_time)
    if ps.end_time is not None:
        fields["closes_at"] = _hsds_time(ps.end_time)
    fields["timezone"] = 9
    notes = "。".join(_closures(ps))
    if notes:
        fields["notes"] = notes
    months = _season(ps)
    windows: tuple[tuple[str, str] | None, ...] = (
        tuple((w[0].isoformat(), w[1].isoformat()) for w in _season_windows(months, start, end))
        if months
        else (None,)
    )
    return tuple(fields.items()), windows


def _iso_z(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def _drop_none(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if v is not None}


#: The standard-set columns (DATA_FORMATS §3a) the HSDS export reads from ``extra``, by
#: name: every other extra column stays out (mail addresses, images, notes…).
_EXTRA_FIELDS: dict[str, tuple[str, ...]] = {
    "accessibility": ("バリアフリー情報", "barrierFreeInformation"),
    "fax": ("FAX番号", "FAXNumber"),
    "postal_code": ("郵便番号", "postalCode"),
    "prefecture": ("都道府県名", "所在地_都道府県", "prefectureName"),
    "city": ("市区町村名", "所在地_市区町村", "cityName"),
}
_PREFECTURE = re.compile(r"^(東京都|北海道|(?:京都|大阪)府|.{2,3}?県)")
_CITY = re.compile(
    r"^((?:[^0-9０-９\s]+?郡)?(?:[^0-9０-９\s]+?市[^0-9０-９\s]+?区|[^0-9０-９\s]+?[市区町村]))"
)


def _extra_value(r: Resource, field: str) -> str | None:
    extra = r.extra or {}
    for header in _EXTRA_FIELDS[field]:
        value = extra.get(header)
        if value is not None and str(value).strip():
            return str(value).strip()
    return None


class _HsdsContext:
    """What one HSDS export shares across services: the window, the taxonomy (written
    once, on the first term), district extents (each written once, on the first service
    that serves the district) and the municipality's name (the city of an address that
    does not spell it out)."""

    def __init__(self, session: Session, start: dt.date, end: dt.date):
        self.start, self.end = start, end
        self.areas = _Areas(session)
        self.categories = {c.code: c for c in session.scalars(select(Category))}
        self.taxonomy_id = stable_id("taxonomy", "tsunagu")
        self.extent_written: set[int] = set()
        self._terms: dict[str, dict[str, Any]] = {}
        self._taxonomy_written = False
        towns = [d for d in self.areas.by_id.values() if d.level == "municipality"]
        self.municipality = towns[0].name if len(towns) == 1 else None

    def term(self, code: str) -> dict[str, Any]:
        """The taxonomy term of a category (made once; the JSON writer only reads it)."""
        if code not in self._terms:
            self._terms[code] = self._term(code)
        if not self._taxonomy_written:  # the taxonomy itself: once, on the first term
            self._taxonomy_written = True
            detail = {
                "id": self.taxonomy_id,
                "name": TAXONOMY_NAME,
                "description": TAXONOMY_DESCRIPTION,
                "version": "1",
            }
            return {**self._terms[code], "taxonomy_detail": detail}
        return self._terms[code]

    def _term(self, code: str) -> dict[str, Any]:
        c = self.categories[code]
        return _drop_none(
            {
                "id": stable_id("taxonomy_term", code),
                "code": code,
                "name": c.label_ja,
                "description": f"{c.label_ja}（{c.label_en}）",
                "parent_id": stable_id("taxonomy_term", c.parent_code) if c.parent_code else None,
                "taxonomy": "tsunagu",
                "language": "ja",
                "taxonomy_id": self.taxonomy_id,
            }
        )

    def service_area(self, d: District) -> dict[str, Any]:
        area = {
            "id": _shared_id("service_area", d.code),
            "name": d.name,
            "description": f"{d.name}（地区コード {d.code}）",
            "extent_type": "geojson",
        }
        if d.id not in self.extent_written:
            self.extent_written.add(d.id)
            area["extent"] = json.dumps(self.areas.geometry(d.id), ensure_ascii=False)
        return area


TAXONOMY_NAME = "つなぐ 地域資源の分類"
TAXONOMY_DESCRIPTION = "生活支援・介護予防の地域資源の分類（DATA_FORMATS §1）。code は英語の識別子、name は日本語の表示名"


def _hsds_address(r: Resource, location_id: str, ctx: _HsdsContext) -> dict[str, Any] | None:
    """HSDS 3.0 address: 住所 as address_1, 方書 as address_2; prefecture and city from
    the standard set's columns, else read off the start of 住所, else (city) the
    municipality of the directory. ``postal_code`` and ``state_province`` are required by
    the schema: "" when the file does not say them (never invented)."""
    text = _address(r)
    if not text:
        return None
    rest = text
    prefecture = _extra_value(r, "prefecture")
    found = _PREFECTURE.match(rest)
    if found:
        prefecture = prefecture or found.group(1)
        rest = rest[found.end() :]
    city = _extra_value(r, "city")
    if city is None:
        found = _CITY.match(rest)
        city = found.group(1) if found else ctx.municipality
    return {
        "id": stable_id("address", location_id),
        "location_id": location_id,
        "address_1": text,
        "address_2": r.building if r.address else None,
        "city": city or "",
        "state_province": prefecture or "",
        "postal_code": _extra_value(r, "postal_code") or "",
        "country": "JP",
        "address_type": "physical",
    }


def _hsds_location(r: Resource, ctx: _HsdsContext) -> dict[str, Any] | None:
    """The place of a service: its own point/address, else its venue's (shared id)."""
    point = _point(r)
    accessibility = _extra_value(r, "accessibility")
    own = r.address is not None or (r.lat is not None and r.lon is not None) or accessibility
    if r.venue is not None and not own:
        location_id = _shared_id("location", f"venue:{r.venue.code}")
        name, description = r.venue.name, r.venue.address
    elif point is not None or _address(r):
        location_id = stable_id("location", f"resource:{r.external_id}")
        name = r.building or (r.venue.name if r.venue is not None else r.name)
        description = " ".join(p for p in (_address(r), r.building) if p) or None
    else:
        return None
    address = _hsds_address(r, location_id, ctx)
    location = {
        "id": location_id,
        "location_type": "physical",
        "name": name,
        "description": description,
        "latitude": point[1] if point else None,
        "longitude": point[0] if point else None,
        "addresses": [_drop_none(address)] if address else [],
        "accessibility": [
            {
                "id": stable_id("accessibility", location_id),
                "location_id": location_id,
                "description": accessibility,
            }
        ]
        if accessibility
        else [],
    }
    return _drop_none(location)


def _hsds_service(r: Resource, ctx: _HsdsContext) -> dict[str, Any]:
    """One HSDS 3.0 service object, nested as the HSDS API returns ``/services/{id}``."""
    service_id = stable_id("service", r.external_id)
    if r.organization is not None:
        org_id = _shared_id("organization", r.organization.name_key)
        org_name = r.organization.name
    else:
        org_id, org_name = stable_id("organization", ""), _NO_ORGANIZATION
    phones = []
    if r.phone:
        phones.append(
            {
                "id": stable_id("phone", r.external_id),
                "service_id": service_id,
                "number": r.phone,
                "type": "voice",
            }
        )
    fax = _extra_value(r, "fax")
    if fax:
        phones.append(
            {
                "id": stable_id("phone", f"{r.external_id}:fax"),
                "service_id": service_id,
                "number": fax,
                "type": "fax",
            }
        )
    cost_options = []
    if r.fee:
        cost_options.append(
            _drop_none(
                {
                    "id": stable_id("cost_option", r.external_id),
                    "service_id": service_id,
                    "option": r.fee,
                    "currency": "JPY" if r.fee_yen is not None else None,
                    "amount": r.fee_yen,
                    "amount_description": r.fee,
                }
            )
        )
    location = _hsds_location(r, ctx)
    links = []
    if location is not None:
        where = " ".join(p for p in (r.address, r.building) if p) or None
        links.append(
            _drop_none(
                {
                    "id": stable_id("service_at_location", r.external_id),
                    "service_id": service_id,
                    "location_id": location["id"],
                    "description": where,
                    "location": location,
                }
            )
        )
    attributes = [
        {
            "id": stable_id("attribute", f"{r.external_id}:{c.code}"),
            "link_id": service_id,
            "link_entity": "service",
            "link_type": "category",
            "taxonomy_term_id": stable_id("taxonomy_term", c.code),
            "taxonomy_term": ctx.term(c.code),
        }
        for c in sorted(r.categories, key=lambda c: c.code)
    ]
    service = {
        "id": service_id,
        "organization_id": org_id,
        "name": r.name,
        "alternate_name": r.kana,
        "description": r.description,
        "url": _url(r.url),
        "status": _HSDS_STATUS[r.status],
        "fees_description": r.fee,
        "eligibility_description": r.eligibility,
        "minimum_age": r.min_age,
        "assured_date": r.last_verified_on.isoformat() if r.last_verified_on else None,
        "last_modified": _iso_z(r.updated_at),
        "organization": {
            "id": org_id,
            "name": org_name,
            "description": f"{org_name}（つなぐ に登録された地域資源の運営団体）",
        },
        "phones": phones,
        "schedules": _hsds_schedules(r, service_id, ctx.start, ctx.end),
        "service_areas": [ctx.service_area(d) for d in sorted(r.districts, key=lambda d: d.code)],
        "service_at_locations": links,
        "languages": [
            {
                "id": stable_id("language", f"{r.external_id}:ja"),
                "service_id": service_id,
                "name": "日本語",
                "code": "ja",
                "note": "登録情報の言語（対応言語の記載はありません）",
            }
        ],
        "cost_options": cost_options,
        "attributes": attributes,
    }
    return _drop_none(service)


def _page_head(total: int) -> dict[str, Any]:
    """The HSDS API's Page object (``GET /services``), all services on one page."""
    return {
        "total_items": total,
        "total_pages": 1,
        "page_number": 1,
        "size": total,
        "first_page": True,
        "last_page": True,
        "empty": total == 0,
    }


def resources_hsds(
    session: Session,
    *,
    include_private: bool = False,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> dict[str, Any]:
    """Open Referral HSDS 3.0 as its API returns ``GET /services?full=true``: a Page whose
    ``contents`` are nested service objects (organization, phones with types, schedules,
    service_areas, service_at_locations → location with addresses and accessibility,
    languages, cost_options, attributes with their taxonomy terms).

    Everything in memory: for a whole directory use :func:`iter_resources_hsds`, which
    writes the same document in chunks. A service without 団体名 belongs to one
    organization named 「（運営団体の登録なし）」. A district's GeoJSON extent is written
    once, on the first service area that names it; later ones carry the same id without
    the polygon (the HSDS id is the reference).
    """
    start, end = default_window(start, end)
    ctx = _HsdsContext(session, start, end)
    contents = [
        _hsds_service(r, ctx) for r in published_resources(session, include_private=include_private)
    ]
    return {**_page_head(len(contents)), "contents": contents}


def iter_resources_hsds(
    session: Session,
    *,
    include_private: bool = False,
    start: dt.date | None = None,
    end: dt.date | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> Iterator[bytes]:
    """:func:`resources_hsds` as UTF-8 JSON chunks, reading the database in batches so
    memory stays bounded whatever the size of the directory."""
    start, end = default_window(start, end)
    ctx = _HsdsContext(session, start, end)
    total = count_published(session, include_private=include_private)
    head = json.dumps(_page_head(total), ensure_ascii=False)
    yield (head[:-1] + ', "contents": [').encode()
    for n, r in enumerate(
        iter_published(
            session, include_private=include_private, batch_size=batch_size, progress=progress
        )
    ):
        text = _ENCODE(_hsds_service(r, ctx))
        yield (text if n == 0 else ", " + text).encode()
    yield b"]}\n"
