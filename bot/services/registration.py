"""Registration: single-use invitations and binding a Telegram user to a Person.

Tokens are ``secrets.token_urlsafe`` strings handed out once (CLI or ``/invitar``); only their
SHA-256 is stored, so a copy of the database cannot be used to register. Redeeming marks the
invitation used with a conditional UPDATE (``... WHERE used_at IS NULL``): of two concurrent
redemptions exactly one changes the row, the other is refused — single use is enforced by the
database, not by a read-then-write race.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, literal, union_all, update
from sqlmodel import Session, col, delete, select

from bot.services import scope
from bot.services.stand_ins import covered_unit_ids
from storage.models import (
    ROLE_COORDINADOR,
    ROLE_GERENTE,
    ROLE_PLANEACION,
    Gerencia,
    Invitation,
    Person,
    PersonUnit,
    Unit,
)

TOKEN_BYTES = 24  # 32 URL-safe characters: fits Telegram's 64-character /start payload
ROLES = (ROLE_COORDINADOR, ROLE_GERENTE, ROLE_PLANEACION)


class RegistrationError(ValueError):
    """A refused invitation or redemption; ``str()`` is a Spanish message for people."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class UnitView:
    clave: str
    nombre: str


@dataclass(frozen=True)
class PersonView:
    """A registered person, detached from any session (safe to keep in handlers)."""

    id: int
    telegram_user_id: int | None
    chat_id: int | None
    name: str
    role: str
    units: tuple[UnitView, ...]
    # Units the person covers today as a stand-in (approval branch: bot.services.stand_ins);
    # filled by find_person when given today. acting() adds them to ``units``.
    covering: tuple[UnitView, ...] = ()

    def acting(self) -> PersonView:
        """The person with the units they cover as a stand-in added to their own (what the
        report and correction flows let them report)."""
        if not self.covering:
            return self
        return dataclasses.replace(self, units=tuple(sorted(
            (*self.units, *self.covering), key=lambda u: u.clave)), covering=())
    gerencia_id: int | None = None  # a gerente's gerencia (bot.services.scope)

    @property
    def is_gerente(self) -> bool:
        """A gerente or planeación: the gerente's commands. Which units they reach is
        :func:`bot.services.scope.visible_claves` (a gerente: their gerencia's)."""
        return self.role in (ROLE_GERENTE, ROLE_PLANEACION)

    @property
    def is_planeacion(self) -> bool:
        """Planeación / dirección: every gerencia, a summary per gerencia first."""
        return self.role == ROLE_PLANEACION

    @property
    def is_coordinador(self) -> bool:
        return self.role == ROLE_COORDINADOR

    @property
    def unit_claves(self) -> tuple[str, ...]:
        return tuple(u.clave for u in self.units)


@dataclass(frozen=True)
class CreatedInvitation:
    token: str  # the only time the clear token exists: hand it out, it is not stored
    role: str
    units: tuple[UnitView, ...]
    name: str
    expires_at: datetime
    gerencia: str | None = None  # a gerente's gerencia


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def person_view(session: Session, person: Person) -> PersonView:
    units = session.exec(
        select(Unit).join(PersonUnit, col(PersonUnit.unit_id) == col(Unit.id))
        .where(PersonUnit.person_id == person.id).order_by(Unit.clave)).all()
    return PersonView(id=person.id, telegram_user_id=person.telegram_user_id,
                      chat_id=person.chat_id, name=person.name, role=person.role,
                      units=tuple(UnitView(u.clave, u.nombre) for u in units),
                      gerencia_id=person.gerencia_id)


# Asked for every update (the stranger guard): one statement with the units, built once,
# plain columns (building it per call and loading ORM objects cost more than running it).
_PERSON_COLUMNS = (Person.id, Person.telegram_user_id, Person.chat_id, Person.name,
                   Person.role, Person.active, Person.gerencia_id)
