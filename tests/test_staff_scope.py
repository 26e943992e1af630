"""Another unit's page, officer or comment is never reachable by changing a URL.

Every rule under /dashboard and /api/v1/indicators is enumerated from the application's URL
map when the test runs, so routes added later are covered without editing this file. Each
path argument is filled with another unit's (or another officer's) resource; an argument
this file cannot fill fails the run, so no route slips past unchecked.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from factories import (
    NIP,
    OTHER_NIP,
    SeededUnit,
    aggregate,
    cached_password_hash,
    csrf_token,
    make_officer,
    make_other_unit,
    make_unit,
    make_user,
    put_on_duty,
    record,
    sign_in,
)
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from app.models import Counter, Officer, Service, Unit

PREFIXES = ("/dashboard", "/api/v1/indicators")
WIB = ZoneInfo("Asia/Jakarta")
WEEK = date(2026, 3, 2)  # a Monday
NOW = datetime(2026, 3, 16, 10, 0, tzinfo=WIB)
BUDI_NIP = "197512312001121003"
SARI_NIP = "198203142008011004"
REFUSED = (403, 404)
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
MAX_CRAWL = 300

@pytest.fixture(autouse=True)
def _cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.users.generate_password_hash", cached_password_hash)


# The world: three units (one a sub-unit), four officers, a comment with a marker for each ---------


@dataclass(frozen=True)
class Target:
    """The resources a URL is pointed at: path arguments take their values from here."""

    unit: Unit
    counter: Counter
    service: Service
    officer: Officer
    comment_id: int


@dataclass
class World:
    targets: dict[str, Target]
    markers: dict[str, str]  # officer key -> the unique text of a comment made at their desk
    nips: dict[str, str]
    names: dict[str, str]
    emails: dict[str, str] = field(default_factory=dict)


def _desk(app: Flask, session: Session, seeded: SeededUnit, officer: Officer, hour: int,
          marker: str) -> int:
    """Put ``officer`` on duty at the unit's counter; three responses, the last commented."""
    put_on_duty(session, officer, seeded.counter, datetime.combine(WEEK, datetime.min.time(),
                                                                   WIB) + timedelta(hours=hour))
    start = datetime(WEEK.year, WEEK.month, WEEK.day, hour, tzinfo=WIB) - timedelta(minutes=30)
    for minute in (0, 10):
        record(app, session, seeded.counter, start + timedelta(minutes=minute),
               service=seeded.services[0].code)
    return record(app, session, seeded.counter, start + timedelta(minutes=20), scores=(1,) * 9,
                  service=seeded.services[0].code, comment=f"Petugas lambat {marker}").id


