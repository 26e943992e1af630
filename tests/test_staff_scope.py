"""Another unit's page, officer or comment is never reachable by changing a URL.

Every staff rule (every rule of ``app.url_map`` that is not listed as public below: the
dashboard, the indicators API, the whole back office under /admin, and whatever is added
later) is enumerated when the test runs, so routes added later are covered without editing
this file. Each is walked for every role (administrator, head of unit A, head of unit B,
officer, viewer, anonymous): anonymous is sent to sign-in, officers and viewers get 403 on
/admin, a unit head asking for another unit's objects gets 404, nobody ever gets a 500. Each
path argument is filled with another unit's (or another officer's) resource; an argument
this file cannot fill fails the run, naming the route, so no route slips past unchecked.

Teaching the walker a new route:
- a new path argument name: add it to FILLERS, pointing at a resource of the Target (add the
  resource to Target and to the ``world`` fixture, one in each unit, when it is new);
- a page open without signing in (a citizen's page, a one-time password link): add its
  blueprint to PUBLIC_BLUEPRINTS or its endpoint to PUBLIC_ENDPOINTS;
- a page under /admin meant for officers themselves (their own duty, check-in): add its
  endpoint to OPEN_TO_OFFICERS.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
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
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from app.actions import ActionValues, create_action
from app.api_tokens import create_api_token
from app.kiosks import KioskSettings, call_officer, create_kiosk, pair
from app.models import (
    ApiToken,
    Assignment,
    CaseHandler,
    Counter,
    Dialogue,
    Officer,
    OfficerMove,
    RosterException,
    RosterShift,
    ServedDay,
    Service,
    Unit,
)
from app.models import Case as CaseRow

# Rules that need no sign-in: the citizens' pages, health, sign-in itself. Everything else
# in the URL map is a staff route and is walked.
# The kiosk's API is for tablets with their device credential, never a staff session
# (tests/test_api_kiosk.py).
PUBLIC_BLUEPRINTS = frozenset({"home", "public", "kiosk", "api_kiosk", "health"})
PUBLIC_ENDPOINTS = frozenset({"static", "auth.login", "auth.logout", "api.openapi",
                              # The one-time password link: its token is the credential.
                              "account.set_password",
                              "api.create_response"})
# Back-office pages for officers themselves (none yet): officers are refused the rest.
OPEN_TO_OFFICERS: frozenset[str] = frozenset()
CRAWLED = ("/dashboard", "/admin")  # links followed when looking for leaks
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
    user_id: int  # the account of the target's officer
    duty_id: int  # the officer's duty (Assignment) at the counter
    shift_id: int  # a weekly roster shift of the officer at the counter
    exception_id: int  # a day of leave in that shift
    move_id: int  # a move (mutasi) of the officer into the unit
    served_id: int  # people served at the counter on a day of the seeded week
    kiosk_id: int  # a tablet kiosk of the unit
    call_id: int  # an open call for an officer from that kiosk
    dialogue_id: int  # a performance dialogue with the officer (its text carries the marker)
    action_id: int  # an improvement action (RTL) of the unit
    case_id: int  # the complaint case the officer's commented low score opened
    handler_id: int  # a grant of the unit's complaint handler role (to an unwalked account)
    token_id: int  # a personal API token of the officer's account


@dataclass
class World:
    targets: dict[str, Target]
    markers: dict[str, str]  # officer key -> the unique text of a comment made at their desk
    nips: dict[str, str]
    names: dict[str, str]
    emails: dict[str, str] = field(default_factory=dict)


def _duty_records(session: Session, seeded: SeededUnit, officer: Officer,
                  hour: int) -> dict[str, int]:
    """One of each duty record of ``officer`` at the unit's counter: ids by Target field."""
    duty = session.scalars(select(Assignment).where(Assignment.officer_id == officer.id)).one()
    shift = RosterShift(counter_id=seeded.counter.id, officer_id=officer.id, weekday=0,
                        starts=time(hour - 1), ends=time(hour + 1), valid_from=WEEK)
    session.add(shift)
    session.flush()
    leave = RosterException(shift_id=shift.id, day=WEEK + timedelta(weeks=1), kind="leave")
    move = OfficerMove(officer_id=officer.id, from_unit_id=seeded.unit.id,
                       to_unit_id=seeded.unit.id, moved_on=WEEK - timedelta(weeks=4),
                       recorded_at=NOW)
    served = ServedDay(unit_id=seeded.unit.id, counter_id=seeded.counter.id,
                       day=WEEK + timedelta(days=hour % 7),  # two officers share a counter
                       served=40, source="typed", updated_at=NOW)
    session.add_all([leave, move, served])
    session.commit()
    return {"duty_id": duty.id, "shift_id": shift.id, "exception_id": leave.id,
            "move_id": move.id, "served_id": served.id}


