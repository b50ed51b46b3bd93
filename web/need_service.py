"""Needs in the browser and the API: intake, the need page, referrals, the area's list and
the resident's list (DATA_FORMATS §8). Pages (:mod:`web.needs_views`) and the JSON API
(:mod:`web.api_needs`) call these functions; they share the rules of :mod:`web.services`.

* **One set of rules.** A need from the intake form or the API is checked by
  :func:`matching.needs.parse_needs`, exactly as a line of a §4 file; the form adds only
  what the contract asks of it: the consent (date and who gave it) or the statutory
  basis is required, and the district must lie in the coordinator's areas.
* **Only the need's area.** Every function takes the :class:`~web.actors.Actor`; a need
  outside the actor's areas is :class:`~web.services.NotFoundForActor` (it looks like a
  need that does not exist), and every read, list, change and export of a need writes an
  audit event (:mod:`web.audit`) with the need's id and codes or counts, never its values.
* **The directory as it is.** The need page ranks with the matcher's snapshot, which the
  snapshot cache brings up to the last committed directory version on every call (an
  edit made a moment ago is in the next match). Showing a page writes no match rows: a
  referral is stored when the coordinator records what happened with it.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, defaultload, selectinload

from directory import state
from directory.attributes import ATTRIBUTES
from directory.errors import Problem
from directory.fiscal import today_in_japan
from directory.i18n import N_, translate
from directory.map_data import CoordinatorResource, coordinator_resources
from directory.models import District, Resource, Schedule
from directory.queries import ancestor_at, ancestor_map
from directory.schedules import ParsedSchedule, expand
from directory.taxonomy import load_taxonomy
from directory.weekdays import MONTH_EN, WEEKDAY_CHARS, WEEKDAY_CODES, WEEKDAY_EN
from matching.engine import NeedResult, describe_reason, result_to_json
from matching.models import MATCH_END_STATUSES, Match, MatchEvent, Need, NeedCategory
from matching.needs import CONSENT_BY, FIELDS, parse_needs, save_needs
from matching.reasons import REFERRAL_END_LABELS, unmet_label
from matching.service import NeedValues, match_needs, need_values
from matching.weights import DEFAULT_PARAMETERS
from web import audit
from web.actors import Actor, NeedAreas
from web.db import Database
from web.services import NotFoundForActor, require_needs_access

__all__ = [
    "FORM_FIELDS",
    "LIST_STATES",
    "NEXT_STATUSES",
    "REPEATABLE",
    "FormChoices",
    "NeedInputError",
    "NeedPage",
    "ReferralError",
    "close_need",
    "create_need",
    "form_choices",
    "item_from_form",
    "list_needs",
    "need_json",
    "need_matches",
    "need_page",
    "record_referral",
    "reopen_need",
    "resident_list",
    "status_label",
    "status_labels",
]

#: The intake form's fields: the §4 names (DATA_FORMATS §8) but those the app sets itself
#: (the id, the point, the source), from the one list of §4 fields.
FORM_FIELDS = tuple(f for f in FIELDS if f not in ("id", "lat", "lon", "source"))
REPEATABLE = ("categories", "days", "months", "attributes")
#: How a referral may move on (§8): proposed → contacted → connected, or an end with its
#: cause; an end may be tried again. Recording the current status again adds a note.
NEXT_STATUSES: Mapping[str, tuple[str, ...]] = {
    "proposed": ("contacted", "declined", "not_eligible", "no_capacity", "unreachable"),
    "contacted": ("connected", "declined", "not_eligible", "no_capacity", "unreachable"),
    "connected": ("ended",),
    **{end: ("proposed", "contacted") for end in MATCH_END_STATUSES},
}
#: What the coordinator has done so far, worded for the timeline and the buttons; the
#: ends are worded once, as the unmet-needs reports count them
#: (:data:`matching.reasons.REFERRAL_END_LABELS`).
_STATUS_LABELS = {
    "proposed": N_("proposed"),
    "contacted": N_("contacted"),
    "connected": N_("connected"),
    **REFERRAL_END_LABELS,
    "recorded": N_("need recorded"),
    "closed": N_("need closed"),
    "reopened": N_("need reopened"),
}
#: The needs list's states: open with candidates, unmet (the matcher finds nothing that
#: can meet it today), connected (a referral is connected), closed.
LIST_STATES = ("open", "unmet", "connected", "closed")
_STATE_LABELS = {
    "open": N_("being worked on"),
    "unmet": N_("unmet"),
    "connected": N_("connected"),
    "closed": N_("closed (nothing more to do)"),
}
_URGENCY_LABELS = {"low": N_("can wait"), "normal": N_("usual"), "high": N_("urgent")}
PAGE_SIZE = 50
#: Candidates looked at when a referral is recorded for a resource (its score and reasons
#: are kept with it when it is among them).
_REFERRAL_TOP = 50
MAX_NOTE = 2000


def status_label(status: str, lang: str = "ja") -> str:
    msgid = _STATUS_LABELS.get(status)
    return status if msgid is None else translate(msgid, lang)


class _Labels(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return key


@lru_cache(maxsize=8)
def status_labels(lang: str = "ja") -> Mapping[str, str]:
    """Every :func:`status_label` in ``lang`` (an unknown status stands for itself): for a
    page that words many referrals. Shared: do not change it."""
    return _Labels({status: translate(msgid, lang) for status, msgid in _STATUS_LABELS.items()})


def state_label(state: str, lang: str = "ja") -> str:
    msgid = _STATE_LABELS.get(state)
    return state if msgid is None else translate(msgid, lang)


def urgency_label(urgency: str, lang: str = "ja") -> str:
    msgid = _URGENCY_LABELS.get(urgency)
    return urgency if msgid is None else translate(msgid, lang)


# ----------------------------------------------------------------------------- errors


class NeedInputError(ValueError):
    """The need has problems: ``errors`` maps each field to its messages (in the caller's
    language, naming the rule, never the value); nothing was written. ``denied`` when a
    district lies outside the actor's areas; ``conflict`` when the id is taken."""

    def __init__(
        self, errors: dict[str, list[str]], *, denied: bool = False, conflict: bool = False
    ) -> None:
        super().__init__(", ".join(sorted(errors)))  # the fields only
        self.errors = errors
        self.denied = denied
        self.conflict = conflict


