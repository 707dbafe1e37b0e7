"""A date range typed in es-MX: «1/12 al 15/12», «del 1/12/2025 al 15/01/2026», «3/4 - 9/4».

Pure: no I/O. Days come first (day/month[/year]); a missing year is the year of ``today``,
or the next one when that date would already be more than a month past (in December,
«5/1 al 9/1» is next January); an end without year that falls before its start is in the
following year («28/12 al 5/1»).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

MAX_DAYS = 366
_DATE = r"(\d{1,2})\s*[/.-]\s*(\d{1,2})(?:\s*[/.-]\s*(\d{2}|\d{4}))?"
_RANGE = re.compile(rf"^\s*(?:del\s+)?{_DATE}\s*(?:al|a|hasta|-|–)\s*(?:el\s+)?{_DATE}\s*$",
                    re.IGNORECASE)
EXAMPLE = "1/12 al 15/12"


class DateRangeError(ValueError):
    """``str()`` is a Spanish message saying what was wrong, with an example."""


@dataclass(frozen=True)
class DateRange:
    starts: date
    ends: date

    def __contains__(self, day: date) -> bool:
        return self.starts <= day <= self.ends


def _year(text: str | None) -> int | None:
    if not text:
        return None
    year = int(text)
    return year + 2000 if year < 100 else year


def _date(day: str, month: str, year: int) -> date:
    try:
        return date(year, int(month), int(day))
    except ValueError as error:
        raise DateRangeError(f"«{day}/{month}/{year}» no es una fecha válida. Escribe el "
                             f"periodo así: {EXAMPLE}.") from error


def parse_range(text: str, today: date) -> DateRange:
    """The inclusive range ``text`` names, which must not have ended before ``today``."""
    match = _RANGE.match(text or "")
    if match is None:
        raise DateRangeError(f"No entendí las fechas. Escríbelas día/mes, así: {EXAMPLE} "
                             "(o 1/12/2025 al 15/01/2026).")
    d1, m1, y1, d2, m2, y2 = match.groups()
    start_year = _year(y1)
    if start_year is None:
        start_year = today.year
        if _date(d1, m1, start_year) < today - timedelta(days=31):
            start_year += 1
    starts = _date(d1, m1, start_year)
    end_year = _year(y2)
    if end_year is None:
        end_year = starts.year
        if _date(d2, m2, end_year) < starts:
            end_year += 1
    ends = _date(d2, m2, end_year)
    if ends < starts:
        raise DateRangeError("La fecha final es anterior a la inicial. Escribe el periodo "
                             f"así: {EXAMPLE}.")
    if ends < today:
        raise DateRangeError("Ese periodo ya terminó. Escribe fechas de hoy en adelante.")
    if (ends - starts).days + 1 > MAX_DAYS:
        raise DateRangeError(f"Una suplencia dura como máximo {MAX_DAYS} días.")
    return DateRange(starts, ends)


def short_date(day: date) -> str:
    """«1/12/2025»."""
    return f"{day.day}/{day.month}/{day.year}"
