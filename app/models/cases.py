"""Complaint cases (pengaduan) opened from responses, the citizen's contact kept apart, the
case's history, the unit's case handlers (pengelola pengaduan), and published periods
(issue 15)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, intpk, utc_at
from app.models.feedback import Response
from app.models.org import Unit

# baru -> diverifikasi -> ditindaklanjuti -> selesai
CASE_STATES = ("new", "verified", "followed_up", "closed")
# Why a response opened a case: the citizen said so, a low score with a comment, or the
# illegal-fee signal (a free service rated anything but "Gratis" on U4).
CASE_REASONS = ("declared", "low_score", "illegal_fee")
CASE_CATEGORIES = ("waiting", "conduct", "fee", "procedure", "facility", "information",
                   "other")
CASE_TEXT_MAX = 2000
LAPOR_MAX = 40
REFERENCE_LENGTH = 10
CONTACT_PURPOSE_MAX = 200


class Case(Base):
    """A complaint opened from one response (one case per response), with its owner,
    category, state and the working-day deadlines of SP4N-LAPOR!'s stages."""

    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint("state IN ('new', 'verified', 'followed_up', 'closed')",
                        name="state_known"),
        CheckConstraint("category IS NULL OR category IN ('waiting', 'conduct', 'fee', "
                        "'procedure', 'facility', 'information', 'other')",
                        name="category_known"),
        CheckConstraint("length(reasons) <= 60 AND length(reasons) > 0", name="reasons_given"),
        CheckConstraint(f"answer IS NULL OR length(answer) <= {CASE_TEXT_MAX}",
                        name="answer_length"),
        CheckConstraint(f"public_summary IS NULL OR length(public_summary) <= {CASE_TEXT_MAX}",
                        name="public_summary_length"),
        Index("ix_cases_unit_state", "unit_id", "state"),
    )

    id: Mapped[intpk]
    # What the citizen is given on the thank-you page: short, unguessable, no vowels mixed
    # up with digits (see app.cases.new_reference).
    reference: Mapped[str] = mapped_column(String(REFERENCE_LENGTH), unique=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="RESTRICT"),
                                             unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    # Comma-separated CASE_REASONS codes, in that order.
    reasons: Mapped[str] = mapped_column(String(60))
    category: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(12), default="new")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    opened_at: Mapped[utc_at]
    opened_on: Mapped[date] = mapped_column(Date)  # local day, where working days count from
    verify_due_on: Mapped[date] = mapped_column(Date)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_on: Mapped[date | None] = mapped_column(Date)
    follow_up_due_on: Mapped[date | None] = mapped_column(Date)
    followed_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The answer to the citizen (what was done); internal until published.
    answer: Mapped[str | None] = mapped_column(Text)
    lapor_number: Mapped[str | None] = mapped_column(String(LAPOR_MAX))
    # Set once, when the scheduler first finds the current stage past its deadline; the
    # escalation to the unit head is sent with it (so exactly once per stage).
    overdue_stage: Mapped[str | None] = mapped_column(String(12))
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The stage whose "one working day left" notice was sent (once per stage).
    reminded_stage: Mapped[str | None] = mapped_column(String(12))
    # Published on the public page only by a handler, after redaction: this text alone.
    public_summary: Mapped[str | None] = mapped_column(Text)
    published: Mapped[bool] = mapped_column(Boolean, default=False)

    unit: Mapped[Unit] = relationship()
    response: Mapped[Response] = relationship()


class CaseContact(Base):
    """How the citizen agreed to be contacted about their case, kept apart from the
    response: shown only to the unit's case handlers and administrators (each view is
    audited) and erased 90 days after the case closes."""

    __tablename__ = "case_contacts"
    __table_args__ = (
        CheckConstraint("phone IS NOT NULL OR email IS NOT NULL", name="some_contact"),
    )

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    consent_at: Mapped[utc_at]
    # The purpose as the citizen read it when consenting (the form's wording, in their
    # language), so what they agreed to is on record.
    purpose: Mapped[str] = mapped_column(String(CONTACT_PURPOSE_MAX))


class CaseEvent(Base):
    """One step in a case's history: opened, assigned, verified, followed up, closed,
    noted, reminded, overdue, published, contact viewed or erased."""

    __tablename__ = "case_events"
    __table_args__ = (
        CheckConstraint(f"note IS NULL OR length(note) <= {CASE_TEXT_MAX}", name="note_length"),
        Index("ix_case_events_case_at", "case_id", "at"),
    )

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    at: Mapped[utc_at]
    kind: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(Integer)  # users.id, kept if deleted
    note: Mapped[str | None] = mapped_column(Text)


class CaseHandler(Base):
    """A staff account that handles a unit's complaints (pengelola pengaduan)."""

    __tablename__ = "case_handlers"
    __table_args__ = (UniqueConstraint("user_id", "unit_id"),)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    created_at: Mapped[utc_at]


PUBLISHED_KINDS = ("quarter", "semester", "year")


class Publication(Base):
    """A unit's period as its head published it: a snapshot of the figures at that moment
    (JSON), kept for every revision so that publishing again shows what changed."""

    __tablename__ = "publications"
    __table_args__ = (
        UniqueConstraint("unit_id", "period_kind", "period_start", "revision"),
        CheckConstraint("period_kind IN ('quarter', 'semester', 'year')",
                        name="period_kind_known"),
        CheckConstraint("revision >= 1", name="revision_positive"),
    )

    id: Mapped[intpk]
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    period_kind: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[date] = mapped_column(Date)
    revision: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[str] = mapped_column(Text)  # JSON, see app.publishing
    published_at: Mapped[utc_at]
    published_by: Mapped[int | None] = mapped_column(Integer)  # users.id, kept if deleted
    # A later revision's publication withdraws nothing; a head may withdraw a period.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    unit: Mapped[Unit] = relationship()
