"""Resources for people: the page of one resource, its edits, its history, and imports.

Shared by the pages (:mod:`web.resources_views`) and the API (:mod:`web.api`), so both
apply the same rules (DATA_FORMATS §8):

* anyone sees public, active resources; a signed-in user sees all of them;
* tier 2 of an area the resource serves, tier 1 and administrators edit it; a viewer
  never does (:func:`may_edit`);
* an edit names the ``version`` it started from: a stale one is refused with
  :class:`StaleVersion` and nothing is written (the caller shows both versions);
* every change writes a :class:`~directory.models.ResourceChange` row (who, when, what:
  ``{field: [old, new]}``) and an audit event in the same transaction, and bumps the
  directory version naming the resources it touched, so matching and search see it on
  their next request.

Values arrive as people type them (フォーム or JSON) and are read with the importer's own
cell parsers (:mod:`directory.resources`), so 「あり」「残り3」「令和6年4月1日」 mean here
what they mean in a file.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.exc import StaleDataError

from directory import state
from directory.errors import UnknownCategoryError
from directory.fiscal import today_in_japan
from directory.i18n import N_, LocalisedError, translate
from directory.messages import message
from directory.models import (
    RESOURCE_STATUSES,
    Category,
    District,
    Organization,
    Resource,
    ResourceChange,
    Schedule,
    Venue,
    resource_category,
    resource_district,
    utcnow,
)
from directory.schedules import Occurrence, expand, parse_schedule
from directory.taxonomy import load_taxonomy, split_categories
from directory.text import normalize
from directory.weekdays import WEEKDAY_EN
from web import audit
from web.actors import Actor
from web.db import Database
from web.search import Geography, schedule_words, sees_every_resource, status_label
from web.services import AccessDenied, NotFoundForActor, _audit_alone

__all__ = [
    "EDITABLE",
    "FIELD_LABELS",
    "EditResult",
    "InvalidResource",
    "ResourceDetail",
    "StaleVersion",
    "confirm_today",
    "create_resource",
    "current_state",
    "edit_resource",
    "may_edit",
    "require_creator",
    "require_editor",
    "resource_detail",
    "today_in_japan",
]

EDIT_ROLES = frozenset({"admin", "tier1", "system"})
NEXT_DATES = 5
#: How far ahead the next dates are looked for (a yearly event still shows).
NEXT_DATES_HORIZON = 400
_LIST_SPLIT = re.compile(r"[;；、､,，\s]+")
_WHOLE_AREA = frozenset(
    normalize(w) for w in ("全域", "全地区", "町内全域", "市内全域", "村内全域")
)

#: Every field a form or a PATCH may set, in the order the pages show them, with its label.
FIELD_LABELS: dict[str, str] = {
    "external_id": N_("ID"),
    "name": N_("Name"),
    "kana": N_("Reading (kana)"),
    "categories": N_("Categories"),
    "description": N_("Description"),
    "organization": N_("Organisation"),
    "organization_phone": N_("Organisation phone"),
    "organization_contact": N_("Organisation contact person"),
    "phone": N_("Phone"),
    "url": N_("URL"),
    "venue_name": N_("Venue"),
    "venue_address": N_("Venue address"),
    "venue_lat": N_("Venue latitude"),
    "venue_lon": N_("Venue longitude"),
    "address": N_("Address"),
    "building": N_("Building, room"),
    "lat": N_("Latitude"),
    "lon": N_("Longitude"),
    "districts": N_("Districts served"),
    "schedule_days": N_("Weekdays"),
    "schedule_start": N_("Start time"),
    "schedule_end": N_("End time"),
    "schedule_note": N_("Other schedule notes"),
    "capacity": N_("Capacity"),
    "vacancy": N_("Places free"),
    "fee": N_("Fee"),
    "eligibility": N_("Who may use it"),
    "transport": N_("Transport"),
    "status": N_("Status"),
    "public": N_("Public"),
    "last_verified_on": N_("Last confirmed"),
    "notes": N_("Notes"),
}
EDITABLE = tuple(k for k in FIELD_LABELS if k != "external_id")


# ----------------------------------------------------------------------------- errors


class InvalidResource(LocalisedError, ValueError):
    """A form or PATCH with values that cannot be used: ``errors`` maps each field to a
    message in the caller's language. Nothing was written."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(N_("The input has errors"))
        self.errors = errors


class StaleVersion(Exception):
    """Someone saved the resource after the version the edit started from. Nothing was
    written; ``current`` is the stored state, ``current_version`` its version."""

    def __init__(self, current: dict[str, Any], current_version: int) -> None:
        super().__init__(f"stale version (current {current_version})")
        self.current = current
        self.current_version = current_version


