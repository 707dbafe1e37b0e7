"""Who gets a reminder or the escalation now, and the record that makes each go out once.

(One file past 400 lines on purpose: planning, the ``reminder_log`` record and the
``/recordatorios`` overview share the delivery types and the stage rules below; split,
each half would need the other's internals.)

Decision (pure function of the database, the time and the calendar)
---------------------------------------------------------------------
:meth:`ReportingCalendar.current_stage` gives the latest stage that has fallen due. It stays
current until the next one comes, which is exactly the catch-up rule: a stage missed while the
bot was down goes out once at start-up if its successor has not fallen due yet, and is skipped
otherwise. :func:`plan_due` turns the current stage into deliveries:

* a **reminder** stage: one message per active coordinador with indicators pending for the
  periods whose deadline is in that month (the month, plus the quarter/half/year ending with
  it), in units still open *now* (calendar + locks). Nobody with nothing pending.
* the **escalation** stage: one message per active gerente with the missing units and
  indicators of those periods and who answers for them.

Anyone who already has a final ``ReminderLog`` row for (person, period, stage) is left out, so
the scheduler can ask every minute and after every restart.

Never miss, never repeat (ReminderLog lifecycle)
------------------------------------------------
Each delivery is *claimed* before it is sent: its rows are written with outcome ``sending``
and committed (:func:`claim`). After Telegram answers, they become final (:func:`finish`):
``sent``; ``unreachable`` (403: the person blocked the bot; ``Person.unreachable_since`` is
set and the gerentes are told); ``rejected`` (400: retrying cannot help). A transient failure
(network, 5xx, flood retries exhausted) leaves ``failed``, which the next tick retries.

A row still ``sending`` when the planner looks belongs to a process that died between claim
and finish (one process runs the scheduler, and it never plans while its own fan-out runs).
Such rows are sent again. We cannot know whether Telegram delivered a message whose answer we
never read, so one side must give: re-sending duplicates at most the few messages that were
*in flight* at the instant of the crash (the fan-out claims a delivery only right before
sending it, with a bounded number in flight), whereas treating ``sending`` as done would lose
every message still waiting in the rate limiter's queue. A reminder twice is better than none.

Manual reminders (``/recordar``) use the stage name of today's date, which is also the name of
a scheduled reminder falling today; on top of that they skip anyone already reminded today.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.domain.calendar import (
    ESCALATION,
    REMINDER,
    ReportingCalendar,
    Stage,
    periods_with_deadline_in,
)
from bot.domain.periods import Period
from bot.services import pending, scope, stand_ins
from storage.models import (
    ROLE_COORDINADOR,
    ROLE_GERENTE,
    ROLE_PLANEACION,
    Indicator,
    Person,
    ReminderLog,
    Unit,
)

SENDING = "sending"
SENT = "sent"
UNREACHABLE = "unreachable"
REJECTED = "rejected"
FAILED = "failed"
FINAL_OUTCOMES = (SENT, UNREACHABLE, REJECTED)
MANUAL_STAGE_PREFIX = REMINDER + "-"


@dataclass(frozen=True)
class ReminderItem:
    """One period a coordinador is reminded of."""

    period: Period
    units: tuple[tuple[str, str], ...]  # (clave, nombre) of the units with pending indicators
    pending_count: int
    deadline: date


@dataclass(frozen=True)
class EscalationUnit:
    clave: str
    nombre: str
    missing: tuple[str, ...]  # indicator names
    responsible: tuple[str, ...]
    unreachable: tuple[str, ...]
    covering: tuple[tuple[str, str, date], ...] = ()  # (stand-in, absent, last day) today


@dataclass(frozen=True)
class EscalationItem:
    """One period of an escalation: its units with missing indicators (maybe none)."""

    period: Period
    units: tuple[EscalationUnit, ...]
    closes_at: datetime


@dataclass(frozen=True)
class Delivery:
    """One message to one person covering one or more periods of one stage."""

    person_id: int
    chat_id: int
    name: str
    kind: str  # REMINDER | ESCALATION
    stage: str  # ReminderLog.stage
    items: tuple[ReminderItem | EscalationItem, ...]
    is_last_reminder: bool = False
    manual: bool = False
    # An escalation to a gerente's stand-in: (absent gerente's name, last day) of each one
    # whose units it includes (bot.services.stand_ins.covered_gerentes).
    covering_for: tuple[tuple[str, date], ...] = ()

    @property
    def period_codes(self) -> tuple[str, ...]:
        return tuple(item.period.code for item in self.items)


# --- planning ---------------------------------------------------------------------------------

def _done(session: Session, stage: str, period_codes: list[str]) -> set[tuple[int, str]]:
    """(person_id, period) pairs with a final row for ``stage``."""
    if not period_codes:
        return set()
    rows = session.exec(select(ReminderLog.person_id, ReminderLog.period).where(
        ReminderLog.stage == stage, col(ReminderLog.period).in_(period_codes),
        col(ReminderLog.outcome).in_(FINAL_OUTCOMES))).all()
    return {(person_id, period) for person_id, period in rows}


def _reachable_people(session: Session, ids: set[int] | None, role: str) -> dict[int, Person]:
    query = select(Person).where(Person.role == role, Person.active == True,  # noqa: E712
                                 col(Person.chat_id).is_not(None))
    if ids is not None:
        if not ids:
            return {}
        query = query.where(col(Person.id).in_(sorted(ids)))
    return {p.id: p for p in session.exec(query.order_by(Person.id)).all()}


def plan_reminders(session: Session, periods: list[Period], stage: str, now: datetime,
                   calendar: ReportingCalendar, *, is_last: bool = False,
                   manual: bool = False,
                   unit_claves: list[str] | None = None) -> list[Delivery]:
    """Reminder deliveries of ``stage`` for ``periods``: one per coordinador with something
    pending in a unit open now (of ``unit_claves`` only, when given: the message then names
    and counts only those units), leaving out (person, period) pairs already done."""
    per_person: dict[int, list[pending.PersonPending]] = defaultdict(list)
    for period in periods:
        for person_id, item in pending.pending_for_coordinators(
                session, period, now, calendar, unit_claves).items():
            per_person[person_id].append(item)
    # A manual send filters on "reminded today" itself (and claim() still guards the key).
    done = set() if manual else _done(session, stage, [p.code for p in periods])
    people = _reachable_people(session, set(per_person), ROLE_COORDINADOR)
    unit_names = dict(session.exec(select(Unit.clave, Unit.nombre)).all())
    deliveries = []
    for person_id, person in people.items():
        items = tuple(
            ReminderItem(p.period, tuple((c, unit_names.get(c, "")) for c in p.unit_claves),
                         p.count, calendar.deadline(p.period))
            for p in per_person[person_id] if (person_id, p.period.code) not in done)
        if items:
            deliveries.append(Delivery(person_id, person.chat_id, person.name, REMINDER, stage,
                                       items, is_last_reminder=is_last, manual=manual))
    return deliveries


def escalation_items(session: Session, periods: list[Period], calendar: ReportingCalendar,
                     today: date | None = None) -> tuple[EscalationItem, ...]:
    """Each period's units with something missing; given ``today``, with who stands in."""
    items = []
    for period in periods:
        units = tuple(EscalationUnit(u.clave, u.nombre, tuple(i.nombre for i in u.indicators),
                                     tuple(u.responsible), tuple(u.unreachable),
                                     tuple(u.covering))
                      for u in pending.pending_by_unit(session, period, today).values())
        items.append(EscalationItem(period, units, calendar.closes_at(period)))
    return tuple(items)


