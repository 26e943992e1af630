"""Security headers on every response: a Content-Security-Policy that runs no inline script,
no framing (the kiosk included), a referrer policy, nosniff, and HSTS behind HTTPS only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from factories import make_unit, make_user, sign_in
from flask import Flask
from sqlalchemy.orm import Session
from werkzeug.datastructures import Headers
from werkzeug.routing import AnyConverter, IntegerConverter, Rule

from app import create_app
from app.config import PROJECT_ROOT, Settings

TEMPLATE_DIRS = (PROJECT_ROOT / "app" / "templates", PROJECT_ROOT / "kiosk_templates")


def directives(response_csp: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in response_csp.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def check_headers(headers: Headers, what: str, *, https: bool = True) -> None:
    get = headers.get
    csp = directives(get("Content-Security-Policy", ""))
    assert csp.get("script-src") == ["'self'"], what
    assert csp.get("frame-ancestors") == ["'none'"], what
    assert csp.get("default-src") == ["'self'"], what
    assert csp.get("object-src") == ["'none'"], what
    assert get("X-Frame-Options") == "DENY", what
    # A page with a secret in its address (a one-time link) may say no-referrer instead.
    assert get("Referrer-Policy") in ("same-origin", "no-referrer"), what
    assert get("X-Content-Type-Options") == "nosniff", what
    assert (get("Strict-Transport-Security") == "max-age=31536000") is https, what


def _url(rule: Rule, token: str) -> str:
    url = rule.rule
    for name in rule.arguments:
        converter = rule._converters[name]  # noqa: SLF001 (werkzeug keeps them nowhere public)
        if isinstance(converter, IntegerConverter):
            value = "1"
        elif isinstance(converter, AnyConverter):
            value = sorted(converter.items)[0]
        else:
            value = token
        url = re.sub(rf"<(?:[^:>]+(?:\([^)]*\))?:)?{name}>", value, url)
    return url


def test_every_get_route_carries_the_headers_for_every_audience(
        app: Flask, session: Session) -> None:
    seeded = make_unit(session)
    make_user(session, "admin@example.id", "admin")
    admin = app.test_client()
    assert sign_in(admin, "admin@example.id").status_code == 303
    anonymous = app.test_client()
    walked = 0
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in (rule.methods or ()):
            continue
        for client in (admin, anonymous):
            response = client.get(_url(rule, seeded.token))
            check_headers(response.headers, f"GET {rule.rule}: {response.status_code}")
            walked += 1
    assert walked > 100
    # Error answers too: a 404, a 405, a refused character, the API's JSON.
    for response in (anonymous.get("/no-such-page"), anonymous.put("/masuk"),
                     anonymous.get("/s/x%00"), anonymous.get("/api/v1/indicators"),
                     admin.post("/api/v1/responses", json={})):
        check_headers(response.headers, f"{response.status_code}")


def test_hsts_only_where_the_public_address_is_https(settings: Settings) -> None:
    application = create_app(settings.replace(public_base_url="http://127.0.0.1:5000"))
    try:
        response = application.test_client().get("/kiosk/")
        check_headers(response.headers, "http", https=False)
    finally:
        application.extensions["suara.db"].dispose()


def _templates() -> list[Path]:
    return sorted(path for folder in TEMPLATE_DIRS for path in folder.rglob("*.html"))


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_no_template_has_a_script_the_policy_would_block(path: Path) -> None:
    """Scripts come from files: no inline <script> (a JSON data block is no script) and no
    event-handler attribute or javascript: URL, which script-src 'self' would not run."""
    source = path.read_text()
    for tag in re.findall(r"<script\b[^>]*>", source):
        assert "src=" in tag or 'type="application/json"' in tag, f"inline script: {tag}"
    assert not re.search(r"\son[a-z]+\s*=", source), "an event-handler attribute"
    assert "javascript:" not in source.lower()