# ----------------------------------------------------------------------------- reading


def _load(session: Session, external_id: str, *, for_update: bool = False) -> Resource | None:
    """One resource with its categories, districts, schedules, organisation and venue
    loaded (the page reads them after the session ends). For one row, plain lazy loads
    cost half of ``selectinload``'s per-statement overhead."""
    stmt = (
        select(Resource)
        .where(Resource.external_id == external_id)
        .options(joinedload(Resource.organization), joinedload(Resource.venue))
    )
    if for_update and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Resource)
    resource = session.scalars(stmt).first()
    if resource is not None:
        for loaded in (resource.categories, resource.districts, resource.schedules):
            len(loaded)
        _ = resource.organization, resource.venue
    return resource


# What the resource page reads, as plain columns (statements built once; no ORM objects:
# the ORM's loading costs more than the queries).
_PAGE_ROW = (
    select(
        Resource.__table__,
        Organization.name.label("_org_name"),
        Organization.phone.label("_org_phone"),
        Organization.contact.label("_org_contact"),
        Venue.name.label("_venue_name"),
        Venue.address.label("_venue_address"),
        Venue.lat.label("_venue_lat"),
        Venue.lon.label("_venue_lon"),
        Venue.district_id.label("_venue_district_id"),
    )
    .outerjoin(Organization, Organization.id == Resource.organization_id)
    .outerjoin(Venue, Venue.id == Resource.venue_id)
    .where(Resource.external_id == bindparam("external_id"))
)
_PAGE_CATEGORIES = select(resource_category.c.category_code).where(
    resource_category.c.resource_id == bindparam("rid")
)
_PAGE_DISTRICTS = (
    select(District.id, District.code, District.name)
    .join(resource_district, resource_district.c.district_id == District.id)
    .where(resource_district.c.resource_id == bindparam("rid"))
)
_PAGE_SCHEDULES = (
    select(Schedule.__table__).where(Schedule.resource_id == bindparam("rid")).order_by(Schedule.id)
)
_PAGE_HISTORY = (
    select(ResourceChange.__table__)
    .where(ResourceChange.resource_id == bindparam("rid"))
    .order_by(ResourceChange.id.desc())
    .limit(50)
)


def _read(session: Session, external_id: str) -> Any:
    """One resource for its page: a plain copy with the attribute names of
    :class:`Resource` and of the organisation, venue, categories, districts and schedules
    the page reads (read-only; one statement per table, no ORM objects)."""
    conn = session.connection()
    row = conn.execute(_PAGE_ROW, {"external_id": external_id}).first()
    if row is None:
        return None
    values = dict(row._mapping)
    own = {k: v for k, v in values.items() if not k.startswith("_")}
    plain = SimpleNamespace(**own)
    plain.organization = (
        SimpleNamespace(
            id=own["organization_id"],
            name=values["_org_name"],
            phone=values["_org_phone"],
            contact=values["_org_contact"],
        )
        if own["organization_id"] is not None
        else None
    )
    plain.venue = (
        SimpleNamespace(
            id=own["venue_id"],
            name=values["_venue_name"],
            address=values["_venue_address"],
            lat=values["_venue_lat"],
            lon=values["_venue_lon"],
            district_id=values["_venue_district_id"],
        )
        if own["venue_id"] is not None
        else None
    )
    rid = {"rid": own["id"]}
    plain.categories = [SimpleNamespace(code=c) for (c,) in conn.execute(_PAGE_CATEGORIES, rid)]
    plain.districts = [
        SimpleNamespace(id=d.id, code=d.code, name=d.name)
        for d in conn.execute(_PAGE_DISTRICTS, rid)
    ]
    plain.schedules = [SimpleNamespace(**sc._mapping) for sc in conn.execute(_PAGE_SCHEDULES, rid)]
    return plain


def visible_to(actor: Actor, resource: Resource) -> bool:
    return sees_every_resource(actor) or (resource.public and resource.status == "active")


def resource_areas(geo: Geography, resource: Resource) -> set[int]:
    """The areas a resource serves: those of its venue and of its districts (全域 — the
    municipality — is every area of it)."""
    attached = [d.id for d in resource.districts]
    if resource.venue is not None and resource.venue.district_id is not None:
        attached.append(resource.venue.district_id)
    areas: set[int] = set()
    for d in attached:
        areas.update(geo.areas_of(d))
    return areas


#: Why a change was refused: the rule :func:`may_edit` applies, in words.
EDIT_REFUSED = N_(
    "Only tier-2 coordinators of an area this resource serves, tier 1 and "
    "administrators can change it"
)


