"""Raw rows of a POA report file: the workbook's tab-separated export or the ``.xlsx`` itself.

Both become the same thing — a sequence of :class:`RawRow` (cells as text, source location) —
so the structure parser never knows which format it reads. Cell text is kept as written;
only the xlsx conversion has to turn typed cells (floats, percent-formatted fractions, dates)
back into the text the export would have shown.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from bot.domain.periods import MONTH_ABBR

TEXT_SUFFIXES = (".tsv", ".txt", ".tab", ".csv")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
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
        return list(tsv_rows(decode_text(path.read_bytes())))
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


def tsv_rows(text: str) -> Iterator[RawRow]:
    """Rows of a tab-separated export; Excel quotes cells holding tabs, quotes or newlines.

    A file without a single tab is read as comma-separated (a "CSV" save of the workbook,
    where ``255,835`` comes quoted)."""
    delimiter = "\t" if "\t" in text else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"',
                        strict=False)
    first_line = 1
    for cells in reader:
        yield RawRow(tuple(cells), first_line)
        first_line = reader.line_num + 1


def _xlsx_rows(path: Path) -> Iterator[RawRow]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for a file that is no workbook
        raise SourceError(f"{path.name}: no se pudo abrir como libro de Excel ({exc})") from exc
    try:
        for sheet in workbook.worksheets:
            for number, row in enumerate(sheet.iter_rows(), start=1):
                line = next((c.row for c in row if getattr(c, "row", None)), number)
                yield RawRow(tuple(cell_text(c.value, getattr(c, "number_format", None))
                                   for c in row), line, sheet.title)
    finally:
        workbook.close()


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