def _periods_with_indicators(session: Session, periods: list[Period]) -> list[Period]:
    """Only periods some indicator is due for (no escalation about half-years nobody has)."""
    return [p for p in periods if session.exec(select(Indicator.id).where(
        Indicator.year == p.year, Indicator.frecuencia == p.frequency.value)).first()]


def _union(first: list[str] | None, second: list[str] | None) -> list[str] | None:
    return None if first is None or second is None else sorted(set(first) | set(second))


def plan_escalation(session: Session, periods: list[Period], stage: str,
                    calendar: ReportingCalendar, today: date | None = None) -> list[Delivery]:
    """Escalation deliveries: one per gerente (their gerencia's units, bot.services.scope)
    and per planeación (every unit), for the periods not yet escalated to them. Given
    ``today``: units say who stands in for them, and a gerente's stand-in's escalation also
    has the absent gerente's units (the absent one still gets theirs)."""
    periods = _periods_with_indicators(session, periods)
    if not periods:
        return []
    items = escalation_items(session, periods, calendar, today)
    done = _done(session, stage, [p.code for p in periods])
    reach = scope.gerentes_for_units(session)
    covering = stand_ins.covered_gerentes(session, today) if today is not None else {}
    names = dict(session.exec(select(Person.id, Person.name)).all()) if covering else {}
    deliveries = []
    people = {**_reachable_people(session, None, ROLE_GERENTE),
              **_reachable_people(session, None, ROLE_PLANEACION)}
    for person_id, person in sorted(people.items()):
        claves = reach.get(person_id)
        for absent_id, _ends in covering.get(person_id, ()):
            claves = _union(claves, reach.get(absent_id, []))
        mine = tuple(only_units(i, claves) for i in items
                     if (person_id, i.period.code) not in done)
        if mine:
            deliveries.append(Delivery(
                person_id, person.chat_id, person.name, ESCALATION, stage, mine,
                covering_for=tuple((names.get(absent_id) or f"persona {absent_id}", ends)
                                   for absent_id, ends in covering.get(person_id, ()))))
    return deliveries


