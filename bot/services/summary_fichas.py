"""The summary's figures for indicators that have a ficha row or calendarised metas.

:mod:`bot.services.summary` keeps its set-based fast path for every indicator judged by the
defaults (no ``fichas`` row, no ``programmed_metas`` rows): their figures are exactly those
of before fichas existed. The few indicators with a ficha or a calendar are judged here, by
their own rules (:mod:`bot.domain.fichas`):

* **Programmed meta of a period**: the calendar's (``programmed_metas``) when there is one;
  otherwise the meta the value was reported against, or ``Indicator.meta`` when unreported.
* **Line value and meta** by the ficha's accumulation over the line's counted periods (the
  periods due or reported; all of them when none is): ``suma`` Σ values against Σ metas;
  ``promedio`` the mean against the mean; ``ultimo`` the latest against that period's
  meta; ``acumulado`` (the value is year-to-date) the latest against Σ of the year's
  programmed metas up to that period.
* **Attainment and state** by the ficha's sentido and semáforo (:func:`~bot.domain.fichas.
  attainment`, :func:`~bot.domain.fichas.state`); MISSING / NOT_DUE as for every line.
* **Cumulative progress** against the year's programmed total (Σ of the calendar): ``suma``
  Σ of the year's values ÷ that total; ``acumulado`` latest ÷ total; ``ultimo`` latest ÷ the
  last period's meta; ``promedio`` mean ÷ mean meta. **Expected progress** from the
  calendar (:func:`~bot.domain.fichas.expected_progress` at the line's last period).

Three queries for the whole year whatever the catalog size: the year's fichas, its
programmed metas, and (only when some indicator has either) those indicators' values of the
year up to the asked period's end.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import or_
from sqlmodel import Session, select

from bot.domain.attainment import HUNDRED, Bands, Status, is_share_of_year
from bot.domain.fichas import (
    Acumulacion,
    FichaRules,
    Sentido,
    accumulate,
    attainment,
    default_acumulacion,
    expected_progress,
    state,
)
from bot.domain.periods import Frequency, Period
from bot.services.fichas import default_semaforo, ficha_from_row
from storage.models import Ficha, Indicator, ProgrammedMeta, ReportedValue, Unit

_ZERO = Decimal(0)


class YearValue(NamedTuple):
    period: str
    value: Decimal
    meta: Decimal


@dataclass
class YearFichas:
    """The fichas and calendars of one POA year (scope) and the values they judge."""

    rules: dict[int, FichaRules] = field(default_factory=dict)  # stored fichas only
    calendars: dict[int, dict[str, Decimal]] = field(default_factory=dict)
    values: dict[int, list[YearValue]] = field(default_factory=dict)  # in period order
    _defaults: dict[tuple, FichaRules] = field(default_factory=dict)

    def has_own(self, indicator_id: int) -> bool:
        return indicator_id in self.rules or indicator_id in self.calendars

    def rules_for(self, indicator_id: int, aggregation: str, meta: Decimal, per_year: int,
                  bands: Bands) -> FichaRules:
        """The stored ficha's rules, or one shared default per (aggregation, share-of-year)."""
        own = self.rules.get(indicator_id)
        if own is not None:
            return own
        key = (aggregation, is_share_of_year(meta, per_year), bands)
        rules = self._defaults.get(key)
        if rules is None:
            rules = self._defaults[key] = FichaRules(
                sentido=Sentido.ASCENDENTE,
                acumulacion=default_acumulacion(aggregation, meta, per_year),
                semaforo=default_semaforo(bands))
        return rules


def year_scoped(statement, year: int, unit_clave: str | None):
    """Restrict a statement joined to Indicator to one POA year (and unit); the summary's
    queries use it too."""
    statement = statement.where(Indicator.year == year)
    if unit_clave is not None:
        statement = statement.join(Unit, Unit.id == Indicator.unit_id).where(
            Unit.clave == unit_clave)
    return statement


