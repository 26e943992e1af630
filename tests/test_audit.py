"""The audit log: append-only in the database, actors of the web, the CLI and the scheduler,
the administrators' page with its filters and its CSV export, and exports recorded."""

from __future__ import annotations

import csv
import getpass
import gzip
import inspect
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from factories import (
    NIP,
    cached_password_hash,
    make_officer,
    make_unit,
    make_user,
    record,
    sign_in,
)
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app import audit, jobs
from app.audit import SCHEDULER, AuditFilters, search_entries
from app.models import AuditEntry

WIB_TZ = ZoneInfo("Asia/Jakarta")
HOSTILE = '<script>alert("audit")</script>'


@pytest.fixture(autouse=True)
def _cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.users.generate_password_hash", cached_password_hash)


def entries(session: Session) -> list[AuditEntry]:
    session.expire_all()
    found = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    session.commit()  # the test's session writes: let go of SQLite's lock for the app's
    return found


def add(session: Session, action: str, *, at: datetime, actor: str = "cli:tester",
        object_type: str | None = "unit", object_id: object = 1,
        after: dict[str, object] | None = None) -> AuditEntry:
    entry = audit.record(session, action, object_type, object_id, after=after, at=at,
                         actor=audit.Actor(actor, request="flask --app app test"))
    session.commit()
    return entry


@pytest.fixture
def admin(app: Flask, session: Session) -> FlaskClient:
    make_user(session, "admin@suara.example.id", "admin")
    client = app.test_client()
    assert sign_in(client, "admin@suara.example.id").status_code == 303
    return client


# The database refuses to change history -----------------------------------------------------------


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET action = 'forged', actor = 'nobody' WHERE id = :id",
    "DELETE FROM audit_log WHERE id = :id",
    "DELETE FROM audit_log",
])
def test_the_database_refuses_to_update_or_delete_entries(session: Session,
                                                          statement: str) -> None:
    entry = add(session, "unit.create", at=datetime(2026, 12, 4, 3, tzinfo=UTC),
                after={"name": "Disdukcapil"})
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(statement), {"id": entry.id})
        session.flush()
    session.rollback()
    [kept] = entries(session)
    assert (kept.id, kept.action, kept.actor, kept.after) == (
        entry.id, "unit.create", "cli:tester", '{"name": "Disdukcapil"}')


def test_appending_works_and_keeps_only_the_changed_fields(session: Session) -> None:
    first = audit.record(session, "unit.update", "unit", 7, before={"name": "A", "kind": "dinas"},
                         after={"name": "B", "kind": "dinas"})
    session.commit()
    second = audit.record(session, "unit.deactivate", "unit", 7)
    session.commit()
    rows = entries(session)
    assert [r.id for r in rows] == [first.id, second.id]
    assert (json.loads(rows[0].before or ""), json.loads(rows[0].after or "")) == (
        {"name": "A"}, {"name": "B"})
    assert rows[1].before is None and rows[1].after is None


# Who acts: the CLI, the scheduler, a signed-in user --------------------------------------------


def test_a_session_without_an_actor_records_the_cli_and_the_os_user(session: Session) -> None:
    entry = audit.record(session, "unit.create", "unit", 1)
    session.commit()
    assert entry.actor == f"cli:{getpass.getuser()}"
    assert entry.user_id is None


def test_a_job_records_the_scheduler(app: Flask) -> None:
    with jobs.job_scope(app.extensions["suara.db"]) as session:
        audit.record(session, "duty.close", "duty", 3, after={"open": False})
    with app.extensions["suara.db"].session_scope(write=False) as session:
        [entry] = entries(session)
        assert (entry.actor, entry.user_id, entry.request) == ("scheduler", None, None)
    assert SCHEDULER.label == "scheduler"


def test_every_job_opens_its_sessions_as_the_scheduler() -> None:
    """A job added to app/jobs.py later must use ``job_scope`` (or name the scheduler), or
    its changes would be put down to ``cli:<user>`` of the scheduler's process."""
    source = inspect.getsource(jobs)
    assert source.count("db.session_scope(") == 1  # inside job_scope itself
    # Each session a job binds itself names the scheduler too (job_scope's own is the +1).
    assert source.count("set_actor(session, SCHEDULER)") == source.count("Session(bind=") + 1


