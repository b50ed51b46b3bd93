"""The service layer that pages, the CLI and (later) the API all call.

Every operation on a need, a match or a non-public resource takes an
:class:`~web.actors.Actor`, checks the rules in :mod:`web.actors`, and writes its audit
events (:mod:`web.audit`) in the same transaction as the work. Denied attempts are
audited too, in a transaction of their own (the work's was rolled back).

Aggregates (unmet counts) show no need's values and run in a read-only session: they
never take a write lock, so a report works while an import is running.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from directory.errors import DirectoryError, InvalidInputError
from directory.geography import ImportResult
from directory.i18n import N_, LocalisedError
from matching.engine import NeedResult
from matching.models import Need
from matching.service import (
    UnknownNeedError,
    UnmetCount,
    load_needs,
    match_needs,
    record_proposals,
    unmet_counts,
)
from web import audit
from web.actors import WHOLE_MUNICIPALITY_ROLES, Actor, NeedAreas
from web.db import Database


class AccessDenied(LocalisedError, PermissionError):
    """The actor may not do this. The message (a catalogue msgid) names the rule, never the
    record's data; ``str()`` is Japanese, ``describe(lang)`` any language."""

    def __init__(self, msgid: str = N_("You are not allowed to do this"), /, **params: Any) -> None:
        super().__init__(msgid, **params)


class NotFoundForActor(LookupError):
    """A need that does not exist *or* is not the actor's (the two look the same)."""


def _audit_alone(
    db: Database,
    actor: Actor,
    action: str,
    record_type: str,
    record_id: str | None = None,
    detail: str | None = None,
    outcome: str = "denied",
) -> None:
    """An event in a transaction of its own (the work's was rolled back, or was none)."""
    with db.write() as session:
        audit.record(session, actor, action, record_type, record_id, outcome, detail)


def require_needs_access(db: Database, actor: Actor, action: str) -> None:
    """Refuse (and audit) an actor who may not work with needs at all."""
    if not actor.sees_needs:
        _audit_alone(db, actor, action, "need")
        raise AccessDenied(
            N_(
                "You are not allowed to work with needs (only tier-2 "
                "coordinators with areas, tier 1 and administrators)"
            )
        )


# ----------------------------------------------------------------------------- needs


def import_needs_file(
    db: Database, actor: Actor, path: Path, *, dry_run: bool = False
) -> ImportResult:
    """Import a §4 needs file as ``actor``: needs outside their areas are errors."""
    from matching.needs import import_needs

    require_needs_access(db, actor, "create")
    try:
        with db.write() as session:
            areas = NeedAreas(session)
            result = import_needs(session, path, district_allowed=lambda d: areas.allowed(actor, d))
            if dry_run:
                session.rollback()
            else:
                audit_needs_import(session, actor, result)
    except InvalidInputError as exc:
        denied = any(p.code == "need_outside_your_areas" for p in exc.problems)
        _audit_alone(
            db,
            actor,
            "create",
            "need_import",
            None,
            detail=f"errors={len(exc.problems)}",
            outcome="denied" if denied else "failed",
        )
        raise
    except DirectoryError as exc:  # a database problem (another import running…)
        _audit_alone(
            db,
            actor,
            "create",
            "need_import",
            None,
            detail=str(getattr(exc, "code", type(exc).__name__))[:200],
            outcome="failed",
        )
        raise
    if dry_run:
        _audit_alone(
            db,
            actor,
            "read",
            "need_import",
            None,
            detail=f"dry_run needs={len(result.records)}",
            outcome="ok",
        )
    return result


def audit_needs_import(session: Session, actor: Actor, result: ImportResult) -> None:
    """One event per need an import created or updated (or found unchanged)."""
    audit.record_many(
        session,
        actor,
        [
            audit.Entry(
                "create" if what == "create" else "update",
                "need",
                rid,
                detail="unchanged" if what == "unchanged" else None,
            )
            for rid, what in result.records
        ],
    )


