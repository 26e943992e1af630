"""Back-office records: the append-only audit log, one-time password links, extra unit roles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, intpk, utc_at


class AuditEntry(Base):
    """One change or security event: who, when, from which request, what, before and after.

    Append-only: triggers on both engines refuse UPDATE and DELETE (see migration 0008).
    ``user_id`` is a plain integer, not a foreign key, so that no cascade can ever try to
    change a row. ``before`` and ``after`` are JSON objects of the changed fields; a citizen's
    comment or contact never enters them.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_object", "object_type", "object_id"),
        Index("ix_audit_log_action", "action"),
    )

    id: Mapped[intpk]
    at: Mapped[utc_at]
    # 'user:<e-mail>', 'cli:<operating-system user>', 'scheduler', or 'anonymous' (a failed
    # sign-in names the e-mail tried in ``after``, never the password).
    actor: Mapped[str] = mapped_column(String(300))
    user_id: Mapped[int | None] = mapped_column(Integer)
    # 'POST /admin/units/3 from 203.0.113.5' for a web request, the command line for the CLI.
    request: Mapped[str | None] = mapped_column(String(500))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)


PASSWORD_LINK_PURPOSES = ("set", "reset")


class PasswordLink(Base):
    """A one-time link to set or reset an account's password; only its hash is stored."""

    __tablename__ = "password_links"
    __table_args__ = (
        CheckConstraint("purpose IN ('set', 'reset')", name="purpose_known"),
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
    )

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[utc_at]
    expires_at: Mapped[utc_at]
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class UnitRole(Base):
    """A role an account holds in a unit besides its own (an acting head, *Plt.*)."""

    __tablename__ = "unit_roles"
    __table_args__ = (
        UniqueConstraint("user_id", "unit_id"),
        CheckConstraint("role IN ('unit_head')", name="role_known"),
    )

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    role: Mapped[str] = mapped_column(String(16))
    acting: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[utc_at]
