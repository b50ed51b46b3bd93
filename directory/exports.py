"""Open exports of the directory: GeoJSON, Open Referral HSDS 3.0 JSON and iCalendar.

These files leave the building (council web site, open-data portals, residents'
calendar apps), so every function here starts from the *published* set — 公開=可 and not
終了 — unless ``include_private=True``, and copies only allow-listed fields. Nothing here
reads needs, notes (備考), capacity or the standard set's extra columns: a field that is
not named below cannot leak (SECURITY_NOTES.md, "published maps and exports").

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
import json
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from directory import schedules as sched
from directory.errors import DirectoryError
from directory.models import Category, District, Resource, Schedule, Venue
from directory.weekdays import WEEKDAY_CODES

__all__ = [
    "GEOJSON_PROPERTIES",
    "HSDS_VERSION",
    "ID_NAMESPACE",
    "TIMEZONE",
    "ExportNotFoundError",
    "default_window",
    "district_ics",
    "district_resources",
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
    """A UUID that stays the same for the same thing across exports (diffable files)."""
    return str(uuid.uuid5(ID_NAMESPACE, f"{kind}:{key}"))


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


def published_resources(
    session: Session, *, include_private: bool = False, external_ids: Sequence[str] | None = None
) -> list[Resource]:
    """The resources an export may contain (公開=可 and not 終了, unless
    ``include_private``), with what the exports read loaded eagerly."""
    stmt = (
        select(Resource)
        .options(
            selectinload(Resource.categories),
            selectinload(Resource.districts),
            selectinload(Resource.schedules),
            selectinload(Resource.organization),
            selectinload(Resource.venue),
        )
        .order_by(Resource.external_id)
    )
    if not include_private:
        stmt = stmt.where(Resource.public.is_(True), Resource.status != "ended")
    if external_ids is not None:
        stmt = stmt.where(Resource.external_id.in_(list(external_ids)))
    return list(session.scalars(stmt))


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
    return sched.describe(sched.parse_schedule(source), lang) if source else ""


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


def resources_geojson(session: Session, *, include_private: bool = False) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (RFC 7946) of resources for maps and open-data portals.

    Published resources only unless ``include_private``. A located resource is a Point; one
    served by districts only is the union of those districts (``location`` says which); one
    with neither is omitted. Properties are exactly :data:`GEOJSON_PROPERTIES`.
    """
    areas = _Areas(session)
    features: list[dict[str, Any]] = []
    for r in published_resources(session, include_private=include_private):
        point = _point(r)
        served = sorted(r.districts, key=lambda d: d.code)
        if point is not None:
            geometry: dict[str, Any] | None = {"type": "Point", "coordinates": list(point)}
            location = "point"
        else:
            geometry = areas.union(d.id for d in served)
            location = "service_area"
        if geometry is None:
            continue
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
        features.append(
            {"type": "Feature", "id": r.external_id, "geometry": geometry, "properties": properties}
        )
    return {"type": "FeatureCollection", "features": features}


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
    out = []
    seen: set[tuple[Any, ...]] = set()
    for n, s in enumerate(rows):
        ps = _parsed(s)
        if ps.rrule is None:
            continue
        bare, kept = _rule_occurrences(ps, start, end)
        keep = [w for w in kept if _key(ps, w) not in seen]
        seen.update(_key(ps, w) for w in keep)
        if not keep:
            continue
        keep_set = set(keep)
        exdates = [w for w in bare if w > keep[0] and w not in keep_set]
        out.append((n, ps, keep, exdates))
    if out:
        return out, None
    if all(_parsed(s).rrule is None for s in rows):
        return [], "繰り返す曜日・日付の記載がありません"
    return [], f"{start.isoformat()}～{end.isoformat()} に該当する日がありません"


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


