"""Reporting use cases: what a unit owes, the indicator card, saving values and remarks.

Every change of a reported value appends a :class:`Revision` in the same transaction, so the
log and the figure can never disagree. Whether a period accepts changes is decided by
``bot.services.locks`` (calendar + a gerente's overrides) and checked again at save time: a
conversation that began before a period closed cannot slip a value in after.

Why one file past 400 lines: a report step's reads and writes are tuned together (prebuilt
plain statements, a slot read in one query, writes without the ORM's unit of work; see
``bench/bench_live.py --part cpu``); split, the statements and the code that relies on their
shape would live apart.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import and_, bindparam, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot.domain.attainment import Bands
from bot.domain.calendar import ReportingCalendar
from bot.domain.periods import Period, PeriodError, period_from_code
from bot.domain.short_names import display_name
from bot.services import fichas, locks, ownership, pending, revision_log, stand_ins
from bot.services.fichas import FichaView
from bot.services.ownership import StoredValue
from bot.services.registration import UnitView
from storage.models import (
    AGGREGATE_LAST,
    Ficha,
    Indicator,
    PersonUnit,
    ProgrammedMeta,
    ReportedValue,
    Unit,
)

SOURCE_TELEGRAM = "telegram"
MAX_REMARKS = 1000
HISTORY_LENGTH = 12


class ReportingError(ValueError):
    """A refused change; ``reason`` is stable, ``str()`` is Spanish for people."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def is_percent(indicator: Indicator) -> bool:
    return indicator.aggregation == AGGREGATE_LAST or indicator.unidad_medida.strip() == "%"


@dataclass(frozen=True)
class IndicatorCard:
    """What a person sees before typing a value."""

    id: int
    unit_clave: str
    unit_nombre: str
    nombre: str
    descripcion: str
    meta: Decimal
    unidad_medida: str
    percent: bool
    period_code: str
    previous: tuple[str, Decimal] | None  # (period code, value) of the latest earlier value
    current: Decimal | None  # the value already stored for this period, if any
    observaciones: str
    short_name: str = ""  # what a phone shows (bot.domain.short_names.display_name)

    @property
    def name(self) -> str:
        return self.short_name or self.nombre


@dataclass(frozen=True)
class SummaryRow:
    indicator_id: int
    nombre: str
    unidad_medida: str
    percent: bool
    value: Decimal | None
    observaciones: str
    late: bool
    short_name: str | None = None  # the office's, if set (display: short_names.display_name)


# --- statements of every report step -------------------------------------------------------
# Built once with bind parameters: building a SQLAlchemy expression (and its cache key) on
# every call cost more than running it on the database.

# Plain rows throughout (ORM objects for them cost more than the queries): an indicator's
# columns, with its unit's prefixed ``u_`` (see UnitRow) and a value's prefixed ``v_``.
_INDICATOR_AND_UNIT = (*Indicator.__table__.c,
                       *(column.label(f"u_{column.name}") for column in Unit.__table__.c))
# The value stored for a period and those of periods that ended before it began (sorted by
# period_end, latest first, the stored one comes first: it ends last).
_AROUND_PERIOD = or_(col(ReportedValue.period) == bindparam("code"),
                     col(ReportedValue.period_end) < bindparam("start"))

# The value a year before (``before_year``, ``before_code``) of the same unit's indicator of
# the same name: the card of pending values shows it.
_OLD, _OLD_VALUE = aliased(Indicator), aliased(ReportedValue)
_LAST_YEAR = (
    select(_OLD_VALUE.value).join(_OLD, col(_OLD.id) == col(_OLD_VALUE.indicator_id))
    .where(col(_OLD.year) == bindparam("before_year"),
           col(_OLD.unit_id) == col(Indicator.unit_id), col(_OLD.nombre) == col(Indicator.nombre),
           col(_OLD.frecuencia) == col(Indicator.frecuencia),
           col(_OLD_VALUE.period) == bindparam("before_code"))
    .limit(1).scalar_subquery())

# The latest value of the indicator in a period that ended before ``start``: found once per
# indicator by its id, then joined (a subquery per column would look it up once for each).
_EARLIER, _LATER = aliased(ReportedValue), aliased(ReportedValue)
_LATEST_EARLIER_ID = (
    select(_LATER.id).where(col(_LATER.indicator_id) == col(Indicator.id),
                            col(_LATER.period_end) < bindparam("start"))
    .order_by(col(_LATER.period_end).desc()).limit(1).scalar_subquery())

