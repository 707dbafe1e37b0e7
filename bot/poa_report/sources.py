"""Raw rows of a POA report file: the workbook's tab-separated export or the ``.xlsx`` itself.

Both become the same thing — a sequence of :class:`RawRow` (cells as text, source location) —
so the structure parser never knows which format it reads. Cell text is kept as written;
only the xlsx conversion has to turn typed cells (floats, percent-formatted fractions, dates)
back into the text the export would have shown.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from bot.domain.periods import MONTH_ABBR

TEXT_SUFFIXES = (".tsv", ".txt", ".tab", ".csv")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
# A text export (ours, bot/poa_report/writer.py) prefixes "'" to a cell a spreadsheet would
# run as a formula (OWASP CSV injection); reading it back removes exactly that apostrophe.
NEUTRALISED = re.compile(r"'(?='*[=+\-@\t\r])")
# Columns of a workbook row read at most: the report has 16; a value further right is no part
# of it (and a used range reaching column XFD must not make every row 16,384 cells wide).
MAX_XLSX_COLUMNS = 64
# The export's sheet of review states (bot/poa_report/review_sheet.py): not report rows.
REVIEW_SHEET = "Revisión"
# Workbook floats carry binary noise (0.1 + 0.2); storage keeps at most 3 decimals anyway.
_XLSX_DECIMALS = Decimal("0.001")


@dataclass(frozen=True)
class RawRow:
    cells: tuple[str, ...]
    line: int  # 1-based line of the text file, or row of the sheet
    sheet: str | None = None

    @property
    def is_blank(self) -> bool:
        return not any(cell.strip() for cell in self.cells)


def location(line: int, sheet: str | None) -> str:
    """Spanish location of a row for messages: ``línea 44`` or ``hoja «Marzo», fila 44``."""
    return f"hoja «{sheet}», fila {line}" if sheet else f"línea {line}"


class SourceError(ValueError):
    """The file cannot be read at all (unknown format, not a workbook)."""


def read_raw_rows(path: Path) -> list[RawRow]:
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        return list(_xlsx_rows(path))
    if suffix in TEXT_SUFFIXES or not suffix:
        text = decode_text(path.read_bytes())
        # A .csv is comma-separated even when a cell holds a tab (a remark may).
        comma = suffix == ".csv" and "," in text
        return list(tsv_rows(text, delimiter="," if comma else None))
    raise SourceError(f"{path.name}: formato no reconocido; usa el .xlsx del reporte o su "
                      "exportación como texto delimitado por tabulaciones (.tsv/.txt)")


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), Excel's "Unicode text" (UTF-16 with BOM), else cp1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older Excel versions on Windows save "Text (tab delimited)" in the ANSI code page.
        return data.decode("cp1252", errors="replace")


def tsv_rows(text: str, delimiter: str | None = None) -> Iterator[RawRow]:
    """Rows of a tab-separated export; Excel quotes cells holding tabs, quotes or newlines.

    A file without a single tab is read as comma-separated (a "CSV" save of the workbook,
    where ``255,835`` comes quoted)."""
    delimiter = delimiter or ("\t" if "\t" in text else ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"',
                        strict=False)
    first_line = 1
    for cells in reader:
        yield RawRow(tuple(unneutralise(cell) for cell in cells), first_line)
        first_line = reader.line_num + 1


def unneutralise(cell: str) -> str:
    """Undo the writer's CSV-injection guard: ``'=SUM(A1)`` → ``=SUM(A1)``."""
    if cell.startswith("'"):
        return NEUTRALISED.sub("", cell, count=1) if NEUTRALISED.match(cell) else cell
    return cell


def _column_letter(number: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(number)


def _xlsx_rows(path: Path) -> Iterator[RawRow]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for a file that is no workbook
        raise SourceError(f"{path.name}: no se pudo abrir como libro de Excel ({exc})") from exc
    try:
        for sheet in workbook.worksheets:
            if sheet.title != REVIEW_SHEET:
                yield from _sheet_rows(sheet)
    finally:
        workbook.close()


def _sheet_rows(sheet) -> Iterator[RawRow]:
    """The sheet's rows that hold something, cells up to the last filled one.

    The sheet's stored used range is ignored (``reset_dimensions``): a stray cell at
    XFD1048576 would otherwise make openpyxl pad a million rows of 16,384 cells. Rows missing
    from the file are skipped rather than made up; a filled cell past
    :data:`MAX_XLSX_COLUMNS` is refused, naming it.
    """
    sheet.reset_dimensions()
    for row in sheet.iter_rows():
        cells = [c for c in row if getattr(c, "row", None) and c.value is not None]
        if not cells:
            continue
        last = cells[-1]
        if last.column > MAX_XLSX_COLUMNS:
            raise SourceError(
                f"hoja «{sheet.title}», fila {last.row}, columna "
                f"{_column_letter(last.column)}: hay datos fuera del reporte (más allá de la "
                f"columna {_column_letter(MAX_XLSX_COLUMNS)}); bórralos o copia solo la tabla "
                "del reporte a un libro nuevo")
        texts = [""] * last.column
        for cell in cells:
            texts[cell.column - 1] = cell_text(cell.value, cell.number_format)
        yield RawRow(tuple(texts), last.row, sheet.title)


def cell_text(value, number_format: str | None = None) -> str:
    """A typed workbook cell as the text the workbook displays (``8.33%``, ``255835``)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "VERDADERO" if value else "FALSO"
    if isinstance(value, datetime | date):
        # Period lines like "ene-23" are usually real dates with an mmm-yy format.
        return f"{MONTH_ABBR[value.month - 1]}-{value.year % 100:02d}"
    if isinstance(value, int | float | Decimal):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        percent = bool(number_format and "%" in number_format)
        if percent:
            number *= 100
        if number.as_tuple().exponent < -3:
            number = number.quantize(_XLSX_DECIMALS, rounding=ROUND_HALF_UP)
        text = format(number.normalize(), "f")
        return f"{text}%" if percent else text
    return str(value)
