"""The front page at /: what the service is, where to scan, and the way in for staff."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_the_front_page_explains_the_service_and_leads_staff_to_sign_in(
    client: FlaskClient,
) -> None:
    page = client.get("/")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="id">' in body
    assert "pindai kode QR di loket" in body
    assert '<a href="/masuk">Masuk petugas</a>' in body
    assert "Periksa kembali QR" not in body  # not the unknown-code page any more
    assert '<a class="lang" href="?lang=en" lang="en">English</a>' in body
    assert "<script" not in body and "<form" not in body  # works without JavaScript


def test_the_front_page_speaks_english_when_asked_and_remembers_it(
    client: FlaskClient,
) -> None:
    page = client.get("/?lang=en")
    body = page.get_data(as_text=True)
    assert '<html lang="en">' in body
    assert "scan the QR code at the counter" in body
    assert '<a href="/masuk">Staff sign-in</a>' in body
    assert "lang=en" in page.headers["Set-Cookie"]
    assert "Staff sign-in" in client.get("/").get_data(as_text=True)
