"""Period locks: whether a period accepts changes for a unit, and a gerente's overrides.

By default the calendar decides (:meth:`ReportingCalendar.is_within_window`: the period has
ended and ``deadline + POA_GRACE_DAYS`` has not passed). A gerente can override it with
``/cerrar`` and ``/reabrir`` for all units (``'*'``) or one unit; that is stored as one
``PeriodLock`` row per (period, scope) holding the latest decision, and every change is
appended to ``LockEvent``. The most specific decision wins: a unit's own row, then the
``'*'`` row, then the calendar. A period that has not ended yet is never open (there is
nothing to report before it ends), whatever the locks say.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ScalarSelect, bindparam
from sqlmodel import Session, select

from bot.domain.calendar import ReportingCalendar
from bot.domain.periods import Period
from storage.models import LockEvent, PeriodLock, Unit

ALL_UNITS = "*"
ACTION_CLOSE = "close"
ACTION_REOPEN = "reopen"
log = logging.getLogger(__name__)


# Asked on every report step: built once and run as a plain query (building it per call, or
# running it through the ORM, cost more than running it).
_LOCKS = PeriodLock.__table__
_OVERRIDES = select(_LOCKS.c.unit_clave, _LOCKS.c.closed).where(
    _LOCKS.c.period == bindparam("period"))


def lock_overrides(session: Session, period: Period) -> dict[str, bool]:
    """The explicit decisions for ``period``: ``{unit_clave or '*': closed}``."""
    return dict(session.connection().execute(_OVERRIDES, {"period": period.code}).all())


def decision_for(scope) -> ScalarSelect:
    """The explicit decision (closed: True/False, or NULL) for the period named by the bind
    parameter ``code`` and ``scope`` (a unit's clave, or :data:`ALL_UNITS`), for a query that
    reads a unit's slot along with it (one round trip fewer per report step)."""
    return select(_LOCKS.c.closed).where(_LOCKS.c.period == bindparam("code"),
                                         _LOCKS.c.unit_clave == scope).scalar_subquery()


def overrides_of(unit_clave: str, unit_closed: bool | None,
                 all_closed: bool | None) -> dict[str, bool]:
    """:func:`lock_overrides` of one unit, from the two :func:`decision_for` columns."""
    found = ((unit_clave, unit_closed), (ALL_UNITS, all_closed))
    return {scope: closed for scope, closed in found if closed is not None}


def open_given(overrides: dict[str, bool], period: Period, unit_clave: str,
               now: datetime, calendar: ReportingCalendar) -> bool:
    """:func:`is_open` with the period's explicit decisions already read."""
    if not calendar.has_ended(period, now):
        return False
    for scope in (unit_clave, ALL_UNITS):
        if scope in overrides:
            return not overrides[scope]
    return calendar.is_within_window(period, now)


def is_open(session: Session, period: Period, unit_clave: str, now: datetime,
            calendar: ReportingCalendar) -> bool:
    """Whether values of ``unit_clave`` for ``period`` may be entered or changed at ``now``."""
    return open_given(lock_overrides(session, period), period, unit_clave, now, calendar)


def open_units(session: Session, period: Period, unit_claves: Iterable[str], now: datetime,
               calendar: ReportingCalendar) -> set[str]:
    """The subset of ``unit_claves`` open for ``period`` at ``now`` (one query)."""
    overrides = lock_overrides(session, period)
    return {clave for clave in unit_claves
            if open_given(overrides, period, clave, now, calendar)}


def reopened_periods(session: Session) -> list[Period]:
    """Periods a gerente reopened explicitly (for any scope): they may be reportable although
    the calendar has closed them."""
    from bot.domain.periods import period_from_code

    codes = session.exec(select(PeriodLock.period).where(PeriodLock.closed == False)  # noqa: E712
                         ).all()
    return sorted({period_from_code(code) for code in set(codes)})


def _set(session: Session, period: Period, unit_clave: str, closed: bool,
         person_id: int | None, now: datetime) -> bool:
    """Record the decision; returns whether the stored state changed. Always logged."""
    unit_clave = unit_clave or ALL_UNITS
    row = session.exec(select(PeriodLock).where(PeriodLock.period == period.code,
                                                PeriodLock.unit_clave == unit_clave)).first()
    changed = row is None or row.closed != closed
    if row is None:
        row = PeriodLock(period=period.code, unit_clave=unit_clave, closed=closed,
                         changed_by_id=person_id, changed_at=now)
    else:
        row.closed, row.changed_by_id, row.changed_at = closed, person_id, now
    if unit_clave == ALL_UNITS:
        # A decision for all units withdraws earlier opposite per-unit decisions, so
        # "/cerrar 2023-03" means closed for everyone (and "/reabrir 2023-03" open for
        # everyone); a later per-unit command can still make an exception.
        for unit_row in session.exec(select(PeriodLock).where(
                PeriodLock.period == period.code, PeriodLock.unit_clave != ALL_UNITS,
                PeriodLock.closed != closed)).all():
            session.delete(unit_row)
            changed = True
    session.add(row)
    session.add(LockEvent(period=period.code, unit_clave=unit_clave,
                          action=ACTION_CLOSE if closed else ACTION_REOPEN,
                          person_id=person_id, at=now))
    session.flush()
    log.info("period %s unit %s %s by person %s", period.code, unit_clave,
             "closed" if closed else "reopened", person_id)
    return changed


def close(session: Session, period: Period, unit_clave: str = ALL_UNITS, *,
          person_id: int | None, now: datetime) -> bool:
    """Close ``period`` for ``unit_clave`` (``'*'``: all units). Returns whether it changed."""
    return _set(session, period, unit_clave, True, person_id, now)


def reopen(session: Session, period: Period, unit_clave: str = ALL_UNITS, *,
           person_id: int | None, now: datetime) -> bool:
    """Reopen ``period`` for ``unit_clave`` (``'*'``: all units) until a gerente closes it
    again; values entered after the deadline are still marked late."""
    return _set(session, period, unit_clave, False, person_id, now)


def lock_history(session: Session, period: Period) -> list[LockEvent]:
    return list(session.exec(select(LockEvent).where(LockEvent.period == period.code)
                             .order_by(LockEvent.at, LockEvent.id)).all())


class UnknownUnitError(ValueError):
    """A unit clave that is not in the catalog."""


@dataclass(frozen=True)
class LockChange:
    """The result of a gerente's /cerrar or /reabrir."""

    period: Period
    unit_clave: str  # '*' for all units
    unit_name: str
    closed: bool
    changed: bool


def set_lock(session: Session, period: Period, unit_clave: str | None, *, closed: bool,
             person_id: int | None, now: datetime) -> LockChange:
    """/cerrar and /reabrir: check the unit, then :func:`close` or :func:`reopen`."""
    clave = unit_clave or ALL_UNITS
    name = ""
    if clave != ALL_UNITS:
        unit = session.exec(select(Unit).where(Unit.clave == clave)).first()
        if unit is None:
            raise UnknownUnitError(clave)
        name = unit.nombre
    action = close if closed else reopen
    changed = action(session, period, clave, person_id=person_id, now=now)
    return LockChange(period, clave, name, closed, changed)
