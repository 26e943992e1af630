"""Outages answered honestly: while the database cannot be written, citizens are told their
answers were not saved, the API answers 503 with Retry-After, staff get a staff page that
does not touch the database, /healthz says which check fails; and the service recovers by
itself, without a restart, once the database is back."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import PG_URL
from factories import (
    SeededUnit,
    csrf_token_of,
    integration_token,
    make_officer,
    make_unit,
    make_user,
    open_and_submit,
    put_on_duty,
    response_count,
    sign_in,
    survey_form,
)
from flask import Flask
from flask.testing import FlaskClient
from i18n_helpers import visible_text
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app import create_app
from app.config import Settings

NOW = datetime.now(UTC)
ADMIN = "admin@example.id"


@dataclass
class World:
    seeded: SeededUnit
    auth: dict[str, str]  # an integration's Authorization header, for the API


@pytest.fixture
def world(session: Session) -> World:
    seeded = make_unit(session)
    officer = make_officer(session, seeded)
    put_on_duty(session, officer, seeded.counter, NOW)
    make_user(session, ADMIN, "admin")
    integration = integration_token(session)
    session.close()
    return World(seeded, {"Authorization": f"Bearer {integration}"})


def api_answer(world: World) -> dict[str, object]:
    return {"id": str(uuid.uuid4()), "token": world.seeded.token,
            "answers": {f"U{i}": 3 for i in range(1, 10)}, "wait_band": "15-30"}


def signed_in(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, ADMIN).status_code == 303
    return client


def assert_not_saved_page(response: TestResponse) -> None:
    """A citizen's 503: the kind page, in the language asked for (?lang=en), Retry-After."""
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    text = visible_text(response.get_data(as_text=True))
    assert "Your answers were not saved" in text
    assert "send them again in a few minutes" in text


def assert_api_unavailable(response: TestResponse) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.get_json() == {"error": "the database cannot be reached or written right "
                                            "now; nothing was stored; retry later"}


def assert_staff_unavailable(response: TestResponse) -> None:
    """The plain staff page: its words, and none of the signed-in header (which would have
    read the account from the database)."""
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    text = visible_text(response.get_data(as_text=True))
    assert "Nothing was saved: the database cannot be reached or written right now" in text
    assert ADMIN not in text and "Sign out" not in text


# SQLite: a file that is read-only when the workers start, writable later ------------------------


def _immutable(path: Path, on: bool) -> bool:
    """chattr ±i; False where the file system or the process cannot."""
    done = subprocess.run(["chattr", "+i" if on else "-i", str(path)],  # noqa: S603, S607
                          capture_output=True, check=False)
    return done.returncode == 0


@pytest.fixture
def read_only_file(settings: Settings) -> Iterator[tuple[Path, Iterator[None]]]:
    """The test's SQLite file, and a switch: the first step makes it read-only, the next
    writable again. chmod does it; root writes whatever the mode, so there the immutable
    attribute does (skipped where that is not available)."""
    if not settings.is_sqlite:
        pytest.skip("file permissions: SQLite only (PostgreSQL's outages are below)")
    path = Path(make_url(settings.database_url).database or "")
    as_root = os.geteuid() == 0

    def switch() -> Iterator[None]:
        path.chmod(0o444)
        if as_root and not _immutable(path, True):
            path.chmod(0o644)
            pytest.skip("running as root without chattr +i: no way to make a file read-only")
        yield
        if as_root:
            _immutable(path, False)
        path.chmod(0o644)
        yield

    steps = switch()
    try:
        yield path, steps
    finally:
        if as_root:
            _immutable(path, False)
        path.chmod(0o644)


def test_sqlite_read_only_at_start_then_writable_recovers_without_restart(
        app: Flask, world: World, read_only_file: tuple[Path, Iterator[None]],
        session: Session) -> None:
    _path, steps = read_only_file
    admin = signed_in(app)  # signing in writes (the audit log): before the file is locked
    csrf = csrf_token_of(admin.get("/admin/"))
    app.extensions["suara.db"].dispose()  # the workers start now, on a read-only file
    next(steps)
    citizen = app.test_client()
    token = world.seeded.token
    # Reading still works: the survey opens; the answer cannot be stored.
    assert_not_saved_page(open_and_submit(citizen, token, query="?lang=en"))
    assert_api_unavailable(citizen.post("/api/v1/responses?lang=en", json=api_answer(world),
                                        headers=world.auth))
    assert_staff_unavailable(admin.post("/keluar?lang=en", data={"csrf_token": csrf}))
    health = citizen.get("/healthz")
    assert health.status_code == 503
    assert health.get_json() == {"status": "error", "database": "ok",
                                 "database_write": "read-only"}
    next(steps)  # writable again: the same application, no restart
    assert citizen.get("/healthz").get_json() == {"status": "ok", "database": "ok",
                                                  "database_write": "ok"}
    assert open_and_submit(citizen, token).status_code == 303
    assert citizen.post("/api/v1/responses", json=api_answer(world),
                        headers=world.auth).status_code == 201
    assert admin.get("/admin/").status_code == 200
    assert response_count(session) == 2


# PostgreSQL: connections cut, the server unreachable, then back ---------------------------------


