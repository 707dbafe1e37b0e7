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

* A gerente's **stand-in** (``/suplente``; another gerente or planeación) also gets the
  absent gerente's digest — that gerente's view — while the range lasts, under its own
  stage ``digest-<absent id>``, unless they are a gerente whose own digest already covers
  the absent one's units (one gerencia: every gerente sees everything).

Pure functions of the database, the time and the settings; the sending is in
:mod:`handlers.digest`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.services import scope, stand_ins
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
    stage: str = DIGEST_STAGE
    # A stand-in's copy: whose digest it is (their view), their name and the last day.
    view_person_id: int | None = None
    covering: str = ""
    until: date | None = None
    with_buttons: bool = True  # False: the stand-in's own scope would refuse the buttons

    @property
    def viewer_id(self) -> int:
        return self.view_person_id if self.view_person_id is not None else self.person_id


def _covers(mine: list[str] | None, theirs: list[str] | None) -> bool:
    return mine is None or (theirs is not None and set(theirs) <= set(mine))


def plan_digest(session: Session, now: datetime, timezone: ZoneInfo, weekday: int | None,
                at: time) -> list[DigestTarget]:
    """Gerentes (and gerentes' stand-ins) who should get the current week's digest and have
    not (module docstring)."""
    if weekday is None:
        return []
    week = week_key(digest_moment(now, timezone, weekday, at))
    done = set(session.exec(select(ReminderLog.person_id, ReminderLog.stage).where(
        col(ReminderLog.stage).startswith(DIGEST_STAGE), ReminderLog.period == week,
        col(ReminderLog.outcome).in_(FINAL_OUTCOMES))).all())
    people = session.exec(select(Person).where(
        Person.role == ROLE_GERENTE, Person.active == True,  # noqa: E712
        col(Person.chat_id).is_not(None)).order_by(Person.id)).all()
    targets = [DigestTarget(p.id, p.chat_id, p.name, week) for p in people
               if (p.id, DIGEST_STAGE) not in done]
    covered = stand_ins.covered_gerentes(session, now.astimezone(timezone).date())
    if not covered:
        return targets
    reach = scope.gerentes_for_units(session)
    for stand_in_id, absences in sorted(covered.items()):
        stand_in = session.get(Person, stand_in_id)
        if stand_in.chat_id is None:
            continue
        for absent_id, until in absences:
            stage = f"{DIGEST_STAGE}-{absent_id}"
            reaches = _covers(reach.get(stand_in_id, []), reach.get(absent_id, []))
            if (stand_in_id, stage) in done or (stand_in.role == ROLE_GERENTE and reaches):
                continue  # sent, or the stand-in's own digest already shows the same
            absent = session.get(Person, absent_id)
            targets.append(DigestTarget(
                stand_in_id, stand_in.chat_id, stand_in.name, week, stage, absent_id,
                absent.name or f"persona {absent_id}", until, reaches))
    return targets


def claim(session: Session, target: DigestTarget, now: datetime) -> bool:
    """Mark the digest as being sent; False if it is already final (someone else sent it)."""
    row = session.exec(select(ReminderLog).where(
        ReminderLog.person_id == target.person_id, ReminderLog.stage == target.stage,
        ReminderLog.period == target.week)).first()
    if row is not None and row.outcome in FINAL_OUTCOMES:
        return False
    if row is None:
        row = ReminderLog(person_id=target.person_id, period=target.week, stage=target.stage,
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
        ReminderLog.person_id == target.person_id, ReminderLog.stage == target.stage,
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