def may_edit(actor: Actor, areas: set[int]) -> bool:
    """Tier 2 of an area the resource serves, tier 1, administrators (never a viewer)."""
    if actor.role in EDIT_ROLES:
        return True
    return actor.role == "tier2" and bool(areas & actor.area_ids)


def _vacancy_text(resource: Resource) -> str:
    if resource.seats_left is not None:
        return str(resource.seats_left)
    if resource.accepts_new is None:
        return ""
    return "あり" if resource.accepts_new else "なし"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}".rstrip("0").rstrip(".")


def current_state(resource: Resource) -> dict[str, Any]:
    """The editable fields of a stored resource as plain JSON values: what a form shows,
    what history compares and what the 409 page puts beside the rejected edit."""
    org, venue = resource.organization, resource.venue
    return {
        "external_id": resource.external_id,
        "name": resource.name,
        "kana": resource.kana or "",
        "categories": sorted(c.code for c in resource.categories),
        "description": resource.description or "",
        "organization": org.name if org else "",
        "organization_phone": (org.phone or "") if org else "",
        "organization_contact": (org.contact or "") if org else "",
        "phone": resource.phone or "",
        "url": resource.url or "",
        "venue_name": venue.name if venue else "",
        "venue_address": (venue.address or "") if venue else "",
        "venue_lat": _number(venue.lat) if venue else "",
        "venue_lon": _number(venue.lon) if venue else "",
        "address": resource.address or "",
        "building": resource.building or "",
        "lat": _number(resource.lat),
        "lon": _number(resource.lon),
        "districts": sorted(d.code for d in resource.districts),
        "schedule_days": resource.schedule_days or "",
        "schedule_start": resource.schedule_start or "",
        "schedule_end": resource.schedule_end or "",
        "schedule_note": resource.schedule_note or "",
        "capacity": "" if resource.capacity is None else str(resource.capacity),
        "vacancy": _vacancy_text(resource),
        "fee": resource.fee or "",
        "eligibility": resource.eligibility or "",
        "transport": "" if resource.transport is None else ("yes" if resource.transport else "no"),
        "status": resource.status,
        "public": bool(resource.public),
        "last_verified_on": resource.last_verified_on.isoformat()
        if resource.last_verified_on
        else "",
        "notes": resource.notes or "",
    }


@dataclass
class ScheduleInfo:
    words: str
    understood: bool
    not_understood: tuple[str, ...]
    rrules: list[dict[str, Any]]
    next_dates: list[Occurrence]


def occurrence_words(o: Occurrence, lang: str) -> str:
    """「12/3 (木) 10:00～12:00」: one of the next dates, as the page lists them."""
    day = translate(
        N_("{month}/{day} ({weekday})"),
        lang,
        month=o.day.month,
        day=o.day.day,
        weekday=translate(WEEKDAY_EN[o.day.weekday()], lang),
    )
    if not isinstance(o.start, dt.datetime):
        return day
    start = f"{o.start.hour}:{o.start.minute:02d}"
    if o.end is None:
        return f"{day} {start}"
    dash = translate(N_("–"), lang)
    return f"{day} {start}{dash}{o.end.hour}:{o.end.minute:02d}"


@dataclass
class ResourceDetail:
    """Everything known about one resource, for its page and ``GET /api/v1/resources/<id>``."""

    resource: Any  # the resource's columns and what it links to (see _read), read-only
    state: dict[str, Any]
    category_labels: list[tuple[str, str]]  # (code, label)
    districts: list[tuple[str, str]]  # (code, name)
    areas: list[tuple[str, str]]
    schedule: ScheduleInfo
    lat: float | None
    lon: float | None
    venue_district: str | None
    status_label: str
    may_edit: bool
    signed_in: bool
    history: list[ResourceChange] = field(default_factory=list)
    shared_venue: int = 0  # other resources at the same venue
    shared_organization: int = 0
    next_dates: list[str] = field(default_factory=list)


