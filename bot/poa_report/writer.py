"""Writes the POA report in its own layout: an ``.xlsx`` workbook and its CSV/TSV twin.

The layout is the one of ``/work/shared/poa/poa-2023-t1-gerencia-comercial.tsv``: repeated
sections, each with the header block (PROGRAMA OPERATIVO ANUAL, the gerencia, the period,
EJE DE DESARROLLO, PROGRAMA DE DESARROLLO, SUB EJE, TRANSVERSALIDAD), the same two header
rows and 16 columns, then one row per indicator. Cells of columns 0–4 that repeat the row
above are left blank, as in the original (drawn without the rule between them, so they
read as merged cells), and :mod:`bot.poa_report.reader` reads our output like the original.

This module only lays out what it is given (:class:`ReportDocument`); gathering the
catalog and the engine's figures is :mod:`bot.services.export`. Workbook cells are typed:
numbers are numbers with number formats, percentages are true fractions with ``0.00%``
formats (what the original workbook holds); the text twin prints them as the export does
(``255,835``, ``8.33%``).

For reading on screen and on paper, the workbook freezes the first section's two header
rows (scrolled so that only they stay on top), repeats them on every printed page (print
titles) and fills each row's AVANCE %/ META ANUAL cell with the colour of its traffic light
(:data:`STATUS_FILLS`: the chat's blue, green, yellow, red; grey for due and not reported).

One file (about 400 lines): the layout and its two renderings (workbook, text) must agree
cell for cell, and the reader reads both back.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import BinaryIO, NamedTuple

from bot.domain.attainment import Status
from bot.domain.numbers import format_number, format_percent, round_display
from bot.poa_report.review_sheet import ReviewRow, write_review_sheet

COLUMN_COUNT = 16
HEADER_TOP = ("LÍNEA DE ACCIÓN", "OBJETIVO", "UNIDAD RESPONSABLE", "", "ACCIONES OPERATIVAS",
              "AVANCE FÍSICO", "", "", "", "INDICADOR DE DESEMPEÑO", "", "", "", "", "", "", "")
HEADER_SUB = ("", "", "CLAVE", "NOMBRE", "", "META ANUAL", "AVANCE ABSOLUTO",
              "AVANCE %/ META ANUAL", "COMENTARIOS", "NOMBRE", "DESCRIPCIÓN", "META",
              "UNIDAD MEDIDA", "FRECUENCIA DE MEDICIÓN", "VALOR ACTUAL", "OBSERVACIONES",
              "JUSTIFICACIÓN")
# Header cells spanning several columns on the first header row (0-based, inclusive).
HEADER_GROUPS = ((2, 3), (5, 8), (9, 15))
# Columns 0-4 (línea, objetivo, clave, nombre, acción) continue the row above when blank.
CONTINUATION_COLUMNS = range(5)
# Widths in characters, chosen so a printed landscape page stays legible.
# JUSTIFICACIÓN (the justificación de la variación, bot.services.justification) is appended
# after OBSERVACIONES, outside the original 16 columns, so a reader of the original layout
# finds every column where it was.
COLUMN_WIDTHS = (10, 38, 8, 24, 36, 9, 10, 11, 36, 28, 42, 11, 15, 13, 12, 40, 40)
WRAPPED_COLUMNS = frozenset({1, 3, 4, 8, 9, 10, 12, 15, 16})
BLANK_ROWS_BEFORE_SECTION = 3
PERCENT_UNIT = "%"
HUNDRED = Decimal(100)
# A text cell starting so is run as a formula by spreadsheets (OWASP "CSV injection"); the
# text twin prefixes "'" (also to one already starting "'" + such a character, so that
# bot.poa_report.sources.unneutralise, removing exactly one, gives the text back).
NEUTRALISE = re.compile(r"'*[=+\-@\t\r]")
AVANCE_COLUMN = 7  # AVANCE %/ META ANUAL: filled with the row's traffic-light colour
# Light tints of the chat's lights (🔵 🟢 🟡 🔴 ⚪), so the black figure stays legible; a
# period not yet due gets no fill.
STATUS_FILLS = {
    Status.ABOVE: "BDD7EE", Status.ON_TARGET: "C6EFCE", Status.CLOSE: "FFEB9C",
    Status.BEHIND: "FFC7CE", Status.MISSING: "D9D9D9",
}


@dataclass(frozen=True)
class ReportLine:
    """One indicator in one section, with the engine's figures (percent points)."""

    linea: str
    objetivo: str
    unit_clave: str
    unit_nombre: str
    accion: str
    share_of_year: Decimal  # AVANCE ABSOLUTO: 8.33… a month, 25 a quarter, 50 a half
    cumulative: Decimal | None  # AVANCE %/ META ANUAL, from the attainment engine
    comentarios: str
    nombre: str
    descripcion: str
    meta: Decimal
    unidad_medida: str
    frecuencia: str
    value: Decimal | None
    observaciones: str
    status: Status | None = None  # the summary's traffic light for the row's period
    justificacion: str = ""  # the justificación de la variación in force, if any

    @property
    def is_percent(self) -> bool:
        """A percentage indicator: its META and VALOR are percentages too."""
        return self.unidad_medida.strip() == PERCENT_UNIT


