"""/ayuda: the commands of the person's role, rendered from handlers.menus."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackContext, CommandHandler

from handlers import menus
from handlers.common import app_context, reply_html, require_person


async def ayuda(update: Update, context: CallbackContext) -> None:
    person = await require_person(update, context)
    await reply_html(update, context, menus.help_text(
        person.role, app_context(context).settings.poa_approval_required))


def register(application: Application) -> None:
    application.add_handler(CommandHandler(["ayuda", "help"], ayuda))
