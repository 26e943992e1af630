"""Computed indicators, the aggregation watermark, people served, digests, locks and API tokens."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, intpk, utc_at

SCOPES = ("unit", "counter", "service", "officer")
PERIOD_KINDS = ("day", "week", "month")


def _count() -> Mapped[int]:
    """A count added up over periods; 0 for rows aggregated before the column existed."""
    return mapped_column(Integer, default=0, server_default=text("0"))


class Indicator(Base):
    """The aggregate of one scope in one local period for one survey version.

    Sums are stored besides the index so that any figure (NRR, IKM, intervals) can be
    recomputed exactly; ``wait_*`` count self-reported bands, ``measured_*`` the measured wait.
    """

    __tablename__ = "indicators"
    __table_args__ = (
        UniqueConstraint("scope", "scope_id", "period_kind", "period_start",
                         "survey_version_id", name="uq_indicators_key"),
        CheckConstraint("scope IN ('unit', 'counter', 'service', 'officer')", name="scope_known"),
        CheckConstraint("period_kind IN ('day', 'week', 'month')", name="period_known"),
        CheckConstraint("n >= 0", name="n_not_negative"),
        # A unit's counters, services or officers over a period, grouped by scope_id.
        Index("ix_indicators_unit_period", "unit_id", "scope", "period_kind", "period_start",
              "scope_id"),
    )

    id: Mapped[intpk]
    scope: Mapped[str] = mapped_column(String(8))
    scope_id: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    period_kind: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[date] = mapped_column(Date)
    survey_version_id: Mapped[int] = mapped_column(
        ForeignKey("survey_versions.id", ondelete="CASCADE"))
    n: Mapped[int] = mapped_column(Integer)
    sum_u1: Mapped[int] = mapped_column(Integer)
    sum_u2: Mapped[int] = mapped_column(Integer)
    sum_u3: Mapped[int] = mapped_column(Integer)
    sum_u4: Mapped[int] = mapped_column(Integer)
    sum_u5: Mapped[int] = mapped_column(Integer)
    sum_u6: Mapped[int] = mapped_column(Integer)
    sum_u7: Mapped[int] = mapped_column(Integer)
    sum_u8: Mapped[int] = mapped_column(Integer)
    sum_u9: Mapped[int] = mapped_column(Integer)
    sum_total_sq: Mapped[int] = mapped_column(Integer)
    # The IKM (2 decimals) as an integer number of hundredths: exact on both engines.
    ikm_hundredths: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str | None] = mapped_column(String(1))
    wait_lt5: Mapped[int] = mapped_column(Integer)
    wait_5_15: Mapped[int] = mapped_column(Integer)
    wait_15_30: Mapped[int] = mapped_column(Integer)
    wait_30_60: Mapped[int] = mapped_column(Integer)
    wait_60_120: Mapped[int] = mapped_column(Integer)
    wait_gt120: Mapped[int] = mapped_column(Integer)
    measured_n: Mapped[int] = mapped_column(Integer)
    measured_median: Mapped[int | None] = mapped_column(Integer)
    measured_p90: Mapped[int | None] = mapped_column(Integer)
    measured_within_60: Mapped[int] = mapped_column(Integer)
    flagged: Mapped[int] = mapped_column(Integer)
    comments: Mapped[int] = mapped_column(Integer)
    # How many responses gave each of the four answers to each element (count_u3_1: U3
    # answered 1): the share of every answer, and an element's variance for its interval.
    count_u1_1: Mapped[int] = _count()
    count_u1_2: Mapped[int] = _count()
    count_u1_3: Mapped[int] = _count()
    count_u1_4: Mapped[int] = _count()
    count_u2_1: Mapped[int] = _count()
    count_u2_2: Mapped[int] = _count()
    count_u2_3: Mapped[int] = _count()
    count_u2_4: Mapped[int] = _count()
    count_u3_1: Mapped[int] = _count()
    count_u3_2: Mapped[int] = _count()
    count_u3_3: Mapped[int] = _count()
    count_u3_4: Mapped[int] = _count()
    count_u4_1: Mapped[int] = _count()
    count_u4_2: Mapped[int] = _count()
    count_u4_3: Mapped[int] = _count()
    count_u4_4: Mapped[int] = _count()
    count_u5_1: Mapped[int] = _count()
    count_u5_2: Mapped[int] = _count()
    count_u5_3: Mapped[int] = _count()
    count_u5_4: Mapped[int] = _count()
    count_u6_1: Mapped[int] = _count()
    count_u6_2: Mapped[int] = _count()
    count_u6_3: Mapped[int] = _count()
    count_u6_4: Mapped[int] = _count()
    count_u7_1: Mapped[int] = _count()
    count_u7_2: Mapped[int] = _count()
    count_u7_3: Mapped[int] = _count()
    count_u7_4: Mapped[int] = _count()
    count_u8_1: Mapped[int] = _count()
    count_u8_2: Mapped[int] = _count()
    count_u8_3: Mapped[int] = _count()
    count_u8_4: Mapped[int] = _count()
    count_u9_1: Mapped[int] = _count()
    count_u9_2: Mapped[int] = _count()
    count_u9_3: Mapped[int] = _count()
    count_u9_4: Mapped[int] = _count()
    # Responses to a free service (fee 0) whose U4 answer is not the free one ("Gratis"):
    # citizens saying they paid for a free service (the illegal-fee signal).
    paid_free: Mapped[int] = _count()
    computed_at: Mapped[utc_at]


class WaitMinutes(Base):
    """How many unflagged responses of one scope, local day and survey version had a
    measured wait of each whole minute: the histogram that week and month percentiles are
    read from, so that an incremental run never rescans a month of responses.

    Maintained by the aggregation beside ``indicators`` (same transaction, same buckets).
    """

    __tablename__ = "wait_histogram"
    __table_args__ = (
        CheckConstraint("scope IN ('unit', 'counter', 'service', 'officer')",
                        name="scope_known"),
        CheckConstraint("responses > 0", name="responses_positive"),
        # Stored in primary-key order on SQLite (no second b-tree beside the key).
        {"sqlite_with_rowid": False},
    )

    scope: Mapped[str] = mapped_column(String(8), primary_key=True)
    scope_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    survey_version_id: Mapped[int] = mapped_column(
        ForeignKey("survey_versions.id", ondelete="CASCADE"), primary_key=True)
    minute: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The day's ISO week and month, so that periods are grouped without date arithmetic.
    week: Mapped[date] = mapped_column(Date)
    month: Mapped[date] = mapped_column(Date)
    responses: Mapped[int] = mapped_column(Integer)


class AggregationState(Base):
    """The watermark: responses received up to this instant are in the indicators."""

    __tablename__ = "aggregation_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    watermark: Mapped[utc_at]
    last_run_at: Mapped[utc_at]
    last_full_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Digest(Base):
    """A unit's weekly summary as sent (or written to the outbox) once per unit and week."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("unit_id", "week_start"),)

    id: Mapped[intpk]
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    week_start: Mapped[date] = mapped_column(Date)
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    recipients: Mapped[str] = mapped_column(Text)
    created_at: Mapped[utc_at]
    # A send in progress; a claim older than digests.CLAIM_STALE was left by a process that
    # died while sending, and is taken up again.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SchedulerLock(Base):
    """Which scheduler process may run jobs; a holder that stops beating loses it."""

    __tablename__ = "scheduler_locks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    heartbeat_at: Mapped[utc_at]


