"""The gerentes' weekly digest: the first screen of ``/resumen`` sent by the scheduler.

A tick every minute (and one at start-up, the catch-up) asks
:func:`bot.services.digest.plan_digest` who still needs this week's digest and sends it:
claimed in ``reminder_log`` before sending, final after, so it goes once a week across
restarts (see :mod:`bot.services.digest`). The text and buttons are
:func:`handlers.summary.front_view` for the last closed month, all units, under a
"Resumen semanal" line. As with reminders, a bot on a :class:`~bot.clock.FrozenClock`
(tests, the demo's frozen start) gets no heartbeat: tests call ``digest_of(app).tick(bot)``
after moving the clock.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from telegram.ext import Application, CallbackContext

from bot.clock import FrozenClock
from bot.domain.attainment import Bands
from bot.domain.calendar import ReportingCalendar
from bot.domain.resumen_args import most_recent_closed_month
from bot.scheduler import next_whole_minute, send_outcome
from bot.services import digest, reminders
from bot.services.registration import person_view
from bot.telegram_retry import bulk_sends
from handlers import summary as summary_handlers
from handlers.common import esc, keyboard, send_html
from storage.models import Person

log = logging.getLogger(__name__)

BOT_DATA_KEY = "poa_digest"
TICK_JOB, STARTUP_JOB = "poa-digest-tick", "poa-digest-startup"
TICK_SECONDS = 60
HEARTBEAT_WITH_FROZEN_CLOCK = False


class DigestSender:
    """Sends the current week's digest to every gerente who has not had it."""

    def __init__(self, application: Application):
        self.application = application
        self.ctx = application.bot_data["poa"]
        self._lock = asyncio.Lock()
        self.ticks = 0

    async def tick(self, bot) -> int:
        """Send what is due now; returns how many digests were sent."""
        ctx = self.ctx
        settings = ctx.settings
        async with self._lock:
            try:
                now = ctx.clock()
                targets = await ctx.db.run(digest.plan_digest, now, settings.timezone,
                                           settings.poa_digest_day, settings.poa_digest_time)
                sent = 0
                with bulk_sends():
                    for target in targets:
                        sent += await self._send_one(bot, target, now)
                return sent
            finally:
                self.ticks += 1

    async def _send_one(self, bot, target: digest.DigestTarget, now: datetime) -> int:
        ctx = self.ctx
        if not await ctx.db.run(digest.claim, target, now):
            return 0
        settings = ctx.settings
        calendar = ReportingCalendar.from_settings(settings)
        today = calendar.today(now)
        request = summary_handlers.SummaryRequest(
            period=most_recent_closed_month(today), scope=summary_handlers.ALL, today=today,
            bands=Bands(green=settings.poa_band_green, yellow=settings.poa_band_yellow),
            deadline_day=settings.poa_deadline_day, business_days=settings.business_days)

        def view(session):  # a stand-in's copy: the absent gerente's view
            person = person_view(session, session.get(Person, target.viewer_id))
            return summary_handlers.front_view(
                session, person, request, self.application.bot_data[summary_handlers.CACHE_KEY],
                now, calendar, max_lines=summary_handlers.MAX_LINES - 1)

        front = await ctx.db.run(view)
        text = f"📬 <b>Resumen semanal</b> · {today.strftime('%d/%m/%Y')}\n{front.text}"
        if target.view_person_id is not None:
            text = (f"👥 Como suplente de {esc(target.covering)} (hasta el "
                    f"{target.until.strftime('%d/%m/%Y')}), su resumen semanal:\n{text}")
        markup = keyboard(front.rows) if target.with_buttons else None
        outcome = await send_outcome(send_html(bot, target.chat_id, text, markup), "digest",
                                     target.person_id)
        await ctx.db.run(digest.finish, target, outcome, ctx.clock())
        return int(outcome == reminders.SENT)

    async def _job(self, context: CallbackContext) -> None:
        try:
            await self.tick(context.bot)
        except Exception:  # the next minute retries
            log.exception("digest tick failed")

    def install(self, application: Application) -> None:
        job_queue = application.job_queue
        if job_queue is None:
            raise RuntimeError("JobQueue missing: install python-telegram-bot[job-queue]")
        job_kwargs = {"misfire_grace_time": None, "coalesce": True, "max_instances": 1}
        job_queue.run_once(self._job, when=0, name=STARTUP_JOB, job_kwargs=job_kwargs)
        job_queue.run_repeating(self._job, interval=TICK_SECONDS,
                                first=next_whole_minute(datetime.now(UTC)), name=TICK_JOB,
                                job_kwargs=job_kwargs)


def digest_of(application: Application) -> DigestSender:
    return application.bot_data[BOT_DATA_KEY]


def register(application: Application) -> None:
    """Needs :mod:`handlers.summary` registered (its summary cache)."""
    sender = DigestSender(application)
    application.bot_data[BOT_DATA_KEY] = sender
    if isinstance(sender.ctx.clock, FrozenClock) and not HEARTBEAT_WITH_FROZEN_CLOCK:
        return
    sender.install(application)
