"""The published set (公開=可 and not 終了, unless ``include_private``) read for an
export: all at once with the ORM (:func:`published_resources`), or streamed in keyset
batches of :data:`BATCH_SIZE` as plain records (:func:`iter_published`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session, selectinload

from directory.models import (
    Category,
    District,
    Organization,
    Resource,
    Schedule,
    Venue,
    resource_category,
    resource_district,
)

#: Resources read per database round trip by the streaming exports: the ORM objects of
#: one batch (with their categories, districts, schedules…) are all that is held.
BATCH_SIZE = 1000

#: ``progress(done, total)``: called after each batch of a streaming export.
Progress = Callable[[int, int], None]


def _published_query(include_private: bool) -> Select[tuple[Resource]]:
    stmt = select(Resource).options(
        selectinload(Resource.categories),
        selectinload(Resource.districts),
        selectinload(Resource.schedules),
        selectinload(Resource.organization),
        selectinload(Resource.venue),
    )
    if not include_private:
        stmt = stmt.where(Resource.public.is_(True), Resource.status != "ended")
    return stmt


def published_resources(
    session: Session, *, include_private: bool = False, external_ids: Sequence[str] | None = None
) -> list[Resource]:
    """The resources an export may contain (公開=可 and not 終了, unless
    ``include_private``), with what the exports read loaded eagerly."""
    stmt = _published_query(include_private).order_by(Resource.external_id)
    if external_ids is not None:
        stmt = stmt.where(Resource.external_id.in_(list(external_ids)))
    return list(session.scalars(stmt))


def count_published(session: Session, *, include_private: bool = False) -> int:
    """How many resources :func:`iter_published` yields (for a Page head, a progress bar)."""
    stmt = select(func.count()).select_from(Resource)
    if not include_private:
        stmt = stmt.where(Resource.public.is_(True), Resource.status != "ended")
    return int(session.scalar(stmt) or 0)


@dataclass(frozen=True)
class Page:
    """One keyset page of published resources: its rows, and its ids as a subquery (the
    page's external-id range) for reading its links with ``IN (SELECT …)`` rather than
    with a thousand bound parameters, which cost more to compile than the rows to read."""

    rows: list[Row[Any]]
    ids: Select[tuple[int]]


def published_batches(
    session: Session,
    columns: Sequence[str],
    *,
    include_private: bool = False,
    batch_size: int = BATCH_SIZE,
) -> Iterator[Page]:
    """These columns of the published resources (all with ``include_private``) as Core
    rows in external-id order, one keyset page of ``batch_size`` at a time: what every
    streaming export reads, so a national directory never sits in memory. ``columns``
    must include ``external_id`` (the key of the pages)."""
    table = Resource.__table__
    base = select(*(table.c[name] for name in columns))
    ids = select(table.c.id)
    if not include_private:
        published = (table.c.public.is_(True), table.c.status != "ended")
        base, ids = base.where(*published), ids.where(*published)
    last: str | None = None
    while True:
        stmt = base.order_by(table.c.external_id).limit(batch_size)
        page_ids = ids
        if last is not None:
            stmt = stmt.where(table.c.external_id > last)
            page_ids = page_ids.where(table.c.external_id > last)
        rows = list(session.execute(stmt))
        if not rows:
            return
        last = rows[-1].external_id
        yield Page(rows, page_ids.where(table.c.external_id <= last))


class _Record:
    """A resource as the streaming exports read it: the columns they may read (named as
    on :class:`~directory.models.Resource`) and its links, with no ORM bookkeeping
    (loading ORM objects cost more than writing them at 150,000 resources). A column not
    in :data:`_RECORD_COLUMNS` (備考, 定員…) is not there to leak."""

    id: int
    external_id: str
    categories: list[Category]
    districts: list[District]
    schedules: list[Any]
    organization: Any
    venue: Any

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
        self.categories, self.districts, self.schedules = [], [], []
        self.organization = self.venue = None


_ORGANIZATION_COLUMNS = (Organization.id, Organization.name, Organization.name_key)
_VENUE_COLUMNS = (Venue.id, Venue.code, Venue.name, Venue.address, Venue.lat, Venue.lon)

#: The columns of a resource the exports read (everything else stays in the database).
_RECORD_COLUMNS = (
    "id",
    "external_id",
    "name",
    "kana",
    "description",
    "organization_id",
    "venue_id",
    "address",
    "building",
    "lat",
    "lon",
    "fee",
    "fee_yen",
    "eligibility",
    "min_age",
    "transport",
    "phone",
    "url",
    "status",
    "public",
    "last_verified_on",
    "extra",
    "updated_at",
)


def iter_published(
    session: Session,
    *,
    include_private: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> Iterator[Resource]:
    """:func:`published_resources` in the same order with the same attributes, read in
    keyset pages of ``batch_size`` so a national directory (150,000 resources) never sits
    in memory.

    The items are lightweight read-only records (Core rows plus their categories,
    districts, schedules, organization and venue), not ORM objects: read them, never
    change them. Categories and districts are few and shared: loaded once.
    """
    total = count_published(session, include_private=include_private) if progress else 0
    categories = {c.code: c for c in session.scalars(select(Category))}
    districts = {d.id: d for d in session.scalars(select(District))}
    done = 0
    for page in published_batches(
        session, _RECORD_COLUMNS, include_private=include_private, batch_size=batch_size
    ):
        # zip, not Row._asdict(): a national export makes 150,000 of these
        batch = {row[0]: _Record(dict(zip(_RECORD_COLUMNS, row, strict=True))) for row in page.rows}
        ids = page.ids
        del page
        link = resource_category.c
        for rid, code in session.execute(
            select(link.resource_id, link.category_code).where(link.resource_id.in_(ids))
        ):
            batch[rid].categories.append(categories[code])
        served = resource_district.c
        for rid, did in session.execute(
            select(served.resource_id, served.district_id).where(served.resource_id.in_(ids))
        ):
            batch[rid].districts.append(districts[did])
        schedule = Schedule.__table__
        for row in session.execute(
            select(schedule).where(schedule.c.resource_id.in_(ids)).order_by(schedule.c.id)
        ):
            batch[row.resource_id].schedules.append(row)
        records = list(batch.values())
        for columns, key, attribute in (
            (_ORGANIZATION_COLUMNS, "organization_id", "organization"),
            (_VENUE_COLUMNS, "venue_id", "venue"),
        ):
            wanted = {k for r in records if (k := getattr(r, key)) is not None}
            if wanted:
                found = {
                    row[0]: row  # the id (columns[0])
                    for row in session.execute(select(*columns).where(columns[0].in_(wanted)))
                }
                for r in records:
                    setattr(r, attribute, found.get(getattr(r, key)))
        yield from cast("list[Resource]", records)
        done += len(records)
        del batch, records
        if progress is not None:
            progress(done, total)