@pytest.fixture
def world(app: Flask, session: Session) -> World:
    dukcapil = make_unit(session)
    kecamatan = make_unit(session, "DUKCAPIL-KEC", "Disdukcapil — Layanan Kecamatan",
                          services=(("AKTA", "Akta Kelahiran"), ("PINDAH", "Surat Pindah")),
                          counter=("K1", "Loket Kecamatan"))
    kecamatan.unit.parent_id = dukcapil.unit.id
    session.commit()
    puskesmas = make_other_unit(session)
    officers = {
        "ahmad": (dukcapil, make_officer(session, dukcapil, NIP, "Ahmad Saputra"), 9),
        "budi": (dukcapil, make_officer(session, dukcapil, BUDI_NIP, "Budi Pratama"), 14),
        "sari": (kecamatan, make_officer(session, kecamatan, SARI_NIP, "Sari Wulandari"), 9),
        "citra": (puskesmas, make_officer(session, puskesmas, OTHER_NIP, "Citra Lestari"), 9),
    }
    markers = {key: f"PENANDA-{key.upper()}-{uuid.uuid4().hex[:10]}" for key in officers}
    comments = {key: _desk(app, session, seeded, officer, hour, markers[key])
                for key, (seeded, officer, hour) in officers.items()}
    aggregate(app, NOW)

    def target(unit_from: SeededUnit, key: str) -> Target:
        seeded, officer, _ = officers[key]
        return Target(unit_from.unit, seeded.counter, seeded.services[0], officer,
                      comments[key])

    world = World(
        targets={
            "dukcapil": target(dukcapil, "ahmad"),
            "dukcapil/budi": target(dukcapil, "budi"),
            "kecamatan": target(kecamatan, "sari"),
            "puskesmas": target(puskesmas, "citra"),
            # Unit A in the path, everything else of unit B: catches nested routes that check
            # the unit but fetch the officer, counter or comment by id alone.
            "dukcapil+puskesmas": target(dukcapil, "citra"),
        },
        markers=markers,
        nips={key: officer.nip for key, (_, officer, _) in officers.items()},
        names={key: officer.name for key, (_, officer, _) in officers.items()},
    )
    accounts: dict[str, tuple[str, Unit | None, Officer | None]] = {
        "admin": ("admin", None, None),
        "viewer": ("viewer", None, None),
        "head": ("unit_head", dukcapil.unit, None),
        "subhead": ("unit_head", kecamatan.unit, None),
        "otherhead": ("unit_head", puskesmas.unit, None),
        "ahmad": ("officer", dukcapil.unit, officers["ahmad"][1]),
        "citra": ("officer", puskesmas.unit, officers["citra"][1]),
    }
    for key, (role, unit, officer) in accounts.items():
        world.emails[key] = make_user(session, f"{key}@suara.example.id", role, unit=unit,
                                      officer=officer).email
    return world


# Filling a rule's arguments -----------------------------------------------------------------------

@dataclass(frozen=True)
class Filler:
    """What a path argument points at, and its value for a target by converter kind."""

    resource: str  # unit, officer, counter, service, comment; 'period' is not a resource
    as_int: Callable[[Target], int] | None = None
    as_str: Callable[[Target], str] | None = None

    def value(self, target: Target, is_int: bool) -> object:
        make = self.as_int if is_int else self.as_str
        assert make is not None  # _argument_problem refused this rule already
        return make(target)


def _week(_: Target) -> str:
    return WEEK.isoformat()


FILLERS: dict[str, Filler] = {
    **{name: Filler("unit", lambda t: t.unit.id, lambda t: t.unit.code)
       for name in ("code", "unit_code", "unit", "unit_id")},
    **{name: Filler("officer", lambda t: t.officer.id, lambda t: t.officer.nip)
       for name in ("officer_id", "officer", "nip")},
    **{name: Filler("counter", lambda t: t.counter.id, lambda t: t.counter.code)
       for name in ("counter_id", "counter", "counter_code")},
    **{name: Filler("service", lambda t: t.service.id, lambda t: t.service.code)
       for name in ("service_id", "service", "service_code")},
    **{name: Filler("comment", lambda t: t.comment_id)
       for name in ("comment_id", "response_id", "comment")},
    # Not resources: the period shown; the week of the seeded responses, as ISO dates.
    **{name: Filler("period", as_str=_week)
       for name in ("week", "week_start", "day", "date", "start", "period_start")},
    "month": Filler("period", as_str=lambda t: WEEK.replace(day=1).isoformat()),
    "period": Filler("period", as_str=lambda t: "week"),
}
STRING_CONVERTERS = {None, "default", "string", "path"}
_ARGUMENT = re.compile(r"<(?:(?P<converter>[A-Za-z_]\w*)(?:\([^)]*\))?:)?(?P<name>[A-Za-z_]\w*)>")

# Rules without path arguments whose scope is chosen in the query string: the probes to send
# (the kind of rows each asks for, and the query, filled with the target's unit code).
API_PROBES: dict[str, list[tuple[str, str]]] = {
    "api_indicators.indicators": [
        ("unit", "scope=unit&period=week&unit={code}"),
        ("detail", "scope=counter&period=week&unit={code}"),  # one officer's, where one staffs it
        ("detail", "scope=service&period=week&unit={code}"),
        ("officer", "scope=officer&period=week&unit={code}"),
    ],
}


