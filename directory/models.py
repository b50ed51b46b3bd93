"""SQLAlchemy 2.0 typed models of the directory.

The shapes follow Open Referral HSDS where it has one (organization, location = venue,
service = resource, schedule with RFC 5545 fields, service_area = served districts), so
exports line up without a mapping layer. Geometry is stored portably as WKB in a binary
column with its bounding box beside it, so SQLite and PostgreSQL hold the same bytes and
no spatial extension is needed; spatial work happens in geopandas/shapely in memory.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

DISTRICT_LEVELS = ("municipality", "area", "district")
RESOURCE_STATUSES = ("active", "paused", "ended")


class Geometry(TypeDecorator[BaseGeometry]):
    """A shapely geometry stored as WKB: portable across SQLite and PostgreSQL."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: BaseGeometry | None, dialect: Dialect) -> bytes | None:
        return None if value is None else shapely.to_wkb(value)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> BaseGeometry | None:
        return None if value is None else shapely.from_wkb(bytes(value))


NAMING_CONVENTION = {
    # Named constraints let later migrations alter tables on SQLite (batch mode) too.
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON}


def utcnow() -> dt.datetime:
    """Now in UTC, naive: how every timestamp column is stored on both engines."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class District(Base):
    """A municipality, a tier-2 daily-living area (日常生活圏域) or a district (行政区・町内会)."""

    __tablename__ = "district"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    level: Mapped[str] = mapped_column(String(16), index=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("district.id", ondelete="RESTRICT"), index=True
    )
    geometry: Mapped[BaseGeometry] = mapped_column(Geometry)
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    centroid_lon: Mapped[float] = mapped_column(Float)
    centroid_lat: Mapped[float] = mapped_column(Float)
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    parent: Mapped[District | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[District]] = relationship(back_populates="parent")
    venues: Mapped[list[Venue]] = relationship(back_populates="district")

    def __repr__(self) -> str:
        return f"<District {self.code} {self.name!r} {self.level}>"


class Organization(Base):
    """Who runs a resource: a 行政区, the 社協, an NPO, a shop, a 老人クラブ…"""

    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(64))
    contact: Mapped[str | None] = mapped_column(String(200))

    resources: Mapped[list[Resource]] = relationship(back_populates="organization")

    def __repr__(self) -> str:
        return f"<Organization {self.id} {self.name!r}>"


class Venue(Base):
    """A place where activities happen (公民館, 集会所, 福祉センター…)."""

    __tablename__ = "venue"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("district.id", ondelete="SET NULL"), index=True
    )
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    district: Mapped[District | None] = relationship(back_populates="venues")
    resources: Mapped[list[Resource]] = relationship(back_populates="venue")

    def __repr__(self) -> str:
        return f"<Venue {self.code} {self.name!r}>"


class Category(Base):
    """A mirror of the taxonomy file (``directory/data/taxonomy.json``), kept in sync by
    ``tsunagu db upgrade`` so resources can reference categories with a foreign key."""

    __tablename__ = "category"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    parent_code: Mapped[str | None] = mapped_column(String(64))
    label_ja: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))

    def __repr__(self) -> str:
        return f"<Category {self.code}>"


resource_category = Table(
    "resource_category",
    Base.metadata,
    Column("resource_id", ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True),
    Column("category_code", ForeignKey("category.code"), primary_key=True, index=True),
)

resource_district = Table(
    "resource_district",
    Base.metadata,
    Column("resource_id", ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "district_id",
        ForeignKey("district.id", ondelete="RESTRICT"),
        primary_key=True,
        index=True,
    ),
)


class Resource(Base):
    """A local resource (地域資源): every column of DATA_FORMATS §3.

    ``version`` is SQLAlchemy's optimistic lock: an ORM update of a stale copy raises
    ``StaleDataError`` instead of silently overwriting someone else's edit.
    """

    __tablename__ = "resource"
    __table_args__ = (UniqueConstraint("external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100))  # the file's ID column
    name: Mapped[str] = mapped_column(String(300))
    name_key: Mapped[str] = mapped_column(String(300), index=True)
    kana: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="SET NULL"), index=True
    )
    venue_id: Mapped[int | None] = mapped_column(
        ForeignKey("venue.id", ondelete="SET NULL"), index=True
    )
    address: Mapped[str | None] = mapped_column(String(300))
    building: Mapped[str | None] = mapped_column(String(200))  # 方書
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    capacity: Mapped[int | None] = mapped_column(Integer)
    seats_left: Mapped[int | None] = mapped_column(Integer)  # 空き as a number
    accepts_new: Mapped[bool | None]  # 空き あり/なし
    fee: Mapped[str | None] = mapped_column(String(200))
    fee_yen: Mapped[int | None] = mapped_column(Integer)
    eligibility: Mapped[str | None] = mapped_column(Text)  # 対象者 as written
    min_age: Mapped[int | None] = mapped_column(Integer)
    eligibility_attributes: Mapped[list[str]] = mapped_column(JSON, default=list)
    transport: Mapped[bool | None]  # 送迎
    phone: Mapped[str | None] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    public: Mapped[bool] = mapped_column(default=True)
    last_verified_on: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)  # standard-set columns kept
    # The schedule cells exactly as the coordinator wrote them (exports give them back);
    # the Schedule rows hold what the parser understood of them.
    schedule_days: Mapped[str | None] = mapped_column(String(200))
    schedule_start: Mapped[str | None] = mapped_column(String(100))
    schedule_end: Mapped[str | None] = mapped_column(String(100))
    schedule_note: Mapped[str | None] = mapped_column(Text)
    schedule_understood: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization | None] = relationship(back_populates="resources")
    venue: Mapped[Venue | None] = relationship(back_populates="resources")
    categories: Mapped[list[Category]] = relationship(secondary=resource_category)
    districts: Mapped[list[District]] = relationship(secondary=resource_district)
    schedules: Mapped[list[Schedule]] = relationship(
        back_populates="resource", cascade="all, delete-orphan", order_by="Schedule.id"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (declared by DeclarativeBase)

    def __repr__(self) -> str:
        return f"<Resource {self.external_id} {self.name!r}>"


class Schedule(Base):
    """When a resource is available: an RFC 5545 RRULE plus what RRULE cannot say well.

    ``season_start_month``/``season_end_month`` hold a window such as 12月～3月 (it may
    wrap the year end); ``holiday_rule`` is ``open`` or ``closed`` (祝日休み);
    ``year_end_closed`` is 年末年始休み (12/29–1/3). ``source_text`` keeps what the
    coordinator wrote; ``understood`` is False when the parser could not read it, so the
    matcher and the coordinator both know this schedule cannot be relied on.
    """

    __tablename__ = "schedule"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), index=True
    )
    rrule: Mapped[str | None] = mapped_column(String(500))
    start_time: Mapped[dt.time | None] = mapped_column(Time)
    end_time: Mapped[dt.time | None] = mapped_column(Time)
    season_start_month: Mapped[int | None] = mapped_column(Integer)
    season_end_month: Mapped[int | None] = mapped_column(Integer)
    holiday_rule: Mapped[str] = mapped_column(String(16), default="open")
    year_end_closed: Mapped[bool] = mapped_column(default=False)
    #: 隔週: a day of an "on" week, stored once at import (a date in the text, else the first
    #: occurrence after import), so no expansion depends on the window asked for; a one-off
    #: date (RRULE ``FREQ=DAILY;COUNT=1``): the date itself.
    anchor_date: Mapped[dt.date | None] = mapped_column(Date)
    source_text: Mapped[str | None] = mapped_column(Text)
    understood: Mapped[bool] = mapped_column(default=True)

    resource: Mapped[Resource] = relationship(back_populates="schedules")

    def __repr__(self) -> str:
        return f"<Schedule {self.id} {self.rrule!r}>"


class ResourceChange(Base):
    """One change to a resource, kept so coordinators can see who changed what and when.

    ``changes`` maps each changed field to ``[old, new]`` (plain JSON values: dates as ISO
    text, lists sorted); ``version`` is the resource's version after the change.
    ``changed_by`` is the login (or ``import``/``system``) as text: the directory knows no
    accounts, and the history outlives a renamed or removed account.
    """

    __tablename__ = "resource_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    changed_by: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(16))  # create, update, confirm, import
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)

    def __repr__(self) -> str:
        return f"<ResourceChange {self.resource_id} v{self.version} {self.action}>"


class DirectoryState(Base):
    """One row whose ``version`` grows with every committed change to the directory.

    Matching keeps an in-memory snapshot of the directory; every process (or host) that
    shares the database compares this counter with its snapshot's before matching, so
    none matches against a directory older than the last change it can see. Writers bump
    it in the same transaction as their change (:func:`directory.state.bump`).
    """

    __tablename__ = "directory_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class DirectoryChange(Base):
    """Which resources one directory version changed (:func:`directory.state.bump` with
    ``resource_ids``), so a matching snapshot applies just those instead of re-reading
    300,000 rows. A version with no row here did not say what it changed (an import,
    districts, venues, categories): readers rebuild. Old rows are pruned by ``bump``.
    """

    __tablename__ = "directory_change"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # ids, not foreign keys: a deleted resource must stay listed so readers drop it
    resource_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


__all__ = [
    "DISTRICT_LEVELS",
    "RESOURCE_STATUSES",
    "Base",
    "Category",
    "DirectoryChange",
    "DirectoryState",
    "District",
    "Geometry",
    "Organization",
    "Resource",
    "ResourceChange",
    "Schedule",
    "Venue",
    "resource_category",
    "resource_district",
    "utcnow",
]
