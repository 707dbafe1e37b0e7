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
    """Append the «Revisión» sheet to a write-only ``workbook``; ``clean`` makes a text cell
    storable (the writer's rule for control characters)."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(REVIEW_SHEET)
    for index, width in enumerate(REVIEW_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="D9E1F2")
    header = []
    for text in REVIEW_HEADER:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font, cell.fill = bold, fill
        header.append(cell)
    sheet.append(header)
    wrap = Alignment(vertical="top", wrap_text=True)
    for row in rows:
        cells = [WriteOnlyCell(sheet, value=clean(text)) for text in (
            row.unit_clave, row.unit_nombre, row.period_label, row.state, row.by)]
        when = WriteOnlyCell(sheet, value=row.at)
        when.number_format = DATETIME_FORMAT
        comment = WriteOnlyCell(sheet, value=clean(row.comment))
        comment.alignment = wrap
        for cell in (*cells, comment):
            if cell.data_type == "f":  # a comment like "=1+1" is text, never a formula
                cell.data_type = "s"
        sheet.append([*cells, when, comment])