@dataclass(frozen=True)
class ReportSection:
    """One period of one unit (and one set of plan headings)."""

    period_label: str  # the workbook's own: ``mar-23``, ``PRIMER TRIMESTRE 2023``
    eje: str
    programa: str
    sub_eje: str
    transversalidad: str
    lines: tuple[ReportLine, ...]


@dataclass(frozen=True)
class ReportDocument:
    year: int
    sections: tuple[ReportSection, ...]
    gerencia: str = "GERENCIA COMERCIAL"
    title: str = ""  # sheet name; defaults to "POA <year>"
    # Each unit's review state per section period (approval cycle on): the workbook's
    # second sheet «Revisión» (bot.poa_report.review_sheet); the text twin leaves it out.
    review: tuple[ReviewRow, ...] = ()


class RowKind(Enum):
    BLANK = "blank"
    TITLE = "title"
    PERIOD = "period"
    HEADING = "heading"
    HEADER_TOP = "header_top"
    HEADER_SUB = "header_sub"
    DATA = "data"


class CellKind(Enum):
    TEXT = "text"
    CODE = "code"  # digits that are a code (303, 654), kept as text
    NUMBER = "number"
    PERCENT = "percent"  # a value in percent points, shown as 8.33%
    WHOLE_PERCENT = "whole_percent"  # META ANUAL: 100%


class Cell(NamedTuple):  # a tuple: a quarter lays out 400,000 of them
    value: str | Decimal | None
    kind: CellKind = CellKind.TEXT


@dataclass(frozen=True)
class LaidOutRow:
    kind: RowKind
    cells: tuple[Cell, ...] = field(default_factory=tuple)
    line: ReportLine | None = None


# --- layout (shared by the workbook and the text twin) ---------------------------------------

def layout(document: ReportDocument) -> Iterator[LaidOutRow]:
    """Every row of the report, in order, as typed cells."""
    for section in document.sections:
        for _ in range(BLANK_ROWS_BEFORE_SECTION):
            yield LaidOutRow(RowKind.BLANK)
        yield _single(RowKind.TITLE, f"PROGRAMA OPERATIVO ANUAL {document.year}")
        yield _single(RowKind.TITLE, document.gerencia)
        yield LaidOutRow(RowKind.BLANK)
        yield _single(RowKind.PERIOD, section.period_label)
        yield LaidOutRow(RowKind.BLANK)
        for prefix, text in (("EJE DE DESARROLLO", section.eje),
                             ("PROGRAMA DE DESARROLLO", section.programa),
                             ("SUB EJE", section.sub_eje),
                             ("TRANSVERSALIDAD", section.transversalidad)):
            yield _single(RowKind.HEADING, f"{prefix}: {text}".rstrip())
            yield LaidOutRow(RowKind.BLANK)
        yield LaidOutRow(RowKind.HEADER_TOP, tuple(Cell(text) for text in HEADER_TOP))
        yield LaidOutRow(RowKind.HEADER_SUB, tuple(Cell(text) for text in HEADER_SUB))
        previous: ReportLine | None = None
        for line in section.lines:
            yield LaidOutRow(RowKind.DATA, _data_cells(line, previous), line)
            previous = line


