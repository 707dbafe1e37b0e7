"""Sending reminders and escalations: a JobQueue tick, the start-up catch-up and the fan-out.

Why a tick and not ``run_daily`` at the reminder time: every minute the tick asks
:func:`bot.services.reminders.plan_due` what is due *now* and sends only what the log says is
missing. The same code path therefore covers the normal case, a restart in the middle of a
reminder day (those already reminded are in the log), downtime across a stage (the current
stage is sent once at start-up, or skipped if its successor has come), a configuration change,
a clock jump and daylight-saving days (the stage times are computed in ``POA_TIMEZONE`` by the
calendar; the JobQueue only provides the heartbeat, in UTC). The tick is cheap: a handful of
queries when nothing is due. A one-off job right after start-up does the catch-up without
waiting for the first minute.

The fan-out sends through ``application.bot``, whose requests go through the bot's rate
limiter (≤ 30 messages per second overall; a 429 is retried after its ``retry_after``) as
bulk sends, which wait while interactive replies go first. We keep at most
``max_in_flight`` deliveries claimed ahead of the limiter so that a crash leaves only that
many rows in state ``sending`` (see the reminders service for why those are re-sent). When
the application stops, a fan-out ends with the deliveries under way; the others were never
claimed, so the next start's tick plans them again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application, CallbackContext, Job

from bot.clock import Clock
from bot.domain.calendar import ReportingCalendar
from bot.domain.periods import Period
from bot.services import reminders
from bot.services.reminders import Delivery, UnreachablePerson
from bot.telegram_retry import bulk_sends
from storage.db import Database

log = logging.getLogger(__name__)

TICK_SECONDS = 60
MAX_IN_FLIGHT = 30
TICK_JOB = "poa-reminders-tick"
STARTUP_JOB = "poa-reminders-startup"
BOT_DATA_KEY = "poa_reminders"

Send = Callable[[object, int, str, InlineKeyboardMarkup | None], Awaitable[object]]


class Renderer(Protocol):
    """Turns deliveries into Spanish messages (implemented in ``handlers.reminders``)."""

    def delivery(self, delivery: Delivery,
                 now: datetime) -> tuple[str, InlineKeyboardMarkup | None]:
        ...

    def unreachable_notice(self, people: list[UnreachablePerson]) -> str:
        ...


@dataclass
class FanOutResult:
    planned: int = 0
    sent: int = 0
    sent_to: list[str] = field(default_factory=list)  # names, in the order sent
    already_done: int = 0  # claimed by an earlier/parallel send in between
    unreachable: list[str] = field(default_factory=list)  # names (403)
    rejected: int = 0  # 400: not retried
    failed: int = 0  # transient: the next tick retries
    skipped_today: int = 0  # /recordar: already reminded today
    not_sent: int = 0  # the bot was stopping: never claimed, so planned again after a start


class ReminderScheduler:
    """Owns the fan-out lock; one per Application (``application.bot_data[BOT_DATA_KEY]``)."""

    def __init__(self, db: Database, clock: Clock, calendar: ReportingCalendar,
                 renderer: Renderer, send: Send, *, max_in_flight: int = MAX_IN_FLIGHT):
        self.db = db
        self.clock = clock
        self.calendar = calendar
        self.renderer = renderer
        self.send = send
        self.max_in_flight = max_in_flight
        # One fan-out at a time in this process: the planner relies on it to tell a crashed
        # 'sending' row from one being sent right now.
        self._lock = asyncio.Lock()
        self.ticks = 0  # completed ticks (tests and diagnostics wait on it)
        self._tick_done = asyncio.Event()
        self._stopping: Callable[[], bool] = lambda: False  # see attach

    # --- entry points -------------------------------------------------------------------
    async def tick(self, bot, *, wait: bool = False) -> FanOutResult | None:
        """Send whatever is due now. None if a fan-out is still running and ``wait`` is false
        (the next tick will look again)."""
        if self._lock.locked() and not wait:
            return None
        async with self._lock:
            try:
                deliveries = await self.db.run(reminders.plan_due, self.clock(), self.calendar)
                return await self._fan_out(bot, deliveries)
            finally:
                self.ticks += 1
                self._tick_done.set()
                self._tick_done = asyncio.Event()

    async def wait_ticks(self, count: int, timeout: float = 10) -> None:
        """Wait until ``count`` ticks have completed (e.g. the start-up catch-up)."""
        async def reached() -> None:
            while self.ticks < count:
                await self._tick_done.wait()

        await asyncio.wait_for(reached(), timeout)

    async def remind_now(self, bot, period: Period | None = None, *,
                         person_id: int | None = None,
                         unit_claves: list[str] | None = None) -> FanOutResult:
        """``/recordar``: remind pending coordinadores (or one of them; of ``unit_claves``:
        a gerente's gerencia; None: all) now, never twice in a day."""
        async with self._lock:
            deliveries, skipped = await self.db.run(reminders.plan_manual, self.clock(),
                                                    self.calendar, period, person_id,
                                                    unit_claves)
            result = await self._fan_out(bot, deliveries)
            result.skipped_today = skipped
            return result

    # --- JobQueue -----------------------------------------------------------------------
    def attach(self, application: Application) -> None:
        """Make this scheduler the application's (``scheduler_of``), without jobs."""
        application.bot_data[BOT_DATA_KEY] = self
        # Stopping waits for a running fan-out, and 3,000 paced reminders take 100 s: a
        # service manager would kill the bot meanwhile, maybe between a send and its log
        # row. So once the application stops running, deliveries not yet claimed are left
        # for the next start (the tick plans them again) and the fan-out ends with the
        # at most max_in_flight ones already under way.
        self._stopping = lambda: not application.running

    def install(self, application: Application) -> tuple[Job, Job]:
        """Start-up catch-up at once, then a tick at every whole minute (real time)."""
        self.attach(application)
        job_queue = application.job_queue
        if job_queue is None:
            raise RuntimeError("JobQueue missing: install python-telegram-bot[job-queue]")
        # misfire_grace_time=None: the start-up run must happen however long start-up took;
        # coalesce: after a suspended host, one tick instead of a burst of them.
        job_kwargs = {"misfire_grace_time": None, "coalesce": True, "max_instances": 2}
        startup = job_queue.run_once(self._job, when=0, name=STARTUP_JOB, job_kwargs=job_kwargs)
        tick = job_queue.run_repeating(self._job, interval=TICK_SECONDS,
                                       first=next_whole_minute(datetime.now(UTC)),
                                       name=TICK_JOB, job_kwargs=job_kwargs)
        return startup, tick

    async def _job(self, context: CallbackContext) -> None:
        try:
            result = await self.tick(context.bot)
        except Exception:  # a bad tick must not kill the heartbeat; the next one retries
            log.exception("reminder tick failed")
            return
        if result is not None and result.planned:
            log.info("reminders: %s", result)

    # --- the fan-out ----------------------------------------------------------------------
    async def _fan_out(self, bot, deliveries: list[Delivery]) -> FanOutResult:
        result = FanOutResult(planned=len(deliveries))
        if not deliveries:
            return result
        gate = asyncio.Semaphore(self.max_in_flight)
        newly_unreachable: list[int] = []

        async def deliver(delivery: Delivery) -> None:
            async with gate:
                if self._stopping():
                    result.not_sent += 1
                    return
                await self._deliver_one(bot, delivery, result, newly_unreachable)

        # Bulk: paced behind every interactive reply (bot.telegram_retry), so people using
        # the bot during a 3,000-person fan-out are answered at once.
        with bulk_sends():
            await asyncio.gather(*(deliver(d) for d in deliveries))
            if newly_unreachable:
                await self._tell_gerentes(bot, newly_unreachable)
        if result.not_sent:
            log.info("stopping: %d reminders left for the next start", result.not_sent)
        return result

    async def _deliver_one(self, bot, delivery: Delivery, result: FanOutResult,
                           newly_unreachable: list[int]) -> None:
        claimed = await self.db.run(reminders.claim, delivery, self.clock())
        if not claimed:
            result.already_done += 1
            return
        if len(claimed) < len(delivery.items):
            delivery = _only(delivery, claimed)
        text, markup = self.renderer.delivery(delivery, self.clock())
        outcome = await send_outcome(self.send(bot, delivery.chat_id, text, markup),
                                     "reminder", delivery.person_id)
        newly = await self.db.run(reminders.finish, delivery, claimed, outcome, self.clock())
        if outcome == reminders.SENT:
            result.sent += 1
            result.sent_to.append(delivery.name)
        elif outcome == reminders.UNREACHABLE:
            result.unreachable.append(delivery.name)
            if newly:
                newly_unreachable.append(delivery.person_id)
        elif outcome == reminders.REJECTED:
            result.rejected += 1
        else:
            result.failed += 1

    async def _tell_gerentes(self, bot, person_ids: list[int]) -> None:
        people = await self.db.run(reminders.describe_unreachable, person_ids)
        chats = await self.db.run(reminders.gerente_chats, set(person_ids))
        text = self.renderer.unreachable_notice(people)
        for chat_id in chats:
            try:
                await self.send(bot, chat_id, text, None)
            except TelegramError:
                log.warning("could not tell gerente chat %s about unreachable people", chat_id,
                            exc_info=True)


async def send_outcome(sending: Awaitable[object], what: str, person_id: int) -> str:
    """Await one scheduled message and say how it went, as ``reminder_log`` records it:
    sent; unreachable (the person blocked the bot); rejected (Telegram refused the message
    itself: sending it again would not help); failed (network, timeouts, flood retries
    exhausted: the next tick tries again). Reminders and the weekly digest alike."""
    try:
        await sending
        return reminders.SENT
    except Forbidden:
        return reminders.UNREACHABLE
    except BadRequest as error:
        log.error("%s to person %s rejected: %s", what, person_id, error.message)
        return reminders.REJECTED
    except TelegramError as error:
        log.warning("%s to person %s failed, will retry: %s", what, person_id, error)
        return reminders.FAILED


def _only(delivery: Delivery, period_codes: list[str]) -> Delivery:
    from dataclasses import replace

    return replace(delivery, items=tuple(i for i in delivery.items
                                         if i.period.code in period_codes))


def next_whole_minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0) + timedelta(minutes=1)


def scheduler_of(application: Application) -> ReminderScheduler:
    return application.bot_data[BOT_DATA_KEY]