class ReferralError(ValueError):
    """A status that is not one of §8, or that cannot follow the current one
    (``conflict``); ``message`` is worded in the caller's language."""

    def __init__(self, message: str, *, conflict: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.conflict = conflict


def _audit_alone(
    db: Database,
    actor: Actor,
    action: str,
    record_id: str | None,
    outcome: str,
    detail: str | None = None,
    record_type: str = "need",
) -> None:
    audit.append_alone(
        db.engine, actor, [audit.Entry(action, record_type, record_id, outcome, detail)]
    )


# ----------------------------------------------------------------------------- intake


@dataclass(frozen=True)
class DistrictChoice:
    code: str
    name: str


@dataclass(frozen=True)
class AreaChoice:
    code: str
    name: str
    districts: tuple[DistrictChoice, ...]


@dataclass(frozen=True)
class FormChoices:
    """What the intake form offers: the actor's districts (grouped by area), the
    categories (label, code, depth for indenting), weekdays, months, attributes, who may
    consent, urgencies."""

    areas: tuple[AreaChoice, ...]
    categories: tuple[tuple[str, str, int], ...]
    weekdays: tuple[str, ...]
    weekday_labels: tuple[str, ...]
    months: tuple[int, ...]
    month_labels: tuple[str, ...]
    attributes: tuple[str, ...]
    consent_by: tuple[str, ...]
    urgencies: tuple[tuple[str, str], ...]


def form_choices(db: Database, actor: Actor, lang: str = "ja") -> FormChoices:
    """The intake form's choices: only the districts of the actor's areas (all for tier 1
    and admin), so a coordinator cannot even pick another area's district."""
    require_needs_access(db, actor, "create")
    taxonomy = load_taxonomy()
    with db.read() as session:
        tree = ancestor_map(session)
        rows = session.execute(
            select(District.id, District.code, District.name, District.level).order_by(
                District.code
            )
        ).all()
    by_id = {r.id: r for r in rows}
    grouped: dict[int | None, list[DistrictChoice]] = {}
    for r in rows:
        if r.level != "district":
            continue
        area = ancestor_at(tree, r.id, "area")
        if not actor.may_reach_area(area):
            continue
        grouped.setdefault(area, []).append(DistrictChoice(r.code, r.name))
    areas = tuple(
        AreaChoice(
            by_id[a].code if a is not None else "",
            by_id[a].name if a is not None else translate(N_("(no area)"), lang),
            tuple(ds),
        )
        for a, ds in sorted(grouped.items(), key=lambda kv: by_id[kv[0]].code if kv[0] else "~")
    )
    categories = tuple((c.label(lang), c.code, len(taxonomy.ancestors(c.code))) for c in taxonomy)
    return FormChoices(
        areas=areas,
        categories=categories,
        weekdays=tuple(WEEKDAY_CHARS),
        weekday_labels=tuple(translate(w, lang) for w in WEEKDAY_EN),
        months=tuple(range(1, 13)),
        month_labels=tuple(translate(m, lang) for m in MONTH_EN),
        attributes=ATTRIBUTES,
        consent_by=CONSENT_BY,
        urgencies=tuple((u, urgency_label(u, lang)) for u in _URGENCY_LABELS),
    )


def item_from_form(form: Any) -> dict[str, Any]:
    """A §4 object from the form's fields (a ``MultiDict``): repeatable fields as lists,
    empty fields left out (absent means "not said"), 送迎 as true/false."""
    item: dict[str, Any] = {}
    for name in FORM_FIELDS:
        if name in REPEATABLE:
            values = [v.strip() for v in form.getlist(name) if v and v.strip()]
            if values:
                item[name] = values
            continue
        value = (form.get(name) or "").strip()
        if not value:
            continue
        if name == "transport":
            item[name] = {"true": True, "false": False}.get(value, value)
        else:
            item[name] = value
    return item


def _new_id(session: Session) -> str:
    """A fresh need id: ``W-`` and 10 random hex digits (unguessable, never a name)."""
    while True:
        candidate = f"W-{secrets.token_hex(5).upper()}"
        if session.scalar(select(Need.id).where(Need.external_id == candidate)) is None:
            return candidate


def _problems_by_field(problems: Iterable[Problem], lang: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in problems:
        column = p.column or "id"
        for name in column.split(","):
            out.setdefault(name.strip(), []).append(p.reason(lang))
    return out


@dataclass(frozen=True)
class Created:
    external_id: str
    warnings: dict[str, list[str]]


def create_need(
    db: Database,
    actor: Actor,
    item: Mapping[str, Any],
    *,
    lang: str = "ja",
    require_basis: bool = True,
    today: dt.date | None = None,
) -> Created:
    """Record one need (a §4 object) as ``actor``: checked as an import checks a line,
    the district within the actor's areas, the basis required when ``require_basis``
    (the intake form; the API takes a §4 object, where it stays a warning). A missing
    ``id`` is generated. Raises :class:`NeedInputError` (nothing written, audited)."""
    require_needs_access(db, actor, "create")
    today = today or today_in_japan()
    errors: dict[str, list[str]] = {}
    denied = conflict = False
    try:
        with db.write() as session:
            values = dict(item)
            if values.get("id") in (None, ""):
                values["id"] = _new_id(session)
            parsed, problems, warnings = parse_needs(session, [values], today=today)
            errors = _problems_by_field(problems, lang)
            if parsed:
                one = parsed[0]
                if not NeedAreas(session).allowed(actor, one.values["district_id"]):
                    denied = True
                    errors.setdefault("district", []).append(
                        Problem("need_outside_your_areas").reason(lang)
                    )
                if session.scalar(
                    select(Need.id).where(Need.external_id == one.values["external_id"])
                ):
                    conflict = True
                    errors.setdefault("id", []).append(
                        translate(N_("a need with this id is already recorded"), lang)
                    )
            if require_basis:
                _basis_errors(values, errors, lang)
            if errors:
                raise NeedInputError(errors, denied=denied, conflict=conflict)
            external_id = parsed[0].values["external_id"]
            save_needs(session, parsed)
            need_id = session.scalar(select(Need.id).where(Need.external_id == external_id))
            assert need_id is not None
            session.add(
                MatchEvent(
                    need_id=need_id,
                    status="recorded",
                    happened_on=parsed[0].values["recorded_on"] or today,
                    recorded_by=actor.login,
                )
            )
            audit.record(session, actor, "create", "need", external_id)
    except NeedInputError:
        _audit_alone(
            db,
            actor,
            "create",
            None,
            "denied" if denied else "failed",
            detail="fields=" + ",".join(sorted(errors))[:190],
        )
        raise
    shown = _problems_by_field(
        (w for w in warnings if not (require_basis and w.code == "basis_missing")), lang
    )
    return Created(external_id, shown)


def _basis_errors(values: Mapping[str, Any], errors: dict[str, list[str]], lang: str) -> None:
    """The form's rule (SECURITY_NOTES: APPI wants the basis recorded): consent with its
    date and who gave it, or the statutory basis."""
    consent_on, consent_by = values.get("consent_on"), values.get("consent_by")
    basis = values.get("basis")
    if not consent_on and not consent_by and not basis:
        message = translate(
            N_("record the consent (its date and who gave it) or the statutory basis"), lang
        )
        errors.setdefault("consent_on", []).append(message)
        errors.setdefault("basis", []).append(message)
    elif consent_on and not consent_by and "consent_on" not in errors:
        errors.setdefault("consent_by", []).append(translate(N_("say who gave the consent"), lang))
    elif consent_by and not consent_on and "consent_by" not in errors:
        errors.setdefault("consent_on", []).append(
            translate(N_("give the date the consent was given"), lang)
        )


# ---------------------------------------------------------------------------- reading


def _load(session: Session, actor: Actor, external_id: str) -> Need:
    """The need, when it is the actor's; otherwise NotFoundForActor (same as missing)."""
    need = session.scalars(
        select(Need)
        # its district's names and centroid, not its boundary; lazy loads are cheaper
        # than selectinload's for one row
        .options(
            defaultload(Need.district).load_only(
                District.code, District.name, District.centroid_lat, District.centroid_lon
            )
        )
        .where(Need.external_id == external_id)
    ).first()
    if need is None or not NeedAreas(session).allowed(actor, need.district_id):
        raise NotFoundForActor(external_id)
    _ = len(need.category_links), need.district
    return need


def _values(session: Session, actor: Actor, external_id: str) -> NeedValues:
    """As :func:`_load`, for a page that only reads: the need's values (one statement)."""
    need = need_values(session, external_id)
    if need is None or not NeedAreas(session).allowed(actor, need.district_id):
        raise NotFoundForActor(external_id)
    return need


def _read_district_names(session: Session) -> dict[int, tuple[str, str]]:
    return {
        r.id: (r.code, r.name)
        for r in session.execute(select(District.id, District.code, District.name))
    }


def _district_names(session: Session) -> dict[int, tuple[str, str]]:
    """District id → (code, name), kept per directory version (do not change it)."""
    return state.derived(session, "need_service.district_names", _read_district_names)


def _guarded(
    db: Database, actor: Actor, action: str, external_id: str, detail: str | None = None
) -> None:
    """Audit a read that succeeded (in a transaction of its own: reads take no lock)."""
    _audit_alone(db, actor, action, external_id, "ok", detail)


def _not_found(db: Database, actor: Actor, action: str, external_id: str) -> None:
    _audit_alone(db, actor, action, external_id[:100], "not_found")


@dataclass(frozen=True)
class Field:
    label: str
    value: str


@dataclass
class Referral:
    """One resource for the need: a ranked candidate, a stored referral, or both."""

    resource: str  # external id
    name: str
    rank: int | None = None
    score: float | None = None
    reasons: list[str] = field(default_factory=list)
    status: str = "proposed"
    stored: bool = False
    note: str | None = None
    phone: str | None = None
    hours: str = ""
    place: str | None = None
    address: str | None = None
    lat: float | None = None
    lon: float | None = None
    resource_status: str = "active"
    next_statuses: tuple[str, ...] = NEXT_STATUSES["proposed"]


@dataclass(frozen=True)
class TimelineEntry:
    happened_on: dt.date
    status: str
    label: str
    resource: str | None
    resource_name: str | None
    note: str | None
    recorded_by: str
    recorded_at: dt.datetime


@dataclass
class NeedPage:
    """Everything the need page shows (plain values: no session needed)."""

    external_id: str
    status: str
    district_code: str
    district_name: str
    area_name: str | None
    fields: list[Field]
    categories: list[tuple[str, bool]]  # (label, inferred)
    ranked: list[Referral]
    followed: list[Referral]  # stored referrals no longer among the top candidates
    unmet_reason: str | None
    near_miss: str | None
    timeline: list[TimelineEntry]
    point: tuple[float, float] | None
    point_is_centroid: bool
    walk_m: float
    on: dt.date
    area_code: str | None


def _words(values: Sequence[Any], words: Sequence[str]) -> str:
    return "・".join(words[v] for v in values)


def _need_fields(need: Need | NeedValues, lang: str) -> list[Field]:
    def t(msgid: str) -> str:
        return translate(msgid, lang)

    out = []

    def add(label: str, value: Any) -> None:
        if value not in (None, "", [], ()):
            out.append(Field(t(label), str(value)))

    add(N_("Pseudonym"), need.resident_ref)
    add(N_("What is needed"), need.text)
    if need.days:
        add(
            N_("Days wanted"),
            _words([WEEKDAY_CODES.index(d) for d in need.days], [t(w) for w in WEEKDAY_EN]),
        )
    if need.time_start is not None and need.time_end is not None:
        add(N_("Time wanted"), f"{need.time_start:%H:%M}–{need.time_end:%H:%M}")
    if need.months:
        add(N_("Months wanted"), _words([m - 1 for m in need.months], [t(m) for m in MONTH_EN]))
    if need.max_walk_m is not None:
        add(N_("Walking distance"), translate(N_("{metres} m"), lang, metres=need.max_walk_m))
    if need.transport is not None:
        add(N_("Can travel beyond walking"), t(N_("can")) if need.transport else t(N_("cannot")))
    add(N_("Age"), need.age)
    add(N_("Attributes"), "・".join(need.attributes or ()))
    add(N_("Urgency"), urgency_label(need.urgency, lang))
    add(N_("Recorded on"), need.recorded_on)
    if need.consent_on is not None:
        add(
            N_("Consent"),
            translate(
                N_("{date}, given by {who}"), lang, date=need.consent_on, who=need.consent_by or "?"
            ),
        )
    add(N_("Statutory basis"), need.basis)
    return out


def _resources(session: Session, external_ids: Iterable[str]) -> dict[str, CoordinatorResource]:
    ids = sorted(set(external_ids))
    if not ids:
        return {}
    return {r.external_id: r for r in coordinator_resources(session, external_ids=ids)}


def _fill(ref: Referral, info: CoordinatorResource | None) -> None:
    if info is None:
        return
    ref.phone, ref.hours, ref.place, ref.address = (
        info.phone,
        info.schedule,
        info.place,
        info.address,
    )
    ref.lat, ref.lon, ref.resource_status = info.lat, info.lon, info.status
    ref.name = ref.name or info.name


# Plain columns, run as Core on the session's connection (no ORM execution layer).
_STORED = (
    select(
        Match.status, Match.note, Match.score, Match.reasons, Resource.external_id, Resource.name
    )
    .join(Resource, Resource.id == Match.resource_id)
    .where(Match.need_id == bindparam("need_id"))
    .order_by(Match.id)
)
_TIMELINE = (
    select(
        MatchEvent.happened_on,
        MatchEvent.status,
        MatchEvent.note,
        MatchEvent.recorded_by,
        MatchEvent.recorded_at,
        Resource.external_id,
        Resource.name,
    )
    .outerjoin(Match, Match.id == MatchEvent.match_id)
    .outerjoin(Resource, Resource.id == Match.resource_id)
    .where(MatchEvent.need_id == bindparam("need_id"))
    .order_by(MatchEvent.happened_on.desc(), MatchEvent.id.desc())
)


def _stored(session: Session, need: Need | NeedValues) -> dict[str, tuple[Any, str]]:
    """Resource id → (its referral's status, note, score and reasons; the resource's name),
    in the order recorded (plain rows: no Match object)."""
    rows = session.connection().execute(_STORED, {"need_id": need.id}).all()
    return {r.external_id: (r, r.name) for r in rows}


def _timeline(session: Session, need: Need | NeedValues, lang: str) -> list[TimelineEntry]:
    rows = session.connection().execute(_TIMELINE, {"need_id": need.id}).all()
    labels = status_labels(lang)
    return [
        TimelineEntry(
            e.happened_on,
            e.status,
            labels[e.status],
            e.external_id,
            e.name,
            e.note,
            e.recorded_by,
            e.recorded_at,
        )
        for e in rows
    ]


def _rank(
    db: Database, session: Session, need: Need | NeedValues, on: dt.date, top: int
) -> NeedResult:
    return match_needs(session, db.snapshots, [need], on=on, top=top)[0]


def need_page(
    db: Database, actor: Actor, external_id: str, *, on: dt.date, lang: str = "ja", top: int = 5
) -> NeedPage:
    """The need, its ranked candidates with every reason, each one's phone and hours, the
    referrals recorded and the timeline; audited as a read."""
    require_needs_access(db, actor, "read")
    try:
        with db.read() as session:
            need = _values(session, actor, external_id)
            result = _rank(db, session, need, on, top)
            stored = _stored(session, need)
            info = _resources(session, [*(m.external_id for m in result.matches), *stored])
            area_id = ancestor_at(ancestor_map(session), need.district_id, "area")
            area = None if area_id is None else _district_names(session).get(area_id)
            area_code, area_name = area if area is not None else (None, None)
            taxonomy = load_taxonomy()
            ranked = []
            for rank, m in enumerate(result.matches, start=1):
                ref = Referral(
                    m.external_id,
                    m.name,
                    rank=rank,
                    score=float(m.score),
                    reasons=[describe_reason(r, lang) for r in m.reasons],
                )
                if m.external_id in stored:
                    row = stored[m.external_id][0]
                    ref.status, ref.stored, ref.note = row.status, True, row.note
                ref.next_statuses = NEXT_STATUSES.get(ref.status, ())
                _fill(ref, info.get(m.external_id))
                ranked.append(ref)
            shown = {r.resource for r in ranked}
            followed = []
            for ext, (row, name) in stored.items():
                if ext in shown:
                    continue
                ref = Referral(
                    ext,
                    name,
                    score=row.score,
                    reasons=[describe_reason(r, lang) for r in row.reasons or ()],
                    status=row.status,
                    stored=True,
                    note=row.note,
                    next_statuses=NEXT_STATUSES.get(row.status, ()),
                )
                _fill(ref, info.get(ext))
                followed.append(ref)
            near = result.near_miss
            location = need.location()
            page = NeedPage(
                external_id=need.external_id,
                status=need.status,
                district_code=need.district_code,
                district_name=need.district_name,
                area_name=area_name,
                fields=_need_fields(need, lang),
                categories=[
                    (taxonomy[code].label(lang), inferred) for code, inferred in need.categories
                ],
                ranked=ranked,
                followed=followed,
                unmet_reason=unmet_label(result.unmet_reason, lang)
                if result.unmet and result.unmet_reason
                else None,
                near_miss=(
                    f"{near.name}（{'、'.join(describe_reason(r, lang) for r in near.reasons)}）"
                    if near is not None
                    else None
                ),
                timeline=_timeline(session, need, lang),
                point=None
                if location.lat is None or location.lon is None
                else (float(location.lat), float(location.lon)),
                point_is_centroid=location.is_centroid,
                walk_m=float(
                    need.max_walk_m
                    if need.max_walk_m is not None
                    else DEFAULT_PARAMETERS["default_walk_m"]
                ),
                area_code=area_code,
                on=on,
            )
    except NotFoundForActor:
        _not_found(db, actor, "read", external_id)
        raise
    _guarded(db, actor, "read", external_id, detail=f"matches={len(page.ranked)}")
    return page


def need_matches(
    db: Database, actor: Actor, external_id: str, *, on: dt.date, lang: str = "ja", top: int = 5
) -> dict[str, Any]:
    """One element of §5 for the need (reasons in ``lang``), each match with the status
    of its referral when one is recorded; audited as a match."""
    require_needs_access(db, actor, "match")
    try:
        with db.read() as session:
            need = _load(session, actor, external_id)
            result = _rank(db, session, need, on, top)
            stored = _stored(session, need)
    except NotFoundForActor:
        _not_found(db, actor, "match", external_id)
        raise
    out = result_to_json(result, lang)
    for m in out["matches"]:
        m["status"] = stored[m["resource"]][0].status if m["resource"] in stored else "proposed"
    detail = f"unmet={result.unmet_reason}" if result.unmet else f"matches={len(result.matches)}"
    _guarded(db, actor, "match", external_id, detail=detail)
    return out


# --------------------------------------------------------------------------- referrals


def record_referral(
    db: Database,
    actor: Actor,
    external_id: str,
    resource_external_id: str,
    status: str,
    note: str | None = None,
    *,
    happened_on: dt.date | None = None,
    lang: str = "ja",
) -> str:
    """Record what happened with the referral of one resource for the need: the new
    ``status`` with its note and day, in the need's timeline; returns the status.

    The first record of a resource stores its referral (with the score and reasons it
    has among the candidates today, when it is one). A connected referral makes the need
    connected; when none is left connected, the need is open again.
    """
    require_needs_access(db, actor, "update")
    today = today_in_japan()
    happened_on = happened_on or today
    note = (note or "").strip() or None
    try:
        with db.write() as session:
            need = _load(session, actor, external_id)  # first: another area's is not found
            if status not in NEXT_STATUSES:
                raise ReferralError(
                    translate(N_("unknown status {status}"), lang, status=status[:40])
                )
            if note is not None and len(note) > MAX_NOTE:
                raise ReferralError(
                    translate(N_("the note is longer than {max} characters"), lang, max=MAX_NOTE)
                )
            if happened_on > today + dt.timedelta(days=1):
                raise ReferralError(translate(N_("the date is in the future"), lang))
            resource = session.scalars(
                select(Resource).where(Resource.external_id == resource_external_id)
            ).first()
            if resource is None:
                raise NotFoundForActor(resource_external_id)
            match = session.scalars(
                select(Match).where(Match.need_id == need.id, Match.resource_id == resource.id)
            ).first()
            current = match.status if match is not None else "proposed"
            if status != current and status not in NEXT_STATUSES[current]:
                raise ReferralError(
                    translate(
                        N_("“{new}” cannot follow “{current}”"),
                        lang,
                        new=status_label(status, lang),
                        current=status_label(current, lang),
                    ),
                    conflict=True,
                )
            if status == current and match is not None and note is None:
                raise ReferralError(
                    translate(
                        N_("the referral is already “{current}”: add a note"),
                        lang,
                        current=status_label(current, lang),
                    ),
                    conflict=True,
                )
            if match is None:
                result = _rank(db, session, need, today, _REFERRAL_TOP)
                found = next((m for m in result.matches if m.resource_id == resource.id), None)
                match = Match(
                    need_id=need.id,
                    resource_id=resource.id,
                    score=float(found.score) if found else 0.0,
                    factors={k: round(float(v), 4) for k, v in found.factors.items()}
                    if found
                    else {},
                    reasons=list(found.reasons) if found else [],
                )
                session.add(match)
            match.status = status
            if note is not None:
                match.note = note
            session.flush()
            session.add(
                MatchEvent(
                    need_id=need.id,
                    match_id=match.id,
                    status=status,
                    note=note,
                    happened_on=happened_on,
                    recorded_by=actor.login,
                )
            )
            _follow_need(session, need)
            audit.record(
                session,
                actor,
                "update",
                "need",
                need.external_id,
                detail=f"referral={resource.external_id[:60]} status={status}",
            )
    except NotFoundForActor:
        _not_found(db, actor, "update", external_id)
        raise
    except ReferralError:
        _audit_alone(db, actor, "update", external_id[:100], "failed", f"status={status[:20]}")
        raise
    return status


def _follow_need(session: Session, need: Need) -> None:
    """The need follows its referrals: connected while one is connected, else open (a
    closed need stays closed)."""
    if need.status == "closed":
        return
    session.flush()
    connected = session.scalar(
        select(func.count(Match.id)).where(Match.need_id == need.id, Match.status == "connected")
    )
    wanted = "matched" if connected else "open"
    if need.status != wanted:
        need.status = wanted


def _need_event(
    db: Database, actor: Actor, external_id: str, event: str, note: str | None, lang: str
) -> None:
    require_needs_access(db, actor, "update")
    note = (note or "").strip() or None
    try:
        with db.write() as session:
            need = _load(session, actor, external_id)
            if note is not None and len(note) > MAX_NOTE:
                raise ReferralError(
                    translate(N_("the note is longer than {max} characters"), lang, max=MAX_NOTE)
                )
            if (event == "closed") == (need.status == "closed"):
                raise ReferralError(
                    translate(
                        N_("the need is already closed")
                        if event == "closed"
                        else N_("the need is not closed"),
                        lang,
                    ),
                    conflict=True,
                )
            if event == "closed":
                need.status = "closed"
            else:
                need.status = "open"
                _follow_need(session, need)
            session.add(
                MatchEvent(
                    need_id=need.id,
                    status=event,
                    note=note,
                    happened_on=today_in_japan(),
                    recorded_by=actor.login,
                )
            )
            audit.record(session, actor, "update", "need", need.external_id, detail=f"need={event}")
    except NotFoundForActor:
        _not_found(db, actor, "update", external_id)
        raise


def close_need(
    db: Database, actor: Actor, external_id: str, note: str | None = None, *, lang: str = "ja"
) -> None:
    """Close the need (nothing more to do); it leaves the open and unmet lists."""
    _need_event(db, actor, external_id, "closed", note, lang)


def reopen_need(
    db: Database, actor: Actor, external_id: str, note: str | None = None, *, lang: str = "ja"
) -> None:
    _need_event(db, actor, external_id, "reopened", note, lang)


# ------------------------------------------------------------------------------ lists


@dataclass(frozen=True)
class ListRow:
    external_id: str
    district_code: str
    district_name: str
    categories: str
    recorded_on: dt.date | None
    state: str
    state_label: str
    urgency: str
    referrals: int


@dataclass(frozen=True)
class NeedList:
    rows: list[ListRow]
    total: int
    page: int
    pages: int
    districts: list[DistrictChoice]


def list_needs(
    db: Database,
    actor: Actor,
    *,
    state: str | None = None,
    district: str | None = None,
    area: str | None = None,
    category: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    page: int = 1,
    on: dt.date,
    lang: str = "ja",
    page_size: int = PAGE_SIZE,
) -> NeedList:
    """The needs of the actor's areas by district and date (newest first within a
    district), filtered by state (:data:`LIST_STATES`; None: all but closed), district or
    area code, category code (the /unmet page links here) and recording date. Whether an
    open need is unmet is asked of the matcher for the rows shown (all open ones when
    listing the unmet); audited as one list event with the count."""
    require_needs_access(db, actor, "list")
    if state is not None and state not in LIST_STATES:
        state = None
    taxonomy = load_taxonomy()
    with db.read() as session:
        where = _list_filters(
            session, actor, state=state, area=area, category=category, since=since, until=until
        )
        choices = session.execute(
            select(District.code, District.name)
            .where(District.id.in_(select(Need.district_id).where(*where)))
            .order_by(District.code)
        ).all()
        if district:
            where.append(Need.district_id.in_(select(District.id).where(District.code == district)))
        ordered = (
            select(Need)
            .join(District, District.id == Need.district_id)
            .where(*where)
            .options(selectinload(Need.category_links), selectinload(Need.district))
            .order_by(District.code, Need.recorded_on.desc().nulls_last(), Need.external_id)
        )
        if state in ("open", "unmet"):  # the matcher decides: every open need is asked
            needs = list(session.scalars(ordered))
            unmet = _unmet_ids(db, session, needs, on)
            needs = [n for n in needs if (n.external_id in unmet) == (state == "unmet")]
            total = len(needs)
            pages = max(1, math.ceil(total / page_size))
            page = min(max(1, page), pages)
            shown = needs[(page - 1) * page_size : page * page_size]
        else:  # counted and paged by the database; the matcher asked for the page only
            total = session.scalar(select(func.count(Need.id)).where(*where)) or 0
            pages = max(1, math.ceil(total / page_size))
            page = min(max(1, page), pages)
            shown = list(session.scalars(ordered.limit(page_size).offset((page - 1) * page_size)))
            unmet = _unmet_ids(db, session, shown, on)
        counts = (
            dict(
                session.execute(
                    select(Match.need_id, func.count(Match.id))
                    .where(Match.need_id.in_([n.id for n in shown]))
                    .group_by(Match.need_id)
                )
                .tuples()
                .all()
            )
            if shown
            else {}
        )
        rows = []
        for n in shown:
            row_state = (
                "closed"
                if n.status == "closed"
                else "connected"
                if n.status == "matched"
                else "unmet"
                if n.external_id in unmet
                else "open"
            )
            rows.append(
                ListRow(
                    n.external_id,
                    n.district.code,
                    n.district.name,
                    "・".join(
                        taxonomy[link.category_code].label(lang) for link in n.category_links
                    ),
                    n.recorded_on,
                    row_state,
                    state_label(row_state, lang),
                    n.urgency,
                    int(counts.get(n.id, 0)),
                )
            )
    _audit_alone(db, actor, "list", None, "ok", detail=f"count={total} shown={len(rows)}")
    return NeedList(rows, total, page, pages, [DistrictChoice(c, n) for c, n in choices])


def _list_filters(
    session: Session,
    actor: Actor,
    *,
    state: str | None,
    area: str | None,
    category: str | None,
    since: dt.date | None,
    until: dt.date | None,
) -> list[Any]:
    """SQL conditions: the actor's areas (and ``area``), the state, kind and dates."""
    where: list[Any] = []
    tree = ancestor_map(session)
    area_id = session.scalar(select(District.id).where(District.code == area)) if area else None
    if area is not None and area_id is None:
        where.append(Need.id.is_(None))  # no such area: nothing
    if not actor.may_reach_area(None) or area_id is not None:
        reachable = [
            d
            for d in tree
            if actor.may_reach_area(ancestor_at(tree, d, "area"))
            and (area_id is None or ancestor_at(tree, d, "area") == area_id)
        ]
        where.append(Need.district_id.in_(reachable))
    if state == "closed":
        where.append(Need.status == "closed")
    elif state == "connected":
        where.append(Need.status == "matched")
    elif state in ("open", "unmet"):
        where.append(Need.status == "open")
    else:
        where.append(Need.status != "closed")
    if category:
        where.append(
            Need.id.in_(select(NeedCategory.need_id).where(NeedCategory.category_code == category))
        )
    if since:
        where.append(Need.recorded_on >= since)
    if until:
        where.append(Need.recorded_on <= until)
    return where


def _unmet_ids(db: Database, session: Session, needs: Sequence[Need], on: dt.date) -> set[str]:
    open_needs = [n for n in needs if n.status == "open"]
    if not open_needs:
        return set()
    results = match_needs(session, db.snapshots, open_needs, on=on, top=1)
    return {r.need_id for r in results if r.unmet}


def need_json(db: Database, actor: Actor, external_id: str) -> dict[str, Any]:
    """The need as a §4 object (its id, district code, values as stored) with its status,
    referrals and timeline: for the API; audited as a read."""
    require_needs_access(db, actor, "read")
    try:
        with db.read() as session:
            need = _load(session, actor, external_id)
            out = _as_json(need)
            out["referrals"] = [
                {"resource": ext, "status": m.status, "note": m.note}
                for ext, (m, _name) in _stored(session, need).items()
            ]
            out["timeline"] = [
                {
                    "on": e.happened_on.isoformat(),
                    "status": e.status,
                    "resource": e.resource,
                    "note": e.note,
                    "by": e.recorded_by,
                }
                for e in _timeline(session, need, "ja")
            ]
    except NotFoundForActor:
        _not_found(db, actor, "read", external_id)
        raise
    _guarded(db, actor, "read", external_id)
    return out


def _as_json(need: Need) -> dict[str, Any]:
    time = (
        f"{need.time_start:%H:%M}-{need.time_end:%H:%M}"
        if need.time_start is not None and need.time_end is not None
        else None
    )
    values: dict[str, Any] = {
        "id": need.external_id,
        "resident": need.resident_ref,
        "district": need.district.code,
        "lat": need.lat,
        "lon": need.lon,
        "categories": need.category_codes,
        "text": need.text,
        "days": [WEEKDAY_CHARS[WEEKDAY_CODES.index(d)] for d in need.days or ()] or None,
        "time": time,
        "months": need.months,
        "max_walk_m": need.max_walk_m,
        "transport": need.transport,
        "age": need.age,
        "attributes": need.attributes or None,
        "recorded_on": need.recorded_on.isoformat() if need.recorded_on else None,
        "urgency": need.urgency,
        "consent_on": need.consent_on.isoformat() if need.consent_on else None,
        "consent_by": need.consent_by,
        "basis": need.basis,
        "status": need.status,
    }
    return {k: v for k, v in values.items() if v is not None}


def list_json(
    db: Database, actor: Actor, *, state: str | None = None, district: str | None = None
) -> list[dict[str, Any]]:
    """The actor's needs as §4 objects (with their status): for the API; audited."""
    require_needs_access(db, actor, "list")
    with db.read() as session:
        areas = NeedAreas(session)
        stmt = (
            select(Need)
            .options(selectinload(Need.category_links), selectinload(Need.district))
            .order_by(Need.external_id)
        )
        if state == "closed":
            stmt = stmt.where(Need.status == "closed")
        elif state == "connected":
            stmt = stmt.where(Need.status == "matched")
        elif state == "open":
            stmt = stmt.where(Need.status == "open")
        if district:
            stmt = stmt.join(District, District.id == Need.district_id).where(
                District.code == district
            )
        out = [_as_json(n) for n in session.scalars(stmt) if areas.allowed(actor, n.district_id)]
    _audit_alone(db, actor, "list", None, "ok", detail=f"count={len(out)}")
    return out


# ---------------------------------------------------------------------- resident list


@dataclass(frozen=True)
class ListedResource:
    """One resource on the resident's list: what they need to go or call, nothing of
    the need."""

    number: int
    external_id: str
    name: str
    place: str | None
    address: str | None
    phone: str | None
    schedule: str
    next_dates: list[str]
    lat: float | None
    lon: float | None
    categories: tuple[str, ...]
    districts: tuple[str, ...]
    last_verified_on: dt.date | None


@dataclass(frozen=True)
class ResidentList:
    resources: list[ListedResource]
    skipped: list[str]  # picked resources that are not active (names, for the coordinator)
    area_code: str | None
    as_of: dt.date


PICKED_STATUSES = ("contacted", "connected")


def resident_list(
    db: Database,
    actor: Actor,
    external_id: str,
    *,
    picked: Sequence[str] = (),
    on: dt.date,
    lang: str = "ja",
    export: str = "html",
) -> ResidentList:
    """The resources picked for one need, for the resident: the ticked ones (``picked``),
    else the referrals contacted or connected. Only what the resident needs to go or call
    (name, place, hours, next dates, phone); no value of the need. Paused and ended
    resources are left out (named in ``skipped``). Audited as an export."""
    require_needs_access(db, actor, "export")
    try:
        with db.read() as session:
            need = _load(session, actor, external_id)
            stored = _stored(session, need)
            chosen = list(dict.fromkeys(p for p in picked if p)) or [
                ext for ext, (m, _n) in stored.items() if m.status in PICKED_STATUSES
            ]
            info = _resources(session, chosen)
            area_id = ancestor_at(ancestor_map(session), need.district_id, "area")
            area_code = session.scalar(select(District.code).where(District.id == area_id))
            listed: list[ListedResource] = []
            skipped: list[str] = []
            dates = _next_dates(
                session, [info[c].external_id for c in chosen if c in info], on, lang
            )
            for ext in chosen:
                r = info.get(ext)
                if r is None:
                    continue
                if r.status != "active":
                    skipped.append(r.name)
                    continue
                listed.append(
                    ListedResource(
                        len(listed) + 1,
                        r.external_id,
                        r.name,
                        r.place,
                        r.address,
                        r.phone,
                        r.schedule,
                        dates.get(r.external_id, []),
                        r.lat,
                        r.lon,
                        r.categories,
                        r.districts,
                        r.last_verified_on,
                    )
                )
    except NotFoundForActor:
        _not_found(db, actor, "export", external_id)
        raise
    _guarded(db, actor, "export", external_id, detail=f"resident_list={export} n={len(listed)}")
    return ResidentList(listed, skipped, area_code, on)


def _next_dates(
    session: Session, external_ids: Sequence[str], on: dt.date, lang: str, count: int = 5
) -> dict[str, list[str]]:
    """The next ``count`` days each resource meets (within 120 days), worded."""
    if not external_ids:
        return {}
    rows = session.execute(
        select(
            Resource.external_id,
            Schedule.rrule,
            Schedule.start_time,
            Schedule.end_time,
            Schedule.season_start_month,
            Schedule.season_end_month,
            Schedule.holiday_rule,
            Schedule.year_end_closed,
            Schedule.anchor_date,
        )
        .join(Schedule, Schedule.resource_id == Resource.id)
        .where(Resource.external_id.in_(list(external_ids)), Resource.schedule_understood)
        .order_by(Schedule.id)
    ).all()
    schedules: dict[str, list[ParsedSchedule]] = {}
    for ext, rrule, start, end, first, last, holiday, year_end, anchor in rows:
        schedules.setdefault(ext, []).append(
            ParsedSchedule(
                rrule=rrule,
                start_time=start,
                end_time=end,
                season_start_month=first,
                season_end_month=last,
                holiday_rule=holiday or "open",
                year_end_closed=bool(year_end),
                anchor_date=anchor,
            )
        )
    out = {}
    for ext, parsed in schedules.items():
        found = expand(parsed, on, on + dt.timedelta(days=120))[:count]
        out[ext] = [_occurrence_words(o.day, o.start, o.end, lang) for o in found]
    return out


def _occurrence_words(day: dt.date, start: Any, end: Any, lang: str) -> str:
    weekday = translate(WEEKDAY_EN[day.weekday()], lang)
    words = translate(
        N_("{month}/{day} ({weekday})"), lang, month=day.month, day=day.day, weekday=weekday
    )
    if isinstance(start, dt.datetime):
        words += f" {start:%H:%M}"
        if isinstance(end, dt.datetime):
            words += f"–{end:%H:%M}"
    return words
