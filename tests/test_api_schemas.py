"""app.api_schemas: a submission's envelope validated by the pydantic model, no Flask."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.api_schemas import ResponseSubmission, parse_submission

NOW = datetime(2026, 1, 5, 2, 30, tzinfo=UTC)
ANSWERS = {f"U{i}": 1 + i % 4 for i in range(1, 10)}


def body(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"id": str(uuid.uuid4()), "token": "Tok3n", "answers": ANSWERS}
    payload.update(changes)
    return payload


def test_a_valid_envelope_gives_its_values_and_no_problems() -> None:
    sent = body(submitted_at="2026-01-05T09:12:00+07:00", channel="kiosk")
    parsed, problems = parse_submission(sent, NOW)
    assert problems == {}
    assert parsed.client_id == uuid.UUID(sent["id"])
    assert (parsed.token, parsed.channel) == ("Tok3n", "kiosk")
    assert parsed.submitted_at == datetime(2026, 1, 5, 2, 12, tzinfo=UTC)
    assert parsed.answers == ANSWERS


@pytest.mark.parametrize(("changes", "problems"), [
    ({"nik": "1"}, {"nik": "unknown"}),
    ({"answers": {**ANSWERS, "U10": 3}}, {"answers.U10": "answer_key"}),
    ({"answers": {**ANSWERS, "U" + "x" * 40: 3}}, {"answers.U" + "x" * 15: "answer_key"}),
    ({"answers": [3] * 9}, {"answers": "answers"}),
    ({"id": "not-a-uuid"}, {"id": "id"}),
    ({"token": ""}, {"token": "token"}),
    ({"channel": "sms"}, {"channel": "channel"}),
    ({"submitted_at": 1767580200}, {"submitted_at": "submitted_at"}),
    ({"submitted_at": (NOW - timedelta(days=8)).isoformat()}, {"submitted_at": "too_old"}),
    ({"submitted_at": (NOW + timedelta(minutes=6)).isoformat()}, {"submitted_at": "future"}),
], ids=["unknown-field", "unknown-element", "long-unknown-element", "answers-a-list",
        "bad-id", "empty-token", "channel", "time-as-a-number", "too-old", "future"])
def test_each_envelope_problem_has_its_message_key(
    changes: dict[str, Any], problems: dict[str, str]
) -> None:
    assert parse_submission(body(**changes), NOW)[1] == problems


def test_the_valid_fields_are_kept_when_others_are_invalid() -> None:
    """The token is looked up (a 404 comes before a 422) even when the id is bad."""
    parsed, problems = parse_submission(body(id="x", answers={"U1": 9}, channel=None), NOW)
    assert set(problems) == {"id"}  # the scores' messages come from the survey's catalogue
    assert (parsed.token, parsed.client_id, parsed.channel) == ("Tok3n", None, "api")
    assert parsed.answers == {"U1": 9}


@pytest.mark.parametrize("changes", [
    {"wait_band": ""}, {"service": "  "}, {"comment": "\x00" * 1001},
    {"comment": "a" * 1000 + "\x1b" * 5}, {"profile": {"sex": None}},
], ids=["wait-band-blank", "service-blank", "comment-only-controls", "comment-1000-visible",
        "profile-item-null"])
def test_blank_optional_answers_are_accepted_as_on_the_form(changes: dict[str, Any]) -> None:
    """The form leaves an optional item blank; the model takes blank as null, and counts a
    comment as it is stored (without control characters)."""
    ResponseSubmission.model_validate(body(**changes))