class Relay:
    """A TCP relay to the PostgreSQL server that can be cut: open connections are dropped
    and new ones closed at once (as a restarting server does), until it is restored."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.server.getsockname()[1]
        self.refusing = False
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return  # closed
            if self.refusing:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(source, sink)

    def _drop(self, *sockets: socket.socket) -> None:
        for sock in sockets:
            with self._lock:
                self._open.discard(sock)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def cut(self) -> None:
        """Drop every open connection and refuse new ones."""
        self.refusing = True
        with self._lock:
            dropped = list(self._open)
        self._drop(*dropped)

    def restore(self) -> None:
        self.refusing = False

    def close(self) -> None:
        self.server.close()
        self.cut()


@pytest.fixture
def relayed_app(settings: Settings, world: World) -> Iterator[tuple[Flask, Relay]]:
    """The application on the test's PostgreSQL schema, through a relay that can be cut."""
    if settings.is_sqlite:
        pytest.skip("connections cut: PostgreSQL only")
    url = make_url(settings.database_url)
    relay = Relay(url.host or "127.0.0.1", url.port or 5432)
    relayed = url.set(host="127.0.0.1", port=relay.port)
    application = create_app(settings.replace(
        database_url=relayed.render_as_string(hide_password=False)))
    application.config.update(TESTING=True)
    try:
        yield application, relay
    finally:
        application.extensions["suara.db"].dispose()
        relay.close()


def test_postgresql_unreachable_then_back_recovers_without_restart(
        relayed_app: tuple[Flask, Relay], world: World, session: Session) -> None:
    app, relay = relayed_app
    # As in production: an error inside an error page would be gunicorn's bare 500.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    admin = signed_in(app)
    citizen = app.test_client()
    token = world.seeded.token
    page = citizen.get(f"/s/{token}?lang=en")
    assert page.status_code == 200
    relay.cut()
    unavailable = citizen.get(f"/s/{token}?lang=en")
    assert unavailable.status_code == 503
    assert "This page cannot be opened right now" in visible_text(
        unavailable.get_data(as_text=True))
    # The form opened before the outage, sent during it.
    assert_not_saved_page(citizen.post(f"/s/{token}?lang=en", data=survey_form(page)))
    # A form whose CSRF token expired meanwhile: its refusal page reads the database too.
    assert_not_saved_page(citizen.post(f"/s/{token}?lang=en", data={"U1": "3"}))
    assert_api_unavailable(citizen.post("/api/v1/responses?lang=en", json=api_answer(world),
                                        headers=world.auth))
    # Staff pages read the signed-in account first: that read fails, and so would a page
    # whose header names the account or whose navigation asks the account's role.
    assert_staff_unavailable(admin.get("/admin/?lang=en"))
    assert_staff_unavailable(admin.get("/dashboard/?lang=en"))
    # No such page: the staff 404 page's header reads the account, and fails in turn.
    assert_staff_unavailable(admin.get("/dashboard/no-such-page?lang=en"))
    health = citizen.get("/healthz")
    assert health.status_code == 503
    assert health.get_json() == {"status": "error", "database": "unreachable",
                                 "database_write": "skipped"}
    relay.restore()  # the server is back: the same application, no restart
    assert citizen.get("/healthz").status_code == 200
    assert open_and_submit(citizen, token).status_code == 303
    assert citizen.post("/api/v1/responses", json=api_answer(world),
                        headers=world.auth).status_code == 201
    assert admin.get("/admin/").status_code == 200
    assert response_count(session) == 2


def test_postgresql_connections_terminated_are_replaced(
        settings: Settings, world: World, session: Session) -> None:
    if settings.is_sqlite:
        pytest.skip("pg_terminate_backend: PostgreSQL only")
    name = f"sw-outage-{uuid.uuid4().hex[:8]}"
    url = make_url(settings.database_url).update_query_dict({"application_name": name})
    app = create_app(settings.replace(database_url=url.render_as_string(hide_password=False)))
    app.config.update(TESTING=True)
    try:
        citizen = app.test_client()
        assert open_and_submit(citizen, world.seeded.token).status_code == 303
        killer = create_engine(PG_URL)
        with killer.begin() as connection:
            killed = connection.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :name"), {"name": name}).scalar()
        killer.dispose()
        assert killed  # the pool's connections, now dead in the pool
        assert open_and_submit(citizen, world.seeded.token).status_code == 303
        assert citizen.post("/api/v1/responses", json=api_answer(world),
                            headers=world.auth).status_code == 201
        assert citizen.get("/healthz").status_code == 200
    finally:
        app.extensions["suara.db"].dispose()
    assert response_count(session) == 3


def test_postgresql_in_read_only_mode_says_nothing_was_saved(
        settings: Settings, world: World, session: Session) -> None:
    """A server that takes no writes (a standby after a failover, a read-only setting)."""
    if settings.is_sqlite:
        pytest.skip("a read-only PostgreSQL transaction: PostgreSQL only")
    url = make_url(settings.database_url)
    options = f"{url.query.get('options', '')} -cdefault_transaction_read_only=on".strip()
    app = create_app(settings.replace(database_url=url.update_query_dict(
        {"options": options}).render_as_string(hide_password=False)))
    app.config.update(TESTING=True)
    try:
        citizen = app.test_client()
        assert_not_saved_page(open_and_submit(citizen, world.seeded.token, query="?lang=en"))
        assert_api_unavailable(citizen.post("/api/v1/responses?lang=en",
                                            json=api_answer(world), headers=world.auth))
        assert citizen.get("/healthz").get_json() == {
            "status": "error", "database": "ok", "database_write": "read-only"}
    finally:
        app.extensions["suara.db"].dispose()
    assert response_count(session) == 0


def test_a_citizens_outage_page_speaks_indonesian_by_default(
        relayed_app: tuple[Flask, Relay], world: World) -> None:
    app, relay = relayed_app
    relay.cut()
    response = app.test_client().get(f"/s/{world.seeded.token}")
    assert response.status_code == 503
    assert '<html lang="id">' in response.get_data(as_text=True)
