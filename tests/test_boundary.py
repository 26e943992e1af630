"""One rule for text at the boundary: a NUL (or a lone surrogate) anywhere a request carries
text is a 4xx with a message, never a 500, on both engines.

Every rule of ``app.url_map`` is walked when the test runs (routes added later are covered
without editing this file): with the hostile character in each text path argument, in the
query string, in each field of each form (one field at a time, the others as the page
filled them) and in each field of the JSON bodies of the API.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from factories import (
    SeededUnit,
    csrf_token_of,
    make_officer,
    make_unit,
    make_user,
    put_on_duty,
    sign_in,
)
from flask import Flask
from flask.testing import FlaskClient
from i18n_helpers import visible_text
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.routing import AnyConverter, IntegerConverter, Rule
from werkzeug.test import TestResponse

from app import kiosks
from app.api_tokens import create_api_token
from app.models import Officer, User

NUL = "\x00"
NOW = datetime.now(UTC)
# Query parameters the views read (and any other: the rule is the same for every name).
QUERY_NAMES = ("unit", "code", "q", "week", "from", "to", "scope", "period", "lang", "next",
               "page", "actor", "last", "counter", "officer", "day", "month", "kind", "status",
               "action", "first", "object", "service", "fmt", "x")


@dataclass
class World:
    seeded: SeededUnit
    officer: Officer
    credential: str


@pytest.fixture
def world(app: Flask, session: Session) -> World:
    seeded = make_unit(session)
    officer = make_officer(session, seeded)
    put_on_duty(session, officer, seeded.counter, NOW)
    make_user(session, "admin@example.id", "admin")
    make_user(session, "petugas@example.id", "officer", officer=officer, unit=seeded.unit)
    kiosk, code = kiosks.create_kiosk(session, seeded.unit, kiosks.KioskSettings(name="Tablet"),
                                      now=NOW - timedelta(minutes=1))
    session.commit()
    paired = app.test_client().post("/api/v1/kiosk/pair", json={"code": code})
    assert paired.status_code == 201, paired.get_json()
    return World(seeded, officer, paired.get_json()["credential"])


@pytest.fixture
def admin(app: Flask, world: World) -> FlaskClient:
    """A signed-in administrator."""
    client = app.test_client()
    assert sign_in(client, "admin@example.id").status_code == 303
    return client


def _rules(app: Flask) -> list[Rule]:
    return sorted(app.url_map.iter_rules(), key=lambda rule: (rule.rule, rule.endpoint))


def _path(rule: Rule, world: World, text: str | None) -> str:
    """The rule's URL with every argument filled: ids with 1, a choice with its first value,
    text with ``text``, already %-encoded (the counter's token when None, so that the page
    opens)."""
    values: dict[str, str] = {}
    for name in rule.arguments:
        converter = rule._converters[name]  # noqa: SLF001 (werkzeug keeps them nowhere public)
        if isinstance(converter, IntegerConverter):
            values[name] = "1"
        elif isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
        else:
            values[name] = text if text is not None else world.seeded.token
    url = rule.rule
    for name, value in values.items():
        url = re.sub(rf"<(?:[^:>]+(?:\([^)]*\))?:)?{name}>", value, url)
    return url


def _allowed(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def _headers(rule: Rule, world: World) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.credential}"} if "kiosk" in rule.rule \
        or rule.endpoint == "api.create_response" else {}


def _answered(response: TestResponse, what: str, failures: list[str]) -> None:
    if response.status_code >= 500:
        failures.append(f"{what}: {response.status_code}")


def test_every_rule_with_a_nul_in_its_path_is_refused(admin: FlaskClient, app: Flask,
                                                      world: World) -> None:
    failures: list[str] = []
    walked = 0
    for rule in _rules(app):
        if not any(not isinstance(rule._converters[name],  # noqa: SLF001
                                  IntegerConverter | AnyConverter) for name in rule.arguments):
            continue
        for method in _allowed(rule):
            # A NUL; a lone surrogate and a byte that is no UTF-8 at all (both decoded to
            # U+FFFD by werkzeug, to be answered alike).
            for text in ("A%00B", "%00", "%ED%A0%80", "%FF"):
                url = _path(rule, world, text)
                response = admin.open(url, method=method, headers=_headers(rule, world))
                walked += 1
                _answered(response, f"{method} {url}", failures)
                if "%00" in text and response.status_code != 400:
                    failures.append(f"{method} {url}: {response.status_code}, not 400")
    assert walked > 20
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("query", [
    "&".join(f"{name}=%00" for name in QUERY_NAMES),
    "&".join(f"{name}=a%00b" for name in QUERY_NAMES),
    "a%00=1", "lang=id&unit=A&unit=%00",
])
def test_every_rule_with_a_nul_in_its_query_is_a_400(admin: FlaskClient, app: Flask,
                                                     world: World, query: str) -> None:
    failures: list[str] = []
    for rule in _rules(app):
        for method in _allowed(rule):
            url = f"{_path(rule, world, None)}?{query}"
            response = admin.open(url, method=method, headers=_headers(rule, world))
            if response.status_code != 400:
                failures.append(f"{method} {url}: {response.status_code}")
    assert not failures, "\n".join(failures)


_FIELD = re.compile(r"<(input|select|textarea)\b([^>]*)>", re.S)
_ATTR = re.compile(r'([a-zA-Z_-]+)="([^"]*)"')


def form_fields(page: str) -> dict[str, str]:
    """The named fields of every form on ``page`` with the values the page gave them."""
    fields: dict[str, str] = {}
    for tag, attributes in _FIELD.findall(page):
        attrs = {k.lower(): html.unescape(v) for k, v in _ATTR.findall(attributes)}
        name = attrs.get("name")
        if not name or attrs.get("type") in ("submit", "file"):
            continue
        fields.setdefault(name, attrs.get("value", "") if tag == "input" else "")
    return fields


def test_every_form_field_with_a_nul_is_never_a_500(admin: FlaskClient, app: Flask,
                                                    world: World) -> None:
    failures: list[str] = []
    anonymous = app.test_client()
    # A CSRF token of each client's session, for the forms of POST-only rules: what a field
    # holds must reach the view that reads it.
    tokens = {True: csrf_token_of(admin.get("/akun/sandi")),
              False: csrf_token_of(anonymous.get("/masuk"))}
    posted = 0
    for rule in _rules(app):
        if "POST" not in _allowed(rule) or rule.rule.startswith("/api/"):
            continue
        url = _path(rule, world, None)
        for client in (admin, anonymous):
            page = client.get(url) if "GET" in _allowed(rule) else None
            fields = form_fields(page.get_data(as_text=True)) if page is not None else {}
            fields.setdefault("x", "")
            if "csrf_token" not in fields:
                fields["csrf_token"] = tokens[client is admin]
            for name in fields:
                value = fields[name] + NUL
                response = client.post(url, data={**fields, name: value})
                posted += 1
                _answered(response, f"POST {url} {name}={value!r}", failures)
    assert posted > 100
    assert not failures, "\n".join(failures)


def _json_bodies(world: World) -> dict[str, dict[str, Any]]:
    """A valid body for each JSON endpoint that takes one."""
    answer = {"id": str(uuid.uuid4()), "counter": world.seeded.counter.code,
              "service": "KK", "survey": "skm-2017/1",
              "answers": {f"U{i}": 3 for i in range(1, 10)}, "wait_band": "15-30",
              "comment": "baik", "submitted_at": NOW.isoformat()}
    return {
        "/api/v1/responses": answer,
        "/api/v1/kiosk/heartbeat": {"device_time": NOW.isoformat(), "app_version": "1",
                                    "queue_length": 0},
        "/api/v1/kiosk/calls": {"counter": world.seeded.counter.code},
        "/api/v1/kiosk/pair": {"code": "123456"},
    }


def _poisoned(value: Any, text: str) -> Iterator[Any]:
    """``value`` with ``text`` put into each string it holds, one place at a time."""
    if isinstance(value, str):
        yield value + text
        yield text
    elif isinstance(value, dict):
        for key, item in value.items():
            for changed in _poisoned(item, text):
                yield {**value, key: changed}
            yield {**{k: v for k, v in value.items() if k != key}, key + text: item}
    elif isinstance(value, list):
        for index, item in enumerate(value):
            for changed in _poisoned(item, text):
                yield [*value[:index], changed, *value[index + 1:]]
    else:
        yield text


def test_every_json_field_with_a_nul_or_surrogate_is_never_a_500(
        app: Flask, world: World) -> None:
    client = app.test_client()
    failures: list[str] = []
    sent = 0
    for path, body in _json_bodies(world).items():
        for text in (NUL, "\ud800", "\udfff"):
            for poisoned in _poisoned(body, text):
                for batch in (False, True):
                    if batch and path != "/api/v1/responses":
                        continue
                    sent_body = {"responses": [poisoned]} if batch else poisoned
                    response = client.post(path, json=sent_body,
                                           headers={"Authorization":
                                                    f"Bearer {world.credential}"})
                    sent += 1
                    _answered(response, f"POST {path} {sent_body!r}", failures)
    assert sent > 50
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("email", ["a%00b%40x.y", "%00", "a%ED%A0%80b%40x.y"])
def test_signing_in_with_a_nul_in_the_email_is_refused(app: Flask, world: World,
                                                       email: str) -> None:
    client = app.test_client()
    token = csrf_token_of(client.get("/masuk"))
    response = client.post("/masuk", data=f"csrf_token={token}&email={email}&password=x",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code in (400, 401)
    assert "U+0000" not in response.get_data(as_text=True)


# The examples of the report, each with its message -------------------------------------------


def test_a_unit_code_with_a_nul_on_the_dashboard_is_a_staff_page_naming_it(
        admin: FlaskClient) -> None:
    response = admin.get("/dashboard/units/DUKCAPIL%00?lang=en")
    assert response.status_code == 400
    text = visible_text(response.get_data(as_text=True))
    assert "The address contains a character that is not allowed (U+0000)" in text
    assert "Sign out" in text  # the staff page, its header and all


def test_a_nul_in_the_indicators_query_is_a_400_in_the_apis_shape(
        app: Flask, session: Session, world: World) -> None:
    admin = session.scalars(select(User).where(User.email == "admin@example.id")).one()
    token = create_api_token(session, admin, "test", now=NOW, days=3650)  # real clock
    session.commit()
    for scheme in ("Bearer", "bearer"):
        response = app.test_client().get(
            "/api/v1/indicators?scope=unit&period=week&unit=%00&lang=en",
            headers={"Authorization": f"{scheme} {token}"})
        assert response.status_code == 400
        assert response.get_json() == {"error": "The parameter unit in the address contains a "
                                                "character that is not allowed (U+0000)."}


def test_a_citizen_gets_the_page_in_their_language(app: Flask, world: World) -> None:
    client = app.test_client()
    english = client.get(f"/s/{world.seeded.token}?lang=en&service=%00")
    assert english.status_code == 400
    assert "The parameter service in the address contains a character that is not allowed" \
        in visible_text(english.get_data(as_text=True))
    default = app.test_client().get("/a/x%00y")
    assert default.status_code == 400
    assert '<html lang="id">' in default.get_data(as_text=True)
