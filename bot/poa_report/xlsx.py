"""The POA workbook written with XlsxWriter (constant-memory mode).

openpyxl, even in write-only mode, spends about 3.5 s of CPU on a 26,000-row quarter (a
Python object and an XML element tree per cell); XlsxWriter streams each row's XML straight to
a temporary file and writes the same workbook in well under half that. The reader stays on
openpyxl: this module only writes. The layout (rows, cells, kinds) is
:func:`bot.poa_report.writer.layout`'s; this module only decides how each cell looks.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from bot.domain.numbers import round_display
from bot.poa_report import writer as w
from bot.poa_report.review_sheet import write_review_sheet

BORDER_COLOUR = "#808080"
HEADER_FILL = "#D9E1F2"


class _Formats:
    """One XlsxWriter format per combination of the data cells' looks, made on first use."""

    def __init__(self, workbook):
        self.workbook = workbook
        self.data_formats: dict[tuple, object] = {}
        self.header = workbook.add_format({
            "bold": True, "bg_color": HEADER_FILL, "pattern": 1, "align": "center",
            "valign": "vcenter", "text_wrap": True, "border": 1,
            "border_color": BORDER_COLOUR})
        self.title = workbook.add_format({"bold": True, "font_size": 12, "align": "center"})
        self.heading = workbook.add_format({"bold": True})

    def data(self, wrap: bool, number_format: str | None, top: bool, bottom: bool,
             fill: str | None):
        key = (wrap, number_format, top, bottom, fill)
        found = self.data_formats.get(key)
        if found is None:
            properties = {"valign": "top", "text_wrap": wrap, "left": 1, "right": 1,
                          "top": 1 if top else 0, "bottom": 1 if bottom else 0,
                          "border_color": BORDER_COLOUR}
            if number_format:
                properties["num_format"] = number_format
            if fill:
                properties.update(bg_color=f"#{fill}", pattern=1)
            found = self.data_formats[key] = self.workbook.add_format(properties)
        return found


def write_xlsx(document: w.ReportDocument, target: Path | BinaryIO) -> None:
    import xlsxwriter

    options = {
        "constant_memory": True,  # each row goes to disk once the next one starts
        # Text is text: a remark like "=1+1", "http://…" or "0012" is what a person typed.
        "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
    }
    workbook = xlsxwriter.Workbook(target, options)
    sheet = workbook.add_worksheet((document.title or f"POA {document.year}")[:31])
    formats = _Formats(workbook)

    for index, width in enumerate(w.COLUMN_WIDTHS):
        sheet.set_column(index, index, width)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    top, bottom = header_rows()  # 1-based
    # The frozen top pane holds just the two header rows (the view starts there, not at the
    # title block above), and they print on every page.
    # (ySplit counts the rows of the frozen pane from the view's top-left cell: 2.)
    sheet.set_top_left_cell(top - 1, 0)
    sheet.freeze_panes(bottom - top + 1, 0, bottom, 0)
    sheet.repeat_rows(top - 1, bottom - 1)

    rows = w.layout(document)
    row = next(rows, None)
    number = -1  # 0-based row index
    while row is not None:
        number += 1
        following = next(rows, None)
        if row.kind is w.RowKind.DATA:
            for column, cell in enumerate(row.cells):
                top_rule = bottom_rule = True
                if column in w.CONTINUATION_COLUMNS:
                    # Blank cells continue the one above: no rule between them, so the run
                    # reads as one merged cell (merging thousands of ranges is very slow).
                    top_rule = cell.value is not None
                    bottom_rule = not (following is not None
                                       and following.kind is w.RowKind.DATA
                                       and following.cells[column].value is None)
                numeric = cell.kind in (w.CellKind.NUMBER, w.CellKind.PERCENT,
                                        w.CellKind.WHOLE_PERCENT)
                fill = (w.STATUS_FILLS.get(row.line.status) if column == w.AVANCE_COLUMN
                        else None)
                look = formats.data(column in w.WRAPPED_COLUMNS,
                                    _number_format(cell) if numeric else None,
                                    top_rule, bottom_rule, fill)
                _write(sheet, number, column, _excel_value(cell), look)
        elif row.kind in (w.RowKind.HEADER_TOP, w.RowKind.HEADER_SUB):
            spans = []
            if row.kind is w.RowKind.HEADER_TOP:
                spans = [(first, last) for first, last in w.HEADER_GROUPS]
            for column, cell in enumerate(row.cells):
                _write(sheet, number, column, cell.value or None, formats.header)
            for first, last in spans:
                sheet.merge_range(number, first, number, last, row.cells[first].value or "",
                                  formats.header)
            if row.kind is w.RowKind.HEADER_TOP:
                for column in (0, 1, 4):  # LÍNEA, OBJETIVO, ACCIONES span both header rows
                    sheet.merge_range(number, column, number + 1, column,
                                      row.cells[column].value or "", formats.header)
        elif row.cells:
            if row.kind in (w.RowKind.TITLE, w.RowKind.PERIOD):
                sheet.merge_range(number, 0, number, w.COLUMN_COUNT - 1,
                                  row.cells[0].value or "", formats.title)
            else:
                _write(sheet, number, 0, row.cells[0].value, formats.heading)
        row = following
    if document.review:  # the second sheet «Revisión» (approval cycle on)
        write_review_sheet(workbook, document.review,
                           lambda text: _XLSX_ILLEGAL.sub("", text) or None)
    workbook.close()


