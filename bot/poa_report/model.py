"""The POA report as read: sections, rows, warnings and the format error.

Shared by :mod:`bot.poa_report.reader` (which builds them) and :mod:`bot.poa_report.checks`
(which reads them), so neither imports the other.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from bot.domain.periods import Frequency, Period, strip_accents
from bot.poa_report.sources import location

_SPACES = re.compile(r"[\s\u00a0\u2009\u202f]+")
# Control characters (Unicode Cc) a cell may not hold: all but tab and line breaks.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

AGGREGATE_SUM = "sum"
AGGREGATE_LAST = "last"


@functools.cache
def _format_characters() -> re.Pattern:
    """Unicode format characters (category Cf: zero-width space and joiners, BOM, soft
    hyphen, bidi marks, tags): invisible, so two cells that look alike could differ."""
    ranges = itertools.chain(range(0x20000), range(0xE0000, 0xE1000))  # every Cf is here
    found = [chr(c) for c in ranges if unicodedata.category(chr(c)) == "Cf"]
    return re.compile("[" + "".join(re.escape(ch) for ch in found) + "]")


def strip_format(text: str) -> str:
    """``text`` without Unicode format characters (category Cf)."""
    if text.isascii():
        return text
    return _format_characters().sub("", text)


def clean(text: str) -> str:
    """Cell text without format characters and with stray, doubled and no-break spaces
    removed."""
    return _SPACES.sub(" ", strip_format(text or "")).strip()


def code_text(text: str) -> str:
    """A code or a figure (CLAVE, LÍNEA DE ACCIÓN, numbers): :func:`clean` plus NFKC, so a
    full-width ``３０３`` or a ``303`` with a zero-width space is the plain ``303``."""
    if text.isascii():
        return clean(text)
    return clean(unicodedata.normalize("NFKC", strip_format(text)))


@functools.lru_cache(maxsize=1 << 16)
def norm(text: str) -> str:
    """Comparison form: NFKC, no format characters or accents, upper case, single spaces.
    (Cached: a report repeats its units, actions and names in every period.)"""
    return clean(strip_accents(code_text(text or ""))).upper()


class PoaFormatError(ValueError):
    """The file is not a POA report we can read; ``str()`` names line and column in Spanish."""

    def __init__(self, line: int, column: str | None, message: str, sheet: str | None = None):
        self.line = line
        self.column = column
        self.detail = message
        self.sheet = sheet
        where = location(line, sheet) if line else ""
        if column:
            where = f"{where}, columna {column}" if where else f"columna {column}"
        super().__init__(f"{where}: {message}" if where else message)


@dataclass(frozen=True)
class ImportWarning:
    """A place where the report contradicts itself; the import goes on."""

    line: int
    message: str  # Spanish
    sheet: str | None = None
    check: str = ""  # which check: "avance_pct" (the importer may drop it), else ""

    def __str__(self) -> str:
        return f"{location(self.line, self.sheet)}: {self.message}"


@dataclass(frozen=True)
class Section:
    line: int
    period: Period
    title: str = ""
    area: str = ""
    eje: str = ""
    programa: str = ""
    sub_eje: str = ""
    transversalidad: str = ""
    sheet: str | None = None


@dataclass(frozen=True)
class PoaRow:
    """One data row, continuation resolved, numbers parsed."""

    line: int
    sheet: str | None
    section: Section
    linea: str
    objetivo: str
    unit_clave: str
    unit_nombre: str
    accion: str
    comentarios: str
    nombre: str
    descripcion: str
    meta: Decimal
    unidad_medida: str
    declared_frequency: Frequency
    frequency: Frequency  # what the row really is (see _effective_frequency)
    period: Period  # the period the value belongs to
    value: Decimal | None  # None: not reported (never zero)
    observaciones: str
    aggregation: str  # "sum" for counts, "last" for % indicators
    avance_absoluto: Decimal | None = None
    avance_pct: Decimal | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity of the indicator: unit, action and the full name (two of 305's names
        share their first 34 characters, so nothing shorter will do)."""
        return (norm(self.unit_clave), norm(self.accion), norm(self.nombre))

    @property
    def where(self) -> str:
        return location(self.line, self.sheet)

    @property
    def label(self) -> str:
        return f"{self.unit_clave} · {self.nombre}"


@dataclass
class PoaReport:
    source: str
    sections: list[Section] = field(default_factory=list)
    rows: list[PoaRow] = field(default_factory=list)
    warnings: list[ImportWarning] = field(default_factory=list)

    def indicator_keys(self) -> list[tuple[str, str, str]]:
        """Distinct indicators in order of first appearance."""
        return list(dict.fromkeys(row.key for row in self.rows))

    @property
    def periods(self) -> list[Period]:
        return sorted({row.period for row in self.rows})

    @property
    def years(self) -> list[int]:
        return sorted({row.period.year for row in self.rows})


