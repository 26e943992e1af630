"""Duty planning and its effects: weekly rosters, their exceptions, officer moves (mutasi),
people served per counter and day, and indicator buckets left stale by a duty correction."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Time,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, intpk, utc_at
from app.models.org import Counter
from app.models.people import Officer


class RosterShift(Base):
    """A planned weekly shift: an officer at a counter on a weekday (0 = Monday) from
    ``starts`` to ``ends`` local time, valid from ``valid_from`` until ``valid_until``."""

    __tablename__ = "roster_shifts"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("ends > starts", name="ends_after_start"),
        CheckConstraint("valid_until IS NULL OR valid_until >= valid_from", name="valid_range"),
        Index("ix_roster_shifts_counter_weekday", "counter_id", "weekday"),
    )

    id: Mapped[intpk]
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id", ondelete="CASCADE"))
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"),
                                            index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)
    starts: Mapped[time] = mapped_column(Time)
    ends: Mapped[time] = mapped_column(Time)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)

    counter: Mapped[Counter] = relationship()
    officer: Mapped[Officer] = relationship()


class RosterException(Base):
    """A change to the roster on one day: an officer on leave, or swapped with another."""

    __tablename__ = "roster_exceptions"
    __table_args__ = (
        CheckConstraint("kind IN ('leave', 'swap')", name="kind_known"),
        CheckConstraint("kind <> 'swap' OR substitute_id IS NOT NULL", name="swap_has_substitute"),
        Index("ix_roster_exceptions_day", "day"),
    )

    id: Mapped[intpk]
    shift_id: Mapped[int] = mapped_column(ForeignKey("roster_shifts.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(8))
    substitute_id: Mapped[int | None] = mapped_column(
        ForeignKey("officers.id", ondelete="CASCADE"))
    note: Mapped[str | None] = mapped_column(String(200))

    shift: Mapped[RosterShift] = relationship()
    substitute: Mapped[Officer | None] = relationship()


class OfficerMove(Base):
    """An officer's move between units (mutasi); their responses stay with the unit where
    they were earned (responses carry their own unit)."""

    __tablename__ = "officer_moves"

    id: Mapped[intpk]
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"),
                                            index=True)
    from_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    to_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    moved_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[utc_at]


class ServedDay(Base):
    """How many people a counter served on a local day (typed in or imported from a queue
    system). Rows without a counter hold a unit's monthly total from before counters were
    counted (dated the month's first day)."""

    __tablename__ = "served_days"
    __table_args__ = (
        CheckConstraint("served >= 0", name="served_not_negative"),
        # One count per counter and day, and one legacy unit total per month.
        Index("uq_served_days_counter_day", "counter_id", "day", unique=True,
              sqlite_where=text("counter_id IS NOT NULL"),
              postgresql_where=text("counter_id IS NOT NULL")),
        Index("uq_served_days_unit_day", "unit_id", "day", unique=True,
              sqlite_where=text("counter_id IS NULL"),
              postgresql_where=text("counter_id IS NULL")),
    )

    id: Mapped[intpk]
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    served: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(12), default="typed")
    updated_at: Mapped[utc_at]


class StaleBucket(Base):
    """A scope's local day whose indicators a duty correction made stale (the responses it
    re-attributed were received long ago, so the watermark alone would never revisit them).
    Incremental aggregation recomputes every period containing the day."""

    __tablename__ = "stale_buckets"
    __table_args__ = (Index("ix_stale_buckets_marked_at", "marked_at"),)

    id: Mapped[intpk]
    scope: Mapped[str] = mapped_column(String(8))
    scope_id: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime())
