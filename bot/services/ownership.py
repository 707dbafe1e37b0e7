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
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from bot.domain.calendar import ReportingCalendar
from bot.services import revision_log
from storage.models import Person, ReportedValue


@dataclass(frozen=True, slots=True)
class StoredValue:
    """A reported value as a step read or wrote it: a plain copy of its ``reported_values``
    row. The report steps read and write values with plain statements (through the ORM's
    objects and unit of work a step cost a third more), so a slot holds this, and a save
    replaces it with what it wrote."""

    id: int
    indicator_id: int
    period: str
    year: int
    period_start: date
    period_end: date
    value: Decimal
    meta: Decimal
    observaciones: str
    reported_by_id: int | None
    reported_at: datetime
    source: str
    late: bool
    on_behalf_of_id: int | None

    @classmethod
    def of(cls, row, prefix: str = "") -> StoredValue:
        """From a row of the table's columns (:data:`VALUE_COLUMNS`), or of them labelled
        with ``prefix`` (a query that also reads other tables)."""
        if not prefix:
            return cls(**row._mapping)
        return cls(**{name: getattr(row, prefix + name) for name in cls.__slots__})


@dataclass(frozen=True)
class Owner:
    """Who stored the current figure and when (``person_id`` None: it came from an import
    or the command line). ``at`` is aware, in the calendar's timezone when one was given."""

    value: Decimal
    person_id: int | None
    name: str
    source: str
    at: datetime


def owner_of(session: Session, row: StoredValue | ReportedValue,
             calendar: ReportingCalendar | None = None) -> Owner:
    person = session.get(Person, row.reported_by_id) if row.reported_by_id else None
    return Owner(value=row.value, person_id=row.reported_by_id,
                 name=person.name if person is not None else "", source=row.source,
                 at=calendar.local(row.reported_at) if calendar else row.reported_at)


# --- the first value of a slot ------------------------------------------------------------

_VALUES = ReportedValue.__table__
VALUE_COLUMNS = tuple(_VALUES.c)  # select(*VALUE_COLUMNS): rows for StoredValue.of


_COLUMNS = ("indicator_id", "period", "year", "period_start", "period_end", "value", "meta",
            "observaciones", "reported_by_id", "reported_at", "source", "late",
            "on_behalf_of_id")


def _insert_once(insert):
    return (insert(_VALUES).values({name: bindparam(name) for name in _COLUMNS})
            .on_conflict_do_nothing(index_elements=[_VALUES.c.indicator_id,
                                                    _VALUES.c.period])
            .returning(_VALUES.c.id))


# ON CONFLICT is spelled by each dialect's own INSERT (SQLite and PostgreSQL both have it).
# PostgreSQL logs the revision in the same statement (see bot.services.revision_log).
_INSERT_ONCE_LOGGED = revision_log.with_log_if_inserted(
    _insert_once(postgresql.insert).cte("inserted"))
_INSERT_ONCE_SQLITE = _insert_once(sqlite.insert)
_CURRENT = select(*VALUE_COLUMNS).where(_VALUES.c.indicator_id == bindparam("indicator_id"),
                                        _VALUES.c.period == bindparam("period"))
# Locked until commit (PostgreSQL; SQLite's step already holds the write lock): a concurrent
# correction waits, then sees this one.
_LOCKED = select(*VALUE_COLUMNS).where(_VALUES.c.id == bindparam("row_id")).with_for_update()


def insert_first(session: Session, values: dict, revision: dict) -> StoredValue | None:
    """Store a value (``values``: every column but ``id``) and log its ``revision``, unless
    the indicator already has one for its period. Returns it as stored, or None when someone
    else's is there (nothing is logged then); :func:`current_row` reads the winner (on
    PostgreSQL, ``ON CONFLICT`` waited for the winner's transaction to commit, so the next
    statement sees it)."""
    session.flush()  # whatever the step changed through the ORM goes first
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        new_id = connection.execute(_INSERT_ONCE_LOGGED,
                                    {**values, **revision_log.params(revision)}).scalar()
    else:
        new_id = connection.execute(_INSERT_ONCE_SQLITE, values).scalar()
        if new_id is not None:
            revision_log.log(session, revision)
    return None if new_id is None else StoredValue(id=new_id, **values)


def current_row(session: Session, indicator_id: int, period_code: str) -> StoredValue | None:
    row = session.connection().execute(
        _CURRENT, {"indicator_id": indicator_id, "period": period_code}).first()
    return None if row is None else StoredValue.of(row)


def locked_row(session: Session, row_id: int) -> StoredValue | None:
    """The value as it is now, locked for this transaction's change (see :data:`_LOCKED`)."""
    row = session.connection().execute(_LOCKED, {"row_id": row_id}).first()
    return None if row is None else StoredValue.of(row)
