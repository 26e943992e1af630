"""The unit head's summary in a real Chromium, on the demo Kotabumi (issue 17's browser test).

The five answers (how are we doing, how long people waited, what pulled the index down, who
needs a conversation, what is due) fit the first screen of a 1366×768 desktop and two screens
of a 360×740 phone, for Disdukcapil and a Puskesmas; the demo's story (Loket 3 slow on Monday
mornings, one officer with low courtesy scores) is named on the first screen of the weeks the
seeded data says it happened; a viewer sees no officer and may not ask for a custom range;
moving between periods keeps the breakdown.

The demo is seeded once for the module, through the function `flask --app app demo` calls,
with a fixed day: the weeks, the slow mornings and the officer are read back from the
responses, never written into the test.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import threading
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_SECRET
from flask import Flask
from i18n_helpers import visible_text
from playwright.sync_api import Browser, BrowserContext, Locator, Page, ViewportSize, expect
from sqlalchemy import func, select
from test_browser import artifact
from test_browser_admin import sign_in
from werkzeug.serving import make_server

from app import create_app
from app.config import Settings
from app.demo import DEMO_PASSWORDS, DUKCAPIL, SLOW_COUNTER, run_demo
from app.feedback import DEFAULT_SURVEY_ID
from app.head_summary import WITHIN_MINUTES
from app.models import Counter, Officer, Response, Service, Unit
from app.periods import period_name
from app.summary_period import PeriodError, SummaryPeriod, period_from_args
from app.surveys import latest

pytestmark = pytest.mark.browser

# A Monday before the project existed: the three weeks before it are whole and in every
# clock's past, so the pages show them as finished periods.
TODAY = date(2026, 11, 16)
WEEKS = 3
DESKTOP: ViewportSize = {"width": 1366, "height": 768}
PHONE: ViewportSize = {"width": 360, "height": 740}
# How far down each answer must end: the desktop's first screen, the phone's first two.
SCREENS = {"desktop": (DESKTOP, DESKTOP["height"]), "phone": (PHONE, 2 * PHONE["height"])}
PUSKESMAS = "PKM-KTBU"
HEADS = {DUKCAPIL: "kepala.dukcapil@lampungutara.demo",
         PUSKESMAS: "kepala.pkm.ktbu@lampungutara.demo"}
VIEWER = "pemantau@lampungutara.demo"
ANSWERS = ("kinerja", "menunggu", "penyebab", "dialog-ajakan", "jatuh-tempo")
VIEWER_ANSWERS = ANSWERS[:3]
MONDAY, MORNING_ENDS = 0, 12  # the demo's slow hours: Monday before 12.00
SLOW_LATE_MIN = 2  # a slow morning is one with at least this many citizens past the standard


@dataclasses.dataclass(frozen=True)
class Story:
    """What the seeded responses say happened, week by week (weeks by their Monday)."""

    weeks: tuple[date, ...]
    counter_name: str
    # The weeks whose Monday morning at Loket 3 had SLOW_LATE_MIN citizens or more past the
    # standard, with the hour of each of them.
    slow: dict[date, list[int]]
    rude: dict[date, tuple[str, int, float]]  # the lowest U7 mean: (name, n, mean)
    officers: tuple[str, ...]  # every Disdukcapil officer's name


@dataclasses.dataclass
class Demo:
    """The demo served over HTTP on a free port, and its story."""

    app: Flask
    origin: str
    story: Story


@pytest.fixture(scope="module")
def demo(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """Seed the demo Kotabumi with WEEKS weeks of responses before TODAY, once, and serve it."""
    folder = tmp_path_factory.mktemp("summary")
    shutil.copy(sqlite_template, folder / "demo.db")
    holder: dict[str, Flask] = {}

    def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, dispatch, threaded=True)
    origin = f"http://127.0.0.1:{server.server_port}"
    application = create_app(Settings(
        app_env="test", secret_key=TEST_SECRET, database_url=f"sqlite:///{folder / 'demo.db'}",
        instance_dir=folder / "instance", public_base_url=origin))
    application.config.update(TESTING=True)
    config = application.extensions["suara.settings"]
    surveys = application.extensions["suara.surveys"]
    with application.extensions["suara.db"].session_scope() as session:
        run_demo(session, surveys.values(), latest(surveys, DEFAULT_SURVEY_ID),
                 app_env=config.app_env, today=TODAY, tz=config.tz, public_base_url=origin,
                 weeks=WEEKS, now=datetime.combine(TODAY, time(0), config.tz),
                 min_n=config.officer_min_n)
    holder["app"] = application
    thread = threading.Thread(target=server.serve_forever, name="live-summary", daemon=True)
    thread.start()
    yield Demo(application, origin, _story(application))
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    application.extensions["suara.db"].dispose()


def _story(app: Flask) -> Story:
    """Read the demo's story back from its responses (unflagged ones, as the index counts)."""
    min_n = app.extensions["suara.settings"].officer_min_n
    floors = {band.code: band.min_minutes
              for band in latest(app.extensions["suara.surveys"], DEFAULT_SURVEY_ID).wait_bands}
    unit_code, counter_code = SLOW_COUNTER
    with app.extensions["suara.db"].session_scope(write=False) as session:
        weeks = tuple(sorted(session.scalars(select(Response.local_week).distinct())))
        counter_name = session.scalars(select(Counter.name).join(Unit).where(
            Unit.code == unit_code, Counter.code == counter_code)).one()
        # Each Monday-morning response at Loket 3 against its service's standard time: past
        # it when its measured wait is longer, or, unmeasured, its reported band starts at
        # or above it.
        mornings = session.execute(
            select(Response.local_week, Response.local_day, Response.local_hour,
                   Response.measured_wait_min, Response.wait_band, Service.standard_minutes)
            .join(Counter, Counter.id == Response.counter_id).join(Unit, Unit.id == Counter.unit_id)
            .outerjoin(Service, Service.id == Response.service_id)
            .where(Unit.code == unit_code, Counter.code == counter_code,
                   Response.local_hour < MORNING_ENDS, Response.unflagged())).all()
        late: dict[date, list[int]] = defaultdict(list)
        for week, day, hour, measured, band, standard in mornings:
            limit = standard or WITHIN_MINUTES
            if day.weekday() == MONDAY and (
                    measured > limit if measured is not None
                    else band is not None and floors[band] >= limit):
                late[week].append(hour)
        u7 = session.execute(
            select(Response.local_week, Officer.name, func.count(), func.avg(Response.u7))
            .join(Officer, Officer.id == Response.officer_id)
            .join(Unit, Unit.id == Response.unit_id)
            .where(Unit.code == DUKCAPIL, Response.unflagged())
            .group_by(Response.local_week, Officer.id, Officer.name)
            .having(func.count() >= min_n)).all()
        rude: dict[date, tuple[str, int, float]] = {}
        for week, name, n, mean in u7:
            if week not in rude or float(mean) < rude[week][2]:
                rude[week] = (name, int(n), float(mean))
        officers = tuple(session.scalars(
            select(Officer.name).join(Unit).where(Unit.code == DUKCAPIL)))
    return Story(weeks, counter_name,
                 {w: sorted(late[w]) for w in weeks if len(late[w]) >= SLOW_LATE_MIN},
                 rude, officers)


