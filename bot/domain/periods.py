"""Reporting periods of the POA: months, quarters, half-years and years.

A period has a stable text code used in storage, the CLI and button data:
``2023-03`` (month), ``2023-Q1`` (quarter), ``2023-S1`` (half-year), ``2023`` (year).
Parsing accepts the forms people and the POA workbook use (``mar-23``, ``marzo 2023``,
``PRIMER TRIMESTRE 2023``, ``2023-T1``...). Pure functions, no I/O.
"""

from __future__ import annotations

import calendar
import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Frequency(StrEnum):
    """How often an indicator is measured; values are the workbook's own words."""

    MONTHLY = "MENSUAL"
    QUARTERLY = "TRIMESTRAL"
    SEMIANNUAL = "SEMESTRAL"
    ANNUAL = "ANUAL"

    @property
    def periods_per_year(self) -> int:
        return {"MENSUAL": 12, "TRIMESTRAL": 4, "SEMESTRAL": 2, "ANUAL": 1}[self.value]

    @property
    def months(self) -> int:
        return 12 // self.periods_per_year

    @property
    def kind(self) -> str:
        return {"MENSUAL": "M", "TRIMESTRAL": "Q", "SEMESTRAL": "S", "ANUAL": "Y"}[self.value]

    @classmethod
    def parse(cls, text: str) -> Frequency:
        word = strip_accents(text).strip().upper()
        for freq in cls:
            if word == freq.value:
                return freq
        aliases = {"MENSUALES": cls.MONTHLY, "TRIMESTRALES": cls.QUARTERLY,
                   "SEMESTRALES": cls.SEMIANNUAL, "ANUALES": cls.ANNUAL}
        if word in aliases:
            return aliases[word]
        raise ValueError(f"frecuencia desconocida: {text!r}")


MONTH_NAMES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
               "septiembre", "octubre", "noviembre", "diciembre")
MONTH_ABBR = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic")
ORDINALS = ("PRIMER", "SEGUNDO", "TERCER", "CUARTO")

_KIND_BY_LETTER = {"M": Frequency.MONTHLY, "Q": Frequency.QUARTERLY,
                   "S": Frequency.SEMIANNUAL, "Y": Frequency.ANNUAL}


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class PeriodError(ValueError):
    """A text that names no period we understand."""