@dataclass(frozen=True)
class Route:
    """One URL rule under the staff prefixes, with what its arguments point at."""

    rule: Rule
    arguments: tuple[tuple[str, bool], ...]  # (name, is an int converter)

    @property
    def is_api(self) -> bool:
        return self.rule.rule.startswith("/api/")

    @property
    def methods(self) -> list[str]:
        return sorted((self.rule.methods or set()) - {"HEAD", "OPTIONS"})

    @property
    def resources(self) -> set[str]:
        return {FILLERS[name].resource for name, _ in self.arguments} - {"period"}

    @property
    def kind(self) -> str:
        """'officer' pages, 'unit' pages (counters, services, comments too), or 'none'."""
        if "officer" in self.resources:
            return "officer"
        return "unit" if self.resources else "none"

    def url(self, target: Target) -> str:
        values = {name: FILLERS[name].value(target, is_int) for name, is_int in self.arguments}
        built: str = self.rule.build(values, append_unknown=False)[1]  # type: ignore[index]
        return built


def _argument_problem(rule: Rule, name: str, converter: str | None) -> str | None:
    where = f"{rule.rule} ({rule.endpoint})"
    if name not in FILLERS:
        return (f"{where}: no filler for argument <{name}>; add it to FILLERS in "
                "tests/test_staff_scope.py, pointing it at the other unit's resource")
    if converter not in STRING_CONVERTERS and converter != "int":
        return f"{where}: argument <{converter}:{name}> has a converter this test cannot fill"
    filler = FILLERS[name]
    if (filler.as_int if converter == "int" else filler.as_str) is None:
        return f"{where}: argument <{converter or 'string'}:{name}> cannot be filled with " \
               "that converter; extend its Filler"
    return None


def staff_routes(app: Flask) -> tuple[list[Route], list[str]]:
    """Every rule under the staff prefixes, and every argument this file cannot fill."""
    routes, problems = [], []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIXES) or rule.endpoint.split(".")[-1] == "static":
            continue
        found = [(m["name"], m["converter"]) for m in _ARGUMENT.finditer(rule.rule)]
        if {name for name, _ in found} != set(rule.arguments):
            problems.append(f"{rule.rule}: could not read its arguments {rule.arguments}")
            continue
        rule_problems = [p for name, conv in found if (p := _argument_problem(rule, name, conv))]
        if not found and rule.rule.startswith("/api/") and rule.endpoint not in API_PROBES:
            rule_problems.append(f"{rule.rule} ({rule.endpoint}): an API route without path "
                                 "arguments needs query probes in API_PROBES")
        problems.extend(rule_problems)
        if not rule_problems:
            routes.append(Route(rule, tuple((name, conv == "int") for name, conv in found)))
    return sorted(routes, key=lambda r: r.rule.rule), problems


def checked_routes(app: Flask) -> list[Route]:
    routes, problems = staff_routes(app)
    if problems:
        pytest.fail("staff routes this test cannot check:\n" + "\n".join(problems))
    return routes


def request(client: FlaskClient, method: str, url: str) -> TestResponse:
    if method == "GET":
        return client.get(url)
    # A valid CSRF token, so that a refusal comes from the scope check, not from CSRF.
    return client.open(url, method=method, data={"csrf_token": csrf_token(client)})


def signed_in(app: Flask, world: World, user: str) -> FlaskClient:
    client = app.test_client()
    response = sign_in(client, world.emails[user])
    assert response.status_code == 303, f"{user} could not sign in"
    return client


# The enumeration itself ---------------------------------------------------------------------------


def test_every_staff_route_can_be_filled(app: Flask) -> None:
    routes = checked_routes(app)
    endpoints = {route.rule.endpoint for route in routes}
    assert "api_indicators.indicators" in endpoints
    assert any(route.rule.rule.startswith("/dashboard") for route in routes)


