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

The layout and the text rendering live here; the workbook's cell looks are
:mod:`bot.poa_report.xlsx` (XlsxWriter). Both must agree cell for cell, and the reader reads
both back.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import NamedTuple

from bot.domain.attainment import Status
from bot.domain.numbers import format_number, format_percent
from bot.poa_report.review_sheet import ReviewRow

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

def count_data_rows(rows: Iterable[LaidOutRow]) -> int:
    return sum(1 for row in rows if row.kind is RowKind.DATA)