@dataclass(frozen=True, order=True)
class Period:
    """One reporting period. Ordered by start date, then by length (month before quarter)."""

    start: date
    kind: str  # "M", "Q", "S" or "Y"
    index: int  # 1-based position within the year (month 1..12, quarter 1..4, half 1..2)

    # --- construction -------------------------------------------------------------------
    @classmethod
    def month(cls, year: int, month: int) -> Period:
        if not 1 <= month <= 12:
            raise PeriodError(f"mes fuera de rango: {month}")
        return cls(date(year, month, 1), "M", month)

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        if not 1 <= quarter <= 4:
            raise PeriodError(f"trimestre fuera de rango: {quarter}")
        return cls(date(year, 3 * quarter - 2, 1), "Q", quarter)

    @classmethod
    def half(cls, year: int, half: int) -> Period:
        if not 1 <= half <= 2:
            raise PeriodError(f"semestre fuera de rango: {half}")
        return cls(date(year, 6 * half - 5, 1), "S", half)

    @classmethod
    def whole_year(cls, year: int) -> Period:
        return cls(date(year, 1, 1), "Y", 1)

    @classmethod
    def containing(cls, day: date, frequency: Frequency) -> Period:
        """The period of ``frequency`` that contains ``day``."""
        index = (day.month - 1) // frequency.months + 1
        return cls._of_kind(day.year, frequency.kind, index)

    @classmethod
    def _of_kind(cls, year: int, kind: str, index: int) -> Period:
        return {"M": cls.month, "Q": cls.quarter, "S": cls.half,
                "Y": lambda y, _i: cls.whole_year(y)}[kind](year, index)

    # --- properties ---------------------------------------------------------------------
    @property
    def year(self) -> int:
        return self.start.year

    @property
    def frequency(self) -> Frequency:
        return _KIND_BY_LETTER[self.kind]

    @property
    def month_count(self) -> int:
        return self.frequency.months

    @property
    def end(self) -> date:
        """Last day of the period (inclusive)."""
        return _end(self.start, self.kind)

    @property
    def code(self) -> str:
        if self.kind == "M":
            return f"{self.year}-{self.index:02d}"
        if self.kind == "Y":
            return str(self.year)
        return f"{self.year}-{self.kind}{self.index}"

    @property
    def short_label(self) -> str:
        """The workbook's own label: ``mar-23``, ``PRIMER TRIMESTRE 2023``..."""
        if self.kind == "M":
            return f"{MONTH_ABBR[self.index - 1]}-{self.year % 100:02d}"
        if self.kind == "Q":
            return f"{ORDINALS[self.index - 1]} TRIMESTRE {self.year}"
        if self.kind == "S":
            return f"{ORDINALS[self.index - 1]} SEMESTRE {self.year}"
        return f"AÑO {self.year}"

    @property
    def label(self) -> str:
        """Spanish label for people: ``marzo 2023``, ``1er trimestre 2023``..."""
        if self.kind == "M":
            return f"{MONTH_NAMES[self.index - 1]} {self.year}"
        if self.kind == "Q":
            return f"{self.index}.º trimestre {self.year}"
        if self.kind == "S":
            return f"{self.index}.º semestre {self.year}"
        return f"año {self.year}"

    def __str__(self) -> str:
        return self.code

    # --- arithmetic ---------------------------------------------------------------------
    def next(self) -> Period:
        per_year = self.frequency.periods_per_year
        if self.index < per_year:
            return Period._of_kind(self.year, self.kind, self.index + 1)
        return Period._of_kind(self.year + 1, self.kind, 1)

    def previous(self) -> Period:
        if self.index > 1:
            return Period._of_kind(self.year, self.kind, self.index - 1)
        return Period._of_kind(self.year - 1, self.kind, self.frequency.periods_per_year)

    def year_before(self) -> Period:
        """The same period a year earlier (March 2023 → March 2022)."""
        return Period._of_kind(self.year - 1, self.kind, self.index)

    def contains(self, other: Period) -> bool:
        return self.start <= other.start and other.end <= self.end

    def subperiods(self, frequency: Frequency) -> list[Period]:
        """The periods of ``frequency`` that start inside this period, in order."""
        return list(_subperiods(self, frequency))

    def share_of_year(self) -> int:
        """How many months of the year this period covers (for AVANCE ABSOLUTO)."""
        return self.month_count


_MONTH_WORDS = {name: i + 1 for i, name in enumerate(MONTH_NAMES)}
_MONTH_WORDS.update({abbr: i + 1 for i, abbr in enumerate(MONTH_ABBR)})
_MONTH_WORDS.update({"set": 9, "sept": 9})
_ORDINAL_WORDS = {"PRIMER": 1, "PRIMERO": 1, "1ER": 1, "1O": 1, "SEGUNDO": 2, "2O": 2,
                  "TERCER": 3, "TERCERO": 3, "3ER": 3, "3O": 3, "CUARTO": 4, "4O": 4}


def _year(text: str) -> int:
    value = int(text)
    return 2000 + value if value < 100 else value


# Years a typed period may name. Beyond them ``date`` fails (year 0, or 9999's deadline in
# 10000) long before any POA could exist, so they are refused as a PeriodError like any typo.
MIN_YEAR, MAX_YEAR = 1900, 2999


