"""Which units a person reaches, with several gerencias in one organismo (issue 12).

One rule for every place that lists "all units" for a gerente (``/resumen``, ``/grafica``,
``/exportar``, ``/equipo``, ``/recordar``, the escalation, ``/invitar``):

* a **coordinador**: their units;
* **planeación** (dirección): every unit;
* a **gerente**: the units of their gerencia (``persons.gerencia_id``). While the database
  holds at most one gerencia, every unit: that is the seed's single Gerencia Comercial,
  before or after an import named it, so one gerencia works exactly as before. A gerente
  without a gerencia once there are several reaches only units without one.

A unit's gerencia is the one named in the header of the report that brought it
(``import-poa``). Units with no gerencia yet (imported before gerencias existed) belong to
no gerencia; planeación sees them as «Sin gerencia».
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import func
from sqlmodel import Session, select

from bot.poa_report.model import norm
from storage.models import ROLE_COORDINADOR, ROLE_GERENTE, ROLE_PLANEACION, Gerencia, Person, Unit


class PersonView(Protocol):
    """What the rule reads of a person (``bot.services.registration.PersonView``)."""

    role: str
    gerencia_id: int | None

    @property
    def unit_claves(self) -> tuple[str, ...]: ...

NO_GERENCIA = "Sin gerencia"


@dataclass(frozen=True)
class GerenciaView:
    id: int | None  # None: the units without a gerencia
    nombre: str
    unit_claves: tuple[str, ...]


def gerencia_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Gerencia)).one()


def gerencias(session: Session) -> list[GerenciaView]:
    """Every gerencia with its units (by name), then «Sin gerencia» if some unit has none."""
    names = dict(session.exec(select(Gerencia.id, Gerencia.nombre)).all())
    claves: dict[int | None, list[str]] = {gerencia_id: [] for gerencia_id in names}
    for clave, gerencia_id in session.exec(
            select(Unit.clave, Unit.gerencia_id).order_by(Unit.clave)):
        claves.setdefault(gerencia_id, []).append(clave)
    views = sorted((GerenciaView(gid, names[gid], tuple(claves[gid])) for gid in names),
                   key=lambda g: norm(g.nombre))
    if claves.get(None):
        views.append(GerenciaView(None, NO_GERENCIA, tuple(claves[None])))
    return views


def several_gerencias(session: Session) -> bool:
    """More than one group of units to tell apart (two gerencias, or one and «Sin gerencia»)."""
    return len(gerencias(session)) > 1


def _role_sees_all(session: Session, role: str) -> bool:
    return role == ROLE_PLANEACION or (role == ROLE_GERENTE and gerencia_count(session) <= 1)


def visible_claves(session: Session, person: PersonView) -> list[str] | None:
    """Unit claves ``person`` reaches, sorted; None: every unit (see the module docstring)."""
    if person.role == ROLE_COORDINADOR:
        return sorted(person.unit_claves)
    if person.role not in (ROLE_GERENTE, ROLE_PLANEACION):
        return []
    if _role_sees_all(session, person.role):
        return None
    return gerencia_claves(session, person.gerencia_id)


def gerencia_claves(session: Session, gerencia_id: int | None) -> list[str]:
    """The claves of one gerencia's units (None: the units without a gerencia)."""
    condition = (Unit.gerencia_id.is_(None) if gerencia_id is None
                 else Unit.gerencia_id == gerencia_id)
    return list(session.exec(select(Unit.clave).where(condition).order_by(Unit.clave)))


def person_sees_unit(session: Session, person: PersonView, clave: str) -> bool:
    claves = visible_claves(session, person)
    return clave in claves if claves is not None else True


def gerentes_for_units(session: Session, person_ids: set[int] | None = None
                       ) -> dict[int, list[str] | None]:
    """Active gerentes and planeación (optionally only ``person_ids``) → the unit claves each
    reaches (None: every unit). For the escalation and ``/recordar``."""
    statement = select(Person.id, Person.role, Person.gerencia_id).where(
        Person.role.in_((ROLE_GERENTE, ROLE_PLANEACION)), Person.active == True)  # noqa: E712
    if person_ids is not None:
        statement = statement.where(Person.id.in_(sorted(person_ids)))
    rows = session.exec(statement).all()
    single = gerencia_count(session) <= 1
    cache: dict[int | None, list[str]] = {}
    result: dict[int, list[str] | None] = {}
    for person_id, role, gerencia_id in rows:
        if role == ROLE_PLANEACION or single:
            result[person_id] = None
        else:
            if gerencia_id not in cache:
                cache[gerencia_id] = gerencia_claves(session, gerencia_id)
            result[person_id] = cache[gerencia_id]
    return result


def gerencia_name(session: Session, gerencia_id: int | None) -> str | None:
    return session.get(Gerencia, gerencia_id).nombre if gerencia_id is not None else None


def report_gerencia_name(session: Session, claves: list[str] | set[str] | None) -> str | None:
    """The gerencia to print in the header of a report of these units (None: every unit):
    the one gerencia they all belong to, else None (the writer's default)."""
    statement = select(Gerencia.nombre).join(Unit, Unit.gerencia_id == Gerencia.id).distinct()
    if claves is not None:
        statement = statement.where(Unit.clave.in_(sorted(claves)))
    names = session.exec(statement).all()
    return names[0] if len(names) == 1 else None


def find_gerencia(session: Session, name: str) -> Gerencia | None:
    """A gerencia by name, ignoring accents, case and spacing."""
    wanted = norm(name)
    return next((g for g in session.exec(select(Gerencia)) if norm(g.nombre) == wanted), None)