def test_an_unknown_argument_fails_the_enumeration(app: Flask) -> None:
    app.add_url_rule("/dashboard/mystery/<int:mystery_id>", "mystery", lambda mystery_id: "")
    app.add_url_rule("/dashboard/weeks/<int:week>", "int_week", lambda week: "")
    app.add_url_rule("/dashboard/when/<float:at>", "float_at", lambda at: "")
    _, problems = staff_routes(app)
    assert sorted(problems) == [
        "/dashboard/mystery/<int:mystery_id> (mystery): no filler for argument <mystery_id>; "
        "add it to FILLERS in tests/test_staff_scope.py, pointing it at the other unit's "
        "resource",
        "/dashboard/weeks/<int:week> (int_week): argument <int:week> cannot be filled with "
        "that converter; extend its Filler",
        "/dashboard/when/<float:at> (float_at): no filler for argument <at>; add it to FILLERS "
        "in tests/test_staff_scope.py, pointing it at the other unit's resource",
    ]


# Who must be refused what -------------------------------------------------------------------------

ALL = frozenset({"unit", "officer", "counter", "service", "comment"})


@dataclass(frozen=True)
class Case:
    """A signed-in user, the target the URLs point at, and what must be refused."""

    user: str
    target: str
    kinds: frozenset[str]  # route kinds ('unit', 'officer') refused
    foreign: frozenset[str]  # resources of the target the user may not see
    api: frozenset[str]  # API probe kinds refused

    def applies_to(self, route: Route) -> bool:
        return route.kind in self.kinds and bool(route.resources & self.foreign)


CASES = [
    Case("head", "puskesmas", frozenset({"unit", "officer"}), ALL,
         frozenset({"unit", "detail", "officer"})),
    Case("head", "dukcapil+puskesmas", frozenset({"unit", "officer"}),
         ALL - {"unit"}, frozenset()),
    Case("subhead", "dukcapil", frozenset({"unit", "officer"}), ALL,
         frozenset({"unit", "detail", "officer"})),
    Case("ahmad", "dukcapil/budi", frozenset({"unit", "officer"}), ALL,
         frozenset({"unit", "detail"})),
    Case("ahmad", "puskesmas", frozenset({"unit", "officer"}), ALL,
         frozenset({"unit", "detail", "officer"})),
    # Viewers read every unit, but nothing finer: counter and service rows can be one officer's.
    Case("viewer", "dukcapil", frozenset({"officer"}), frozenset({"officer"}),
         frozenset({"detail", "officer"})),
    Case("viewer", "puskesmas", frozenset({"officer"}), frozenset({"officer"}),
         frozenset({"detail", "officer"})),
]


def _probes(route: Route, target: Target) -> Iterator[tuple[str, str]]:
    for kind, query in API_PROBES.get(route.rule.endpoint, []):
        yield kind, f"{route.url(target)}?{query.format(code=target.unit.code)}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.user}->{c.target}")
def test_another_units_resources_are_refused(app: Flask, world: World, case: Case) -> None:
    routes = checked_routes(app)
    client = signed_in(app, world, case.user)
    target = world.targets[case.target]
    leaks = []
    for route in routes:
        urls = []
        if case.applies_to(route):
            urls = [(method, route.url(target)) for method in route.methods]
        urls += [("GET", url) for kind, url in _probes(route, target) if kind in case.api]
        for method, url in urls:
            status = request(client, method, url).status_code
            if status not in REFUSED:
                leaks.append(f"{method} {url} -> {status}")
    assert not leaks, f"{case.user} reached {case.target}'s resources:\n" + "\n".join(leaks)


def test_anonymous_is_sent_to_sign_in_or_refused(app: Flask, world: World) -> None:
    client = app.test_client()
    wrong = []
    for route in checked_routes(app):
        for method in route.methods:
            url = route.url(world.targets["puskesmas"])
            urls = [url] + [u for _, u in _probes(route, world.targets["puskesmas"])]
            for each in urls:
                response = request(client, method, each)
                location = urlsplit(response.headers.get("Location", "")).path
                ok = response.status_code == 401 if route.is_api else (
                    response.status_code == 302 and location == "/masuk")
                if not ok:
                    wrong.append(f"{method} {each} -> {response.status_code} {location}")
    assert not wrong, "anonymous requests not refused:\n" + "\n".join(wrong)


