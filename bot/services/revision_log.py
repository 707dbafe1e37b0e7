"""The log of every change to a stored value (``revisions``), written in the step's transaction.

A revision is written with the change it records. On PostgreSQL the two go in one statement
(a data-modifying ``WITH``): a report message is a handful of round trips, and each one is
CPU on both sides and latency for the person; SQLite has no INSERT inside ``WITH``, and there
a statement costs nothing to send, so there they stay two.
"""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select
from sqlalchemy.sql import Executable
from sqlmodel import Session

from storage.models import Revision

_TABLE = Revision.__table__
COLUMNS = ("indicator_id", "period", "old_value", "new_value", "old_observaciones",
           "new_observaciones", "person_id", "at", "reason", "source", "on_behalf_of_id")


def _param(name: str):
    # Named apart from the columns: an UPDATE takes a parameter named like one of its table's
    # columns (indicator_id, period...) as one more column to SET. Typed, so that PostgreSQL
    # knows the type of a parameter in a SELECT list.
    return bindparam(f"r_{name}", type_=_TABLE.c[name].type)


_LOG = insert(_TABLE).values({name: _param(name) for name in COLUMNS}).inline()  # no RETURNING


def params(revision: dict) -> dict:
    """``revision`` (a value for each of :data:`COLUMNS`) as the statements' parameters."""
    return {f"r_{name}": revision[name] for name in COLUMNS}


def log(session: Session, revision: dict) -> None:
    """Append one revision now."""
    session.connection().execute(_LOG, params(revision))


class Logged:
    """A change (an UPDATE run with its own parameters) and the revision that records it."""

    def __init__(self, statement: Executable):
        self.alone = statement
        self.with_log = statement.add_cte(_LOG.cte("logged"))  # PostgreSQL

    def execute(self, session: Session, parameters: dict, revision: dict) -> None:
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            connection.execute(self.with_log, {**parameters, **params(revision)})
        else:
            connection.execute(self.alone, parameters)
            log(session, revision)


def with_log_if_inserted(inserted) -> Executable:
    """PostgreSQL: ``SELECT id`` of the CTE ``inserted`` (an INSERT … RETURNING id that may
    insert nothing), logging the revision only when it did insert."""
    logged = insert(_TABLE).from_select(
        list(COLUMNS), select(*(_param(name) for name in COLUMNS)).select_from(inserted))
    return select(inserted.c.id).add_cte(logged.cte("logged"))