_TELEGRAM_USER = col(Person.telegram_user_id) == bindparam("telegram_user_id")
_PERSON_WITH_UNITS = (
    select(*_PERSON_COLUMNS, Unit.clave, Unit.nombre, literal(0).label("covered"))
    .outerjoin(PersonUnit, col(PersonUnit.person_id) == col(Person.id))
    .outerjoin(Unit, col(Unit.id) == col(PersonUnit.unit_id))
    .where(_TELEGRAM_USER))
# ...and, in the same statement, the units a coordinador covers as a stand-in on ``today``.
_PERSON_WITH_COVERED = union_all(
    _PERSON_WITH_UNITS,
    select(*_PERSON_COLUMNS, Unit.clave, Unit.nombre, literal(1).label("covered"))
    .select_from(Person)
    .join(Unit, col(Unit.id).in_(covered_unit_ids(col(Person.id), bindparam("today"))))
    .where(_TELEGRAM_USER, col(Person.role) == ROLE_COORDINADOR))


def find_person(session: Session, telegram_user_id: int,
                today: date | None = None) -> PersonView | None:
    """The active person bound to this Telegram user, or None (a stranger). With ``today``
    (local date), a coordinador's ``covering`` holds the units they stand in for."""
    if today is None:
        rows = session.connection().execute(_PERSON_WITH_UNITS,
                                            {"telegram_user_id": telegram_user_id}).all()
    else:
        rows = session.connection().execute(
            _PERSON_WITH_COVERED, {"telegram_user_id": telegram_user_id, "today": today}).all()
    if not rows or not rows[0].active:
        return None
    first = rows[0]
    own = sorted({(r.clave, r.nombre) for r in rows if not r.covered and r.clave is not None})
    claves = {clave for clave, _ in own}
    covering = sorted({(r.clave, r.nombre) for r in rows
                       if r.covered and r.clave not in claves})
    return PersonView(id=first.id, telegram_user_id=first.telegram_user_id,
                      chat_id=first.chat_id, name=first.name, role=first.role,
                      units=tuple(UnitView(c, n) for c, n in own),
                      covering=tuple(UnitView(c, n) for c, n in covering),
                      gerencia_id=first.gerencia_id)


def _units(session: Session, claves: list[str]) -> list[Unit]:
    wanted = list(dict.fromkeys(c.strip() for c in claves if c.strip()))
    found = {u.clave: u for u in session.exec(select(Unit).where(col(Unit.clave).in_(wanted)))}
    missing = [c for c in wanted if c not in found]
    if missing:
        known = ", ".join(u.clave for u in session.exec(select(Unit).order_by(Unit.clave)))
        raise RegistrationError(
            "unknown_unit",
            f"No existe la unidad {', '.join(missing)}. "
            + (f"Unidades cargadas: {known}." if known else
               "Aún no hay unidades: importa primero el POA (poa-bot import-poa)."))
    return [found[c] for c in wanted]


def create_invitation(session: Session, *, role: str, unit_claves: list[str], name: str,
                      now: datetime, days: int, created_by_id: int | None = None,
                      gerencia: str | None = None) -> CreatedInvitation:
    """A new single-use invitation; returns the clear token (stored only as its hash).

    A gerente's invitation names their gerencia (``gerencia``; by default the creator's, or
    the only one there is). A gerente creating one stays inside their gerencia: coordinadores
    of its units, gerentes of it (see :mod:`bot.services.scope`)."""
    if role not in ROLES:
        raise RegistrationError("bad_role", f"Rol desconocido: {role}.")
    units = _units(session, unit_claves)
    if role == ROLE_COORDINADOR and not units:
        raise RegistrationError("no_units",
                                "Un coordinador necesita al menos una unidad (--unit 303).")
    if role != ROLE_COORDINADOR and units:
        raise RegistrationError("gerente_units",
                                f"Un {'gerente' if role == ROLE_GERENTE else 'rol de planeación'}"
                                " no lleva unidades; no indiques --unit.")
    if role != ROLE_GERENTE and gerencia:
        raise RegistrationError("gerencia_role", "Solo un gerente lleva --gerencia.")
    gerencia_row = _invitation_gerencia(session, role=role, units=units, name=gerencia,
                                       created_by_id=created_by_id)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires_at = now + timedelta(days=days)
    session.add(Invitation(token_hash=hash_token(token), role=role,
                           unit_claves=",".join(u.clave for u in units), name=name.strip(),
                           created_at=now, expires_at=expires_at, created_by_id=created_by_id,
                           gerencia_id=gerencia_row.id if gerencia_row else None))
    session.flush()
    return CreatedInvitation(token=token, role=role,
                             units=tuple(UnitView(u.clave, u.nombre) for u in units),
                             name=name.strip(), expires_at=expires_at,
                             gerencia=gerencia_row.nombre if gerencia_row else None)


