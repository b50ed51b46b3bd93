"""Read-side queries of the directory, shared by the web app, the CLI and reports."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from directory.models import District, Venue


@dataclass
class AreaSummary:
    code: str
    name: str
    districts: int
    venues: int


@dataclass
class MunicipalityOverview:
    code: str
    name: str
    areas: list[AreaSummary] = field(default_factory=list)


@dataclass
class Overview:
    municipalities: list[MunicipalityOverview]
    venues_outside: int  # venues that lie in no district at all


def ancestor_map(session: Session) -> dict[int, tuple[int | None, str]]:
    """``district id → (parent id, level)`` for walking the hierarchy in memory."""
    rows = session.execute(select(District.id, District.parent_id, District.level)).all()
    return {r.id: (r.parent_id, r.level) for r in rows}


def ancestor_at(tree: dict[int, tuple[int | None, str]], district_id: int, level: str) -> int | None:
    """The district itself or its nearest ancestor at ``level``; None when there is none."""
    seen: set[int] = set()
    current: int | None = district_id
    while current is not None and current not in seen:
        seen.add(current)
        parent, current_level = tree[current]
        if current_level == level:
            return current
        current = parent
    return None


def area_overview(session: Session) -> Overview:
    """Municipalities, each with its tier-2 areas and their district and venue counts.

    Counts roll up the hierarchy: a district or venue counts for the area above it however
    deep it sits. Venues outside every district are counted separately so none go missing.
    """
    tree = ancestor_map(session)
    districts_per_area = Counter(
        ancestor_at(tree, d, "area") for d, (_, level) in tree.items() if level == "district"
    )
    venues_per_area: Counter[int | None] = Counter()
    for district_id, count in session.execute(
        select(Venue.district_id, func.count()).where(Venue.district_id.is_not(None))
        .group_by(Venue.district_id)
    ):
        venues_per_area[ancestor_at(tree, district_id, "area")] += count
    by_id = {
        d.id: d
        for d in session.scalars(
            select(District).where(District.level.in_(("municipality", "area")))
            .order_by(District.code)
        )
    }
    municipalities: dict[int | None, MunicipalityOverview] = {
        d.id: MunicipalityOverview(d.code, d.name)
        for d in by_id.values() if d.level == "municipality"
    }
    for area in (d for d in by_id.values() if d.level == "area"):
        owner = ancestor_at(tree, area.id, "municipality")
        if owner not in municipalities:
            municipalities[owner] = MunicipalityOverview("", "（市町村の登録なし）")
        municipalities[owner].areas.append(
            AreaSummary(area.code, area.name, districts_per_area[area.id],
                        venues_per_area[area.id])
        )
    outside = session.scalar(select(func.count(Venue.id)).where(Venue.district_id.is_(None)))
    return Overview(list(municipalities.values()), outside or 0)