@pytest.fixture(scope="module")
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    """The browser contexts a test opens, closed at the end of the module."""
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def _signed_in(browser: Browser, contexts: list[BrowserContext], origin: str, email: str,
               screen: str) -> Page:
    viewport, _limit = SCREENS[screen]
    context = browser.new_context(viewport=viewport, is_mobile=screen == "phone",
                                  has_touch=screen == "phone")
    contexts.append(context)
    page = context.new_page()
    role = "viewer" if email == VIEWER else "unit_head"
    sign_in(page, origin, email, DEMO_PASSWORDS[role])
    return page


def _summary(page: Page, origin: str, unit: str, week: date, **query: str) -> None:
    """Open the unit's summary of one week, at the top of the page."""
    args = "".join(f"&{key}={value}" for key, value in query.items())
    response = page.goto(f"{origin}/dashboard/units/{unit}?period={period_name('week', week)}"
                         + args)
    assert response is not None and response.status == 200, page.url
    assert page.evaluate("window.scrollY") == 0


def _bottom(locator: Locator) -> float:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not laid out"
    return box["y"] + box["height"]


def _expect_within(page: Page, screen: str, locator: Locator, what: str) -> None:
    """``locator`` is visible and ends within the screen's first screenful(s) at scroll 0."""
    _viewport, limit = SCREENS[screen]
    expect(locator).to_be_visible()
    bottom = _bottom(locator)
    assert bottom <= limit, (f"{page.url} at {screen}: {what} ends at {bottom:.0f} px, "
                             f"below the first {limit} px")


# 1. The five answers fit the first screen ----------------------------------------------------


@pytest.mark.parametrize("screen", ["desktop", "phone"])
@pytest.mark.parametrize("unit", [DUKCAPIL, PUSKESMAS])
def test_the_five_answers_fit_the_first_screen(
    demo: Demo, browser: Browser, contexts: list[BrowserContext], unit: str, screen: str
) -> None:
    page = _signed_in(browser, contexts, demo.origin, HEADS[unit], screen)
    assert demo.story.weeks, "the demo seeded no responses"
    for week in demo.story.weeks:
        _summary(page, demo.origin, unit, week)
        answers = page.locator("div.answers > section")
        expect(answers).to_have_count(len(ANSWERS))
        assert [answers.nth(i).get_attribute("id") for i in range(len(ANSWERS))] == list(ANSWERS)
        for section in ANSWERS:
            _expect_within(page, screen, page.locator(f"#{section}"),
                           f"#{section} of {period_name('week', week)}")
    page.screenshot(path=artifact(f"summary-{unit}-{screen}.png"))  # the last week, to look at


