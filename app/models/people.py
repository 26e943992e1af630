"""People: officers (ASN), their counter assignments, and staff users."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, intpk, str200, utc_at
from app.models.org import Counter, Unit

ROLES = ("admin", "unit_head", "officer", "viewer")


class Officer(Base):
    """A civil servant identified by NIP; the NIP never reaches a citizen-facing page."""

    __tablename__ = "officers"
    __table_args__ = (CheckConstraint("length(nip) = 18", name="nip_18_digits"),)

    id: Mapped[intpk]
    nip: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str200]
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    position: Mapped[str200]
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))

    unit: Mapped[Unit] = relationship()


DUTY_SOURCES = ("checkin", "correction", "admin", "demo")


class Assignment(Base):
    """A duty: an officer on duty at a counter from ``starts_at`` until ``ends_at`` (open if
    None), as it happened (checked in, or corrected afterwards by the unit head).

    Several officers may be on duty at one counter at once (a doctor and a nurse at a poli);
    one officer is never on duty at two counters at once: the migration adds an exclusion
    constraint on PostgreSQL and triggers on SQLite, so the database refuses it whatever the
    caller does.
    """

    __tablename__ = "assignments"
    __table_args__ = (
        CheckConstraint("ends_at IS NULL OR ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("source IN ('checkin', 'correction', 'admin', 'demo')",
                        name="source_known"),
        Index("ix_assignments_counter_starts", "counter_id", "starts_at"),
    )

    id: Mapped[intpk]
    officer_id: Mapped[int] = mapped_column(
        ForeignKey("officers.id", ondelete="CASCADE"), index=True
    )
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id", ondelete="CASCADE"))
    starts_at: Mapped[utc_at]
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(12), default="admin",
                                        server_default=text("'admin'"))

    officer: Mapped[Officer] = relationship()
    counter: Mapped[Counter] = relationship()


class User(Base):
    """A staff account; the password is only ever stored as a hash."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'unit_head', 'officer', 'viewer')", name="role_known"),
        CheckConstraint("role NOT IN ('unit_head', 'officer') OR unit_id IS NOT NULL",
                        name="scoped_role_has_unit"),
        CheckConstraint("role <> 'officer' OR officer_id IS NOT NULL",
                        name="officer_role_has_officer"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[intpk]
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    officer_id: Mapped[int | None] = mapped_column(
        ForeignKey("officers.id", ondelete="SET NULL"), unique=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[utc_at]
    # Part of the id a session keeps (get_id): signing out raises it, which ends every session
    # of the account, a copied session cookie included.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))

    unit: Mapped[Unit | None] = relationship()
    officer: Mapped[Officer | None] = relationship()

    # What Flask-Login asks of a user object.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        """A deactivated account cannot sign in or stay signed in."""
        return self.active

    def get_id(self) -> str:
        """The id Flask-Login keeps in the session: the account and its session epoch."""
        return f"{self.id}.{self.session_epoch}"
