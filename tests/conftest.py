"""Fixtures: settings → app → session, client, runner; every database test on both engines."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from hypothesis import settings as hypothesis_settings
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from app import create_app, migrate
from app.config import Settings
from app.db import Base

# Wall-clock deadlines make property tests flaky on a busy 2-core machine; tests never time.
hypothesis_settings.register_profile("suara", deadline=None)
hypothesis_settings.load_profile("suara")

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
ENGINES = ["sqlite", "postgresql"]
TEST_SECRET = "test-secret-key-not-for-production"


def pg_schema_url(schema: str) -> str:
    """TEST_DATABASE_URL confined to one schema, so parallel runs never meet."""
    separator = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{separator}options=-csearch_path%3D{schema}"


def reset_pg_schema(schema: str, *, recreate: bool = True) -> None:
    """Drop (and by default recreate) a schema; btree_gist lives in public so no schema drop
    removes it."""
    engine = create_engine(PG_URL)
    with engine.begin() as connection:
        # Test processes start together (make test runs two): IF NOT EXISTS does not stop two
        # of them creating the extension at once on a fresh database; this lock does.
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('suara-warga tests'))"))
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public"))
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        if recreate:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated to head once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_migrated() -> Iterator[str]:
    """A PostgreSQL schema migrated to head once; tests truncate it between them."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    schema = f"t_{WORKER}_{os.getpid()}"  # concurrent runs on one server never meet
    reset_pg_schema(schema)
    url = pg_schema_url(schema)
    migrate.upgrade(url)
    yield url
    reset_pg_schema(schema, recreate=False)


@pytest.fixture(params=ENGINES)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An EMPTY database (never migrated) on each engine, for migration tests; ids match
    the engines' summary below."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    schema = f"m_{WORKER}_{os.getpid()}"
    reset_pg_schema(schema)
    yield pg_schema_url(schema)
    reset_pg_schema(schema, recreate=False)


def _truncate_pg(url: str) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A clean, migrated database on each engine in turn."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_migrated")
    _truncate_pg(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for one test: its own database and instance folder."""
    return Settings(
        app_env="test",
        secret_key=TEST_SECRET,
        database_url=database_url,
        instance_dir=tmp_path / "instance",
        public_base_url="https://suara.example.id",
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    """The application under test."""
    application = create_app(settings)
    application.config.update(TESTING=True)
    yield application
    application.extensions["suara.db"].dispose()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session on the test database (the test commits or flushes as it needs)."""
    db_session = app.extensions["suara.db"].session()
    yield db_session
    db_session.rollback()
    db_session.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """Runs `flask --app app …` commands in-process."""
    return app.test_cli_runner()


CHROMIUM = Path("/usr/bin/chromium")
# Playwright's own browser download cannot work here; Debian's Chromium, kept quiet and offline.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# One Chromium per test process, shared by every browser test module: two sync Playwright
# instances cannot run in one thread.
@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole run (a new context per page keeps tests apart)."""
    if not CHROMIUM.exists():
        reason = (f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium "
                  "(apt-get install chromium)")
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say plainly how many database tests ran on each engine."""
    counts: dict[str, dict[str, int]] = {engine: {} for engine in ENGINES}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            if getattr(report, "when", "call") not in ("call", "setup") or (
                outcome == "passed" and report.when != "call"
            ):
                continue
            for engine in ENGINES:
                if f"[{engine}" in nodeid or f"-{engine}]" in nodeid or f"-{engine}-" in nodeid:
                    counts[engine][outcome] = counts[engine].get(outcome, 0) + 1
    terminalreporter.section("database engines")
    for engine, by_outcome in counts.items():
        summary = ", ".join(f"{n} {o}" for o, n in sorted(by_outcome.items())) or "none"
        terminalreporter.write_line(f"{engine}: {summary}")