def _single(kind: RowKind, text: str) -> LaidOutRow:
    return LaidOutRow(kind, (Cell(text),))


def _continuation_values(line: ReportLine) -> tuple[str, ...]:
    return (line.linea, line.objetivo, line.unit_clave, line.unit_nombre, line.accion)


def _data_cells(line: ReportLine, previous: ReportLine | None) -> tuple[Cell, ...]:
    lead = _continuation_values(line)
    above = _continuation_values(previous) if previous else ("\0",) * len(lead)
    lead_kinds = (CellKind.CODE, CellKind.TEXT, CellKind.CODE, CellKind.TEXT, CellKind.TEXT)
    # A cell repeating the one above is blank: the original merges it with the row above.
    cells = [Cell(None if value == prior else value, kind)
             for value, prior, kind in zip(lead, above, lead_kinds, strict=True)]
    quantity = CellKind.PERCENT if line.is_percent else CellKind.NUMBER
    cells += [
        Cell(HUNDRED, CellKind.WHOLE_PERCENT),
        Cell(line.share_of_year, CellKind.PERCENT),
        Cell(line.cumulative, CellKind.PERCENT),
        Cell(line.comentarios),
        Cell(line.nombre),
        Cell(line.descripcion),
        Cell(line.meta, quantity),
        Cell(line.unidad_medida),
        Cell(line.frecuencia),
        Cell(line.value, quantity),
        Cell(line.observaciones),
        Cell(line.justificacion),
    ]
    return tuple(cells)


# --- text twin (CSV / TSV) -------------------------------------------------------------------

def cell_display(cell: Cell) -> str:
    """The cell as the workbook shows it: ``255,835``, ``8.33%``, ``100%``."""
    if cell.value is None:
        return ""
    if cell.kind is CellKind.NUMBER:
        return format_number(Decimal(cell.value))
    if cell.kind is CellKind.PERCENT:
        return format_percent(Decimal(cell.value), 2)
    if cell.kind is CellKind.WHOLE_PERCENT:
        return format_percent(Decimal(cell.value), 0)
    return neutralise(str(cell.value))


def neutralise(text: str) -> str:
    """``=SUM(A1)`` → ``'=SUM(A1)``: a CSV cell a spreadsheet would run stays text (the
    workbook stores such cells as text instead)."""
    return "'" + text if NEUTRALISE.match(text) else text


def text_rows(document: ReportDocument) -> Iterator[list[str]]:
    for row in layout(document):
        yield [cell_display(cell) for cell in row.cells]


def write_text(document: ReportDocument, target: io.TextIOBase, *, delimiter: str = ",") -> None:
    writer = csv.writer(target, delimiter=delimiter, lineterminator="\r\n")
    for cells in text_rows(document):
        writer.writerow(cells)


