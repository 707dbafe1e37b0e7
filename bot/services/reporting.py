"""Reporting use cases: what a unit owes, the indicator card, saving values and remarks.

Every change of a reported value appends a :class:`Revision` in the same transaction, so the
log and the figure can never disagree. Whether a period accepts changes is decided by
``bot.services.locks`` (calendar + a gerente's overrides) and checked again at save time: a
conversation that began before a period closed cannot slip a value in after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from bot.domain.calendar import ReportingCalendar
from bot.domain.periods import Period, PeriodError, period_from_code
from bot.services import locks, pending
from storage.models import (
    AGGREGATE_LAST,
    Indicator,
    PersonUnit,
    ReportedValue,
    Revision,
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


@dataclass(frozen=True)
class SummaryRow:
    indicator_id: int
    nombre: str
    unidad_medida: str
    percent: bool
    value: Decimal | None
    observaciones: str
    late: bool


# --- access ---------------------------------------------------------------------------------

def unit_for_person(session: Session, person_id: int, unit_clave: str) -> Unit | None:
    """The unit if the person answers for it, else None (forged or stale data)."""
    return session.exec(select(Unit).join(PersonUnit, col(PersonUnit.unit_id) == col(Unit.id))
                        .where(PersonUnit.person_id == person_id, Unit.clave == unit_clave)
                        ).first()


def indicator_for_person(session: Session, person_id: int,
                         indicator_id: int) -> tuple[Indicator, Unit] | None:
    """The indicator and its unit if it belongs to one of the person's units, else None."""
    row = session.exec(select(Indicator, Unit).join(Unit, col(Unit.id) == col(Indicator.unit_id))
                       .join(PersonUnit, col(PersonUnit.unit_id) == col(Unit.id))
                       .where(Indicator.id == indicator_id, PersonUnit.person_id == person_id)
                       ).first()
    return (row[0], row[1]) if row else None


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
        count = len(pending.pending_indicators(session, person_id, period, unit_clave))
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


def next_pending(session: Session, person_id: int, unit_clave: str,
                 period: Period) -> tuple[Indicator | None, int, int]:
    """(first pending indicator or None, its 1-based position, total due) for the unit."""
    missing = pending.pending_indicators(session, person_id, period, unit_clave)
    total = len(unit_indicators(session, unit_clave, period))
    if not missing:
        return None, total, total
    return missing[0], total - len(missing) + 1, total


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
                               bool(stored and stored.late)))
    return rows


# --- the card -------------------------------------------------------------------------------

def stored_value(session: Session, indicator_id: int, period: Period) -> ReportedValue | None:
    return session.exec(select(ReportedValue).where(ReportedValue.indicator_id == indicator_id,
                                                    ReportedValue.period == period.code)).first()


def history(session: Session, indicator_id: int, period: Period) -> list[ReportedValue]:
    """Values of the indicator for periods that ended before ``period`` began, latest first."""
    return list(session.exec(
        select(ReportedValue).where(ReportedValue.indicator_id == indicator_id,
                                    ReportedValue.period_end < period.start)
        .order_by(col(ReportedValue.period_end).desc()).limit(HISTORY_LENGTH)).all())


def indicator_card(session: Session, indicator: Indicator, unit: Unit,
                   period: Period) -> IndicatorCard:
    earlier = history(session, indicator.id, period)
    stored = stored_value(session, indicator.id, period)
    return IndicatorCard(
        id=indicator.id, unit_clave=unit.clave, unit_nombre=unit.nombre,
        nombre=indicator.nombre, descripcion=indicator.descripcion, meta=indicator.meta,
        unidad_medida=indicator.unidad_medida, percent=is_percent(indicator),
        period_code=period.code,
        previous=(earlier[0].period, earlier[0].value) if earlier else None,
        current=stored.value if stored else None,
        observaciones=stored.observaciones if stored else "")


def history_values(session: Session, indicator_id: int, period: Period) -> list[Decimal]:
    return [v.value for v in history(session, indicator_id, period)]


# --- saving ---------------------------------------------------------------------------------

def ensure_open(session: Session, period: Period, unit_clave: str, now: datetime,
                calendar: ReportingCalendar) -> None:
    if not locks.is_open(session, period, unit_clave, now, calendar):
        raise ReportingError(
            "closed", f"El periodo {period.label} ya está cerrado para la unidad {unit_clave}; "
            "si necesitas capturar o corregir, pide a tu gerente que lo reabra (/reabrir).")


def save_value(session: Session, *, indicator: Indicator, unit_clave: str, period: Period,
               value: Decimal, person_id: int, now: datetime, calendar: ReportingCalendar,
               reason: str = "", source: str = SOURCE_TELEGRAM) -> ReportedValue:
    """Store (or change) the value of ``indicator`` for ``period`` and log the revision."""
    ensure_open(session, period, unit_clave, now, calendar)
    row = stored_value(session, indicator.id, period)
    old_value = row.value if row else None
    if row is None:
        row = ReportedValue(indicator_id=indicator.id, period=period.code, year=period.year,
                            period_start=period.start, period_end=period.end, value=value,
                            meta=indicator.meta, observaciones="", reported_by_id=person_id,
                            reported_at=now, source=source,
                            late=calendar.is_late(period, now))
    else:
        row.value, row.reported_by_id, row.reported_at = value, person_id, now
    session.add(row)
    session.add(Revision(indicator_id=indicator.id, period=period.code, old_value=old_value,
                         new_value=value, old_observaciones=None, new_observaciones=None,
                         person_id=person_id, at=now, reason=reason, source=source))
    session.flush()
    return row


def save_remarks(session: Session, *, indicator: Indicator, unit_clave: str, period: Period,
                 text: str, person_id: int, now: datetime, calendar: ReportingCalendar,
                 source: str = SOURCE_TELEGRAM) -> ReportedValue:
    """Set the observaciones of an already stored value (logged as a revision)."""
    if len(text) > MAX_REMARKS:
        raise ReportingError("too_long", f"máximo {MAX_REMARKS} caracteres")
    ensure_open(session, period, unit_clave, now, calendar)
    row = stored_value(session, indicator.id, period)
    if row is None:
        raise ReportingError("no_value", "Ese indicador aún no tiene valor en este periodo.")
    if row.observaciones != text:
        session.add(Revision(indicator_id=indicator.id, period=period.code,
                             old_value=row.value, new_value=row.value,
                             old_observaciones=row.observaciones, new_observaciones=text,
                             person_id=person_id, at=now, reason="observaciones",
                             source=source))
        row.observaciones = text
        session.add(row)
    session.flush()
    return row
