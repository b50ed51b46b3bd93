"""What every open export shares: stable ids (UUIDv5 in a fixed namespace), the window
calendars and HSDS are written for, and the published fields of a resource as the exports
read them (its point, address, URL, schedule text and words, parsed schedule rows), and
district geometries (:class:`_Areas`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory import schedules as sched
from directory.errors import DirectoryError
from directory.fiscal import JAPAN
from directory.models import District, Resource, Schedule

TIMEZONE = JAPAN  # the one zone of directory.fiscal
#: UUIDv5 namespace of every id the exports write (fixed forever: ids must not move).
ID_NAMESPACE = uuid.UUID("6f1c7a52-2b7e-5d0c-9a4e-7473756e6167")
_NAMESPACE_BYTES = ID_NAMESPACE.bytes
HORIZON_YEARS = 2
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


class ExportNotFoundError(DirectoryError, LookupError):
    """The resource or district asked for does not exist or is not published."""


def stable_id(kind: str, key: str) -> str:
    """A UUID that stays the same for the same thing across exports (diffable files).

    ``uuid.uuid5(ID_NAMESPACE, f"{kind}:{key}")``, computed without building UUID
    objects: a national export makes over a million of them.
    """
    digest = _NAMESPACE_SHA1.copy()
    digest.update(f"{kind}:{key}".encode())
    h = digest.hexdigest()
    # version 5 in the 13th hex digit, the RFC 4122 variant (10xx) in the 17th
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


#: SHA-1 already fed the namespace (copied for each id), and each hex digit's variant form.
_NAMESPACE_SHA1 = hashlib.sha1(_NAMESPACE_BYTES)
_VARIANT = {f"{n:x}": f"{(n & 0x3) | 0x8:x}" for n in range(16)}


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


_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_NETLOC = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@\[\]%]+")
_URI_PATH_SAFE = "/%!$&'()*+,;=:@~"
_URI_QUERY_SAFE = _URI_PATH_SAFE + "?"


@lru_cache(maxsize=4096)
def _uri(value: str | None) -> str | None:
    """A resource's link as a URI (RFC 3986), the way a browser sends it: HSDS's
    ``service.url`` is ``format: uri``, iCalendar's URL property is a URI (RFC 5545
    §3.8.4.6) and GeoJSON consumers open it as one.

    Municipal pages are written as IRIs (a Japanese path or query, an IDN host, ``|``):
    their characters are percent-encoded in UTF-8 and the host IDNA-encoded (RFC 3987
    §3.1), so the link still opens the same page. Only what :func:`_url` accepts as an
    http(s) link; a host or port no URI can carry leaves the field out.
    """
    url = _url(value)
    if url is None:
        return None
    url = _LONE_PERCENT.sub("%25", url)
    parts = urlsplit(url)
    try:
        _ = parts.port  # raises on a port that is not a number
    except ValueError:
        return None
    netloc = parts.netloc
    if not netloc.isascii():
        userinfo, at, hostport = netloc.rpartition("@")
        host, colon, port = hostport.partition(":")
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
        netloc = quote(userinfo, safe=_URI_PATH_SAFE) + at + host + colon + port
    if not _NETLOC.fullmatch(netloc):
        return None
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            quote(parts.path, safe=_URI_PATH_SAFE),
            quote(parts.query, safe=_URI_QUERY_SAFE),
            quote(parts.fragment, safe=_URI_QUERY_SAFE),
        )
    )


def stored_schedule(s: Schedule) -> sched.ParsedSchedule:
    """A stored Schedule row as the parser's schedule (what exports and pages expand)."""
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
