"""The demo's database: the POA report, the people, and the instant the demo starts at.

Everything here goes through the same services the CLI and the bot use (the importer,
``register_directly``), so what the demo shows is what production would do with that report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from bot.domain.calendar import ReportingCalendar
from bot.domain.periods import Period, period_from_code
from bot.poa_report import read_report
from bot.services.importer import ImportResult, import_report
from bot.services.registration import register_directly
from storage.models import ROLE_COORDINADOR, ROLE_GERENTE, Indicator, ReportedValue, Unit

SEED_REPORT_NAME = "poa-2023-t1-gerencia-comercial.tsv"
GERENTE_USER_ID = 1000
COORDINADOR_USER_ID_BASE = 10_000  # + the unit's clave (303 -> 10303) when it is a number
FIRST_REMINDER_LEAD = timedelta(hours=1)  # the demo starts this long before the first reminder


def seed_report() -> Path:
    """The first-quarter 2023 report shipped with the package (``bot/data``)."""
    return Path(str(resources.files("bot") / "data" / SEED_REPORT_NAME))


@dataclass(frozen=True)
class DemoPerson:
    """Someone the web chat lets you be: their Telegram user id is also their chat id."""

    user_id: int
    name: str
    role: str  # ROLE_GERENTE | ROLE_COORDINADOR
    units: tuple[tuple[str, str], ...]  # (clave, nombre)


def load_report(session: Session, path: Path, now: datetime) -> ImportResult:
    """Import ``path`` (catalog and history), as ``poa-bot import-poa`` does."""
    return import_report(session, read_report(path), now=now)


def create_people(session: Session, now: datetime) -> list[DemoPerson]:
    """A gerente and one coordinador per unit of the catalog (again: nothing changes)."""
    people = [DemoPerson(GERENTE_USER_ID, "Gerente Comercial", ROLE_GERENTE, ())]
    units = session.exec(select(Unit).where(Unit.id.in_(select(Indicator.unit_id)))
                         .order_by(Unit.clave)).all()
    for position, unit in enumerate(units):
        user_id = (COORDINADOR_USER_ID_BASE + int(unit.clave) if unit.clave.isdigit()
                   else COORDINADOR_USER_ID_BASE * 2 + position)
        people.append(DemoPerson(user_id, f"Coordinador {unit.clave}", ROLE_COORDINADOR,
                                 ((unit.clave, unit.nombre),)))
    for person in people:
        register_directly(session, telegram_user_id=person.user_id, role=person.role,
                          unit_claves=[clave for clave, _ in person.units], name=person.name,
                          now=now)
    return people


def start_time(session: Session, calendar: ReportingCalendar) -> datetime:
    """An hour before the first reminder for the month after the last one with values:
    the seed's March is reported, so the demo opens on 1 May 2023 at 08:00, April just ended
    and due, its reminder at 09:00 one jump away. A catalog without values starts at its
    January."""
    months = [period_from_code(code) for code in
              session.exec(select(ReportedValue.period).distinct()).all()]
    months = [p for p in months if p.kind == "M"]
    if months:
        month = max(months).next()
    else:
        year = session.exec(select(func.min(Indicator.year))).one()
        if year is None:
            raise ValueError("el reporte no tiene indicadores")
        month = Period.month(year, 1)
    first = calendar.stages_of(month)[0].at
    return max(first - FIRST_REMINDER_LEAD, calendar.opens_at(month))
