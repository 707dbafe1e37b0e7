"""The approval cycle of a unit's period (as DHIS2's data approval): send, approve, return.

States of a (unit, period) — one :class:`~storage.models.UnitPeriodApproval` row, the latest
state, every change appended to :class:`~storage.models.ApprovalEvent`:

* ``capturando``: no row yet, or reopened by a gerente (``/reabrir``);
* ``enviado``: the coordinador (or a stand-in) sent it complete for review; the period is
  closed for that unit (``locks.close``: nothing changes under review);
* ``aprobado``: a gerente approved it; it stays closed (the lock), only ``/reabrir`` opens
  it again (:func:`set_lock` calls :func:`reopened`, which logs it and goes back to
  capturando);
* ``devuelto``: a gerente returned it with a comment; the period is reopened for the unit
  (``locks.reopen``) so it can be corrected and sent again.

Who reviews a unit: the active gerentes who reach it (their gerencia's units,
:mod:`bot.services.scope`; with one gerencia, every gerente) and, while a gerente is away,
their stand-in (another gerente or planeación, ``/suplente``): they get the request and may
approve or return it (:mod:`bot.services.reviewers`). Anybody else pressing the buttons is refused.

Whether approval is used at all is ``POA_APPROVAL_REQUIRED`` (off: none of this is offered
and no state is shown). A unit's period is *complete* when every indicator due for it has a
value (``reporting.unit_progress``). Locks are reused as they are: what is closed is exactly
what ``/cerrar periodo unidad`` would close, and every change is in ``lock_events`` too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.domain.calendar import ReportingCalendar
from bot.domain.periods import Period, period_from_code
from bot.services import locks, reporting, reviewers, stand_ins
from storage.models import (
    ROLE_COORDINADOR,
    ApprovalCommentWait,
    ApprovalEvent,
    Person,
    PersonUnit,
    Unit,
    UnitPeriodApproval,
)

CAPTURANDO, ENVIADO, APROBADO, DEVUELTO = "capturando", "enviado", "aprobado", "devuelto"
STATES = (CAPTURANDO, ENVIADO, APROBADO, DEVUELTO)
MAX_COMMENT = 1000


class ApprovalError(ValueError):
    """A refused step; ``reason`` is stable, ``str()`` is Spanish for people."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Recipient:
    person_id: int
    chat_id: int
    name: str


@dataclass(frozen=True)
class UnitPeriod:
    """A unit's period in the cycle, as shown to people."""

    approval_id: int | None
    unit_clave: str
    unit_nombre: str
    period: Period
    state: str
    comment: str = ""


@dataclass(frozen=True)
class Sent:
    """A unit's period was sent: tell the gerentes (with the figures and the buttons)."""

    item: UnitPeriod
    sender: str
    gerentes: tuple[Recipient, ...]


@dataclass(frozen=True)
class Decided:
    """A reviewer approved or returned: tell the unit's people (and the other reviewers)."""

    item: UnitPeriod
    by: str
    coordinadores: tuple[Recipient, ...]
    gerentes: tuple[Recipient, ...]  # the unit's other reviewers (gerentes, stand-ins)


# --- reading ---------------------------------------------------------------------------------

def _row(session: Session, unit_id: int, period: Period) -> UnitPeriodApproval | None:
    return session.exec(select(UnitPeriodApproval).where(
        UnitPeriodApproval.unit_id == unit_id, UnitPeriodApproval.period == period.code)
        .execution_options(populate_existing=True)).first()


def states_for(session: Session, period: Period,
               unit_clave: str | None = None) -> dict[int, str]:
    """unit id → state for ``period`` of the units with a row (others: capturando). For the
    summary (one query)."""
    statement = select(UnitPeriodApproval.unit_id, UnitPeriodApproval.state).where(
        UnitPeriodApproval.period == period.code)
    if unit_clave is not None:
        statement = statement.join(Unit, col(Unit.id) == col(UnitPeriodApproval.unit_id)).where(
            Unit.clave == unit_clave)
    return dict(session.exec(statement).all())


def is_complete(session: Session, unit_clave: str, period: Period) -> bool:
    """Every indicator the unit owes for ``period`` has a value (and it owes some)."""
    progress = reporting.unit_progress(session, unit_clave, period)
    return not progress.missing and progress.total > 0