def _schedule_info(
    resource: Resource, lang: str, today: dt.date, *, for_public: bool
) -> ScheduleInfo:
    source = next((s.source_text for s in resource.schedules if s.source_text), "") or ""
    anchor = next((s.anchor_date for s in resource.schedules if s.anchor_date), None)
    parsed = parse_schedule(source, anchor) if source else None
    rrules = [
        {
            "rrule": s.rrule,
            "start_time": s.start_time.strftime("%H:%M") if s.start_time else None,
            "end_time": s.end_time.strftime("%H:%M") if s.end_time else None,
            "season_start_month": s.season_start_month,
            "season_end_month": s.season_end_month,
            "holidays": s.holiday_rule,
            "year_end_closed": s.year_end_closed,
            "anchor_date": s.anchor_date.isoformat() if s.anchor_date else None,
        }
        for s in resource.schedules
        if s.rrule
    ]
    next_dates: list[Occurrence] = []
    if parsed is not None and resource.schedule_understood and resource.status == "active":
        stored = _stored_schedules(resource)
        # most schedules meet weekly or monthly: two months usually hold five dates, and
        # expanding them costs a seventh of the whole horizon
        for days in (62, NEXT_DATES_HORIZON):
            next_dates = expand(stored, today, today + dt.timedelta(days=days))[:NEXT_DATES]
            if len(next_dates) == NEXT_DATES:
                break
    return ScheduleInfo(
        words=schedule_words(source, anchor, lang, for_public=for_public),
        understood=bool(resource.schedule_understood),
        not_understood=parsed.not_understood if parsed else (),
        rrules=rrules,
        next_dates=next_dates,
    )


def _stored_schedules(resource: Resource) -> list[Any]:
    """The stored rows as the parser's schedules (expanded as matching expands them)."""
    from directory.exports.common import stored_schedule

    return [stored_schedule(s) for s in resource.schedules if s.rrule]


def resource_detail(
    db: Database, actor: Actor, external_id: str, lang: str, *, today: dt.date | None = None
) -> ResourceDetail:
    """One resource as ``actor`` may see it; a hidden one is :class:`NotFoundForActor`
    (an anonymous caller cannot tell a private resource from a missing one)."""
    today = today or today_in_japan()
    with db.read() as session:
        resource = _read(session, external_id)
        if resource is None or not visible_to(actor, resource):
            raise NotFoundForActor(external_id)
        geo = Geography.current(session)
        areas = resource_areas(geo, resource)
        signed_in = sees_every_resource(actor)
        taxonomy = load_taxonomy()
        order = {code: i for i, code in enumerate(taxonomy.categories)}
        history: list[Any] = []
        shared_venue = shared_org = 0
        if signed_in:
            history = [
                SimpleNamespace(**change._mapping)
                for change in session.connection().execute(_PAGE_HISTORY, {"rid": resource.id})
            ]
            if resource.venue_id is not None or resource.organization_id is not None:
                # the other resources at its venue and of its organisation, in one query
                at_venue, of_org = session.execute(
                    select(
                        select(func.count(Resource.id))
                        .where(Resource.venue_id == resource.venue_id)
                        .scalar_subquery(),
                        select(func.count(Resource.id))
                        .where(Resource.organization_id == resource.organization_id)
                        .scalar_subquery(),
                    )
                ).one()
                shared_venue = max(at_venue - 1, 0) if resource.venue_id is not None else 0
                shared_org = max(of_org - 1, 0) if resource.organization_id is not None else 0
        located = resource.lat is not None and resource.lon is not None
        venue = resource.venue
        detail = ResourceDetail(
            resource=resource,
            state=current_state(resource),
            category_labels=[
                (code, taxonomy[code].label(lang) if code in taxonomy else code)
                for code in sorted(
                    (c.code for c in resource.categories), key=lambda c: order.get(c, len(order))
                )
            ],
            districts=[(d.code, d.name) for d in sorted(resource.districts, key=lambda d: d.code)],
            areas=[
                (geo.places[a].code, geo.places[a].name)
                for a in sorted(areas, key=lambda a: geo.places[a].code)
            ],
            schedule=_schedule_info(resource, lang, today, for_public=not signed_in),
            lat=resource.lat if located else (venue.lat if venue else None),
            lon=resource.lon if located else (venue.lon if venue else None),
            venue_district=geo.places[venue.district_id].name
            if venue is not None and venue.district_id in geo.places
            else None,
            status_label=status_label(resource.status, lang),
            may_edit=may_edit(actor, areas),
            signed_in=signed_in,
            history=history,
            shared_venue=shared_venue,
            shared_organization=shared_org,
        )
        detail.next_dates = [occurrence_words(o, lang) for o in detail.schedule.next_dates]
    return detail


# ----------------------------------------------------------------------------- input


@dataclass
class Parsed:
    """Input values checked and converted (only the fields the input named)."""

    state: dict[str, Any]  # the new values in current_state's shape
    columns: dict[str, Any] = field(default_factory=dict)  # Resource columns to set
    categories: list[str] | None = None
    district_ids: list[int] | None = None


def _text(raw: Mapping[str, Any], key: str, limit: int) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(key)
    return value.replace("\x00", "").strip()[:limit]


def _list(raw: Mapping[str, Any], key: str) -> list[str]:
    value = raw.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return (
            [v for v in split_categories(value)]
            if key == "categories"
            else [v for v in _LIST_SPLIT.split(value) if v]
        )
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    raise ValueError(key)


