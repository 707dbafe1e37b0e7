"""The reporting calendar: when a period can be reported, when it is late, when it closes,
and when reminders and the escalation fall due. Pure functions of the settings, no I/O.

Definitions (all dates and times in ``POA_TIMEZONE``):

* A period's **window opens** at 00:00 of the day after the period ends (``2023-03`` → 1 April;
  ``2023-Q1`` → 1 April; ``2023-S1`` → 1 July).
* Its **deadline** is ``POA_DEADLINE_DAY`` of the month after the period ends (5 April). The
  whole deadline day counts: a value is **late** when it arrives at or after 00:00 of the day
  after the deadline (6 April 00:00).
* It **closes** for changes at 00:00 of the day after ``deadline + POA_GRACE_DAYS``; with grace
  0 that is the same instant as the first late one, so nothing late can be entered without a
  gerente's ``/reabrir``. Late values accepted during a grace period are marked late.
* **Reminders** fall on each of ``POA_REMINDER_DAYS`` of that month at ``POA_REMINDER_TIME``,
  as long as the period is still open then; the **escalation** falls on ``POA_ESCALATION_DAY``
  at the same time.
* **Business days** (:class:`BusinessDays`): a deadline, reminder or escalation day that falls
  on a Saturday, a Sunday or a holiday moves to the next business day (Monday 6 if the 5th is a
  Saturday). The escalation never comes before the business day after the (moved) deadline,
  and two reminders moved onto one day are sent once. Holidays are the country's official
  ones (``POA_HOLIDAYS_COUNTRY``, Mexico by default, from the ``holidays`` package: the days
  of the Ley Federal del Trabajo, art. 74) plus ``POA_EXTRA_HOLIDAYS``.

Every period ending in a month (the month, and the quarter/half/year that ends with it)
shares the same stage times, so the stages of all periods form one sequence in time: ...,
escalation(March), reminder 1 April, reminder 3 April, reminder 5 April, escalation(April),
reminder 1 May, ...

Local wall times are turned into instants with :mod:`zoneinfo`, so 09:00 stays 09:00 across
daylight-saving changes. A wall time that does not exist on a spring-forward day (02:30) is
read with the offset in force before the change, i.e. it lands an hour later on the clock
(03:30); one that happens twice on a fall-back day is taken the first time.
"""

from __future__ import annotations

import calendar as _cal
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.official_holidays import official_holidays
from bot.domain.periods import Period

REMINDER = "reminder"
ESCALATION = "escalation"
_PERIOD_KINDS_ENDING = (("M", 1), ("Q", 3), ("S", 6), ("Y", 12))


@dataclass(frozen=True, order=True)
class Stage:
    """One moment at which reminders (to coordinadores) or the escalation (to gerentes) go out,
    for every period whose deadline falls in ``year``-``month``."""

    at: datetime  # aware, in the calendar's timezone
    kind: str  # REMINDER | ESCALATION
    year: int  # the deadline month
    month: int
    is_last_reminder: bool = False

    @property
    def name(self) -> str:
        """Stored in ReminderLog.stage: ``reminder-2023-04-03`` or ``escalation``. A reminder's
        name is its local date, so a manual ``/recordar`` on a reminder day shares its key."""
        if self.kind == ESCALATION:
            return ESCALATION
        return f"{REMINDER}-{self.at.date().isoformat()}"

    @property
    def local_date(self) -> date:
        return self.at.date()


def periods_with_deadline_in(year: int, month: int) -> list[Period]:
    """Periods whose deadline month is ``year``-``month``: those ending the month before
    (``2023-04`` → 2023-03 and 2023-Q1; ``2024-01`` → 2023-12, Q4, S2 and the year 2023)."""
    end_year, end_month = (year, month - 1) if month > 1 else (year - 1, 12)
    result = []
    for kind, months in _PERIOD_KINDS_ENDING:
        if end_month % months == 0:
            index = end_month // months
            start = Period.month(end_year, end_month - months + 1).start
            result.append(Period(start, kind, index))
    return result


def _month_after(day: date) -> tuple[int, int]:
    return (day.year, day.month + 1) if day.month < 12 else (day.year + 1, 1)


def _clamp_day(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, _cal.monthrange(year, month)[1]))