def test_an_admin_reaches_every_url_the_refusals_are_about(app: Flask, world: World) -> None:
    """The positive control: the filled URLs exist, so a 404 above is a refusal, not a typo."""
    client = signed_in(app, world, "admin")
    broken = []
    for route in checked_routes(app):
        target = world.targets["puskesmas"]
        urls = [route.url(target)] if route.resources and "GET" in route.methods else []
        urls += [url for _, url in _probes(route, target)]
        for url in urls:
            status = client.get(url).status_code
            if status >= 400:
                broken.append(f"GET {url} -> {status}")
    assert not broken, "URLs that fail even for an admin (fix FILLERS?):\n" + "\n".join(broken)


# What a page shows --------------------------------------------------------------------------------

_LINK = re.compile(r'href="(/dashboard[^"#]*)"')


def _in_seeded_week(url: str) -> bool:
    """Links to other weeks are left out: prev/next links would walk through every week."""
    weeks = parse_qs(urlsplit(url).query).get("week", [WEEK.isoformat()])
    return weeks == [WEEK.isoformat()]


def crawl(client: FlaskClient, seeds: list[str]) -> dict[str, TestResponse]:
    """Fetch the seed pages and every /dashboard link of the seeded week they lead to."""
    seen: dict[str, TestResponse] = {}
    queue = list(dict.fromkeys(seeds))
    while queue and len(seen) < MAX_CRAWL:
        url = queue.pop(0)
        if url in seen:
            continue
        response = seen[url] = client.get(url)
        following = [response.headers.get("Location", "")]
        if response.mimetype == "text/html":
            following += [html.unescape(link)
                          for link in _LINK.findall(response.get_data(as_text=True))]
        queue += [link for link in following
                  if link.startswith(PREFIXES[0]) and _in_seeded_week(link)]
    return seen


def _seeds(app: Flask, world: World, targets: list[str]) -> list[str]:
    """Every GET page filled with the user's own resources, as is and for the seeded week."""
    seeds = []
    for route in checked_routes(app):
        if route.is_api or "GET" not in route.methods:
            continue
        urls = [route.url(world.targets[t]) for t in targets] if route.arguments \
            else [route.url(world.targets[targets[0]])]
        seeds += [u for url in urls for u in (url, f"{url}?week={WEEK.isoformat()}")]
    return seeds


@pytest.mark.parametrize(("user", "own", "hidden"), [
    ("head", ["dukcapil", "dukcapil/budi", "kecamatan"], ["citra"]),
    ("subhead", ["kecamatan"], ["ahmad", "budi", "citra"]),
    ("otherhead", ["puskesmas"], ["ahmad", "budi", "sari"]),
    ("ahmad", ["dukcapil"], ["budi", "sari", "citra"]),
])
def test_other_units_comments_and_officers_never_appear_on_reachable_pages(
    app: Flask, world: World, user: str, own: list[str], hidden: list[str]
) -> None:
    client = signed_in(app, world, user)
    pages = crawl(client, _seeds(app, world, own))
    assert any(r.status_code == 200 for r in pages.values()), "no page could be read at all"
    leaks = []
    for url, response in pages.items():
        text = response.get_data(as_text=True)
        for key in hidden:
            for what, needle in (("comment", world.markers[key]), ("NIP", world.nips[key]),
                                 ("name", world.names[key])):
                if needle in text:
                    leaks.append(f"{url} ({response.status_code}) shows {key}'s {what}")
    assert not leaks, f"{user} saw what is not theirs:\n" + "\n".join(leaks)


def test_the_api_never_names_another_units_officer(app: Flask, world: World) -> None:
    client = signed_in(app, world, "head")
    for scope in ("unit", "counter", "service", "officer"):
        body: dict[str, Any] = client.get("/api/v1/indicators", query_string={
            "scope": scope, "period": "week"}).get_json()
        assert world.nips["citra"] not in str(body)
