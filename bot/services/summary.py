"""The summary of a period: per unit and indicator, meta, value, attainment and who is missing.

:func:`build_summary` returns a :class:`Summary` made of frozen dataclasses; the CLI
(``poa-bot resumen``), the Telegram ``/resumen`` and the POA export all render this one
structure, so none of them recomputes anything. Every percentage is in percent points at
full Decimal precision; round only to display (``bot.domain.numbers.round_display``).

One file (past 400 lines) because it is one computation: the line plan (``_Plan``, which
periods a line covers and which are due), the two ways of forming a line (defaults in
SQL aggregates, fichas through :mod:`bot.services.summary_fichas`) and the set-based queries
that feed them share the per-frequency masks and row shapes; split apart, each half would
have to re-derive the other's bit layout. Presentation lives elsewhere
(``summary_front``, ``summary_pages``, ``bot/commands/resumen.py``).

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

Indicators with a ficha técnica or calendarised metas are judged by them instead (their
sentido, semáforo, accumulation and programmed metas; see :mod:`bot.services.summary_fichas`,
three more statements for the year, run only when the catalog (which carries a "has a
ficha / a calendar" flag per indicator) shows one); the rules above are the defaults.

SQL: five set-based statements whatever the number of indicators (catalog, each line's
values of P aggregated per indicator, per-indicator year sums with ``SUM … GROUP BY``, the
last value of each ``'last'`` indicator with ``ROW_NUMBER()``, and the units'
coordinadores). Python receives one row per indicator, never one per value: the state-wide
catalog (10,000 indicators, 120,000 values a year) asked for the year would otherwise build
a hundred thousand Decimals to add them up.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from sys import intern
from typing import NamedTuple

from sqlalchemy import and_, case, exists, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from bot.domain.attainment import (
    AGGREGATE_LAST,
    AGGREGATE_SUM,
    DEFAULT_BANDS,
    STATUS_ORDER,
    Bands,
    Status,
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
from bot.domain.calendar import EVERY_DAY, BusinessDays
from bot.domain.periods import Frequency, Period
from bot.services import evidence
from bot.services.approval import states_for as approval_states
from bot.services.summary_fichas import (
    YearFichas,
    line_figures,
    load_year_fichas,
    year_scoped,
)
from storage.models import (
    ROLE_COORDINADOR,
    Ficha,
    Indicator,
    Person,
    PersonUnit,
    ProgrammedMeta,
    ReportedValue,
    Unit,
)


@dataclass(frozen=True, slots=True)  # slots: ten thousand lines in a state-wide summary
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
    missing_periods: tuple[str, ...] = ()  # due periods without a value (or evidence, below)
    # Added for the gerente's first screen (bot.services.summary_front); ``late`` above
    # mixes a late value with an overdue absence, these keep them apart:
    late_periods: tuple[str, ...] = ()  # due periods whose value arrived late
    imported_periods: tuple[str, ...] = ()  # due periods whose value came from an import
    overdue_periods: tuple[str, ...] = ()  # missing periods past their deadline
    # Due periods with a value but without the evidence their ficha makes mandatory; they are
    # in missing_periods too (bot/services/evidence.py).
    evidence_missing: tuple[str, ...] = ()

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
    # approval branch: capturando | enviado | aprobado | devuelto for the asked period, or
    # None when approval is not required (bot.services.approval).
    approval: str | None = None


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
    on_time: int  # due lines reported completely, no value late, none imported
    due: int
    late: int  # due lines flagged late
    imported: int = 0  # due lines complete with an imported value: no timeliness known

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


class _Reported(NamedTuple):
    """What one indicator reported for the periods of its line, aggregated in SQL."""

    mask: int  # bit i set: the line's i-th period (``_Plan.slots[i]``) has a value
    total: Decimal  # Σ of those values
    meta_total: Decimal  # Σ of the metas they were reported against
    last_value: Decimal  # the value of the latest of them
    last_meta: Decimal  # and its meta
    late: bool  # any of them arrived late
    remark: str | None  # remarks of the latest of them with any
    late_mask: int = 0  # bits of the periods whose value arrived late
    import_mask: int = 0  # bits of the periods whose value came from an import


_NOTHING_REPORTED = _Reported(0, Decimal(0), Decimal(0), Decimal(0), Decimal(0), False, None)
SOURCE_IMPORT = "import"  # ReportedValue.source of imported history (bot.services.importer)


def timeliness_of(due_lines: Iterable[IndicatorLine]) -> Timeliness:
    """Timeliness of due lines. A line whose values came from an import has no timeliness:
    it is neither on time nor late (the report does not say when it arrived)."""
    due_lines = list(due_lines)
    complete = [line for line in due_lines if not line.missing_periods and not line.late]
    imported = sum(1 for line in complete if line.imported_periods)
    return Timeliness(on_time=len(complete) - imported, due=len(due_lines),
                      late=sum(1 for line in due_lines if line.late), imported=imported)


def build_summary(session: Session, period: Period, *, unit_clave: str | None = None,
                  today: date | None = None, bands: Bands | None = None,
                  deadline_day: int = 5, business_days: BusinessDays = EVERY_DAY,
                  approval_required: bool = False) -> Summary:
    """Summarise ``period`` (its year's catalog), optionally for one unit.

    ``business_days``: the reminders' calendar (``Settings.business_days``), so a deadline
    on a weekend or holiday moves as it does for reminders and the escalation. With
    ``approval_required``, each unit carries its approval state for ``period``."""
    today = today or date.today()
    bands = bands or DEFAULT_BANDS
    # The calendar work is done once per frequency, not once per indicator.
    plans = {frequency: _plan(frequency, period, today, deadline_day, business_days)
             for frequency in Frequency}
    catalog = _catalog(session, period.year, unit_clave)
    reported = _reported_in_period(session, period, plans.values(), unit_clave)
    year_sums = _year_sums(session, period, unit_clave)
    last_values = _last_values(session, period, unit_clave)
    responsible = _responsible(session, unit_clave)
    # Fichas and calendars are read only when the catalog says some indicator has one.
    fichas = (load_year_fichas(session, period, unit_clave)
              if any(row.ficha_id is not None or row.calendarised for row in catalog)
              else YearFichas())
    expected = expected_progress(period)
    approvals = (approval_states(session, period, unit_clave)  # approval branch
                 if approval_required else None)
    lacking = evidence.lacking_pairs(session, period.year, unit_clave)  # mandatory evidence

    by_unit: dict[int, list[IndicatorLine]] = defaultdict(list)
    unit_names: dict[int, tuple[str, str]] = {}
    plan_of: dict[str, _Plan] = {}  # by the stored frecuencia text
    # Each catalog row and its figures are let go as soon as its line is made (pop, not get):
    # at 10,000 indicators they weigh as much as the summary itself, and holding both at once
    # was the bot's peak of resident memory.
    catalog.reverse()
    while catalog:
        row = catalog.pop()
        plan = plan_of.get(row.frecuencia)
        if plan is None:
            plan = plan_of[row.frecuencia] = plans[Frequency.parse(row.frecuencia)]
        indicator_id, unit_id = row[0], row[1]
        if unit_id not in unit_names:
            unit_names[unit_id] = (row.clave, row.unit_nombre)
        line_reported = reported.pop((indicator_id, plan.kind), _NOTHING_REPORTED)
        if fichas.has_own(indicator_id):  # judged by its ficha / calendar (few indicators)
            line = _ficha_line(row, plan, line_reported, fichas, period.year, expected, bands)
        else:
            line = _line(row, plan, line_reported, year_sums.pop(indicator_id, _ZERO),
                         last_values.pop(indicator_id, None), expected, bands)
        by_unit[unit_id].append(_owing_evidence(line, lacking) if lacking else line)

    units: list[UnitSummary] = []
    missing: list[MissingReport] = []
    for unit_id, lines in by_unit.items():
        clave, nombre = unit_names[unit_id]
        people = responsible.get(unit_id, [])
        units.append(UnitSummary(
            clave=clave, nombre=nombre, lines=lines, responsible=people,
            all_reported=all(not line.missing_periods for line in lines),
            late=any(line.late for line in lines),
            approval=None if approvals is None else approvals.get(unit_id, "capturando")))
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
        timeliness=timeliness_of(due_lines),
        status_counts={status: counts.get(status, 0) for status in STATUS_ORDER},
        missing=missing)


_ZERO = Decimal(0)


def _owing_evidence(line: IndicatorLine, lacking: set[tuple[int, str]]) -> IndicatorLine:
    """A due period whose value lacks mandatory evidence stays missing (evidence hook)."""
    owed = tuple(code for code in line.due_periods if (line.indicator_id, code) in lacking)
    if not owed:
        return line
    return replace(line, missing_periods=tuple(sorted({*line.missing_periods, *owed})),
                   evidence_missing=owed)


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


class _MaskFacts(NamedTuple):
    """What follows from which of a line's periods have a value (``_Reported.mask``)."""

    missing_periods: tuple[str, ...]  # due periods without a value
    missing_count: int
    late_by_absence: bool  # one of those is past its deadline day
    overdue_periods: tuple[str, ...]  # those of them past their deadline day
    last_counted_reported: bool  # the last period due or reported has a value
    last_slot_reported: bool  # the line's last period has a value
    last_reported_index: int  # ``Period.index`` of the latest period with a value (0: none)


@dataclass(frozen=True)
class _Plan:
    """What a line of a given frequency covers; the same for every indicator of it.

    Bit ``i`` of a mask stands for ``slots[i]``; the facts of each mask seen are
    computed once (a summary of thousands of lines meets a handful of masks).
    """

    frequency: Frequency
    shown: str
    slots: tuple[_Slot, ...]
    # Derived from the above, kept as plain attributes for the per-line loop.
    kind: str
    frecuencia: str
    per_year: int
    due_mask: int
    due_periods: tuple[str, ...]
    facts: dict[int, _MaskFacts] = field(default_factory=dict, compare=False)
    codes_by_mask: dict[int, tuple[str, ...]] = field(default_factory=dict, compare=False)

    def due_codes(self, mask: int) -> tuple[str, ...]:
        """The codes of the due periods whose bit is set in ``mask``."""
        mask &= self.due_mask
        codes = self.codes_by_mask.get(mask)
        if codes is None:
            codes = self.codes_by_mask[mask] = tuple(
                slot.code for i, slot in enumerate(self.slots) if mask >> i & 1)
        return codes

    def facts_of(self, mask: int) -> _MaskFacts:
        facts = self.facts.get(mask)
        if facts is None:
            facts = self.facts[mask] = self._facts(mask)
        return facts

    def _facts(self, mask: int) -> _MaskFacts:
        slots = self.slots
        missing = [slot for i, slot in enumerate(slots) if slot.due and not mask >> i & 1]
        counted = self.due_mask | mask
        return _MaskFacts(
            missing_periods=tuple(slot.code for slot in missing),
            missing_count=len(missing),
            late_by_absence=any(slot.overdue for slot in missing),
            overdue_periods=tuple(slot.code for slot in missing if slot.overdue),
            # With nothing due or reported the line counts all its periods; the last of
            # them then has no value.
            last_counted_reported=bool(counted) and bool(mask >> (counted.bit_length() - 1) & 1),
            last_slot_reported=bool(mask >> (len(slots) - 1) & 1),
            last_reported_index=slots[mask.bit_length() - 1].index if mask else 0)


def _plan(frequency: Frequency, asked: Period, today: date, deadline_day: int,
          business_days: BusinessDays = EVERY_DAY) -> _Plan:
    shown, own = line_periods(frequency, asked)
    slots = []
    for p in own:
        due = p.end <= asked.end and is_due(p, today)
        slots.append(_Slot(p.code, p.index, due,
                           due and is_overdue(p, today, deadline_day, business_days)))
    return _Plan(frequency, shown.code, tuple(slots), kind=frequency.kind,
                 frecuencia=frequency.value, per_year=frequency.periods_per_year,
                 due_mask=sum(1 << i for i, slot in enumerate(slots) if slot.due),
                 due_periods=tuple(slot.code for slot in slots if slot.due))


def _line(row, plan: _Plan, reported: _Reported, year_sum: Decimal,
          last_value: Decimal | None, expected: Decimal, bands: Bands) -> IndicatorLine:
    """One line from the catalog row and its figures aggregated in SQL.

    Same rules as summing the line's stored periods one by one: a period without a value
    counts the indicator's meta, one with a value the meta it was reported against.
    """
    (indicator_id, _unit_id, accion, nombre, unidad_medida, _frecuencia, aggregation,
     position, indicator_meta, unit_clave, _unit_nombre) = row[:11]
    per_year = plan.per_year
    mask = reported.mask
    facts = plan.facts_of(mask)
    last_slot_meta = reported.last_meta if facts.last_slot_reported else indicator_meta
    if aggregation == AGGREGATE_LAST:
        value = reported.last_value if mask else None
        meta = reported.last_meta if facts.last_counted_reported else indicator_meta
        attainment = None if value is None else percent_attainment(
            value, reported.last_meta, per_year, facts.last_reported_index)
        cumulative = cumulative_progress(
            [] if last_value is None else [last_value], meta, per_year, AGGREGATE_LAST)
        annual_target = None
    else:
        value = reported.total if mask else None
        unreported = facts.missing_count if plan.due_mask | mask else len(plan.slots)
        meta = reported.meta_total + indicator_meta * unreported
        attainment = None if value is None else period_attainment(value, meta)
        cumulative = cumulative_progress([year_sum], last_slot_meta, per_year, AGGREGATE_SUM)
        annual_target = last_slot_meta * per_year
    missing_periods = facts.missing_periods
    due = plan.due_mask != 0
    # Interned: the cache holds a month and a year of the same catalog, and a unit of measure
    # repeats on thousands of lines; each text is then kept once (~5 MB at 10,000 lines).
    return IndicatorLine(
        indicator_id=indicator_id, unit_clave=intern(unit_clave), accion=intern(accion),
        nombre=intern(nombre), unidad_medida=intern(unidad_medida),
        frecuencia=plan.frecuencia, aggregation=intern(aggregation),
        position=position, period=plan.shown, meta=meta, value=value,
        observaciones=reported.remark or "", attainment=attainment,
        cumulative=cumulative, expected=expected, annual_target=annual_target,
        status=line_status(value, attainment, due=due, complete=not missing_periods,
                           bands=bands),
        due=due, late=reported.late or facts.late_by_absence,
        due_periods=plan.due_periods, missing_periods=missing_periods,
        late_periods=plan.due_codes(reported.late_mask),
        imported_periods=plan.due_codes(reported.import_mask),
        overdue_periods=facts.overdue_periods)


def _ficha_line(row, plan: _Plan, reported: _Reported, fichas: YearFichas, year: int,
                expected: Decimal, bands: Bands) -> IndicatorLine:
    """A line judged by the indicator's ficha and calendar (:mod:`bot.services.summary_fichas`)."""
    indicator_id, aggregation, indicator_meta = row[0], row[6], row[8]
    facts = plan.facts_of(reported.mask)
    counted = plan.due_mask | reported.mask or (1 << len(plan.slots)) - 1
    due = plan.due_mask != 0
    figures = line_figures(
        rules=fichas.rules_for(indicator_id, aggregation, indicator_meta, plan.per_year, bands),
        frequency=plan.frequency, year=year, indicator_meta=indicator_meta,
        calendar=fichas.calendars.get(indicator_id, {}),
        slots=[(slot.code, slot.index) for slot in plan.slots], counted=counted, due=due,
        complete=not facts.missing_periods, year_values=fichas.values.get(indicator_id, []),
        fallback_expected=expected)
    return IndicatorLine(
        indicator_id=indicator_id, unit_clave=row[9], accion=row[2], nombre=row[3],
        unidad_medida=row[4], frecuencia=plan.frecuencia, aggregation=aggregation,
        position=row[7], period=plan.shown, meta=figures.meta, value=figures.value,
        observaciones=reported.remark or "", attainment=figures.attainment,
        cumulative=figures.cumulative, expected=figures.expected,
        annual_target=figures.annual_target, status=figures.status, due=due,
        late=reported.late or facts.late_by_absence, due_periods=plan.due_periods,
        missing_periods=facts.missing_periods,
        late_periods=plan.due_codes(reported.late_mask),
        imported_periods=plan.due_codes(reported.import_mask),
        overdue_periods=facts.overdue_periods)


# --- queries (a fixed number, whatever the catalog size) -----------------------------------

def _catalog(session: Session, year: int, unit_clave: str | None):
    # Plain rows of the columns a line needs: no ORM objects for thousands of indicators.
    statement = (select(Indicator.id, Indicator.unit_id, Indicator.accion, Indicator.nombre,
                        Indicator.unidad_medida, Indicator.frecuencia, Indicator.aggregation,
                        Indicator.position, Indicator.meta, Unit.clave,
                        Unit.nombre.label("unit_nombre"),
                        Ficha.indicator_id.label("ficha_id"),
                        exists().where(ProgrammedMeta.indicator_id == Indicator.id)
                        .label("calendarised"))
                 .join(Unit, Unit.id == Indicator.unit_id)
                 .outerjoin(Ficha, Ficha.indicator_id == Indicator.id)
                 .where(Indicator.year == year)
                 .order_by(Unit.clave, Indicator.position, Indicator.id))
    if unit_clave is not None:
        statement = statement.where(Unit.clave == unit_clave)
    return session.connection().execute(statement).all()


def _reported_in_period(session: Session, period: Period, plans: Iterable[_Plan],
                        unit_clave: str | None) -> dict[tuple[int, str], _Reported]:
    """Per indicator and kind of period, its values for the asked period's lines, aggregated.

    Only rows whose code is one of a line's periods count (a monthly value of a quarterly
    indicator is not one of its periods); each code says its kind and its bit in the line's
    mask. The latest value (and the latest remark) is found by its code, the greatest of
    its kind (codes of one kind sort in time order: 2023-02 < 2023-10, 2023-Q1 < 2023-Q2),
    and read back through the (indicator_id, period) unique index: no sorting of the rows.
    The year asked then gives one row per indicator instead of twelve.
    """
    kind_of, bit_of = {}, {}
    for plan in plans:
        for i, slot in enumerate(plan.slots):
            kind_of[slot.code], bit_of[slot.code] = plan.kind, 1 << i
    value = ReportedValue
    has_remark = and_(value.observaciones.is_not(None), value.observaciones != "")
    rows = year_scoped(
        select(value.indicator_id, value.period, value.value, value.meta,
               case(kind_of, value=value.period).label("kind"),
               case(bit_of, value=value.period).label("bit"),
               case((value.late, 1), else_=0).label("late"),
               case((value.source == SOURCE_IMPORT, 1), else_=0).label("imported"),
               case((has_remark, value.period)).label("remark_period"))
        .join(Indicator, Indicator.id == value.indicator_id)
        .where(value.period.in_(sorted(kind_of))),
        period.year, unit_clave).subquery()
    # Grouped on the subquery's columns: PostgreSQL cannot match a GROUP BY on a CASE
    # with bound parameters to the same CASE in the select list.
    lines = (select(rows.c.indicator_id, rows.c.kind, func.sum(rows.c.bit).label("mask"),
                    func.sum(rows.c.value).label("total"),
                    func.sum(rows.c.meta).label("meta_total"),
                    func.max(rows.c.late).label("late"),
                    func.sum(rows.c.bit * rows.c.late).label("late_mask"),
                    func.sum(rows.c.bit * rows.c.imported).label("import_mask"),
                    func.max(rows.c.period).label("latest"),
                    func.max(rows.c.remark_period).label("remark_period"))
             .group_by(rows.c.indicator_id, rows.c.kind).subquery())
    latest, remarked = aliased(ReportedValue), aliased(ReportedValue)
    statement = (
        select(lines.c.indicator_id, lines.c.kind, lines.c.mask, lines.c.total,
               lines.c.meta_total, latest.value, latest.meta, lines.c.late,
               remarked.observaciones, lines.c.late_mask, lines.c.import_mask)
        .join(latest, and_(latest.indicator_id == lines.c.indicator_id,
                           latest.period == lines.c.latest))
        .outerjoin(remarked, and_(remarked.indicator_id == lines.c.indicator_id,
                                  remarked.period == lines.c.remark_period)))
    return {(indicator_id, kind): _Reported(int(mask), total, meta_total, last_value,
                                            last_meta, bool(late), remark, int(late_mask),
                                            int(import_mask))
            for (indicator_id, kind, mask, total, meta_total, last_value, last_meta, late, remark,
                 late_mask, import_mask) in session.connection().execute(statement)}


def _year_sums(session: Session, period: Period, unit_clave: str | None) -> dict[int, Decimal]:
    """Σ of each 'sum' indicator's values of the year up to the asked period (exact SUM)."""
    statement = year_scoped(
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
    ranked = year_scoped(
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