def load_year_fichas(session: Session, period: Period, unit_clave: str | None) -> YearFichas:
    """Fichas, calendars and (for those indicators) the year's values up to ``period``."""
    result = YearFichas()
    fichas = session.exec(year_scoped(
        select(Ficha).join(Indicator, Indicator.id == Ficha.indicator_id),
        period.year, unit_clave))
    for row in fichas:
        result.rules[row.indicator_id] = ficha_from_row(row).rules
    metas = session.exec(year_scoped(
        select(ProgrammedMeta.indicator_id, ProgrammedMeta.period, ProgrammedMeta.meta)
        .join(Indicator, Indicator.id == ProgrammedMeta.indicator_id),
        period.year, unit_clave))
    for indicator_id, code, meta in metas:
        result.calendars.setdefault(indicator_id, {})[code] = meta
    if not result.rules and not result.calendars:
        return result
    own = or_(Indicator.id.in_(select(Ficha.indicator_id)),
              Indicator.id.in_(select(ProgrammedMeta.indicator_id)))
    rows = session.exec(year_scoped(
        select(ReportedValue.indicator_id, ReportedValue.period, ReportedValue.value,
               ReportedValue.meta)
        .join(Indicator, Indicator.id == ReportedValue.indicator_id)
        .where(own, ReportedValue.period_start >= date(period.year, 1, 1),
               ReportedValue.period_start <= period.end)
        .order_by(ReportedValue.indicator_id, ReportedValue.period_end,
                  ReportedValue.period_start.desc()),
        period.year, unit_clave))
    values: dict[int, list[YearValue]] = defaultdict(list)
    for indicator_id, code, value, meta in rows:
        values[indicator_id].append(YearValue(code, value, meta))
    result.values = dict(values)
    return result


class LineFigures(NamedTuple):
    value: Decimal | None
    meta: Decimal
    attainment: Decimal | None
    cumulative: Decimal | None
    expected: Decimal
    annual_target: Decimal | None
    status: Status


def year_metas(frequency: Frequency, year: int, indicator_meta: Decimal,
               calendar: dict[str, Decimal]) -> dict[int, Decimal]:
    """The programmed meta of each of the year's periods, by index (the even split default)."""
    return {index: calendar.get(Period._of_kind(year, frequency.kind, index).code,
                                indicator_meta)
            for index in range(1, frequency.periods_per_year + 1)}


def line_figures(*, rules: FichaRules, frequency: Frequency, year: int,
                 indicator_meta: Decimal, calendar: dict[str, Decimal],
                 slots: Sequence[tuple[str, int]], counted: int, due: bool, complete: bool,
                 year_values: Sequence[YearValue], fallback_expected: Decimal) -> LineFigures:
    """One line's figures by its ficha. ``slots``: (code, index) of the line's periods;
    ``counted``: bit mask of the slots counted (due or reported; all when none is)."""
    by_index = year_metas(frequency, year, indicator_meta, calendar)
    reported = {v.period: v for v in year_values}

    def programmed(code: str, index: int) -> Decimal:
        if code in calendar:
            return calendar[code]
        if code in reported:
            return reported[code].meta
        return by_index[index]

    acumulacion = rules.acumulacion
    counted_slots = [slot for i, slot in enumerate(slots) if counted >> i & 1]
    values = [reported[code].value for code, _ in slots if code in reported]
    value = accumulate(values, acumulacion)
    metas = [programmed(code, index) for code, index in counted_slots]
    last_code, last_index = counted_slots[-1]
    if acumulacion is Acumulacion.SUMA:
        meta = sum(metas, _ZERO)
    elif acumulacion is Acumulacion.PROMEDIO:
        meta = sum(metas, _ZERO) / len(metas)
    elif acumulacion is Acumulacion.ACUMULADO:
        meta = sum((programmed(Period._of_kind(year, frequency.kind, i).code, i)
                    for i in range(1, last_index + 1)), _ZERO)
    else:
        meta = programmed(last_code, last_index)
    percent = None if value is None else attainment(value, meta, rules.sentido)
    if due and not complete:
        status = Status.MISSING
    elif value is None:
        status = Status.NOT_DUE
    else:
        status = state(value, meta, rules)

    annual = sum(by_index.values(), _ZERO)
    year_figures = [v.value for v in year_values]
    cumulative: Decimal | None = None
    if acumulacion is Acumulacion.SUMA:
        if annual != 0:
            cumulative = sum(year_figures, _ZERO) * HUNDRED / annual
    elif year_figures:
        if acumulacion is Acumulacion.ACUMULADO:
            whole = annual
        elif acumulacion is Acumulacion.PROMEDIO:
            whole = annual / len(by_index)
        else:
            whole = by_index[max(by_index)]
        if whole != 0:
            cumulative = accumulate(year_figures, acumulacion) * HUNDRED / whole
    expected = expected_progress(by_index, slots[-1][1], acumulacion)
    return LineFigures(
        value=value, meta=meta, attainment=percent, cumulative=cumulative,
        expected=fallback_expected if expected is None else expected,
        annual_target=annual if acumulacion is Acumulacion.SUMA else None, status=status)
