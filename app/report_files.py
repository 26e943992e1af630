"""The SKM report's file formats: how each is rendered, its media type and file name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.report import SkmReport
from app.report_pdf import render_pdf
from app.report_xlsx import render_xlsx


@dataclass(frozen=True)
class ReportFormat:
    """A file format of the report."""

    render: Callable[[SkmReport, str], bytes]
    media_type: str


FORMATS = {
    "pdf": ReportFormat(render_pdf, "application/pdf"),
    "xlsx": ReportFormat(render_xlsx,
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


def filename(report: SkmReport, fmt: str) -> str:
    """``skm-DUKCAPIL-2026-Q4.pdf`` (``-publik`` before the extension for the public one)."""
    return f"{report.filename_stem}.{fmt}"
