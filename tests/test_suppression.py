"""The suppression rule for viewers (app/suppression.py): no figure a viewer reads, alone or
as a difference of nested figures, describes fewer than OFFICER_MIN_N responses."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta

import pytest
from factories import SeededUnit, aggregate, make_unit, make_user, record, release, sign_in
from flask import Flask
from flask.testing import FlaskClient
from i18n_helpers import visible_text
from sqlalchemy.orm import Session

from app import publishing
from app.aggregation import METRICS, SUM_COLUMNS
from app.api_tokens import create_api_token
from app.config import Settings
from app.head_summary import HeadSummary, head_summary
from app.models import Indicator, SurveyVersion
from app.periods import first_day, months_of, period_start, weeks_of
from app.publishing import PublishError
from app.refs import UnitRef
from app.report import NoData, build_report
from app.scoring import category_of_hundredths, ikm_hundredths
from app.summary_period import SummaryPeriod
from app.suppression import visible_of_unit

MIN_N = 5
URL = "/api/v1/indicators"
KINDS = ("week", "month", "quarter", "semester", "year")
LOWER = {"month": "week", "quarter": "month", "semester": "quarter", "year": "semester"}
Key = tuple[str, date]
Figures = Mapping[Key, Mapping[str, int]]  # what a viewer reads: n per survey version

# The brute-force checker: every difference a viewer can form -------------------------------


def inside(kind: str, label: date) -> list[Key]:
    """The periods one level down that make up a period (from app.periods alone)."""
    if kind == "month":
        return [("week", w) for w in weeks_of("month", label)]
    lower = LOWER[kind]
    found = sorted({(lower, period_start(lower, first_day("month", m)))
                    for m in months_of(kind, label)})
    assert sorted(w for k in found for w in weeks_of(*k)) == weeks_of(kind, label)
    return found


def _plus(a: int, b: int) -> int:
    """Every sum of one value of set ``a`` and one of set ``b`` (sets as bit masks)."""
    out, shift = 0, 0
    while a:
        if a & 1:
            out |= b << shift
        a >>= 1
        shift += 1
    return out


def holes(figures: Figures, min_n: int) -> list[str]:
    """Every visible figure below ``min_n``, and every difference between a visible period
    and any union of disjoint visible periods inside it that is neither 0 nor ``min_n`` or
    more, per survey version and for all versions together."""
    problems = [f"{key} shows {parts}" for key, parts in figures.items()
                if any(0 < n < min_n for n in parts.values()) or sum(parts.values()) < min_n]
    versions = sorted({v for parts in figures.values() for v in parts})
    for version in [*versions, None]:
        values = {key: sum(parts.values()) if version is None else parts.get(version, 0)
                  for key, parts in figures.items()}
        subtracted: dict[Key, int] = {}
        for key, total in values.items():
            if key[0] == "week":
                continue
            mask = _can_subtract(key, values, subtracted)
            for taken in (s for s in range(mask.bit_length()) if mask >> s & 1):
                if total - taken != 0 and total - taken < min_n:
                    problems.append(f"{key} minus {taken} of version {version} leaves "
                                    f"{total - taken}")
    return problems


def _can_subtract(key: Key, values: Mapping[Key, int], known: dict[Key, int]) -> int:
    """The sums of visible disjoint periods inside ``key`` (bit mask), the empty one too."""
    if key[0] == "week":
        return 1
    if key not in known:
        mask = 1
        for child in inside(*key):
            options = _can_subtract(child, values, known)
            if child in values:
                options |= 1 << values[child]
            mask = _plus(mask, options)
        known[key] = mask
    return known[key]


# Synthetic units -------------------------------------------------------------------------------


def random_weeks(rng: random.Random, years: list[date]) -> dict[date, dict[str, int]]:
    """Weekly counts of one unit (many empty or small weeks); sometimes a second survey
    version from some week on, the week of the switch holding both."""
    weeks = [w for year in years for w in weeks_of("year", year)]
    switch = rng.randrange(len(weeks)) if rng.random() < 0.3 else None
    pool = (0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 9, 12, 20)
    found: dict[date, dict[str, int]] = {}
    for index, week in enumerate(weeks):
        n = rng.choice(pool)
        if not n:
            continue
        if switch is None or index < switch:
            found[week] = {"v1": n}
        elif index == switch:
            split = rng.randint(0, n)
            found[week] = {v: m for v, m in (("v1", split), ("v2", n - split)) if m}
        else:
            found[week] = {"v2": n}
    return found


def summed(weeks: Mapping[date, Mapping[str, int]], kind: str, label: date) -> dict[str, int]:
    total: dict[str, int] = {}
    for week in weeks_of(kind, label):
        for version, n in weeks.get(week, {}).items():
            total[version] = total.get(version, 0) + n
    return total


def months_from(weeks: Mapping[date, Mapping[str, int]], years: Iterable[date]
                ) -> dict[date, dict[str, int]]:
    return {m: summed(weeks, "month", m) for year in years for m in months_of("year", year)
            if summed(weeks, "month", m)}


def every_period(years: Iterable[date]) -> set[Key]:
    found: set[Key] = set()
    for year in years:
        for month in months_of("year", year):
            found.update((kind, period_start(kind, first_day("month", month)))
                         for kind in KINDS[1:])
            found.update(("week", w) for w in weeks_of("month", month))
    return found


def test_the_issues_month_minus_its_weeks_gives_no_hidden_week() -> None:
    march = date(2026, 3, 1)
    weeks = dict(zip(weeks_of("month", march), ({"v": 6}, {"v": 6}, {"v": 6}, {"v": 2}),
                     strict=True))
    visible = visible_of_unit(weeks, {march: {"v": 20}}, [date(2026, 1, 1)], min_n=MIN_N)
    # The month stays; the smallest visible week goes with the small one (20 - 12 = 8).
    assert ("month", march) in visible
    assert [w for w in weeks if ("week", w) in visible] == list(weeks)[1:3]
    figures = {key: summed(weeks, *key) for key in visible}
    assert holes(figures, MIN_N) == []


def test_a_quarter_that_would_give_back_a_small_month_is_withheld() -> None:
    year = date(2026, 1, 1)
    weeks = {w: {"v": 1} for w in weeks_of("month", date(2026, 1, 1))[:2]}  # January: 2
    weeks.update({w: {"v": 5} for w in weeks_of("month", date(2026, 2, 1))})  # February: 20
    visible = visible_of_unit(weeks, months_from(weeks, [year]), [year], min_n=MIN_N)
    assert ("month", date(2026, 2, 1)) in visible
    assert ("quarter", year) not in visible  # 22 - 20 = January's 2
    assert ("semester", year) not in visible and ("year", year) not in visible
    assert holes({key: summed(weeks, *key) for key in visible}, MIN_N) == []


def test_brute_force_over_random_units_finds_no_difference_under_the_minimum() -> None:
    rng = random.Random(16)  # noqa: S311 (test data, fixed: the same units every run)
    naive_holes = secondary = withheld_longer = 0
    for example in range(120):
        years = [date(2026, 1, 1)] if example % 3 else [date(2025, 1, 1), date(2026, 1, 1)]
        weeks = random_weeks(rng, years)
        min_n = rng.choice((3, 5, 10))
        visible = visible_of_unit(weeks, months_from(weeks, years), years, min_n=min_n)
        figures = {key: summed(weeks, *key) for key in every_period(years)}
        assert holes({k: figures[k] for k in visible}, min_n) == [], (example, weeks)
        # The naive rule (each figure from the minimum alone) leaves holes that it closes.
        naive = {k: p for k, p in figures.items() if sum(p.values()) >= min_n}
        naive_holes += bool(holes(naive, min_n))
        secondary += sum(1 for k, p in figures.items() if k[0] == "week" and k not in visible
                         and all(n >= min_n for n in p.values()) and p)
        withheld_longer += sum(1 for k, p in figures.items() if k[0] in KINDS[2:]
                               and k not in visible and sum(p.values()) >= min_n)
    assert naive_holes > 50 and secondary > 20 and withheld_longer > 5


def test_a_week_shared_by_two_survey_versions_is_withheld_with_a_small_part() -> None:
    year = date(2026, 1, 1)
    march = weeks_of("month", date(2026, 3, 1))
    weeks = {march[0]: {"v1": 8}, march[1]: {"v1": 2, "v2": 9}, march[2]: {"v2": 8},
             march[3]: {"v2": 8}}
    visible = visible_of_unit(weeks, months_from(weeks, [year]), [year], min_n=MIN_N)
    assert ("week", march[1]) not in visible  # 11 in all, but version 1's part is 2
    assert holes({key: summed(weeks, *key) for key in visible}, MIN_N) == []


# Through the API, on both engines --------------------------------------------------------------

NOW = datetime(2027, 1, 11, 3, 0, tzinfo=UTC)


@pytest.fixture
def settings(settings: Settings, database_url: str) -> Settings:
    return settings.replace(officer_min_n=MIN_N)


def _tokens(session: Session, unit_id: int) -> dict[str, str]:
    from app.models import Unit

    unit = session.get(Unit, unit_id)
    users = {"viewer": make_user(session, "viewer@suara.example.id", "viewer"),
             "admin": make_user(session, "admin@suara.example.id", "admin"),
             "head": make_user(session, "kepala@suara.example.id", "unit_head", unit=unit)}
    tokens = {role: create_api_token(session, user, "uji", now=NOW)
              for role, user in users.items()}
    session.commit()
    return tokens


def _read(client: FlaskClient, token: str, period: str) -> dict[str, object]:
    response = client.get(URL, query_string={"scope": "unit", "period": period,
                                             "unit": "DUKCAPIL"},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()
    body: dict[str, object] = response.get_json()
    return body


def _figures(client: FlaskClient, token: str) -> dict[Key, dict[str, int]]:
    """Every unit row the reader can read, of every kind, as n per survey version."""
    figures: dict[Key, dict[str, int]] = {}
    for kind in KINDS:
        for row in _read(client, token, kind)["rows"]:  # type: ignore[attr-defined]
            key = (kind, date.fromisoformat(row["period_start"]))
            figures.setdefault(key, {})[row["survey"]] = row["n"]
    return figures


def test_through_the_api_the_viewer_cannot_subtract_the_small_week(
        app: Flask, session: Session, client: FlaskClient) -> None:
    seeded = make_unit(session)
    march = weeks_of("month", date(2026, 3, 1))
    for week, count in zip(march, (6, 6, 6, 2), strict=True):
        for i in range(count):
            record(app, session, seeded.counter,
                   datetime.combine(week + timedelta(days=1), datetime.min.time(), UTC)
                   + timedelta(hours=2, minutes=i))
    aggregate(app, datetime(2026, 4, 6, 3, 0, tzinfo=UTC))
    tokens = _tokens(session, seeded.unit.id)
    release(session)
    month = _read(client, tokens["viewer"], "month")
    weeks = _read(client, tokens["viewer"], "week")
    shown_weeks = sum(row["n"] for row in weeks["rows"])  # type: ignore[attr-defined]
    for row in month["rows"]:  # type: ignore[attr-defined]
        assert not 0 < row["n"] - shown_weeks < MIN_N
    assert weeks["withheld"] == 2 and len(weeks["rows"]) == 2  # type: ignore[arg-type]
    assert holes(_figures(client, tokens["viewer"]), MIN_N) == []
    for reader in ("admin", "head"):  # heads and administrators still see every week
        assert [row["n"] for row in _read(client, tokens[reader], "week")["rows"]  # type: ignore[attr-defined]
                ] == [6, 6, 6, 2]


def _indicator(unit_id: int, kind: str, label: date, version_id: int, n: int) -> Indicator:
    values = dict.fromkeys(METRICS, 0)
    values.update({"n": n, "sum_total_sq": 729 * n, **dict.fromkeys(SUM_COLUMNS, 3 * n)})
    hundredths = ikm_hundredths(27 * n, n)
    return Indicator(scope="unit", scope_id=unit_id, unit_id=unit_id, period_kind=kind,
                     period_start=label, survey_version_id=version_id,
                     ikm_hundredths=hundredths, category=category_of_hundredths(hundredths).letter,
                     computed_at=NOW, **values)


def test_brute_force_over_every_row_a_viewer_reads_through_the_api(
        session: Session, client: FlaskClient) -> None:
    seeded = make_unit(session)
    versions = {}
    for number in (1, 2):
        row = SurveyVersion(survey_id="uji", version=number, content_hash=f"{number}" * 64,
                            registered_at=NOW)
        session.add(row)
        session.flush()
        versions[f"uji/{number}"] = row.id
    year = date(2026, 1, 1)
    rng = random.Random(1616)  # noqa: S311 (test data, fixed)
    while True:  # a year that needs both kinds of suppression and has two versions
        weeks = {w: {f"uji/{1 + (v == 'v2')}": n for v, n in parts.items()}
                 for w, parts in random_weeks(rng, [year]).items()}
        visible = visible_of_unit(weeks, months_from(weeks, [year]), [year], min_n=MIN_N)
        stored = {w for w, p in weeks.items() if all(n >= MIN_N for n in p.values())}
        if len({v for p in weeks.values() for v in p}) == 2 and any(
                ("week", w) not in visible for w in stored):
            break
    for kind, found in (("week", weeks), ("month", months_from(weeks, [year]))):
        for label, parts in found.items():
            session.add_all(_indicator(seeded.unit.id, kind, label, versions[v], n)
                            for v, n in parts.items())
    tokens = _tokens(session, seeded.unit.id)
    release(session)
    seen = _figures(client, tokens["viewer"])
    assert seen and holes(seen, MIN_N) == []
    assert set(seen) == visible
    everything = _figures(client, tokens["admin"])
    assert everything == {key: summed(weeks, *key) for key in every_period([year])
                          if summed(weeks, *key)}
    assert _figures(client, tokens["head"]) == everything


# The unit head's summary, as viewers read it ----------------------------------------------------


def viewer_and_head(app: Flask, session: Session, seeded: SeededUnit
                    ) -> Iterator[tuple[str, FlaskClient, bool]]:
    """A viewer and the unit's head, each signed in on a client of their own: (email,
    client, whether they see what the rule withholds from viewers)."""
    make_user(session, "viewer@suara.example.id", "viewer")
    make_user(session, "kepala@suara.example.id", "unit_head", unit=seeded.unit)
    release(session)
    for email, head in (("viewer@suara.example.id", False), ("kepala@suara.example.id", True)):
        client = app.test_client()
        assert sign_in(client, email).status_code == 303
        yield email, client, head


def seed_march(app: Flask, session: Session, seeded: SeededUnit) -> list[date]:
    """March 2026's four weeks with 6, 6, 6 and 2 responses, all 4s, 3s, 2s and 1s in turn,
    aggregated; the weeks' Mondays."""
    march = weeks_of("month", date(2026, 3, 1))
    for week, count, score in zip(march, (6, 6, 6, 2), (4, 3, 2, 1), strict=True):
        for i in range(count):
            record(app, session, seeded.counter,
                   datetime.combine(week + timedelta(days=1), datetime.min.time(), UTC)
                   + timedelta(hours=2, minutes=i), scores=(score,) * 9)
    aggregate(app, datetime(2026, 4, 6, 3, 0, tzinfo=UTC))
    return march