def test_a_cli_export_records_the_cli_actor_and_its_criteria(
        app: Flask, session: Session, runner: FlaskCliRunner, tmp_path: Path) -> None:
    make_unit(session)
    out = tmp_path / "out.csv"
    result = runner.invoke(args=["export", "responses", "--unit", "DUKCAPIL", "--from",
                                 "2026-11-01", "--format", "jsonl", "--out", str(out)])
    assert result.exit_code == 0, result.output
    [entry] = entries(session)
    assert entry.action == "export.responses"
    assert entry.actor == f"cli:{getpass.getuser()}"
    assert (entry.object_type, entry.object_id) == ("export", "responses")
    assert json.loads(entry.after or "") == {"format": "jsonl", "unit": "DUKCAPIL",
                                             "from": "2026-11-01", "out": str(out)}


def test_a_refused_cli_export_records_nothing(session: Session, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["export", "responses", "--unit", "NOPE"])
    assert result.exit_code != 0 and "unknown unit code 'NOPE'" in result.output
    assert entries(session) == []


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_no_citizen_comment_ever_enters_the_audit_log(
        app: Flask, session: Session, runner: FlaskCliRunner, tmp_path: Path, fmt: str) -> None:
    seeded = make_unit(session)
    marker = f"KOMENTAR-{uuid.uuid4().hex}"
    record(app, session, seeded.counter, datetime(2026, 11, 20, 3, tzinfo=UTC),
           comment=f"Petugas lambat {marker}")
    out = tmp_path / f"out.{fmt}"
    result = runner.invoke(args=["export", "responses", "--format", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert marker in out.read_text(encoding="utf-8")  # the export did carry the comment
    rows = entries(session)
    assert [r.action for r in rows] == ["export.responses"]
    for row in rows:
        stored = " ".join(str(value) for value in (
            row.actor, row.request, row.action, row.object_type, row.object_id, row.before,
            row.after))
        assert marker not in stored and "Petugas lambat" not in stored


def test_a_web_export_records_the_user_and_the_request(
        admin: FlaskClient, session: Session) -> None:
    response = admin.get("/admin/audit/export.csv?action=unit.")
    assert response.status_code == 200
    response.get_data()
    [entry] = [e for e in entries(session) if e.action == "audit.export"]
    assert entry.actor == "user:admin@suara.example.id"
    assert entry.user_id is not None
    assert entry.request == "GET /admin/audit/export.csv from 127.0.0.1"
    assert json.loads(entry.after or "") == {"action": "unit."}


# The page --------------------------------------------------------------------------------------


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A time on December ``day`` 2026 in Asia/Jakarta (UTC+7), as UTC."""
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


@pytest.fixture
def log(session: Session) -> dict[str, AuditEntry]:
    return {
        "late": add(session, "unit.create", at=local(3, 23, 30), object_id=1,
                    actor="user:budi@suara.example.id", after={"name": "Disdukcapil"}),
        "early": add(session, "unit.update", at=local(4, 0, 30), object_id=2,
                     actor="user:sari@suara.example.id", after={"name": "Puskesmas"}),
        "counter": add(session, "counter.create", at=local(5, 9), object_type="counter",
                       object_id=2, actor="cli:root", after={"code": "LOKET-UJI-1"}),
        "signin": add(session, "sign_in.failed", at=local(6, 8), object_type=None,
                      object_id=None, actor="anonymous",
                      after={"email": "x@suara.example.id"}),
    }


def shown_ids(page: str, log: dict[str, AuditEntry]) -> list[str]:
    """The log's keys in the order the page shows their (unique) 'after' values."""
    found = []
    for key, entry in log.items():
        value = next(iter(json.loads(entry.after or "{}").values()))
        if value in page:
            found.append((page.index(value), key))
    return [key for _, key in sorted(found)]


def test_the_page_shows_entries_newest_first_and_readably(
        admin: FlaskClient, log: dict[str, AuditEntry]) -> None:
    response = admin.get("/admin/audit?lang=en")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert shown_ids(page, log) == ["signin", "counter", "early", "late"]
    assert "2026-12-03 23:30:00" in page  # local time
    assert "user:budi@suara.example.id" in page and "flask --app app test" in page
    assert "counter #2" in page
    assert "<dt>name</dt><dd><ins>Disdukcapil</ins></dd>" in page


@pytest.mark.parametrize(("query", "expected"), [
    ("actor=SARI", ["early"]),
    ("actor=suara.example", ["early", "late"]),
    ("actor=%25", []),  # a LIKE wildcard is a plain character
    ("action=unit.", ["early", "late"]),
    ("action=sign_in", ["signin"]),
    ("action=unit_", []),
    ("object_type=counter", ["counter"]),
    ("object_type=unit&object_id=2", ["early"]),
    ("object_id=2", ["counter", "early"]),
    ("first=2026-12-04", ["signin", "counter", "early"]),  # local days, not UTC days
    ("last=2026-12-03", ["late"]),
    ("first=2026-12-04&last=2026-12-05", ["counter", "early"]),
    ("first=2026-12-04&last=2026-12-04", ["early"]),
    ("actor=%20budi%20", ["late"]),  # surrounding spaces are stripped
])
def test_the_filters(admin: FlaskClient, log: dict[str, AuditEntry], query: str,
                     expected: list[str]) -> None:
    response = admin.get(f"/admin/audit?{query}")
    assert response.status_code == 200
    assert shown_ids(response.get_data(as_text=True), log) == expected


def test_paging_by_fifty(admin: FlaskClient, session: Session) -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    for number in range(120):
        audit.record(session, "unit.update", "unit", number, at=start + timedelta(minutes=number),
                     actor=audit.Actor("cli:tester"))
    session.commit()
    pages = {n: admin.get(f"/admin/audit?action=unit.&page={n}&lang=en").get_data(as_text=True)
             for n in (1, 2, 3, 4)}
    counts = {n: page.count("<td><code>unit.update</code></td>") for n, page in pages.items()}
    assert counts == {1: 50, 2: 50, 3: 20, 4: 0}
    assert "unit #119<" in pages[1] and "unit #70<" in pages[1] and "unit #69<" not in pages[1]
    assert "unit #0<" in pages[3]
    assert 'rel="next"' in pages[1] and 'rel="next"' not in pages[3]
    assert 'rel="prev"' not in pages[1] and 'rel="prev"' in pages[2]
    assert "page=2" in pages[1] and "action=unit." in pages[1]  # the filters are kept
    assert "No entry matches these filters." in pages[4]


def test_the_domain_search_pages_too(session: Session) -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    for number in range(5):
        audit.record(session, "x.y", "t", number, at=start + timedelta(minutes=number))
    found = search_entries(session, AuditFilters(), 2, tz=WIB_TZ, page_size=2)
    assert [e.object_id for e in found.entries] == ["2", "1"] and found.has_next
    last = search_entries(session, AuditFilters(), 3, tz=WIB_TZ, page_size=2)
    assert [e.object_id for e in last.entries] == ["0"] and not last.has_next


def test_hostile_content_is_escaped(admin: FlaskClient, session: Session) -> None:
    add(session, HOSTILE, at=local(4, 9), actor=f"user:{HOSTILE}", object_type="unit",
        object_id=HOSTILE, after={HOSTILE: HOSTILE, "n": [1, "<b>"]})
    page = admin.get(f"/admin/audit?actor={HOSTILE}").get_data(as_text=True)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#34;audit&#34;)&lt;/script&gt;" in page
    assert "[1, &#34;&lt;b&gt;&#34;]" in page


@pytest.mark.parametrize(("query", "field", "english", "indonesian"), [
    ("object_id=1%E2%80%AE2", "object_id", "invisible or control character U+202E", "U+202E"),
    ("action=a%E2%80%8Bb", "action", "invisible or control character U+200B", "U+200B"),
    ("actor=" + "x" * 10_000, "actor", "At most 300 characters.", "300"),
    ("object_type=" + "y" * 33, "object_type", "At most 32 characters.", "32"),
    ("first=2026-13-01", "first", "Enter a date as YYYY-MM-DD", "2026-12-04"),
    ("first=2026-12-05&last=2026-12-04", "last", "The last day comes before the first.",
     None),
    ("page=0", "page", "Enter a page between 1 and 100000.", "100000"),
    ("page=abc", "page", "Enter a whole page number.", None),
])
def test_bad_filters_are_refused_beside_the_field(
        admin: FlaskClient, log: dict[str, AuditEntry], session: Session, query: str,
        field: str, english: str, indonesian: str | None) -> None:
    for lang, message in (("en", english), ("id", indonesian)):
        response = admin.get(f"/admin/audit?{query}&lang={lang}")
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        beside = page.split(f'id="{field}-error">', 1)
        assert len(beside) == 2, f"no error beside {field}"
        error = beside[1].split("</p>", 1)[0]
        if message:
            assert message in error
        if lang == "id":
            assert english not in error or english.isdigit()
        assert shown_ids(page, log) == []  # no entries shown beside a refused filter
        assert "\x00" not in page
    before = len(entries(session))
    assert admin.get(f"/admin/audit/export.csv?{query}").status_code == 400
    assert len(entries(session)) == before  # a refused export records nothing


@pytest.mark.parametrize("query", ["actor=a%00b", "last=%00"])
def test_a_nul_in_a_filter_is_refused_before_the_page_reads_it(
        admin: FlaskClient, session: Session, query: str) -> None:
    """The rule for every query (tests/test_boundary.py): a 400 naming the parameter."""
    before = len(entries(session))
    for path in ("/admin/audit", "/admin/audit/export.csv"):
        response = admin.get(f"{path}?{query}&lang=en")
        assert response.status_code == 400
        assert "contains a character that is not allowed (U+0000)" in response.get_data(
            as_text=True)
    assert len(entries(session)) == before


# The CSV export ---------------------------------------------------------------------------------


def read_csv(data: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data)))


