"""Accounts and the audit log: what only the web app (pages, CLI, API) knows about.

Users work in areas (tier-2 日常生活圏域, districts of level ``area``); a need belongs to
the area containing its district. ``session_version`` ends sessions on the server: it is
part of the id Flask-Login keeps in the cookie, and sign-out, a password change or
disabling the account bumps it, so an old cookie no longer signs anyone in
(SECURITY_NOTES: a Flask cookie session cannot be revoked otherwise).

The audit log is append-only and hash-chained (:mod:`web.audit`); the database itself
refuses UPDATE and DELETE on it (triggers made by migration 0005), except pruning rows
older than the boundary stored in ``audit_anchor``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Column, DateTime, Float, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from directory.models import Base, District, utcnow

ROLES = ("admin", "tier1", "tier2", "viewer")
"""admin and tier1 see the whole municipality; tier2 their areas; viewer the directory only."""

SECOND_FACTOR_ROLES = frozenset({"admin", "tier1"})
"""Roles that must sign in with a TOTP code as well as a password."""

user_area = Table(
    "user_area",
    Base.metadata,
    Column("user_id", ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True),
    Column("district_id", ForeignKey("district.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    """A coordinator's (or a reader's) account."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    password_changed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    areas: Mapped[list[District]] = relationship(secondary=user_area, order_by=District.code)
    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<User {self.login} {self.role}>"


class ApiToken(Base):
    """A bearer token for scripts: only its SHA-256 is stored (the token is shown once)."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(back_populates="tokens")


class AuditEvent(Base):
    """One access to protected data (or an account event): who, as what, when, what, result.

    Never holds a need's values, health text or a password: ``record_id`` is the need's
    external id and ``detail`` a short code or count. ``hash`` chains each row to the
    previous one (:func:`web.audit.row_hash`).
    """

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(128), index=True)
    role: Mapped[str] = mapped_column(String(16))
    areas: Mapped[str] = mapped_column(String(500), default="")
    action: Mapped[str] = mapped_column(String(32))
    record_type: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str | None] = mapped_column(String(128), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(String(200))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditAnchor(Base):
    """Where the chain starts after pruning: rows before ``prune_before`` may be deleted,
    and the first remaining row must follow ``anchor_hash``. One row, id 1."""

    __tablename__ = "audit_anchor"

    id: Mapped[int] = mapped_column(primary_key=True)
    prune_before: Mapped[dt.datetime] = mapped_column(DateTime)
    anchor_hash: Mapped[str] = mapped_column(String(64))


class RateLimitCount(Base):
    """One rate limit's counter (failed sign-ins per login, per address) for the current
    window, shared by every process using the database (:mod:`web.rate_limits`)."""

    __tablename__ = "rate_limit_count"

    key: Mapped[str] = mapped_column(String(1024), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    expires_at: Mapped[float] = mapped_column(Float, nullable=False)  # Unix time
