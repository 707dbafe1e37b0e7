"""The summary of a period: per unit and indicator, meta, value, attainment and who is missing.

:func:`build_summary` returns a :class:`Summary` made of frozen dataclasses; the CLI
(``poa-bot resumen``), the Telegram ``/resumen`` and the POA export all render this one
structure, so none of them recomputes anything. Every percentage is in percent points at
full Decimal precision; round only to display (``bot.domain.numbers.round_display``).

How a line is formed for an asked period P (``2023-03``, ``2023-Q1``, ``2023-S1``, ``2023``):

* **Indicator periods no longer than P** (a monthly indicator in a quarter, semester or
  year, or in its own month): the line covers P itself. Its value is Σ of the values of its
  periods inside P for ``'sum'`` indicators, the last of them for ``'last'`` ones; its meta is
  the meta of each of those periods added up (only the periods already due or reported,
  so a period still running is judged "to date"; all of them when none is).
* **Indicator periods longer than P** (a quarterly indicator asked for March): the line
  shows the indicator's period that contains P's last day (``2023-Q1`` for March,
  ``2023-S1`` for March too, with its value if it was already reported). It is due only when
  that period ends with P (Q1 in a March summary); otherwise it is NOT_DUE unless reported.
* **Meta of a past period** is the one stored with its value (``ReportedValue.meta``: what
  it was reported against); periods without a value use ``Indicator.meta``.
* **Cumulative progress** uses every value of the year whose period starts on or before
  P's last day (so an S1 value reported early counts in March) against the annual target
  ``meta in force × periods per year``; the meta in force is that of the indicator's period
  containing P's last day.
* **Due** means the period has ended (``period.end < today``) and lies inside P. A line is
  MISSING when any of its due periods has no value; **late** when a value arrived after
  the deadline (``ReportedValue.late``) or a due period is still unreported after its
  deadline day (``deadline_day`` of the following month).
* **Completeness**: indicators (lines) with every due period reported ÷ lines due; units
  with all their due lines reported ÷ units with something due. **Timeliness**: lines
  reported completely and with no late value ÷ lines due.

SQL: five set-based statements whatever the number of indicators (catalog, the values
overlapping P, per-indicator year sums with ``SUM … GROUP BY``, the last value of each
``'last'`` indicator with ``ROW_NUMBER()``, and the units' coordinadores).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import func
from sqlmodel import Session, select

from bot.domain.attainment import (
    AGGREGATE_LAST,
    AGGREGATE_SUM,
    DEFAULT_BANDS,
    STATUS_ORDER,
    Bands,
    Status,
    aggregate_values,
    completeness,
    cumulative_progress,
    expected_progress,
    is_due,
    is_overdue,
    line_status,
    percent_attainment,
    period_attainment,
    timeliness,
)
from bot.domain.periods import Frequency, Period
from storage.models import (
    ROLE_COORDINADOR,
    Indicator,
    Person,
    PersonUnit,
    ReportedValue,
    Unit,
)


@dataclass(frozen=True)
class IndicatorLine:
    """One indicator in the summary. Percentages in percent points, unrounded."""

    indicator_id: int
    unit_clave: str
    accion: str
    nombre: str
    unidad_medida: str
    frecuencia: str  # Frequency value: MENSUAL, TRIMESTRAL, SEMESTRAL, ANUAL
    aggregation: str  # 'sum' | 'last'
    position: int
    period: str  # the line's own period code (P itself, or e.g. 2023-Q1 in a March summary)
    meta: Decimal  # meta over the line's period (see module docstring)
    value: Decimal | None  # None: nothing reported for the line's period
    observaciones: str  # remarks of the latest reported period with any
    attainment: Decimal | None  # value ÷ meta × 100 (None: no value or meta 0)
    cumulative: Decimal | None  # % of the annual target so far (None: meta 0 / no % value)
    expected: Decimal  # % of the year elapsed at the asked period's end
    annual_target: Decimal | None  # 'sum': meta in force × periods per year; 'last': None
    status: Status
    due: bool  # at least one of the line's periods is due
    late: bool  # a late value, or a due period unreported past its deadline
    due_periods: tuple[str, ...] = ()
    missing_periods: tuple[str, ...] = ()  # due periods without a value

    @property
    def reported(self) -> bool:
        """Has a value and no due period is missing."""
        return self.value is not None and not self.missing_periods


@dataclass(frozen=True)
class UnitSummary:
    clave: str
    nombre: str
    lines: list[IndicatorLine]
    responsible: list[str]  # names of the unit's active coordinadores
    all_reported: bool  # every due line is complete
    late: bool  # any line late


@dataclass(frozen=True)
class Completeness:
    units_reported: int
    units_due: int
    indicators_reported: int
    indicators_due: int

    @property
    def units_ratio(self) -> Decimal | None:
        return completeness(self.units_reported, self.units_due)

    @property
    def indicators_ratio(self) -> Decimal | None:
        return completeness(self.indicators_reported, self.indicators_due)


@dataclass(frozen=True)
class Timeliness:
    on_time: int  # due lines reported completely, no value late
    due: int
    late: int  # due lines flagged late

    @property
    def ratio(self) -> Decimal | None:
        return timeliness(self.on_time, self.due)


@dataclass(frozen=True)
class MissingReport:
    """Who owes what: one indicator with due periods and no value."""

    unit_clave: str
    unit_nombre: str
    indicator_id: int
    indicador: str
    periods: tuple[str, ...]
    responsible: tuple[str, ...]
    overdue: bool  # past the deadline day


@dataclass(frozen=True)
class Summary:
    period: Period
    today: date
    bands: Bands
    expected: Decimal
    units: list[UnitSummary]
    completeness: Completeness
    timeliness: Timeliness
    status_counts: Mapping[Status, int] = field(default_factory=dict)  # every Status present
    missing: list[MissingReport] = field(default_factory=list)

    @property
    def lines(self) -> Iterator[IndicatorLine]:
        for unit in self.units:
            yield from unit.lines

    @property
    def is_empty(self) -> bool:
        return not self.units


class _StoredValue(NamedTuple):  # a tuple: tens of thousands are built per year summary
    period: str
    value: Decimal
    meta: Decimal
    observaciones: str
    late: bool


def build_summary(session: Session, period: Period, *, unit_clave: str | None = None,
                  today: date | None = None, bands: Bands | None = None,
                  deadline_day: int = 5) -> Summary:
    """Summarise ``period`` (its year's catalog), optionally for one unit."""
    today = today or date.today()
    bands = bands or DEFAULT_BANDS
    catalog = _catalog(session, period.year, unit_clave)
    values = _values_overlapping(session, period, unit_clave)
    year_sums = _year_sums(session, period, unit_clave)
    last_values = _last_values(session, period, unit_clave)
    responsible = _responsible(session, unit_clave)
    expected = expected_progress(period)

    by_unit: dict[int, list[IndicatorLine]] = defaultdict(list)
    unit_names: dict[int, tuple[str, str]] = {}
    plans: dict[str, _Plan] = {}  # by frecuencia: the calendar work is done once per kind
    for indicator, clave, nombre in catalog:
        if indicator.frecuencia not in plans:
            plans[indicator.frecuencia] = _plan(Frequency.parse(indicator.frecuencia), period,
                                                today, deadline_day)
        unit_names[indicator.unit_id] = (clave, nombre)
        by_unit[indicator.unit_id].append(_line(
            indicator, clave, plans[indicator.frecuencia], values.get(indicator.id, {}),
            year_sums.get(indicator.id, Decimal(0)), last_values.get(indicator.id),
            expected, bands))

    units: list[UnitSummary] = []
    missing: list[MissingReport] = []
    for unit_id, lines in by_unit.items():
        clave, nombre = unit_names[unit_id]
        people = responsible.get(unit_id, [])
        units.append(UnitSummary(
            clave=clave, nombre=nombre, lines=lines, responsible=people,
            all_reported=all(not line.missing_periods for line in lines),
            late=any(line.late for line in lines)))
        missing.extend(
            MissingReport(unit_clave=clave, unit_nombre=nombre, indicator_id=line.indicator_id,
                          indicador=line.nombre, periods=line.missing_periods,
                          responsible=tuple(people), overdue=line.late)
            for line in lines if line.missing_periods)

    all_lines = [line for unit in units for line in unit.lines]
    due_lines = [line for line in all_lines if line.due]
    counts = Counter(line.status for line in all_lines)
    return Summary(
        period=period, today=today, bands=bands, expected=expected, units=units,
        completeness=Completeness(
            units_reported=sum(1 for u in units if _unit_due(u) and u.all_reported),
            units_due=sum(1 for u in units if _unit_due(u)),
            indicators_reported=sum(1 for line in due_lines if not line.missing_periods),
            indicators_due=len(due_lines)),
        timeliness=Timeliness(
            on_time=sum(1 for line in due_lines if not line.missing_periods and not line.late),
            due=len(due_lines),
            late=sum(1 for line in due_lines if line.late)),
        status_counts={status: counts.get(status, 0) for status in STATUS_ORDER},
        missing=missing)


def _unit_due(unit: UnitSummary) -> bool:
    return any(line.due for line in unit.lines)


def line_periods(frequency: Frequency, period: Period) -> tuple[Period, list[Period]]:
    """The period a line covers and the indicator's own periods inside it (see docstring)."""
    if frequency.months <= period.month_count:
        return period, period.subperiods(frequency)
    own = Period.containing(period.end, frequency)
    return own, [own]


@dataclass(frozen=True)
class _Slot:
    """One of the indicator's own periods in a line, with its calendar facts precomputed."""

    code: str
    index: int  # position within the year (3 for March, 1 for Q1)
    due: bool
    overdue: bool  # due and past its deadline day


@dataclass(frozen=True)
class _Plan:
    """What a line of a given frequency covers; the same for every indicator of it."""

    frequency: Frequency
    shown: str
    slots: tuple[_Slot, ...]


def _plan(frequency: Frequency, asked: Period, today: date, deadline_day: int) -> _Plan:
    shown, own = line_periods(frequency, asked)
    slots = []
    for p in own:
        due = p.end <= asked.end and is_due(p, today)
        slots.append(_Slot(p.code, p.index, due, due and is_overdue(p, today, deadline_day)))
    return _Plan(frequency, shown.code, tuple(slots))


def _line(indicator: Indicator, unit_clave: str, plan: _Plan,
          stored: dict[str, _StoredValue], year_sum: Decimal, last_value: Decimal | None,
          expected: Decimal, bands: Bands) -> IndicatorLine:
    per_year = plan.frequency.periods_per_year
    slots = plan.slots
    due = [slot for slot in slots if slot.due]
    reported = [slot for slot in slots if slot.code in stored]
    missing = [slot for slot in due if slot.code not in stored]
    counted = [slot for slot in slots if slot.due or slot.code in stored] or list(slots)

    def meta_of(slot: _Slot) -> Decimal:
        return stored[slot.code].meta if slot.code in stored else indicator.meta

    value = aggregate_values([stored[slot.code].value for slot in reported],
                             indicator.aggregation)
    if indicator.aggregation == AGGREGATE_LAST:
        meta = meta_of(counted[-1])
        attainment = None if value is None else percent_attainment(
            value, meta_of(reported[-1]), per_year, reported[-1].index)
        cumulative = cumulative_progress(
            [] if last_value is None else [last_value], meta, per_year, AGGREGATE_LAST)
    else:
        meta = sum((meta_of(slot) for slot in counted), Decimal(0))
        attainment = None if value is None else period_attainment(value, meta)
        cumulative = cumulative_progress([year_sum], meta_of(slots[-1]), per_year,
                                         AGGREGATE_SUM)
    remarks = [stored[s.code].observaciones for s in reported if stored[s.code].observaciones]
    late = (any(stored[slot.code].late for slot in reported)
            or any(slot.overdue for slot in missing))
    return IndicatorLine(
        indicator_id=indicator.id, unit_clave=unit_clave, accion=indicator.accion,
        nombre=indicator.nombre, unidad_medida=indicator.unidad_medida,
        frecuencia=plan.frequency.value, aggregation=indicator.aggregation,
        position=indicator.position, period=plan.shown, meta=meta, value=value,
        observaciones=remarks[-1] if remarks else "", attainment=attainment,
        cumulative=cumulative, expected=expected,
        annual_target=(None if indicator.aggregation == AGGREGATE_LAST
                       else meta_of(slots[-1]) * per_year),
        status=line_status(value, attainment, due=bool(due), complete=not missing,
                           bands=bands),
        due=bool(due), late=late, due_periods=tuple(slot.code for slot in due),
        missing_periods=tuple(slot.code for slot in missing))


# --- queries (a fixed number, whatever the catalog size) -----------------------------------

def _scoped(statement, year: int, unit_clave: str | None):
    """Restrict a statement joined to Indicator to one POA year (and unit)."""
    statement = statement.where(Indicator.year == year)
    if unit_clave is not None:
        statement = statement.join(Unit, Unit.id == Indicator.unit_id).where(
            Unit.clave == unit_clave)
    return statement


def _catalog(session: Session, year: int, unit_clave: str | None):
    statement = (select(Indicator, Unit.clave, Unit.nombre)
                 .join(Unit, Unit.id == Indicator.unit_id)
                 .where(Indicator.year == year)
                 .order_by(Unit.clave, Indicator.position, Indicator.id))
    if unit_clave is not None:
        statement = statement.where(Unit.clave == unit_clave)
    return session.exec(statement).all()


def _values_overlapping(session: Session, period: Period,
                        unit_clave: str | None) -> dict[int, dict[str, _StoredValue]]:
    statement = _scoped(
        select(ReportedValue.indicator_id, ReportedValue.period, ReportedValue.value,
               ReportedValue.meta, ReportedValue.observaciones, ReportedValue.late)
        .join(Indicator, Indicator.id == ReportedValue.indicator_id)
        .where(ReportedValue.period_start <= period.end,
               ReportedValue.period_end >= period.start),
        period.year, unit_clave)
    result: dict[int, dict[str, _StoredValue]] = defaultdict(dict)
    # Core execution: plain rows, without the ORM's per-row loading (tens of thousands).
    for indicator_id, code, value, meta, remarks, late in session.connection().execute(
            statement):
        result[indicator_id][code] = _StoredValue(code, value, meta, remarks or "", bool(late))
    return result


def _year_sums(session: Session, period: Period, unit_clave: str | None) -> dict[int, Decimal]:
    """Σ of each 'sum' indicator's values of the year up to the asked period (exact SUM)."""
    statement = _scoped(
        select(ReportedValue.indicator_id, func.sum(ReportedValue.value))
        .join(Indicator, Indicator.id == ReportedValue.indicator_id)
        .where(Indicator.aggregation == AGGREGATE_SUM,
               ReportedValue.period_start >= date(period.year, 1, 1),
               ReportedValue.period_start <= period.end),
        period.year, unit_clave).group_by(ReportedValue.indicator_id)
    return {indicator_id: Decimal(total) for indicator_id, total in session.exec(statement)}


def _last_values(session: Session, period: Period, unit_clave: str | None) -> dict[int, Decimal]:
    """The latest value of the year up to the asked period of each 'last' indicator."""
    rank = func.row_number().over(
        partition_by=ReportedValue.indicator_id,
        order_by=(ReportedValue.period_end.desc(), ReportedValue.period_start.asc()),
    ).label("rank")
    ranked = _scoped(
        select(ReportedValue.indicator_id, ReportedValue.value, rank)
        .join(Indicator, Indicator.id == ReportedValue.indicator_id)
        .where(Indicator.aggregation == AGGREGATE_LAST,
               ReportedValue.period_start >= date(period.year, 1, 1),
               ReportedValue.period_start <= period.end),
        period.year, unit_clave).subquery()
    statement = select(ranked.c.indicator_id, ranked.c.value).where(ranked.c.rank == 1)
    return dict(session.exec(statement).all())


def _responsible(session: Session, unit_clave: str | None) -> dict[int, list[str]]:
    statement = (select(PersonUnit.unit_id, Person.name, Person.id)
                 .join(Person, Person.id == PersonUnit.person_id)
                 .where(Person.role == ROLE_COORDINADOR, Person.active)
                 .order_by(Person.name, Person.id))
    if unit_clave is not None:
        statement = statement.join(Unit, Unit.id == PersonUnit.unit_id).where(
            Unit.clave == unit_clave)
    result: dict[int, list[str]] = defaultdict(list)
    for unit_id, name, person_id in session.exec(statement):
        result[unit_id].append(name or f"persona {person_id}")
    return result
