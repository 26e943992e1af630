"""Citizen responses and the daily salt that keeps client addresses unlinkable across days."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    Uuid,
    and_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, intpk, utc_at
from app.models.org import Counter, Service, Unit
from app.models.people import Officer
from app.models.survey import SurveyVersion

CHANNELS = ("qr", "kiosk", "api")
# Where a response's officer came from: the citizen's pick among those on duty, the one
# officer checked in when the survey was opened, the roster, a unit head's duty correction,
# or nobody (the response counts for the counter only).
ATTRIBUTIONS = ("picked", "checkin", "roster", "correction", "none")
MAX_MEASURED_WAIT_MIN = 480
COMMENT_MAX = 1000


def _score_column() -> Mapped[int]:
    return mapped_column(SmallInteger)


class Response(Base):
    """One citizen's answers to one survey at one counter: anonymous by construction.

    ``created_at`` is when the citizen answered (a kiosk may send it late); ``received_at`` is
    when the server stored it, which is what incremental aggregation watches.
    """

    __tablename__ = "responses"
    __table_args__ = (
        *(CheckConstraint(f"u{i} BETWEEN 1 AND 4", name=f"u{i}_score") for i in range(1, 10)),
        CheckConstraint("channel IN ('qr', 'kiosk', 'api')", name="channel_known"),
        CheckConstraint("attribution IN ('picked', 'checkin', 'roster', 'correction', 'none')",
                        name="attribution_known"),
        CheckConstraint(f"measured_wait_min IS NULL OR measured_wait_min BETWEEN 0 AND "
                        f"{MAX_MEASURED_WAIT_MIN}", name="measured_wait_range"),
        CheckConstraint(f"comment IS NULL OR length(comment) <= {COMMENT_MAX}",
                        name="comment_length"),
        CheckConstraint("kiosk_id IS NULL OR channel = 'kiosk'", name="kiosk_channel"),
        Index("ix_responses_counter_created", "counter_id", "created_at"),
        Index("ix_responses_unit_created", "unit_id", "created_at"),
        Index("ix_responses_device_counter", "device_hash", "counter_id", "created_at"),
        Index("ix_responses_unit_week", "unit_id", "local_week"),
        Index("ix_responses_local_day", "local_day"),
    )

    id: Mapped[intpk]
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    payload_hash: Mapped[str] = mapped_column(String(64))
    survey_version_id: Mapped[int] = mapped_column(
        ForeignKey("survey_versions.id", ondelete="RESTRICT")
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id", ondelete="RESTRICT"))
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="RESTRICT"), index=True
    )
    officer_id: Mapped[int | None] = mapped_column(
        ForeignKey("officers.id", ondelete="RESTRICT"), index=True
    )
    channel: Mapped[str] = mapped_column(String(8))
    attribution: Mapped[str] = mapped_column(String(12), default="none",
                                             server_default=text("'none'"))
    created_at: Mapped[utc_at]
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    u1: Mapped[int] = _score_column()
    u2: Mapped[int] = _score_column()
    u3: Mapped[int] = _score_column()
    u4: Mapped[int] = _score_column()
    u5: Mapped[int] = _score_column()
    u6: Mapped[int] = _score_column()
    u7: Mapped[int] = _score_column()
    u8: Mapped[int] = _score_column()
    u9: Mapped[int] = _score_column()
    wait_band: Mapped[str | None] = mapped_column(String(16))
    measured_wait_min: Mapped[int | None] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    sex: Mapped[str | None] = mapped_column(String(16))
    age_band: Mapped[str | None] = mapped_column(String(16))
    education: Mapped[str | None] = mapped_column(String(32))
    occupation: Mapped[str | None] = mapped_column(String(32))
    # Local period keys, cut once in the configured zone when stored (responses never change).
    local_day: Mapped[date] = mapped_column(Date)
    local_week: Mapped[date] = mapped_column(Date)
    local_month: Mapped[date] = mapped_column(Date)
    local_hour: Mapped[int] = mapped_column(SmallInteger)
    flag_repeat: Mapped[bool] = mapped_column(Boolean, default=False,
                                              server_default=text("false"))
    flag_bot: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # A kiosk session completed faster than its kiosk's fast_seconds, or started within its
    # burst_seconds of the kiosk's previous one (kept, left out of the index).
    flag_fast: Mapped[bool] = mapped_column(Boolean, default=False,
                                            server_default=text("false"))
    flag_burst: Mapped[bool] = mapped_column(Boolean, default=False,
                                             server_default=text("false"))
    # The kiosk it was answered on, and when its session started (device clock corrected).
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("kiosks.id", ondelete="RESTRICT"),
                                                 index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    device_hash: Mapped[str | None] = mapped_column(String(64))

    survey_version: Mapped[SurveyVersion] = relationship()
    unit: Mapped[Unit] = relationship()
    counter: Mapped[Counter] = relationship()
    service: Mapped[Service | None] = relationship()
    officer: Mapped[Officer | None] = relationship()

    @classmethod
    def unflagged(cls) -> ColumnElement[bool]:
        """Counted in the index: none of the flags (repeat, bot, fast, burst) is set."""
        return and_(cls.flag_repeat.is_(False), cls.flag_bot.is_(False),
                    cls.flag_fast.is_(False), cls.flag_burst.is_(False))

    def scores(self) -> tuple[int, ...]:
        """The nine scores U1..U9 in questionnaire order."""
        return (self.u1, self.u2, self.u3, self.u4, self.u5, self.u6, self.u7, self.u8,
                self.u9)


class DailySalt(Base):
    """The salt of one local day for hashing client addresses and device ids.

    Yesterday's salt is deleted by housekeeping, after which no hash can be linked to an
    address or to another day's hashes.
    """

    __tablename__ = "daily_salts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    salt: Mapped[str] = mapped_column(String(64))
