"""Who is acting, and what they may do: the one place access rules live.

Every service operation on a need, a match or a resource takes an :class:`Actor`. Pages
and the API build it from the signed-in user, the CLI from ``--as LOGIN`` or as the named
system actor (``system:cli``: the operator of the server, who holds the database anyway).
Rules (DATA_FORMATS §8): admin and tier1 reach the whole municipality; tier2 the needs
of their areas (a need belongs to the area containing its district); viewer the
directory only. Anything not granted here is denied.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from directory.queries import ancestor_at, ancestor_map

WHOLE_MUNICIPALITY_ROLES = frozenset({"admin", "tier1", "system"})
NEED_ROLES = frozenset({"admin", "tier1", "tier2", "system"})
STAFF_ROLES = frozenset({"admin", "tier1", "tier2", "system"})
"""Roles that see non-public resources (staff of the municipality or the 社協)."""


@dataclass(frozen=True)
class Actor:
    """The person (or system) on whose behalf an operation runs."""

    login: str
    role: str
    area_ids: frozenset[int] = field(default_factory=frozenset)
    area_codes: tuple[str, ...] = ()
    user_id: int | None = None

    @property
    def is_system(self) -> bool:
        return self.role == "system"

    @property
    def sees_needs(self) -> bool:
        """Whether this actor may work with needs at all (some area, or everywhere)."""
        return self.role in WHOLE_MUNICIPALITY_ROLES or (
            self.role == "tier2" and bool(self.area_ids)
        )

    @property
    def sees_private_resources(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role in {"admin", "system"}

    def may_reach_area(self, area_id: int | None) -> bool:
        """Whether a need in ``area_id`` (None: its district lies in no area) is this actor's."""
        if self.role in WHOLE_MUNICIPALITY_ROLES:
            return True
        return self.role == "tier2" and area_id is not None and area_id in self.area_ids


def system_actor(tool: str = "cli") -> Actor:
    """The named actor for the command line run by the server's operator."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        who = "unknown"
    return Actor(login=f"system:{tool}:{who}"[:128], role="system")


ANONYMOUS = Actor(login="anonymous", role="anonymous")


class NeedAreas:
    """District → area lookups for many needs, read once per operation."""

    def __init__(self, session: Session) -> None:
        self._tree = ancestor_map(session)

    def area_of(self, district_id: int) -> int | None:
        return ancestor_at(self._tree, district_id, "area")

    def allowed(self, actor: Actor, district_id: int) -> bool:
        return actor.may_reach_area(self.area_of(district_id))