def test_the_viewers_summary_shows_no_withheld_week_in_its_change_or_trend(
        app: Flask, session: Session) -> None:
    seeded = make_unit(session)
    march = seed_march(app, session, seeded)
    unit = UnitRef(seeded.unit.id, seeded.unit.code, seeded.unit.name)

    def summary(kind: str, label: date, *, officer_detail: bool) -> HeadSummary:
        return head_summary(session, unit, SummaryPeriod.of(kind, label), officer_min_n=MIN_N,
                            officer_detail=officer_detail, today=date(2026, 4, 6),
                            show_due=False)

    first, second, _third, last = march  # first: withheld so that March - weeks is not 2
    for week in (first, last):
        hidden = summary("week", week, officer_detail=False)
        assert hidden.hidden and hidden.ikm is None and hidden.category is None
        assert all(e.nrr is None and e.change is None for e in hidden.elements)
        assert not [p for p in hidden.pulled if p.kind == "element"]
    after = summary("week", second, officer_detail=False)
    assert after.ikm is not None and after.previous_ikm is None and after.change is None
    assert all(e.change is None for e in after.elements)
    trend = {point.label: point.ikm for point in summary("week", last, officer_detail=False)
             .trend}
    assert [trend[w] is not None for w in march] == [False, True, True, False]
    # Heads and administrators still see every week, its change and its trend.
    full = summary("week", second, officer_detail=True)
    assert full.previous_ikm is not None and full.change is not None
    assert all(point.ikm is not None for point in summary("week", last, officer_detail=True)
               .trend if point.n)
    # March itself stays, and so does its quarter (nothing else in it).
    assert summary("month", date(2026, 3, 15), officer_detail=False).ikm is not None
    assert summary("quarter", date(2026, 2, 15), officer_detail=False).ikm is not None
    # The page: the viewer reads no score of the first week (all 4s: 100), the head does.
    for _email, client, shown in viewer_and_head(app, session, seeded):
        page = client.get("/dashboard/units/DUKCAPIL?period=2026-W10")
        assert page.status_code == 200
        text = visible_text(page.get_data(as_text=True))
        assert any(figure in text for figure in ("100,00", "100.00")) is shown


