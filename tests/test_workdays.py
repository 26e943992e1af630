"""Working days: deadlines across weekends, public holidays, joint leave days (cuti bersama)
and an administrator's own days; the back-office page; the `workdays` CLI.

The national calendar is the ``holidays`` package's (pinned in pyproject.toml): the 2026 dates
below are its data for Indonesia, the public holidays of Keppres/SKB 3 Menteri for 2026 and
its joint leave days.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from factories import (
    cached_password_hash,
    csrf_token,
    csrf_token_of,
    make_unit,
    make_user,
    release,
    sign_in,
)
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import workdays
from app.models import AuditEntry, CalendarDay
from app.workdays import add_working_days, deadline, is_working_day, working_days_between

WIB = ZoneInfo("Asia/Jakarta")
UTC = ZoneInfo("UTC")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=WIB)
ADMIN, HEAD = "admin@contoh.go.id", "kepala@contoh.go.id"
NONE: dict[date, bool] = {}

# The 2026 joint leave days (cuti bersama) of the pinned package, as the SKB of 2026 sets them.
JOINT_LEAVE_2026 = [date(2026, 2, 16), date(2026, 3, 18), date(2026, 3, 20), date(2026, 3, 23),
                    date(2026, 3, 24), date(2026, 5, 15), date(2026, 5, 28),
                    date(2026, 12, 24)]


def test_the_package_version_is_the_pinned_one() -> None:
    """The data below is the pinned range's: a newer package may move a day (bump the pin and
    check the dates again)."""
    major, minor = (int(part) for part in holidays.__version__.split(".")[:2])
    assert (0, 109) <= (major, minor) < (0, 120)


# The national calendar --------------------------------------------------------------------


def test_2026_has_its_public_holidays_and_joint_leave_days() -> None:
    days = workdays.national_holidays(2026, "en")
    joint = [h.day for h in days if h.kind == workdays.JOINT_LEAVE]
    public = {h.day: h.name for h in days if h.kind == workdays.NATIONAL}
    assert joint == JOINT_LEAVE_2026
    assert public[date(2026, 8, 17)] == "Independence Day"
    assert public[date(2026, 3, 21)] == "Eid al-Fitr"
    assert public[date(2026, 3, 22)] == "Eid al-Fitr Second Day"
    assert len(public) == 17


def test_names_come_in_indonesian_by_default() -> None:
    names = {h.day: h.name for h in workdays.national_holidays(2026)}
    assert names[date(2026, 8, 17)] == "Hari Kemerdekaan Republik Indonesia"
    assert names[date(2026, 2, 16)] == "Cuti Bersama Tahun Baru Imlek"


@pytest.mark.parametrize(("day", "working"), [
    (date(2026, 3, 6), True),  # a Friday
    (date(2026, 3, 7), False),  # Saturday
    (date(2026, 3, 8), False),  # Sunday
    (date(2026, 8, 17), False),  # Independence Day, a Monday
    (date(2026, 2, 16), False),  # cuti bersama Imlek, a Monday
    (date(2026, 3, 24), False),  # cuti bersama Idul Fitri, a Tuesday
    (date(2026, 3, 25), True),  # the Wednesday after
])
def test_is_working_day(day: date, working: bool) -> None:
    assert is_working_day(day, NONE) is working


# Deadlines ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("opened", "n", "due"), [
    # A Friday evening: Monday is day 1, so 3 working days end on Wednesday.
    (datetime(2026, 3, 6, 19, 30, tzinfo=WIB), 3, date(2026, 3, 11)),
    # The same instant a minute before midnight WIB, and 01:00 WIB Saturday (18:00 UTC
    # Friday): the day is cut in Jakarta, and a weekend day itself never counts.
    (datetime(2026, 3, 6, 16, 59, tzinfo=UTC), 3, date(2026, 3, 11)),
    (datetime(2026, 3, 6, 18, 0, tzinfo=UTC), 3, date(2026, 3, 11)),
    # Thursday 18:00 UTC is already Friday in Jakarta: Wednesday, not Tuesday.
    (datetime(2026, 3, 5, 18, 0, tzinfo=UTC), 3, date(2026, 3, 11)),
    (datetime(2026, 3, 5, 16, 0, tzinfo=UTC), 3, date(2026, 3, 10)),
    # Friday 14 August: Monday 17 August (Independence Day) is skipped.
    (datetime(2026, 8, 14, 20, 0, tzinfo=WIB), 3, date(2026, 8, 20)),
    # Friday 13 February: Monday 16 (cuti bersama Imlek) and Tuesday 17 (Imlek) are skipped.
    (datetime(2026, 2, 13, 20, 0, tzinfo=WIB), 3, date(2026, 2, 20)),
    # Idul Fitri 2026: Nyepi's joint leave day and Nyepi (18–19 March), cuti bersama (20),
    # Idul Fitri on the weekend (21–22), cuti bersama (23–24). Monday 16 March: day 1 is
    # Tuesday 17, days 2 and 3 come after the holidays.
    (datetime(2026, 3, 16, 10, 0, tzinfo=WIB), 3, date(2026, 3, 26)),
    # The follow-up's 5 working days from a verification on Tuesday 17 March.
    (datetime(2026, 3, 17, 10, 0, tzinfo=WIB), 5, date(2026, 3, 31)),
    # Christmas: Thursday 24 December (cuti bersama) and Friday 25 December.
    (datetime(2026, 12, 23, 10, 0, tzinfo=WIB), 1, date(2026, 12, 28)),
])
def test_deadline_across_weekends_and_holidays(opened: datetime, n: int, due: date) -> None:
    assert deadline(opened, n, NONE, WIB) == due


def test_zero_days_is_the_day_itself_and_negative_is_refused() -> None:
    assert add_working_days(date(2026, 3, 7), 0, NONE) == date(2026, 3, 7)
    with pytest.raises(ValueError, match="0 or more"):
        add_working_days(date(2026, 3, 7), -1, NONE)
    with pytest.raises(ValueError, match="timezone-aware"):
        deadline(datetime(2026, 3, 6, 19, 0), 3, NONE, WIB)  # noqa: DTZ001 (the refusal)


def test_an_extra_day_off_moves_the_deadline() -> None:
    friday = date(2026, 3, 6)
    assert add_working_days(friday, 3, NONE) == date(2026, 3, 11)
    assert add_working_days(friday, 3, {date(2026, 3, 10): False}) == date(2026, 3, 12)


def test_an_extra_working_day_shortens_it() -> None:
    friday = date(2026, 3, 6)
    # A Saturday of public service, and a joint leave day the office works after all.
    assert add_working_days(friday, 3, {date(2026, 3, 7): True}) == date(2026, 3, 10)
    assert add_working_days(date(2026, 2, 13), 3, {date(2026, 2, 16): True}) \
        == date(2026, 2, 19)


def test_working_days_between() -> None:
    friday, wednesday = date(2026, 3, 6), date(2026, 3, 11)
    assert working_days_between(friday, wednesday, NONE) == 3
    assert working_days_between(wednesday, friday, NONE) == -3
    assert working_days_between(friday, friday, NONE) == 0
    assert working_days_between(date(2026, 3, 16), date(2026, 3, 31), NONE) == 6
    assert working_days_between(friday, wednesday, {date(2026, 3, 9): False}) == 2


@given(start=st.dates(date(2025, 1, 1), date(2027, 12, 31)), n=st.integers(0, 40),
       off=st.sets(st.dates(date(2025, 1, 1), date(2028, 3, 31)), max_size=5),
       worked=st.sets(st.dates(date(2025, 1, 1), date(2028, 3, 31)), max_size=5))
def test_counting_and_adding_agree(start: date, n: int, off: set[date],
                                   worked: set[date]) -> None:
    overrides = {day: False for day in off} | {day: True for day in worked}
    due = add_working_days(start, n, overrides)
    assert working_days_between(start, due, overrides) == n
    if n:
        assert is_working_day(due, overrides)
        assert working_days_between(start, due - timedelta(days=1), overrides) == n - 1


# The administrator's days, stored -----------------------------------------------------------


def test_overrides_are_loaded_for_a_span(session: Session) -> None:
    for day, working in ((date(2026, 3, 7), True), (date(2026, 3, 10), False),
                         (date(2026, 4, 1), False)):
        session.add(CalendarDay(day=day, working=working, note="uji", created_at=NOW))
    session.flush()
    assert workdays.overrides(session, date(2026, 3, 1), date(2026, 3, 31)) == {
        date(2026, 3, 7): True, date(2026, 3, 10): False}
    loaded = workdays.overrides(session, date(2026, 3, 8))
    assert loaded == {date(2026, 3, 10): False, date(2026, 4, 1): False}
    assert add_working_days(date(2026, 3, 6), 3, loaded) == date(2026, 3, 12)


# The back-office page -----------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    for where in ("app.web.admin.calendar", "app.cli.workdays"):
        monkeypatch.setattr(f"{where}.utcnow", lambda: NOW)


@pytest.fixture
def admin(app: Flask, session: Session, clock: None, monkeypatch: pytest.MonkeyPatch
          ) -> FlaskClient:
    monkeypatch.setattr("app.users.generate_password_hash", cached_password_hash)
    seeded = make_unit(session)
    make_user(session, ADMIN, "admin")
    make_user(session, HEAD, "unit_head", unit=seeded.unit)
    release(session)
    client = app.test_client()
    assert sign_in(client, ADMIN).status_code == 303
    return client


def stored(session: Session) -> list[tuple[date, bool, str]]:
    session.expire_all()
    rows = [(r.day, r.working, r.note)
            for r in session.scalars(select(CalendarDay).order_by(CalendarDay.day))]
    release(session)
    return rows


def audit_actions(session: Session) -> list[tuple[str, str | None, str | None, str | None]]:
    session.expire_all()
    rows = [(e.action, e.object_id, e.before, e.after) for e in session.scalars(
        select(AuditEntry).where(AuditEntry.action.startswith("calendar."))
        .order_by(AuditEntry.id))]
    release(session)
    return rows


def post_day(client: FlaskClient, **fields: str) -> tuple[int, str]:
    page = client.get("/admin/calendar?lang=en")
    assert page.status_code == 200
    data = {"csrf_token": csrf_token_of(page), "day": "", "kind": "off", "note": ""}
    data.update(fields)
    response = client.post("/admin/calendar?lang=en", data=data)
    return response.status_code, response.get_data(as_text=True)


def test_the_page_lists_the_years_national_days_with_names(admin: FlaskClient) -> None:
    page = admin.get("/admin/calendar?year=2026&lang=en")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Working days 2026" in text
    assert "Lunar New Year Joint Holiday" in text
    assert "Independence Day" in text
    assert text.count("Joint leave day</td>") == len(JOINT_LEAVE_2026)
    assert "No day of this year is set apart." in text
    assert 'href="/admin/calendar"' in admin.get("/admin/?lang=en").get_data(as_text=True)


def test_an_administrator_adds_a_day_off_and_removes_it(admin: FlaskClient,
                                                        session: Session) -> None:
    status, _ = post_day(admin, day="2026-03-10", kind="off", note="Hari jadi kabupaten")
    assert status == 303
    assert stored(session) == [(date(2026, 3, 10), False, "Hari jadi kabupaten")]
    text = admin.get("/admin/calendar?year=2026&lang=en").get_data(as_text=True)
    assert "10 March 2026 is now a day off." in text
    assert "Hari jadi kabupaten" in text

    confirm = admin.get("/admin/calendar/2026-03-10/remove?lang=en")
    assert confirm.status_code == 200
    assert stored(session) != []  # asking changes nothing
    assert admin.post("/admin/calendar/2026-03-10/remove", data={}).status_code == 400
    assert stored(session) != []
    done = admin.post("/admin/calendar/2026-03-10/remove",
                      data={"csrf_token": csrf_token_of(confirm)})
    assert done.status_code == 303
    assert stored(session) == []
    actions = audit_actions(session)
    assert [(a, o) for a, o, _, _ in actions] == [("calendar.add", "2026-03-10"),
                                                  ("calendar.remove", "2026-03-10")]
    assert json.loads(actions[0][3] or "") == {"day": "2026-03-10", "working": False,
                                               "note": "Hari jadi kabupaten"}
    assert json.loads(actions[1][2] or "")["note"] == "Hari jadi kabupaten"
    assert admin.get("/admin/calendar/2026-03-10/remove").status_code == 404


def test_an_extra_working_day_on_a_joint_leave_day(admin: FlaskClient,
                                                   session: Session) -> None:
    status, _ = post_day(admin, day="2026-02-16", kind="working", note="Layanan tetap buka")
    assert status == 303
    assert stored(session) == [(date(2026, 2, 16), True, "Layanan tetap buka")]
    text = admin.get("/admin/calendar?year=2026&lang=en").get_data(as_text=True)
    assert "worked" in text
    loaded = workdays.overrides(session, date(2026, 2, 1))
    release(session)
    assert add_working_days(date(2026, 2, 13), 3, loaded) == date(2026, 2, 19)


@pytest.mark.parametrize(("fields", "message"), [
    ({"day": "", "note": "x"}, "Enter the date."),
    ({"day": "2026-02-30", "note": "x"}, "Enter a date as YYYY-MM-DD"),
    ({"day": "10/03/2026", "note": "x"}, "Enter a date as YYYY-MM-DD"),
    ({"day": "2026-03-10", "note": ""}, "Say why"),
    ({"day": "2026-03-10", "note": "x" * 201}, "A note has at most 200 characters."),
    ({"day": "2026-03-10", "note": "libur\x00"}, "invisible or control character"),
    ({"day": "2026-03-10", "note": "x", "kind": "holiday"}, "Choose a day off or a working"),
    ({"day": "2026-03-07", "note": "x", "kind": "off"}, "This day is already a day off."),
    ({"day": "2026-03-10", "note": "x", "kind": "working"},
     "This day is already a working day."),
    ({"day": "1999-03-10", "note": "x"}, "Choose a day from 2000 to 2100."),
])
def test_bad_input_is_refused_and_nothing_stored(admin: FlaskClient, session: Session,
                                                 fields: dict[str, str], message: str) -> None:
    status, text = post_day(admin, **fields)
    assert status == 400
    assert message in text
    assert "\x00" not in text
    assert stored(session) == []
    assert audit_actions(session) == []


def test_a_duplicate_day_is_refused(admin: FlaskClient, session: Session) -> None:
    assert post_day(admin, day="2026-03-10", note="Hari jadi")[0] == 303
    status, text = post_day(admin, day="2026-03-10", note="Lagi")
    assert status == 400
    assert "This day is already set apart; remove it first to change it." in text
    assert stored(session) == [(date(2026, 3, 10), False, "Hari jadi")]


def test_without_a_csrf_token_nothing_is_stored(admin: FlaskClient, session: Session) -> None:
    response = admin.post("/admin/calendar", data={"day": "2026-03-10", "kind": "off",
                                                   "note": "x"})
    assert response.status_code == 400
    assert stored(session) == []


def test_unit_heads_are_refused(app: Flask, admin: FlaskClient, session: Session) -> None:
    assert post_day(admin, day="2026-03-10", note="Hari jadi")[0] == 303
    head = app.test_client()
    assert sign_in(head, HEAD).status_code == 303
    page = head.get("/admin/calendar")
    assert page.status_code == 403
    token = csrf_token(head)
    assert head.post("/admin/calendar", data={"csrf_token": token, "day": "2026-03-11",
                                              "kind": "off", "note": "x"}).status_code == 403
    assert head.post("/admin/calendar/2026-03-10/remove",
                     data={"csrf_token": token}).status_code == 403
    assert stored(session) == [(date(2026, 3, 10), False, "Hari jadi")]


# The CLI ------------------------------------------------------------------------------------


def test_cli_lists_adds_and_removes(runner: FlaskCliRunner, session: Session,
                                   clock: None) -> None:
    added = runner.invoke(args=["workdays", "add", "2026-03-10", "--off", "--note",
                                "Hari jadi kabupaten"])
    assert added.exit_code == 0, added.output
    assert "2026-03-10: set apart as a day off" in added.output
    assert stored(session) == [(date(2026, 3, 10), False, "Hari jadi kabupaten")]
    assert runner.invoke(args=["workdays", "add", "2026-02-16", "--working", "--note",
                               "Buka"]).exit_code == 0

    listed = runner.invoke(args=["workdays", "list", "--year", "2026"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert "2026-08-17 Mon  national     Independence Day" in lines
    assert ("2026-02-16 Mon  joint_leave  Lunar New Year Joint Holiday  "
            "[set apart: working: Buka]") in lines
    assert "2026-03-10 Tue  -            -  [set apart: off: Hari jadi kabupaten]" in lines
    assert lines[-1] == ("2026: 25 public holiday(s) and joint leave day(s), "
                         "2 day(s) set apart")
    # This year (the clock says 2026) when --year is left out.
    assert runner.invoke(args=["workdays", "list"]).output == listed.output

    removed = runner.invoke(args=["workdays", "remove", "2026-03-10"])
    assert removed.exit_code == 0, removed.output
    assert stored(session) == [(date(2026, 2, 16), True, "Buka")]
    assert [a for a, *_ in audit_actions(session)] == ["calendar.add", "calendar.add",
                                                       "calendar.remove"]
    again = runner.invoke(args=["workdays", "remove", "2026-03-10"])
    assert again.exit_code != 0
    assert "2026-03-10 is not set apart; nothing changed" in again.output


@pytest.mark.parametrize(("args", "message"), [
    (["add", "2026-03-10", "--note", "x"], "give one of --off or --working"),
    (["add", "2026-03-10", "--off", "--working", "--note", "x"], "give one of --off or --working"),
    (["add", "2026-13-10", "--off", "--note", "x"], "DATE: '2026-13-10' is not a date"),
    (["add", "2026-03-10", "--off"], "Missing option '--note'"),
    (["add", "2026-03-10", "--off", "--note", "x" * 201],
     "--note: A note has at most 200 characters; nothing changed"),
    (["add", "2026-03-07", "--off", "--note", "x"],
     "DATE: This day is already a day off; nothing changed"),
    (["remove", "kemarin"], "DATE: 'kemarin' is not a date"),
    (["list", "--year", "1999"], "Invalid value for '--year'"),
])
def test_cli_refuses_bad_input(runner: FlaskCliRunner, session: Session, args: list[str],
                               message: str) -> None:
    result = runner.invoke(args=["workdays", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert stored(session) == []