def _invitation_gerencia(session: Session, *, role: str, units: list, name: str | None,
                        created_by_id: int | None) -> Gerencia | None:
    """The gerencia a new gerente's invitation names (None for other roles), after checking
    that a gerente who creates an invitation stays inside their gerencia."""
    creator = session.get(Person, created_by_id) if created_by_id is not None else None
    limited = (creator is not None and creator.role == ROLE_GERENTE
               and scope.gerencia_count(session) > 1)
    if limited and role == ROLE_COORDINADOR:
        own = set(scope.gerencia_claves(session, creator.gerencia_id))
        outside = [u.clave for u in units if u.clave not in own]
        if outside:
            raise RegistrationError(
                "other_gerencia", f"La unidad {', '.join(outside)} no es de tu gerencia. "
                f"Tus unidades: {', '.join(sorted(own)) or 'ninguna'}.")
    if limited and role == ROLE_PLANEACION:
        raise RegistrationError("planeacion_by_gerente",
                                "Solo planeación o la línea de comandos invitan a planeación.")
    if role != ROLE_GERENTE:
        return None
    if name:
        found = scope.find_gerencia(session, name)
        if found is None:
            known = ", ".join(g.nombre for g in session.exec(select(Gerencia)
                                                              .order_by(Gerencia.nombre)))
            raise RegistrationError("unknown_gerencia", f"No existe la gerencia «{name}». "
                                    + (f"Gerencias: {known}." if known else
                                       "Aún no hay gerencias: importa primero un POA."))
        if limited and found.id != creator.gerencia_id:
            raise RegistrationError("other_gerencia",
                                    "Solo puedes invitar gerentes de tu gerencia.")
        return found
    if creator is not None and creator.role == ROLE_GERENTE and creator.gerencia_id is not None:
        return session.get(Gerencia, creator.gerencia_id)
    every = session.exec(select(Gerencia).order_by(Gerencia.nombre)).all()
    if len(every) > 1:
        raise RegistrationError(
            "which_gerencia", "Hay varias gerencias; indica de cuál es el gerente "
            f"(--gerencia «{every[0].nombre}»). Gerencias: "
            + ", ".join(g.nombre for g in every) + ".")
    return every[0] if every else None


INVALID_INVITATION = ("Esa invitación no es válida. Revisa que el enlace esté completo o pide "
                      "una nueva a tu gerente.")


@dataclass(frozen=True)
class RoleChange:
    """What an invitation would make a registered person who is something else now: asked
    before anything changes (a gerente opening a coordinador's link would lose the role)."""

    current: PersonView
    role: str
    units: tuple[UnitView, ...]
    expires_at: datetime
    gerencia_id: int | None = None


def _invitation(session: Session, token: str, telegram_user_id: int,
                now: datetime) -> Invitation | Person:
    """The usable invitation, or the person it was already used by when that is this same
    Telegram user (the same /start again); any other case is refused."""
    invitation = session.exec(select(Invitation).where(
        Invitation.token_hash == hash_token(token))).first()
    if invitation is None:
        raise RegistrationError("unknown", INVALID_INVITATION)
    if invitation.used_at is not None:
        used_by = session.get(Person, invitation.used_by_id) if invitation.used_by_id else None
        if (used_by is not None and used_by.active
                and used_by.telegram_user_id == telegram_user_id):
            # The same /start again (Telegram re-delivers it after a crash, or a second tap
            # on the link): already done, so answer as the first time and change nothing.
            return used_by
        raise RegistrationError("used", "Esa invitación ya se usó. Pide una nueva a tu gerente.")
    if invitation.expires_at <= now:
        raise RegistrationError("expired", "Esa invitación venció. Pide una nueva a tu gerente.")
    return invitation