def _needs_for(session: Session, actor: Actor, need_ids: Sequence[str]) -> list[Need]:
    """The needs asked for (all open ones of the actor's areas when none are named)."""
    areas = NeedAreas(session)
    if need_ids:
        try:
            needs = load_needs(session, need_ids)
        except UnknownNeedError:
            raise NotFoundForActor(", ".join(sorted(need_ids))) from None
        if any(not areas.allowed(actor, n.district_id) for n in needs):
            raise NotFoundForActor(", ".join(sorted(need_ids)))
        return needs
    return [n for n in load_needs(session) if areas.allowed(actor, n.district_id)]


@dataclass
class Matched:
    """Needs and their results, detached from the session that read them."""

    needs: list[Need]
    results: list[NeedResult]


def match(
    db: Database,
    actor: Actor,
    need_ids: Sequence[str] = (),
    *,
    on: dt.date,
    top: int = 5,
    progress: Callable[[int, int], None] | None = None,
) -> Matched:
    """Rank resources for needs and record them as proposed matches (audited per need);
    ``progress(done, total)`` as batches of needs are scored."""
    require_needs_access(db, actor, "match")
    try:
        with db.write() as session:
            needs = _needs_for(session, actor, need_ids)
            results = match_needs(session, db.snapshots, needs, on=on, top=top, progress=progress)
            record_proposals(session, needs, results)
            audit.record_many(
                session,
                actor,
                [
                    audit.Entry(
                        "match",
                        "need",
                        n.external_id,
                        detail=f"unmet={r.unmet_reason}"
                        if r.unmet
                        else f"matches={len(r.matches)}",
                    )
                    for n, r in zip(needs, results, strict=True)
                ],
            )
            session.expunge_all()
    except NotFoundForActor:
        for rid in need_ids:
            _audit_alone(db, actor, "match", "need", rid, outcome="not_found")
        raise
    return Matched(needs, results)


def unmet(db: Database, actor: Actor, *, level: str, on: dt.date) -> list[UnmetCount]:
    """Unmet needs counted per place, category and reason, over the actor's areas.

    Read-only (no write lock, no audit row): it shows counts, never a need.
    """
    if not actor.sees_needs:
        raise AccessDenied(N_("You are not allowed to see the count of unmet needs"))
    with db.read() as session:
        needs = _needs_for(session, actor, ())
        results = match_needs(session, db.snapshots, needs, on=on, top=1)
        return unmet_counts(session, needs, results, level=level)


# ------------------------------------------------------------------------- resources


def require_staff(actor: Actor) -> None:
    """Non-public resources are for staff (tier 2, tier 1, admin) only."""
    if not actor.sees_private_resources:
        raise AccessDenied(N_("You are not allowed to see non-public resources"))


def require_directory_editor(actor: Actor) -> None:
    """Whole-directory imports are for tier 1 and admin (and the server's operator)."""
    if actor.role not in {"admin", "tier1", "system"}:
        raise AccessDenied(N_("Only tier 1 and administrators can import for the whole directory"))


def directory_page(session: Session, actor: Actor, lang: str = "ja") -> dict[str, Any]:
    """What the first page shows: staff see every resource, anyone else public, active ones."""
    from directory.queries import area_overview, resources_by_area

    return {
        "overview": area_overview(session),
        "areas": resources_by_area(session, lang, public_only=not actor.sees_private_resources),
    }


# ------------------------------------------------------------------ unmet needs report


