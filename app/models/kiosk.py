"""Tablet kiosks: enrolled devices of a unit, their pairing codes, what they report, the
answers the service refused from them (quarantine) and citizens' calls for an officer."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, intpk, utc_at
from app.models.org import Counter, Service, Unit

# The optional binding of a kiosk to some of its unit's counters or services (none: all).
kiosk_counters = Table(
    "kiosk_counters", Base.metadata,
    Column("kiosk_id", ForeignKey("kiosks.id", ondelete="CASCADE"), primary_key=True),
    Column("counter_id", ForeignKey("counters.id", ondelete="RESTRICT"), primary_key=True),
)
kiosk_services = Table(
    "kiosk_services", Base.metadata,
    Column("kiosk_id", ForeignKey("kiosks.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("services.id", ondelete="RESTRICT"), primary_key=True),
)

# Bounds of a kiosk's settings (seconds); the back office and the database agree on them.
IDLE_RANGE = (10, 600)
COUNTDOWN_RANGE = (5, 120)
FAST_RANGE = (0, 120)
BURST_RANGE = (0, 120)


class Kiosk(Base):
    """A tablet enrolled for one unit. Only the hash of its credential is stored; a revoked
    kiosk's credential is refused at once (see app.kiosks.authenticate).

    The ``last_*`` columns are what its latest heartbeat said (battery and charging only
    where the tablet's browser tells); ``clock_offset_ms`` is the server's clock minus the
    tablet's at that heartbeat, added to the times the tablet reports.
    """

    __tablename__ = "kiosks"
    __table_args__ = (
        CheckConstraint(f"idle_seconds BETWEEN {IDLE_RANGE[0]} AND {IDLE_RANGE[1]}",
                        name="idle_range"),
        CheckConstraint(f"countdown_seconds BETWEEN {COUNTDOWN_RANGE[0]} AND "
                        f"{COUNTDOWN_RANGE[1]}", name="countdown_range"),
        CheckConstraint(f"fast_seconds BETWEEN {FAST_RANGE[0]} AND {FAST_RANGE[1]}",
                        name="fast_range"),
        CheckConstraint(f"burst_seconds BETWEEN {BURST_RANGE[0]} AND {BURST_RANGE[1]}",
                        name="burst_range"),
        CheckConstraint("battery IS NULL OR battery BETWEEN 0 AND 100", name="battery_range"),
        CheckConstraint("queue_length IS NULL OR queue_length >= 0", name="queue_not_negative"),
        CheckConstraint("quarantined IS NULL OR quarantined >= 0",
                        name="quarantined_not_negative"),
    )

    id: Mapped[intpk]
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"),
                                         index=True)
    name: Mapped[str] = mapped_column(String(80))
    placement: Mapped[str | None] = mapped_column(String(120))
    credential_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[utc_at]
    paired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    idle_seconds: Mapped[int] = mapped_column(SmallInteger, default=30,
                                              server_default=text("30"))
    countdown_seconds: Mapped[int] = mapped_column(SmallInteger, default=20,
                                                   server_default=text("20"))
    fast_seconds: Mapped[int] = mapped_column(SmallInteger, default=7, server_default=text("7"))
    burst_seconds: Mapped[int] = mapped_column(SmallInteger, default=5,
                                               server_default=text("5"))
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    app_version: Mapped[str | None] = mapped_column(String(32))
    queue_length: Mapped[int | None] = mapped_column(Integer)
    oldest_unsent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    quarantined: Mapped[int | None] = mapped_column(Integer)
    battery: Mapped[int | None] = mapped_column(SmallInteger)  # percent
    charging: Mapped[bool | None] = mapped_column(Boolean)
    clock_offset_ms: Mapped[int | None] = mapped_column(BigInteger)

    unit: Mapped[Unit] = relationship()
    counters: Mapped[list[Counter]] = relationship(secondary=kiosk_counters,
                                                   order_by="Counter.code")
    services: Mapped[list[Service]] = relationship(secondary=kiosk_services,
                                                   order_by="Service.code")

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class KioskPairing(Base):
    """A six-digit pairing code shown in the back office: valid 10 minutes, single use.
    Only its hash is stored (keyed with the kiosk, so equal codes of two kiosks differ)."""

    __tablename__ = "kiosk_pairings"
    __table_args__ = (
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        Index("ix_kiosk_pairings_code_hash", "code_hash"),
    )

    id: Mapped[intpk]
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosks.id", ondelete="CASCADE"),
                                          index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[utc_at]
    expires_at: Mapped[utc_at]
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class KioskPending(Base):
    """An answer a kiosk said in a heartbeat it holds, unsent: after the kiosk is revoked,
    only these (made before the revocation) are still accepted from it."""

    __tablename__ = "kiosk_pending"

    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosks.id", ondelete="CASCADE"),
                                          primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    reported_at: Mapped[utc_at]


class KioskQuarantine(Base):
    """An answer the service refused from a kiosk (409 or 422): kept, with the refusal and
    what was sent, for the device list; never a silent drop."""

    __tablename__ = "kiosk_quarantine"
    __table_args__ = (
        UniqueConstraint("kiosk_id", "client_id"),
        CheckConstraint("status IN (409, 422)", name="status_known"),
    )

    id: Mapped[intpk]
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosks.id", ondelete="CASCADE"),
                                          index=True)
    client_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    status: Mapped[int] = mapped_column(SmallInteger)
    reason: Mapped[str] = mapped_column(Text)  # JSON: the refusal's messages by field
    payload: Mapped[str] = mapped_column(Text)  # JSON: what the kiosk sent (anonymous)
    received_at: Mapped[utc_at]


class KioskCall(Base):
    """A citizen pressed "Panggil petugas" on a kiosk: shown on the unit's board and the
    device list until someone marks it answered."""

    __tablename__ = "kiosk_calls"
    __table_args__ = (Index("ix_kiosk_calls_unit_open", "unit_id", "answered_at"),)

    id: Mapped[intpk]
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosks.id", ondelete="CASCADE"),
                                          index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id",
                                                              ondelete="RESTRICT"))
    created_at: Mapped[utc_at]
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by: Mapped[int | None] = mapped_column(Integer)  # users.id, kept if deleted

    kiosk: Mapped[Kiosk] = relationship()
    counter: Mapped[Counter | None] = relationship()