def text_bytes(document: ReportDocument, *, delimiter: str = ",") -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens accents right; ``\\t`` gives the TSV."""
    buffer = io.StringIO(newline="")
    write_text(document, buffer, delimiter=delimiter)
    return buffer.getvalue().encode("utf-8-sig")


# --- workbook -------------------------------------------------------------------------------

def _number_format(cell: Cell) -> str:
    if cell.kind is CellKind.WHOLE_PERCENT:
        return "0%"
    if cell.kind is CellKind.PERCENT:
        return "0.00%"
    value = Decimal(cell.value if cell.value is not None else 0)
    if value == value.to_integral_value():
        return "#,##0"
    return "#,##0.00" if value.as_tuple().exponent >= -2 else "#,##0.000"


_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # openpyxl's ILLEGAL_CHARACTERS_RE


def _excel_value(cell: Cell):
    if cell.value is None:
        return None
    if cell.kind in (CellKind.PERCENT, CellKind.WHOLE_PERCENT):
        # Excel percentages are fractions. Rounded like the workbook shows them (8.33 %,
        # two decimals half-up) so reading the file back gives the figures people saw.
        return round_display(Decimal(cell.value)) / HUNDRED
    if cell.kind is CellKind.NUMBER:
        return Decimal(cell.value)
    # Remarks typed in the chat may hold control characters, which the xlsx format cannot
    # store (openpyxl raises); they carry no meaning in a report, so they are dropped.
    return _XLSX_ILLEGAL.sub("", str(cell.value)) or None


def write_xlsx(document: ReportDocument, target: Path | BinaryIO) -> None:
    """The workbook, streamed (openpyxl write-only mode): a state-wide quarter has tens of
    thousands of rows, and a normal workbook keeps a Python object per cell."""
    from openpyxl import Workbook
    from openpyxl.cell import Cell as XlsxCell
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.cell_range import CellRange, MultiCellRange

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet((document.title or f"POA {document.year}")[:31])
    styles = _Styles(workbook)
    header = styles.named("poa_header", font=Font(bold=True),
                          fill=PatternFill("solid", fgColor="D9E1F2"),
                          alignment=Alignment(horizontal="center", vertical="center",
                                              wrap_text=True),
                          border=styles.border(top=True, bottom=True))
    title = styles.named("poa_title", font=Font(bold=True, size=12),
                         alignment=Alignment(horizontal="center"))
    heading = styles.named("poa_heading", font=Font(bold=True))

    # Write-only: the sheet's properties and columns go out with the first row, so first.
    for index, width in enumerate(COLUMN_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    _freeze_header(sheet)

    merged: list[CellRange] = []  # set on the sheet at the end: adding one by one is quadratic

    def merge(first_row: int, first_column: int, last_row: int, last_column: int) -> None:
        merged.append(CellRange(min_row=first_row, min_col=first_column, max_row=last_row,
                                max_col=last_column))

    style_arrays: dict[str, object] = {}

    def styled(value, style: str) -> XlsxCell:
        # Assigning a named style looks it up by name on every cell (a quarter has 400,000);
        # each cell gets a copy of the style array the named style gave a first cell instead.
        array = style_arrays.get(style)
        if array is None:
            prototype = WriteOnlyCell(sheet)
            prototype.style = style
            array = style_arrays[style] = prototype._style
        cell = XlsxCell(sheet, row=1, column=1, value=value, style_array=array)
        if cell.data_type == "f":
            # A remark like "=1+1" is text a person typed, never a formula to run.
            cell.data_type = "s"
        return cell

    rows = layout(document)
    row = next(rows, None)
    number = 0
    while row is not None:
        number += 1
        following = next(rows, None)
        if row.kind is RowKind.DATA:
            cells = []
            for column, cell in enumerate(row.cells):
                top = bottom = True
                if column in CONTINUATION_COLUMNS:
                    # Blank cells continue the one above: no rule between them, so the run
                    # reads as one merged cell (merging thousands of ranges is very slow).
                    top = cell.value is not None
                    bottom = not (following is not None and following.kind is RowKind.DATA
                                  and following.cells[column].value is None)
                number_format = (_number_format(cell) if cell.kind in (
                    CellKind.NUMBER, CellKind.PERCENT, CellKind.WHOLE_PERCENT) else None)
                fill = STATUS_FILLS.get(row.line.status) if column == AVANCE_COLUMN else None
                cells.append(styled(_excel_value(cell), styles.data(
                    column in WRAPPED_COLUMNS, number_format, top, bottom, fill)))
            sheet.append(cells)
        elif row.kind in (RowKind.HEADER_TOP, RowKind.HEADER_SUB):
            sheet.append([styled(cell.value or None, header) for cell in row.cells])
            if row.kind is RowKind.HEADER_TOP:
                for first, last in HEADER_GROUPS:
                    merge(number, first + 1, number, last + 1)
                for column in (0, 1, 4):  # LÍNEA, OBJETIVO, ACCIONES span both header rows
                    merge(number, column + 1, number + 1, column + 1)
        elif row.cells:
            if row.kind in (RowKind.TITLE, RowKind.PERIOD):
                sheet.append([styled(row.cells[0].value, title)])
                merge(number, 1, number, COLUMN_COUNT)
            else:
                sheet.append([styled(row.cells[0].value, heading)])
        else:
            sheet.append([])
        row = following

    sheet.merged_cells = MultiCellRange(merged)  # written after the rows
    if document.review:
        write_review_sheet(workbook, document.review,
                           lambda text: _XLSX_ILLEGAL.sub("", text) or None)
    workbook.save(target)


def header_rows() -> tuple[int, int]:
    """Sheet row numbers (1-based) of the first section's two header rows."""
    empty = ReportDocument(0, (ReportSection("", "", "", "", "", ()),))
    kinds = [row.kind for row in layout(empty)]
    top = kinds.index(RowKind.HEADER_TOP) + 1
    return top, top + 1


