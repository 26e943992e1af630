"""Published survey versions, recorded so that a changed file cannot pass as the same version."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, intpk, utc_at


class SurveyVersion(Base):
    """One (survey id, version) with the sha256 of the file it was published from."""

    __tablename__ = "survey_versions"
    __table_args__ = (
        UniqueConstraint("survey_id", "version"),
        CheckConstraint("version > 0", name="version_positive"),
        CheckConstraint("length(content_hash) = 64", name="hash_sha256"),
    )

    id: Mapped[intpk]
    survey_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[utc_at]