def plan_stage(session: Session, stage: Stage, now: datetime,
               calendar: ReportingCalendar) -> list[Delivery]:
    periods = periods_with_deadline_in(stage.year, stage.month)
    if stage.kind == ESCALATION:
        return plan_escalation(session, periods, stage.name, calendar, calendar.today(now))
    return plan_reminders(session, periods, stage.name, now, calendar,
                          is_last=stage.is_last_reminder)


def plan_due(session: Session, now: datetime, calendar: ReportingCalendar) -> list[Delivery]:
    """Everything that should go out at ``now`` and has not (see the module docstring)."""
    return [delivery for stage in calendar.current_stages(now)
            for delivery in plan_stage(session, stage, now, calendar)]


def reminded_today(session: Session, now: datetime, calendar: ReportingCalendar) -> set[int]:
    """People who got a reminder (scheduled or manual) today, local time."""
    since = calendar.start_of_day(calendar.today(now))
    rows = session.exec(select(ReminderLog.person_id).where(
        col(ReminderLog.stage).startswith(MANUAL_STAGE_PREFIX),
        ReminderLog.outcome == SENT, ReminderLog.sent_at >= since)).all()
    return set(rows)


def only_units(item, claves: list[str] | None):
    """An escalation or overview item with only the units in ``claves`` (None: all)."""
    if claves is None:
        return item
    field_name = "units" if isinstance(item, EscalationItem) else "missing"
    wanted = set(claves)
    return replace(item, **{field_name: tuple(u for u in getattr(item, field_name)
                                              if u.clave in wanted)})


def plan_manual(session: Session, now: datetime, calendar: ReportingCalendar,
                period: Period | None = None, person_id: int | None = None,
                unit_claves: list[str] | None = None,
                ) -> tuple[list[Delivery], int]:
    """``/recordar [periodo]``: reminders for ``period`` (default: every period open now) to
    coordinadores with pending indicators (only ``person_id`` when given: the first screen's
    «Recordar a Ana»), except those already reminded today. Returns the deliveries and how
    many people were left out for that reason. ``unit_claves`` (a gerente's gerencia) keeps
    only coordinadores with something pending in those units, and their message lists only
    those units' items (a coordinador with units in two gerencias hears from each gerente
    about that gerente's units only)."""
    periods = [period] if period is not None else pending.candidate_periods(session, now, calendar)
    stage = f"{MANUAL_STAGE_PREFIX}{calendar.today(now).isoformat()}"
    deliveries = plan_reminders(session, periods, stage, now, calendar, manual=True,
                                unit_claves=unit_claves)
    if person_id is not None:
        deliveries = [d for d in deliveries if d.person_id == person_id]
    already = reminded_today(session, now, calendar)
    return [d for d in deliveries if d.person_id not in already], \
        sum(1 for d in deliveries if d.person_id in already)


# --- the record -------------------------------------------------------------------------------

