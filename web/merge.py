"""Merging a duplicate resource into the one that stays (issue 13: duplicates).

Why this shape: the two entries each have a past — edits, confirmations, residents
referred to them — and the reports count both. So a merge deletes nothing: the referrals
of the duplicate move to the resource that stays (when a need was referred to both, the
two become one referral: its timeline keeps every event of both, its status the one
further along, the notes joined); the duplicate is ended with a note naming the one it
went into, so its history stays readable and old links still resolve; both histories
record the merge, and the audit log says who did it.

Only someone who may edit both resources (tier 2 of an area each serves, tier 1, admin)
may merge them, and they see only the likely pairs they could merge
(:func:`duplicate_pairs`, the list behind ``/resources/duplicates``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from directory.duplicates import DuplicatePair, find_duplicates
from directory.i18n import N_
from directory.models import Resource, ResourceChange
from directory.state import derived
from matching.models import Match, MatchEvent
from web import audit
from web.actors import Actor
from web.db import Database
from web.resource_service import (
    EDIT_REFUSED,
    bump_resources,
    may_edit,
    resource_areas,
    visible_to,
)
from web.search import Geography
from web.services import AccessDenied, NotFoundForActor, require_staff

__all__ = [
    "AlreadyEndedError",
    "MergeResult",
    "SameResourceError",
    "duplicate_pairs",
    "merge_resources",
]

#: How far along a referral is: the one further along survives a merge.
_PROGRESS = {
    "proposed": 0,
    "contacted": 1,
    "declined": 2,
    "not_eligible": 2,
    "no_capacity": 2,
    "unreachable": 2,
    "connected": 3,
    "ended": 4,  # was connected, then stopped: the latest news
}


class SameResourceError(ValueError):
    """A resource cannot be merged into itself."""

    message = N_("a resource cannot be merged into itself")


class AlreadyEndedError(ValueError):
    """The duplicate (its external id, the argument) has ended already: merged a moment
    ago, perhaps by a colleague, or a form sent twice. Merging it again would only repeat
    its history."""

    message = N_("{resource} has ended already: there is nothing to merge.")


def duplicate_pairs(db: Database, actor: Actor) -> list[DuplicatePair]:
    """The likely duplicate pairs ``actor`` may merge (both resources theirs to edit), best
    first. The search over the whole directory runs once per directory version."""
    require_staff(actor)
    with db.read() as session:
        pairs = derived(session, "duplicate_pairs", find_duplicates)
        if not pairs:
            return []
        geo = Geography.current(session)
        named = {p.first for p in pairs} | {p.second for p in pairs}
        rows = session.scalars(
            select(Resource)
            .where(Resource.external_id.in_(named))
            .options(selectinload(Resource.districts), selectinload(Resource.venue))
        )
        editable = {r.external_id for r in rows if may_edit(actor, resource_areas(geo, r))}
    return [p for p in pairs if p.first in editable and p.second in editable]


@dataclass(frozen=True)
class MergeResult:
    kept: str
    ended: str
    moved: int  # referrals moved to the kept resource
    joined: int  # referrals that joined one the kept resource already had


def merge_resources(db: Database, actor: Actor, keep_id: str, drop_id: str) -> MergeResult:
    """Merge the resource ``drop_id`` into ``keep_id`` (external ids); see the module."""
    if keep_id == drop_id:
        raise SameResourceError(SameResourceError.message)
    with db.write() as session:
        geo = Geography.read(session)
        keep, drop = _resource(session, actor, keep_id), _resource(session, actor, drop_id)
        for r in (keep, drop):
            if not may_edit(actor, resource_areas(geo, r)):
                raise AccessDenied(EDIT_REFUSED)
        if drop.status == "ended":
            raise AlreadyEndedError(drop_id)
        moved, joined = _move_referrals(session, keep, drop)
        old_status = drop.status
        drop.status = "ended"
        note = f"{keep.external_id}（{keep.name}）に統合"
        drop.notes = f"{drop.notes}\n{note}" if drop.notes else note
        session.flush()
        session.add_all(
            [
                ResourceChange(
                    resource_id=drop.id,
                    version=drop.version,
                    changed_by=actor.login,
                    action="merge",
                    changes={"status": [old_status, "ended"], "merged_into": [None, keep_id]},
                ),
                ResourceChange(
                    resource_id=keep.id,
                    version=keep.version,
                    changed_by=actor.login,
                    action="merge",
                    changes={"merged_from": [None, drop_id], "referrals": [None, moved + joined]},
                ),
            ]
        )
        audit.record(
            session,
            actor,
            "update",
            "resource",
            keep_id,
            detail=f"merged={drop_id} referrals={moved + joined}",
        )
        bump_resources(session, {keep.id, drop.id})
    return MergeResult(keep_id, drop_id, moved, joined)


def _resource(session: Session, actor: Actor, external_id: str) -> Resource:
    resource = session.scalars(select(Resource).where(Resource.external_id == external_id)).first()
    if resource is None or not visible_to(actor, resource):
        raise NotFoundForActor(external_id)
    return resource


def _move_referrals(session: Session, keep: Resource, drop: Resource) -> tuple[int, int]:
    """The duplicate's referrals onto the kept resource: ``(moved, joined)``."""
    kept = {
        m.need_id: m for m in session.scalars(select(Match).where(Match.resource_id == keep.id))
    }
    moved = joined = 0
    for m in list(session.scalars(select(Match).where(Match.resource_id == drop.id))):
        other = kept.get(m.need_id)
        if other is None:
            m.resource_id = keep.id
            moved += 1
            continue
        # one need referred to both: one referral, every event of both on its timeline
        session.execute(
            update(MatchEvent).where(MatchEvent.match_id == m.id).values(match_id=other.id)
        )
        if _PROGRESS.get(m.status, 0) > _PROGRESS.get(other.status, 0):
            other.status = m.status
        if m.note:
            other.note = f"{other.note}\n{m.note}" if other.note else m.note
        session.delete(m)
        joined += 1
    return moved, joined
