"""Tests for the QR posters: every code the `qr` command writes is decoded back to its URL."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET  # noqa: S405 (parses SVG that the code under test wrote)
from dataclasses import dataclass
from pathlib import Path

import PIL.Image
import pypdfium2
import pytest
import qrcode.constants
import zxingcpp
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.cli.posters import qr_command
from app.config import Settings
from app.db import utcnow
from app.models import AuditEntry, Counter, CounterToken
from app.org import create_counter, create_service, create_unit, issue_token, live_token
from app.posters import (
    Poster,
    make_qr,
    qr_png,
    qr_svg,
    render_poster_pdf,
    render_posters_html,
)

COUNTER_CALL = "Bagaimana pelayanan kami hari ini? Pindai untuk menilai — 1 menit, tanpa nama"
ARRIVAL_CALL = "Baru datang? Pindai di sini agar waktu tunggu Anda tercatat — tanpa nama"
SVG_NS = "http://www.w3.org/2000/svg"
GOOD_ENOUGH_EC = {"M", "Q", "H"}
QUIET_ZONE = 4  # modules of white around the symbol, as ISO/IEC 18004 asks


@dataclass
class World:
    """The seeded unit: which file stem should carry which URL."""

    unit_code: str
    urls: dict[str, str]  # file stem ("arrival", counter code) -> URL
    names: dict[str, str]  # counter code -> name


@pytest.fixture
def qr_runner(app: Flask, runner: FlaskCliRunner) -> FlaskCliRunner:
    """The CLI runner with the `qr` command registered (harmless if app/cli.py already does)."""
    app.cli.add_command(qr_command)
    return runner


@pytest.fixture
def world(session: Session, settings: Settings) -> World:
    """A unit with two postered counters, an inactive one and one whose token was retired."""
    unit = create_unit(session, "DUKCAPIL", "Disdukcapil Lampung Utara", "disdukcapil")
    ktp = create_service(session, unit, "KTP", "Perekaman KTP-el", standard_minutes=15)
    first = create_counter(session, unit, "L1", "Loket 1 — KTP-el", default_service=ktp)
    second = create_counter(session, unit, "L2", "Loket 2")
    closed = create_counter(session, unit, "L8", "Loket 8")
    closed.active = False
    tokenless = create_counter(session, unit, "L9", "Loket 9")
    session.execute(update(CounterToken).where(CounterToken.counter_id == tokenless.id)
                    .values(retired_at=utcnow()))
    session.commit()
    base = settings.public_base_url
    urls = {"arrival": f"{base}/a/{unit.arrival_token}"}
    for counter in (first, second):
        token = live_token(session, counter)
        assert token is not None
        urls[counter.code] = f"{base}/s/{token.token}"
    session.commit()  # ends the reads: this session takes SQLite's write lock as it reads
    return World(unit.code, urls, {"L1": first.name, "L2": second.name})


def run_qr(runner: FlaskCliRunner, unit_code: str, out: Path) -> str:
    result = runner.invoke(args=["qr", "--unit", unit_code, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return result.output


def decode(image: PIL.Image.Image) -> list[str]:
    """Every QR code a real decoder finds in the image, after checking its error correction."""
    found = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    for barcode in found:
        assert barcode.ec_level in GOOD_ENOUGH_EC
    return [barcode.text for barcode in found]


def svg_matrix(svg: str) -> list[list[bool]]:
    """The module matrix an SVG from qr_svg draws (one unit square per dark module)."""
    root = ET.fromstring(svg)  # noqa: S314 (our own generated SVG)
    assert root.tag == f"{{{SVG_NS}}}svg"
    _, _, width, height = (int(v) for v in root.attrib["viewBox"].split())
    assert width == height
    matrix = [[False] * width for _ in range(height)]
    paths = root.findall(f"{{{SVG_NS}}}path")
    assert len(paths) == 1
    squares = re.findall(r"M(\d+),(\d+)H(\d+)V(\d+)H\d+z", paths[0].attrib["d"])
    assert squares
    for x0, y0, x1, y1 in squares:
        for y in range(int(y0), int(y1)):
            for x in range(int(x0), int(x1)):
                matrix[y][x] = True
    return matrix


def matrix_image(matrix: list[list[bool]], box: int = 8) -> PIL.Image.Image:
    """Rasterise a module matrix black on white, box pixels per module."""
    size = len(matrix) * box
    image = PIL.Image.new("L", (size, size), 255)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                image.paste(0, (x * box, y * box, (x + 1) * box, (y + 1) * box))
    return image


def png_matrix(image: PIL.Image.Image, box: int) -> list[list[bool]]:
    """Sample a PNG from qr_png at the centre of each module."""
    grey = image.convert("L")
    modules = grey.width // box
    return [[grey.getpixel((x * box + box // 2, y * box + box // 2)) == 0
             for x in range(modules)] for y in range(modules)]


def pdf_pages(path: Path) -> list[tuple[tuple[float, float], str, PIL.Image.Image]]:
    """Each page of a PDF: its size in points, its text and a 150 dpi rendering."""
    document = pypdfium2.PdfDocument(str(path))
    try:
        pages = []
        for page in document:
            images = list(page.get_objects(filter=[pypdfium2.raw.FPDF_PAGEOBJ_IMAGE]))
            assert images == [], "the QR code must be drawn as vector squares, not an image"
            # PDFium reports a hyphen that ends a line as U+FFFE (a guessed soft hyphen).
            text = page.get_textpage().get_text_range().replace("\ufffe", "-")
            pages.append((page.get_size(), text, page.render(scale=150 / 72).to_pil()))
        return pages
    finally:
        document.close()


def test_qr_writes_every_file_and_notes_skipped_counters(
    qr_runner: FlaskCliRunner, world: World, tmp_path: Path
) -> None:
    out = tmp_path / "posters" / "new"
    output = run_qr(qr_runner, world.unit_code, out)
    expected = {f"{stem}-qr.{ext}" for stem in world.urls for ext in ("png", "svg")}
    expected |= {f"DUKCAPIL-posters-{size}.{ext}" for size in ("A4", "A5")
                 for ext in ("html", "pdf")}
    assert {p.name for p in out.iterdir()} == expected
    for name in expected:
        assert str(out / name) in output
    assert "L8 (Loket 8): inactive" in output
    assert "L9 (Loket 9): no live token" in output
    assert not list(out.glob("L8*")) and not list(out.glob("L9*"))


def test_every_png_decodes_to_its_url_with_a_quiet_zone(
    qr_runner: FlaskCliRunner, world: World, tmp_path: Path
) -> None:
    run_qr(qr_runner, world.unit_code, tmp_path)
    box = 10
    for stem, url in world.urls.items():
        image = PIL.Image.open(tmp_path / f"{stem}-qr.png")
        assert decode(image) == [url]
        qr = make_qr(url)
        assert qr.error_correction in (qrcode.constants.ERROR_CORRECT_M,
                                       qrcode.constants.ERROR_CORRECT_Q,
                                       qrcode.constants.ERROR_CORRECT_H)
        assert png_matrix(image, box) == qr.get_matrix()
        grey = image.convert("L")
        modules = grey.width // box
        assert modules == 17 + 4 * qr.version + 2 * QUIET_ZONE
        band = QUIET_ZONE * box
        for y in range(grey.height):
            for x in range(grey.width):
                if min(x, y, grey.width - 1 - x, grey.height - 1 - y) < band:
                    assert grey.getpixel((x, y)) == 255, (stem, x, y)
        # The finder pattern starts right after the quiet zone: it is exactly four modules.
        assert grey.getpixel((band, band)) == 0


def test_every_svg_is_a_standalone_svg_of_the_same_code(
    qr_runner: FlaskCliRunner, world: World, tmp_path: Path
) -> None:
    run_qr(qr_runner, world.unit_code, tmp_path)
    for stem, url in world.urls.items():
        svg = (tmp_path / f"{stem}-qr.svg").read_text(encoding="utf-8")
        root = ET.fromstring(svg)  # noqa: S314 (our own generated SVG)
        assert root.tag == f"{{{SVG_NS}}}svg"
        title = root.find(f"{{{SVG_NS}}}title")
        assert title is not None and title.text and "Disdukcapil Lampung Utara" in title.text
        matrix = svg_matrix(svg)
        assert matrix == make_qr(url).get_matrix()
        assert matrix == png_matrix(PIL.Image.open(io.BytesIO(qr_png(url))), 10)
        assert decode(matrix_image(matrix)) == [url]
        assert svg_matrix(qr_svg(url)) == matrix


def test_every_pdf_page_scans_to_its_url(
    qr_runner: FlaskCliRunner, world: World, tmp_path: Path
) -> None:
    run_qr(qr_runner, world.unit_code, tmp_path)
    page_points = {"A4": (595.3, 841.9), "A5": (419.5, 595.3)}
    for size, (width, height) in page_points.items():
        pages = pdf_pages(tmp_path / f"DUKCAPIL-posters-{size}.pdf")
        assert len(pages) == len(world.urls)
        for stem, ((page_w, page_h), text, image) in zip(world.urls, pages, strict=True):
            assert page_w == pytest.approx(width, abs=0.5)
            assert page_h == pytest.approx(height, abs=0.5)
            assert decode(image) == [world.urls[stem]]
            flat = " ".join(text.split())
            assert "Disdukcapil Lampung Utara" in flat
            assert world.urls[stem] in flat
            if stem == "arrival":
                assert ARRIVAL_CALL in flat
            else:
                assert world.names[stem] in flat
                assert COUNTER_CALL in flat
                assert "How was our service today? Scan to rate — 1 minute, anonymous" in flat


def test_html_sheet_is_self_contained_and_every_inline_code_scans(
    qr_runner: FlaskCliRunner, world: World, tmp_path: Path
) -> None:
    run_qr(qr_runner, world.unit_code, tmp_path)
    for size in ("A4", "A5"):
        html = (tmp_path / f"DUKCAPIL-posters-{size}.html").read_text(encoding="utf-8")
        assert f"@page {{ size: {size};" in html
        assert html.count("page-break-after: always") == 1
        for name in world.names.values():
            assert name in html
        assert html.count(COUNTER_CALL) == 2
        assert html.count(ARRIVAL_CALL) == 1
        lowered = html.lower()
        for loader in ("<link", "<script", "<img", "<iframe", "<object", "<embed",
                       "src=", "href=", "url(", "@import"):
            assert loader not in lowered, loader
        remaining = html.replace(SVG_NS, "")
        for url in world.urls.values():
            remaining = remaining.replace(url, "")
        assert "http" not in remaining and "//" not in remaining.replace("://", "")
        svgs = re.findall(r"<svg\b.*?</svg>", html, flags=re.DOTALL)
        assert [decode(matrix_image(svg_matrix(s))) for s in svgs] == [
            [url] for url in world.urls.values()
        ]


def test_a_retired_token_is_on_no_poster(
    qr_runner: FlaskCliRunner, world: World, session: Session, settings: Settings,
    tmp_path: Path,
) -> None:
    old_url = world.urls["L1"]
    counter = session.scalars(select(Counter).where(Counter.code == "L1")).one()
    new_url = f"{settings.public_base_url}/s/{issue_token(session, counter).token}"
    session.commit()
    run_qr(qr_runner, world.unit_code, tmp_path)
    decoded = [decode(PIL.Image.open(p))[0] for p in tmp_path.glob("*.png")]
    decoded += [decode(image)[0] for _, _, image in pdf_pages(tmp_path / "DUKCAPIL-posters-A5.pdf")]
    assert new_url in decoded
    assert old_url not in decoded
    old_token = old_url.rsplit("/", 1)[1]
    for path in tmp_path.glob("*.html"):
        assert old_token not in path.read_text(encoding="utf-8")
    for path in tmp_path.glob("*.svg"):
        assert old_token not in path.read_text(encoding="utf-8")


def test_unknown_unit_writes_nothing(qr_runner: FlaskCliRunner, world: World,
                                     tmp_path: Path, session: Session) -> None:
    out = tmp_path / "posters"
    result = qr_runner.invoke(args=["qr", "--unit", "NOPE", "--out", str(out)])
    assert result.exit_code != 0
    assert "unknown unit code 'NOPE'" in result.output
    assert not out.exists()
    assert session.scalar(select(AuditEntry.id).where(
        AuditEntry.action == "export.posters")) is None  # nothing written, nothing recorded


def test_writing_a_units_posters_is_an_audited_export(
    qr_runner: FlaskCliRunner, world: World, tmp_path: Path, session: Session
) -> None:
    written = run_qr(qr_runner, world.unit_code, tmp_path / "posters").split()
    (entry,) = session.scalars(select(AuditEntry).where(
        AuditEntry.action == "export.posters")).all()
    assert entry.actor.startswith("cli:")
    after = json.loads(entry.after or "{}")
    assert after["unit"] == world.unit_code
    assert after["files"] == len([line for line in written if line.startswith("/")])
    assert "/s/" not in (entry.after or "")  # the posters' tokens are not in the log


@pytest.mark.parametrize("where", ["under-a-file", "name-taken-by-a-folder"])
def test_an_out_folder_that_cannot_be_written_is_explained(
    qr_runner: FlaskCliRunner, world: World, tmp_path: Path, where: str
) -> None:
    if where == "under-a-file":
        (tmp_path / "a-file").write_text("x")
        out = tmp_path / "a-file" / "posters"
    else:  # a folder where a poster file is to go
        out = tmp_path / "posters"
        (out / "L2-qr.png").mkdir(parents=True)
    result = qr_runner.invoke(args=["qr", "--unit", world.unit_code, "--out", str(out)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot write the posters: ")
    assert "Traceback" not in result.output and result.exception is not None
    assert isinstance(result.exception, SystemExit)


def test_long_names_still_leave_a_scannable_code_on_a5(tmp_path: Path) -> None:
    url = "https://suara.lampungutarakab.go.id/s/AbCdEfGhIjKlMnOp"
    poster = Poster("counter", "PKM-X", "Puskesmas " + "Kotabumi Udik " * 13, "P1",
                    "Poli " + "Kesehatan Ibu dan Anak " * 8, url)
    assert len(poster.unit_name) < 200 and len(poster.heading) < 200
    render_poster_pdf([poster], tmp_path / "long.pdf", "A5")
    [(_, text, image)] = pdf_pages(tmp_path / "long.pdf")
    assert decode(image) == [url]
    assert url in text
    assert url in render_posters_html([poster], "A5")


@pytest.mark.parametrize("size", ["A4", "A5"])
def test_a_long_name_without_spaces_stays_on_the_pdf_page(tmp_path: Path, size: str) -> None:
    url = "https://suara.lampungutarakab.go.id/s/AbCdEfGhIjKlMnOp"
    poster = Poster("counter", "PKM-X", "Q" * 199, "P1", "L" * 199, url)
    render_poster_pdf([poster], tmp_path / "long.pdf", size)
    document = pypdfium2.PdfDocument(str(tmp_path / "long.pdf"))
    try:
        page = document[0]
        width, _ = page.get_size()
        text = page.get_textpage()
        boxes = [text.get_charbox(i) for i in range(text.count_chars())]
        letters = text.get_text_range().replace("\r", "").replace("\n", "")
    finally:
        document.close()
    assert letters.count("L") == 199 and letters.count("Q") == 199  # every letter drawn
    assert boxes and all(left >= 0 and right <= width for left, _, right, _ in boxes)
    [(_, _, image)] = pdf_pages(tmp_path / "long.pdf")
    assert decode(image) == [url]


def test_sizes_other_than_a4_and_a5_are_refused(tmp_path: Path) -> None:
    poster = Poster("arrival", "U", "Unit", None, None, "https://suara.example.id/a/x")
    with pytest.raises(ValueError, match="A4 or A5"):
        render_poster_pdf([poster], tmp_path / "letter.pdf", "Letter")
    with pytest.raises(ValueError, match="A4 or A5"):
        render_posters_html([poster], "Letter")