def _write(sheet, row: int, column: int, value, look) -> None:
    if value is None or value == "":
        sheet.write_blank(row, column, None, look)
    elif isinstance(value, Decimal):
        sheet.write_number(row, column, float(value), look)
    else:
        sheet.write_string(row, column, str(value), look)


def header_rows() -> tuple[int, int]:
    """Sheet row numbers (1-based) of the first section's two header rows."""
    empty = w.ReportDocument(0, (w.ReportSection("", "", "", "", "", ()),))
    kinds = [row.kind for row in w.layout(empty)]
    top = kinds.index(w.RowKind.HEADER_TOP) + 1
    return top, top + 1


def _number_format(cell: w.Cell) -> str:
    if cell.kind is w.CellKind.WHOLE_PERCENT:
        return "0%"
    if cell.kind is w.CellKind.PERCENT:
        return "0.00%"
    value = Decimal(cell.value if cell.value is not None else 0)
    if value == value.to_integral_value():
        return "#,##0"
    return "#,##0.00" if value.as_tuple().exponent >= -2 else "#,##0.000"


_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # openpyxl's ILLEGAL_CHARACTERS_RE


def _excel_value(cell: w.Cell):
    if cell.value is None:
        return None
    if cell.kind in (w.CellKind.PERCENT, w.CellKind.WHOLE_PERCENT):
        # Excel percentages are fractions. Rounded like the workbook shows them (8.33 %,
        # two decimals half-up) so reading the file back gives the figures people saw.
        return round_display(Decimal(cell.value)) / w.HUNDRED
    if cell.kind is w.CellKind.NUMBER:
        return Decimal(cell.value)
    # Remarks typed in the chat may hold control characters, which the xlsx format cannot
    # store (openpyxl raises); they carry no meaning in a report, so they are dropped.
    return _XLSX_ILLEGAL.sub("", str(cell.value)) or None


def xlsx_bytes(document: w.ReportDocument) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(document, buffer)
    return buffer.getvalue()


def write_report(document: w.ReportDocument, path: Path) -> None:
    """Write ``path`` as .xlsx, .csv or .tsv according to its suffix."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        write_xlsx(document, path)
    elif suffix in (".csv", ".tsv"):
        path.write_bytes(w.text_bytes(document, delimiter="\t" if suffix == ".tsv" else ","))
    else:
        raise ValueError(f"{path.name}: usa .xlsx, .csv o .tsv")
