"""Who reviews a unit's periods in the approval cycle (:mod:`bot.services.approval`).

The active gerentes who reach the unit (:func:`bot.services.scope.gerentes_for_units`: their
gerencia's units; with a single gerencia, every gerente) and, while one of them is away, their
stand-in of the day (another gerente or planeación: :func:`bot.services.stand_ins.
covered_gerentes`). They get the unit's review requests and decisions, and only they may
approve or return them.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from bot.services import scope, stand_ins
from storage.models import ROLE_GERENTE, Person, Unit


def reviewer_ids(session: Session, unit_id: int, today: date) -> set[int]:
    """Active gerentes who reach the unit, and today's stand-ins of those gerentes."""
    clave = session.get(Unit, unit_id).clave
    gerentes = set(session.exec(select(Person.id).where(
        Person.role == ROLE_GERENTE, Person.active == True)))  # noqa: E712
    reach = scope.gerentes_for_units(session, gerentes)
    ids = {pid for pid, claves in reach.items() if claves is None or clave in claves}
    ids |= {stand_in_id for stand_in_id, absences in
            stand_ins.covered_gerentes(session, today).items()
            if any(absent_id in ids for absent_id, _ends in absences)}
    return ids


def may_review(session: Session, person_id: int, unit_id: int, today: date) -> bool:
    """Whether the person may approve or return the unit's periods on ``today``."""
    return person_id in reviewer_ids(session, unit_id, today)