def test_the_viewers_unit_list_withholds_the_same_week(app: Flask, session: Session) -> None:
    """The units side by side follow the rule too: the week withheld so that March minus
    its weeks gives nothing back shows no score to a viewer; the head still sees it."""
    seeded = make_unit(session)
    seed_march(app, session, seeded)
    for email, client, shown in viewer_and_head(app, session, seeded):
        page = client.get("/dashboard/units?period=2026-W10")
        assert page.status_code == 200
        text = visible_text(page.get_data(as_text=True))
        assert any(figure in text for figure in ("100,00", "100.00")) is shown, email
        # The next week (all 3s: 75) is no hole: both see it.
        later = visible_text(client.get("/dashboard/units?period=2026-W11").get_data(
            as_text=True))
        assert "75,00" in later or "75.00" in later


def test_the_public_report_withholds_what_a_viewer_may_not_see(
        app: Flask, session: Session) -> None:
    """January 20, February 20, March 3 responses: the quarter minus its visible months is
    March's 3, so the quarter's public report is refused (the signed one is not), and the
    public report of April shows March's n in its trend but not its index."""
    seeded = make_unit(session)
    for month, count in ((1, 20), (2, 20), (3, 3), (4, 10)):
        monday = weeks_of("month", date(2026, month, 1))[1]
        for i in range(count):
            record(app, session, seeded.counter,
                   datetime.combine(monday + timedelta(days=1), datetime.min.time(), UTC)
                   + timedelta(hours=2, minutes=i))
    aggregate(app, datetime(2026, 5, 11, 3, 0, tzinfo=UTC))
    now = datetime(2026, 5, 11, 3, 0, tzinfo=UTC)
    tz = app.extensions["suara.settings"].tz
    quarter = date(2026, 1, 1)
    with app.test_request_context("/?lang=en"):
        with pytest.raises(NoData, match="withheld"):
            build_report(session, seeded.unit, "quarter", quarter, now=now, tz=tz,
                         public=True, min_n=MIN_N)
        signed = build_report(session, seeded.unit, "quarter", quarter, now=now, tz=tz)
        assert signed.trend[-1].n == 43 and signed.trend[-1].ikm is not None
        april = build_report(session, seeded.unit, "month", date(2026, 4, 1), now=now, tz=tz,
                             public=True, min_n=MIN_N)
        march = next(row for row in april.trend if row.first_day == first_day(
            "month", date(2026, 3, 1)))
        assert march.n == 3 and march.ikm is None
        assert april.trend[-1].ikm is not None
        # Nor can the quarter be published: the public would subtract March back.
        with pytest.raises(PublishError, match="cannot be published"):
            publishing.publish(session, seeded.unit, "quarter", quarter, user_id=None,
                               now=now, min_n=MIN_N, tz=tz)