# A unit's indicators due in a period and whether each has a value; with what the card of
# pending values shows besides: the meta programmed for the period (NULL: the even split,
# Indicator.meta), last year's value and the latest earlier one (see UnitProgress).
_UNIT_PROGRESS = (
    select(*_INDICATOR_AND_UNIT, ReportedValue.id.label("value_id"),
           ProgrammedMeta.meta.label("programmed"), _LAST_YEAR.label("last_year"),
           _EARLIER.period.label("previous_period"), _EARLIER.value.label("previous_value"))
    .join(Unit, col(Unit.id) == col(Indicator.unit_id))
    .outerjoin(ReportedValue, and_(col(ReportedValue.indicator_id) == col(Indicator.id),
                                   col(ReportedValue.period) == bindparam("code")))
    .outerjoin(_EARLIER, col(_EARLIER.id) == _LATEST_EARLIER_ID)
    .outerjoin(ProgrammedMeta, and_(col(ProgrammedMeta.indicator_id) == col(Indicator.id),
                                    col(ProgrammedMeta.period) == bindparam("code")))
    .where(col(Unit.clave) == bindparam("clave"), col(Indicator.year) == bindparam("year"),
           col(Indicator.frecuencia) == bindparam("frecuencia"))
    .order_by(Indicator.position, Indicator.id))

# A slot in one query: the indicator, its unit, its values around the period (without any,
# one row of NULLs), the period's lock decisions for the unit (the save checks them) and the
# ficha that judges a value typed (see ValueSlot.ficha_and_calendar).
_SLOT = (
    select(*_INDICATOR_AND_UNIT,
           *(column.label(f"v_{column.name}") for column in ReportedValue.__table__.c),
           locks.decision_for(col(Unit.clave)).label("lock_unit"),
           locks.decision_for(locks.ALL_UNITS).label("lock_all"),
           *fichas.CARRIED_FICHA)
    .join(Unit, col(Unit.id) == col(Indicator.unit_id))
    .outerjoin(Ficha, col(Ficha.indicator_id) == col(Indicator.id))
    .outerjoin(ReportedValue, and_(col(ReportedValue.indicator_id) == col(Indicator.id),
                                   _AROUND_PERIOD))
    .where(col(Indicator.id) == bindparam("indicator_id"))
    .order_by(col(ReportedValue.period_end).desc()).limit(HISTORY_LENGTH + 1))
# ...of one of the person's own units.
_SLOT_FOR_PERSON = _SLOT.join(PersonUnit, col(PersonUnit.unit_id) == col(Unit.id)).where(
    col(PersonUnit.person_id) == bindparam("person_id"))

# The log of a change, a remark's update and a correction, written as they are made rather
# than through the ORM's unit of work (building and flushing the objects was a third of a
# report step's cost).
_SET_REMARKS = revision_log.Logged(
    update(ReportedValue.__table__).where(ReportedValue.__table__.c.id == bindparam("row_id"))
    .values(observaciones=bindparam("observaciones")))
_CORRECT = revision_log.Logged(
    update(ReportedValue.__table__).where(ReportedValue.__table__.c.id == bindparam("row_id"))
    .values({name: bindparam(name) for name in (
        "value", "reported_by_id", "reported_at", "source", "on_behalf_of_id")}))


# --- access ---------------------------------------------------------------------------------

def due_in(indicator: Indicator, period: Period) -> bool:
    """Whether the indicator is measured for this period (its year and frequency)."""
    return indicator.year == period.year and indicator.frecuencia == period.frequency.value


def parse_period_code(code: str) -> Period | None:
    try:
        return period_from_code(code)
    except PeriodError:
        return None


# --- what is owed ---------------------------------------------------------------------------

def open_periods_for_unit(session: Session, unit_clave: str, now: datetime,
                          calendar: ReportingCalendar) -> list[Period]:
    """Ended periods open for the unit now (calendar and locks), most recent first."""
    return [p for p in pending.candidate_periods(session, now, calendar)
            if locks.is_open(session, p, unit_clave, now, calendar)]


def reportable_periods_for_unit(session: Session, person_id: int, unit_clave: str,
                                now: datetime, calendar: ReportingCalendar,
                                ) -> list[tuple[Period, int]]:
    """(period, pending count) for periods of the unit that are open and still owe values."""
    result = []
    for period in open_periods_for_unit(session, unit_clave, now, calendar):
        count = len(pending.pending_indicators(session, person_id, period, unit_clave,
                                               today=calendar.local(now).date()))
        if count:
            result.append((period, count))
    return result


