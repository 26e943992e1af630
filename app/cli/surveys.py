"""`flask --app app surveys sync`: record the questionnaire versions in surveys/."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.extensions import database, surveys
from app.survey_versions import SurveyVersionChanged, sync_survey_versions

surveys_cli = AppGroup("surveys", help="Survey definitions in surveys/.")


@surveys_cli.command("sync")
def surveys_sync() -> None:
    """Record new survey versions; stop if a published version's file was edited."""
    try:
        with database().session_scope() as session:
            added = [(row.survey_id, row.version)
                     for row in sync_survey_versions(session, surveys().values())]
    except SurveyVersionChanged as exc:
        raise click.ClickException(str(exc)) from None
    for survey_id, version in added:
        click.echo(f"published survey {survey_id} version {version}")
