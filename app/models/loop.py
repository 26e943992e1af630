"""Closing the loop: improvement actions (RTL) whose effect is measured, performance
dialogues with officers, and the working-day calendar's own days (issue 15)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, intpk, utc_at
from app.models.org import Counter, Service, Unit
from app.models.people import Officer

ELEMENT_CODES = tuple(f"U{i}" for i in range(1, 10))
ACTION_STATES = ("planned", "in_progress", "done", "dropped")
TEXT_MAX = 2000


class ImprovementAction(Base):
    """An action of a unit's follow-up plan (rencana tindak lanjut, RTL) against one SKM
    element, optionally at one counter or for one service: what, who, from when, due when.
    Its effect is measured from the responses before and after ``starts_on``."""

    __tablename__ = "improvement_actions"
    __table_args__ = (
        CheckConstraint("element IN ('U1', 'U2', 'U3', 'U4', 'U5', 'U6', 'U7', 'U8', 'U9')",
                        name="element_known"),
        CheckConstraint("state IN ('planned', 'in_progress', 'done', 'dropped')",
                        name="state_known"),
        CheckConstraint("due_on >= starts_on", name="due_after_start"),
        CheckConstraint(f"length(what) <= {TEXT_MAX}", name="what_length"),
        Index("ix_improvement_actions_unit_starts", "unit_id", "starts_on"),
    )

    id: Mapped[intpk]
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    element: Mapped[str] = mapped_column(String(4))
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id",
                                                              ondelete="RESTRICT"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id",
                                                              ondelete="RESTRICT"))
    what: Mapped[str] = mapped_column(Text)
    who: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(12), default="planned")
    # Shown on the public page ("Anda berkata, kami lakukan") once the head publishes it.
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[int | None] = mapped_column(Integer)  # users.id, kept if deleted
    created_at: Mapped[utc_at]
    updated_at: Mapped[utc_at]

    unit: Mapped[Unit] = relationship()
    counter: Mapped[Counter | None] = relationship()
    service: Mapped[Service | None] = relationship()


PERIOD_KINDS = ("week", "month")


class Dialogue(Base):
    """A feedback conversation of a unit head with an officer: the period whose figures
    were discussed, what went well, what to improve, the actions agreed and when to follow
    up. Only the officer, their unit head and administrators see it; the officer
    acknowledges it."""

    __tablename__ = "performance_dialogues"
    __table_args__ = (
        CheckConstraint("period_kind IN ('week', 'month')", name="period_kind_known"),
        CheckConstraint(f"length(went_well) <= {TEXT_MAX} AND length(to_improve) <= "
                        f"{TEXT_MAX} AND length(agreed_actions) <= {TEXT_MAX}",
                        name="text_length"),
        Index("ix_performance_dialogues_officer_held", "officer_id", "held_on"),
    )

    id: Mapped[intpk]
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="RESTRICT"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    held_on: Mapped[date] = mapped_column(Date)
    period_kind: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[date] = mapped_column(Date)
    went_well: Mapped[str] = mapped_column(Text)
    to_improve: Mapped[str] = mapped_column(Text)
    agreed_actions: Mapped[str] = mapped_column(Text)
    follow_up_on: Mapped[date | None] = mapped_column(Date)
    recorded_by: Mapped[int | None] = mapped_column(Integer)  # users.id, kept if deleted
    created_at: Mapped[utc_at]
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    officer: Mapped[Officer] = relationship()
    unit: Mapped[Unit] = relationship()


class CalendarDay(Base):
    """A day an administrator set apart from the national calendar (the ``holidays``
    package's public holidays and joint leave days): an extra day off (``working`` false)
    or a working day that the package calls a holiday (``working`` true)."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[utc_at]