def test_the_csv_export_holds_the_filtered_entries_and_records_itself(
        admin: FlaskClient, session: Session, log: dict[str, AuditEntry]) -> None:
    response = admin.get("/admin/audit/export.csv?action=unit.&first=2026-12-03")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = read_csv(response.get_data(as_text=True))
    assert [row["id"] for row in rows] == [str(log["early"].id), str(log["late"].id)]
    assert rows[1]["at_local"] == "2026-12-03T23:30:00+07:00"
    assert rows[1]["actor"] == "user:budi@suara.example.id"
    assert json.loads(rows[0]["after"]) == {"name": "Puskesmas"}
    [export] = [e for e in entries(session) if e.action == "audit.export"]
    assert json.loads(export.after or "") == {"action": "unit.", "from": "2026-12-03"}

    everything = read_csv(admin.get("/admin/audit/export.csv").get_data(as_text=True))
    exports = [row for row in everything if row["action"] == "audit.export"]
    signed_in = [row for row in everything if row["action"] == "auth.sign_in"]
    assert len(signed_in) == 1  # the administrator's own sign-in, recorded too
    assert len(everything) == len(log) + 2 + 1  # both exports, this one included
    assert [json.loads(row["after"]) for row in exports] == [
        {}, {"action": "unit.", "from": "2026-12-03"}]  # newest first
    assert {row["request"] for row in exports} == {"GET /admin/audit/export.csv from 127.0.0.1"}
    assert [e.action for e in entries(session)].count("audit.export") == 2


