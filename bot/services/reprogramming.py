"""*Reprogramación*: changing a programmed meta, with a justification and a gerente's yes.

A coordinador (for their own units) or a gerente asks to change the meta programmed for one
of an indicator's periods, with a written justification (:func:`request_change`); the request
is stored in ``meta_changes`` as ``pending`` and every active gerente is asked. A gerente
authorises it (the ``programmed_metas`` row changes) or rejects it (:func:`decide`). Every
request stays in the log with who asked, who decided, when, and the old and new meta.

**Closed period** (never reprogrammed, not even by a gerente): a period that has ended and no
longer accepts capture for the indicator's unit, as :func:`bot.services.locks.is_open` says
(its deadline plus ``POA_GRACE_DAYS`` passed, or a gerente's ``/cerrar``; a ``/reabrir``
makes it reprogrammable again). A period that has not ended, started or not, goes through
the same authorisation. The check is made when asking and again when authorising: a request
whose period closed meanwhile is recorded as ``void`` and changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, select

from bot.domain.calendar import ReportingCalendar
from bot.domain.numbers import NumberError, parse_decimal
from bot.domain.periods import Frequency, Period, PeriodError, parse_period
from bot.services import locks
from bot.services.fichas import programmed_meta, programmed_metas
from bot.services.registration import PersonView
from storage.models import (
    ROLE_GERENTE,
    Indicator,
    MetaChange,
    Person,
    ProgrammedMeta,
    Unit,
)

log = logging.getLogger(__name__)

PENDING, AUTHORIZED, REJECTED, VOID = "pending", "authorized", "rejected", "void"
MIN_JUSTIFICATION = 10
MAX_JUSTIFICATION = 1000
MAX_META = Decimal("999999999999999")  # what the column holds (18 digits, 3 decimals)


class ReprogrammingError(ValueError):
    """A refused request or decision; ``str()`` is the Spanish reason (plain text)."""


@dataclass(frozen=True)
class ChangeView:
    id: int
    indicator_id: int
    indicador: str
    unit_clave: str
    period: str  # Period.code
    old_meta: Decimal
    new_meta: Decimal
    justification: str
    requested_by_id: int
    requested_by: str
    requested_at: datetime
    outcome: str
    decided_by: str | None = None
    decided_at: datetime | None = None
    requester_chat: int | None = None  # where to tell the requester the decision


@dataclass(frozen=True)
class Requested:
    change: ChangeView
    gerente_chats: tuple[int, ...]  # who to ask (active gerentes with a chat)


def _person_name(session: Session, person_id: int | None) -> str | None:
    if person_id is None:
        return None
    person = session.get(Person, person_id)
    return (person.name or f"persona {person_id}") if person else f"persona {person_id}"


def _view(session: Session, change: MetaChange) -> ChangeView:
    indicator = session.get(Indicator, change.indicator_id)
    unit = session.get(Unit, indicator.unit_id)
    requester = session.get(Person, change.requested_by_id)
    return ChangeView(
        id=change.id, indicator_id=change.indicator_id, indicador=indicator.nombre,
        unit_clave=unit.clave, period=change.period, old_meta=change.old_meta,
        new_meta=change.new_meta, justification=change.justification,
        requested_by_id=change.requested_by_id,
        requested_by=_person_name(session, change.requested_by_id) or "",
        requested_at=change.requested_at, outcome=change.outcome,
        decided_by=_person_name(session, change.decided_by_id), decided_at=change.decided_at,
        requester_chat=requester.chat_id if requester is not None and requester.active else None)


def visible_indicator(session: Session, person: PersonView, indicator_id: int
                      ) -> tuple[Indicator, Unit]:
    """The indicator if ``person`` may see it (gerente: any; coordinador: their units)."""
    indicator = session.get(Indicator, indicator_id) if 0 < indicator_id < 2**31 else None
    unit = session.get(Unit, indicator.unit_id) if indicator is not None else None
    if indicator is None or unit is None:
        raise ReprogrammingError(f"No existe el indicador {indicator_id}.")
    if not person.is_gerente and unit.clave not in person.unit_claves:
        raise ReprogrammingError(
            f"El indicador {indicator_id} no es de tus unidades "
            f"({', '.join(person.unit_claves) or 'ninguna'}).")
    return indicator, unit


def indicator_period(indicator: Indicator, text: str) -> Period:
    """One of the indicator's own periods, named as the bot reads periods (mar-23, 2023-Q2)."""
    frequency = Frequency.parse(indicator.frecuencia)
    try:
        period = parse_period(text, default_year=indicator.year)
    except PeriodError as exc:
        raise ReprogrammingError(f"Periodo no reconocido: «{text}».") from exc
    if period.year != indicator.year or period.frequency is not frequency:
        example = Period.containing(period.start, frequency).code \
            if period.year == indicator.year else f"{indicator.year}-…"
        raise ReprogrammingError(
            f"El indicador es {frequency.value.lower()} del POA {indicator.year}: "
            f"nombra uno de sus periodos (p. ej. {example}).")
    return period


