"""Whose figure is stored, and storing a first figure without overwriting anybody.

One indicator has one value per period (``uq_value_indicator_period``), and several people
may answer for one unit. A first value goes in with ``INSERT … ON CONFLICT DO NOTHING
RETURNING``: of two people sending at the same instant exactly one row is written, and the
other learns who got there first (:class:`Owner`) instead of an error (PostgreSQL's unique
violation) or a silent overwrite. Changing a stored value is a correction with a reason
(``reporting.save_value``); the screens here tell the person what is stored, by whom and
when, and let them keep it or correct it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, select

from bot.domain.calendar import ReportingCalendar
from storage.models import Person, ReportedValue


@dataclass(frozen=True)
class Owner:
    """Who stored the current figure and when (``person_id`` None: it came from an import
    or the command line). ``at`` is aware, in the calendar's timezone when one was given."""

    value: Decimal
    person_id: int | None
    name: str
    source: str
    at: datetime


def owner_of(session: Session, row: ReportedValue,
             calendar: ReportingCalendar | None = None) -> Owner:
    person = session.get(Person, row.reported_by_id) if row.reported_by_id else None
    return Owner(value=row.value, person_id=row.reported_by_id,
                 name=person.name if person is not None else "", source=row.source,
                 at=calendar.local(row.reported_at) if calendar else row.reported_at)


# --- the first value of a slot ------------------------------------------------------------

_VALUES = ReportedValue.__table__


_COLUMNS = ("indicator_id", "period", "year", "period_start", "period_end", "value", "meta",
            "observaciones", "reported_by_id", "reported_at", "source", "late",
            "on_behalf_of_id")


def _insert_once(insert):
    return (insert(_VALUES).values({name: bindparam(name) for name in _COLUMNS})
            .on_conflict_do_nothing(index_elements=[_VALUES.c.indicator_id,
                                                    _VALUES.c.period])
            .returning(_VALUES.c.id))


# ON CONFLICT is spelled by each dialect's own INSERT (SQLite and PostgreSQL both have it).
_INSERT_ONCE = {"postgresql": _insert_once(postgresql.insert),
                "sqlite": _insert_once(sqlite.insert)}


def insert_first(session: Session, row: ReportedValue) -> ReportedValue | None:
    """Store ``row`` (not yet in the session) unless the indicator already has a value for
    its period. Returns the stored row, or None when someone else's is there; then
    :func:`current_row` reads the winner (on PostgreSQL, ``ON CONFLICT`` waited for the
    winner's transaction to commit, so the next statement sees it)."""
    session.flush()
    params = {name: getattr(row, name) for name in _COLUMNS}
    new_id = session.connection().execute(_INSERT_ONCE[session.get_bind().dialect.name],
                                          params).scalar()
    if new_id is None:
        return None
    # The row as written, attached to the session without reading it back.
    row.id = new_id
    make_transient_to_detached(row)
    session.add(row)
    return row


def current_row(session: Session, indicator_id: int, period_code: str) -> ReportedValue | None:
    return session.exec(select(ReportedValue).where(
        ReportedValue.indicator_id == indicator_id, ReportedValue.period == period_code,
    ).execution_options(populate_existing=True)).first()