class JobRun(Base):
    """One run of a scheduled job, with the process that ran it."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_started", "job", "started_at"),)

    id: Mapped[intpk]
    job: Mapped[str] = mapped_column(String(32))
    holder: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[utc_at]
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)


TOKEN_KINDS = ("personal", "integration")


class ApiToken(Base):
    """An API token; only its hash is stored. A personal token acts as its staff user (it
    reads what the user may read); an integration token (named ``label``, unique among the
    live ones, and optionally bound to one unit) submits responses for a system or a
    script. Both expire at ``expires_at`` and stop at once when revoked."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint("kind IN ('personal', 'integration')", name="kind_known"),
        CheckConstraint("(kind = 'personal' AND user_id IS NOT NULL AND unit_id IS NULL) OR "
                        "(kind = 'integration' AND user_id IS NULL)", name="owner_fits_kind"),
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        # One live integration per name: `tokens revoke --integration NAME` names one.
        Index("uq_api_tokens_live_integration", "label", unique=True,
              sqlite_where=text("kind = 'integration' AND revoked_at IS NULL"),
              postgresql_where=text("kind = 'integration' AND revoked_at IS NULL")),
    )

    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(String(12), default="personal",
                                      server_default=text("'personal'"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[utc_at]
    expires_at: Mapped[utc_at]
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
