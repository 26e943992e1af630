"""Recording published survey versions, so an edited file cannot pass as the same version."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit
from app.db import utcnow
from app.models import SurveyVersion
from app.surveys import Survey


class SurveyVersionChanged(Exception):
    """A published version's file was edited without a new version number."""


def sync_survey_versions(session: Session, surveys: Iterable[Survey]) -> list[SurveyVersion]:
    """Record new survey versions; refuse a published version whose content changed.

    Returns the versions recorded by this call (empty when all were already known).
    """
    added: list[SurveyVersion] = []
    for survey in surveys:
        known = session.scalars(
            select(SurveyVersion).where(
                SurveyVersion.survey_id == survey.survey_id,
                SurveyVersion.version == survey.version,
            )
        ).one_or_none()
        if known is None:
            row = SurveyVersion(
                survey_id=survey.survey_id,
                version=survey.version,
                content_hash=survey.content_hash,
                registered_at=utcnow(),
            )
            session.add(row)
            added.append(row)
        elif known.content_hash != survey.content_hash:
            raise SurveyVersionChanged(
                f"{survey.path.name}: survey {survey.survey_id!r} version {survey.version} was "
                f"published with content hash {known.content_hash[:12]}… but the file now hashes "
                f"to {survey.content_hash[:12]}…. Published versions are immutable: restore the "
                f"file, or give the changed questionnaire a new version number."
            )
    session.flush()
    for row in added:
        audit.record(session, "survey.publish", "survey_version", row.id,
                     after={"survey_id": row.survey_id, "version": row.version,
                            "content_hash": row.content_hash})
    return added