def unmet_report(
    db: Database,
    actor: Actor,
    *,
    level: str = "district",
    on: dt.date,
    fy: int | None = None,
    month: int | None = None,
    area: str | None = None,
    ends: bool = True,
) -> list[UnmetCount]:
    """What is missing, per place, category and reason, over the actor's areas: the open
    needs the engine finds unmet on ``on`` (DATA_FORMATS §5 reasons) and, with ``ends``,
    the referrals that ended (§8 causes, in the same ``reason`` field).

    ``fy``/``month`` keep a fiscal year or one month of it (:mod:`directory.fiscal`): a
    need counts on the day it was recorded (``recorded_on``, else the day it was entered),
    a referral's end on the day its status was last set. ``area`` narrows to one area or
    district; one the actor may not reach, or none with that code, is
    :class:`NotFoundForActor`. A need with two categories counts once under each, and
    once per cause however many of its referrals ended that way.

    Read-only (no write lock, no audit row): it shows counts, never a need. The answer is
    kept per database and reused while no need, referral or directory row has changed
    (:mod:`web.report_cache`), for actors who see the same places.
    """
    from directory import fiscal
    from web.report_cache import begin_snapshot, needs_fingerprint

    if not actor.sees_needs:
        raise AccessDenied(N_("You are not allowed to see the count of unmet needs"))
    span = fiscal.period(fy, month)
    key = (_visibility(actor), level, on, fy, month, area, ends)
    with db.read() as session:
        begin_snapshot(session)
        # read before the data, in its snapshot: the answer is never labelled newer
        fingerprint = needs_fingerprint(session)
        kept = db.unmet_reports.get(key, fingerprint)
        if kept is not None:
            return list(kept)
        rows = _unmet_rows(session, db, actor, level=level, on=on, span=span, area=area, ends=ends)
    db.unmet_reports.put(key, fingerprint, tuple(rows))
    return rows


def _visibility(actor: Actor) -> tuple[str, frozenset[int]]:
    """What decides which needs ``actor`` counts: everywhere, or these areas."""
    if actor.role in WHOLE_MUNICIPALITY_ROLES:
        return ("everywhere", frozenset())
    return (actor.role, actor.area_ids)


def _unmet_rows(
    session: Session,
    db: Database,
    actor: Actor,
    *,
    level: str,
    on: dt.date,
    span: Any,
    area: str | None,
    ends: bool,
) -> list[UnmetCount]:
    """:func:`unmet_report` computed afresh."""
    from directory import fiscal

    areas = NeedAreas(session)
    inside = _report_scope(session, actor, areas, area)

    def counted(district_id: int) -> bool:
        return areas.allowed(actor, district_id) and (inside is None or district_id in inside)

    needs = [
        n
        for n in load_needs(session, where=need_filters(session, counted, span))
        if counted(n.district_id)
        and (span is None or fiscal.recorded_day(n.recorded_on, n.created_at) in span)
    ]
    results = match_needs(session, db.snapshots, needs, on=on, top=1)
    rows = unmet_counts(session, needs, results, level=level)
    if ends:
        rows += _referral_ends(session, counted, span, level)
    return sorted(rows, key=lambda u: (u.district, u.category, u.reason))


def need_filters(session: Session, counted: Callable[[int], bool], span: Any) -> list[Any]:
    """A report's places and period as query conditions on needs (the same rules as
    ``counted`` and :func:`directory.fiscal.recorded_day`, applied by the database): the
    unmet-needs page and the annual report load only the needs they count."""
    from sqlalchemy import and_, or_, select

    from directory import fiscal
    from directory.models import District

    filters: list[Any] = []
    every = list(session.scalars(select(District.id)))
    places = [d for d in every if counted(d)]
    if len(places) < len(every):
        filters.append(Need.district_id.in_(places))
    if span is not None:
        start, end = fiscal.utc_bounds(span)
        filters.append(
            or_(
                Need.recorded_on.between(span.first, span.last),
                and_(Need.recorded_on.is_(None), Need.created_at >= start, Need.created_at < end),
            )
        )
    return filters


