"""Stand-ins (suplentes): someone answers for an absent coordinador's units for a while.

A :class:`~storage.models.StandIn` row names the absent coordinador (``person_id``), the
stand-in, one of the absent person's units or all of them (``unit_id`` None: whatever units
they have on each day), and an inclusive range of local dates. While ``today`` is inside it
(and it was not cancelled) the stand-in:

* may report and correct those units exactly as their own (:func:`covered_unit_ids` widens the
  person's units in ``registration.find_person`` and the SQL
  ownership checks of ``reporting.load_slot`` and ``pending.pending_indicators``);
* gets the units' reminders too (:func:`covering_reminders`, used by
  ``pending.pending_for_coordinators``);
* leaves values that record both people: ``reported_by_id`` is the stand-in,
  ``on_behalf_of_id`` the absent coordinador (:func:`on_behalf_of`).

A **gerente** may be absent too (``unit_id`` None: all their functions): while the range
lasts their stand-in — another active gerente or a planeación person — also gets the
escalation of the absent gerente's units (``reminders.plan_escalation``), their weekly digest
(``digest.plan_digest``) and the approval requests of their units, and may approve or
return them (``approval``): :func:`covered_gerentes`. A gerente has no ``person_units`` rows,
so such a row never widens what anybody may report.

The range ends by itself: nothing runs when it ends, every check asks for ``today``.
Rules of who may name whom: a coordinador names stand-ins for themself, a gerente for
themself or any coordinador, planeación for any gerente or coordinador (and the
administrator at the command line for anybody); a coordinador's stand-in is another active
coordinador, a gerente's another active gerente or planeación.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, or_, union
from sqlmodel import Session, col, select

from bot.domain.date_ranges import DateRange
from storage.models import (
    ROLE_COORDINADOR,
    ROLE_GERENTE,
    ROLE_PLANEACION,
    Person,
    PersonUnit,
    StandIn,
    Unit,
)

MANAGERS = (ROLE_GERENTE, ROLE_PLANEACION)


class StandInError(ValueError):
    """A refused request; ``str()`` is Spanish for people."""


# --- who covers what, on a given day (SQL) ---------------------------------------------------

def _active(today):
    return and_(col(StandIn.starts) <= today, col(StandIn.ends) >= today,
                col(StandIn.cancelled_at).is_(None))


def _covered_pairs(today):
    """(stand_in_id, absent person_id, unit_id, ends) of every stand-in active on ``today``:
    the absent person's units as they are now, restricted to the one named if any."""
    return (select(StandIn.stand_in_id, StandIn.person_id, PersonUnit.unit_id, StandIn.ends)
            .join(PersonUnit, col(PersonUnit.person_id) == col(StandIn.person_id))
            .join(Person, col(Person.id) == col(StandIn.stand_in_id))
            .where(_active(today), Person.active == True,  # noqa: E712
                   or_(col(StandIn.unit_id).is_(None),
                       col(StandIn.unit_id) == col(PersonUnit.unit_id))))


def covered_unit_ids(person_id, today):
    """A SELECT of the unit ids ``person_id`` covers as a stand-in on ``today`` (either may
    be a bind parameter)."""
    pairs = _covered_pairs(today).subquery()
    return select(pairs.c.unit_id).where(pairs.c.stand_in_id == person_id)


def answerable_unit_ids(person_id, today):
    """A SELECT of the units the person answers for on ``today``: own ones and covered."""
    own = select(PersonUnit.unit_id).where(col(PersonUnit.person_id) == person_id)
    return union(own, covered_unit_ids(person_id, today))


def on_behalf_of(session: Session, person_id: int, unit_id: int, today: date) -> int | None:
    """Whose unit the person enters a value for: None when it is their own unit, else the
    absent coordinador they stand in for."""
    if session.get(PersonUnit, (person_id, unit_id)) is not None:
        return None
    pairs = _covered_pairs(today).subquery()
    return session.exec(select(pairs.c.person_id).where(
        pairs.c.stand_in_id == person_id, pairs.c.unit_id == unit_id)
        .order_by(pairs.c.person_id)).first()


