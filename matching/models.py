"""Needs recorded at intake and the matches proposed for them (SQLAlchemy 2.0 models).

They share :class:`directory.models.Base`, so one metadata (and one Alembic history)
holds the directory and the matching tables.

A need is 要配慮個人情報 (special care-required personal information, SECURITY_NOTES.md):
the model stores the minimum — a pseudonymous resident reference (never a name), the
district, an approximate point, what is needed and when — plus the legal basis on which
it is held (consent date and who gave it, or a statutory ground).

Location decision: ``lat``/``lon`` are stored only when the intake gave them. When they
are absent they stay NULL (never a copied centroid) and :meth:`Need.location` falls back
to the district's centroid at use, flagged ``is_centroid=True``. So a re-imported district
polygon moves the fallback with it, and nobody mistakes a centroid for a real address.
Coordinates given are kept as given: the §4 file is approximate by contract, and
coarsening them here would move needs across ``max_walk_m`` boundaries.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from directory.models import Base, Category, District, Resource, utcnow

NEED_STATUSES = ("open", "matched", "closed")
URGENCIES = ("low", "normal", "high")
#: A referral's course (DATA_FORMATS §8): proposed → contacted → connected, or an end with
#: its cause (declined: the resident said no; unreachable: could not be contacted; ended:
#: was connected, stopped).
MATCH_STATUSES = (
    "proposed",
    "contacted",
    "connected",
    "declined",
    "not_eligible",
    "no_capacity",
    "unreachable",
    "ended",
)
#: The ends of a referral, counted by the unmet-needs reports beside the §5 reasons.
MATCH_END_STATUSES = ("declined", "not_eligible", "no_capacity", "unreachable", "ended")
#: What a need's timeline records besides a match's status: the need itself was recorded,
#: closed or opened again.
NEED_EVENTS = ("recorded", "closed", "reopened")

# JSON lists that are absent from the intake are SQL NULL ("no constraint"), not [].
_JSON_OR_NULL = JSON(none_as_null=True)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Location(NamedTuple):
    """Where a need is, for distance checks: the stored point or the district centroid."""

    lat: float
    lon: float
    is_centroid: bool


class NeedCategory(Base):
    """A category of a need; ``inferred`` marks those guessed from the intake text, so the
    UI can show them as 推定 until a coordinator confirms them."""

    __tablename__ = "need_category"

    need_id: Mapped[int] = mapped_column(
        ForeignKey("need.id", ondelete="CASCADE"), primary_key=True
    )
    category_code: Mapped[str] = mapped_column(
        ForeignKey("category.code"), primary_key=True, index=True
    )
    inferred: Mapped[bool] = mapped_column(default=False)

    category: Mapped[Category] = relationship()

    def __repr__(self) -> str:
        return f"<NeedCategory {self.category_code}{' (inferred)' if self.inferred else ''}>"


class Need(Base):
    """A resident's need recorded at intake (DATA_FORMATS §4).

    ``external_id`` is the file's ``id``; ``resident_ref`` a pseudonym (see
    :mod:`matching.needs` for the check that refuses name-like values). ``days`` holds
    RFC 5545 weekday codes (MO…SU); ``days``/``months``/times/``max_walk_m``/``transport``/
    ``age`` NULL mean "not said", which the matcher reads as "no constraint".
    ``transport`` is whether the resident can travel beyond walking (own car, family).
    ``version`` is the optimistic lock: an ORM update of a stale copy raises
    ``StaleDataError`` instead of overwriting another coordinator's edit.
    """

    __tablename__ = "need"
    __table_args__ = (
        UniqueConstraint("external_id"),
        CheckConstraint(_in("urgency", URGENCIES), name="urgency"),
        CheckConstraint(_in("status", NEED_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100))
    resident_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    district_id: Mapped[int] = mapped_column(
        ForeignKey("district.id", ondelete="RESTRICT"), index=True
    )
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str | None] = mapped_column(Text)
    days: Mapped[list[str] | None] = mapped_column(_JSON_OR_NULL)
    time_start: Mapped[dt.time | None] = mapped_column(Time)
    time_end: Mapped[dt.time | None] = mapped_column(Time)
    months: Mapped[list[int] | None] = mapped_column(_JSON_OR_NULL)
    max_walk_m: Mapped[int | None] = mapped_column(Integer)
    transport: Mapped[bool | None]
    age: Mapped[int | None] = mapped_column(Integer)
    attributes: Mapped[list[str]] = mapped_column(JSON, default=list)
    recorded_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    urgency: Mapped[str] = mapped_column(String(8), default="normal")
    source: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    # The legal basis for holding this record (APPI): consent, or a statutory ground.
    consent_on: Mapped[dt.date | None] = mapped_column(Date)
    consent_by: Mapped[str | None] = mapped_column(String(32))  # 本人, 家族… never a name
    basis: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    # indexed: the first need's date and the latest change are one step down an index
    # (the report years; the unmet report's cache, web.report_cache)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime, default=utcnow, onupdate=utcnow, index=True
    )

    district: Mapped[District] = relationship()
    category_links: Mapped[list[NeedCategory]] = relationship(
        cascade="all, delete-orphan", order_by=NeedCategory.category_code, lazy="selectin"
    )
    matches: Mapped[list[Match]] = relationship(
        back_populates="need",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Match.id",
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (declared by DeclarativeBase)

    @property
    def category_codes(self) -> list[str]:
        """Every category code, stated or inferred."""
        return [link.category_code for link in self.category_links]

    @property
    def inferred_codes(self) -> list[str]:
        """The codes that were inferred from the text rather than stated."""
        return [link.category_code for link in self.category_links if link.inferred]

    @hybrid_property
    def location_is_centroid(self) -> bool:
        """True when no point was recorded and the district centroid stands in for it."""
        return self.lat is None or self.lon is None

    @location_is_centroid.inplace.expression
    @classmethod
    def _location_is_centroid_expression(cls) -> ColumnElement[bool]:
        return cls.lat.is_(None) | cls.lon.is_(None)

    def location(self) -> Location:
        """The point to measure distances from: the recorded one, else the centroid."""
        if self.lat is not None and self.lon is not None:
            return Location(self.lat, self.lon, False)
        return Location(self.district.centroid_lat, self.district.centroid_lon, True)

    def __repr__(self) -> str:  # never the text: it is personal data
        return f"<Need {self.external_id} {self.status}>"


class Match(Base):
    """A resource proposed for a need, with the score and the reasons that explain it, and
    what the coordinator did with it (proposed → contacted → connected / declined → ended)."""

    __tablename__ = "match"
    __table_args__ = (
        UniqueConstraint("need_id", "resource_id"),
        CheckConstraint(_in("status", MATCH_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("need.id", ondelete="CASCADE"), index=True)
    # RESTRICT: a resource that ever served someone is ended, not deleted, so the
    # history of referrals (and the annual report built from it) stays whole.
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resource.id", ondelete="RESTRICT"), index=True
    )
    score: Mapped[float] = mapped_column(Float)
    factors: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="proposed", index=True)
    note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime, default=utcnow, onupdate=utcnow, index=True
    )

    need: Mapped[Need] = relationship(back_populates="matches")
    resource: Mapped[Resource] = relationship()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (declared by DeclarativeBase)

    def __repr__(self) -> str:
        return f"<Match need={self.need_id} resource={self.resource_id} {self.status}>"


class NeedsState(Base):
    """One row whose ``deletions`` grows whenever needs or referrals are deleted, by
    whatever means: triggers made by migration 0010 keep it, in the deleting transaction.

    Additions and edits already show in the largest id and the latest ``updated_at``;
    this is what lets the unmet report's fingerprint (:mod:`web.report_cache`) also see a
    deletion without counting every need on every page view.
    """

    __tablename__ = "needs_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    deletions: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class MatchEvent(Base):
    """One entry of a need's timeline: what happened with a referral (a match's new
    ``status``), or with the need itself (``match_id`` None, ``status`` one of
    :data:`NEED_EVENTS`), with the coordinator's note and the day it happened.

    ``note`` is personal data like the need's text (only the need's area reads it, never a
    log or an export for residents). ``recorded_by`` is the login as text (as in the audit log), so
    the timeline outlives a renamed account. Rows are only ever added.
    ``happened_on`` is the day it happened (a call made yesterday is recorded today);
    ``recorded_at`` when it was written (UTC).
    """

    __tablename__ = "match_event"
    __table_args__ = (CheckConstraint(_in("status", MATCH_STATUSES + NEED_EVENTS), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("need.id", ondelete="CASCADE"), index=True)
    match_id: Mapped[int | None] = mapped_column(
        ForeignKey("match.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    happened_on: Mapped[dt.date] = mapped_column(Date)  # as the coordinator says
    recorded_by: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    match: Mapped[Match | None] = relationship()

    def __repr__(self) -> str:  # never the note
        return f"<MatchEvent need={self.need_id} match={self.match_id} {self.status}>"


__all__ = [
    "MATCH_END_STATUSES",
    "MATCH_STATUSES",
    "NEED_EVENTS",
    "NEED_STATUSES",
    "URGENCIES",
    "Location",
    "Match",
    "MatchEvent",
    "Need",
    "NeedCategory",
]
