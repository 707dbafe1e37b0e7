"""The first screen's actions: who can be reminded now, and an invitation for a unit nobody
answers for. Database work only (no Telegram); the sending itself is the ``/recordar``
machinery (:meth:`bot.scheduler.ReminderScheduler.remind_now` with ``person_id``), logged in
``reminder_log`` so nobody is reminded twice in a day, and the invitation is
:func:`bot.services.registration.create_invitation`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from bot.domain.calendar import ReportingCalendar
from bot.services import pending
from bot.services.registration import CreatedInvitation, create_invitation
from storage.models import ROLE_COORDINADOR, Person, PersonUnit, Unit


@dataclass(frozen=True)
class ReminderTarget:
    person_id: int
    name: str


def reminder_targets(session: Session, claves: Iterable[str], now: datetime,
                     calendar: ReportingCalendar) -> list[ReminderTarget]:
    """Active, reachable coordinadores of ``claves`` with something pending now in a period
    open for reporting (the ones ``/recordar`` would remind), in the order of ``claves``."""
    wanted = list(dict.fromkeys(claves))
    if not wanted:
        return []
    pending_people: set[int] = set()
    for period in pending.candidate_periods(session, now, calendar):
        pending_people.update(pending.pending_for_coordinators(session, period, now, calendar))
    if not pending_people:
        return []
    rows = session.exec(
        select(Unit.clave, Person.id, Person.name)
        .join(PersonUnit, PersonUnit.unit_id == Unit.id)
        .join(Person, Person.id == PersonUnit.person_id)
        .where(col(Unit.clave).in_(wanted), Person.active == True,  # noqa: E712
               Person.role == ROLE_COORDINADOR, col(Person.chat_id).is_not(None),
               col(Person.unreachable_since).is_(None), col(Person.id).in_(pending_people))
        .order_by(Person.name, Person.id)).all()
    order = {clave: i for i, clave in enumerate(wanted)}
    seen: dict[int, ReminderTarget] = {}
    for _clave, person_id, name in sorted(rows, key=lambda r: order[r[0]]):
        seen.setdefault(person_id, ReminderTarget(person_id, name or f"persona {person_id}"))
    return list(seen.values())


def coordinador_name(session: Session, person_id: int) -> str | None:
    """The name of an active coordinador (None: no such person, or not one)."""
    person = session.get(Person, person_id)
    if person is None or not person.active or person.role != ROLE_COORDINADOR:
        return None
    return person.name or f"persona {person_id}"


def has_responsible(session: Session, clave: str) -> bool | None:
    """Whether unit ``clave`` has an active coordinador (None: no such unit)."""
    unit = session.exec(select(Unit).where(Unit.clave == clave)).first()
    if unit is None:
        return None
    return session.exec(
        select(Person.id).join(PersonUnit, PersonUnit.person_id == Person.id)
        .where(PersonUnit.unit_id == unit.id, Person.active == True,  # noqa: E712
               Person.role == ROLE_COORDINADOR)).first() is not None


def invite_for_unit(session: Session, clave: str, *, now: datetime, days: int,
                    created_by_id: int) -> CreatedInvitation:
    """A single-use coordinador invitation for ``clave`` («Invitar responsable de 308»)."""
    return create_invitation(session, role=ROLE_COORDINADOR, unit_claves=[clave], name="",
                             now=now, days=days, created_by_id=created_by_id)