def test_csv_cells_cannot_become_formulas(admin: FlaskClient, session: Session) -> None:
    add(session, "=HYPERLINK(\"http://evil\")", at=local(4, 9), actor="+cmd|' /C calc'!A0",
        object_type="-2+3", object_id="@SUM(A1)", after={"a": 1})
    rows = read_csv(admin.get("/admin/audit/export.csv?object_id=@SUM(A1)")
                    .get_data(as_text=True))
    assert len(rows) == 1
    assert rows[0]["action"] == "'=HYPERLINK(\"http://evil\")"
    assert rows[0]["actor"] == "'+cmd|' /C calc'!A0"
    assert rows[0]["object_type"] == "'-2+3"
    assert rows[0]["object_id"] == "'@SUM(A1)"


# Only administrators -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["unit_head", "officer", "viewer"])
def test_only_administrators_read_or_export_the_log(
        app: Flask, session: Session, log: dict[str, AuditEntry], role: str) -> None:
    seeded = make_unit(session)
    officer = None
    if role == "officer":
        officer = make_officer(session, seeded, NIP, "Ahmad Saputra")
    make_user(session, f"{role}@suara.example.id", role,
              unit=seeded.unit if role != "viewer" else None, officer=officer)
    client = app.test_client()
    assert sign_in(client, f"{role}@suara.example.id").status_code == 303
    for url in ("/admin/audit", "/admin/audit?actor=budi", "/admin/audit/export.csv"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "budi@suara.example.id" not in response.get_data(as_text=True)
    assert [e.action for e in entries(session)].count("audit.export") == 0


def test_anonymous_is_sent_to_sign_in(client: FlaskClient, session: Session) -> None:
    for url in ("/admin/audit", "/admin/audit/export.csv"):
        response = client.get(url)
        assert response.status_code == 302 and "/masuk" in response.headers["Location"]
    assert entries(session) == []


def test_the_navigation_names_the_log_for_administrators(admin: FlaskClient) -> None:
    page = admin.get("/admin/?lang=en").get_data(as_text=True)
    assert 'href="/admin/audit"' in page and "Audit log" in page


def test_the_csv_export_streams_compressed_too(admin: FlaskClient,
                                               log: dict[str, AuditEntry]) -> None:
    response = admin.get("/admin/audit/export.csv", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    body = response.get_data()
    if response.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    rows = read_csv(body.decode("utf-8"))
    assert {row["id"] for row in rows} >= {str(entry.id) for entry in log.values()}