# 2. The demo's story is named on the first screen of the weeks it happened --------------------


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_the_slow_mornings_and_the_discourteous_officer_are_named_first(
    demo: Demo, browser: Browser, contexts: list[BrowserContext], screen: str
) -> None:
    story = demo.story
    # The data tells the story: slow Monday mornings at Loket 3, and in every week one
    # officer, from enough responses, whose courtesy is far below everyone's.
    assert story.slow, "no week with a slow Monday morning at Loket 3 in the seeded data"
    assert set(story.rude) == set(story.weeks)
    assert all(mean < 2.2 for _name, _n, mean in story.rude.values()), story.rude
    page = _signed_in(browser, contexts, demo.origin, HEADS[DUKCAPIL], screen)
    missing = []
    for week in story.weeks:
        _summary(page, demo.origin, DUKCAPIL, week)
        name, n, mean = story.rude[week]
        invitation = page.locator("#dialog-ajakan li").filter(has_text=name).filter(
            has_text=re.compile(r"\bU7\b"))
        if invitation.count() != 1:
            missing.append(f"{period_name('week', week)}: {name} (U7 mean {mean:.2f}, n {n}) "
                           f"not invited; #dialog-ajakan says "
                           f"{page.locator('#dialog-ajakan').inner_text()!r}")
        else:
            _expect_within(page, screen, invitation, f"the invitation of {name}")
        if week not in story.slow:
            continue
        hotspot = page.locator("#menunggu li").filter(has_text=story.counter_name).filter(
            has_text="Senin")
        if hotspot.count() != 1:
            missing.append(f"{period_name('week', week)}: {story.counter_name} on Monday "
                           f"morning not named, though {len(story.slow[week])} citizens waited "
                           f"past the standard there at hours {story.slow[week]}; #menunggu says "
                           f"{page.locator('#menunggu').inner_text()!r}")
        else:
            _expect_within(page, screen, hotspot, f"{story.counter_name} on Senin")
    assert not missing, "\n".join(missing)


# 3. A viewer sees no officer, and no custom range --------------------------------------------


def test_a_viewer_sees_no_officer_and_no_custom_range(
    demo: Demo, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page = _signed_in(browser, contexts, demo.origin, VIEWER, "desktop")
    week = demo.story.weeks[-1]
    _summary(page, demo.origin, DUKCAPIL, week)
    shown = page.locator("div.answers > section")
    assert [shown.nth(i).get_attribute("id") for i in range(shown.count())] == list(
        VIEWER_ANSWERS)
    expect(page.locator("#dialog-ajakan")).to_have_count(0)
    html = page.content()
    for name in demo.story.officers:
        assert name not in html, f"the viewer's page carries the officer {name}"

    first, last = demo.story.weeks[0], SummaryPeriod.of("week", demo.story.weeks[-1]).last
    with demo.app.test_request_context("/"), pytest.raises(PeriodError) as refused:
        period_from_args({"from": first.isoformat(), "to": last.isoformat()},
                         default=SummaryPeriod.of("week", last), allow_range=False)
    response = page.goto(f"{demo.origin}/dashboard/units/{DUKCAPIL}"
                         f"?from={first.isoformat()}&to={last.isoformat()}")
    assert response is not None and response.status == 400
    assert str(refused.value) in visible_text(page.content())
    expect(page.locator("div.answers")).to_have_count(0)


# 4. Moving between periods keeps the breakdown -----------------------------------------------


def test_period_links_keep_the_breakdown(
    demo: Demo, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page = _signed_in(browser, contexts, demo.origin, HEADS[DUKCAPIL], "desktop")
    week = demo.story.weeks[-1]
    _summary(page, demo.origin, DUKCAPIL, week, by="counter")
    counters = page.locator("#rincian table").filter(
        has=page.get_by_role("rowheader", name=demo.story.counter_name, exact=True))
    expect(counters).to_have_count(1)

    month = SummaryPeriod.of("month", week)
    page.locator(f'nav.periodnav .kinds a[href*="period={month.name}"]').click()
    expect(page).to_have_url(re.compile(rf"[?&]period={month.name}(&|$)"))
    expect(page).to_have_url(re.compile(r"[?&]by=counter(&|$)"))
    expect(page.locator("nav.periodnav .kinds a[aria-current=page]")).to_have_attribute(
        "href", re.compile(rf"period={month.name}"))
    expect(counters).to_have_count(1)

    page.locator("nav.periodnav a[rel=prev]").click()
    expect(page).to_have_url(re.compile(rf"[?&]period={month.previous().name}(&|$)"))
    expect(page).to_have_url(re.compile(r"[?&]by=counter(&|$)"))
    expect(counters).to_have_count(1)
