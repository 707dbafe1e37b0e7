"""What the reporting conversation and its step rooms share: the :class:`Turn`, the state
document stored per chat, the screens every room may return, and :class:`Steps`.

:mod:`bot.services.conversation` owns the transitions; the rooms it hands a step to
(:mod:`bot.services.batch_flow`, :mod:`bot.services.justification_step`) import this module,
never ``conversation``: where a room must hand control back to a transition of the
conversation (judge a value, ask the next pending indicator, go on once a slot is settled) it
receives those functions in a :class:`Steps` passed by the conversation. So the imports point
one way: conversation → rooms → flow_state.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, delete, select

from bot.domain.attainment import DEFAULT_BANDS, Bands
from bot.domain.calendar import ReportingCalendar
from bot.services import reporting
from bot.services.registration import PersonView, UnitView
from bot.services.reporting import IndicatorCard, ValueSlot
from storage.models import Conversation, ProcessedUpdate

REPORT, CORRECT = "r", "c"  # flow names double as callback-data prefixes
PROCESSED_UPDATES_KEPT = timedelta(days=3)


@dataclass(frozen=True)
class Turn:
    person: PersonView
    chat_id: int
    update_id: int | None
    now: datetime
    calendar: ReportingCalendar
    bands: Bands = DEFAULT_BANDS  # the settings' semáforo, for fichas without their own


@dataclass(frozen=True)
class Steps:
    """The conversation's transitions a room hands control back to; built once by
    :mod:`bot.services.conversation` (``conversation.STEPS``) and passed to the rooms."""

    # (session, turn, state, slot, value) -> screens: save a plausible value, ask about
    # an implausible one, or say the slot was taken meanwhile
    judge: Callable[..., list]
    # (session, turn, unit, period) -> screens: the unit's next pending values or the summary
    ask_next: Callable[..., list]
    # (session, turn, state, slot) -> screens: the next queued question of a batch or the
    # next pending indicator, once a slot needs nothing more
    settled: Callable[..., list]


# --- screens the rooms return too (the rest: bot.services.conversation) ------------------

@dataclass(frozen=True)
class ChooseReading:
    """The text reads two ways (``3.040``: 3,040 or 3.04): the person picks one."""

    flow: str
    card: IndicatorCard
    typed: str
    readings: tuple[Decimal, ...]


@dataclass(frozen=True)
class AskRemarks:
    card: IndicatorCard
    value: Decimal
    late: bool
    note: str = ""
    saved_now: bool = True  # False: asked after a batch was saved (no "Guardé")
    evidence_required: bool = False  # the ficha asks for evidence: say a file can go now


@dataclass(frozen=True)
class ValueNoted:
    """A value answered in a batch's queue (a reading chosen, an unusual value confirmed)
    was saved; the next question follows in the same message, so the tap is seen to count."""
    card: IndicatorCard
    value: Decimal
    note: str = ""


@dataclass(frozen=True)
class Refused:
    message: str  # Spanish, from the domain (numbers) or the services


@dataclass(frozen=True)
class Stale:
    """A button that no longer (or never) applies: refused, nothing changed."""


# --- state storage --------------------------------------------------------------------------

# Every step reads and writes its state and claims its update id: these statements are built
# once (building them per call cost more than running them) and run as plain SQL, outside
# the ORM's identity map and flush.
_STATE = Conversation.__table__
_LOAD_STATE = select(_STATE.c.state).where(_STATE.c.chat_id == bindparam("chat_id"))
_CLEAR_STATE = _STATE.delete().where(_STATE.c.chat_id == bindparam("chat_id"))


def _upsert_state(insert):
    statement = insert(_STATE).values(chat_id=bindparam("chat_id"), state=bindparam("state"),
                                      updated_at=bindparam("updated_at"))
    return statement.on_conflict_do_update(
        index_elements=[_STATE.c.chat_id],
        set_={"state": statement.excluded.state, "updated_at": statement.excluded.updated_at})


def _claim(insert):
    table = ProcessedUpdate.__table__
    # RETURNING says whether the row went in (psycopg reported a rowcount of -1 for it).
    return insert(table).values(
        update_id=bindparam("update_id"), processed_at=bindparam("processed_at"),
    ).on_conflict_do_nothing().returning(table.c.update_id)


# ON CONFLICT is spelled by each dialect's own INSERT (SQLite and PostgreSQL both have it).
_SAVE_STATE = {"postgresql": _upsert_state(postgresql.insert),
               "sqlite": _upsert_state(sqlite.insert)}
_CLAIM_UPDATE = {"postgresql": _claim(postgresql.insert), "sqlite": _claim(sqlite.insert)}
# PostgreSQL runs an INSERT inside a WITH, so the claim and the state read are one statement
# (SQLite has no data-modifying WITH: there they stay two).
_CLAIMED = _CLAIM_UPDATE["postgresql"].cte("claimed")
_CLAIM_AND_LOAD = select(
    select(func.count()).select_from(_CLAIMED).scalar_subquery().label("claimed"),
    _LOAD_STATE.scalar_subquery().label("state"))


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def load_state(session: Session, chat_id: int) -> dict:
    return _parsed(session.connection().execute(_LOAD_STATE, {"chat_id": chat_id}).scalar())


def _parsed(text: str | None) -> dict:
    if text is None:
        return {}
    try:
        state = json.loads(text or "{}")
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}


def save_state(session: Session, chat_id: int, state: dict, now: datetime) -> None:
    text = json.dumps(state, sort_keys=True, separators=(",", ":"))
    session.connection().execute(_SAVE_STATE[_dialect(session)],
                                 {"chat_id": chat_id, "state": text, "updated_at": now})


def clear_state(session: Session, chat_id: int) -> None:
    session.connection().execute(_CLEAR_STATE, {"chat_id": chat_id})


def claim_update(session: Session, update_id: int | None, now: datetime) -> bool:
    """Record the update as applied (in the step's transaction); False if it already was.

    One ``INSERT … ON CONFLICT DO NOTHING`` instead of a look-up and an ORM flush. It is the
    step's first statement, so on SQLite the write lock is taken here and every read of the
    step happens inside the write transaction; on PostgreSQL a concurrent copy of the same
    update waits for this one's outcome."""
    if update_id is None:
        return True
    claimed = session.connection().execute(_CLAIM_UPDATE[_dialect(session)],
                                           {"update_id": update_id, "processed_at": now})
    if claimed.first() is None:
        return False
    _forget_old_updates(session, update_id, now)
    return True


def claim_and_load(session: Session, turn: Turn) -> dict | None:
    """:func:`claim_update` and then :func:`load_state`: the state, or None if the update was
    already applied. On PostgreSQL both are one statement (one round trip fewer per step)."""
    if turn.update_id is None or _dialect(session) != "postgresql":
        if not claim_update(session, turn.update_id, turn.now):
            return None
        return load_state(session, turn.chat_id)
    row = session.connection().execute(_CLAIM_AND_LOAD, {
        "update_id": turn.update_id, "processed_at": turn.now, "chat_id": turn.chat_id}).one()
    if not row.claimed:
        return None
    _forget_old_updates(session, turn.update_id, turn.now)
    return _parsed(row.state)


def _forget_old_updates(session: Session, update_id: int, now: datetime) -> None:
    if update_id % 200 == 0:  # now and then, forget ids Telegram can no longer re-deliver
        session.exec(delete(ProcessedUpdate).where(
            col(ProcessedUpdate.processed_at) < now - PROCESSED_UPDATES_KEPT))


# --- helpers ---------------------------------------------------------------------------------

def printable(text: str) -> str:
    """Free text to keep (remarks, reasons): stripped, without control characters other
    than line breaks and tabs — PostgreSQL refuses NUL in text and the xlsx format refuses
    most of them, and none of them means anything in a remark."""
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc"
                   ).strip()


def unit_view(turn: Turn, clave: str) -> UnitView | None:
    return next((u for u in turn.person.units if u.clave == clave), None)


def set_step(session: Session, turn: Turn, **state) -> dict:
    save_state(session, turn.chat_id, state, turn.now)
    return state


def clear(session: Session, turn: Turn) -> None:
    clear_state(session, turn.chat_id)


def slot(session: Session, turn: Turn, indicator_id, period_code) -> ValueSlot | None:
    """The indicator/period a state or a button names, if it is the person's and due, with
    its stored and earlier values (one query, read once per step)."""
    try:
        indicator_id = int(indicator_id)
    except (TypeError, ValueError):
        return None
    period = reporting.parse_period_code(str(period_code))
    if period is None:
        return None
    return reporting.load_slot(session, turn.person.id, indicator_id, period,
                               today=turn.calendar.local(turn.now).date())  # stand-ins


def state_slot(session: Session, turn: Turn, state: dict) -> ValueSlot | None:
    return slot(session, turn, state.get("indicator"), state.get("period"))


def base(state: dict) -> dict:
    """The state without what belongs to one answer (candidate value, readings)."""
    return {k: v for k, v in state.items() if k not in ("candidate", "readings", "typed",
                                                          "chosen")}
