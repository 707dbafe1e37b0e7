"""The team over time: who answers for which unit, and changing that.

Use cases shared by the chat (``/equipo``, :mod:`handlers.team`) and the command line
(``poa-bot people``, :mod:`bot.commands.people`):

* :func:`team_overview`: people per unit (role, units, last activity, reachable or blocked),
  units with nobody responsible, who stands in for whom today and soon, gerentes,
  planeación, inactive people and unused invitations;
* :func:`deactivate` / :func:`activate`: at once — an inactive person is a stranger to the bot
  (``registration.find_person`` returns None), gets no reminder nor escalation (the planners
  in ``bot.services.pending`` and ``bot.services.reminders`` select active people only), and
  their figures stay with their name. Their units are kept, so reactivating restores them;
  while inactive they do not count as the unit's responsible;
* :func:`assign_units`: replaces a coordinador's units (reminders and permissions follow at
  once: every step reads the person's units afresh);
* :func:`revoke_invitation`: an unused invitation stops working (it is expired now, so
  redeeming it says so; only its hash was ever stored).

Every change writes a :class:`~storage.models.PersonEvent` (who, when, what; ``actor_id``
None is the administrator at the command line). Refusals raise :class:`TeamError` whose
``str()`` is a Spanish sentence for people.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, delete, select

from bot.services import stand_ins
from bot.services.registration import UnitView
from storage.models import (
    ROLE_COORDINADOR,
    ROLE_GERENTE,
    ROLE_PLANEACION,
    Conversation,
    Invitation,
    Person,
    PersonEvent,
    PersonUnit,
    ReportedValue,
    Revision,
    Unit,
)

DEACTIVATE, ACTIVATE, ASSIGN, REVOKE = "deactivate", "activate", "assign", "revoke"
SEEN_RESOLUTION = timedelta(hours=1)  # last_seen_at is written at most this often


class TeamError(ValueError):
    """A refused change; ``str()`` is a Spanish message for people."""


@dataclass(frozen=True)
class Member:
    """A person as the team view shows them (detached from any session)."""

    id: int
    name: str
    role: str
    active: bool
    units: tuple[UnitView, ...]
    last_activity: datetime | None
    chat_id: int | None
    unreachable_since: datetime | None  # blocked the bot

    @property
    def reachable(self) -> bool:
        return self.chat_id is not None and self.unreachable_since is None

    @property
    def unit_claves(self) -> tuple[str, ...]:
        return tuple(u.clave for u in self.units)

    @property
    def label(self) -> str:
        return self.name or f"persona {self.id}"


@dataclass(frozen=True)
class UnitTeam:
    clave: str
    nombre: str
    people: tuple[Member, ...]  # active coordinadores; empty: nobody responsible
    covering: tuple[tuple[str, str, date], ...] = ()  # (stand-in, absent, last day) today


@dataclass(frozen=True)
class PendingInvitation:
    id: int
    role: str
    unit_claves: tuple[str, ...]
    name: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class TeamOverview:
    units: tuple[UnitTeam, ...]
    gerentes: tuple[Member, ...]
    without_units: tuple[Member, ...]  # active coordinadores with no unit
    inactive: tuple[Member, ...]
    invitations: tuple[PendingInvitation, ...]
    planeacion: tuple[Member, ...] = ()  # active planeación / dirección people
    stand_ins: tuple[stand_ins.StandInView, ...] = ()  # current and upcoming, by start
    manages_planeacion: bool = True  # False: listed for information, no buttons

    @property
    def units_without_responsible(self) -> tuple[UnitTeam, ...]:
        return tuple(u for u in self.units if not u.people)


@dataclass(frozen=True)
class TeamEvent:
    at: datetime
    actor: str
    action: str
    person: str
    detail: str


# --- reading -----------------------------------------------------------------------------------

def _last_activity(session: Session, ids: list[int]) -> dict[int, datetime]:
    """Latest sign of life per person: last seen, last value reported, last revision."""
    if not ids:
        return {}
    result: dict[int, datetime] = {}

    def keep(rows) -> None:
        for person_id, at in rows:
            if at is not None and (person_id not in result or at > result[person_id]):
                result[person_id] = at

    keep(session.exec(select(Person.id, Person.last_seen_at).where(col(Person.id).in_(ids))))
    keep(session.exec(select(ReportedValue.reported_by_id, func.max(ReportedValue.reported_at))
                      .where(col(ReportedValue.reported_by_id).in_(ids))
                      .group_by(ReportedValue.reported_by_id)))
    keep(session.exec(select(Revision.person_id, func.max(Revision.at))
                      .where(col(Revision.person_id).in_(ids)).group_by(Revision.person_id)))
    return result


def _members(session: Session, people: list[Person]) -> list[Member]:
    ids = [p.id for p in people]
    units: dict[int, list[UnitView]] = {pid: [] for pid in ids}
    if ids:
        for person_id, clave, nombre in session.exec(
                select(PersonUnit.person_id, Unit.clave, Unit.nombre)
                .join(Unit, col(Unit.id) == col(PersonUnit.unit_id))
                .where(col(PersonUnit.person_id).in_(ids)).order_by(Unit.clave)):
            units[person_id].append(UnitView(clave, nombre))
    activity = _last_activity(session, ids)
    return [Member(id=p.id, name=p.name, role=p.role, active=p.active,
                   units=tuple(units[p.id]), last_activity=activity.get(p.id),
                   chat_id=p.chat_id, unreachable_since=p.unreachable_since)
            for p in people]


def member(session: Session, person_id: int) -> Member | None:
    person = session.get(Person, person_id)
    return _members(session, [person])[0] if person is not None else None


def pending_invitations(session: Session, now: datetime) -> list[PendingInvitation]:
    """Invitations neither used nor expired, oldest first."""
    rows = session.exec(select(Invitation).where(
        col(Invitation.used_at).is_(None), col(Invitation.expires_at) > now)
        .order_by(Invitation.created_at, Invitation.id)).all()
    return [PendingInvitation(i.id, i.role, tuple(c for c in i.unit_claves.split(",") if c),
                              i.name, i.created_at, i.expires_at) for i in rows]


def team_overview(session: Session, now: datetime, today: date | None = None) -> TeamOverview:
    """Everybody; given the local ``today``, also the stand-ins not yet over and who covers
    each unit today."""
    people = _members(session, list(session.exec(
        select(Person).order_by(Person.name, Person.id)).all()))
    coordinadores = [m for m in people if m.active and m.role == ROLE_COORDINADOR]
    covering = stand_ins.covering_units_today(session, today) if today is not None else {}
    units = tuple(
        UnitTeam(u.clave, u.nombre, tuple(m for m in coordinadores if u.clave in m.unit_claves),
                 tuple(covering.get(u.clave, ())))
        for u in session.exec(select(Unit).order_by(Unit.clave)).all())
    return TeamOverview(
        units=units,
        gerentes=tuple(m for m in people if m.active and m.role == ROLE_GERENTE),
        without_units=tuple(m for m in coordinadores if not m.units),
        inactive=tuple(m for m in people if not m.active),
        invitations=tuple(pending_invitations(session, now)),
        planeacion=tuple(m for m in people if m.active and m.role == ROLE_PLANEACION),
        stand_ins=tuple(stand_ins.listing(session, None, today)) if today is not None else ())


def events(session: Session, limit: int = 50) -> list[TeamEvent]:
    """The latest changes, newest first."""
    rows = session.exec(select(PersonEvent).order_by(col(PersonEvent.at).desc(),
                                                     col(PersonEvent.id).desc()).limit(limit))
    names = dict(session.exec(select(Person.id, Person.name)).all())

    def who(person_id: int | None, default: str) -> str:
        if person_id is None:
            return default
        return names.get(person_id) or f"persona {person_id}"

    return [TeamEvent(e.at, who(e.actor_id, "administrador (línea de comandos)"), e.action,
                      who(e.person_id, ""), e.detail) for e in rows]


# --- changing ----------------------------------------------------------------------------------

def _log(session: Session, *, now: datetime, actor_id: int | None, action: str,
         person_id: int | None = None, invitation_id: int | None = None,
         detail: str = "") -> None:
    session.add(PersonEvent(at=now, actor_id=actor_id, action=action, person_id=person_id,
                            invitation_id=invitation_id, detail=detail))


def _person(session: Session, person_id: int, *, for_update: bool = False) -> Person:
    query = select(Person).where(Person.id == person_id)
    if for_update:
        query = query.with_for_update()
    person = session.exec(query).first()
    if person is None:
        raise TeamError(f"No existe la persona {person_id}. "
                        "Consulta la lista con /equipo o «poa-bot people list».")
    return person


def deactivate(session: Session, person_id: int, *, actor_id: int | None,
               now: datetime) -> Member:
    """From now on a stranger: no access, no reminders; figures keep their name."""
    person = _person(session, person_id, for_update=True)
    if not person.active:
        raise TeamError(f"{person.name or 'Esa persona'} ya estaba desactivada.")
    if person.role == ROLE_GERENTE:
        # Locked rows: two gerentes deactivating each other at once cannot leave nobody.
        others = session.exec(select(Person.id).where(
            Person.role == ROLE_GERENTE, Person.active == True,  # noqa: E712
            Person.id != person.id).with_for_update()).all()
        if not others:
            raise TeamError("No se puede desactivar al último gerente activo: invita primero "
                            "a otro gerente.")
    person.active = False
    session.add(person)
    if person.chat_id is not None:  # a report in progress ends here
        session.exec(delete(Conversation).where(col(Conversation.chat_id) == person.chat_id))
    _log(session, now=now, actor_id=actor_id, action=DEACTIVATE, person_id=person.id,
         detail=f"{person.role}; unidades: {_claves_text(session, person.id)}")
    session.flush()
    return member(session, person.id)


def activate(session: Session, person_id: int, *, actor_id: int | None,
             now: datetime) -> Member:
    """Back with the role and units they had."""
    person = _person(session, person_id, for_update=True)
    if person.active:
        raise TeamError(f"{person.name or 'Esa persona'} ya estaba activa.")
    person.active = True
    session.add(person)
    _log(session, now=now, actor_id=actor_id, action=ACTIVATE, person_id=person.id,
         detail=f"{person.role}; unidades: {_claves_text(session, person.id)}")
    session.flush()
    return member(session, person.id)


def _claves(session: Session, person_id: int) -> list[str]:
    return list(session.exec(select(Unit.clave).join(PersonUnit, col(PersonUnit.unit_id)
                                                     == col(Unit.id))
                             .where(PersonUnit.person_id == person_id).order_by(Unit.clave)))


def _claves_text(session: Session, person_id: int) -> str:
    return ", ".join(_claves(session, person_id)) or "ninguna"


def known_units(session: Session) -> list[UnitView]:
    return [UnitView(u.clave, u.nombre) for u in session.exec(select(Unit).order_by(Unit.clave))]


def assign_units(session: Session, person_id: int, claves: list[str], *,
                 actor_id: int | None, now: datetime) -> Member:
    """Replace a coordinador's units with ``claves`` (at least one, each one existing)."""
    person = _person(session, person_id, for_update=True)
    if person.role != ROLE_COORDINADOR:
        raise TeamError("Solo los coordinadores tienen unidades; un gerente ve todas.")
    wanted = list(dict.fromkeys(c.strip() for c in claves if c.strip()))
    if not wanted:
        raise TeamError("Un coordinador necesita al menos una unidad. Para quitarle todas, "
                        "desactívalo.")
    found = {u.clave: u for u in session.exec(select(Unit).where(col(Unit.clave).in_(wanted)))}
    missing = [c for c in wanted if c not in found]
    if missing:
        known = ", ".join(u.clave for u in known_units(session))
        raise TeamError(f"No existe la unidad {', '.join(missing)}. "
                        + (f"Unidades cargadas: {known}." if known else
                           "Aún no hay unidades: importa primero el POA."))
    before = _claves(session, person.id)
    after = sorted(wanted)
    if before == after:
        return member(session, person.id)
    session.exec(delete(PersonUnit).where(col(PersonUnit.person_id) == person.id))
    for clave in after:
        session.add(PersonUnit(person_id=person.id, unit_id=found[clave].id))
    _log(session, now=now, actor_id=actor_id, action=ASSIGN, person_id=person.id,
         detail=f"unidades: {', '.join(before) or 'ninguna'} → {', '.join(after)}")
    session.flush()
    return member(session, person.id)


