"""The SKM report (app/report.py and its PDF and XLSX): the regulation's vector, the figures of
a seeded quarter against `indicators --json`, the respondents, the RTL, the trend, the
signature, and the download from the dashboard with its access rules."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from io import BytesIO
from typing import Any

import pytest
from factories import (
    WIB_ZONE,
    aggregate,
    make_other_unit,
    make_unit,
    make_user,
    release,
    sign_in,
)
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from i18n_helpers import visible_text
from openpyxl import load_workbook
from report_world import (
    ADMIN_EMAIL,
    HEAD_EMAIL,
    HEAD_NAME,
    HEAD_NIP,
    NOW,
    OFFICER_EMAIL,
    Q4_ANSWERS,
    Q4_FIRST,
    Q4_LAST,
    VIEWER_EMAIL,
    ReportWorld,
    comma,
    element_lines,
    first_page_png,
    json_row,
    pdf_text,
    seed_q4,
    store,
)
from sqlalchemy.orm import Session
from test_scoring import VECTOR_A_NRR, VECTOR_A_TOTALS
from test_summary import vector_a_responses

from app.models import Unit, UnitRole
from app.org import create_officer
from app.report import (
    BadPeriod,
    NoData,
    SkmReport,
    build_report,
    conversion_table,
    report_period,
    unit_head,
)
from app.report_pdf import render_pdf
from app.report_xlsx import render_xlsx
from app.scoring import CATEGORY_A
from app.workdays import set_day, working_days_between

EMPTY_OVERRIDES: dict[date, bool] = {}


def report_of(session: Session, unit: Unit, period: str = "2026-Q4", **kwargs: Any
              ) -> SkmReport:
    kind, label = report_period(period)
    made = build_report(session, unit, kind, label, now=NOW, tz=WIB_ZONE, **kwargs)
    release(session)
    return made


@pytest.fixture
def world(app: Flask, session: Session) -> ReportWorld:
    made = seed_q4(app, session)
    release(session)
    return made


@pytest.fixture
def cli_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr("app.cli.report.utcnow", lambda: NOW)
    return NOW


def quarter_json(runner: FlaskCliRunner, period: str = "quarter") -> list[dict[str, Any]]:
    result = runner.invoke(args=["indicators", "--scope", "unit", "--period", period,
                                 "--json"])
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


# The regulation's vector ----------------------------------------------------------------------


def test_the_regulations_vector_gives_the_reports_nrr_ikm_and_category(
    app: Flask, session: Session
) -> None:
    seeded = make_unit(session)
    for index, scores in enumerate(vector_a_responses()):
        store(app, session, seeded, datetime.combine(date(2026, 11, 17), time(8), WIB_ZONE)
              + timedelta(minutes=index), scores)
    session.commit()
    aggregate(app, NOW)
    report = report_of(session, seeded.unit)
    assert report.n == 29
    assert tuple(row.total for row in report.elements) == VECTOR_A_TOTALS
    assert tuple(str(row.nrr) for row in report.elements) == VECTOR_A_NRR
    # Weighted NRR = NRR × 1/9 exactly: U1 105/29/9 = 0.40230 (0.111 would give 0.4019).
    assert report.elements[0].weighted == Decimal("0.4023")
    assert report.ikm_unit == Fraction(955, 261)
    assert (report.ikm, report.category) == (Decimal("91.48"), CATEGORY_A)
    assert [row.code for row in report.weakest] == ["U3"]
    assert [row.code for row in report.strongest] == ["U4"]
    with app.app_context():
        lines = pdf_text(render_pdf(report, "id"))
        book = load_workbook(BytesIO(render_xlsx(report, "id")))
    elements = element_lines(lines)
    assert [elements[f"U{i}"][1] for i in range(1, 10)] == [
        value.replace(".", ",") for value in VECTOR_A_NRR]
    assert any(line.endswith("× 25) 91,48") for line in lines)
    results = book.worksheets[2]
    assert [results.cell(row=r, column=5).value for r in range(2, 11)] == [
        float(value) for value in VECTOR_A_NRR]
    assert results.cell(row=12, column=7).value == 91.48
    assert results.cell(row=13, column=7).value == "A"


def test_the_conversion_table_is_the_regulations() -> None:
    table = [(row.perception, str(row.nrr_low), str(row.nrr_high), str(row.ikm_low),
              str(row.ikm_high), row.category.letter, row.category.label_id)
             for row in conversion_table()]
    assert table == [
        (1, "1", "2.5996", "25", "64.99", "D", "Tidak baik"),
        (2, "2.6", "3.064", "65.00", "76.60", "C", "Kurang baik"),
        (3, "3.0644", "3.532", "76.61", "88.30", "B", "Baik"),
        (4, "3.5324", "4", "88.31", "100", "A", "Sangat baik"),
    ]


# A seeded quarter against `indicators --json` -------------------------------------------------


def test_the_report_equals_the_stored_indicators(
    world: ReportWorld, session: Session, runner: FlaskCliRunner
) -> None:
    row = json_row(quarter_json(runner), "2026-10-01")
    report = report_of(session, world.seeded.unit)
    assert (report.first_day.isoformat(), report.last_day.isoformat()) == (
        row["first_day"], row["last_day"]) == ("2026-09-28", "2027-01-03")
    assert report.n == row["n"] == len(Q4_ANSWERS)
    assert float(report.ikm) == row["ikm"]
    assert report.category.letter == row["category"]
    assert {r.code: float(r.nrr) for r in report.elements} == row["nrr"]
    assert (report.served, report.required, report.adequate) == (
        row["sample"]["served"], row["sample"]["required"], row["sample"]["adequate"]
    ) == (300, 169, False)
    assert report.flagged == row["flagged"] == 1


def test_the_pdf_agrees_with_indicators_json_to_the_last_decimal(
    world: ReportWorld, runner: FlaskCliRunner, tmp_path: Any, cli_clock: datetime
) -> None:
    row = json_row(quarter_json(runner), "2026-10-01")
    out = tmp_path / "q4.pdf"
    result = runner.invoke(args=["report", "--unit", "DUKCAPIL", "--period", "2026-Q4",
                                 "--format", "pdf", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    png, inked = first_page_png(data)
    assert png.startswith(b"\x89PNG") and inked > 5000  # rendered, and not blank
    lines = pdf_text(data)
    elements = element_lines(lines)
    assert {code: float(comma(values[1])) for code, values in elements.items()} == row["nrr"]
    # Four decimals as printed, exactly the JSON's (3,2500 is not shortened to 3,25).
    assert all(len(values[1].split(",")[1]) == 4 for values in elements.values())
    ikm_line = next(line for line in lines if "× 25)" in line)
    assert comma(ikm_line.rsplit(" ", 1)[1]) == Decimal(str(row["ikm"]))
    trend = next(line for line in lines if line.startswith("2026-Q4 "))
    n, ikm, letter = trend.split("2027 ", 1)[1].split(" ")[:3]
    assert (int(comma(n)), float(comma(ikm)), letter) == (row["n"], row["ikm"],
                                                           row["category"])
    text = "\n".join(lines)
    assert "28 September 2026" in text and "3 Januari 2027" in text
    assert HEAD_NIP in text and HEAD_NAME in text


def test_the_xlsx_agrees_with_indicators_json_and_weighs_by_the_formula(
    world: ReportWorld, runner: FlaskCliRunner, tmp_path: Any, cli_clock: datetime
) -> None:
    row = json_row(quarter_json(runner), "2026-10-01")
    out = tmp_path / "q4.xlsx"
    result = runner.invoke(args=["report", "--unit", "DUKCAPIL", "--period", "2026-Q4",
                                 "--format", "xlsx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    method, _respondents, results, conversion = book.worksheets[:4]
    values = {r[0]: r[1].date() if isinstance(r[1], datetime) else r[1]
              for r in method.iter_rows(min_row=2, values_only=True)}
    assert Q4_FIRST in values.values() and Q4_LAST in values.values()
    assert row["n"] in values.values() and 300 in values.values() and 169 in values.values()
    nrr = {results.cell(row=r, column=1).value: results.cell(row=r, column=5).value
           for r in range(2, 11)}
    assert nrr == row["nrr"]
    for r in range(2, 11):
        assert isinstance(results.cell(row=r, column=3).value, int)  # numbers, not text
        assert results.cell(row=r, column=4).value == row["n"]
        assert results.cell(row=r, column=6).value == "=1/9"
        assert results.cell(row=r, column=7).value == f"=E{r}*F{r}"
        assert results.cell(row=r, column=5).number_format == "0.0000"
    assert results.cell(row=11, column=7).value == "=SUM(G2:G10)"
    assert results.cell(row=12, column=7).value == row["ikm"]
    assert results.cell(row=12, column=7).number_format == "0.00"
    assert results.cell(row=13, column=7).value == row["category"]
    assert not any(cell in (0.111, 0.11, 0.1111) for r in results.iter_rows(values_only=True)
                   for cell in r)
    assert [r[0] for r in conversion.iter_rows(min_row=2, values_only=True)] == [1, 2, 3, 4]
    trend = book.worksheets[6]
    last = list(trend.iter_rows(values_only=True))[-1]
    assert last[0] == "2026-Q4" and last[3:5] == (row["n"], row["ikm"])
    assert isinstance(last[1], datetime) and isinstance(last[2], datetime)
    assert (last[1].date(), last[2].date()) == (Q4_FIRST, Q4_LAST)
    signature = book.worksheets[7]
    assert signature.cell(row=4, column=2).value == HEAD_NAME
    assert signature.cell(row=5, column=2).value == HEAD_NIP


@pytest.mark.parametrize(("period", "kind"), [("2026-11", "month"), ("2026-S2", "semester"),
                                              ("2026", "year")])
def test_every_report_kind_equals_its_indicators(
    world: ReportWorld, session: Session, runner: FlaskCliRunner, period: str, kind: str
) -> None:
    report = report_of(session, world.seeded.unit, period)
    row = json_row(quarter_json(runner, kind), report.label.isoformat())
    assert (report.first_day.isoformat(), report.last_day.isoformat()) == (
        row["first_day"], row["last_day"])
    assert (report.n, float(report.ikm)) == (row["n"], row["ikm"])
    assert {r.code: float(r.nrr) for r in report.elements} == row["nrr"]
    assert report.served == row["sample"]["served"]


# The public version ------------------------------------------------------------------------


def test_the_public_version_has_no_name_and_no_nip(
    app: Flask, world: ReportWorld, session: Session
) -> None:
    public = report_of(session, world.seeded.unit, public=True, min_n=10)
    signed = report_of(session, world.seeded.unit)
    assert public.signature is None and signed.signature is not None
    assert public.filename_stem == "skm-DUKCAPIL-2026-Q4-publik"
    assert (public.ikm, public.n) == (signed.ikm, signed.n)
    with app.app_context():
        text = "\n".join(pdf_text(render_pdf(public, "id")))
        book = load_workbook(BytesIO(render_xlsx(public, "id")))
        signed_text = "\n".join(pdf_text(render_pdf(signed, "id")))
    assert HEAD_NIP not in text and HEAD_NAME not in text
    assert HEAD_NIP in signed_text and HEAD_NAME in signed_text
    cells = [str(v) for sheet in book.worksheets for r in sheet.iter_rows(values_only=True)
             for v in r if v is not None]
    assert not any(HEAD_NIP in cell or HEAD_NAME in cell for cell in cells)
    assert len(book.worksheets) == 7  # no signature sheet


def test_a_public_version_needs_the_officer_minimum(
    world: ReportWorld, session: Session
) -> None:
    with pytest.raises(NoData) as refused:
        report_of(session, world.seeded.unit, public=True, min_n=len(Q4_ANSWERS) + 1)
    assert "a public report needs at least 14" in str(refused.value)


# Respondents, days, RTL, trend, signature ---------------------------------------------------


def test_respondent_profile_counts_and_shares(world: ReportWorld, session: Session) -> None:
    report = report_of(session, world.seeded.unit)
    tables = {table.code: table for table in report.profile}
    assert list(tables) == ["sex", "age_band", "education", "occupation", "service"]
    # 13 answers in the quarter: the flagged one and the two just outside are not counted.
    assert all(table.total == 13 for table in tables.values())
    sex = {row.code: (row.count, row.share) for row in tables["sex"].rows}
    assert sex == {"L": (5, Fraction(5, 13)), "P": (7, Fraction(7, 13)),
                   None: (1, Fraction(1, 13))}
    assert [row.label.id if row.label else None for row in tables["sex"].rows] == [
        "Laki-laki", "Perempuan", None]
    age = {row.code: row.count for row in tables["age_band"].rows}
    assert age == {"lt20": 1, "20-29": 3, "30-39": 3, "40-49": 2, "50-59": 1, "ge60": 1,
                   None: 2}
    assert {row.code: row.count for row in tables["education"].rows}["SMA"] == 3
    assert {row.code: row.count for row in tables["occupation"].rows}["Swasta"] == 3
    services = {row.code: row.count for row in tables["service"].rows}
    assert services == {"KTP-REKAM": 6, "KK": 4, None: 3}
    assert sum(row.share for table in tables.values() for row in table.rows) == 5


def test_the_profile_shares_in_the_files(
    app: Flask, world: ReportWorld, session: Session
) -> None:
    report = report_of(session, world.seeded.unit)
    with app.app_context():
        book = load_workbook(BytesIO(render_xlsx(report, "id")))
        text = "\n".join(pdf_text(render_pdf(report, "id")))
    rows = list(book.worksheets[1].iter_rows(values_only=True))
    assert ("Laki-laki", "L", 5, 0.3846) in rows and ("Perempuan", "P", 7, 0.5385) in rows
    assert book.worksheets[1].cell(row=3, column=4).number_format == "0.00%"
    assert "Laki-laki 5 38,46%" in text and "Perempuan 7 53,85%" in text
    assert "KTP-el — Perekaman 6 46,15%" in text


def test_a_quarter_spanning_the_new_year_and_its_working_days(
    world: ReportWorld, session: Session
) -> None:
    report = report_of(session, world.seeded.unit)
    assert (report.first_day, report.last_day) == (Q4_FIRST, Q4_LAST)
    assert report.name == "2026-Q4" and report.complete
    counted = working_days_between(Q4_FIRST - timedelta(days=1), Q4_LAST, EMPTY_OVERRIDES)
    assert report.working_days == counted
    # An administrator's extra day off inside the period is one working day fewer.
    set_day(session, date(2026, 12, 30), False, "Hari jadi kabupaten", user_id=None, now=NOW)
    release(session)
    assert report_of(session, world.seeded.unit).working_days == counted - 1


def test_the_follow_up_plan_and_the_previous_one(world: ReportWorld, session: Session) -> None:
    report = report_of(session, world.seeded.unit)
    # Started before and still running, then the one that starts within; neither the one
    # finished before the quarter nor the one starting after it.
    assert [(row.number, row.element, row.what, row.state, row.overdue) for row in report.rtl
            ] == [(1, "U3", "Nomor antrean daring", "in_progress", True),
                  (2, "U9", "Kotak pengaduan dan nomor WhatsApp", "planned", True)]
    assert report.rtl[0].starts_on == date(2026, 8, 3) and report.rtl[0].who == (
        "Seksi Pelayanan")
    assert report.previous_name == "2026-Q3"
    assert [(row.element, row.state) for row in report.previous_rtl] == [
        ("U8", "done"), ("U3", "in_progress")]


def test_the_rtl_in_the_pdf_escapes_its_text(
    app: Flask, world: ReportWorld, session: Session
) -> None:
    report = report_of(session, world.seeded.unit)
    with app.app_context():
        text = "\n".join(pdf_text(render_pdf(report, "id")))
    assert "Kursi ruang tunggu <baru>" in text  # the previous period's plan, as written
    assert "Nomor antrean daring" in text


def test_the_trend_lists_earlier_periods_with_responses(
    world: ReportWorld, session: Session
) -> None:
    report = report_of(session, world.seeded.unit)
    assert [(row.name, row.n, row.ikm, row.current) for row in report.trend] == [
        # Twelve answers all 3, and one all 1 late on Sunday 27 September (still Q3).
        ("2026-Q3", 13, Decimal("71.15"), False),
        ("2026-Q4", 13, report.ikm, True)]
    assert report.trend[0].category is not None and report.trend[0].category.letter == "C"


def test_the_signature_falls_back_to_an_acting_head_then_to_a_blank(
    world: ReportWorld, session: Session
) -> None:
    assert unit_head(session, world.seeded.unit.id).nip == HEAD_NIP
    other = make_other_unit(session)
    assert unit_head(session, other.unit.id).name is None
    acting = create_officer(session, "198512302010011003", "Rina Plt", other.unit, "Kepala")
    user = make_user(session, "plt@contoh.go.id", "unit_head", unit=world.seeded.unit)
    user.officer_id = acting.id
    session.add(UnitRole(user_id=user.id, unit_id=other.unit.id, role="unit_head",
                         acting=True, created_at=NOW))
    session.commit()
    found = unit_head(session, other.unit.id)
    assert (found.name, found.nip, found.acting) == ("Rina Plt", "198512302010011003", True)


def test_the_english_report_formats_numbers_and_dates_in_english(
    app: Flask, world: ReportWorld, session: Session
) -> None:
    report = report_of(session, world.seeded.unit)
    with app.app_context():
        text = "\n".join(pdf_text(render_pdf(report, "en")))
    assert "September 28, 2026" in text and "January 3, 2027" in text
    assert f"{report.ikm:.2f}" in text and "Sangat" not in text.split("Conversion")[0]


# Refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["2026-Q5", "2026-W48", "2026-13", "", "Q4", "2026-Q4\x00",
                                  "1999", "2026-11-30", "9" * 1000])
def test_periods_a_report_cannot_cover_are_refused(text: str) -> None:
    with pytest.raises(BadPeriod):
        report_period(text)


def test_a_period_without_responses_has_no_report(world: ReportWorld, session: Session) -> None:
    with pytest.raises(NoData) as refused:
        report_of(session, world.seeded.unit, "2027-Q2")
    assert "DUKCAPIL has no scored responses in 2027-Q2 (2027-03-29 to 2027-06-27)" in str(
        refused.value)
    with pytest.raises(BadPeriod):
        build_report(session, world.seeded.unit, "week", date(2026, 11, 23), now=NOW,
                     tz=WIB_ZONE)


# The download from the dashboard ----------------------------------------------------------

URL = "/dashboard/units/DUKCAPIL/report"


@pytest.fixture
def web(world: ReportWorld, monkeypatch: pytest.MonkeyPatch) -> ReportWorld:
    monkeypatch.setattr("app.web.dashboard.utcnow", lambda: NOW)
    return world


def signed_in(client: FlaskClient, email: str) -> FlaskClient:
    assert sign_in(client, email).status_code == 303
    return client


def test_a_unit_head_downloads_the_signed_report(web: ReportWorld, client: FlaskClient) -> None:
    signed_in(client, HEAD_EMAIL)
    page = client.get(f"{URL}?period=2026-Q4&format=pdf")
    assert page.status_code == 200 and page.mimetype == "application/pdf"
    assert 'filename=skm-DUKCAPIL-2026-Q4.pdf' in page.headers["Content-Disposition"]
    assert "no-store" in page.headers["Cache-Control"]
    assert HEAD_NIP in "\n".join(pdf_text(page.data))


def test_an_administrator_downloads_the_xlsx_and_may_ask_for_the_public_one(
    web: ReportWorld, client: FlaskClient
) -> None:
    signed_in(client, ADMIN_EMAIL)
    page = client.get(f"{URL}?period=2026-Q4&format=xlsx")
    assert page.status_code == 200
    assert page.mimetype.endswith("spreadsheetml.sheet")
    assert 'filename=skm-DUKCAPIL-2026-Q4.xlsx' in page.headers["Content-Disposition"]
    assert len(load_workbook(BytesIO(page.data)).worksheets) == 8
    public = client.get(f"{URL}?period=2026-Q4&format=pdf&version=public")
    assert public.status_code == 200
    assert 'filename=skm-DUKCAPIL-2026-Q4-publik.pdf' in public.headers["Content-Disposition"]
    assert HEAD_NIP not in "\n".join(pdf_text(public.data))


def test_a_viewer_gets_only_the_public_version(web: ReportWorld, client: FlaskClient) -> None:
    signed_in(client, VIEWER_EMAIL)
    page = client.get(f"{URL}?period=2026-Q4&format=pdf")
    assert page.status_code == 200
    assert "-publik.pdf" in page.headers["Content-Disposition"]
    text = "\n".join(pdf_text(page.data))
    assert HEAD_NIP not in text and HEAD_NAME not in text
    assert client.get(f"{URL}?period=2026-Q4&format=pdf&version=signed").status_code == 403


def test_officers_others_and_strangers_get_no_report(
    web: ReportWorld, app: Flask, session: Session, client: FlaskClient
) -> None:
    anonymous = client.get(f"{URL}?period=2026-Q4&format=pdf")
    assert anonymous.status_code == 302 and "/masuk" in anonymous.headers["Location"]
    signed_in(client, OFFICER_EMAIL)
    assert client.get(f"{URL}?period=2026-Q4&format=pdf").status_code == 403
    other = make_other_unit(session)
    make_user(session, "kepala.pkm@contoh.go.id", "unit_head", unit=other.unit)
    release(session)
    stranger = app.test_client()
    signed_in(stranger, "kepala.pkm@contoh.go.id")
    refused = stranger.get(f"{URL}?period=2026-Q4&format=pdf")
    assert refused.status_code == 404 and refused.mimetype == "text/html"


@pytest.mark.parametrize(("query", "status", "words"), [
    ("period=2026-Q5&format=pdf", 400, "a quarter (2026-Q4)"),
    ("period=2026-W48&format=pdf", 400, "not a week such as 2026-W48"),
    ("format=pdf", 400, "Enter a period"),
    ("period=2026-Q4&format=doc", 400, "Choose PDF or XLSX"),
    ("period=2026-Q4", 400, "Choose PDF or XLSX"),
    (f"period={'9' * 200}&format=pdf", 400, "at most 16 characters"),
    ("period=2026-Q4&format=pdf&version=both", 400, "signed or the public version"),
    ("period=2027-Q2&format=pdf", 404, "no scored responses in 2027-Q2"),
])
def test_bad_report_parameters_are_refused_with_a_message(
    web: ReportWorld, client: FlaskClient, query: str, status: int, words: str
) -> None:
    signed_in(client, HEAD_EMAIL)
    page = client.get(f"{URL}?{query}&lang=en")
    assert page.status_code == status
    assert words in visible_text(page.get_data(as_text=True))


def test_the_bare_address_leads_to_the_form(web: ReportWorld, client: FlaskClient) -> None:
    signed_in(client, HEAD_EMAIL)
    page = client.get(URL)
    assert page.status_code == 303
    assert page.headers["Location"] == "/dashboard/units/DUKCAPIL#laporan"


def test_hostile_unit_codes_are_not_found(web: ReportWorld, client: FlaskClient) -> None:
    signed_in(client, ADMIN_EMAIL)
    for code in ("NOPE", "x" * 300):  # NUL: the boundary rule's 400 (test_boundary)
        assert client.get(f"/dashboard/units/{code}/report?period=2026-Q4&format=pdf"
                          ).status_code == 404


def test_the_unit_page_offers_the_report_form(
    web: ReportWorld, app: Flask, client: FlaskClient
) -> None:
    signed_in(client, HEAD_EMAIL)
    page = client.get("/dashboard/units/DUKCAPIL?week=2026-12-28&lang=en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'action="{URL}"' in html and 'method="get"' in html
    assert 'value="2026-Q4"' in html and 'name="version"' in html
    viewer = signed_in(app.test_client(), VIEWER_EMAIL)
    html = viewer.get("/dashboard/units/DUKCAPIL?week=2026-12-28&lang=en").get_data(
        as_text=True)
    assert f'action="{URL}"' in html and 'name="version"' not in html
    assert "You receive the public version" in visible_text(html)