def _dialogue(session: Session, officer: Officer, marker: str) -> int:
    """A performance dialogue with ``officer`` about the seeded week, its text marked."""
    dialogue = Dialogue(officer_id=officer.id, unit_id=officer.unit_id,
                        held_on=WEEK + timedelta(weeks=1), period_kind="week",
                        period_start=WEEK, went_well=f"Dialog {marker}",
                        to_improve="Antrean", agreed_actions="Loket pagi", created_at=NOW)
    session.add(dialogue)
    session.commit()
    return dialogue.id


def _kiosk_records(session: Session, seeded: SeededUnit) -> dict[str, int]:
    """A kiosk of the unit, paired, with a citizen's open call, and an improvement action at
    the unit's counter: ids by Target field."""
    kiosk, code = create_kiosk(session, seeded.unit, KioskSettings(
        name=f"Tablet {seeded.unit.code}"), now=NOW)
    assert pair(session, code, now=NOW) is not None
    call = call_officer(session, kiosk, seeded.counter.code, now=NOW)
    action = create_action(session, seeded.unit, ActionValues(
        element="U3", what=f"Tambah petugas {seeded.unit.code}", who="Kepala Seksi",
        starts_on=WEEK, due_on=WEEK + timedelta(weeks=4), counter_id=seeded.counter.id),
        user_id=None, now=NOW)
    session.commit()
    return {"kiosk_id": kiosk.id, "call_id": call.id, "action_id": action.id}


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
    records = {key: _duty_records(session, seeded, officer, hour)
               for key, (seeded, officer, hour) in officers.items()}
    dialogues = {key: _dialogue(session, officer, markers[key])
                 for key, (_, officer, _) in officers.items()}
    kiosk_records = {seeded.unit.code: _kiosk_records(session, seeded)
                     for seeded in (dukcapil, kecamatan, puskesmas)}
    aggregate(app, NOW)
    # Each commented low score opened a complaint case; each unit has a complaint handler.
    case_ids = {key: session.scalars(select(CaseRow.id).where(
        CaseRow.response_id == comments[key])).one() for key in officers}
    handler_ids = {}
    for seeded in (dukcapil, kecamatan, puskesmas):
        account = make_user(session, f"pengaduan.{seeded.unit.code.lower()}@suara.example.id",
                            "viewer")
        grant = CaseHandler(user_id=account.id, unit_id=seeded.unit.id, created_at=NOW)
        session.add(grant)
        session.commit()
        handler_ids[seeded.unit.code] = grant.id
    # Every officer has an account (the ``user_id`` of their Target).
    officer_accounts = {key: make_user(session, f"{key}@suara.example.id", "officer",
                                       unit=seeded.unit, officer=officer)
                        for key, (seeded, officer, _) in officers.items()}
    token_ids = {}
    for key, account in officer_accounts.items():
        create_api_token(session, account, f"skrip {key}", now=NOW, days=3650)
        token_ids[key] = session.scalars(select(ApiToken.id).where(
            ApiToken.user_id == account.id)).one()
    session.commit()

    def target(unit_from: SeededUnit, key: str) -> Target:
        seeded, officer, _ = officers[key]
        return Target(unit_from.unit, seeded.counter, seeded.services[0], officer,
                      comments[key], officer_accounts[key].id, **records[key],
                      **kiosk_records[seeded.unit.code], dialogue_id=dialogues[key],
                      case_id=case_ids[key], handler_id=handler_ids[seeded.unit.code],
                      token_id=token_ids[key])

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
    accounts: dict[str, tuple[str, Unit | None]] = {
        "admin": ("admin", None),
        "viewer": ("viewer", None),
        "head": ("unit_head", dukcapil.unit),
        "subhead": ("unit_head", kecamatan.unit),
        "otherhead": ("unit_head", puskesmas.unit),
    }
    for key, (role, unit) in accounts.items():
        world.emails[key] = make_user(session, f"{key}@suara.example.id", role,
                                      unit=unit).email
    world.emails.update({key: user.email for key, user in officer_accounts.items()})
    return world


