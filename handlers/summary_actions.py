"""The first screen's action buttons (gerentes only): «Recordar a Ana» and «Invitar
responsable de 308».

* ``rf:r:<person id>``: a reminder to that coordinador now, through the ``/recordar``
  machinery (:meth:`bot.scheduler.ReminderScheduler.remind_now`), so it is logged in
  ``reminder_log`` and nobody gets two in a day: a second tap says they were already reminded
  today.
* ``rf:i:<clave>``: a single-use invitation for the unit's coordinador, as ``/invitar 308``
  gives, to forward.

Every press is checked on arrival: a gerente, a number that is an active coordinador, a unit
that exists; anything else is "Este botón ya no es válido." and changes nothing.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackContext, CallbackQueryHandler

from bot.scheduler import BOT_DATA_KEY as SCHEDULER_KEY
from bot.services.gerente_actions import coordinador_name, has_responsible, invite_for_unit
from bot.services.registration import RegistrationError
from handlers.common import (
    STALE_BUTTON_TEXT,
    answer_callback,
    app_context,
    esc,
    parse_callback,
    reply_html,
    require_person,
)
from handlers.registration import invitation_text

PREFIX = "rf"
GERENTES_ONLY = "Solo un gerente puede usar este botón."


def remind_text(name: str, result) -> str:
    who = esc(name)
    if result.sent:
        return f"🔔 Le envié a {who} un recordatorio de sus pendientes."
    if result.skipped_today:
        return f"{who} ya recibió un recordatorio hoy: no se lo repito."
    if result.unreachable:
        return f"No pude entregarle el recordatorio a {who}: bloqueó el bot."
    if result.failed or result.rejected:
        return f"El recordatorio a {who} no salió; intenta de nuevo en un momento."
    return f"{who} no tiene pendientes en periodos abiertos: no envié nada."


async def on_button(update: Update, context: CallbackContext) -> None:
    person = await require_person(update, context)
    parts = parse_callback(update.callback_query.data, PREFIX) or []
    if not person.is_gerente:
        await answer_callback(update, GERENTES_ONLY, show_alert=True)
        return
    ctx = app_context(context)
    if len(parts) == 2 and parts[0] == "r" and parts[1].isascii() and parts[1].isdigit() \
            and len(parts[1]) <= 12:
        person_id = int(parts[1])
        name = await ctx.db.run(coordinador_name, person_id)
        scheduler = context.application.bot_data.get(SCHEDULER_KEY)
        if name is None or scheduler is None:
            await answer_callback(update, STALE_BUTTON_TEXT)
            return
        result = await scheduler.remind_now(context.bot, person_id=person_id)
        text = remind_text(name, result)
        await answer_callback(update)
        await reply_html(update, context, text)
        return
    if len(parts) == 2 and parts[0] == "i":
        clave = parts[1]
        staffed = await ctx.db.run(has_responsible, clave)
        if staffed is None:
            await answer_callback(update, STALE_BUTTON_TEXT)
            return
        try:
            created = await ctx.db.run(invite_for_unit, clave, now=ctx.clock(),
                                       days=ctx.settings.invitation_days,
                                       created_by_id=person.id)
        except RegistrationError as error:
            await answer_callback(update)
            await reply_html(update, context, esc(error))
            return
        await answer_callback(update)
        note = (f"La unidad {esc(clave)} ya tiene responsable; esta invitación suma a otra "
                "persona.\n" if staffed else "")
        await reply_html(update, context, note + "Reenvía este mensaje a quien será "
                         f"responsable de {esc(clave)}:\n" + invitation_text(created,
                                                                               context.bot.username))
        return
    await answer_callback(update, STALE_BUTTON_TEXT)


def register(application: Application) -> None:
    application.add_handler(CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:"))