def claim(session: Session, delivery: Delivery, now: datetime) -> list[str]:
    """Mark ``delivery`` as being sent; returns the period codes claimed (empty: nothing to
    send — all of them are already final, e.g. a manual and a scheduled send crossed)."""
    rows = {row.period: row for row in session.exec(select(ReminderLog).where(
        ReminderLog.person_id == delivery.person_id, ReminderLog.stage == delivery.stage,
        col(ReminderLog.period).in_(delivery.period_codes))).all()}
    claimed = []
    for code in delivery.period_codes:
        row = rows.get(code)
        if row is not None and row.outcome in FINAL_OUTCOMES:
            continue
        if row is None:
            row = ReminderLog(person_id=delivery.person_id, period=code, stage=delivery.stage,
                              sent_at=now, outcome=SENDING)
        else:  # a crashed 'sending' or a transient 'failed': ours to retry
            row.outcome, row.sent_at = SENDING, now
        session.add(row)
        claimed.append(code)
    try:
        session.flush()
    except IntegrityError:  # another process inserted the same row first: it is theirs
        session.rollback()
        return []
    return claimed


def finish(session: Session, delivery: Delivery, period_codes: list[str], outcome: str,
           now: datetime) -> bool:
    """Record how the send ended. For ``unreachable`` also mark the person (returns True if
    they were not marked before, i.e. the gerentes should hear about it); a successful send
    clears an old mark (they unblocked the bot)."""
    for row in session.exec(select(ReminderLog).where(
            ReminderLog.person_id == delivery.person_id, ReminderLog.stage == delivery.stage,
            col(ReminderLog.period).in_(period_codes))).all():
        row.outcome, row.sent_at = outcome, now
        session.add(row)
    person = session.get(Person, delivery.person_id)
    newly_unreachable = False
    if person is not None:
        if outcome == UNREACHABLE and person.unreachable_since is None:
            person.unreachable_since = now
            newly_unreachable = True
        elif outcome == SENT and person.unreachable_since is not None:
            person.unreachable_since = None
        session.add(person)
    return newly_unreachable


@dataclass(frozen=True)
class UnreachablePerson:
    name: str
    role: str
    units: tuple[str, ...]


def describe_unreachable(session: Session, person_ids: list[int]) -> list[UnreachablePerson]:
    """Names and units of people who blocked the bot, for the gerentes' notice."""
    result = []
    for person_id in person_ids:
        person = session.get(Person, person_id)
        if person is not None:
            result.append(UnreachablePerson(person.name, person.role, tuple(
                u.clave for u in pending.person_units(session, person_id))))
    return result


def gerente_chats(session: Session, exclude: set[int] = frozenset()) -> list[int]:
    """Chats of active gerentes who can be reached (for notices)."""
    rows = session.exec(select(Person.id, Person.chat_id).where(
        Person.role == ROLE_GERENTE, Person.active == True,  # noqa: E712
        col(Person.chat_id).is_not(None), col(Person.unreachable_since).is_(None))).all()
    return [chat for person_id, chat in rows if person_id not in exclude]


# --- for /recordatorios -------------------------------------------------------------------

@dataclass(frozen=True)
class OpenPeriod:
    """A period open now (for at least one unit), with what is missing."""

    period: Period
    deadline: date
    closes_at: datetime
    reopened: bool  # open only because a gerente reopened it
    missing: tuple[EscalationUnit, ...]


def open_overview(session: Session, now: datetime,
                  calendar: ReportingCalendar) -> list[OpenPeriod]:
    """``/recordatorios``: the periods that accept values now and who still owes what."""
    from bot.services import locks

    all_claves = list(session.exec(select(Unit.clave)).all())
    result = []
    for period in _periods_with_indicators(session,
                                           pending.candidate_periods(session, now, calendar)):
        open_claves = locks.open_units(session, period, all_claves, now, calendar)
        if not open_claves:  # closed by a gerente for everyone
            continue
        item = escalation_items(session, [period], calendar, calendar.today(now))[0]
        result.append(OpenPeriod(period, calendar.deadline(period), calendar.closes_at(period),
                                 not calendar.is_within_window(period, now),
                                 tuple(u for u in item.units if u.clave in open_claves)))
    return result