# Filling a rule's arguments -----------------------------------------------------------------------

@dataclass(frozen=True)
class Filler:
    """What a path argument points at, and its value for a target by converter kind."""

    resource: str  # unit, officer, counter, …, as in ALL; 'period' is not a resource
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
    # The staff check-in code printed on the back of the counter's poster.
    **{name: Filler("counter", as_str=lambda t: t.counter.checkin_token)
       for name in ("checkin_token", "staff_token", "staff_code")},
    **{name: Filler("user", lambda t: t.user_id) for name in ("user_id", "account_id")},
    **{name: Filler("duty", lambda t: t.duty_id)
       for name in ("duty_id", "assignment_id")},
    **{name: Filler("shift", lambda t: t.shift_id)
       for name in ("shift_id", "roster_id", "roster_shift_id")},
    **{name: Filler("exception", lambda t: t.exception_id)
       for name in ("exception_id", "roster_exception_id")},
    **{name: Filler("move", lambda t: t.move_id) for name in ("move_id", "officer_move_id")},
    **{name: Filler("served", lambda t: t.served_id)
       for name in ("served_id", "served_day_id")},
    **{name: Filler("kiosk", lambda t: t.kiosk_id) for name in ("kiosk_id", "kiosk")},
    **{name: Filler("call", lambda t: t.call_id) for name in ("call_id", "kiosk_call_id")},
    **{name: Filler("dialogue", lambda t: t.dialogue_id)
       for name in ("dialogue_id", "performance_dialogue_id")},
    **{name: Filler("action", lambda t: t.action_id)
       for name in ("action_id", "improvement_action_id")},
    **{name: Filler("case", lambda t: t.case_id) for name in ("case_id", "complaint_id")},
    **{name: Filler("handler", lambda t: t.handler_id)
       for name in ("handler_id", "case_handler_id")},
    **{name: Filler("token", lambda t: t.token_id) for name in ("token_id", "api_token_id")},
    # Not resources: the period shown; the week of the seeded responses, as ISO dates.
    **{name: Filler("period", as_str=_week)
       for name in ("week", "week_start", "day", "date", "start", "period_start")},
    "month": Filler("period", as_str=lambda t: WEEK.replace(day=1).isoformat()),
    "period": Filler("period", as_str=lambda t: "week"),
    # A published period's name (app.periods.period_name): the seeded week's quarter.
    "period_name": Filler("period", as_str=lambda t: "2026-Q1"),
    "weekday": Filler("period", as_int=lambda t: WEEK.weekday()),
    # A download's format: not a resource.
    "fmt": Filler("period", as_str=lambda t: "png"),
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
    # The SKM report of the seeded week's month (the bare address leads to the form).
    "dashboard.report": [("unit", "period=2026-03&format=xlsx")],
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
    def is_admin(self) -> bool:
        return self.rule.rule.startswith("/admin")

    @property
    def methods(self) -> list[str]:
        return sorted((self.rule.methods or set()) - {"HEAD", "OPTIONS"})

    @property
    def resources(self) -> set[str]:
        return {FILLERS[name].resource for name, _ in self.arguments} - {"period"}

    @property
    def kind(self) -> str:
        """'officer' pages (a dialogue with an officer too), 'unit' pages (counters,
        services, comments too), or 'none'."""
        if self.resources & OFFICER_RESOURCES:
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