def _answers_for(session: Session, person_id: int, unit_id: int, today: date) -> bool:
    units = session.connection().execute(stand_ins.answerable_unit_ids(person_id, today))
    return unit_id in set(units.scalars())


def _person(session: Session, person_id: int, role: str) -> Person:
    person = session.get(Person, person_id)
    if person is None or not person.active or person.role != role:
        raise ApprovalError("role", "Esta acción no corresponde a tu rol.")
    return person


def _name(person: Person | None) -> str:
    return (person.name or f"persona {person.id}") if person is not None else "administración"


def sendable(session: Session, person_id: int, unit_claves, now: datetime,
             calendar: ReportingCalendar) -> list[UnitPeriod]:
    """Complete unit periods, open now, that the person may send (capturando or devuelto)."""
    result = []
    for clave in unit_claves:
        unit = session.exec(select(Unit).where(Unit.clave == clave)).first()
        if unit is None:
            continue
        for period in reporting.open_periods_for_unit(session, clave, now, calendar):
            row = _row(session, unit.id, period)
            state = row.state if row is not None else CAPTURANDO
            if state in (CAPTURANDO, DEVUELTO) and is_complete(session, clave, period):
                result.append(UnitPeriod(row.id if row else None, clave, unit.nombre, period,
                                         state, row.comment if row else ""))
    return result


def _recipients(session: Session, statement) -> tuple[Recipient, ...]:
    return tuple(Recipient(p.id, p.chat_id, _name(p)) for p in session.exec(statement).all()
                 if p.chat_id is not None and p.unreachable_since is None)


def _gerentes(session: Session, unit_id: int, today: date,
              except_id: int | None = None) -> tuple[Recipient, ...]:
    """Who gets the unit's review requests and decisions (see the module docstring)."""
    ids = reviewers.reviewer_ids(session, unit_id, today) - {except_id}
    return _recipients(session, select(Person).where(col(Person.id).in_(sorted(ids)))
                       .order_by(Person.id))


def _unit_people(session: Session, unit_id: int, today: date) -> tuple[Recipient, ...]:
    """The unit's active coordinadores and whoever stands in for it today."""
    covering = stand_ins._covered_pairs(today).subquery()
    ids = set(session.exec(select(PersonUnit.person_id).where(PersonUnit.unit_id == unit_id)))
    ids |= set(session.exec(select(covering.c.stand_in_id).where(
        covering.c.unit_id == unit_id)))
    return _recipients(session, select(Person).where(
        col(Person.id).in_(sorted(ids)), Person.active == True,  # noqa: E712
        Person.role == ROLE_COORDINADOR).order_by(Person.id))


def _log(session: Session, row: UnitPeriodApproval, action: str, person_id: int | None,
         now: datetime, comment: str = "") -> None:
    session.add(ApprovalEvent(unit_id=row.unit_id, period=row.period, action=action,
                              comment=comment, person_id=person_id, at=now))


def _item(session: Session, row: UnitPeriodApproval) -> UnitPeriod:
    unit = session.get(Unit, row.unit_id)
    return UnitPeriod(row.id, unit.clave, unit.nombre, period_from_code(row.period),
                      row.state, row.comment)


# --- the cycle -------------------------------------------------------------------------------

def send(session: Session, person_id: int, unit_clave: str, period: Period, *,
         now: datetime, calendar: ReportingCalendar) -> Sent:
    """«Enviar a revisión»: the unit's period must be the person's (or covered), open,
    complete, and not already sent or approved. Closes it for the unit while reviewed."""
    person = _person(session, person_id, ROLE_COORDINADOR)
    unit = session.exec(select(Unit).where(Unit.clave == unit_clave)).first()
    if unit is None or not _answers_for(session, person_id, unit.id,
                                        calendar.local(now).date()):
        raise ApprovalError("stale", "Esa unidad no es tuya.")
    row = _row(session, unit.id, period)
    if row is not None:
        session.refresh(row, with_for_update=True)  # two senders: the second sees enviado
    if row is not None and row.state in (ENVIADO, APROBADO):
        raise ApprovalError("already", f"{unit.clave} · {period.label} ya está "
                            f"{'en revisión' if row.state == ENVIADO else 'aprobado'}.")
    if not locks.is_open(session, period, unit.clave, now, calendar):
        raise ApprovalError("closed", f"El periodo {period.label} está cerrado para "
                            f"{unit.clave}; pide a tu gerente que lo reabra (/reabrir).")
    if not is_complete(session, unit.clave, period):
        raise ApprovalError("incomplete", f"A {unit.clave} · {period.label} aún le faltan "
                            "indicadores: captúralos con /reportar y luego envíalo.")
    if row is None:
        row = UnitPeriodApproval(unit_id=unit.id, period=period.code, state=ENVIADO,
                                 changed_by_id=person_id, changed_at=now)
    row.state, row.comment, row.changed_by_id, row.changed_at = ENVIADO, "", person_id, now
    session.add(row)
    session.flush()
    _log(session, row, "send", person_id, now)
    locks.close(session, period, unit.clave, person_id=person_id, now=now)
    return Sent(_item(session, row), _name(person),
                _gerentes(session, unit.id, calendar.local(now).date()))