def is_closed(session: Session, period: Period, unit_clave: str, now: datetime,
              calendar: ReportingCalendar) -> bool:
    """Ended and no longer open for capture (see the module docstring)."""
    return calendar.has_ended(period, now) and not locks.is_open(
        session, period, unit_clave, now, calendar)


def request_change(session: Session, person: PersonView, indicator_id: int, period_text: str,
                   meta_text: str, justification: str, *, now: datetime,
                   calendar: ReportingCalendar) -> Requested:
    """Record a pending reprogramación; raises :class:`ReprogrammingError` when refused."""
    indicator, unit = visible_indicator(session, person, indicator_id)
    period = indicator_period(indicator, period_text)
    if is_closed(session, period, unit.clave, now, calendar):
        raise ReprogrammingError(
            f"El periodo {period.label} ya cerró: su meta programada no se puede cambiar.")
    try:
        new_meta = parse_decimal(meta_text)
    except NumberError as exc:
        raise ReprogrammingError(f"La nueva meta debe ser un número: {exc}") from exc
    if new_meta < 0 or new_meta > MAX_META:
        raise ReprogrammingError("La nueva meta debe ser un número de 0 en adelante.")
    justification = " ".join(justification.split())
    if len(justification) < MIN_JUSTIFICATION:
        raise ReprogrammingError(
            "Escribe la justificación del cambio (al menos "
            f"{MIN_JUSTIFICATION} caracteres) después de la nueva meta.")
    if len(justification) > MAX_JUSTIFICATION:
        raise ReprogrammingError(
            f"La justificación es muy larga (máximo {MAX_JUSTIFICATION} caracteres).")
    calendar_metas = programmed_metas(session, [indicator.id]).get(indicator.id)
    old_meta = programmed_meta(indicator, calendar_metas, period.code)
    if new_meta == old_meta:
        raise ReprogrammingError(
            f"La meta programada de {period.label} ya es {old_meta.normalize():f}.")
    pending = session.exec(select(MetaChange.id).where(
        MetaChange.indicator_id == indicator.id, MetaChange.period == period.code,
        MetaChange.outcome == PENDING)).first()
    if pending is not None:
        raise ReprogrammingError(
            f"Ya hay una solicitud pendiente (#{pending}) para ese periodo; espera la "
            "decisión de la gerencia.")
    change = MetaChange(indicator_id=indicator.id, period=period.code, old_meta=old_meta,
                        new_meta=new_meta, justification=justification,
                        requested_by_id=person.id, requested_at=now)
    session.add(change)
    session.flush()
    log.info("reprogramación #%s requested by person %s: indicator %s %s %s -> %s", change.id,
             person.id, indicator.id, period.code, old_meta, new_meta)
    chats = session.exec(select(Person.chat_id).where(
        Person.role == ROLE_GERENTE, Person.active, Person.chat_id.is_not(None),
        Person.unreachable_since.is_(None)).order_by(Person.id)).all()
    return Requested(_view(session, change), tuple(chats))


def decide(session: Session, person: PersonView, change_id: int, *, authorize: bool,
           now: datetime, calendar: ReportingCalendar) -> ChangeView:
    """A gerente's decision on a pending request (authorised: the programmed meta changes)."""
    if not person.is_gerente:
        raise ReprogrammingError("Solo la gerencia autoriza reprogramaciones.")
    change = session.get(MetaChange, change_id) if 0 < change_id < 2**31 else None
    if change is None:
        raise ReprogrammingError(f"No existe la solicitud #{change_id}.")
    if change.outcome != PENDING:
        raise ReprogrammingError(f"La solicitud #{change_id} ya se resolvió.")
    indicator = session.get(Indicator, change.indicator_id)
    unit = session.get(Unit, indicator.unit_id)
    change.decided_by_id, change.decided_at = person.id, now
    if not authorize:
        change.outcome = REJECTED
    elif is_closed(session, indicator_period(indicator, change.period), unit.clave, now,
                   calendar):
        change.outcome = VOID
    else:
        change.outcome = AUTHORIZED
        row = session.get(ProgrammedMeta, (indicator.id, change.period))
        if row is None:
            row = ProgrammedMeta(indicator_id=indicator.id, period=change.period,
                                 meta=change.new_meta)
        else:
            row.meta = change.new_meta
        session.add(row)
    session.add(change)
    session.flush()
    log.info("reprogramación #%s %s by person %s", change.id, change.outcome, person.id)
    return _view(session, change)


def history(session: Session, indicator_id: int) -> list[ChangeView]:
    rows = session.exec(select(MetaChange).where(MetaChange.indicator_id == indicator_id)
                        .order_by(MetaChange.requested_at, MetaChange.id)).all()
    return [_view(session, row) for row in rows]