def _resolve_districts(
    session: Session, items: Sequence[str], lang: str
) -> tuple[list[int], list[str]]:
    """District codes or names (全域 = the municipality), as the 対象地区 column reads them."""
    rows = session.execute(select(District.id, District.code, District.name, District.level)).all()
    by_code = {r.code: r.id for r in rows}
    by_name: dict[str, list[int]] = {}
    for r in rows:
        by_name.setdefault(normalize(r.name), []).append(r.id)
    municipalities = [r.id for r in rows if r.level == "municipality"]
    found: list[int] = []
    unknown: list[str] = []
    for item in items:
        key = normalize(item)
        if key in _WHOLE_AREA and len(municipalities) == 1:
            found.append(municipalities[0])
        elif item in by_code:
            found.append(by_code[item])
        elif len(by_name.get(key, [])) == 1:
            found.append(by_name[key][0])
        else:
            unknown.append(item)
    return sorted(set(found)), unknown


def parse_input(
    session: Session, raw: Mapping[str, Any], lang: str, *, creating: bool = False
) -> Parsed:
    """Check the fields ``raw`` names (all of them for a form, some for a PATCH); raise
    :class:`InvalidResource` with one message per bad field."""
    # the importer's own cell readers (imported here: they bring geopandas, which the
    # app does not need to start)
    from directory.resources import (
        CellError,
        parse_coordinate,
        parse_eligibility,
        parse_fee,
        parse_int,
        parse_vacancy,
        parse_verified,
    )

    errors: dict[str, str] = {}
    new: dict[str, Any] = {}
    columns: dict[str, Any] = {}
    parsed = Parsed(new, columns)

    def problem(key: str, msgid: str, **params: Any) -> None:
        errors[key] = translate(msgid, lang, **params)

    def cell_error(key: str, exc: Any) -> None:
        errors[key] = message(exc.code, lang, **exc.params)

    unknown = sorted(set(raw) - set(FIELD_LABELS) - {"version", "csrf_token"})
    for key in unknown:
        problem(key, N_("Unknown field: {field}"), field=key)
    limits = {"description": 4000, "notes": 4000, "schedule_note": 1000, "eligibility": 1000}
    for key in raw:
        if key not in FIELD_LABELS:
            continue
        try:
            if key in ("categories", "districts"):
                items = _list(raw, key)
            elif key == "public":
                value = raw.get(key)
                new["public"] = value is True or (
                    isinstance(value, str)
                    and normalize(value) in ("1", "true", "on", "yes", "可", "公開")
                )
                columns["public"] = new["public"]
                continue
            else:
                text = _text(raw, key, limits.get(key, 300))
        except ValueError:
            problem(key, N_("{field} must be text"), field=translate(FIELD_LABELS[key], lang))
            continue
        if key == "categories":
            taxonomy = load_taxonomy()
            codes: list[str] = []
            for item in items:
                try:
                    codes.append(taxonomy.resolve(item).code)
                except UnknownCategoryError as exc:
                    errors[key] = exc.reason(lang)
            if not codes and key not in errors:
                problem(key, N_("Choose at least one category"))
            parsed.categories = sorted(set(codes))
            new[key] = parsed.categories
        elif key == "districts":
            ids, missing = _resolve_districts(session, items, lang)
            if missing:
                problem(key, N_("Unknown district: {names}"), names="、".join(missing))
            parsed.district_ids = ids
            codes_by_id = dict(session.execute(select(District.id, District.code)).tuples().all())
            new[key] = sorted(codes_by_id[i] for i in ids)
        elif key == "external_id":
            if not creating:
                problem(key, N_("The ID cannot be changed"))
            else:
                if not text:
                    problem(
                        key, N_("{field} is required"), field=translate(FIELD_LABELS[key], lang)
                    )
                elif session.scalar(select(Resource.id).where(Resource.external_id == text)):
                    problem(key, N_("A resource with the ID {id} already exists"), id=text)
                columns[key] = text
            new[key] = text
        elif key == "name":
            if not text:
                problem(key, N_("{field} is required"), field=translate(FIELD_LABELS[key], lang))
            new[key] = columns["name"] = text
            columns["name_key"] = normalize(text)
        elif key == "status":
            value = normalize(text)
            status = (
                value
                if value in RESOURCE_STATUSES
                else {"活動中": "active", "休止中": "paused", "終了": "ended"}.get(text)
            )
            if status is None:
                problem(key, N_("Unknown status: {value}"), value=text)
            new[key] = columns["status"] = status or text
        elif key == "transport":
            value = normalize(text)
            choice = {
                "": None,
                "yes": True,
                "no": False,
                "あり": True,
                "なし": False,
                "true": True,
                "false": False,
            }
            if value not in choice:
                problem(
                    key,
                    N_("{field} must be yes, no or empty"),
                    field=translate(FIELD_LABELS[key], lang),
                )
            columns["transport"] = choice.get(value)
            new[key] = "" if choice.get(value) is None else ("yes" if choice[value] else "no")
        elif key == "capacity":
            try:
                columns["capacity"] = parse_int(text) if text else None
            except CellError as exc:
                cell_error(key, exc)
            new[key] = "" if columns.get("capacity") is None else str(columns["capacity"])
        elif key == "vacancy":
            try:
                columns["accepts_new"], columns["seats_left"] = (
                    parse_vacancy(text) if text else (None, None)
                )
            except CellError as exc:
                cell_error(key, exc)
            new[key] = text
        elif key == "fee":
            columns["fee"] = text or None
            columns["fee_yen"] = parse_fee(text) if text else None
            new[key] = text
        elif key == "eligibility":
            columns["eligibility"] = text or None
            min_age, attributes = parse_eligibility(text) if text else (None, ())
            columns["min_age"], columns["eligibility_attributes"] = min_age, list(attributes)
            new[key] = text
        elif key in ("lat", "lon", "venue_lat", "venue_lon"):
            axis = "lat" if key.endswith("lat") else "lon"
            value_f = None
            if text:
                try:
                    value_f = parse_coordinate(text, axis)
                except CellError as exc:
                    cell_error(key, exc)
            if key in ("lat", "lon"):
                columns[key] = value_f
            new[key] = _number(value_f) if value_f is not None else (text or "")
        elif key == "last_verified_on":
            try:
                day = parse_verified(text) if text else None
            except CellError as exc:
                cell_error(key, exc)
                day = None
            columns["last_verified_on"] = day
            new[key] = day.isoformat() if day else (text or "")
        elif key == "url":
            if text and not re.match(r"https?://", text):
                problem(key, N_("A URL starts with http:// or https://"))
            columns["url"] = text or None
            new[key] = text
        elif key in ("kana", "description", "phone", "address", "building", "notes"):
            columns[key] = text or None
            new[key] = text
        else:  # schedule cells, organisation and venue fields: applied separately
            new[key] = text
    for a, b in (("lat", "lon"), ("venue_lat", "venue_lon")):
        uneven = (a in new) != (b in new) or (a in new and bool(new[a]) != bool(new[b]))
        if uneven and a not in errors and b not in errors:
            problem(a, N_("Give both latitude and longitude, or neither"))
    if errors:
        raise InvalidResource(errors)
    return parsed


