"""Server-drawn SVG charts: well-formed, accessible, escaped, readable without colour."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import TEST_SECRET
from flask_babel import force_locale

from app import create_app
from app.charts import (
    IKM_BANDS,
    band_bars,
    category_bounds,
    element_bars,
    format_number,
    format_share,
    heat_grid,
    interval_rows,
    trend_line,
    wait_shade,
)
from app.config import Settings
from app.summary import GridCell
from app.surveys import reference_survey

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & "Loket" \'1\''


@pytest.fixture(autouse=True)
def in_the_application(tmp_path: Path) -> Iterator[None]:
    """Chart texts are messages: read inside the application, in its default language
    (Bahasa Indonesia), as a page without ``?lang=`` reads them. No database is opened."""
    app = create_app(Settings(app_env="test", secret_key=TEST_SECRET,
                              database_url=f"sqlite:///{tmp_path / 'unused.db'}",
                              instance_dir=tmp_path / "instance"))
    with app.app_context():
        yield
    app.extensions["suara.db"].dispose()


def parse(svg: str) -> ET.Element:
    """Parse a chart as XML and check what every chart must carry."""
    root = ET.fromstring(svg)  # noqa: S314 (our own output, parsed to prove it is well-formed)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and (title.text or "").strip()
    assert desc is not None and (desc.text or "").strip()
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert root.get("viewBox")
    # Nothing executable and nothing fetched: no script, no foreign object, no external link.
    tags = {element.tag.removeprefix(SVG) for element in root.iter()}
    assert not tags & {"script", "foreignObject", "image", "a", "style"}
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "@import" not in svg and "onload" not in svg.lower()
    return root


def child(root: ET.Element, name: str) -> ET.Element:
    found = root.find(f"{SVG}{name}")
    assert found is not None, name
    return found


def texts(root: ET.Element) -> list[str]:
    return [element.text or "" for element in root.iter(f"{SVG}text")]


def test_trend_line_has_points_labels_and_category_bands() -> None:
    points = [("02/11", 81.24), ("09/11", None), ("16/11", 80.97), ("23/11", 83.5)]
    root = parse(trend_line(points, "IKM 12 minggu", "Tren IKM unit."))
    assert child(root, "title").text == "IKM 12 minggu"
    labels = texts(root)
    assert {"02/11", "09/11", "16/11", "23/11"} <= set(labels)
    assert {"81,24", "80,97", "83,50"} <= set(labels)  # every point prints its value
    assert {"A", "B", "C", "D"} <= set(labels)  # category bands named, not only drawn
    assert "IKM" in labels and any("Minggu" in t for t in labels)  # axis labels
    # The missing week breaks the line: only the last two points are joined.
    polylines = root.findall(f"{SVG}polyline")
    assert len(polylines) == 1 and len(polylines[0].get("points", "").split()) == 2
    assert len(root.findall(f"{SVG}circle")) == 3


def test_an_officers_trend_carries_no_category_letters() -> None:
    root = parse(trend_line([("16/11", 81.0)], "Rata-rata petugas", "x", bands=False,
                            axis_label="Skala IKM"))
    labels = texts(root)
    assert not {"A", "B", "C", "D"} & set(labels)
    assert "Skala IKM" in labels
    assert not [line for line in root.iter(f"{SVG}line") if line.get("stroke-dasharray")]


def test_trend_line_without_any_data_is_still_a_valid_chart() -> None:
    root = parse(trend_line([("02/11", None), ("09/11", None)], "IKM", "Belum ada data."))
    assert not root.findall(f"{SVG}polyline") and not root.findall(f"{SVG}circle")
    parse(trend_line([], "IKM", "Belum ada data."))
    parse(trend_line([("16/11", 30.0)], "IKM", "Satu minggu."))


def test_element_bars_mark_the_weakest_with_a_pattern_and_a_word() -> None:
    names = reference_survey().element_names()
    nrr: dict[str, float | None] = {code: 3.2 for code in names}
    nrr["U7"] = 2.61
    nrr["U4"] = None
    svg = element_bars(nrr, ["U7"], "NRR per unsur", "U7 terlemah.", names=names)
    root = parse(svg)
    labels = texts(root)
    assert "2,61 · terlemah" in labels  # said in words, not only by the hatching
    assert "tidak ada data" in labels
    assert "U1 Persyaratan" in labels
    hatched = [r for r in root.iter(f"{SVG}rect") if (r.get("fill") or "").startswith("url(#")]
    assert len(hatched) == 1
    pattern = root.find(f".//{SVG}pattern")
    assert pattern is not None and hatched[0].get("fill") == f"url(#{pattern.get('id')})"
    assert len(root.findall(f".//{SVG}rect")) >= 8


def test_the_category_bands_are_the_regulations_bounds() -> None:
    assert IKM_BANDS == ((88.31, "A"), (76.61, "B"), (65.0, "C"))


def test_band_bars_show_shares_as_text() -> None:
    shares = {"lt5": 0.02, "5-15": 0.2, "15-30": 0.43, "30-60": 0.29, "60-120": 0.05,
              "gt120": None}
    root = parse(band_bars(shares, reference_survey().wait_labels()))
    labels = texts(root)
    assert {"2%", "20%", "43%", "29%", "5%"} <= set(labels)
    assert "Kurang dari 5 menit" in labels and "Lebih dari 2 jam" in labels


def test_heat_grid_prints_every_cell_and_a_legend() -> None:
    cells = [GridCell(0, 8, 12, 10, 35), GridCell(0, 9, 3, 0, None), GridCell(5, 19, 1, 1, 150)]
    root = parse(heat_grid(cells))
    labels = texts(root)
    assert "35′" in labels and "n=12" in labels and "150′" in labels
    assert "Sab" in labels and "19.00" in labels and "07.00" in labels  # range widened
    assert "–" in labels  # responses without a measurement
    assert "Median (menit):" in labels and "≥ 120" in labels
    parse(heat_grid([]))


def test_wait_shades_darken_with_the_wait_and_keep_text_readable() -> None:
    assert wait_shade(None) == ("#ffffff", "#1a1a1a")
    assert wait_shade(5)[1] == "#1a1a1a"
    assert wait_shade(150)[1] == "#ffffff"
    assert len({wait_shade(m)[0] for m in (5, 20, 45, 90, 200)}) == 5


def test_interval_rows_keep_the_order_and_draw_each_interval_and_the_reference() -> None:
    rows = [("Unit B", 62.5, 45.98, 79.02), ("Unit A", None, None, None),
            ("Unit C", 37.5, 30.11, 44.89), ("Unit D", 75.0, None, None)]
    root = parse(interval_rows(rows, "IKM", "IKM per unit.", reference=(54.86, 72.07),
                               reference_label="Shaded: the regency"))
    written = texts(root)
    # The order given (by name, not by score); a unit without a value reads "–".
    labels = [t for t in written if t.startswith("Unit")]
    assert labels == ["Unit B", "Unit A", "Unit C", "Unit D"]
    assert written[written.index("Unit A") + 1] == "–"
    assert {"62,50", "37,50", "75,00"} <= set(written) and "Shaded: the regency" in written
    # One line per interval (Unit D, a single response, has none); a dot per value.
    intervals = [line for line in root.iter(f"{SVG}line") if line.get("stroke-width") == "2"]
    assert len(intervals) == 2
    assert len(list(root.iter(f"{SVG}circle"))) == 3
    # The reference band spans the regency's interval; C's interval ends left of it.
    band = child(root, "rect")
    left = float(band.get("x") or 0)
    assert max(float(line.get("x2") or 0) for line in intervals) > left
    assert min(float(line.get("x2") or 0) for line in intervals) < left
    # On a scale from 25 (a bound below 50), every category lettered.
    assert {"25", "100", "A", "B", "C", "D"} <= set(written)


@pytest.mark.parametrize("chart", ["trend", "elements", "bands", "grid", "intervals"])
def test_hostile_text_is_escaped_everywhere(chart: str) -> None:
    if chart == "trend":
        svg = trend_line([(HOSTILE, 80.0)], HOSTILE, HOSTILE)
    elif chart == "elements":
        svg = element_bars({"U1": 3.0, HOSTILE: 2.0}, [HOSTILE], HOSTILE, HOSTILE,
                           names={"U1": HOSTILE})
    elif chart == "bands":
        svg = band_bars({"x": 0.5}, {"x": HOSTILE}, title=HOSTILE, desc=HOSTILE)
    elif chart == "grid":
        svg = heat_grid([GridCell(0, 8, 1, 1, 3)], title=HOSTILE, desc=HOSTILE)
    else:
        svg = interval_rows([(HOSTILE, 80.0, 70.0, 90.0)], HOSTILE, HOSTILE,
                            reference=(60.0, 70.0), reference_label=HOSTILE)
    assert "<script>" not in svg
    root = parse(svg)
    assert child(root, "title").text == HOSTILE
    assert child(root, "desc").text == HOSTILE


def test_two_charts_on_one_page_have_distinct_ids() -> None:
    first = parse(trend_line([("a", 80.0)], "IKM unit", "x"))
    second = parse(trend_line([("a", 80.0)], "IKM petugas", "x"))
    assert child(first, "title").get("id") != child(second, "title").get("id")


def test_numbers_are_written_the_indonesian_way() -> None:
    assert format_number(Decimal("91.48")) == "91,48"
    assert format_number(Decimal("-0.27")) == "−0,27"
    assert format_number(Decimal("0.004")) == "0,00"
    assert format_number(3.44825, 4) == "3,4483"
    assert format_number(None) == "–"
    assert format_share(0.755) == "76%" and format_share(None) == "–"


def test_numbers_and_shares_are_rounded_half_up_before_babel_writes_them() -> None:
    # Babel alone rounds half to even (0,125 -> 0,12; 74,5 % -> 74 %).
    assert format_number(Decimal("0.125")) == "0,13"
    assert format_share(0.745) == "75%"


def test_charts_speak_english_when_the_page_does() -> None:
    with force_locale("en"):
        bars = texts(parse(element_bars({"U7": 2.61, "U8": None}, ["U7"], "NRR", "U7.",
                                        names=reference_survey().element_names("en"))))
        grid = texts(parse(heat_grid([GridCell(0, 8, 12, 10, 35)])))
        trend = texts(parse(trend_line([("16/11", 80.97)], "IKM", "IKM.")))
        assert "2.61 · weakest" in bars and "no data" in bars and "NRR (scale 1–4)" in bars
        assert "Mon" in grid and "08:00" in grid and "Median (minutes):" in grid
        assert "80.97" in trend and "Week (date of its Monday)" in trend
        assert format_number(Decimal("-1234.5")) == "−1,234.50"
        assert category_bounds() == "A (88.31), B (76.61), and C (65.00)"
    assert category_bounds() == "A (88,31), B (76,61), dan C (65,00)"
