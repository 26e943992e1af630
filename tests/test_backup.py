"""`flask --app app backup` and `restore` on both engines, and the compose example's backup
service: a backup taken under submissions holds every acknowledged response and no salts."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from conftest import ENGINES, PG_URL, TEST_SECRET
from factories import make_unit, skm_survey
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import create_engine, make_url, select, text
from sqlalchemy.orm import Session

from app import backups, create_app, migrate
from app.answers import Answers
from app.config import PROJECT_ROOT, Settings
from app.feedback import CounterRef, Submission, prepare_response, store_response
from app.models import AuditEntry, DailySalt, Response

START = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
OLDER_REVISION = "0011"
NewDatabase = Callable[..., str]


def _pg_admin(statement: str) -> None:
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


def _pg_database_url(name: str) -> str:
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A PostgreSQL database migrated to head once, which new databases are copied from."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    name = f"suara_backup_template_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    migrate.upgrade(_pg_database_url(name))
    yield name
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=ENGINES)
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NewDatabase]:
    """Makes new databases on one engine, empty or ``migrated`` to head: SQLite files, or
    PostgreSQL databases of their own on the test server (a dump covers a whole database, so
    the schemas the other tests share would not do), dropped afterwards."""
    engine = request.param
    if engine == "postgresql" and not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    made: list[str] = []

    def make(migrated: bool = False) -> str:
        if engine == "sqlite":
            path = tmp_path / f"db{len(made)}.db"
            made.append(str(path))
            if migrated:
                shutil.copy(request.getfixturevalue("sqlite_template"), path)
            return f"sqlite:///{path}"
        name = f"suara_backup_{uuid.uuid4().hex[:16]}"
        template = f' TEMPLATE "{request.getfixturevalue("pg_template")}"' if migrated else ""
        _pg_admin(f'CREATE DATABASE "{name}"{template}')
        made.append(name)
        return _pg_database_url(name)

    yield make
    if engine == "postgresql":
        for name in made:
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def apps(tmp_path: Path) -> Iterator[Callable[[str], Flask]]:
    """Builds an application on a given database; disposes of its engine afterwards."""
    made: list[Flask] = []

    def make(url: str) -> Flask:
        settings = Settings(app_env="test", secret_key=TEST_SECRET, database_url=url,
                            instance_dir=tmp_path / f"instance{len(made)}",
                            public_base_url="https://suara.example.id")
        application = create_app(settings)
        application.config.update(TESTING=True)
        made.append(application)
        return application

    yield make
    for application in made:
        application.extensions["suara.db"].dispose()


def _runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def _session(app: Flask) -> Session:
    session: Session = app.extensions["suara.db"].session()
    return session


def _figures(output: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in output.strip().splitlines())


@dataclass
class Writer:
    """Submissions arriving in a thread of their own: each transaction stores a pair of
    responses and commits; a pair is acknowledged once its commit returned."""

    app: Flask
    counter: CounterRef
    acknowledged: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)
    failure: BaseException | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def run(self) -> None:
        survey = skm_survey(self.app)
        tz = self.app.extensions["suara.settings"].tz
        number = 0
        try:
            while not self.stop.is_set():
                pair = (uuid.uuid4(), uuid.uuid4())
                # An hour apart: the pairs span several local days, so several salts.
                at = START + timedelta(hours=number)
                session = _session(self.app)
                try:
                    for index, client_id in enumerate(pair):
                        scores = tuple(1 + (number + index + i) % 4 for i in range(9))
                        answers = Answers(scores, "15-30", None, None, {})
                        submission = Submission(client_id=client_id, channel="api",
                                                created_at=at, received_at=at,
                                                ip=f"10.0.{number % 250}.{index + 1}")
                        prepared = prepare_response(session, survey, self.counter, answers,
                                                    at, tz)
                        store_response(session, prepared, answers, submission, tz)
                    session.commit()
                finally:
                    session.close()
                with self.changed:
                    self.acknowledged.append(pair)
                    self.changed.notify_all()
                number += 1
        except BaseException as exc:  # handed to the test's thread
            with self.changed:
                self.failure = exc
                self.changed.notify_all()

    def wait_for(self, pairs: int) -> None:
        with self.changed:
            # A guard against a writer that stalled, not a measurement of time.
            done = self.changed.wait_for(
                lambda: self.failure is not None or len(self.acknowledged) >= pairs, timeout=120)
        if self.failure is not None:
            raise self.failure
        assert done, f"the writer stalled at {len(self.acknowledged)} pairs"

    def snapshot(self) -> list[tuple[uuid.UUID, uuid.UUID]]:
        with self.changed:
            return list(self.acknowledged)


def _responses(url: str) -> dict[uuid.UUID, tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(
                Response.client_id, Response.created_at, Response.ip_hash, Response.u1,
                Response.u5, Response.u9)).all()
    finally:
        engine.dispose()
    return {uuid.UUID(str(row[0])): tuple(row[1:]) for row in rows}


def _salts(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.scalars(select(DailySalt.salt)))
    finally:
        engine.dispose()


def _table_count(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                return int(connection.exec_driver_sql(
                    "SELECT count(*) FROM sqlite_master").scalar_one())
            return int(connection.execute(text(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).scalar_one())
    finally:
        engine.dispose()


def _audit_actions(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    finally:
        engine.dispose()


def _seeded(apps: Callable[[str], Flask], url: str) -> tuple[Flask, CounterRef]:
    app = apps(url)
    session = _session(app)
    seeded = make_unit(session)
    counter = CounterRef(seeded.counter.id, seeded.unit.id)
    session.close()
    return app, counter


def test_a_backup_under_submissions_restores_every_acknowledged_response_and_no_salt(
    new_database: NewDatabase, apps: Callable[[str], Flask], tmp_path: Path
) -> None:
    source_url = new_database(migrated=True)
    app, counter = _seeded(apps, source_url)
    writer = Writer(app, counter)
    thread = threading.Thread(target=writer.run, daemon=True)
    thread.start()
    try:
        writer.wait_for(60)  # several local days, so several salts
        before = writer.snapshot()
        out = tmp_path / "backup.file"
        made = _runner(app).invoke(args=["backup", "--out", str(out)])
        during = writer.snapshot()
        writer.wait_for(len(during) + 20)  # submissions went on after the backup, too
    finally:
        writer.stop.set()
        thread.join()
    if writer.failure is not None:
        raise writer.failure
    assert made.exit_code == 0, made.output
    figures = _figures(made.output)
    assert figures["file"] == str(out) and figures["size"] == f"{out.stat().st_size} bytes"
    assert figures["revision"] == migrate.head_revision()

    target_url = new_database()
    restored = _runner(apps(target_url)).invoke(args=["restore", str(out)])
    assert restored.exit_code == 0, restored.output

    source = _responses(source_url)
    copied = _responses(target_url)
    attempted = {client_id for pair in writer.snapshot() for client_id in pair}
    assert {client_id for pair in before for client_id in pair} <= set(copied)
    assert set(copied) <= attempted
    for first, second in writer.snapshot():  # one transaction, both or neither
        assert (first in copied) == (second in copied), "a half-written submission"
    assert all(copied[client_id] == source[client_id] for client_id in copied)
    assert int(figures["responses"]) == len(copied)
    assert f"{len(copied)} responses" in restored.output
    print(f"pairs acknowledged while the backup ran: {len(during) - len(before)}")

    salts = _salts(source_url)
    assert len(salts) >= 2
    assert _salts(target_url) == []
    if source_url.startswith("sqlite"):  # not even in free pages of the file
        content = out.read_bytes()
        assert not any(salt.encode() in content for salt in salts)
    assert _audit_actions(source_url)[-1] == "backup.create"
    assert _audit_actions(target_url)[-1] == "backup.restore"


def test_restore_refuses_a_database_that_is_not_empty(
    new_database: NewDatabase, apps: Callable[[str], Flask], tmp_path: Path
) -> None:
    source_url = new_database(migrated=True)
    app, _counter = _seeded(apps, source_url)
    out = tmp_path / "backup.file"
    assert _runner(app).invoke(args=["backup", "--out", str(out)]).exit_code == 0
    audit_before = _audit_actions(source_url)

    into_itself = _runner(app).invoke(args=["restore", str(out)])
    assert into_itself.exit_code == 1
    assert len(into_itself.output.strip().splitlines()) == 1
    assert "is not empty" in into_itself.output
    assert _audit_actions(source_url) == audit_before

    other_url = new_database()  # one table of anything is not empty either
    engine = create_engine(other_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (body TEXT)"))
    engine.dispose()
    refused = _runner(apps(other_url)).invoke(args=["restore", str(out)])
    assert refused.exit_code == 1 and "is not empty" in refused.output
    assert _table_count(other_url) == 1


def test_a_backup_of_an_older_revision_is_restored_and_upgraded_to_head(
    new_database: NewDatabase, apps: Callable[[str], Flask], tmp_path: Path
) -> None:
    source_url = new_database(migrated=True)
    migrate.downgrade(source_url, OLDER_REVISION)
    out = tmp_path / "old.file"
    made = _runner(apps(source_url)).invoke(args=["backup", "--out", str(out)])
    assert made.exit_code == 0, made.output
    assert _figures(made.output)["revision"] == OLDER_REVISION

    target_url = new_database()
    target = apps(target_url)
    restored = _runner(target).invoke(args=["restore", str(out)])
    assert restored.exit_code == 0, restored.output
    assert f"(revision {OLDER_REVISION}, 0 responses)" in restored.output
    head = migrate.head_revision()
    assert f"upgraded to: {head}" in restored.output
    assert migrate.current_revision(target.extensions["suara.db"].engine) == head
    migrate.check(target_url)  # the upgraded schema is exactly the models'


def test_restore_refuses_missing_corrupt_and_other_engine_files_and_writes_nothing(
    new_database: NewDatabase, apps: Callable[[str], Flask], tmp_path: Path
) -> None:
    source_url = new_database(migrated=True)
    app, _counter = _seeded(apps, source_url)
    good = tmp_path / "good.file"
    assert _runner(app).invoke(args=["backup", "--out", str(good)]).exit_code == 0
    sqlite_engine = source_url.startswith("sqlite")

    junk = tmp_path / "junk.file"
    junk.write_bytes(b"not a backup\x00" * 100)
    truncated = tmp_path / "truncated.file"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    other_engine = tmp_path / "other.file"
    if sqlite_engine:
        other_engine.write_bytes(b"PGDMP\x01\x0e\x00" + b"\x00" * 100)
    else:
        with sqlite3.connect(other_engine) as made:
            made.execute("CREATE TABLE alembic_version (version_num TEXT)")
        made.close()
    cases = {
        tmp_path / "missing.file": "no such file",
        tmp_path: "is a directory",
        junk: "not a Suara Warga backup",
        truncated: "corrupt" if sqlite_engine else "pg_dump archive",
        other_engine: ("is a PostgreSQL backup (pg_dump); this database is SQLite"
                       if sqlite_engine else "is an SQLite backup; this database is PostgreSQL"),
    }
    target_url = new_database()
    target = apps(target_url)
    for path, message in cases.items():
        refused = _runner(target).invoke(args=["restore", str(path)])
        assert refused.exit_code == 1, (path, refused.output)
        assert message in refused.output, refused.output
        assert len(refused.output.strip().splitlines()) == 1
        assert _table_count(target_url) == 0, path
    # Still empty, so the good backup goes in.
    assert _runner(target).invoke(args=["restore", str(good)]).exit_code == 0


def test_restore_refuses_a_revision_it_does_not_know(
    new_database: NewDatabase, apps: Callable[[str], Flask], tmp_path: Path
) -> None:
    source_url = new_database(migrated=True)
    engine = create_engine(source_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    out = tmp_path / "newer.file"
    assert _runner(apps(source_url)).invoke(args=["backup", "--out", str(out)]).exit_code == 0

    target_url = new_database()
    refused = _runner(apps(target_url)).invoke(args=["restore", str(out)])
    assert refused.exit_code == 1
    assert "revision 9999, unknown to this version" in refused.output
    assert _table_count(target_url) == 0


def test_a_backup_never_overwrites_a_file(
    new_database: NewDatabase, apps: Callable[[str], Flask], tmp_path: Path
) -> None:
    url = new_database(migrated=True)
    app = apps(url)
    out = tmp_path / "kept.file"
    out.write_bytes(b"yesterday's backup")
    refused = _runner(app).invoke(args=["backup", "--out", str(out)])
    assert refused.exit_code == 1 and "never overwrites" in refused.output
    assert out.read_bytes() == b"yesterday's backup"
    nowhere = _runner(app).invoke(args=["backup", "--out", str(tmp_path / "no" / "x.file")])
    assert nowhere.exit_code == 1 and "is not a directory" in nowhere.output
    assert not (tmp_path / "no").exists()
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


# PostgreSQL's client programs: the server's major version, found or named ----------------


def _fake_tool(directory: Path, name: str, major: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {major}.3 (Debian)'\n")
    path.chmod(0o755)
    return path


def test_pg_tool_takes_the_servers_major_version_first_from_debians_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    versioned = _fake_tool(tmp_path / "lib" / "16" / "bin", "pg_dump", 16)
    _fake_tool(tmp_path / "path", "pg_dump", 15)
    monkeypatch.setattr(backups, "PG_BIN_DIRS", (str(tmp_path / "lib" / "{major}" / "bin"),))
    monkeypatch.setenv("PATH", str(tmp_path / "path"))
    assert backups.pg_tool("pg_dump", 16) == str(versioned)
    assert backups.pg_tool("pg_dump", 15) == str(tmp_path / "path" / "pg_dump")


def test_pg_tool_refuses_another_major_version_and_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_tool(tmp_path / "path", "pg_restore", 15)
    monkeypatch.setattr(backups, "PG_BIN_DIRS", (str(tmp_path / "lib" / "{major}" / "bin"),))
    monkeypatch.setenv("PATH", str(tmp_path / "path"))
    with pytest.raises(backups.BackupError) as wrong:
        backups.pg_tool("pg_restore", 17)
    assert "pg_restore of PostgreSQL 17" in str(wrong.value)
    assert f"{tmp_path / 'path' / 'pg_restore'} is 15" in str(wrong.value)
    assert "install postgresql-client-17" in str(wrong.value)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(backups.BackupError, match=r"\(none found\)"):
        backups.pg_tool("pg_restore", 17)


def test_conninfo_keeps_the_password_out_and_the_options_in() -> None:
    info = backups.conninfo(
        "postgresql+psycopg://suara:s%40cret@db.example:5433/suara?options=-csearch_path%3Dx")
    assert "s@cret" not in info and "password" not in info
    assert "host=db.example" in info and "port=5433" in info and "dbname=suara" in info
    assert "options=-csearch_path=x" in info


# The compose example's backup service --------------------------------------------------------

SCRIPT = PROJECT_ROOT / "docker" / "pg-backup.sh"


def _compose_example() -> dict[str, dict[str, dict[str, object]]]:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Running in containers", 1)[1]
    found = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert found is not None, "no compose example under 'Running in containers'"
    loaded: dict[str, dict[str, dict[str, object]]] = yaml.safe_load(found.group(1))
    return loaded


def test_the_compose_examples_backup_service_runs_the_script_in_the_servers_image() -> None:
    services = _compose_example()["services"]
    backup = services["backup"]
    assert backup["image"] == services["db"]["image"]  # its pg_dump is the server's version
    mounts = [str(volume) for volume in backup["volumes"]]  # type: ignore[attr-defined]
    assert f"./docker/{SCRIPT.name}:/usr/local/bin/{SCRIPT.name}:ro" in mounts
    assert backup["entrypoint"] == ["sh", f"/usr/local/bin/{SCRIPT.name}"]
    environment = backup["environment"]
    assert isinstance(environment, dict)
    db_environment = services["db"]["environment"]
    assert isinstance(db_environment, dict)
    assert environment["PGUSER"] == db_environment["POSTGRES_USER"]
    assert environment["PGDATABASE"] == db_environment["POSTGRES_DB"]
    assert int(environment["BACKUP_KEEP_DAYS"]) >= 1


def _script_env(url: str, directory: Path, major: int) -> dict[str, str]:
    parsed = make_url(url)
    return {
        # As in the PostgreSQL image: that major version's programs first on the PATH.
        "PATH": f"/usr/lib/postgresql/{major}/bin:{os.environ.get('PATH', '')}",
        "PGHOST": parsed.host or "", "PGPORT": str(parsed.port or 5432),
        "PGUSER": parsed.username or "", "PGPASSWORD": str(parsed.password or ""),
        "PGDATABASE": parsed.database or "", "BACKUP_DIR": str(directory),
        "BACKUP_KEEP_DAYS": "14", "BACKUP_ONCE": "1",
    }


def test_the_backup_service_dumps_rotates_and_its_dump_restores(
    pg_template: str, apps: Callable[[str], Flask], tmp_path: Path
) -> None:
    names = [f"suara_backup_{uuid.uuid4().hex[:16]}" for _ in range(2)]
    urls = [_pg_database_url(name) for name in names]
    _pg_admin(f'CREATE DATABASE "{names[0]}" TEMPLATE "{pg_template}"')
    _pg_admin(f'CREATE DATABASE "{names[1]}"')
    try:
        app, counter = _seeded(apps, urls[0])
        writer = Writer(app, counter)
        thread = threading.Thread(target=writer.run, daemon=True)
        thread.start()
        writer.wait_for(3)
        writer.stop.set()
        thread.join()
        with app.extensions["suara.db"].engine.connect() as connection:
            major = backups.server_major(connection)
        directory = tmp_path / "backups"
        directory.mkdir()
        old = directory / "suara-warga-20261101T000000Z.dump"
        recent = directory / "suara-warga-20261201T000000Z.dump"
        other = directory / "notes.txt"
        for path, days in ((old, 15), (recent, 13), (other, 30)):
            path.write_bytes(b"x")
            stamp = time.time() - days * 86400
            os.utime(path, (stamp, stamp))

        failed = subprocess.run(  # noqa: S603 (our own script)
            ["/bin/sh", str(SCRIPT)], capture_output=True, text=True, check=False,
            env={**_script_env(urls[0], directory, major), "PGDATABASE": "no_such_database"})
        assert failed.returncode == 1 and "FAILED" in failed.stderr
        assert sorted(p.name for p in directory.iterdir()) == sorted(
            [old.name, recent.name, other.name])  # nothing deleted, nothing partial left

        done = subprocess.run(  # noqa: S603 (our own script)
            ["/bin/sh", str(SCRIPT)], capture_output=True, text=True, check=False,
            env=_script_env(urls[0], directory, major))
        assert done.returncode == 0, done.stderr
        left = sorted(p.name for p in directory.iterdir())
        assert old.name not in left and recent.name in left and other.name in left
        [dump] = [directory / n for n in left if n not in (recent.name, other.name)]
        assert re.fullmatch(r"suara-warga-\d{8}T\d{6}Z\.dump", dump.name)
        assert f"deleted {old}" in done.stdout

        restored = _runner(apps(urls[1])).invoke(args=["restore", str(dump)])
        assert restored.exit_code == 0, restored.output
        acknowledged = {client_id for pair in writer.snapshot() for client_id in pair}
        assert set(_responses(urls[1])) == acknowledged
        assert _salts(urls[0]) and _salts(urls[1]) == []
    finally:
        for name in names:
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