def _events(r: Resource, start: dt.date, end: dt.date) -> tuple[list[Any], str | None]:
    """The VEVENTs of one resource, and a note when its schedule cannot be written."""
    from icalendar import Event
    from icalendar.enums import STATUS

    rows, reason = _expressible(r, start, end)
    events = []
    point = _point(r)
    labels = [c.label_ja for c in sorted(r.categories, key=lambda c: c.code)]
    for n, ps, keep, exdates in rows:
        first = keep[0]
        timed = ps.start_time is not None
        begin: dt.datetime | dt.date = first.replace(tzinfo=TIMEZONE) if timed else first.date()
        finish = None
        if timed and ps.end_time is not None:
            finish = dt.datetime.combine(first.date(), ps.end_time, TIMEZONE)
        event = Event.new(
            uid=stable_id("event", f"{r.external_id}:{n}"),
            stamp=_stamp(r),
            summary=r.name,
            start=begin,
            end=finish,
            location=_place(r) or None,
            description=_source_text(r) or None,
            url=_url(r.url),
            categories=labels,
            # 休止中: the pattern is kept (it resumes) but no session takes place.
            status=STATUS.CONFIRMED if r.status == "active" else STATUS.CANCELLED,
        )
        event.add("rrule", _rrule(ps, first, end))
        if exdates:
            event.add(
                "exdate", [w.replace(tzinfo=TIMEZONE) if timed else w.date() for w in exdates]
            )
        if point is not None:
            event.add("geo", (point[1], point[0]))
        if not timed and ps.end_time is not None:
            # 「～12:00」 with no start: RFC 5545 cannot end an all-day event at a time.
            event.add("x-tsunagu-end-time", f"{ps.end_time:%H:%M}")
        event.add("x-tsunagu-resource", r.external_id)
        events.append(event)
    note = None
    if not events and reason is not None:
        note = f"{r.external_id} {r.name}: {_source_text(r)}（{reason}）"
    return events, note


def _calendar(
    name: str, uid_key: str, resources: Iterable[Resource], start: dt.date, end: dt.date
) -> bytes:
    from icalendar import Calendar, Timezone

    cal = Calendar.new(
        prodid=PRODID,
        uid=stable_id("calendar", uid_key),
        name=name,
        description=f"{start.isoformat()}～{end.isoformat()}（祝日・年末年始はこの期間について除外済み）",
    )
    cal.add("calscale", "GREGORIAN")
    cal.add("x-tsunagu-window", f"{start.isoformat()}/{end.isoformat()}")
    # Always present, so even a calendar without events has a component (RFC 5545).
    cal.add_component(Timezone.from_tzid("Asia/Tokyo"))
    for r in resources:
        events, note = _events(r, start, end)
        for event in events:
            cal.add_component(event)
        if note:
            cal.add("x-tsunagu-unscheduled", note)
    cal.add_missing_timezones()
    return cal.to_ical()


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
    start, end = default_window(start, end)
    return _calendar(
        "地域資源",
        "resources",
        published_resources(session, include_private=include_private),
        start,
        end,
    )


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
        for r in published_resources(session, include_private=include_private)
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
        parts = dict(p.split("=", 1) for p in ps.rrule.split(";"))
        freq = parts.get("FREQ")
        fields: dict[str, Any] = {}
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
        windows = _season_windows(months, start, end) if months else [None]
        for window in windows:
            key = f"{r.external_id}:{n}" + (f":{window[0].year}" if window else "")
            item = {"id": stable_id("schedule", key), **base, **fields}
            if window:
                item["valid_from"], item["valid_to"] = (
                    window[0].isoformat(),
                    window[1].isoformat(),
                )
            out.append(item)
    return out