def add_unit(session: Session, person_id: int, clave: str, *, actor_id: int | None,
             now: datetime) -> Member:
    """One more unit (nothing changes if the person already has it)."""
    current = _claves(session, person_id)
    return assign_units(session, person_id, [*current, clave], actor_id=actor_id, now=now)


def remove_unit(session: Session, person_id: int, clave: str, *, actor_id: int | None,
                now: datetime) -> Member:
    """One unit less (never the last one; nothing changes if the person does not have it)."""
    current = _claves(session, person_id)
    if clave not in current:
        _person(session, person_id)  # an unknown person is still refused as such
        return member(session, person_id)
    return assign_units(session, person_id, [c for c in current if c != clave],
                        actor_id=actor_id, now=now)


def revoke_invitation(session: Session, invitation_id: int, *, actor_id: int | None,
                      now: datetime) -> PendingInvitation:
    """An unused invitation stops working now (conditional UPDATE: never a used one)."""
    invitation = session.get(Invitation, invitation_id)
    revoked = invitation is not None and session.execute(
        update(Invitation).where(col(Invitation.id) == invitation_id,
                                 col(Invitation.used_at).is_(None),
                                 col(Invitation.expires_at) > now)
        .values(expires_at=now)).rowcount == 1
    if not revoked:
        raise TeamError("Esa invitación ya no está pendiente (se usó, venció o ya se revocó).")
    claves = tuple(c for c in invitation.unit_claves.split(",") if c)
    _log(session, now=now, actor_id=actor_id, action=REVOKE, invitation_id=invitation_id,
         detail=f"invitación de {invitation.role}"
         + (f" ({', '.join(claves)})" if claves else "")
         + (f" para {invitation.name}" if invitation.name else ""))
    session.flush()
    return PendingInvitation(invitation_id, invitation.role, claves, invitation.name,
                             invitation.created_at, now)


def touch(session: Session, person_id: int, now: datetime) -> bool:
    """Record that the person was seen, unless already seen within the last hour (one
    conditional UPDATE; returns whether it wrote)."""
    return session.execute(
        update(Person).where(col(Person.id) == person_id,
                             (col(Person.last_seen_at).is_(None))
                             | (col(Person.last_seen_at) <= now - SEEN_RESOLUTION))
        .values(last_seen_at=now)).rowcount == 1
