"""The workbook's second sheet, «Revisión»: each unit's review state for each period of the
export (issue 12), when the approval cycle is on (``POA_APPROVAL_REQUIRED``).

One row per unit and section period: unit clave and name, period, state (``capturando``,
``enviado``, ``aprobado``, ``devuelto``), who changed it last, when (local time) and the
gerente's comment of a return. Only the ``.xlsx`` has it: a CSV/TSV holds one table, and
rows appended to it would be read back as part of the report. The importer reads the report
sheets and skips this one by its name (:data:`bot.poa_report.sources.REVIEW_SHEET`), so
re-importing the workbook changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.poa_report.sources import REVIEW_SHEET

REVIEW_HEADER = ("CLAVE", "UNIDAD RESPONSABLE", "PERIODO", "ESTADO", "QUIÉN", "CUÁNDO",
                 "COMENTARIO")
REVIEW_WIDTHS = (8, 36, 24, 12, 28, 17, 60)
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


@dataclass(frozen=True)
class ReviewRow:
    unit_clave: str
    unit_nombre: str
    period_label: str  # as the section's (``mar-23``, ``PRIMER TRIMESTRE 2023``)
    state: str  # capturando | enviado | aprobado | devuelto
    by: str = ""  # who changed it last (empty: never sent)
    at: datetime | None = None  # when, local time without offset (xlsx has none)
    comment: str = ""


def write_review_sheet(workbook, rows: tuple[ReviewRow, ...], clean) -> None:
    """Add the «Revisión» sheet to an XlsxWriter ``workbook`` (bot.poa_report.xlsx);
    ``clean`` makes a text cell storable (the writer's rule for control characters)."""
    sheet = workbook.add_worksheet(REVIEW_SHEET)
    for index, width in enumerate(REVIEW_WIDTHS):
        sheet.set_column(index, index, width)
    sheet.freeze_panes(1, 0)
    header = workbook.add_format({"bold": True, "bg_color": "#D9E1F2", "pattern": 1})
    wrap = workbook.add_format({"valign": "top", "text_wrap": True})
    when = workbook.add_format({"num_format": DATETIME_FORMAT, "valign": "top"})
    plain = workbook.add_format({"valign": "top"})
    for column, text in enumerate(REVIEW_HEADER):
        sheet.write_string(0, column, text, header)
    for number, row in enumerate(rows, start=1):
        # write_string: a comment like "=1+1" is text, never a formula.
        # An empty text is a blank cell, as the reader expects (None, not "").
        for column, text in enumerate((row.unit_clave, row.unit_nombre, row.period_label,
                                       row.state, row.by)):
            if clean(text):
                sheet.write_string(number, column, clean(text), plain)
        if row.at is not None:
            sheet.write_datetime(number, 5, row.at, when)
        if clean(row.comment):
            sheet.write_string(number, 6, clean(row.comment), wrap)
