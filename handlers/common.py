"""Utilities every handler module shares. Read this before writing a handler.

Getting what you need::

    ctx = app_context(context)               # settings, db, clock
    person = await require_person(update, context)   # registered Person (PersonView)
    rows = await ctx.db.run(my_service_fn, person.id, ...)   # never touch the DB directly

Strangers never reach your handler: :func:`install_stranger_guard` (installed by
``bot.app.build_application`` in group :data:`GUARD_GROUP`, before every other handler) answers
anyone not registered with one polite line — messages, commands and button presses alike — and
stops the update. Only ``/start <token>`` gets through to the registration handler. So inside
your handler ``await require_person(...)`` always returns a person (it is cached per update).
Edited messages never reach your handler either (group :data:`EDITS_GROUP` answers them that
edits are not read): a command or value runs only when it is first sent.

Sending::

    await reply_html(update, context, text, reply_markup=kb)   # splits at 4096 characters
    await send_html(context.bot, chat_id, text)                 # same, to any chat
    esc(user_or_catalog_text)                                   # ALWAYS escape such text
    esc(shorten(remark))                       # free text inside a list: one short line

Buttons::

    data = callback_data("r", "ok", indicator_id)   # "r:ok:12"; raises if over 64 bytes
    parts = parse_callback(update.callback_query.data, "r")  # ["ok", "12"] or None
    await answer_callback(update)                   # every callback query must be answered
    await edit_or_keep(update, text, markup, context)  # edit without "message is not modified"

Validate what a button names on arrival (the unit, indicator and period must be the person's
and open *now*): callback data can be forged, and old buttons stay pressable forever.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackContext,
    CallbackQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.context import BOT_DATA_KEY, AppContext
from bot.poa_bot import PoaBot
from bot.services.registration import PersonView, find_person
from handlers.html_chunks import split_html

log = logging.getLogger(__name__)

GUARD_GROUP = -100  # runs before every handler group
MAX_CALLBACK_BYTES = 64
CALLBACK_SEPARATOR = ":"

STRANGER_TEXT = ("No tienes acceso a POA Bot. Para usarlo, pide una invitación a tu "
                 "gerente.")
ERROR_TEXT = ("Ocurrió un error inesperado y no se completó tu última acción. Intenta de nuevo "
              "en un momento.")
STALE_BUTTON_TEXT = "Este botón ya no es válido."
# The database could not be reached: the step's transaction did not happen at all.
DATABASE_ERROR_TEXT = ("No pude consultar la base de datos en este momento, así que no guardé ni "
                       "cambié nada de tu último mensaje. Intenta de nuevo en unos minutos.")
# Telegram failed while answering: the step itself was done; only the reply may be missing.
CONNECTION_ERROR_TEXT = ("Tuve un problema de conexión con Telegram y quizá no recibiste mi "
                         "última respuesta. Lo que ya confirmaste quedó guardado; si estabas "
                         "capturando, escribe /reportar para seguir donde te quedaste.")


class PoaContext(CallbackContext[PoaBot, dict, dict, dict]):
    """PTB's context plus a per-update cache of the registered person.

    PTB builds one context per update and passes it to every handler group, so the guard's
    lookup is reused by the handler that follows.
    """

    __slots__ = ("_person_cache",)

    def __init__(self, application, chat_id=None, user_id=None):
        super().__init__(application, chat_id, user_id)
        self._person_cache: tuple[int, PersonView | None] | None = None


# --- context --------------------------------------------------------------------------------

def app_context(context: CallbackContext) -> AppContext:
    """The AppContext (settings, db, clock) stored by ``build_application``."""
    return context.application.bot_data[BOT_DATA_KEY]


def esc(text: object) -> str:
    """HTML-escape any user-supplied or catalog text before putting it in a message."""
    return html.escape(str(text), quote=False)


LIST_TEXT_LIMIT = 80  # a remark in a list: enough to recognise it, short enough to scan


def shorten(text: object, limit: int = LIST_TEXT_LIMIT) -> str:
    """Free text for one line of a list: line breaks and runs of blanks folded into one space,
    cut to ``limit`` characters ending in «…». Shorten first, then :func:`esc` the result (a
    cut after escaping could split ``&amp;``)."""
    folded = " ".join(str(text).split())
    if len(folded) <= limit:
        return folded
    return folded[:limit - 1].rstrip() + "…"


async def current_person(update: Update, context: CallbackContext) -> PersonView | None:
    """The registered, active person who sent the update, or None. Cached per update."""
    user = update.effective_user
    if user is None:
        return None
    cache = getattr(context, "_person_cache", None)
    if cache is not None and cache[0] == user.id:
        return cache[1]
    ctx = app_context(context)
    today = ctx.clock().astimezone(ctx.settings.timezone).date()  # stand-ins (approval)
    person = await ctx.db.run_read(find_person, user.id, today)
    if isinstance(context, PoaContext):
        context._person_cache = (user.id, person)
    return person


async def require_person(update: Update, context: CallbackContext) -> PersonView:
    """The registered person; a stranger gets the polite line and the update stops here."""
    person = await current_person(update, context)
    if person is None:
        await reject_stranger(update, context)
        raise ApplicationHandlerStop
    return person


def reply_chat_id(update: Update) -> int | None:
    """Where to answer: the update's chat, or the user's private chat for a button press
    whose message Telegram did not include (too old, or a forged query)."""
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user is not None else None


async def reject_stranger(update: Update, context: CallbackContext) -> None:
    """One polite line and nothing else (the button's spinner is stopped too)."""
    if update.callback_query is not None:
        await answer_callback(update)
    chat_id = reply_chat_id(update)
    if chat_id is not None:
        await context.bot.send_message(chat_id, STRANGER_TEXT)


def is_registration_attempt(update: Update) -> bool:
    """``/start <token>``: the one thing a stranger may send."""
    message = update.message
    if message is None or not message.text:
        return False
    parts = message.text.split()
    if len(parts) != 2:
        return False
    command, _, addressee = parts[0].partition("@")
    # "/start@other_bot <token>" is not for us: no handler here would answer it.
    return command == "/start" and addressee.lower() in ("", message.get_bot().username.lower())


def is_written_to_us(update: Update) -> bool:
    """Something a person wrote or pressed in the chat (as opposed to news about the chat,
    such as ``my_chat_member`` when they block the bot)."""
    return (update.message is not None or update.edited_message is not None
            or update.callback_query is not None)


async def _guard(update: Update, context: CallbackContext) -> None:
    if update.effective_user is None:
        raise ApplicationHandlerStop  # channel posts, polls...: not for this bot
    if update.effective_chat is not None and update.effective_chat.type != "private":
        await answer_callback(update)
        raise ApplicationHandlerStop  # figures are personal: the bot works in private chats
    if is_registration_attempt(update):
        return
    if await current_person(update, context) is None:
        if is_written_to_us(update):  # a stranger who blocks the bot gets nothing
            await reject_stranger(update, context)
        raise ApplicationHandlerStop


EDITS_GROUP = GUARD_GROUP + 1  # after the guard, before every command and answer
EDITED_TEXT = ("No tomo en cuenta mensajes editados. Si quieres cambiar un valor ya guardado, "
               "usa /corregir; si no, envíalo de nuevo.")


async def _edited(update: Update, context: CallbackContext) -> None:
    """An edit is never a new command nor a new answer: only new messages run anything."""
    await reply_html(update, context, EDITED_TEXT)
    raise ApplicationHandlerStop


def install_stranger_guard(application: Application) -> None:
    """The guard (strangers, groups) and, right after it, the answer to edited messages."""
    application.add_handler(TypeHandler(Update, _guard), group=GUARD_GROUP)
    application.add_handler(MessageHandler(filters.UpdateType.EDITED, _edited),
                            group=EDITS_GROUP)


async def _unknown_button(update: Update, context: CallbackContext) -> None:
    await answer_callback(update, STALE_BUTTON_TEXT, show_alert=True)


def install_fallbacks(application: Application) -> None:
    """Last handlers of group 0 (added after every module): a button nobody claimed (forged,
    or from an older version of the bot) is answered as stale instead of spinning forever."""
    application.add_handler(CallbackQueryHandler(_unknown_button))


# --- sending --------------------------------------------------------------------------------

async def send_html(bot: PoaBot, chat_id: int, text: str,
                    reply_markup: InlineKeyboardMarkup | None = None) -> None:
    """Send HTML text, split into ≤ 4096-character messages; buttons go on the last one."""
    chunks = split_html(text)
    for index, chunk in enumerate(chunks):
        await bot.send_html(chat_id, chunk, reply_markup if index == len(chunks) - 1 else None)


async def reply_html(update: Update, context: CallbackContext, text: str,
                     reply_markup: InlineKeyboardMarkup | None = None) -> None:
    """Send HTML text to the chat the update came from (see :func:`send_html`)."""
    await send_html(context.bot, reply_chat_id(update), text, reply_markup)


# --- buttons --------------------------------------------------------------------------------

def callback_data(*parts: object) -> str:
    """Join parts with ':' into callback data, refusing anything Telegram would refuse."""
    data = CALLBACK_SEPARATOR.join(str(p) for p in parts)
    size = len(data.encode("utf-8"))
    if not 1 <= size <= MAX_CALLBACK_BYTES:
        raise ValueError(f"callback_data of {size} bytes (1..64 allowed): {data!r}")
    return data


def parse_callback(data: str | None, prefix: str) -> list[str] | None:
    """The parts after ``prefix`` if ``data`` starts with it, else None."""
    if not data:
        return None
    parts = data.split(CALLBACK_SEPARATOR)
    if parts[0] != prefix:
        return None
    return parts[1:]


def keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of (label, callback_data)."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)
                                  for label, data in row] for row in rows])


