"""What is still to be reported: per person (for /reportar, /pendientes, reminders) and per
unit (for the escalation to gerentes).

An indicator of frequency F is due for each period of F of its own POA year (a monthly one
for 2023-03, a quarterly one for 2023-Q1, ...). It is pending for a period while it has no
``ReportedValue`` for that period's code, or (reminders and the escalation, through
:func:`_owed_rows`) while its ficha makes evidence mandatory and it has none
(:mod:`bot.services.evidence`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_
from sqlmodel import Session, col, select

from bot.domain.calendar import ReportingCalendar
from bot.domain.periods import Period
from bot.services import evidence, locks, stand_ins
from storage.models import ROLE_COORDINADOR, Indicator, Person, PersonUnit, ReportedValue, Unit


def _missing_query(period: Period):
    """Indicators due for ``period`` without a value, with their unit, in report order."""
    return (select(Indicator, Unit)
            .join(Unit, Unit.id == Indicator.unit_id)
            .outerjoin(ReportedValue, and_(ReportedValue.indicator_id == Indicator.id,
                                           ReportedValue.period == period.code))
            .where(Indicator.year == period.year,
                   Indicator.frecuencia == period.frequency.value,
                   ReportedValue.id == None)  # noqa: E711
            .order_by(Unit.clave, Indicator.position, Indicator.id))


def _owed_rows(session: Session, period: Period) -> list[tuple[Indicator, Unit]]:
    """Missing values, then values still owing mandatory evidence (an indicator is in one
    list or the other: the evidence one needs a value)."""
    return [*session.exec(_missing_query(period)).all(),
            *session.exec(evidence.lacking_query(period)).all()]


def person_units(session: Session, person_id: int) -> list[Unit]:
    """The units a person answers for, by clave."""
    return list(session.exec(select(Unit).join(PersonUnit, PersonUnit.unit_id == Unit.id)
                             .where(PersonUnit.person_id == person_id)
                             .order_by(Unit.clave)).all())


def pending_indicators(session: Session, person_id: int, period: Period,
                       unit_clave: str | None = None,
                       today: date | None = None) -> list[Indicator]:
    """Due indicators of the person's units (or of one of them) for ``period`` that have no
    value yet, ordered by unit clave and report position. Ignores locks and the calendar:
    ask :func:`reportable_periods` or :func:`bot.services.locks.is_open` for that. Given the
    local ``today``, units the person covers as a stand-in count as theirs."""
    if today is not None:  # approval branch: stand-ins
        query = _missing_query(period).where(col(Indicator.unit_id).in_(
            stand_ins.answerable_unit_ids(person_id, today)))
    else:
        query = (_missing_query(period)
                 .join(PersonUnit, PersonUnit.unit_id == Indicator.unit_id)
                 .where(PersonUnit.person_id == person_id))
    if unit_clave is not None:
        query = query.where(Unit.clave == unit_clave)
    return [indicator for indicator, _unit in session.exec(query).all()]


def candidate_periods(session: Session, now: datetime,
                      calendar: ReportingCalendar) -> list[Period]:
    """Periods that may accept values at ``now``: those in their calendar window plus those a
    gerente reopened, provided they have ended; most recent first."""
    periods = set(calendar.reportable_periods(now))
    periods.update(p for p in locks.reopened_periods(session) if calendar.has_ended(p, now))
    return sorted(periods, key=lambda p: (p.end, p.start), reverse=True)


def reportable_periods(session: Session, person_id: int, now: datetime,
                       calendar: ReportingCalendar) -> list[Period]:
    """Periods the person can report now: ended, open (calendar and locks) for at least one
    of the person's units, and with something pending in such a unit. Most recent first
    (2023-03 before 2023-Q1 before 2023-02)."""
    claves = [unit.clave for unit in person_units(session, person_id)]
    if not claves:
        return []
    result = []
    for period in candidate_periods(session, now, calendar):
        for clave in sorted(locks.open_units(session, period, claves, now, calendar)):
            if pending_indicators(session, person_id, period, clave):
                result.append(period)
                break
    return result


@dataclass
class UnitPending:
    """A unit's missing indicators for one period and who answers for them."""

    clave: str
    nombre: str
    indicators: list[Indicator] = field(default_factory=list)
    responsible: list[str] = field(default_factory=list)  # names of active coordinadores
    unreachable: list[str] = field(default_factory=list)  # those of them who blocked the bot
    # Stand-ins covering the unit on the day asked: (stand-in, absent coordinador, last day).
    covering: list[tuple[str, str, date]] = field(default_factory=list)