def is_public(rule: Rule) -> bool:
    """Whether a rule is open without signing in (see PUBLIC_BLUEPRINTS, PUBLIC_ENDPOINTS)."""
    blueprint, _, name = rule.endpoint.rpartition(".")
    return (rule.endpoint in PUBLIC_ENDPOINTS or blueprint in PUBLIC_BLUEPRINTS
            or name == "static")


def staff_routes(app: Flask) -> tuple[list[Route], list[str]]:
    """Every staff rule (all that are not public), and every argument this file cannot
    fill."""
    routes, problems = [], []
    for rule in app.url_map.iter_rules():
        if is_public(rule):
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
    assert {"api_indicators.indicators", "admin.index", "admin.audit"} <= endpoints
    assert any(route.rule.rule.startswith("/dashboard") for route in routes)
    assert not endpoints & {"auth.login", "public.survey_page", "health.healthz"}


def test_a_new_staff_route_anywhere_is_walked(app: Flask) -> None:
    """Not only /admin and /dashboard: any rule outside the public list is a staff route."""
    app.add_url_rule("/admin/things/<int:thing_id>", "admin_thing", lambda thing_id: "")
    app.add_url_rule("/tugas/<int:shift_id>/<widget>", "duty_widget",
                     lambda shift_id, widget: "")
    routes, problems = staff_routes(app)
    assert sorted(problems) == [
        "/admin/things/<int:thing_id> (admin_thing): no filler for argument <thing_id>; add "
        "it to FILLERS in tests/test_staff_scope.py, pointing it at the other unit's resource",
        "/tugas/<int:shift_id>/<widget> (duty_widget): no filler for argument <widget>; add "
        "it to FILLERS in tests/test_staff_scope.py, pointing it at the other unit's resource",
    ]


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

ALL = frozenset({"unit", "officer", "counter", "service", "comment", "user", "duty", "shift",
                "exception", "move", "served", "kiosk", "call", "dialogue", "action", "case",
                "handler", "token"})
# Resources that are one officer's personal data: their pages are 'officer' pages.
OFFICER_RESOURCES = frozenset({"officer", "dialogue"})


@dataclass(frozen=True)
class Case:
    """A signed-in user, the target the URLs point at, and what must be refused."""

    user: str
    target: str
    kinds: frozenset[str]  # route kinds ('unit', 'officer') refused
    foreign: frozenset[str]  # resources of the target the user may not see
    api: frozenset[str]  # API probe kinds refused
    # Endpoints the user may open for the target although they name its resources.
    allowed: frozenset[str] = frozenset()

    def applies_to(self, route: Route) -> bool:
        return (route.kind in self.kinds and bool(route.resources & self.foreign)
                and route.rule.endpoint not in self.allowed)


