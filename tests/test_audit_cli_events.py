"""CLI changes outside the back office are in the audit log too, with the CLI's actor."""

from __future__ import annotations

import getpass
import json

from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEntry, User
from app.users import create_user


def _entries(session: Session, action: str) -> list[AuditEntry]:
    session.expire_all()
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                .order_by(AuditEntry.id)))


def test_api_tokens_created_and_revoked_from_the_cli_are_audited(
    runner: FlaskCliRunner, session: Session
) -> None:
    user = create_user(session, "kepala@suara.example.id", "sandi-yang-panjang", "admin")
    session.commit()
    created = runner.invoke(args=["tokens", "create", "--email", user.email, "--label", "excel"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[0]
    revoked = runner.invoke(args=["tokens", "revoke", "--email", user.email])
    assert revoked.exit_code == 0, revoked.output

    [create] = _entries(session, "token.create")
    assert create.actor == f"cli:{getpass.getuser()}"
    assert create.user_id is None
    after = json.loads(create.after or "{}")
    assert {key: after[key] for key in ("kind", "label", "user_id", "unit_id")} == {
        "kind": "personal", "label": "excel", "user_id": user.id, "unit_id": None}
    assert after["expires_at"] and after["revoked_at"] is None
    assert token not in (create.after or "")  # the secret never enters the log
    [revoke] = _entries(session, "token.revoke")
    assert revoke.object_type == "user" and revoke.object_id == str(user.id)
    assert len(json.loads(revoke.after or "{}")["revoked"]) == 1


def test_publishing_a_survey_version_is_audited_once(
    runner: FlaskCliRunner, session: Session
) -> None:
    first = runner.invoke(args=["surveys", "sync"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(args=["surveys", "sync"])
    assert again.exit_code == 0, again.output
    published = _entries(session, "survey.publish")
    assert len(published) >= 1
    assert {json.loads(e.after or "{}")["survey_id"] for e in published}
    assert len(published) == len({e.object_id for e in published})  # the second sync added none
    assert session.scalar(select(User.id)) is None  # nothing else was created