# ----------------------------------------------------------------------------- writing


@dataclass
class EditResult:
    external_id: str
    version: int
    changes: dict[str, list[Any]]
    schedule_not_understood: tuple[str, ...] = ()


def _organization(session: Session, name: str) -> Organization | None:
    if not name:
        return None
    key = normalize(name)
    org = session.scalars(select(Organization).where(Organization.name_key == key)).first()
    if org is None:
        org = Organization(name=name, name_key=key)
        session.add(org)
    return org


def _locate(session: Session, lon: float, lat: float) -> int | None:
    """The most detailed district containing a point (as the venue importer finds it)."""
    from directory.geography import districts_frame, locate_points

    return locate_points(districts_frame(session), [lon], [lat])[0]


def _apply(
    session: Session,
    resource: Resource,
    parsed: Parsed,
    old: dict[str, Any],
    today: dt.date,
    lang: str,
) -> tuple[set[int], tuple[str, ...]]:
    """Write the parsed values onto ``resource`` (and its organisation and venue);
    returns the other resources touched (sharing the venue or organisation) and the
    schedule fragments the parser did not understand."""
    new = parsed.state
    touched: set[int] = set()
    for key, value in parsed.columns.items():
        setattr(resource, key, value)
    if parsed.categories is not None:
        resource.categories = [session.get(Category, c) for c in parsed.categories]  # type: ignore[misc]
    if parsed.district_ids is not None:
        resource.districts = [session.get(District, d) for d in parsed.district_ids]  # type: ignore[misc]
    # the organisation: another name links (or creates) that one; phone and contact are
    # the linked organisation's own
    if "organization" in new and new["organization"] != old.get("organization"):
        resource.organization = _organization(session, new["organization"])
    org = resource.organization
    if org is not None:
        for key, column in (("organization_phone", "phone"), ("organization_contact", "contact")):
            if key in new and new[key] != old.get(key):
                setattr(org, column, new[key] or None)
                touched.update(r.id for r in org.resources if r.id is not None)
    # the venue: edited in place (every resource there sees it), created when new, dropped
    # when its name is emptied
    venue_keys = ("venue_name", "venue_address", "venue_lat", "venue_lon")
    if any(k in new and new[k] != old.get(k) for k in venue_keys):
        name = new.get("venue_name", old.get("venue_name", ""))
        venue = resource.venue
        if not name:
            resource.venue = None
        else:
            lat = new.get("venue_lat", old.get("venue_lat")) or None
            lon = new.get("venue_lon", old.get("venue_lon")) or None
            if venue is None:
                if lat is None or lon is None:
                    raise InvalidResource(
                        {
                            "venue_lat": translate(
                                N_("A new venue needs its latitude and longitude"), lang
                            )
                        }
                    )
                code = f"web:{resource.external_id}"
                n = 1
                while session.scalar(select(Venue.id).where(Venue.code == code)):
                    n += 1
                    code = f"web:{resource.external_id}:{n}"
                venue = Venue(
                    code=code,
                    name=name,
                    name_key=normalize(name),
                    lat=float(lat),
                    lon=float(lon),
                    properties={"created_from": "web"},
                )
                session.add(venue)
                resource.venue = venue
            else:
                touched.update(r.id for r in venue.resources if r.id is not None)
            venue.name = name
            venue.name_key = normalize(name)
            venue.address = new.get("venue_address", old.get("venue_address")) or None
            if lat is not None and lon is not None:
                venue.lat, venue.lon = float(lat), float(lon)
                venue.district_id = _locate(session, venue.lon, venue.lat)
    # the schedule: parsed again only when a cell changed (a re-parse would move 隔週's
    # stored anchor), as the importer does
    cells = ("schedule_days", "schedule_start", "schedule_end", "schedule_note")
    not_understood: tuple[str, ...] = ()
    if any(k in new and new[k] != old.get(k) for k in cells):
        values = {k: new.get(k, old.get(k, "")) or None for k in cells}
        resource.schedule_days = values["schedule_days"]
        resource.schedule_start = values["schedule_start"]
        resource.schedule_end = values["schedule_end"]
        resource.schedule_note = values["schedule_note"]
        from directory.resources import schedule_text

        text = schedule_text(*(values[k] for k in cells))
        parse = parse_schedule(text, today)
        resource.schedules = [Schedule(**row) for row in parse.as_rows()]
        resource.schedule_understood = parse.understood
        not_understood = parse.not_understood
    resource.updated_at = utcnow()  # an edit of links only still makes a new version
    return touched, not_understood


