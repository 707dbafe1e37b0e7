"""Assembly of the Telegram ``Application`` every handler module plugs into.

``build_application(settings, db, clock=...)`` returns a ready-to-start PTB Application:

* a :class:`~bot.poa_bot.PoaBot` with ``base_url`` from ``TELEGRAM_API_BASE_URL`` (tests and
  benchmarks point it at the Bot API stand-in) and the token from ``TELEGRAM_BOT_TOKEN``;
* :class:`~bot.telegram_retry.RetryingRateLimiter` (PTB's AIORateLimiter: Telegram's flood
  limits, retries on 429; plus quick retries of 5xx and connection failures) and the
  :class:`~telegram.ext.JobQueue` (reminders);
* :class:`~bot.update_processor.PerChatUpdateProcessor`: a person's updates in order,
  different people concurrently;
* an :class:`~bot.context.AppContext` (settings, database, clock) in ``application.bot_data``
  — handlers get it with ``handlers.common.app_context(context)``;
* the unregistered-stranger guard (``handlers.common``), then every module of
  :data:`HANDLER_MODULES` (each exposes ``register(application)``), then the fallbacks
  (a button nobody claims is answered as stale) and an error handler.

To plug a feature in, write ``handlers/<feature>.py`` with ``register(application)`` and add
its name to :data:`HANDLER_MODULES`.
"""

from __future__ import annotations

import importlib
import logging
import sys

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from telegram import Update
from telegram.error import BadRequest, NetworkError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    ContextTypes,
)

from bot.aiohttp_request import AiohttpRequest
from bot.clock import Clock, system_clock
from bot.context import BOT_DATA_KEY, AppContext
from bot.poa_bot import PoaBot
from bot.settings import Settings
from bot.telegram_retry import RetryingRateLimiter
from bot.update_processor import PerChatUpdateProcessor
from handlers import common, menus
from storage.db import Database

log = logging.getLogger(__name__)

TELEGRAM_RATE = 29  # messages per second, just under Telegram's ~30 for bulk sending
SWITCH_INTERVAL = 0.001  # seconds; see build_application

# Order matters only for the shared handler groups; each module documents its own groups.
HANDLER_MODULES = [
    "handlers.registration",
    "handlers.evidence",  # before handlers.reporting: its photos and documents come first
    "handlers.reporting",
    "handlers.help",
    "handlers.reminders",
    "handlers.summary", "handlers.export", "handlers.digest",
    "handlers.team",
    "handlers.fichas",
    "handlers.approval", "handlers.stand_ins",
]


class MissingTokenError(RuntimeError):
    """TELEGRAM_BOT_TOKEN is not set."""


def base_file_url(base_url: str) -> str | None:
    """File URL next to a Bot API URL: ``…/bot`` → ``…/file/bot`` (None: PTB's default)."""
    if base_url.endswith("/bot"):
        return base_url[: -len("/bot")] + "/file/bot"
    return None


def build_application(settings: Settings, db: Database, *, clock: Clock = system_clock,
                      rate_limiter: bool = True,
                      handler_modules: list[str] | None = None) -> Application:
    """The bot's Application, configured and with all handlers registered (not started).

    ``rate_limiter=False`` is for benchmarks that compare raw handling cost;
    ``handler_modules`` overrides :data:`HANDLER_MODULES` (tests of a single module).
    """
    token = settings.token()
    if not token:
        raise MissingTokenError("TELEGRAM_BOT_TOKEN is not set")
    # CPU work in the database threads (a state-wide /resumen) holds the GIL for up to the
    # switch interval each time the event loop wants it back; 1 ms instead of 5 keeps
    # other people's replies quick meanwhile.
    sys.setswitchinterval(SWITCH_INTERVAL)
    limiter = None
    if rate_limiter and settings.telegram_rate_limit:
        # A bucket of one refilled 29 times a second instead of PTB's default bucket of 30:
        # the default lets a burst of 30 go out and then 30 more within the same second,
        # Telegram answers 429 and everything waits the retry_after (a 3,000-person reminder
        # reached 0.78 of 30/s that way; evenly spaced it reaches 0.94 without one 429).
        # Interactive replies go before bulk sends (bot.telegram_retry.PriorityPacer).
        # Each chat also has its own pace (about 1/s after a short burst, Telegram's limit).
        limiter = RetryingRateLimiter(
            max_retries=3, rate=TELEGRAM_RATE, chat_rate=settings.telegram_chat_rate,
            chat_burst=settings.telegram_chat_burst)
    file_url = base_file_url(settings.telegram_api_base_url)
    bot = PoaBot(
        token,
        base_url=settings.telegram_api_base_url,
        **({"base_file_url": file_url} if file_url else {}),
        # aiohttp instead of httpx underneath: less than half the CPU per request (see there).
        request=AiohttpRequest(),
        # Two connections for getUpdates: on stop PTB abandons the long poll and confirms the
        # last offset with one more call, which must not wait for the abandoned connection
        # (with one, it times out and the last updates are delivered again after a restart).
        get_updates_request=AiohttpRequest(connections=2),
        rate_limiter=limiter,
    )
    application = (
        ApplicationBuilder()
        .bot(bot)
        .concurrent_updates(PerChatUpdateProcessor())
        .context_types(ContextTypes(context=common.PoaContext))
        .post_init(_post_init)
        .build()
    )
    application.bot_data[BOT_DATA_KEY] = AppContext(settings=settings, db=db, clock=clock)

    common.install_stranger_guard(application)
    for name in HANDLER_MODULES if handler_modules is None else handler_modules:
        importlib.import_module(name).register(application)
    common.install_fallbacks(application)
    application.add_error_handler(_on_error)
    return application


async def _post_init(application: Application) -> None:
    menus.schedule_menu_sync(application)


def error_text(error: BaseException | None) -> str:
    """What to tell the person, by what failed (see the texts in ``handlers.common``)."""
    if isinstance(error, OperationalError | InterfaceError | PoolTimeoutError):
        return common.DATABASE_ERROR_TEXT  # unreachable database: the step was rolled back
    if isinstance(error, NetworkError) and not isinstance(error, BadRequest):
        return common.CONNECTION_ERROR_TEXT
    return common.ERROR_TEXT


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    # The exception text never contains the token (PTB strips it from network errors); the
    # logging filter redacts it anyway.
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            if update.callback_query is not None:
                await common.answer_callback(update)
            await context.bot.send_message(update.effective_chat.id, error_text(context.error))
        except Exception:  # the error may well be that Telegram is unreachable
            log.warning("could not tell the user about the error", exc_info=True)
        # One explanation per update: without this PTB goes on with the next handler groups
        # (e.g. the guard failed because the database is down: the handler would fail again
        # and the person would read the same apology two or three times).
        raise ApplicationHandlerStop