def redeem_or_ask(session: Session, *, token: str, telegram_user_id: int, chat_id: int,
                  telegram_name: str, now: datetime) -> tuple[PersonView, bool] | RoleChange:
    """``/start <token>``: redeem it, unless it would change the role or units of someone
    registered: then nothing is used nor changed and the :class:`RoleChange` is returned, to
    ask; :func:`redeem_invitation` applies it once the person says yes."""
    found = _invitation(session, token, telegram_user_id, now)
    person = session.exec(select(Person).where(Person.telegram_user_id == telegram_user_id)
                          ).first()
    if isinstance(found, Invitation) and person is not None and person.active:
        current = person_view(session, person)
        claves = [c for c in found.unit_claves.split(",") if c]
        if (current.role != found.role or set(current.unit_claves) != set(claves)
                or current.gerencia_id != found.gerencia_id):
            return RoleChange(current, found.role,
                              tuple(UnitView(u.clave, u.nombre) for u in _units(session, claves)),
                              found.expires_at, found.gerencia_id)
    return redeem_invitation(session, token=token, telegram_user_id=telegram_user_id,
                             chat_id=chat_id, telegram_name=telegram_name, now=now)


def redeem_invitation(session: Session, *, token: str, telegram_user_id: int, chat_id: int,
                      telegram_name: str, now: datetime) -> tuple[PersonView, bool]:
    """Bind the Telegram user to the invitation's role and units.

    Returns (person, role_changed). A user already registered is updated (role and units are
    the invitation's): that is how a gerente moves someone to other units. The bot asks such
    a person first (:func:`redeem_or_ask`).
    """
    invitation = _invitation(session, token, telegram_user_id, now)
    if isinstance(invitation, Person):
        return person_view(session, invitation), False

    person = session.exec(select(Person).where(Person.telegram_user_id == telegram_user_id)
                          ).first()
    role_changed = person is None or person.role != invitation.role or not person.active
    if person is None:
        person = Person(telegram_user_id=telegram_user_id, chat_id=chat_id,
                        name=invitation.name or telegram_name, role=invitation.role,
                        created_at=now, gerencia_id=invitation.gerencia_id)
        session.add(person)
    else:
        person.role, person.chat_id, person.active = invitation.role, chat_id, True
        person.gerencia_id = invitation.gerencia_id
        person.unreachable_since = None
        if invitation.name:
            person.name = invitation.name
        session.add(person)
    session.flush()

    claimed = session.execute(
        update(Invitation)
        .where(col(Invitation.id) == invitation.id, col(Invitation.used_at).is_(None))
        .values(used_at=now, used_by_id=person.id)).rowcount
    if claimed != 1:  # someone redeemed it in between: undo everything above
        raise RegistrationError("used", "Esa invitación ya se usó. Pide una nueva a tu gerente.")

    claves = [c for c in invitation.unit_claves.split(",") if c]
    session.exec(delete(PersonUnit).where(col(PersonUnit.person_id) == person.id))
    for unit in _units(session, claves):
        session.add(PersonUnit(person_id=person.id, unit_id=unit.id))
    session.flush()
    return person_view(session, person), role_changed


def register_directly(session: Session, *, telegram_user_id: int, role: str,
                      unit_claves: list[str] = (), name: str = "", now: datetime,
                      gerencia: str | None = None) -> PersonView:
    """Create (or update) a person without an invitation — for tests and administration."""
    created = create_invitation(session, role=role, unit_claves=list(unit_claves), name=name,
                                now=now, days=1, gerencia=gerencia)
    person, _ = redeem_invitation(session, token=created.token,
                                  telegram_user_id=telegram_user_id, chat_id=telegram_user_id,
                                  telegram_name=name or f"Usuario {telegram_user_id}", now=now)
    return person