def bump_resources(session: Session, resource_ids: set[int]) -> None:
    """Count the change in the directory version, naming the resources it touched: the
    matcher's snapshot and the search index re-read just those."""
    state.bump(session, resource_ids=resource_ids)


def _changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [old.get(k), v] for k, v in new.items() if k in FIELD_LABELS and old.get(k) != v}


def _require_edit(db: Database, actor: Actor, session: Session, resource: Resource) -> None:
    if not may_edit(actor, resource_areas(Geography.current(session), resource)):
        raise AccessDenied(EDIT_REFUSED)


def _record(
    session: Session,
    actor: Actor,
    resource: Resource,
    action: str,
    changes: dict[str, list[Any]],
    touched: set[int],
) -> None:
    session.flush()
    session.add(
        ResourceChange(
            resource_id=resource.id,
            version=resource.version,
            changed_by=actor.login,
            action=action,
            changes=changes,
        )
    )
    detail = {"confirm": "confirmed", "create": "created"}.get(action) or "fields=" + ",".join(
        sorted(changes)
    )
    audit.record(
        session,
        actor,
        "create" if action == "create" else "update",
        "resource",
        resource.external_id,
        detail=detail[:200],
    )
    bump_resources(session, {resource.id, *touched})


def edit_resource(
    db: Database,
    actor: Actor,
    external_id: str,
    version: int | None,
    raw: Mapping[str, Any],
    lang: str,
    *,
    today: dt.date | None = None,
    action: str = "update",
) -> EditResult:
    """Change the fields ``raw`` names, starting from ``version``.

    A missing resource (or one ``actor`` may not see) is :class:`NotFoundForActor`; one
    ``actor`` may not edit is :class:`AccessDenied` (audited); a stale ``version`` is
    :class:`StaleVersion` with the stored state; bad values :class:`InvalidResource`.
    Nothing is written in any of these cases. An edit that changes nothing keeps the
    version and writes no history.
    """
    today = today or today_in_japan()
    try:
        with db.write() as session:
            resource = _load(session, external_id, for_update=True)
            if resource is None or not visible_to(actor, resource):
                raise NotFoundForActor(external_id)
            _require_edit(db, actor, session, resource)
            old = current_state(resource)
            if version is None or version != resource.version:
                raise StaleVersion(old, resource.version)
            parsed = parse_input(session, raw, lang)
            changes = _changes(old, parsed.state)
            if not changes:
                return EditResult(external_id, resource.version, {})
            touched, not_understood = _apply(session, resource, parsed, old, today, lang)
            try:
                _record(session, actor, resource, action, changes, touched)
            except StaleDataError:  # another process saved between our read and write
                raise StaleVersion(old, resource.version) from None
            result = EditResult(external_id, resource.version, changes, not_understood)
    except AccessDenied:
        _audit_alone(db, actor, "update", "resource", external_id)
        raise
    except StaleVersion:
        _audit_alone(
            db, actor, "update", "resource", external_id, detail="stale_version", outcome="failed"
        )
        raise
    return result


