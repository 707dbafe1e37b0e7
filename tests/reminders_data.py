"""Small catalog builders for the calendar, pending, lock and reminder tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlmodel import Session

from bot.domain.periods import Frequency, Period
from storage.models import (
    ROLE_COORDINADOR,
    ROLE_GERENTE,
    Indicator,
    Person,
    PersonUnit,
    ReportedValue,
    Unit,
)

CREATED = datetime(2023, 1, 1, tzinfo=UTC)


def add_unit(session: Session, clave: str, nombre: str | None = None) -> Unit:
    unit = Unit(clave=clave, nombre=nombre or f"Unidad {clave}")
    session.add(unit)
    session.flush()
    return unit


def add_indicator(session: Session, unit: Unit, nombre: str, *, year: int = 2023,
                  frecuencia: Frequency = Frequency.MONTHLY, position: int = 0) -> Indicator:
    indicator = Indicator(year=year, unit_id=unit.id, accion=f"Acción {nombre}", nombre=nombre,
                          meta=Decimal(10), frecuencia=frecuencia.value, position=position)
    session.add(indicator)
    session.flush()
    return indicator


def add_person(session: Session, name: str, *, role: str = ROLE_COORDINADOR,
               units: tuple[Unit, ...] = (), user_id: int | None = None,
               active: bool = True) -> Person:
    person = Person(telegram_user_id=user_id, chat_id=user_id, name=name, role=role,
                    active=active, created_at=CREATED)
    session.add(person)
    session.flush()
    for unit in units:
        session.add(PersonUnit(person_id=person.id, unit_id=unit.id))
    session.flush()
    return person


def add_gerente(session: Session, name: str, user_id: int | None = None) -> Person:
    return add_person(session, name, role=ROLE_GERENTE, user_id=user_id)


def report(session: Session, indicator: Indicator, period: Period,
           value: Decimal = Decimal(1)) -> ReportedValue:
    row = ReportedValue(indicator_id=indicator.id, period=period.code, year=period.year,
                        period_start=period.start, period_end=period.end, value=value,
                        meta=indicator.meta, reported_at=CREATED, source="cli")
    session.add(row)
    session.flush()
    return row
