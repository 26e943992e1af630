"""The organisation: units, their services and counters, and the counters' public tokens."""

from __future__ import annotations

import secrets
from datetime import datetime, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, intpk, str32, str200, utc_at

UNIT_KINDS = ("disdukcapil", "puskesmas", "mpp", "other")


class Unit(Base):
    """A service unit (Disdukcapil, a Puskesmas, …), optionally under a parent unit."""

    __tablename__ = "units"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('disdukcapil', 'puskesmas', 'mpp', 'other')", name="kind_known"
        ),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    id: Mapped[intpk]
    code: Mapped[str32] = mapped_column(unique=True)
    name: Mapped[str200]
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    # Public token of the unit's arrival poster (measured waiting time); not secret, revocable.
    arrival_token: Mapped[str] = mapped_column(String(32), unique=True)
    address: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))

    parent: Mapped[Unit | None] = relationship(remote_side="Unit.id")
    services: Mapped[list[Service]] = relationship(
        back_populates="unit", order_by="Service.code"
    )
    counters: Mapped[list[Counter]] = relationship(
        back_populates="unit", order_by="Counter.code", foreign_keys="Counter.unit_id"
    )
    hours: Mapped[list[OpeningHours]] = relationship(
        back_populates="unit", order_by="OpeningHours.weekday", cascade="all, delete-orphan"
    )


class OpeningHours(Base):
    """When a unit is open on one weekday (0 = Monday), in the configured local zone; a
    weekday without a row is closed. Open duties end at the closing time."""

    __tablename__ = "opening_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("closes > opens", name="closes_after_opening"),
    )

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"),
                                         primary_key=True)
    weekday: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time)

    unit: Mapped[Unit] = relationship(back_populates="hours")


class Service(Base):
    """A service a unit provides, with its published standard time and fee."""

    __tablename__ = "services"
    __table_args__ = (
        UniqueConstraint("unit_id", "code"),
        CheckConstraint("standard_minutes IS NULL OR standard_minutes > 0", name="time_positive"),
        CheckConstraint("fee >= 0", name="fee_not_negative"),
    )

    id: Mapped[intpk]
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    code: Mapped[str32]
    name: Mapped[str200]
    standard_minutes: Mapped[int | None] = mapped_column(Integer)
    fee: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))

    unit: Mapped[Unit] = relationship(back_populates="services")


class Counter(Base):
    """A place where citizens are served (Loket 3, Poli Gigi) and where a QR poster hangs."""

    __tablename__ = "counters"
    __table_args__ = (UniqueConstraint("unit_id", "code"),)

    id: Mapped[intpk]
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    code: Mapped[str32]
    name: Mapped[str200]
    default_service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL")
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # The staff code printed on the back of the poster: an officer who scans it (signed in)
    # checks in at this counter. Not secret enough to authorise anything by itself.
    checkin_token: Mapped[str] = mapped_column(String(32), unique=True,
                                               default=lambda: secrets.token_urlsafe(12))

    unit: Mapped[Unit] = relationship(back_populates="counters", foreign_keys=[unit_id])
    default_service: Mapped[Service | None] = relationship()
    tokens: Mapped[list[CounterToken]] = relationship(
        back_populates="counter", order_by="CounterToken.issued_at"
    )


class CounterToken(Base):
    """A public survey token of a counter; retired tokens are kept to recognise old posters."""

    __tablename__ = "counter_tokens"
    __table_args__ = (
        CheckConstraint("length(token) >= 16", name="token_long_enough"),
        CheckConstraint("retired_at IS NULL OR retired_at >= issued_at", name="retired_after"),
        # At most one live token per counter.
        Index(
            "uq_counter_tokens_live",
            "counter_id",
            unique=True,
            sqlite_where=text("retired_at IS NULL"),
            postgresql_where=text("retired_at IS NULL"),
        ),
    )

    id: Mapped[intpk]
    counter_id: Mapped[int] = mapped_column(
        ForeignKey("counters.id", ondelete="CASCADE"), index=True
    )
    token: Mapped[str] = mapped_column(String(32), unique=True)
    issued_at: Mapped[utc_at]
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    counter: Mapped[Counter] = relationship(back_populates="tokens")