def require_editor(db: Database, actor: Actor, external_id: str) -> None:
    """Refuse (and audit) an actor who may not edit this resource: the edit form is not
    even shown to them."""
    with db.read() as session:
        resource = _load(session, external_id)
        if resource is None or not visible_to(actor, resource):
            raise NotFoundForActor(external_id)
        allowed = may_edit(actor, resource_areas(Geography.current(session), resource))
    if not allowed:
        _audit_alone(db, actor, "update", "resource", external_id)
        raise AccessDenied(EDIT_REFUSED)


def require_creator(db: Database, actor: Actor) -> None:
    """Refuse (and audit) an actor who may not add resources at all."""
    if actor.role not in EDIT_ROLES and not (actor.role == "tier2" and actor.area_ids):
        _audit_alone(db, actor, "create", "resource")
        raise AccessDenied(N_("You are not allowed to add resources"))


def confirm_today(
    db: Database,
    actor: Actor,
    external_id: str,
    version: int | None,
    *,
    today: dt.date | None = None,
) -> EditResult:
    """「本日確認」: the resource was checked today (its 最終確認日 becomes today)."""
    today = today or today_in_japan()
    return edit_resource(
        db,
        actor,
        external_id,
        version,
        {"last_verified_on": today.isoformat()},
        "ja",
        today=today,
        action="confirm",
    )


def create_resource(
    db: Database, actor: Actor, raw: Mapping[str, Any], lang: str, *, today: dt.date | None = None
) -> EditResult:
    """A new resource from a form or JSON: tier 2 only within their areas (the districts it
    serves or its venue must lie in one), tier 1 and administrators anywhere."""
    today = today or today_in_japan()
    require_creator(db, actor)
    try:
        with db.write() as session:
            parsed = parse_input(session, raw, lang, creating=True)
            resource = Resource(
                external_id=parsed.columns.pop("external_id"),
                name="",
                name_key="",
                status="active",
                public=True,
                extra={},
                eligibility_attributes=[],
            )
            empty = {k: "" for k in FIELD_LABELS} | {
                "categories": [],
                "districts": [],
                "public": True,
                "status": "active",
            }
            # every value is set before the row is added: one INSERT, version 1
            touched, not_understood = _apply(session, resource, parsed, empty, today, lang)
            session.add(resource)
            session.flush()
            if not may_edit(actor, resource_areas(Geography.current(session), resource)):
                raise AccessDenied(
                    N_("This resource would serve none of your areas, so you cannot add it")
                )
            changes = {k: [None, v] for k, v in parsed.state.items() if v not in ("", [], None)}
            _record(session, actor, resource, "create", changes, touched)
            result = EditResult(resource.external_id, resource.version, changes, not_understood)
    except AccessDenied:
        _audit_alone(db, actor, "create", "resource", str(raw.get("external_id", ""))[:100] or None)
        raise
    return result


# ----------------------------------------------------------------------------- imports


def import_resource_file(
    db: Database,
    actor: Actor,
    path: Path,
    *,
    columns: Mapping[str, str] | None,
    dry_run: bool,
    skip_invalid: bool = False,
) -> Any:
    """The importer of ``tsunagu import resources`` on an uploaded file, as ``actor``:
    whole-directory imports are for tier 1 and administrators. A dry run writes nothing;
    a real import is audited (one event with its counts)."""
    from directory.resources import import_resources
    from web.services import require_directory_editor

    try:
        require_directory_editor(actor)
    except AccessDenied:
        _audit_alone(db, actor, "create", "resource_import")
        raise
    with db.write() as session:
        result = import_resources(session, path, columns=columns or None, skip_invalid=skip_invalid)
        if dry_run:
            session.rollback()
        else:
            audit.record(
                session,
                actor,
                "create",
                "resource_import",
                None,
                detail=f"created={result.created} updated={result.updated} unchanged={result.unchanged}",
            )
    return result
