"""``/equipo`` of a gerente with several gerencias: their gerencia's team only (issue 12).

:func:`bot.services.team.team_overview` lists everybody; here it is narrowed to what a
person reaches (:func:`bot.services.scope.visible_claves`): the units of their gerencia,
the coordinadores of those units, the gerentes of the same gerencia, and the pending
invitations for them, and the stand-ins one of those people is part of. Planeación people
are listed for information (they cover every gerencia) but only planeación, or any gerente
while there is a single gerencia, may manage them. :func:`may_manage` is the check every
team button goes through, so a forged id of somebody in another gerencia is refused like an
unknown one. Planeación, and gerentes while there is a single gerencia, see and manage
everybody as before.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from sqlmodel import Session, select

from bot.services import scope, team
from bot.services.registration import PersonView, UnitView
from storage.models import ROLE_COORDINADOR, Invitation, Person


def _same_gerencia_ids(session: Session, gerencia_id: int | None) -> tuple[set[int], set[int]]:
    """(person ids, invitation ids) of gerentes of ``gerencia_id``."""
    people = set(session.exec(select(Person.id).where(
        Person.gerencia_id == gerencia_id if gerencia_id is not None
        else Person.gerencia_id.is_(None))))
    invitations = set(session.exec(select(Invitation.id).where(
        Invitation.gerencia_id == gerencia_id if gerencia_id is not None
        else Invitation.gerencia_id.is_(None))))
    return people, invitations


def team_overview(session: Session, person: PersonView, now: datetime,
                  today: date | None = None) -> team.TeamOverview:
    overview = team.team_overview(session, now, today)
    claves = scope.visible_claves(session, person)
    if claves is None:
        return overview
    wanted = set(claves)
    gerentes, gerente_invitations = _same_gerencia_ids(session, person.gerencia_id)

    def mine(m: team.Member) -> bool:
        if m.role == ROLE_COORDINADOR:
            return any(clave in wanted for clave in m.unit_claves)
        return m.id in gerentes

    units = tuple(u for u in overview.units if u.clave in wanted)
    gerentes = tuple(m for m in overview.gerentes if mine(m))
    shown = {m.id for u in units for m in u.people} | {m.id for m in gerentes}
    return replace(
        overview,
        units=units,
        gerentes=gerentes,
        stand_ins=tuple(v for v in overview.stand_ins
                        if v.person_id in shown or v.stand_in_id in shown),
        manages_planeacion=False,
        without_units=(),
        inactive=tuple(m for m in overview.inactive if mine(m)),
        invitations=tuple(
            i for i in overview.invitations
            if (i.unit_claves and set(i.unit_claves) <= wanted)
            or (not i.unit_claves and i.id in gerente_invitations)))


def may_manage(session: Session, person: PersonView, now: datetime, *,
               person_id: int | None = None, invitation_id: int | None = None,
               clave: str | None = None) -> bool:
    """Whether ``person``'s /equipo reaches that person, invitation and unit."""
    if scope.visible_claves(session, person) is None:
        return True
    overview = team_overview(session, person, now)
    if person_id is not None:
        people = {m.id for u in overview.units for m in u.people}
        people |= {m.id for m in overview.gerentes + overview.inactive}
        if person_id not in people:
            return False
    if invitation_id is not None and invitation_id not in {i.id for i in overview.invitations}:
        return False
    return clave is None or scope.person_sees_unit(session, person, clave)


def known_units(session: Session, person: PersonView) -> list[UnitView]:
    claves = scope.visible_claves(session, person)
    units = team.known_units(session)
    return units if claves is None else [u for u in units if u.clave in set(claves)]