def covering_reminders(session: Session, unit_claves, today: date) -> dict[int, set[str]]:
    """For reminders: stand-in id → the given units they cover on ``today``."""
    if not unit_claves:
        return {}
    pairs = _covered_pairs(today).subquery()
    rows = session.exec(select(pairs.c.stand_in_id, Unit.clave)
                        .join(Unit, Unit.id == pairs.c.unit_id)
                        .join(Person, Person.id == pairs.c.stand_in_id)
                        .where(col(Unit.clave).in_(sorted(unit_claves)),
                               Person.role == ROLE_COORDINADOR)).all()
    result: dict[int, set[str]] = {}
    for stand_in_id, clave in rows:
        result.setdefault(stand_in_id, set()).add(clave)
    return result


def covered_gerentes(session: Session, today: date) -> dict[int, list[tuple[int, date]]]:
    """Stand-ins of gerentes on ``today``: stand-in id → [(absent gerente id, last day)], both
    people active (the stand-in a gerente or planeación)."""
    absent, stand_in = Person.__table__.alias("absent"), Person.__table__.alias("stand_in")
    rows = session.connection().execute(
        select(StandIn.stand_in_id, StandIn.person_id, StandIn.ends)
        .join(absent, absent.c.id == StandIn.person_id)
        .join(stand_in, stand_in.c.id == StandIn.stand_in_id)
        .where(_active(today), absent.c.role == ROLE_GERENTE, absent.c.active == True,  # noqa: E712
               stand_in.c.role.in_(MANAGERS), stand_in.c.active == True)  # noqa: E712
        .order_by(StandIn.stand_in_id, StandIn.person_id)).all()
    result: dict[int, list[tuple[int, date]]] = {}
    for stand_in_id, absent_id, ends in rows:
        result.setdefault(stand_in_id, []).append((absent_id, ends))
    return result


def covering_units_today(session: Session, today: date) -> dict[str, list[tuple[str, str, date]]]:
    """For the escalation and /equipo: unit clave → [(stand-in name, absent name, last day)]
    of the coordinadores' stand-ins active on ``today``."""
    pairs = _covered_pairs(today).subquery()
    absent = Person.__table__.alias("absent")
    rows = session.connection().execute(
        select(Unit.clave, Person.name, Person.id, absent.c.name, absent.c.id, pairs.c.ends)
        .select_from(pairs)
        .join(Unit, Unit.id == pairs.c.unit_id)
        .join(Person, Person.id == pairs.c.stand_in_id)
        .join(absent, absent.c.id == pairs.c.person_id)
        .order_by(Unit.clave, Person.name, pairs.c.ends)).all()
    result: dict[str, list[tuple[str, str, date]]] = {}
    for clave, name, person_id, absent_name, absent_id, ends in rows:
        entry = (name or f"persona {person_id}", absent_name or f"persona {absent_id}", ends)
        if entry not in result.setdefault(clave, []):
            result[clave].append(entry)
    return result


# --- naming, listing and cancelling ----------------------------------------------------------

@dataclass(frozen=True)
class StandInView:
    id: int
    person_id: int
    person_name: str
    stand_in_id: int
    stand_in_name: str
    unit_clave: str | None  # None: all the absent person's units
    starts: date
    ends: date
    absent_role: str = ROLE_COORDINADOR  # a gerente's stand-in covers all their functions

    def is_active(self, today: date) -> bool:
        return self.starts <= today <= self.ends


def _name(person: Person) -> str:
    return person.name or f"persona {person.id}"


def _view(session: Session, row: StandIn) -> StandInView:
    absent, stand_in = session.get(Person, row.person_id), session.get(Person, row.stand_in_id)
    unit = session.get(Unit, row.unit_id) if row.unit_id is not None else None
    return StandInView(row.id, row.person_id, _name(absent), row.stand_in_id, _name(stand_in),
                       unit.clave if unit else None, row.starts, row.ends, absent.role)


def _actor(session: Session, actor_id: int | None) -> Person | None:
    """The person acting (None: the command line). Must be an active gerente/coordinador."""
    if actor_id is None:
        return None
    actor = session.get(Person, actor_id)
    if actor is None or not actor.active:
        raise StandInError("No tienes acceso a POA Bot.")
    return actor


def may_name_for(session: Session, actor_id: int | None) -> list[Person]:
    """Who the actor may name a stand-in for: themself (coordinador); themself, then any
    active coordinador with units (gerente); any active gerente, then any such coordinador
    (planeación, command line)."""
    actor = _actor(session, actor_id)
    if actor is not None and actor.role == ROLE_COORDINADOR:
        return [actor]
    coordinadores = list(session.exec(select(Person).where(
        Person.role == ROLE_COORDINADOR, Person.active == True,  # noqa: E712
        col(Person.id).in_(select(PersonUnit.person_id))).order_by(Person.name, Person.id)))
    if actor is not None and actor.role == ROLE_GERENTE:
        return [actor, *coordinadores]
    if actor is not None and actor.role != ROLE_PLANEACION:
        return []
    gerentes = list(session.exec(select(Person).where(
        Person.role == ROLE_GERENTE, Person.active == True)  # noqa: E712
        .order_by(Person.name, Person.id)))
    return [*gerentes, *coordinadores]