def _iso_z(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _drop_none(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if v is not None}


def resources_hsds(
    session: Session,
    *,
    include_private: bool = False,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> dict[str, Any]:
    """Open Referral HSDS 3.0 in its flat (tabular) shape, one JSON list per table.

    Tables: organizations, services, phones, locations, service_at_locations, schedules,
    service_areas, taxonomies, taxonomy_terms, attributes. Only what published resources
    reference is written. Addresses are kept as written in ``location.description``: HSDS
    ``address`` requires postal_code, city and state_province, which §3 does not hold
    separately, and inventing them would be worse than leaving the table out. A service
    without 団体名 belongs to one organization named 「（運営団体の登録なし）」, because
    the tabular form requires ``organization_id``.
    """
    start, end = default_window(start, end)
    areas = _Areas(session)
    resources = published_resources(session, include_private=include_private)
    categories = {c.code: c for c in session.scalars(select(Category))}
    taxonomy_id = stable_id("taxonomy", "tsunagu")

    organizations: dict[str, dict[str, Any]] = {}
    org_services: dict[str, list[str]] = defaultdict(list)
    locations: dict[str, dict[str, Any]] = {}
    services, phones, links, schedules, service_areas, attributes = [], [], [], [], [], []
    terms: dict[str, dict[str, Any]] = {}

    def term(code: str) -> str:
        if code not in terms:
            c = categories[code]
            terms[code] = _drop_none(
                {
                    "id": stable_id("taxonomy_term", code),
                    "code": code,
                    "name": c.label_ja,
                    "description": f"{c.label_ja}（{c.label_en}）",
                    "parent_id": term(c.parent_code) if c.parent_code else None,
                    "taxonomy": "tsunagu",
                    "language": "ja",
                    "taxonomy_id": taxonomy_id,
                }
            )
        return terms[code]["id"]

    for r in resources:
        service_id = stable_id("service", r.external_id)
        org_name = r.organization.name if r.organization else _NO_ORGANIZATION
        org_key = r.organization.name_key if r.organization else ""
        org_id = stable_id("organization", org_key)
        organizations.setdefault(org_id, {"id": org_id, "name": org_name})
        org_services[org_id].append(r.name)
        services.append(
            _drop_none(
                {
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
                }
            )
        )
        if r.phone:
            phones.append(
                {
                    "id": stable_id("phone", r.external_id),
                    "service_id": service_id,
                    "number": r.phone,
                }
            )
        point = _point(r)
        if point is not None:
            if r.venue is not None:
                location_id = stable_id("location", f"venue:{r.venue.code}")
                name, description = r.venue.name, r.venue.address or r.address
            else:
                location_id = stable_id("location", f"resource:{r.external_id}")
                name, description = r.building or r.name, r.address
            locations.setdefault(
                location_id,
                _drop_none(
                    {
                        "id": location_id,
                        "location_type": "physical",
                        "name": name,
                        "description": description,
                        "latitude": point[1],
                        "longitude": point[0],
                    }
                ),
            )
            where = " ".join(p for p in (r.address, r.building) if p) or None
            links.append(
                _drop_none(
                    {
                        "id": stable_id("service_at_location", r.external_id),
                        "service_id": service_id,
                        "location_id": location_id,
                        "description": where,
                    }
                )
            )
        schedules.extend(_hsds_schedules(r, service_id, start, end))
        for d in sorted(r.districts, key=lambda d: d.code):
            service_areas.append(
                {
                    "id": stable_id("service_area", f"{r.external_id}:{d.code}"),
                    "service_id": service_id,
                    "name": d.name,
                    "extent": json.dumps(areas.geometry(d.id), ensure_ascii=False),
                    "extent_type": "geojson",
                }
            )
        for c in sorted(r.categories, key=lambda c: c.code):
            attributes.append(
                {
                    "id": stable_id("attribute", f"{r.external_id}:{c.code}"),
                    "link_id": service_id,
                    "link_entity": "service",
                    "link_type": "category",
                    "taxonomy_term_id": term(c.code),
                }
            )
    for org_id, org in organizations.items():
        org["description"] = "運営する地域資源: " + "、".join(org_services[org_id])
    return {
        "hsds_version": HSDS_VERSION,
        "valid_from": start.isoformat(),
        "valid_to": end.isoformat(),
        "organizations": sorted(organizations.values(), key=lambda o: o["name"]),
        "services": services,
        "phones": phones,
        "locations": sorted(locations.values(), key=lambda loc: loc["id"]),
        "service_at_locations": links,
        "schedules": schedules,
        "service_areas": service_areas,
        "taxonomies": [
            {
                "id": taxonomy_id,
                "name": "つなぐ 地域資源の分類",
                "description": "生活支援・介護予防の地域資源の分類（DATA_FORMATS §1）。code は英語の識別子、name は日本語の表示名",
                "version": "1",
            }
        ]
        if terms
        else [],
        "taxonomy_terms": sorted(terms.values(), key=lambda t: t["code"]),
        "attributes": attributes,
    }