def correctable_periods_for_unit(session: Session, unit_clave: str, now: datetime,
                                 calendar: ReportingCalendar) -> list[Period]:
    """Open periods of the unit that already have at least one value."""
    result = []
    for period in open_periods_for_unit(session, unit_clave, now, calendar):
        has_value = session.exec(
            select(ReportedValue.id).join(Indicator, col(Indicator.id)
                                          == col(ReportedValue.indicator_id))
            .join(Unit, col(Unit.id) == col(Indicator.unit_id))
            .where(ReportedValue.period == period.code, Unit.clave == unit_clave)).first()
        if has_value is not None:
            result.append(period)
    return result


class UnitRow(NamedTuple):
    """A unit as the report steps read it: its columns, not an ORM object (read-only)."""

    id: int
    clave: str
    nombre: str
    gerencia_id: int | None

    @classmethod
    def of(cls, row) -> UnitRow:
        """The unit of a row that carries its columns as ``u_…``."""
        return cls(row.u_id, row.u_clave, row.u_nombre, row.u_gerencia_id)


@dataclass(frozen=True)
class UnitProgress:
    """A unit's indicators due for a period: those still without a value (report order) and
    how many there are in all."""

    unit: UnitRow | None  # None: the unit has no indicator of the period's frequency
    # Plain rows with the indicator's columns (read-only), and ``programmed`` (the period's
    # programmed meta, None: Indicator.meta), ``last_year`` (None: no value a year before)
    # and ``previous_period``/``previous_value`` (the latest earlier value, or None).
    missing: list[Indicator]
    total: int

    def missing_cards(self, period: Period) -> list[IndicatorCard]:
        """The cards of the missing indicators, from these rows alone (a missing one has no
        value stored for the period, and its latest earlier one came with it)."""
        return [indicator_card(row, self.unit, period, None,
                               None if row.previous_period is None
                               else (row.previous_period, row.previous_value))
                for row in self.missing]

    @property
    def position(self) -> int:
        """1-based position of the first missing indicator (total when none is missing)."""
        return self.total - len(self.missing) + 1 if self.missing else self.total


def unit_progress(session: Session, unit_clave: str, period: Period) -> UnitProgress:
    """The unit's progress for ``period`` in one query. The caller has checked that the unit
    is the person's."""
    before = period.year_before()
    rows = session.connection().execute(_UNIT_PROGRESS, {
        "clave": unit_clave, "year": period.year, "frecuencia": period.frequency.value,
        "code": period.code, "start": period.start, "before_year": before.year,
        "before_code": before.code}).all()
    return UnitProgress(UnitRow.of(rows[0]) if rows else None,
                        [row for row in rows if row.value_id is None], len(rows))


def unit_indicators(session: Session, unit_clave: str, period: Period) -> list[Indicator]:
    return list(session.exec(
        select(Indicator).join(Unit, col(Unit.id) == col(Indicator.unit_id))
        .where(Unit.clave == unit_clave, Indicator.year == period.year,
               Indicator.frecuencia == period.frequency.value)
        .order_by(Indicator.position, Indicator.id)).all())


def summary_rows(session: Session, unit_clave: str, period: Period) -> list[SummaryRow]:
    """Every indicator the unit owes for the period, with what is stored (or None)."""
    indicators = unit_indicators(session, unit_clave, period)
    values = {v.indicator_id: v for v in session.exec(select(ReportedValue).where(
        ReportedValue.period == period.code,
        col(ReportedValue.indicator_id).in_([i.id for i in indicators])))}
    rows = []
    for indicator in indicators:
        stored = values.get(indicator.id)
        rows.append(SummaryRow(indicator.id, indicator.nombre, indicator.unidad_medida,
                               is_percent(indicator), stored.value if stored else None,
                               stored.observaciones if stored else "",
                               bool(stored and stored.late), indicator.short_name))
    return rows


# --- the card -------------------------------------------------------------------------------

def _split_around(values: list, period: Period) -> tuple[StoredValue | None, list]:
    """Values of one indicator, latest first (the one of ``period``, if any, a StoredValue):
    (the one of ``period``, up to HISTORY_LENGTH earlier ones)."""
    if values and values[0].period == period.code:
        return values[0], list(values[1:HISTORY_LENGTH + 1])
    return None, list(values[:HISTORY_LENGTH])