def candidates(session: Session, absent_id: int) -> list[Person]:
    """Who may stand in for ``absent_id``: the other active coordinadores (for a
    coordinador), the other active gerentes and planeación (for a gerente)."""
    absent = session.get(Person, absent_id)
    roles = MANAGERS if absent is not None and absent.role == ROLE_GERENTE else (
        ROLE_COORDINADOR,)
    return list(session.exec(select(Person).where(
        col(Person.role).in_(roles), Person.active == True,  # noqa: E712
        Person.id != absent_id).order_by(Person.name, Person.id)))


def absent_units(session: Session, absent_id: int) -> list[Unit]:
    return list(session.exec(select(Unit).join(PersonUnit, col(PersonUnit.unit_id)
                                               == col(Unit.id))
                             .where(PersonUnit.person_id == absent_id).order_by(Unit.clave)))


def create(session: Session, *, actor_id: int | None, absent_id: int, stand_in_id: int,
           unit_clave: str | None, dates: DateRange, now: datetime) -> StandInView:
    """Name a stand-in; refused (:class:`StandInError`) unless the actor may, the stand-in is
    one of :func:`candidates` (another active coordinador; for a gerente another gerente or
    planeación), and the unit (if any) is the absent coordinador's."""
    if absent_id not in {p.id for p in may_name_for(session, actor_id)}:
        raise StandInError("Solo puedes nombrar suplente para ti; un gerente puede "
                           "nombrarlo para cualquier coordinador.")
    absent = session.get(Person, absent_id)
    if stand_in_id not in {p.id for p in candidates(session, absent_id)}:
        if absent.role == ROLE_GERENTE:
            raise StandInError("El suplente de un gerente debe ser otro gerente activo o "
                               "alguien de planeación.")
        raise StandInError("El suplente debe ser otro coordinador activo.")
    unit_id = None
    if unit_clave is not None and absent.role == ROLE_GERENTE:
        raise StandInError("La suplencia de un gerente abarca todas sus funciones, no una "
                           "unidad.")
    if unit_clave is not None:
        unit = next((u for u in absent_units(session, absent_id) if u.clave == unit_clave), None)
        if unit is None:
            raise StandInError(f"La unidad {unit_clave} no es de esa persona.")
        unit_id = unit.id
    row = StandIn(person_id=absent_id, stand_in_id=stand_in_id, unit_id=unit_id,
                  starts=dates.starts, ends=dates.ends, created_by_id=actor_id, created_at=now)
    session.add(row)
    session.flush()
    return _view(session, row)


def listing(session: Session, actor_id: int | None, today: date) -> list[StandInView]:
    """Stand-ins not cancelled and not yet over: all of them for a gerente or planeación (and
    the command line), those a coordinador is part of (absent or standing in) for a
    coordinador."""
    actor = _actor(session, actor_id)
    statement = select(StandIn).where(col(StandIn.ends) >= today,
                                      col(StandIn.cancelled_at).is_(None))
    if actor is not None and actor.role not in MANAGERS:
        statement = statement.where(or_(StandIn.person_id == actor.id,
                                        StandIn.stand_in_id == actor.id))
    rows = session.exec(statement.order_by(StandIn.starts, StandIn.id)).all()
    return [_view(session, row) for row in rows]


def cancel(session: Session, *, actor_id: int | None, stand_in_row_id: int,
           now: datetime) -> StandInView:
    """End a stand-in now. A coordinador cancels only their own (as the absent one); a
    gerente or planeación any."""
    actor = _actor(session, actor_id)
    row = session.get(StandIn, stand_in_row_id)
    if row is None or row.cancelled_at is not None:
        raise StandInError("Esa suplencia ya no existe o ya se canceló.")
    if actor is not None and actor.role not in MANAGERS and row.person_id != actor.id:
        raise StandInError("Solo puedes cancelar las suplencias que nombraste para ti.")
    row.cancelled_at, row.cancelled_by_id = now, actor_id
    session.add(row)
    session.flush()
    return _view(session, row)
