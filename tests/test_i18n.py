"""The gettext catalogues (complete, up to date, compiled) and the language of each request."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from factories import SeededUnit, make_officer, make_unit, put_on_duty, survey_form
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from i18n_helpers import assert_no_indonesian, indonesian_words, visible_text
from sqlalchemy.orm import Session

from app import create_app
from app.config import PROJECT_ROOT, Settings
from app.db import utcnow
from app.i18n import LOCALES, current_locale
from app.org import issue_token
from app.posters import Poster, render_posters_html

TRANSLATIONS = PROJECT_ROOT / "translations"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]")


def catalogue(locale: str) -> Catalog:
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=locale)


def messages(catalog: Catalog) -> list[Message]:
    return [message for message in catalog if message.id]


def forms(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """A msgid or msgstr as the tuple of its forms (one, or one per plural form)."""
    if text is None:
        return ("",)
    return (text,) if isinstance(text, str) else tuple(text)


def extracted(tmp_path: Path) -> Catalog:
    """Every message in the code and templates now, extracted exactly as ``make i18n`` does
    (babel.cfg and the Makefile's keywords)."""
    line = next(line for line in (PROJECT_ROOT / "Makefile").read_text().splitlines()
                if line.startswith("EXTRACT_KEYWORDS :="))
    keywords = shlex.split(line.split(":=", 1)[1])
    pot = tmp_path / "messages.pot"
    CommandLineInterface().run([
        "pybabel", "--quiet", "extract", "-F", str(PROJECT_ROOT / "babel.cfg"), *keywords,
        "-o", str(pot), str(PROJECT_ROOT)])
    with pot.open("rb") as template:
        return read_po(template)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_of_the_catalogue_is_translated_and_not_fuzzy(locale: str) -> None:
    catalog = catalogue(locale)
    assert messages(catalog), f"the {locale} catalogue is empty"
    assert catalog.plural_forms == ("nplurals=1; plural=0;" if locale == "id"
                                    else "nplurals=2; plural=(n != 1);")
    for message in messages(catalog):
        assert not message.fuzzy, f"{locale}: fuzzy (check it, then remove the flag): {message.id}"
        strings = forms(message.string)
        if message.pluralizable:
            assert len(strings) == catalog.num_plurals, f"{locale}: plural forms of {message.id}"
        assert all(s.strip() for s in strings), f"{locale}: untranslated: {message.id}"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_placeholders_of_each_translation_are_those_of_its_msgid(locale: str) -> None:
    catalog = catalogue(locale)
    for message in messages(catalog):
        expected = {name for form in forms(message.id) for name in PLACEHOLDER.findall(form)}
        for form in forms(message.string):
            assert set(PLACEHOLDER.findall(form)) == expected, f"{locale}: {form!r}"
        if expected:
            assert message.python_format, f"{locale}: not marked python-format: {message.id}"
    assert [errors for _, errors in catalog.check() if errors] == []


def test_the_catalogues_hold_exactly_the_messages_of_the_code_and_templates(
    tmp_path: Path
) -> None:
    wanted = {message.id for message in messages(extracted(tmp_path))}
    assert ("%(num)d answer needs fixing", "%(num)d answers need fixing") in wanted
    for locale in LOCALES:
        present = {message.id for message in messages(catalogue(locale))}
        assert wanted - present == set(), f"{locale}: missing; run `make i18n` and translate"
        assert present - wanted == set(), f"{locale}: obsolete; run `make i18n`"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_compiled_catalogue_is_the_current_po(locale: str) -> None:
    mo_path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo"
    assert mo_path.exists(), "run `make messages` to compile the catalogues"
    with mo_path.open("rb") as mo:
        compiled = {forms(m.id): forms(m.string) for m in read_mo(mo) if m.id}
    current = {forms(m.id): forms(m.string) for m in messages(catalogue(locale))}
    assert compiled == current, "the .mo is older than the .po: run `make messages`"


# The language of a request ----------------------------------------------------------------

@pytest.mark.parametrize(("path", "headers", "expected"), [
    ("/", {}, "id"),  # pages: the configured default
    ("/?lang=en", {}, "en"),
    ("/?lang=xx", {"Cookie": "lang=en"}, "en"),  # an unknown ?lang= falls to the cookie
    ("/", {"Cookie": "lang=en", "Accept-Language": "id"}, "en"),  # pages ignore the header
    ("/", {"Accept-Language": "en"}, "id"),
    ("/api/v1/responses", {}, "en"),  # the API: English unless Indonesian is preferred
    ("/api/v1/responses", {"Accept-Language": "id-ID,id;q=0.9,en;q=0.5"}, "id"),
    ("/api/v1/responses", {"Accept-Language": "en;q=0.9,id;q=0.5"}, "en"),
    ("/api/v1/responses?lang=id", {"Cookie": "lang=en"}, "id"),
    ("/api/v1/responses", {"Cookie": "lang=id"}, "en"),  # the API ignores the page cookie
])
def test_each_request_gets_the_language_of_its_audience_rule(
    app: Flask, path: str, headers: dict[str, str], expected: str
) -> None:
    with app.test_request_context(path, headers=headers):
        assert current_locale() == expected


def test_the_default_locale_setting_applies_to_pages_and_outside_requests(
    settings: Settings
) -> None:
    english = create_app(replace(settings, default_locale="en"))
    try:
        with english.test_request_context("/"):
            assert current_locale() == "en"
        with english.test_request_context("/?lang=id"):
            assert current_locale() == "id"
        with english.app_context():
            assert current_locale() == "en"
    finally:
        english.extensions["suara.db"].dispose()


@pytest.mark.parametrize(("lang", "expected"), [("id", "Nilai 91,48 · 1.234,50"),
                                                ("en", "Nilai 91.48 · 1,234.50")])
def test_numbers_are_written_the_way_the_language_writes_them(
    app: Flask, lang: str, expected: str
) -> None:
    with app.test_request_context(f"/?lang={lang}"):
        html = render_template_string("Nilai {{ 91.475|decimal }} · {{ 1234.5|decimal }}")
    assert html == expected


def test_a_trans_block_is_looked_up_trimmed_as_it_is_extracted(app: Flask) -> None:
    with app.test_request_context("/?lang=id"):
        html = render_template_string("{% trans %}\n  Thank\n  you!\n{% endtrans %}")
    assert html == "Terima kasih!"


def test_dates_and_times_are_formatted_in_the_configured_zone(app: Flask) -> None:
    instant = datetime(2026, 1, 5, 2, 12, tzinfo=UTC)  # 09.12 in Jakarta
    with app.test_request_context("/?lang=id"):
        html = render_template_string("{{ t|dateformat('long') }} {{ t|timeformat('short') }}",
                                      t=instant)
    assert html == "5 Januari 2026 09.12"


# English citizen pages carry no Indonesian but names -----------------------------------

NAMES = ("Disdukcapil Lampung Utara", "Loket Satu Perekaman", "KTP-el — Perekaman",
         "Kartu Keluarga", "Ahmad Saputra")


@pytest.fixture
def unit(session: Session) -> SeededUnit:
    seeded = make_unit(session)
    put_on_duty(session, make_officer(session, seeded), seeded.counter, utcnow())
    return seeded


def english_pages(client: FlaskClient, session: Session, unit: SeededUnit) -> dict[str, str]:
    """Every citizen page (and its error pages) as an English reader gets them."""
    pages = {}
    survey = client.get(f"/s/{unit.token}?lang=en")
    pages["survey"] = survey.get_data(as_text=True)
    data = survey_form(survey, U1="")
    del data["U2"]
    data["comment"] = "x" * 5000
    data["service"] = "NOPE"
    invalid = client.post(f"/s/{unit.token}?lang=en", data=data)
    assert invalid.status_code == 422
    pages["survey with errors"] = invalid.get_data(as_text=True)
    no_csrf = client.post(f"/s/{unit.token}?lang=en", data={"U1": "4"})
    assert no_csrf.status_code == 400
    pages["expired form"] = no_csrf.get_data(as_text=True)
    sent = client.post(f"/s/{unit.token}?lang=en", data=survey_form(survey))
    assert sent.status_code == 303
    pages["thanks"] = client.get(f"/s/{unit.token}/terima-kasih?lang=en").get_data(as_text=True)
    pages["arrival"] = client.get(f"/a/{unit.unit.arrival_token}?lang=en").get_data(as_text=True)
    pages["not found"] = client.get("/s/NoSuchToken?lang=en").get_data(as_text=True)
    old = unit.token
    issue_token(session, unit.counter)
    session.commit()
    revoked = client.get(f"/s/{old}?lang=en")
    assert revoked.status_code == 410
    pages["revoked"] = revoked.get_data(as_text=True)
    return pages


def test_the_english_citizen_pages_show_no_indonesian_but_names(
    client: FlaskClient, session: Session, unit: SeededUnit
) -> None:
    pages = english_pages(client, session, unit)
    assert "Officer on duty: Ahmad Saputra" in pages["survey"]
    assert "4 answers need fixing" in pages["survey with errors"]
    for name, html in pages.items():
        assert '<html lang="en">' in html, name
        assert_no_indonesian(html, NAMES)


def test_the_indonesian_pages_are_caught_by_the_same_check(
    client: FlaskClient, session: Session, unit: SeededUnit
) -> None:
    """The check can fail: the same pages in Bahasa Indonesia are full of Indonesian."""
    html = client.get(f"/s/{unit.token}").get_data(as_text=True)
    assert {"yang", "anda", "kami"} <= set(indonesian_words(visible_text(html), NAMES))
    with pytest.raises(AssertionError, match="Indonesian words"):
        assert_no_indonesian(html, NAMES)


def test_visible_text_leaves_out_markup_styles_and_keeps_read_attributes() -> None:
    html = ('<style>.dan{x:1}</style><p class="yang">Hello &amp; <b>bye</b></p>'
            '<img alt="tidak ada">')
    assert visible_text(html) == "Hello & bye tidak ada"
    assert indonesian_words("Officer: Ahmad Dan Saputra, and dan", ["Ahmad Dan Saputra"]) \
        == ["dan"]


def test_posters_speak_indonesian_first_whoever_prints_them(settings: Settings) -> None:
    """The sheet's instructions are in the printer's language; the poster itself is
    Indonesian with its English line, both from the catalogues."""
    english = create_app(replace(settings, default_locale="en"))
    poster = Poster("arrival", "DUKCAPIL", "Disdukcapil Lampung Utara", None, None,
                    "https://suara.example.id/a/AbCdEfGhIjKlMnOp")
    try:
        with english.app_context():
            html = render_posters_html([poster], "A4")
    finally:
        english.extensions["suara.db"].dispose()
    assert '<html lang="en">' in html
    assert "Print this page on A4 paper at 100% scale, with no margins." in html
    assert "<h1" in html and ">Selamat datang</h1>" in html
    assert "Baru datang? Pindai di sini agar waktu tunggu Anda tercatat — tanpa nama" in html
    assert "Just arrived? Scan here so that your waiting time is recorded — anonymous" in html
    assert "Survei Kepuasan Masyarakat (SKM) · Suara Warga" in html
    assert "Kode QR pencatatan kedatangan — Disdukcapil Lampung Utara" in html


def test_a_deployment_rewords_a_text_in_its_own_translations_dir(
    settings: Settings, tmp_path: Path, session: Session, unit: SeededUnit
) -> None:
    """TRANSLATIONS_DIR points to the deployment's copy; an edited, compiled msgstr is what
    the page shows, without touching code."""
    assert Settings.from_env({"TRANSLATIONS_DIR": str(tmp_path / "t")}).translations_dir \
        == tmp_path / "t"
    assert Settings.from_env({}).translations_dir == TRANSLATIONS
    catalog = catalogue("id")
    catalog["Thank you!"].string = "Terima kasih banyak, Bapak/Ibu!"
    target = tmp_path / "t" / "id" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.mo").open("wb") as mo:
        write_mo(mo, catalog)
    reworded = create_app(replace(settings, translations_dir=tmp_path / "t"))
    try:
        html = reworded.test_client().get(f"/s/{unit.token}/terima-kasih").get_data(as_text=True)
    finally:
        reworded.extensions["suara.db"].dispose()
    assert "<h1>Terima kasih banyak, Bapak/Ibu!</h1>" in html