@dataclass
class ValueSlot:
    """One indicator's value for one period, as read once at the start of a step: the
    indicator, its unit, the stored value (None while pending) and the values of earlier
    periods, latest first. The step builds the card, the plausibility history and the save
    from it instead of asking the database again for each."""

    indicator: Indicator  # or a plain row of its columns (read-only either way)
    unit: Unit | UnitRow
    period: Period
    stored: StoredValue | None
    earlier: list  # plain rows of reported_values
    # True: read through the person's own units, so a save is not on anyone's behalf and
    # needs no stand-in look-up; False: a unit they cover (ask stand_ins.on_behalf_of).
    own: bool
    # The period's explicit lock decisions for the unit, read with the slot (a save checks
    # them: locks.open_given).
    lock_overrides: dict[str, bool]

    def ficha_and_calendar(self, session: Session,
                           bands: Bands) -> tuple[FichaView, dict[str, Decimal]]:
        """The ficha and programmed metas that judge a value of this slot (a slot of
        :func:`load_slot`, whose row carries the ficha: fichas.CARRIED_FICHA)."""
        return fichas.carried_ficha_and_calendar(session, self.indicator, bands)

    def card(self) -> IndicatorCard:
        return indicator_card(
            self.indicator, self.unit, self.period, self.stored,
            (self.earlier[0].period, self.earlier[0].value) if self.earlier else None)

    def history_values(self) -> list[Decimal]:
        return [v.value for v in self.earlier]

    def all_earlier(self) -> list | None:
        """Every value of an earlier period, when ``earlier`` was not cut at HISTORY_LENGTH
        (an indicator belongs to one POA year, so that is its whole year so far); None when
        it may have been."""
        return self.earlier if len(self.earlier) < HISTORY_LENGTH else None


def load_slot(session: Session, person_id: int, indicator_id: int,
              period: Period, today: date | None = None) -> ValueSlot | None:
    """The slot if the indicator belongs to one of the person's units (or, given the local
    ``today``, one they cover as a stand-in) and is due in ``period``, else None (forged or
    stale data)."""
    connection = session.connection()
    params = {"indicator_id": indicator_id, "code": period.code, "start": period.start}
    rows = connection.execute(_SLOT_FOR_PERSON, {**params, "person_id": person_id}).all()
    own = bool(rows)
    if not rows and today is not None:  # approval branch: a stand-in's covered unit
        rows = connection.execute(_SLOT.where(col(Unit.id).in_(
            stand_ins.covered_unit_ids(person_id, today))), params).all()
    if not rows or not due_in(rows[0], period):
        return None
    first = rows[0]
    values = [StoredValue.of(row, prefix="v_") for row in rows if row.v_id is not None]
    return ValueSlot(first, UnitRow.of(first), period, *_split_around(values, period), own=own,
                     lock_overrides=locks.overrides_of(first.u_clave, first.lock_unit,
                                                       first.lock_all))


def indicator_card(indicator: Indicator, unit: Unit | UnitRow | UnitView, period: Period,
                   stored: StoredValue | None,
                   previous: tuple[str, Decimal] | None) -> IndicatorCard:
    """What is shown of an indicator before a value is typed for ``period``."""
    return IndicatorCard(
        id=indicator.id, unit_clave=unit.clave, unit_nombre=unit.nombre,
        nombre=indicator.nombre, descripcion=indicator.descripcion, meta=indicator.meta,
        unidad_medida=indicator.unidad_medida, percent=is_percent(indicator),
        period_code=period.code, previous=previous,
        current=stored.value if stored else None,
        observaciones=stored.observaciones if stored else "",
        short_name=display_name(indicator.nombre, indicator.short_name))


# --- saving ---------------------------------------------------------------------------------

def _on_behalf_of(session: Session, slot: ValueSlot, person_id: int | None, now: datetime,
                  calendar: ReportingCalendar) -> int | None:
    """The absent coordinador a stand-in enters this value for (None: their own unit)."""
    if slot.own or person_id is None:
        return None
    return stand_ins.on_behalf_of(session, person_id, slot.unit.id, calendar.local(now).date())