def _report_scope(
    session: Session, actor: Actor, areas: NeedAreas, code: str | None
) -> frozenset[int] | None:
    """The district ids under ``code`` (None: no narrowing); a code the actor may not
    reach looks exactly like one that does not exist."""
    if code is None:
        return None
    from sqlalchemy import select

    from directory.models import District
    from directory.queries import ancestor_map

    found = session.execute(select(District.id).where(District.code == code)).first()
    if found is None:
        raise NotFoundForActor(code)
    # a municipality lies in no area: only those who reach everywhere reach it
    if not actor.may_reach_area(areas.area_of(found.id)):
        raise NotFoundForActor(code)
    tree = ancestor_map(session)
    inside = set()
    for district_id in tree:
        current: int | None = district_id
        seen: set[int] = set()
        while current is not None and current not in seen:
            if current == found.id:
                inside.add(district_id)
                break
            seen.add(current)
            current = tree[current][0]
    return frozenset(inside)


def _referral_ends(
    session: Session,
    counted: Callable[[int], bool],
    span: Any,
    level: str,
) -> list[UnmetCount]:
    """Needs whose referrals ended, per place (rolled up to ``level`` as unmet counts
    are), need category and cause; each need once per cause."""
    from collections import defaultdict

    from sqlalchemy import select

    from directory import fiscal
    from directory.models import District
    from directory.queries import ancestor_at, ancestor_map
    from matching.models import Match, NeedCategory
    from matching.reasons import REFERRAL_END_LABELS

    causes = list(REFERRAL_END_LABELS)
    which: list[Any] = [Match.status.in_(causes)]
    if span is not None:
        start, end = fiscal.utc_bounds(span)
        which += [Match.updated_at >= start, Match.updated_at < end]
    ended = session.execute(
        select(Match.need_id, Match.status, Match.updated_at, Need.district_id)
        .join(Need, Need.id == Match.need_id)
        .where(*which)
    ).all()
    categories: dict[int, list[str]] = defaultdict(list)
    for need_id, code in session.execute(
        select(NeedCategory.need_id, NeedCategory.category_code)
        .join(Match, Match.need_id == NeedCategory.need_id)
        .where(*which)
        .distinct()
        .order_by(NeedCategory.need_id, NeedCategory.category_code)
    ):
        categories[need_id].append(code)
    tree = ancestor_map(session)
    needs_by_cell: dict[tuple[int, str, str], set[int]] = defaultdict(set)
    for need_id, status, updated_at, district_id in ended:
        if not counted(district_id):
            continue
        if span is not None and fiscal.japan_date(updated_at) not in span:
            continue
        target = ancestor_at(tree, district_id, level) or district_id
        for code in categories.get(need_id) or ["-"]:
            needs_by_cell[(target, code, status)].add(need_id)
    places = {
        r.id: (r.code, r.name)
        for r in session.execute(select(District.id, District.code, District.name))
    }
    return [
        UnmetCount(places[d][0], places[d][1], c, r, len(ids))
        for (d, c, r), ids in needs_by_cell.items()
    ]


def need_fiscal_years(db: Database, actor: Actor) -> list[int]:
    """The fiscal years a report may ask for: from the earliest need on record (recorded
    or entered) to this one, newest first. Only the dates' range is read, never a need."""
    from sqlalchemy import func, select

    from directory import fiscal

    this_year = fiscal.fiscal_year(fiscal.today_in_japan())
    if not actor.sees_needs:
        return [this_year]
    with db.read() as session:
        # one subquery per column: each min() is then one step down its index (0009)
        first_recorded, first_entered = (
            session.connection()
            .execute(
                select(
                    select(func.min(Need.recorded_on)).scalar_subquery(),
                    select(func.min(Need.created_at)).scalar_subquery(),
                )
            )
            .one()
        )
    firsts = [d for d in (first_recorded, first_entered) if d is not None]
    first = min(
        (fiscal.fiscal_year(d if type(d) is dt.date else fiscal.japan_date(d)) for d in firsts),
        default=this_year,
    )
    return list(range(max(this_year, first), min(first, this_year) - 1, -1))
