"""One indicator through its year: each period's value, meta and light, and last year's value.

The figures of each period are the summary's (:func:`bot.services.summary.build_summary` of
that period, scoped to the indicator's unit), so the trend chart, ``/resumen`` and the
workbook show the same value, meta and traffic light for a period. Last year's indicator
is the one with the same identity (unit, acción, nombre) in the previous POA year; its
values are read as stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlmodel import Session, select

from bot.domain.attainment import AGGREGATE_LAST, Bands, Status, is_share_of_year
from bot.domain.periods import Frequency, Period, period_from_code
from bot.services.summary import build_summary
from storage.models import Indicator, ReportedValue, Unit


@dataclass(frozen=True)
class TrendPoint:
    period: Period
    value: Decimal | None  # None: not reported (never 0)
    meta: Decimal  # the programmed meta of the period (accumulated for a share-of-year %)
    status: Status
    last_year: Decimal | None  # the same period of last year, None: no value


@dataclass(frozen=True)
class IndicatorTrend:
    indicator_id: int
    unit_clave: str
    unit_nombre: str
    nombre: str
    unidad_medida: str
    frequency: Frequency
    year: int
    points: tuple[TrendPoint, ...]
    has_last_year: bool  # last year's POA had this indicator (it may still lack values)

    @property
    def is_percent(self) -> bool:
        return self.unidad_medida.strip() == "%"


def indicator_unit(session: Session, indicator_id: int) -> str | None:
    """The clave of the indicator's unit, None if there is no such indicator."""
    return session.exec(select(Unit.clave).join(Indicator, Indicator.unit_id == Unit.id)
                        .where(Indicator.id == indicator_id)).first()


def indicator_trend(session: Session, indicator_id: int, *, today: date,
                    bands: Bands | None = None, deadline_day: int = 5) -> IndicatorTrend | None:
    """The indicator's periods of its POA year with the summary's figures; None if unknown."""
    row = session.exec(select(Indicator, Unit).join(Unit, Unit.id == Indicator.unit_id)
                       .where(Indicator.id == indicator_id)).first()
    if row is None:
        return None
    indicator, unit = row
    frequency = Frequency.parse(indicator.frecuencia)
    previous = _last_year_values(session, indicator, frequency)
    points = []
    for period in Period.whole_year(indicator.year).subperiods(frequency):
        summary = build_summary(session, period, unit_clave=unit.clave, today=today,
                                bands=bands, deadline_day=deadline_day)
        line = next(line for line in summary.lines if line.indicator_id == indicator_id)
        meta = line.meta
        if indicator.aggregation == AGGREGATE_LAST and is_share_of_year(
                meta, frequency.periods_per_year):
            # 8.33 % a month of a cumulative % (25 % in March): the meta accumulated so far,
            # what the summary compares the value with (bot.domain.attainment).
            meta *= period.index
        points.append(TrendPoint(period, line.value, meta, line.status,
                                 (previous or {}).get(period.index)))
    return IndicatorTrend(
        indicator_id=indicator_id, unit_clave=unit.clave, unit_nombre=unit.nombre,
        nombre=indicator.nombre, unidad_medida=indicator.unidad_medida, frequency=frequency,
        year=indicator.year, points=tuple(points), has_last_year=previous is not None)


def _last_year_values(session: Session, indicator: Indicator,
                      frequency: Frequency) -> dict[int, Decimal] | None:
    """Last year's values of the same indicator by period index; None: no such indicator."""
    earlier = session.exec(select(Indicator.id).where(
        Indicator.year == indicator.year - 1, Indicator.unit_id == indicator.unit_id,
        Indicator.accion == indicator.accion, Indicator.nombre == indicator.nombre)).first()
    if earlier is None:
        return None
    values = {}
    for code, value in session.exec(select(ReportedValue.period, ReportedValue.value)
                                    .where(ReportedValue.indicator_id == earlier)):
        period = period_from_code(code)
        if period.frequency is frequency:
            values[period.index] = value
    return values
