"""Read-side queries of the directory, shared by the web app, the CLI and reports."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from directory import state
from directory.i18n import N_, translate
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
    """``district id → (parent id, level)`` for walking the hierarchy in memory (kept per
    directory version for read-only sessions: do not change it)."""
    return state.derived(session, "ancestor_map", _read_ancestor_map)


def _read_ancestor_map(session: Session) -> dict[int, tuple[int | None, str]]:
    rows = session.execute(select(District.id, District.parent_id, District.level)).all()
    return {r.id: (r.parent_id, r.level) for r in rows}


def ancestor_at(
    tree: dict[int, tuple[int | None, str]], district_id: int, level: str
) -> int | None:
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
        select(Venue.district_id, func.count())
        .where(Venue.district_id.is_not(None))
        .group_by(Venue.district_id)
    ):
        venues_per_area[ancestor_at(tree, district_id, "area")] += count
    by_id = {
        d.id: d
        for d in session.scalars(
            select(District)
            .where(District.level.in_(("municipality", "area")))
            .order_by(District.code)
        )
    }
    municipalities: dict[int | None, MunicipalityOverview] = {
        d.id: MunicipalityOverview(d.code, d.name)
        for d in by_id.values()
        if d.level == "municipality"
    }
    for area in (d for d in by_id.values() if d.level == "area"):
        owner = ancestor_at(tree, area.id, "municipality")
        if owner not in municipalities:
            municipalities[owner] = MunicipalityOverview("", "（市町村の登録なし）")
        municipalities[owner].areas.append(
            AreaSummary(area.code, area.name, districts_per_area[area.id], venues_per_area[area.id])
        )
    outside = session.scalar(select(func.count(Venue.id)).where(Venue.district_id.is_(None)))
    return Overview(list(municipalities.values()), outside or 0)


@dataclass
class ResourceLine:
    """One resource as the directory page lists it."""

    external_id: str
    name: str
    status: str
    public: bool
    schedule: str  # in words, e.g. 毎月 第2・第4木曜 10:00～12:00（祝日休み）
    schedule_understood: bool


@dataclass
class AreaResources:
    code: str
    name: str
    by_category: dict[str, list[ResourceLine]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len({line.external_id for lines in self.by_category.values() for line in lines})


def resources_by_area(
    session: Session, lang: str = "ja", *, public_only: bool = True
) -> list[AreaResources]:
    """Resources grouped by tier-2 area, then by category, with schedules in words.

    ``public_only`` (the default, so a forgotten argument never shows too much) keeps
    public, active resources: what anyone may see. Staff pass ``public_only=False``.

    A resource belongs to the area of its venue and to the areas of the districts it
    serves (全域, the municipality, puts it in every area of that municipality). One with
    two categories is listed under both. Resources in no area are grouped last.
    """
    from directory.models import Resource, Schedule, resource_category, resource_district
    from directory.schedules import describe, parse_schedule

    tree = ancestor_map(session)
    areas = {
        d.id: AreaResources(d.code, d.name)
        for d in session.scalars(
            select(District).where(District.level == "area").order_by(District.code)
        )
    }
    areas_below: dict[int, list[int]] = {}
    for area_id in areas:
        owner = ancestor_at(tree, area_id, "municipality")
        if owner is not None:
            areas_below.setdefault(owner, []).append(area_id)
    nowhere = AreaResources("", translate(N_("no area"), lang))

    def areas_of(district_id: int) -> list[int]:
        if tree[district_id][1] == "municipality":
            return areas_below.get(district_id, [])
        area = ancestor_at(tree, district_id, "area")
        return [area] if area is not None else []

    venue_district = dict(session.execute(select(Venue.id, Venue.district_id)).tuples().all())
    served: dict[int, list[int]] = {}
    for rid, did in session.execute(select(resource_district)):
        served.setdefault(rid, []).append(did)
    categories: dict[int, list[str]] = {}
    for rid, code in session.execute(select(resource_category)):
        categories.setdefault(rid, []).append(code)
    sources: dict[int, str] = {}
    anchors: dict[int, dt.date] = {}  # 隔週's stored anchor: the words match what was stored
    for rid, text, anchor in session.execute(
        select(Schedule.resource_id, Schedule.source_text, Schedule.anchor_date)
    ).tuples():
        if text:
            sources[rid] = text
        if anchor is not None:
            anchors[rid] = anchor
    stmt = select(
        Resource.id,
        Resource.external_id,
        Resource.name,
        Resource.status,
        Resource.public,
        Resource.venue_id,
        Resource.schedule_understood,
    )
    if public_only:
        stmt = stmt.where(Resource.public.is_(True), Resource.status == "active")
    resources = session.execute(stmt.order_by(Resource.name_key)).all()
    for r in resources:
        source = sources.get(r.id)
        line = ResourceLine(
            r.external_id,
            r.name,
            r.status,
            r.public,
            describe(parse_schedule(source, anchors.get(r.id)), lang) if source else "",
            r.schedule_understood,
        )
        targets: set[int] = set()
        if r.venue_id is not None and (venue_in := venue_district.get(r.venue_id)) is not None:
            targets.update(areas_of(venue_in))
        for did in served.get(r.id, []):
            targets.update(areas_of(did))
        for target in [areas[a] for a in sorted(targets)] or [nowhere]:
            for code in sorted(categories.get(r.id, [])):
                target.by_category.setdefault(code, []).append(line)
    result = list(areas.values())
    return result + ([nowhere] if nowhere.by_category else [])