@dataclass(frozen=True)
class BusinessDays:
    """Which days people work: Monday to Friday, minus official and local holidays.

    ``shift=False`` counts every day (a calendar built by hand in tests, or an office that
    wants the configured days exactly)."""

    country: str | None = "MX"
    extra: frozenset[date] = field(default_factory=frozenset)
    shift: bool = True

    def is_business_day(self, day: date) -> bool:
        if not self.shift:
            return True
        if day.weekday() >= 5 or day in self.extra:
            return False
        return not (self.country and day in official_holidays(self.country, day.year))

    def on_or_after(self, day: date) -> date:
        """``day`` itself if people work then, else the next day they do."""
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def after(self, day: date) -> date:
        """The first business day strictly after ``day``."""
        return self.on_or_after(day + timedelta(days=1))


EVERY_DAY = BusinessDays(country=None, shift=False)


def deadline_for(period: Period, deadline_day: int,
                 business_days: BusinessDays = EVERY_DAY) -> date:
    """Last on-time day for ``period``: ``deadline_day`` of the month after it ends, moved to
    the next business day when it is not one."""
    year, month = _month_after(period.end)
    return business_days.on_or_after(_clamp_day(year, month, deadline_day))


@dataclass(frozen=True)
class ReportingCalendar:
    """The calendar as configured. Build it with :meth:`from_settings`."""

    timezone: ZoneInfo
    deadline_day: int = 5
    reminder_days: tuple[int, ...] = (1, 3, 5)
    reminder_time: time = time(9, 0)
    escalation_day: int = 6
    grace_days: int = 0
    business_days: BusinessDays = EVERY_DAY

    @classmethod
    def from_settings(cls, settings) -> ReportingCalendar:
        return cls(timezone=settings.timezone,
                   deadline_day=settings.poa_deadline_day,
                   reminder_days=tuple(sorted(settings.poa_reminder_days)),
                   reminder_time=settings.poa_reminder_time.replace(tzinfo=None),
                   escalation_day=settings.poa_escalation_day,
                   grace_days=settings.poa_grace_days,
                   business_days=settings.business_days)

    # --- conversions ----------------------------------------------------------------------
    def local(self, at: datetime) -> datetime:
        """An aware instant shown in the calendar's timezone."""
        if at.tzinfo is None:
            raise ValueError("aware datetimes only")
        return at.astimezone(self.timezone)

    def today(self, at: datetime) -> date:
        return self.local(at).date()

    def start_of_day(self, day: date) -> datetime:
        """00:00 local of ``day`` (midnight exists on every day in the zones we serve)."""
        return datetime.combine(day, time(0, 0), self.timezone)

    def at_wall_time(self, day: date, wall: time) -> datetime:
        # zoneinfo: fold=0 picks the first of a repeated time and the pre-change offset for a
        # skipped one; normalising through UTC gives the real instant on the clock.
        return datetime.combine(day, wall, self.timezone).astimezone(UTC).astimezone(self.timezone)

    # --- one period -----------------------------------------------------------------------
    def window_opens(self, period: Period) -> date:
        return period.end + timedelta(days=1)

    def opens_at(self, period: Period) -> datetime:
        return self.start_of_day(self.window_opens(period))

    def deadline(self, period: Period) -> date:
        return deadline_for(period, self.deadline_day, self.business_days)

    def late_from(self, period: Period) -> datetime:
        """First instant at which a value is late: 00:00 after the deadline day."""
        return self.start_of_day(self.deadline(period) + timedelta(days=1))

    def closes_at(self, period: Period) -> datetime:
        """First instant at which the period is closed (unless a gerente reopens it)."""
        return self.start_of_day(self.deadline(period) + timedelta(days=1 + self.grace_days))

    def has_ended(self, period: Period, at: datetime) -> bool:
        return at >= self.opens_at(period)

    def is_within_window(self, period: Period, at: datetime) -> bool:
        """Ended and not yet closed by the calendar (locks are applied by services.locks)."""
        return self.opens_at(period) <= at < self.closes_at(period)

    def is_late(self, period: Period, at: datetime) -> bool:
        """Whether a value arriving at ``at`` counts as late for the timeliness figure."""
        return at >= self.late_from(period)

    def reminder_times(self, period: Period) -> list[datetime]:
        return [s.at for s in self.stages_of(period) if s.kind == REMINDER]

    def escalation_at(self, period: Period) -> datetime:
        return next(s.at for s in self.stages_of(period) if s.kind == ESCALATION)

    def stages_of(self, period: Period) -> list[Stage]:
        year, month = _month_after(period.end)
        return self.stages_in_month(year, month)

    # --- the stage sequence ---------------------------------------------------------------
    def stages_in_month(self, year: int, month: int) -> list[Stage]:
        """Reminders (only those before the periods close) and the escalation of the periods
        whose deadline falls in ``year``-``month``, in time order."""
        work = self.business_days
        configured_deadline = _clamp_day(year, month, self.deadline_day)
        deadline = work.on_or_after(configured_deadline)
        closes = self.start_of_day(deadline + timedelta(days=1 + self.grace_days))
        # A set: two reminder days moved onto the same Monday are one reminder.
        reminder_at = sorted({self.at_wall_time(work.on_or_after(_clamp_day(year, month, d)),
                                                self.reminder_time)
                              for d in self.reminder_days})
        reminder_at = [at for at in reminder_at if at < closes]
        stages = [Stage(at, REMINDER, year, month, is_last_reminder=(i == len(reminder_at) - 1))
                  for i, at in enumerate(reminder_at)]
        configured_escalation = _clamp_day(year, month, self.escalation_day)
        escalation_day = work.on_or_after(configured_escalation)
        if configured_escalation > configured_deadline and escalation_day <= deadline:
            # Meant for after the deadline, which moved onto or past it: the next working day.
            escalation_day = work.after(deadline)
        stages.append(Stage(self.at_wall_time(escalation_day, self.reminder_time), ESCALATION,
                            year, month))
        return sorted(stages)

    def _stages_around(self, at: datetime) -> list[Stage]:
        local = self.local(at)
        months = []
        year, month = local.year, local.month
        for _ in range(3):  # this month, the previous one and the one before (long grace)
            months.append((year, month))
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        next_month = (local.year, local.month + 1) if local.month < 12 else (local.year + 1, 1)
        months.append(next_month)
        return sorted(s for ym in months for s in self.stages_in_month(*ym))

    def current_stage(self, at: datetime) -> Stage | None:
        """The latest stage that has fallen due at ``at``. It stays current until the next
        stage comes: a stage missed while the bot was down is sent late only if its successor
        has not fallen due yet; otherwise the successor replaces it."""
        due = [s for s in self._stages_around(at) if s.at <= at]
        return due[-1] if due else None

    def current_stages(self, at: datetime) -> list[Stage]:
        """The current stage and any other falling at the same instant (an escalation day that
        is also a reminder day: both go out)."""
        due = [s for s in self._stages_around(at) if s.at <= at]
        return [s for s in due if s.at == due[-1].at] if due else []

    def next_stage(self, at: datetime) -> Stage:
        """The first stage strictly after ``at``."""
        return next(s for s in self._stages_around(at) if s.at > at)

    def upcoming_stages(self, at: datetime, count: int = 6) -> list[Stage]:
        """The next ``count`` stages after ``at`` (for ``/recordatorios``)."""
        result: list[Stage] = []
        year, month = self.local(at).year, self.local(at).month
        while len(result) < count:
            result.extend(s for s in self.stages_in_month(year, month) if s.at > at)
            year, month = (year, month + 1) if month < 12 else (year + 1, 1)
        return sorted(result)[:count]

    # --- which periods ----------------------------------------------------------------------
    def reportable_periods(self, at: datetime) -> list[Period]:
        """Periods within their window at ``at`` by the calendar alone, most recent first
        (by end date, then the shorter one: 2023-03 before 2023-Q1)."""
        local = self.local(at)
        year, month = local.year, local.month
        months_back = 2 + (self.deadline_day + self.grace_days) // 28
        candidates: list[Period] = []
        for _ in range(months_back + 1):
            candidates.extend(periods_with_deadline_in(year, month))
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        open_now = [p for p in candidates if self.is_within_window(p, at)]
        return sorted(open_now, key=lambda p: (p.end, p.start), reverse=True)