def _freeze_header(sheet) -> None:
    """Freeze the two header rows and print them on every page (before the first row: a
    write-only sheet writes its view and names with it).

    The view starts at the header rows, so the frozen top pane holds just them, not the
    title block above (what Excel writes for "freeze panes" on a sheet scrolled there).
    """
    from openpyxl.worksheet.views import Pane, Selection

    top, bottom = header_rows()
    first_data = f"A{bottom + 1}"
    view = sheet.sheet_view
    view.topLeftCell = f"A{top}"
    view.pane = Pane(ySplit=bottom - top + 1, topLeftCell=first_data, activePane="bottomLeft",
                     state="frozen")
    view.selection = [Selection(pane="bottomLeft", activeCell=first_data, sqref=first_data)]
    sheet.print_title_rows = f"{top}:{bottom}"


class _Styles:
    """Named styles, created once per combination: assigning a registered style by name is
    far cheaper than setting border/alignment/format objects on every cell."""

    def __init__(self, workbook):
        from openpyxl.styles import Side

        self.workbook = workbook
        self.side = Side(style="thin", color="808080")
        self.names: dict[tuple, str] = {}

    def border(self, *, top: bool, bottom: bool):
        from openpyxl.styles import Border

        return Border(left=self.side, right=self.side, top=self.side if top else None,
                      bottom=self.side if bottom else None)

    def named(self, name: str, **attributes) -> str:
        from openpyxl.styles import NamedStyle

        self.workbook.add_named_style(NamedStyle(name=name, **attributes))
        return name

    def data(self, wrap: bool, number_format: str | None, top: bool, bottom: bool,
             fill: str | None = None) -> str:
        key = (wrap, number_format, top, bottom, fill)
        name = self.names.get(key)
        if name is None:
            from openpyxl.styles import Alignment, NamedStyle, PatternFill

            name = f"poa_{len(self.names)}"
            style = NamedStyle(name=name, border=self.border(top=top, bottom=bottom),
                               alignment=Alignment(vertical="top", wrap_text=wrap))
            if number_format:
                style.number_format = number_format
            if fill:
                style.fill = PatternFill("solid", fgColor=fill)
            self.workbook.add_named_style(style)
            self.names[key] = name
        return name


def xlsx_bytes(document: ReportDocument) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(document, buffer)
    return buffer.getvalue()


def write_report(document: ReportDocument, path: Path) -> None:
    """Write ``path`` as .xlsx, .csv or .tsv according to its suffix."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        write_xlsx(document, path)
    elif suffix in (".csv", ".tsv"):
        path.write_bytes(text_bytes(document, delimiter="\t" if suffix == ".tsv" else ","))
    else:
        raise ValueError(f"{path.name}: usa .xlsx, .csv o .tsv")


def count_data_rows(rows: Iterable[LaidOutRow]) -> int:
    return sum(1 for row in rows if row.kind is RowKind.DATA)