def parse_period(text: str, *, default_year: int | None = None) -> Period:
    """Parse a period as people, the CLI and the workbook write it.

    Accepted: ``2023-03``, ``03-2023``, ``mar-23``, ``marzo 2023``, ``marzo`` (with
    ``default_year``), ``2023-Q1``, ``2023-T1``, ``T1``/``Q1``/``S1`` (with ``default_year``),
    ``2023-S1``, ``2023``, ``PRIMER TRIMESTRE 2023``, ``SEGUNDO SEMESTRE 2023``.
    Years outside :data:`MIN_YEAR`..:data:`MAX_YEAR` raise :class:`PeriodError`.
    """
    try:
        period = _parse_period(text, default_year)
    except PeriodError:
        raise
    except ValueError as exc:  # date() refuses the year (0000)
        raise PeriodError(f"año fuera de rango en {text!r}") from exc
    if not MIN_YEAR <= period.year <= MAX_YEAR:
        raise PeriodError(f"año fuera de rango: {period.year}")
    return period


def _parse_period(text: str, default_year: int | None) -> Period:
    raw = strip_accents(text).strip()
    norm = re.sub(r"\s+", " ", raw).lower()
    if not norm:
        raise PeriodError("periodo vacío")

    if m := re.fullmatch(r"(\d{4})", norm):
        return Period.whole_year(int(m[1]))
    if m := re.fullmatch(r"(\d{4})[-/ ](\d{1,2})", norm):
        return Period.month(int(m[1]), int(m[2]))
    if m := re.fullmatch(r"(\d{1,2})[-/ ](\d{4})", norm):
        return Period.month(int(m[2]), int(m[1]))
    if m := re.fullmatch(r"(\d{4})[-/ ]?([qts])(\d)", norm):
        return _quarter_or_half(int(m[1]), m[2], int(m[3]))
    if m := re.fullmatch(r"([qts])(\d)[-/ ]?(\d{4}|\d{2})?", norm):
        year = _year(m[3]) if m[3] else default_year
        if year is None:
            raise PeriodError(f"falta el año en {text!r}")
        return _quarter_or_half(year, m[1], int(m[2]))
    if (m := re.fullmatch(r"([a-z]+)\.?[-/ ]?(\d{4}|\d{2})?", norm)) and m[1] in _MONTH_WORDS:
        year = _year(m[2]) if m[2] else default_year
        if year is None:
            raise PeriodError(f"falta el año en {text!r}")
        return Period.month(year, _MONTH_WORDS[m[1]])
    if m := re.fullmatch(r"([a-z0-9]+) (trimestre|semestre) (?:de |del )?(\d{4})", norm):
        ordinal = _ORDINAL_WORDS.get(m[1].upper())
        if ordinal is not None:
            letter = "q" if m[2] == "trimestre" else "s"
            return _quarter_or_half(int(m[3]), letter, ordinal)
    raise PeriodError(f"no reconozco el periodo {text!r}")


def _quarter_or_half(year: int, letter: str, index: int) -> Period:
    if letter in ("q", "t"):
        return Period.quarter(year, index)
    return Period.half(year, index)


@functools.lru_cache(maxsize=4096)
def _end(start: date, kind: str) -> date:
    # Cached: summaries and exports ask a few dozen distinct periods for their end hundreds of
    # thousands of times (a state-wide quarter's export: ~200,000 calls).
    last_month = start.month + _KIND_BY_LETTER[kind].months - 1
    return date(start.year, last_month, calendar.monthrange(start.year, last_month)[1])


@functools.lru_cache(maxsize=1024)
def _subperiods(period: Period, frequency: Frequency) -> tuple[Period, ...]:
    # Cached like _end: exports and summaries ask the same few hundred pairs again and again.
    result = []
    current = Period.containing(period.start, frequency)
    if current.start < period.start:
        current = current.next()
    while current.start <= period.end:
        result.append(current)
        current = current.next()
    return tuple(result)


@functools.lru_cache(maxsize=4096)
def period_from_code(code: str) -> Period:
    """Strict inverse of :attr:`Period.code` (for stored and button data). Cached: a
    Period is immutable and stored codes repeat (every value of a month has its code)."""
    period = parse_period(code)
    if period.code != code:
        raise PeriodError(f"código de periodo inválido: {code!r}")
    return period