def _reviewed_row(session: Session, person_id: int, approval_id: int,
                  today: date) -> UnitPeriodApproval:
    """The row, if the person may review its unit today (else the role refusal)."""
    person = session.get(Person, person_id)
    row = session.get(UnitPeriodApproval, approval_id)
    if person is None or not person.active or person.role == ROLE_COORDINADOR or (
            row is not None and not reviewers.may_review(session, person_id, row.unit_id, today)):
        raise ApprovalError("role", "Esta acción no corresponde a tu rol.")
    if row is None:
        raise ApprovalError("stale", "Ese envío ya no existe.")
    return row


def _pending_row(session: Session, gerente_id: int, approval_id: int,
                 today: date) -> UnitPeriodApproval:
    row = _reviewed_row(session, gerente_id, approval_id, today)
    session.refresh(row, with_for_update=True)  # two gerentes at once: the second waits
    if row.state != ENVIADO:
        by = _name(session.get(Person, row.changed_by_id)) if row.changed_by_id else ""
        raise ApprovalError("decided", f"{_item(session, row).unit_clave} · "
                            f"{period_from_code(row.period).label} ya no está en revisión: "
                            f"quedó {row.state}" + (f" ({by})" if by else "") + ".")
    return row


def _decide(session: Session, gerente_id: int, approval_id: int, state: str, comment: str,
            now: datetime, today: date) -> UnitPeriodApproval:
    """Move an ``enviado`` row to ``state`` with ONE conditional UPDATE (the step's first
    write): of two gerentes deciding at the same instant exactly one changes the row, on
    SQLite and PostgreSQL alike; the other gets :class:`ApprovalError` saying who did."""
    _reviewed_row(session, gerente_id, approval_id, today)
    table = UnitPeriodApproval.__table__
    claimed = session.connection().execute(
        update(table).where(table.c.id == approval_id, table.c.state == ENVIADO)
        .values(state=state, comment=comment, changed_by_id=gerente_id, changed_at=now)
        .returning(table.c.id)).first()
    if claimed is None:
        _pending_row(session, gerente_id, approval_id, today)  # raises, saying why
    row = session.get(UnitPeriodApproval, approval_id, populate_existing=True)
    return row


def approve(session: Session, gerente_id: int, approval_id: int, *,
            now: datetime, calendar: ReportingCalendar) -> Decided:
    """Aprobar: the unit's period stays closed (a gerente's lock, logged)."""
    row = _decide(session, gerente_id, approval_id, APROBADO, "", now,
                  calendar.local(now).date())
    _log(session, row, "approve", gerente_id, now)
    _forget_wait(session, gerente_id)
    item = _item(session, row)
    locks.close(session, item.period, item.unit_clave, person_id=gerente_id, now=now)
    return _decided(session, row, gerente_id, now, calendar)


def start_return(session: Session, gerente_id: int, approval_id: int, *,
                 now: datetime, calendar: ReportingCalendar) -> UnitPeriod:
    """«Devolver»: the gerente's next text is the comment."""
    row = _pending_row(session, gerente_id, approval_id, calendar.local(now).date())
    wait = session.get(ApprovalCommentWait, gerente_id)
    if wait is None:
        wait = ApprovalCommentWait(person_id=gerente_id, approval_id=row.id, started_at=now)
    wait.approval_id, wait.started_at = row.id, now
    session.add(wait)
    return _item(session, row)


