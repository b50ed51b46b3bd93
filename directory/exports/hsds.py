"""Open Referral HSDS 3.0 as its API returns ``GET /services?full=true``: a Page of nested
service objects (organization, phones, schedules, service areas, locations with addresses
and accessibility, languages, cost options, taxonomy attributes).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from directory import schedules as sched
from directory.exports.common import (
    _ENCODE,
    _address,
    _Areas,
    _point,
    _season,
    _shared_id,
    _source_text,
    _uri,
    default_window,
    stable_id,
    stored_schedule,
)
from directory.exports.occurrences import _rule_occurrences
from directory.exports.published import (
    BATCH_SIZE,
    Progress,
    count_published,
    iter_published,
    published_resources,
)
from directory.models import Category, District, Resource
from directory.weekdays import WEEKDAY_CODES

HSDS_VERSION = "3.0"
# HSDS 3.0 service.status: 休止中 is exactly "temporarily closed"; 終了 is "defunct".
_HSDS_STATUS = {"active": "active", "paused": "temporarily closed", "ended": "defunct"}
_ALL_DAYS = ",".join(WEEKDAY_CODES)
_NO_ORGANIZATION = "（運営団体の登録なし）"


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
        ps = stored_schedule(s)
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
        org_id, org_name = _shared_id("organization", ""), _NO_ORGANIZATION
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
            "taxonomy_term_id": _shared_id("taxonomy_term", c.code),
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
        "url": _uri(r.url),
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
