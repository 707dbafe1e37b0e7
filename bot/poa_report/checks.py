"""Where the report contradicts itself.

The importer trusts the values and recomputes everything else; these checks tell the
gerente which printed figures and remarks disagree with the values:

- AVANCE %/ META ANUAL against Σ(values so far this year) ÷ (meta × periods per year)
  (the last value for ``%`` indicators). The report truncates rather than rounds (13.06 is
  printed 13.05), so up to 0.02 points of difference is not a contradiction.
- AVANCE ABSOLUTO against the share of the year one period is (8.33 %, 25 %, 50 %).
- Remarks that name a number: a leading count (``98 reconexiones del mes…``) or a breakdown
  (``MORELOS 32,925/ PERIFERICO 33,909/ …``) must match the value. Only count indicators
  are compared: a ``%`` indicator's remark counts something else (``14 inspecciones``).
- The same indicator twice for one period with different values.
"""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal

from bot.domain import attainment
from bot.domain.numbers import NumberError, format_number, format_percent, parse_number
from bot.domain.periods import Frequency, Period
from bot.poa_report.model import AGGREGATE_LAST, ImportWarning, PoaReport, PoaRow

# The check of AVANCE %/ META ANUAL by the default rule; the importer drops its warnings for
# indicators judged by a ficha técnica (bot.services.importer), whose rule it knows.
AVANCE_PCT_CHECK = "avance_pct"
TOLERANCE = Decimal("0.02")  # points of percentage
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_LEADING_COUNT = re.compile(rf"^\s*({_NUMBER})\s+(?=[^\W\d_])")
_BREAKDOWN_ITEM = re.compile(rf"^\s*([^\W\d_][^/\d]*?)\s*:?\s*({_NUMBER})\s*$")


def check_report(report: PoaReport) -> list[ImportWarning]:
    warnings: list[ImportWarning] = []
    rows_by_indicator: dict[tuple, list[PoaRow]] = defaultdict(list)
    for row in report.rows:
        rows_by_indicator[row.key].append(row)
    for rows in rows_by_indicator.values():
        warnings += _duplicates(rows)
        for row in rows:
            warnings += _avance_absoluto(row)
            warnings += _avance_pct(row, rows)
            warnings += _remarks(row)
    return warnings


def _warn(row: PoaRow, message: str, check: str = "") -> ImportWarning:
    return ImportWarning(row.line, f"{row.label} ({row.period.code}): {message}", row.sheet,
                         check)


def _num(value: Decimal) -> str:
    return format_number(value)


# --- the report's own percentages -----------------------------------------------------------

def _avance_absoluto(row: PoaRow) -> list[ImportWarning]:
    if row.avance_absoluto is None:
        return []
    share = Decimal(100) / row.frequency.periods_per_year
    if abs(row.avance_absoluto - share) <= TOLERANCE:
        return []
    return [_warn(row, f"AVANCE ABSOLUTO dice {format_percent(row.avance_absoluto)} pero un "
                  f"periodo {row.frequency.value} es {format_percent(share)} del año")]


def _avance_pct(row: PoaRow, rows: list[PoaRow]) -> list[ImportWarning]:
    if row.avance_pct is None:
        return []
    values = _year_values_until(row, rows)
    if values is None:
        return []  # earlier periods are not in this file: nothing to check against
    correct = cumulative_progress(values, row.meta, row.frequency, row.aggregation)
    if correct is None or abs(row.avance_pct - correct) <= TOLERANCE:
        return []
    if row.aggregation == AGGREGATE_LAST:
        how = f"el último valor es {format_percent(correct)}"
    else:
        total = sum((v for v in values if v is not None), Decimal(0))
        how = (f"lo correcto es {format_percent(correct)} = {_num(total)} ÷ "
               f"({_num(row.meta)} × {row.frequency.periods_per_year})")
    return [_warn(row, f"AVANCE %/ META ANUAL dice {format_percent(row.avance_pct)} pero "
                  f"{how}", AVANCE_PCT_CHECK)]


def _year_values_until(row: PoaRow, rows: list[PoaRow]) -> list[Decimal | None] | None:
    """The indicator's values from the start of the year through ``row``'s period, or None
    when some earlier period is missing from the file."""
    by_period = {r.period: r.value for r in rows}
    first = Period.containing(row.period.start.replace(month=1), row.frequency)
    values = []
    period = first
    while period <= row.period:
        if period not in by_period:
            return None
        values.append(by_period[period])
        period = period.next()
    return values


def cumulative_progress(values: list[Decimal | None], meta: Decimal, frequency: Frequency,
                        aggregation: str) -> Decimal | None:
    """The attainment engine's rule (so the import's check and /resumen always agree);
    a period left empty in the report counts as not reported."""
    reported = [v for v in values if v is not None]
    return attainment.cumulative_progress(reported, meta, frequency.periods_per_year,
                                          aggregation)


# --- remarks ---------------------------------------------------------------------------------

def _remarks(row: PoaRow) -> list[ImportWarning]:
    if row.value is None or row.aggregation == AGGREGATE_LAST or not row.observaciones:
        return []
    breakdown = remark_breakdown(row.observaciones)
    if breakdown is not None:
        total = sum((amount for _name, amount in breakdown), Decimal(0))
        if total == row.value:
            return []
        parts = " + ".join(_num(amount) for _name, amount in breakdown)
        return [_warn(row, f"el desglose de OBSERVACIONES suma {_num(total)} ({parts}) "
                      f"pero el VALOR ACTUAL es {_num(row.value)}")]
    leading = remark_leading_count(row.observaciones)
    if leading is not None and leading != row.value:
        return [_warn(row, f"OBSERVACIONES dice «{_excerpt(row.observaciones)}» "
                      f"({_num(leading)}) pero el VALOR ACTUAL es {_num(row.value)}")]
    return []


def remark_breakdown(text: str) -> list[tuple[str, Decimal]] | None:
    """``MORELOS 32,925/ PERIFERICO 33,909/ MOVIL 681`` → names and amounts, else None."""
    parts = [p for p in text.split("/") if p.strip()]
    if len(parts) < 2:
        return None
    items = []
    for part in parts:
        match = _BREAKDOWN_ITEM.match(part)
        if not match:
            return None
        amount = _decimal(match[2])
        if amount is None:
            return None
        items.append((match[1].strip(), amount))
    return items


def remark_leading_count(text: str) -> Decimal | None:
    """``98 reconexiones del mes de febrero/23`` → 98; None if it does not open with a count."""
    match = _LEADING_COUNT.match(text)
    return _decimal(match[1]) if match else None


def _decimal(text: str) -> Decimal | None:
    try:
        return parse_number(text).value
    except NumberError:
        return None


def _excerpt(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- duplicates ------------------------------------------------------------------------------

def _duplicates(rows: list[PoaRow]) -> list[ImportWarning]:
    warnings = []
    seen: dict[Period, PoaRow] = {}
    for row in rows:
        earlier = seen.get(row.period)
        if earlier is not None and earlier.value != row.value:
            old = "vacío" if earlier.value is None else _num(earlier.value)
            new = "vacío" if row.value is None else _num(row.value)
            warnings.append(_warn(row, f"aparece otra vez para el mismo periodo con otro "
                                  f"valor ({old} en {earlier.where}, {new} aquí); "
                                  "se toma el último"))
        seen[row.period] = row
    return warnings
