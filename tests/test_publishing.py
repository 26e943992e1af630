"""Publication (app.publishing): snapshots per revision, what changed, refusals, withdrawal,
the audit, and the back office at /admin/publish (scopes, confirmations, bad input)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from factories import (
    SeededUnit,
    add_response,
    aggregate,
    cached_password_hash,
    csrf_token_of,
    make_other_unit,
    make_unit,
    make_user,
    release,
    sign_in,
    skm_survey,
)
from flask import Flask
from flask.testing import FlaskClient
from i18n_helpers import visible_text
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import publishing
from app.actions import ActionValues, create_action
from app.indicators import indicator_rows
from app.models import AuditEntry, Publication, Unit
from app.models.loop import ImprovementAction
from app.publishing import Change, PublishError

WIB = ZoneInfo("Asia/Jakarta")
Q3 = date(2026, 7, 1)  # 2026-Q3: Monday 29 June to Sunday 27 September 2026
Q4 = date(2026, 10, 1)
NOW = datetime(2026, 10, 5, 10, 0, tzinfo=WIB)  # Q3 has ended, Q4 has not
LATER = NOW + timedelta(days=7)
ADMIN, HEAD, OTHER_HEAD = "admin@contoh.go.id", "kepala@contoh.go.id", "kepala.pkm@contoh.go.id"
VIEWER = "pemantau@contoh.go.id"
MIN_N = 10


@pytest.fixture(autouse=True)
def _cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.users.generate_password_hash", cached_password_hash)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    found = Clock(NOW)
    monkeypatch.setattr("app.web.admin.publish.utcnow", found)
    monkeypatch.setattr("app.web.admin.actions.utcnow", found)
    return found


@dataclass
class World:
    home: SeededUnit
    other: SeededUnit
    home_unit: int
    other_unit: int


@pytest.fixture
def world(session: Session) -> World:
    home, other = make_unit(session), make_other_unit(session)
    make_user(session, ADMIN, "admin")
    make_user(session, VIEWER, "viewer")
    make_user(session, HEAD, "unit_head", unit=home.unit)
    make_user(session, OTHER_HEAD, "unit_head", unit=other.unit)
    world = World(home, other, home.unit.id, other.unit.id)
    release(session)
    return world


def _at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=WIB)


def seed(app: Flask, session: Session, seeded: SeededUnit, count: int, *,
         first: date = date(2026, 7, 6), scores: tuple[int, ...] = (3, 3, 2, 4, 3, 3, 4, 3, 3),
         measured: int | None = 20, now: datetime = NOW) -> None:
    """``count`` responses at the unit's counter on weekdays from ``first``, aggregated."""
    survey = skm_survey(app)
    for i in range(count):
        day = first + timedelta(days=7 * (i // 5) + i % 5)
        add_response(session, survey, seeded.counter, scores, _at(day, 8 + i % 6),
                     measured=measured)
    session.commit()
    aggregate(app, now)


def unit_of(session: Session, unit_id: int) -> Unit:
    found = session.get(Unit, unit_id)
    assert found is not None
    return found


def publications(session: Session) -> list[Publication]:
    session.expire_all()
    rows = list(session.scalars(select(Publication).order_by(Publication.id)))
    release(session)
    return rows


def audit_actions(session: Session) -> list[str]:
    session.expire_all()
    found = list(session.scalars(select(AuditEntry.action).where(
        AuditEntry.action.startswith("publication.") | AuditEntry.action.startswith(
            "action.publish") | AuditEntry.action.startswith("action.unpublish"))
        .order_by(AuditEntry.id)))
    release(session)
    return found


# The snapshot ---------------------------------------------------------------------------------


def test_the_snapshot_equals_the_indicators_summed_over_versions(app: Flask, session: Session,
                                                                 world: World) -> None:
    seed(app, session, world.home, 12)
    unit = unit_of(session, world.home_unit)
    snapshot = publishing.take_snapshot(session, unit, "quarter", Q3)
    rows = indicator_rows(session, "unit", "quarter", first=Q3, last=Q3,
                          unit_ids=[world.home_unit])
    assert len(rows) == 1  # one survey version: the snapshot is that row exactly
    row = rows[0]
    assert snapshot["unit"] == {"code": "DUKCAPIL", "name": "Disdukcapil Lampung Utara"}
    assert (snapshot["kind"], snapshot["label"], snapshot["period"]) == (
        "quarter", "2026-07-01", "2026-Q3")
    assert (snapshot["first_day"], snapshot["last_day"]) == ("2026-06-29", "2026-09-27")
    assert (snapshot["n"], snapshot["ikm"], snapshot["category"]) == (
        row["n"], row["ikm"], row["category"])
    assert snapshot["elements"] == row["nrr"]
    assert snapshot["wait"] == {"measured_n": 12, "median": row["measured"]["median"]}
    assert snapshot["sample"] == row["sample"]
    # 28 of 36 points: 25 x 28/9 = 77.78 (B); U3 at 2.
    assert (snapshot["n"], snapshot["ikm"], snapshot["category"]) == (12, 77.78, "B")
    assert snapshot["elements"]["U3"] == 2.0


def test_versions_are_summed_exactly(session: Session) -> None:
    first = publishing.Figures(n=2, sums=(5, 6, 7, 8, 5, 6, 7, 8, 5), measured_n=2,
                               medians=(20,))
    assert first.wait_median == 20
    assert first.nrr()["U1"] == 2.5
    two = publishing.Figures(n=3, sums=(10,) * 9, measured_n=3, medians=(20, 30))
    assert two.wait_median is None  # medians of two versions do not add up
    assert two.ikm == 83.33 and two.category == "B"
    assert publishing.Figures().ikm is None and publishing.Figures().category is None


# Publishing, what changed, refusals ---------------------------------------------------------


def test_publish_takes_a_snapshot_and_later_answers_need_a_new_revision(
        app: Flask, session: Session, world: World) -> None:
    seed(app, session, world.home, 12)
    unit = unit_of(session, world.home_unit)
    first = publishing.publish(session, unit, "quarter", Q3, user_id=None, now=NOW,
                               min_n=MIN_N, tz=WIB)
    session.commit()
    assert first.revision == 1 and first.withdrawn_at is None
    # Answers of Q3 synced later (an offline kiosk) reach the indicators ...
    seed(app, session, world.home, 3, scores=(4,) * 9, now=LATER)
    shown = publishing.latest_quarters(session)
    # ... but not the published figures.
    assert [(p.unit_code, p.revision, p.snapshot["n"]) for p in shown] == [("DUKCAPIL", 1, 12)]
    # Three answers more would be told apart by the public (revision 2 minus revision 1).
    early = publishing.preview(session, unit, "quarter", Q3, now=LATER, min_n=MIN_N, tz=WIB)
    assert early.refusal is not None and "3 responses more or fewer" in str(early.refusal)
    seed(app, session, world.home, 7, scores=(4,) * 9, now=LATER)
    preview = publishing.preview(session, unit, "quarter", Q3, now=LATER, min_n=MIN_N, tz=WIB)
    assert preview.refusal is None and preview.last is not None
    assert preview.snapshot["n"] == 22
    fields = [c.field for c in preview.changes]
    assert fields[:3] == ["n", "ikm", "category"] or fields[:2] == ["n", "ikm"]
    assert preview.changes[0] == Change("n", 12, 22)
    second = publishing.publish(session, unit, "quarter", Q3, user_id=None, now=LATER,
                                min_n=MIN_N, tz=WIB)
    session.commit()
    assert second.revision == 2
    shown = publishing.latest_quarters(session)
    assert [(p.revision, p.snapshot["n"]) for p in shown] == [(2, 22)]
    revised = publishing.changes_since_previous(session, shown)
    assert revised[shown[0].id][0] == Change("n", 12, 22)
    # Both revisions are kept, as published.
    kept = [json.loads(p.snapshot)["n"] for p in publications(session)]
    assert kept == [12, 22]


def test_changes_lists_the_figures_that_differ() -> None:
    before = {"n": 10, "ikm": 80.0, "category": "B",
              "elements": {f"U{i}": 3.0 for i in range(1, 10)}, "wait": {"median": 20}}
    after = {**before, "n": 11, "elements": {**before["elements"], "U4": 3.1},
             "wait": {"median": 25}}
    assert publishing.changes(None, after) == []
    assert publishing.changes(before, before) == []
    assert publishing.changes(before, after) == [
        Change("n", 10, 11), Change("U4", 3.0, 3.1), Change("wait_median", 20, 25)]


@pytest.mark.parametrize(("kind", "label", "count", "now", "message"), [
    ("quarter", Q3, 9, NOW, "at least 10 are needed"),
    ("quarter", Q4, 40, NOW, "runs until 2027-01-03"),
    ("semester", date(2026, 7, 1), 40, NOW, "runs until"),
    ("month", date(2026, 7, 1), 40, NOW, "Only a quarter"),
    ("week", date(2026, 7, 6), 40, NOW, "Only a quarter"),
    ("quarter", date(2026, 8, 1), 40, NOW, "not the start"),
])
def test_publishing_is_refused_with_a_reason(app: Flask, session: Session, world: World,
                                             kind: str, label: date, count: int,
                                             now: datetime, message: str) -> None:
    seed(app, session, world.home, count)
    with pytest.raises(PublishError) as refused:
        publishing.publish(session, unit_of(session, world.home_unit), kind, label,
                           user_id=None, now=now, min_n=MIN_N, tz=WIB)
    assert message in str(refused.value)
    session.rollback()
    assert publications(session) == []


def test_the_last_day_of_a_period_is_still_too_early(app: Flask, session: Session,
                                                     world: World) -> None:
    seed(app, session, world.home, 12)
    unit = unit_of(session, world.home_unit)
    sunday = datetime(2026, 9, 27, 23, 0, tzinfo=WIB)  # Q3's last day, local time
    with pytest.raises(PublishError):
        publishing.publish(session, unit, "quarter", Q3, user_id=None, now=sunday,
                           min_n=MIN_N, tz=WIB)
    monday = publishing.publish(session, unit, "quarter", Q3, user_id=None,
                                now=sunday + timedelta(hours=1), min_n=MIN_N, tz=WIB)
    assert monday.revision == 1


def test_publishing_the_same_figures_again_is_refused_unless_withdrawn(
        app: Flask, session: Session, world: World) -> None:
    seed(app, session, world.home, 12)
    unit = unit_of(session, world.home_unit)
    publishing.publish(session, unit, "quarter", Q3, user_id=None, now=NOW, min_n=MIN_N,
                       tz=WIB)
    with pytest.raises(PublishError, match="already shows"):
        publishing.publish(session, unit, "quarter", Q3, user_id=None, now=NOW, min_n=MIN_N,
                           tz=WIB)
    publishing.withdraw(session, unit, "quarter", Q3, now=LATER)
    assert publishing.latest_quarters(session) == []
    with pytest.raises(PublishError, match="not published"):
        publishing.withdraw(session, unit, "quarter", Q3, now=LATER)
    again = publishing.publish(session, unit, "quarter", Q3, user_id=None, now=LATER,
                               min_n=MIN_N, tz=WIB)
    assert again.revision == 2
    assert [p.revision for p in publishing.latest_quarters(session)] == [2]
    session.commit()
    assert audit_actions(session) == ["publication.publish", "publication.withdraw",
                                      "publication.publish"]


def test_latest_quarter_per_unit_and_other_kinds_apart(app: Flask, session: Session,
                                                       world: World) -> None:
    seed(app, session, world.home, 12, first=date(2026, 4, 6))  # Q2
    seed(app, session, world.home, 12)  # Q3
    seed(app, session, world.other, 12)
    home, other = unit_of(session, world.home_unit), unit_of(session, world.other_unit)
    for unit, label in ((home, date(2026, 4, 1)), (home, Q3), (other, Q3)):
        publishing.publish(session, unit, "quarter", label, user_id=None, now=NOW,
                           min_n=MIN_N, tz=WIB)
    publishing.publish(session, home, "semester", date(2026, 1, 1), user_id=None, now=NOW,
                       min_n=MIN_N, tz=WIB)
    latest = publishing.latest_quarters(session)
    assert [(p.unit_code, p.name) for p in latest] == [("DUKCAPIL", "2026-Q3"),
                                                       ("PKM-KTB2", "2026-Q3")]
    every = publishing.published_periods(session, unit_ids=[home.id])
    assert [(p.kind, p.name) for p in every] == [
        ("quarter", "2026-Q2"), ("quarter", "2026-Q3"), ("semester", "2026-S1")]
    # A withdrawn quarter leaves the one before it as the unit's latest.
    publishing.withdraw(session, home, "quarter", Q3, now=NOW)
    assert [(p.unit_code, p.name) for p in publishing.latest_quarters(session)] == [
        ("DUKCAPIL", "2026-Q2"), ("PKM-KTB2", "2026-Q3")]


def test_statuses_list_recent_periods_with_figures(app: Flask, session: Session,
                                                   world: World) -> None:
    seed(app, session, world.home, 12)
    unit = unit_of(session, world.home_unit)
    publishing.publish(session, unit, "quarter", Q3, user_id=None, now=NOW, min_n=MIN_N,
                       tz=WIB)
    statuses = publishing.period_statuses(session, [unit.id], now=NOW, tz=WIB)[unit.id]
    assert [s.name for s in statuses] == [
        "2026-Q4", "2026-Q3", "2026-Q2", "2026-Q1", "2025-Q4", "2026-S2", "2026-S1",
        "2025-S2", "2026", "2025"]
    q4, q3 = statuses[0], statuses[1]
    assert (q4.ended, q4.figures.n, q4.live) == (False, 0, False)
    assert (q3.ended, q3.figures.n, q3.live, q3.changed) == (True, 12, True, False)


def test_action_publication_is_audited(app: Flask, session: Session, world: World) -> None:
    action = create_action(session, unit_of(session, world.home_unit), ActionValues(
        "U3", "Tambah petugas", "Seksi Pelayanan", date(2026, 10, 1), date(2026, 11, 1)),
        user_id=None, now=NOW)
    publishing.set_action_published(session, action, True, now=NOW)
    publishing.set_action_published(session, action, True, now=NOW)  # no change, no entry
    assert publishing.published_actions(session) == [action]
    publishing.set_action_published(session, action, False, now=NOW)
    assert publishing.published_actions(session) == []
    session.commit()
    assert audit_actions(session) == ["action.publish", "action.unpublish"]


# The back office --------------------------------------------------------------------------------


def _confirm(client: FlaskClient, url: str) -> tuple[int, str]:
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    answer = client.post(url, data={"csrf_token": csrf_token_of(page)})
    return answer.status_code, answer.get_data(as_text=True)


def test_a_head_publishes_after_a_confirmation_showing_what_changes(
        app: Flask, client: FlaskClient, session: Session, world: World,
        clock: Clock) -> None:
    seed(app, session, world.home, 12)
    assert sign_in(client, HEAD).status_code == 303
    listing = visible_text(client.get("/admin/publish?lang=en").get_data(as_text=True))
    assert "2026-Q3" in listing and "Publish" in listing and "Not published" in listing
    url = f"/admin/publish/{world.home_unit}/2026-Q3"
    page = visible_text(client.get(url).get_data(as_text=True))
    assert "First publication" in page and "77.78" in page
    status, _body = _confirm(client, url)
    assert status == 303
    assert [p.revision for p in publications(session)] == [1]
    # Three late answers of Q3, then the list says the figures moved and the
    # confirmation shows how.
    clock.now = LATER
    seed(app, session, world.home, 10, scores=(4,) * 9, now=LATER)
    listing = visible_text(client.get("/admin/publish").get_data(as_text=True))
    assert "figures changed since" in listing and "Publish again" in listing
    page = visible_text(client.get(url).get_data(as_text=True))
    assert "What changes since revision 1" in page
    assert re.search(r"Responses 12 22", page)
    status, _body = _confirm(client, url)
    assert status == 303
    assert [p.revision for p in publications(session)] == [1, 2]
    # Withdrawn, then off the list of live periods.
    status, _body = _confirm(client, f"{url}/withdraw")
    assert status == 303
    assert all(p.withdrawn_at is not None for p in publications(session))
    assert "Withdrawn on" in visible_text(client.get("/admin/publish").get_data(as_text=True))
    assert audit_actions(session) == ["publication.publish", "publication.publish",
                                      "publication.withdraw"]


def test_a_refused_publication_says_why_and_writes_nothing(
        app: Flask, client: FlaskClient, session: Session, world: World,
        clock: Clock) -> None:
    seed(app, session, world.home, 4)
    sign_in(client, HEAD, query="?lang=en")
    url = f"/admin/publish/{world.home_unit}/2026-Q3"
    page = client.get(url)
    text = visible_text(page.get_data(as_text=True))
    assert "has 4 responses; at least 10 are needed" in text
    assert page.get_data(as_text=True).count("<button") == 1  # signing out only
    # A POST anyway, with a valid token (from a withdrawal page): refused, nothing written.
    token = csrf_token_of(client.get(f"/admin/publish/{world.home_unit}/2026-Q3/withdraw"))
    answer = client.post(url, data={"csrf_token": token})
    assert answer.status_code == 400
    assert "has 4 responses; at least 10 are needed" in visible_text(
        answer.get_data(as_text=True))
    assert client.post(url, data={}).status_code == 400  # no token: refused too
    assert publications(session) == []
    # A still-running quarter is refused in the same way.
    text = visible_text(client.get(f"/admin/publish/{world.home_unit}/2026-Q4").get_data(
        as_text=True))
    assert "runs until 2027-01-03" in text


def test_a_post_refused_by_the_rules_is_a_400_with_its_message(
        app: Flask, client: FlaskClient, session: Session, world: World,
        clock: Clock) -> None:
    seed(app, session, world.home, 12)
    sign_in(client, HEAD, query="?lang=en")
    url = f"/admin/publish/{world.home_unit}/2026-Q3"
    page = client.get(url)
    token = csrf_token_of(page)
    assert client.post(url, data={"csrf_token": token}).status_code == 303
    # The same figures again (a second tab's confirmation sent twice).
    again = client.post(url, data={"csrf_token": token})
    assert again.status_code == 400
    assert "Revision 1 of 2026-Q3 already shows these figures" in visible_text(
        again.get_data(as_text=True))
    assert len(publications(session)) == 1
    withdraw = f"{url}/withdraw"
    assert client.post(withdraw, data={"csrf_token": token}).status_code == 303
    twice = client.post(withdraw, data={"csrf_token": token})
    assert twice.status_code == 400
    assert "2026-Q3 is not published" in visible_text(twice.get_data(as_text=True))


def test_a_head_cannot_publish_another_unit_and_a_viewer_nothing(
        app: Flask, client: FlaskClient, session: Session, world: World,
        clock: Clock) -> None:
    seed(app, session, world.other, 12)
    sign_in(client, HEAD)
    url = f"/admin/publish/{world.other_unit}/2026-Q3"
    assert client.get(url).status_code == 404
    own = client.get(f"/admin/publish/{world.home_unit}/2026-Q3")
    assert client.post(url, data={"csrf_token": csrf_token_of(own)}).status_code == 404
    assert client.post(f"{url}/withdraw", data={"csrf_token": csrf_token_of(own)}
                       ).status_code == 404
    assert "PKM-KTB2" not in visible_text(client.get("/admin/publish").get_data(as_text=True))
    assert publications(session) == []
    client.post("/keluar", data={"csrf_token": csrf_token_of(own)})
    sign_in(client, VIEWER)
    assert client.get("/admin/publish").status_code == 403
    assert client.get(url).status_code == 403
    # The administrator may publish any unit.
    admin = FlaskClient(app, app.response_class, use_cookies=True)
    sign_in(admin, ADMIN)
    status, _body = _confirm(admin, url)
    assert status == 303
    assert [p.unit_id for p in publications(session)] == [world.other_unit]


@pytest.mark.parametrize("path", [
    "/admin/publish/{unit}/2026-Q9", "/admin/publish/{unit}/2026-11",
    "/admin/publish/{unit}/2026-W40", "/admin/publish/{unit}/1999-Q1",
    # A NUL byte is the boundary rule's 400 (tests/test_boundary.py walks every route).
    "/admin/publish/9223372036854775808/2026-Q3", "/admin/publish/2147483648/2026-Q3",
    "/admin/publish/987654/2026-Q3", "/admin/publish/{unit}/" + "9" * 5000,
    "/admin/publish/{unit}/2026-Q9/withdraw", "/admin/publish/9223372036854775808/2026/withdraw",
])
def test_bad_addresses_are_404(app: Flask, client: FlaskClient, session: Session,
                               world: World, clock: Clock, path: str) -> None:
    sign_in(client, ADMIN)
    url = path.format(unit=world.home_unit)
    assert client.get(url).status_code == 404
    assert publications(session) == []


def test_the_action_page_publishes_an_action_after_a_confirmation(
        app: Flask, client: FlaskClient, session: Session, world: World,
        clock: Clock) -> None:
    action = create_action(session, unit_of(session, world.home_unit), ActionValues(
        "U3", "Tambah petugas", "Seksi Pelayanan", date(2026, 10, 1), date(2026, 11, 1)),
        user_id=None, now=NOW)
    other = create_action(session, unit_of(session, world.other_unit), ActionValues(
        "U3", "Tambah loket", "Seksi Pelayanan", date(2026, 10, 1), date(2026, 11, 1)),
        user_id=None, now=NOW)
    action_id, other_id = action.id, other.id
    session.commit()
    sign_in(client, HEAD, query="?lang=en")
    detail = visible_text(client.get(f"/admin/actions/{action_id}").get_data(as_text=True))
    assert "Show on the public page" in detail
    status, _body = _confirm(client, f"/admin/actions/{action_id}/publish")
    assert status == 303
    assert "Take off the public page" in visible_text(
        client.get(f"/admin/actions/{action_id}").get_data(as_text=True))
    assert client.get(f"/admin/actions/{other_id}/publish").status_code == 404
    assert client.get(f"/admin/actions/{action_id}/shout").status_code == 404
    assert client.get("/admin/actions/9223372036854775808/publish").status_code == 404
    session.expire_all()
    shown = session.scalars(select(ImprovementAction.id).where(
        ImprovementAction.published.is_(True))).all()
    assert shown == [action_id]
    release(session)
    status, _body = _confirm(client, f"/admin/actions/{action_id}/unpublish")
    assert status == 303
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(ImprovementAction).where(
        ImprovementAction.published.is_(True))) == 0
    release(session)
    assert audit_actions(session) == ["action.publish", "action.unpublish"]


def test_the_navigation_offers_publication(client: FlaskClient, world: World) -> None:
    sign_in(client, HEAD)
    assert 'href="/admin/publish"' in client.get("/admin/").get_data(as_text=True)