def ensure_open(session: Session, period: Period, unit_clave: str, now: datetime,
                calendar: ReportingCalendar, overrides: dict[str, bool] | None = None) -> None:
    """Refuse a closed period; ``overrides`` are its lock decisions when already read."""
    if overrides is None:
        overrides = locks.lock_overrides(session, period)
    if not locks.open_given(overrides, period, unit_clave, now, calendar):
        raise ReportingError(
            "closed", f"El periodo {period.label} ya está cerrado para la unidad {unit_clave}; "
            "si necesitas capturar o corregir, pide a tu gerente que lo reabra (/reabrir).")


class ValueTaken(ReportingError):
    """The slot already holds a value this save did not expect (someone else's, or one
    stored since the person saw the question): nothing was written. ``owner`` says whose."""

    def __init__(self, owner: ownership.Owner):
        super().__init__("taken", "Ese indicador ya tiene un valor para este periodo.")
        self.owner = owner


def save_value(session: Session, slot: ValueSlot, value: Decimal, *, person_id: int,
               now: datetime, calendar: ReportingCalendar, reason: str = "",
               expected: Decimal | None = None,
               source: str = SOURCE_TELEGRAM) -> StoredValue:
    """Store (or change) the slot's value and log the revision; ``slot.stored`` follows.

    Nobody's figure is overwritten without knowing it: a first value is inserted only if the
    slot is still empty (two people at the same instant: one wins, the other gets
    :class:`ValueTaken` with the winner); changing a stored value needs a ``reason`` and, when
    ``expected`` is given, that the stored value is still the one the person saw. A changed
    row takes the ``source``, person and time of the change, so an import never overwrites
    a figure somebody corrected."""
    ensure_open(session, slot.period, slot.unit.clave, now, calendar, slot.lock_overrides)
    indicator, period, row = slot.indicator, slot.period, slot.stored
    behalf = _on_behalf_of(session, slot, person_id, now, calendar)

    def revision(old_value: Decimal | None) -> dict:
        return {"indicator_id": indicator.id, "period": period.code, "old_value": old_value,
                "new_value": value, "old_observaciones": None, "new_observaciones": None,
                "person_id": person_id, "at": now, "reason": reason, "source": source,
                "on_behalf_of_id": behalf}

    if row is None:
        row = ownership.insert_first(session, {
            "indicator_id": indicator.id, "period": period.code, "year": period.year,
            "period_start": period.start, "period_end": period.end, "value": value,
            "meta": indicator.meta, "observaciones": "", "reported_by_id": person_id,
            "reported_at": now, "source": source, "late": calendar.is_late(period, now),
            "on_behalf_of_id": behalf}, revision(None))
        if row is None:
            slot.stored = ownership.current_row(session, indicator.id, period.code)
            raise ValueTaken(ownership.owner_of(session, slot.stored, calendar))
    else:
        row = ownership.locked_row(session, row.id)
        if not reason or (expected is not None and row.value != expected):
            slot.stored = row
            raise ValueTaken(ownership.owner_of(session, row, calendar))
        changes = {"value": value, "reported_by_id": person_id, "reported_at": now,
                   "source": source, "on_behalf_of_id": behalf}
        _CORRECT.execute(session, {"row_id": row.id, **changes}, revision(row.value))
        row = replace(row, **changes)
    slot.stored = row
    return row


def save_remarks(session: Session, slot: ValueSlot, text: str, *, person_id: int,
                 now: datetime, calendar: ReportingCalendar,
                 source: str = SOURCE_TELEGRAM) -> StoredValue:
    """Set the observaciones of an already stored value (logged as a revision)."""
    if len(text) > MAX_REMARKS:
        raise ReportingError("too_long", f"máximo {MAX_REMARKS} caracteres")
    ensure_open(session, slot.period, slot.unit.clave, now, calendar, slot.lock_overrides)
    row = slot.stored
    if row is None:
        raise ReportingError("no_value", "Ese indicador aún no tiene valor en este periodo.")
    if row.observaciones != text:
        revision = {"indicator_id": slot.indicator.id, "period": slot.period.code,
                    "old_value": row.value, "new_value": row.value,
                    "old_observaciones": row.observaciones, "new_observaciones": text,
                    "person_id": person_id, "at": now, "reason": "observaciones",
                    "source": source,
                    "on_behalf_of_id": _on_behalf_of(session, slot, person_id, now, calendar)}
        _SET_REMARKS.execute(session, {"row_id": row.id, "observaciones": text}, revision)
        row = slot.stored = replace(row, observaciones=text)
    return row