CASES = [
    Case("head", "puskesmas", frozenset({"unit", "officer"}), ALL,
         frozenset({"unit", "detail", "officer"})),
    Case("head", "dukcapil+puskesmas", frozenset({"unit", "officer"}),
         ALL - {"unit"}, frozenset()),
    Case("subhead", "dukcapil", frozenset({"unit", "officer"}), ALL,
         frozenset({"unit", "detail", "officer"})),
    # An officer checks in at any counter of their own unit (the staff code on the back of
    # the poster), Budi's counter included; everything else of Budi's stays Budi's.
    Case("ahmad", "dukcapil/budi", frozenset({"unit", "officer"}), ALL,
         frozenset({"unit", "detail"}), frozenset({"duty.by_staff_code"})),
    Case("ahmad", "puskesmas", frozenset({"unit", "officer"}), ALL,
         frozenset({"unit", "detail", "officer"})),
    # Viewers read every unit, but nothing finer: counter and service rows can be one officer's.
    Case("viewer", "dukcapil", frozenset({"officer"}), OFFICER_RESOURCES,
         frozenset({"detail", "officer"})),
    Case("viewer", "puskesmas", frozenset({"officer"}), OFFICER_RESOURCES,
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


# Routes whose filled URL names nothing that exists, for anyone: revoking an acting unit-head
# role needs one, and the accounts the walker fills in are officers' (who cannot hold one).
# Their refusals are still walked above; tests/test_accounts.py covers the real revocation.
# The officers' own duty pages answer 403 to an account without an officer record, an
# administrator's included (tests/test_checkin.py covers them for officers).
ADMIN_SEES_NOTHING = frozenset({"admin.account_acting_revoke", "duty.by_staff_code",
                                "duty.home", "duty.history"})


def test_an_admin_reaches_every_url_the_refusals_are_about(app: Flask, world: World) -> None:
    """The positive control: the filled URLs exist, so a 404 above is a refusal, not a typo."""
    client = signed_in(app, world, "admin")
    broken = []
    for route in checked_routes(app):
        if route.rule.endpoint in ADMIN_SEES_NOTHING:
            continue
        target = world.targets["puskesmas"]
        urls = [route.url(target)] if route.resources and "GET" in route.methods else []
        urls += [url for _, url in _probes(route, target)]
        for url in urls:
            status = client.get(url).status_code
            if status >= 400:
                broken.append(f"GET {url} -> {status}")
    assert not broken, "URLs that fail even for an admin (fix FILLERS?):\n" + "\n".join(broken)


# What a page shows --------------------------------------------------------------------------------

_LINK = re.compile(r'href="((?:/dashboard|/admin)[^"#]*)"')


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
                  if link.startswith(CRAWLED) and _in_seeded_week(link)]
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
        # Downloads (a poster's PNG) are bytes: a name or NIP in them would be text anyway.
        text = response.get_data().decode("utf-8", errors="replace")
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


# Every role on every staff route ------------------------------------------------------------------

ROLES = ("anonymous", "viewer", "ahmad", "otherhead", "head", "admin")  # admin last: it may act
OWN = {"head": "dukcapil", "subhead": "kecamatan", "otherhead": "puskesmas"}


def _client(app: Flask, world: World, role: str) -> FlaskClient:
    return app.test_client() if role == "anonymous" else signed_in(app, world, role)


def _status(client: FlaskClient, method: str, url: str) -> int | str:
    """The answer's status, or what was raised (tests propagate a view's exceptions)."""
    try:
        return request(client, method, url).status_code
    except Exception as exc:  # noqa: BLE001 (any exception is the finding, named in the report)
        return f"raised {exc!r}"


def server_errors(app: Flask, world: World) -> list[str]:
    """Every role, every staff route and method, pointed at unit A's and unit B's objects:
    the requests answered 5xx or raising."""
    failures = []
    for role in ROLES:
        client = _client(app, world, role)
        for route in checked_routes(app):
            for name in ("dukcapil", "puskesmas"):
                target = world.targets[name]
                urls = [route.url(target)] + [u for _, u in _probes(route, target)]
                for method in route.methods:
                    for url in urls:
                        status = _status(client, method, url)
                        if isinstance(status, str) or status >= 500:
                            failures.append(f"{role}: {method} {url} -> {status}")
    return failures


def test_nobody_ever_gets_a_server_error(app: Flask, world: World) -> None:
    failures = server_errors(app, world)
    assert not failures, "server errors:\n" + "\n".join(failures)


def officer_admissions(app: Flask, world: World, user: str) -> list[str]:
    """The /admin requests of ``user`` not answered 403."""
    client = signed_in(app, world, user)
    routes = [r for r in checked_routes(app)
              if r.is_admin and r.rule.endpoint not in OPEN_TO_OFFICERS]
    assert routes, "no /admin route was found"
    wrong = []
    for route in routes:
        for name in ("dukcapil", "puskesmas"):
            for method in route.methods:
                url = route.url(world.targets[name])
                status = _status(client, method, url)
                if status != 403:
                    wrong.append(f"{method} {url} -> {status}")
    return wrong


@pytest.mark.parametrize("user", ["ahmad", "viewer"])
def test_officers_and_viewers_are_refused_the_back_office(app: Flask, world: World,
                                                          user: str) -> None:
    wrong = officer_admissions(app, world, user)
    assert not wrong, f"{user} was not refused the back office:\n" + "\n".join(wrong)


# Back-office pages for administrators only: a unit head is refused them (403), whatever unit
# or day they name.
ADMIN_ONLY = frozenset({"admin.audit", "admin.audit_export", "admin.calendar",
                        "admin.calendar_remove"})


@pytest.mark.parametrize("user", ["head", "otherhead"])
def test_unit_heads_are_refused_the_administrators_pages(app: Flask, world: World,
                                                         user: str) -> None:
    client = signed_in(app, world, user)
    routes = [r for r in checked_routes(app) if r.rule.endpoint in ADMIN_ONLY]
    assert {r.rule.endpoint for r in routes} == ADMIN_ONLY
    wrong = [f"{method} {url} -> {status}" for route in routes for method in route.methods
             for name in ("dukcapil", "puskesmas")
             if (status := _status(client, method, url := route.url(world.targets[name])))
             != 403]
    assert not wrong, f"{user} reached an administrators' page:\n" + "\n".join(wrong)


@pytest.mark.parametrize("user", ["admin", "head"])
def test_the_navigation_offers_administrators_pages_to_administrators_only(
        app: Flask, world: World, user: str) -> None:
    page = signed_in(app, world, user).get("/admin/?lang=en").get_data(as_text=True)
    listed = {path for path in ("/admin/audit", "/admin/calendar")
              if f'href="{path}"' in page}
    assert 'href="/admin/units"' in page
    assert listed == ({"/admin/audit", "/admin/calendar"} if user == "admin" else set())


def not_404(app: Flask, world: World, user: str, target: str,
            foreign: frozenset[str]) -> list[str]:
    """The /admin requests of unit head ``user`` for ``target``'s foreign objects that were
    not answered 404 (or 403 where their own unit's are refused too)."""
    client = signed_in(app, world, user)
    wrong = []
    for route in checked_routes(app):
        if not route.is_admin or not route.resources & foreign:
            continue
        for method in route.methods:
            status = _status(client, method, route.url(world.targets[target]))
            if status == 404:
                continue
            own = _status(client, method, route.url(world.targets[OWN[user]]))
            if not (status == own == 403):
                wrong.append(f"{method} {route.url(world.targets[target])} -> {status} "
                             f"(own unit's: {own})")
    return wrong


@pytest.mark.parametrize(("user", "target", "foreign"), [
    ("otherhead", "dukcapil", ALL),
    ("head", "puskesmas", ALL),
    ("subhead", "dukcapil", ALL),  # the head of a sub-unit, asking for the parent's objects
    ("head", "dukcapil+puskesmas", ALL - {"unit"}),  # own unit's code, B's other objects
], ids=lambda value: value if isinstance(value, str) else "")
def test_a_unit_head_gets_404_for_another_units_objects_in_the_back_office(
        app: Flask, world: World, user: str, target: str, foreign: frozenset[str]) -> None:
    """404, never 403 or 200: the page does not confirm the object exists. A route closed to
    unit heads altogether (administrators only) may answer 403, as it does for their own."""
    wrong = not_404(app, world, user, target, foreign)
    assert not wrong, f"{user} was not answered 404:\n" + "\n".join(wrong)


def test_the_walker_finds_a_leaky_or_failing_back_office_page(app: Flask, world: World) -> None:
    """The checks above catch what they are for: a page that shows another unit's counter,
    one that lets an officer in, one that fails."""
    from app.web.admin import back_office

    def leaky(counter_id: int) -> str:
        return "yes"

    def failing(counter_id: int) -> str:
        raise RuntimeError("boom")

    app.add_url_rule("/admin/leaky/<int:counter_id>", "admin.leaky", back_office(leaky))
    app.add_url_rule("/admin/open/<int:counter_id>", "admin.open", leaky)
    app.add_url_rule("/admin/failing/<int:counter_id>", "admin.failing", back_office(failing))
    counter = world.targets["dukcapil"].counter.id
    assert f"GET /admin/leaky/{counter} -> 200 (own unit's: 200)" in not_404(
        app, world, "otherhead", "dukcapil", ALL)
    assert f"GET /admin/open/{counter} -> 200" in officer_admissions(app, world, "ahmad")
    assert any(f"/admin/failing/{counter} -> raised RuntimeError('boom')" in failure
               for failure in server_errors(app, world))