async def answer_callback(update: Update, text: str | None = None,
                          show_alert: bool = False) -> None:
    """Answer the update's callback query (once); errors of an expired query are ignored."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(text=text[:200] if text else None, show_alert=show_alert)
    except BadRequest as error:  # "query is too old": nothing left to stop
        log.info("callback query not answered: %s", error.message)


SHOWN_KEY = "poa_shown"  # chat_data: message id -> (HTML text, keyboard) we last edited it to
SHOWN_KEPT = 20


def _shown(context: CallbackContext | None, message: Message):
    """What a message shows now: what we last edited it to, else the query's copy of it.

    Two quick taps on one message arrive with the same copy of it; once the first has edited
    the message that copy is stale, and repeating the first tap's edit is refused by Telegram
    ("message is not modified"). A chat's updates are handled in order, so remembering our
    own last edit of each message of the chat is exact.
    """
    chat_data = getattr(context, "chat_data", None) if context is not None else None
    known = (chat_data or {}).get(SHOWN_KEY, {}).get(message.message_id)
    if known is not None:
        return known
    return (message.text_html if message.text else None), (message.reply_markup or None)


def _remember(context: CallbackContext | None, message: Message, text: str | None,
              markup: InlineKeyboardMarkup | None) -> None:
    chat_data = getattr(context, "chat_data", None) if context is not None else None
    if chat_data is None:
        return
    shown = chat_data.setdefault(SHOWN_KEY, {})
    shown[message.message_id] = (text, markup or None)
    while len(shown) > SHOWN_KEPT:  # dicts keep insertion order: drop the oldest
        del shown[next(iter(shown))]


async def remove_buttons(update: Update, context: CallbackContext | None = None) -> None:
    """Take the keyboard off the message whose button was pressed, if it still has one."""
    query = update.callback_query
    message = query.message if query is not None else None
    if not isinstance(message, Message):
        return
    text, markup = _shown(context, message)
    if markup is None:
        return
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except BadRequest as error:
        if "not modified" not in error.message:
            raise
    _remember(context, message, text, None)


async def edit_or_keep(update: Update, text: str,
                       reply_markup: InlineKeyboardMarkup | None = None,
                       context: CallbackContext | None = None) -> None:
    """Edit the pressed message's text; skip the call when nothing would change (pass the
    context so that a second quick tap on the same message is recognised too)."""
    query = update.callback_query
    message = query.message if query is not None else None
    if not isinstance(message, Message) or message.text is None:
        return  # a forged press on a photo or document: there is no text to replace
    shown_text, shown_markup = _shown(context, message)
    if shown_text == text and shown_markup == (reply_markup or None):
        return
    try:
        await query.get_bot().edit_html(message.chat_id, message.message_id, text,
                                         reply_markup)
    except BadRequest as error:
        if "not modified" not in error.message:
            raise
    _remember(context, message, text, reply_markup)