def pending_by_unit(session: Session, period: Period,
                    today: date | None = None) -> dict[str, UnitPending]:
    """Units with indicators still missing for ``period`` (ordered by clave), each with its
    missing indicators and the names of the active coordinadores responsible for it (and,
    separately, which of them blocked the bot); given ``today``, also who stands in for it."""
    result: dict[str, UnitPending] = {}
    for indicator, unit in sorted(_owed_rows(session, period),
                                  key=lambda row: (row[1].clave, row[0].position, row[0].id)):
        entry = result.setdefault(unit.clave, UnitPending(unit.clave, unit.nombre))
        entry.indicators.append(indicator)
    if result:
        rows = session.exec(select(Unit.clave, Person.name, Person.unreachable_since)
                            .join(PersonUnit, PersonUnit.unit_id == Unit.id)
                            .join(Person, Person.id == PersonUnit.person_id)
                            .where(Unit.clave.in_(list(result)), Person.active == True,  # noqa: E712
                                   Person.role == ROLE_COORDINADOR)
                            .order_by(Person.name)).all()
        for clave, name, unreachable_since in rows:
            result[clave].responsible.append(name)
            if unreachable_since is not None:
                result[clave].unreachable.append(name)
        if today is not None:
            for clave, covering in stand_ins.covering_units_today(session, today).items():
                if clave in result:
                    result[clave].covering.extend(covering)
    return result


@dataclass(frozen=True)
class PersonPending:
    """What one coordinador has pending for one period, in units open now."""

    person_id: int
    period: Period
    unit_claves: tuple[str, ...]
    count: int


def pending_for_coordinators(session: Session, period: Period, now: datetime,
                             calendar: ReportingCalendar,
                             unit_claves: list[str] | None = None) -> dict[int, PersonPending]:
    """For reminders, in a few queries whatever the number of people: every active
    coordinador with indicators pending for ``period`` in units open at ``now`` (only the
    units in ``unit_claves`` when given: a gerente's ``/recordar`` of their gerencia)."""
    wanted = None if unit_claves is None else set(unit_claves)
    missing_per_unit: dict[str, int] = defaultdict(int)
    for _indicator, unit in _owed_rows(session, period):
        if wanted is None or unit.clave in wanted:
            missing_per_unit[unit.clave] += 1
    open_claves = locks.open_units(session, period, missing_per_unit, now, calendar)
    if not open_claves:
        return {}
    rows = session.exec(select(PersonUnit.person_id, Unit.clave)
                        .join(Unit, Unit.id == PersonUnit.unit_id)
                        .join(Person, Person.id == PersonUnit.person_id)
                        .where(Unit.clave.in_(sorted(open_claves)), Person.active == True,  # noqa: E712
                               Person.role == ROLE_COORDINADOR)
                        .order_by(PersonUnit.person_id, Unit.clave)).all()
    per_person: dict[int, list[str]] = defaultdict(list)
    for person_id, clave in rows:
        per_person[person_id].append(clave)
    # approval branch: stand-ins are reminded of the units they cover today, too.
    for person_id, claves in stand_ins.covering_reminders(
            session, open_claves, calendar.local(now).date()).items():
        per_person[person_id] = sorted(set(per_person[person_id]) | claves)
    return {pid: PersonPending(pid, period, tuple(claves),
                               sum(missing_per_unit[c] for c in claves))
            for pid, claves in per_person.items()}
