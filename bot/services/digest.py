"""The gerentes' weekly digest: who gets it now, and the record that makes it go out once.

Every week at ``POA_DIGEST_DAY`` / ``POA_DIGEST_TIME`` (local, default Monday 08:30) each
active gerente gets the first screen of ``/resumen`` for the last closed month. The
guarantees are those of reminders (:mod:`bot.services.reminders`), with the same table:

* The **current digest** is the latest digest moment at or before now; it stays current
  until the next one, a week later. So a digest missed while the bot was down goes out once
  when it is back, any day of that week, and a week-old one is replaced by the new one.
* ``reminder_log`` rows (person, ``2026-W48``, stage ``digest``) are **claimed** (outcome
  ``sending``, committed) before sending and made final after (``sent``, ``unreachable``,
  ``rejected``); ``failed`` and a crashed ``sending`` are retried by the next tick. The unique
  (person, period, stage) key makes two processes or a restart unable to send it twice.

Pure functions of the database, the time and the settings; the sending is in
:mod:`handlers.digest`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.services.reminders import FINAL_OUTCOMES, SENDING, SENT, UNREACHABLE
from storage.models import ROLE_GERENTE, Person, ReminderLog

DIGEST_STAGE = "digest"


def digest_moment(now: datetime, timezone: ZoneInfo, weekday: int, at: time) -> datetime:
    """The latest digest moment at or before ``now`` (``weekday`` 1 = Monday)."""
    local = now.astimezone(timezone)
    day = local.date() - timedelta(days=(local.isoweekday() - weekday) % 7)
    moment = datetime.combine(day, at.replace(tzinfo=None), timezone)
    if moment > local:
        moment = datetime.combine(day - timedelta(days=7), at.replace(tzinfo=None), timezone)
    return moment


def week_key(moment: datetime) -> str:
    """``2026-W48``: the ISO week of a digest moment (its ``reminder_log.period``)."""
    year, week, _ = moment.date().isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class DigestTarget:
    person_id: int
    chat_id: int
    name: str
    week: str


def plan_digest(session: Session, now: datetime, timezone: ZoneInfo, weekday: int | None,
                at: time) -> list[DigestTarget]:
    """Gerentes who should get the current week's digest and have not (module docstring)."""
    if weekday is None:
        return []
    week = week_key(digest_moment(now, timezone, weekday, at))
    done = set(session.exec(select(ReminderLog.person_id).where(
        ReminderLog.stage == DIGEST_STAGE, ReminderLog.period == week,
        col(ReminderLog.outcome).in_(FINAL_OUTCOMES))).all())
    people = session.exec(select(Person).where(
        Person.role == ROLE_GERENTE, Person.active == True,  # noqa: E712
        col(Person.chat_id).is_not(None)).order_by(Person.id)).all()
    return [DigestTarget(p.id, p.chat_id, p.name, week) for p in people if p.id not in done]


def claim(session: Session, target: DigestTarget, now: datetime) -> bool:
    """Mark the digest as being sent; False if it is already final (someone else sent it)."""
    row = session.exec(select(ReminderLog).where(
        ReminderLog.person_id == target.person_id, ReminderLog.stage == DIGEST_STAGE,
        ReminderLog.period == target.week)).first()
    if row is not None and row.outcome in FINAL_OUTCOMES:
        return False
    if row is None:
        row = ReminderLog(person_id=target.person_id, period=target.week, stage=DIGEST_STAGE,
                          sent_at=now, outcome=SENDING)
    else:  # a crashed 'sending' or a transient 'failed': ours to retry
        row.outcome, row.sent_at = SENDING, now
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # another process inserted it first: it is theirs
        session.rollback()
        return False
    return True


def finish(session: Session, target: DigestTarget, outcome: str, now: datetime) -> None:
    """Record how the send ended (and mark a person who blocked the bot, as reminders do)."""
    row = session.exec(select(ReminderLog).where(
        ReminderLog.person_id == target.person_id, ReminderLog.stage == DIGEST_STAGE,
        ReminderLog.period == target.week)).first()
    if row is not None:
        row.outcome, row.sent_at = outcome, now
        session.add(row)
    person = session.get(Person, target.person_id)
    if person is not None:
        if outcome == UNREACHABLE and person.unreachable_since is None:
            person.unreachable_since = now
        elif outcome == SENT and person.unreachable_since is not None:
            person.unreachable_since = None
        session.add(person)