def waiting_comment(session: Session, gerente_id: int) -> UnitPeriod | None:
    """The unit's period the gerente is writing a return comment for, if any."""
    wait = session.get(ApprovalCommentWait, gerente_id)
    if wait is None:
        return None
    row = session.get(UnitPeriodApproval, wait.approval_id)
    return _item(session, row) if row is not None else None


def _forget_wait(session: Session, gerente_id: int) -> None:
    wait = session.get(ApprovalCommentWait, gerente_id)
    if wait is not None:
        session.delete(wait)


def cancel_return(session: Session, gerente_id: int) -> bool:
    had = session.get(ApprovalCommentWait, gerente_id) is not None
    _forget_wait(session, gerente_id)
    return had


def finish_return(session: Session, gerente_id: int, comment: str, *,
                  now: datetime, calendar: ReportingCalendar) -> Decided:
    """The comment arrived: return the unit's period and reopen it for the unit."""
    wait = session.get(ApprovalCommentWait, gerente_id)
    if wait is None:
        raise ApprovalError("stale", "No estabas devolviendo ningún periodo.")
    comment = comment.strip()
    if not comment:
        raise ApprovalError("empty", "Escribe el comentario para quien captura.")
    if len(comment) > MAX_COMMENT:
        raise ApprovalError("too_long", f"El comentario tiene {len(comment)} caracteres; "
                            f"el máximo es {MAX_COMMENT}. Escríbelo más corto.")
    try:
        row = _decide(session, gerente_id, wait.approval_id, DEVUELTO, comment, now,
                      calendar.local(now).date())
    except ApprovalError:
        _forget_wait(session, gerente_id)
        raise
    _log(session, row, "return", gerente_id, now, comment)
    _forget_wait(session, gerente_id)
    item = _item(session, row)
    locks.reopen(session, item.period, item.unit_clave, person_id=gerente_id, now=now)
    return _decided(session, row, gerente_id, now, calendar)


def _decided(session: Session, row: UnitPeriodApproval, gerente_id: int, now: datetime,
             calendar: ReportingCalendar) -> Decided:
    session.flush()
    today = calendar.local(now).date()
    return Decided(_item(session, row), _name(session.get(Person, gerente_id)),
                   _unit_people(session, row.unit_id, today),
                   _gerentes(session, row.unit_id, today, except_id=gerente_id))


def reopened(session: Session, period: Period, unit_clave: str, person_id: int | None,
             now: datetime) -> int:
    """A gerente's ``/reabrir`` (:func:`set_lock`): approved or sent unit periods it opens
    go back to capturando (logged). ``unit_clave`` '*': every unit. Returns how many."""
    statement = select(UnitPeriodApproval).where(
        UnitPeriodApproval.period == period.code,
        col(UnitPeriodApproval.state).in_((APROBADO, ENVIADO)))
    if unit_clave != locks.ALL_UNITS:
        statement = statement.join(Unit, col(Unit.id) == col(UnitPeriodApproval.unit_id)).where(
            Unit.clave == unit_clave)
    rows = session.exec(statement).all()
    for row in rows:
        row.state, row.comment, row.changed_by_id, row.changed_at = (CAPTURANDO, "", person_id,
                                                                     now)
        session.add(row)
        _log(session, row, "reopen", person_id, now)
    return len(rows)


def history(session: Session, unit_clave: str, period: Period) -> list[ApprovalEvent]:
    return list(session.exec(select(ApprovalEvent).join(
        Unit, col(Unit.id) == col(ApprovalEvent.unit_id)).where(
        Unit.clave == unit_clave, ApprovalEvent.period == period.code)
        .order_by(ApprovalEvent.at, ApprovalEvent.id)).all())


def set_lock(session: Session, period: Period, unit_clave: str | None, *, closed: bool,
             person_id: int | None, now: datetime) -> locks.LockChange:
    """``/cerrar`` and ``/reabrir`` (:func:`bot.services.locks.set_lock`); ``/reabrir`` also
    takes approved or sent unit periods back to capturando (logged by :func:`reopened`)."""
    change = locks.set_lock(session, period, unit_clave, closed=closed, person_id=person_id,
                            now=now)
    if closed:
        return change
    taken_back = reopened(session, period, change.unit_clave, person_id, now) > 0
    return replace(change, changed=change.changed or taken_back)
