"""The review cycle in the chat: «Enviar a revisión», Aprobar, Devolver with a comment.

Only with ``POA_APPROVAL_REQUIRED=true`` (otherwise ``/enviar`` says review is off and no
button is offered). Buttons carry ids and are checked by ``bot.services.approval`` on
arrival (the unit must be the person's or covered today, the period open and complete, the
send still under review)::

    ap:s:<clave>:<period>   send the unit's period (coordinador, or their stand-in)
    ap:ok:<approval id>     approve (a gerente of the unit, or their stand-in)
    ap:dv:<approval id>     return: the gerente's next text is the comment

Groups: the comment is read in :data:`COMMENT_GROUP`, before the report flow's free text
(group 0), and only for a gerente who pressed «Devolver»; ``/cancelar`` there drops it.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import Forbidden
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.domain.attainment import Bands
from bot.domain.calendar import ReportingCalendar
from bot.domain.periods import PeriodError, period_from_code
from bot.services import approval
from bot.services.summary import build_summary
from bot.services.summary_pages import unit_pages
from handlers.common import (
    STALE_BUTTON_TEXT,
    answer_callback,
    app_context,
    callback_data,
    esc,
    keyboard,
    parse_callback,
    remove_buttons,
    reply_html,
    require_person,
    send_html,
)

log = logging.getLogger(__name__)

PREFIX = "ap"
COMMENT_GROUP = -1
OFF_TEXT = "La revisión de periodos no está activada en este bot."
STATE_TEXT = {approval.CAPTURANDO: "capturando", approval.ENVIADO: "enviado a revisión",
              approval.APROBADO: "aprobado", approval.DEVUELTO: "devuelto"}


def _required(context: CallbackContext) -> bool:
    return app_context(context).settings.poa_approval_required


def _calendar(context: CallbackContext) -> ReportingCalendar:
    return ReportingCalendar.from_settings(app_context(context).settings)


def _label(item: approval.UnitPeriod) -> str:
    return f"{esc(item.unit_clave)} {esc(item.unit_nombre)} · {esc(item.period.label)}"


def send_button(clave: str, period_code: str) -> tuple[str, str]:
    return "📨 Enviar a revisión", callback_data(PREFIX, "s", clave, period_code)


def offer_on_summary(context: CallbackContext, screen, text: str,
                     markup: InlineKeyboardMarkup | None
                     ) -> tuple[str, InlineKeyboardMarkup | None]:
    """The report's closing summary (``conv.Summary``) with «Enviar a revisión» when review
    is on and every indicator has a value (hook in ``handlers.reporting.show``)."""
    if not _required(context) or not screen.rows or any(r.value is None for r in screen.rows):
        return text, markup
    rows = [list(row) for row in (markup.inline_keyboard if markup else ())]
    label, data = send_button(screen.unit.clave, screen.period.code)
    rows.append([InlineKeyboardButton(label, callback_data=data)])
    return (text + "\nCuando todo esté bien, envíalo a revisión de tu gerente.",
            InlineKeyboardMarkup(rows))


# --- coordinador: /enviar and the send button -------------------------------------------------

async def enviar(update: Update, context: CallbackContext) -> None:
    person = await require_person(update, context)
    if not _required(context):
        await reply_html(update, context, OFF_TEXT)
        return
    if not person.is_coordinador:
        await reply_html(update, context, "/enviar es para coordinadores: envían a revisión "
                         "los periodos completos de sus unidades.")
        return
    ctx = app_context(context)
    acting = person.acting()
    items = await ctx.db.run(approval.sendable, acting.id, acting.unit_claves, ctx.clock(),
                             _calendar(context))
    if not items:
        await reply_html(update, context, "No tienes periodos completos por enviar a revisión. "
                         "Captura lo pendiente con /reportar (ver /pendientes); lo ya enviado "
                         "espera la respuesta de tu gerente.")
        return
    lines = ["<b>Periodos completos para enviar a revisión:</b>"]
    for item in items:
        extra = f" (devuelto: «{esc(item.comment)}»)" if item.state == approval.DEVUELTO else ""
        lines.append(f"• {_label(item)}{extra}")
    buttons = [[(f"📨 {item.unit_clave} · {item.period.label}"[:60],
                 callback_data(PREFIX, "s", item.unit_clave, item.period.code))]
               for item in items]
    await reply_html(update, context, "\n".join(lines), keyboard(buttons))


def _review_text(sent: approval.Sent, detail: str) -> str:
    item = sent.item
    return (f"📨 <b>Revisión:</b> {esc(sent.sender)} envió {_label(item)}.\n\n{detail}\n\n"
            "¿Lo apruebas? Al aprobarlo queda cerrado para cambios (solo /reabrir lo abre).")


def _unit_detail(session, item: approval.UnitPeriod, settings, today) -> str:
    summary = build_summary(session, item.period, unit_clave=item.unit_clave, today=today,
                            bands=Bands(green=settings.poa_band_green,
                                        yellow=settings.poa_band_yellow),
                            deadline_day=settings.poa_deadline_day, approval_required=True)
    pages = unit_pages(summary, item.unit_clave) or []
    return pages[0].text if pages else ""


async def _notify(context: CallbackContext, recipients, text: str, markup=None) -> None:
    for recipient in recipients:
        try:
            await send_html(context.bot, recipient.chat_id, text, markup)
        except Forbidden:  # blocked the bot: the others still get theirs
            log.info("approval notice not delivered to person %s", recipient.person_id)


async def _send(update: Update, context: CallbackContext, person, clave: str,
                code: str) -> None:
    ctx = app_context(context)
    try:
        period = period_from_code(code)
        sent = await ctx.db.run(approval.send, person.id, clave, period, now=ctx.clock(),
                                calendar=_calendar(context))
    except PeriodError:
        await answer_callback(update, STALE_BUTTON_TEXT, show_alert=True)
        return
    except approval.ApprovalError as error:
        await answer_callback(update)
        await reply_html(update, context, esc(error))
        return
    await answer_callback(update)
    await remove_buttons(update, context)
    today = ctx.clock().astimezone(ctx.settings.timezone).date()
    detail = await ctx.db.run(_unit_detail, sent.item, ctx.settings, today)
    await reply_html(update, context, f"📨 Enviaste {_label(sent.item)} a revisión. Queda "
                     "cerrado para cambios mientras tu gerente lo revisa; te aviso su respuesta.")
    buttons = keyboard([[("✅ Aprobar", callback_data(PREFIX, "ok", sent.item.approval_id)),
                         ("↩️ Devolver", callback_data(PREFIX, "dv", sent.item.approval_id))]])
    await _notify(context, sent.gerentes, _review_text(sent, detail), buttons)


# --- gerente: Aprobar / Devolver ---------------------------------------------------------------

def _decided_texts(decided: approval.Decided) -> tuple[str, str]:
    """(to the unit's people, to the other gerentes)."""
    item = decided.item
    if item.state == approval.APROBADO:
        return (f"✅ {esc(decided.by)} aprobó {_label(item)}. Queda cerrado para cambios.",
                f"✅ {esc(decided.by)} aprobó {_label(item)}.")
    return (f"↩️ {esc(decided.by)} devolvió {_label(item)} con este comentario:\n"
            f"<blockquote>{esc(item.comment)}</blockquote>\nCorrige con /corregir y vuelve a "
            "enviarlo con /enviar.",
            f"↩️ {esc(decided.by)} devolvió {_label(item)}: «{esc(item.comment)}».")


async def _announce(context: CallbackContext, decided: approval.Decided) -> None:
    to_unit, to_gerentes = _decided_texts(decided)
    await _notify(context, decided.coordinadores, to_unit)
    await _notify(context, decided.gerentes, to_gerentes)


async def _decide(update: Update, context: CallbackContext, person, action: str,
                  raw_id: str) -> None:
    ctx = app_context(context)
    if not person.is_gerente or not raw_id.isdigit():
        await answer_callback(update, STALE_BUTTON_TEXT, show_alert=True)
        return
    try:
        if action == "ok":
            decided = await ctx.db.run(approval.approve, person.id, int(raw_id),
                                       now=ctx.clock(), calendar=_calendar(context))
        else:
            item = await ctx.db.run(approval.start_return, person.id, int(raw_id),
                                    now=ctx.clock(), calendar=_calendar(context))
    except approval.ApprovalError as error:
        await answer_callback(update)
        await remove_buttons(update, context)
        await reply_html(update, context, esc(error))
        return
    await answer_callback(update)
    await remove_buttons(update, context)
    if action == "ok":
        await reply_html(update, context, f"✅ Aprobaste {_label(decided.item)}. Queda cerrado "
                         "para cambios; si hiciera falta, /reabrir "
                         f"{esc(decided.item.period.code)} {esc(decided.item.unit_clave)}.")
        await _announce(context, decided)
        return
    await reply_html(update, context, f"↩️ Escribe el comentario para devolver {_label(item)}: "
                     "qué hay que revisar o corregir. (/cancelar para no devolverlo)")


async def button(update: Update, context: CallbackContext) -> None:
    person = await require_person(update, context)
    parts = parse_callback(update.callback_query.data, PREFIX) or []
    if not _required(context):
        await answer_callback(update, OFF_TEXT, show_alert=True)
        return
    if len(parts) == 3 and parts[0] == "s" and person.is_coordinador:
        await _send(update, context, person.acting(), parts[1], parts[2])
    elif len(parts) == 2 and parts[0] in ("ok", "dv"):
        await _decide(update, context, person, parts[0], parts[1])
    else:
        await answer_callback(update, STALE_BUTTON_TEXT, show_alert=True)


async def comment_text(update: Update, context: CallbackContext) -> None:
    """A gerente's text while a «Devolver» waits for its comment; anything else goes on."""
    person = await require_person(update, context)
    if not person.is_gerente:
        return
    ctx = app_context(context)
    if await ctx.db.run(approval.waiting_comment, person.id) is None:
        return
    try:
        decided = await ctx.db.run(approval.finish_return, person.id, update.message.text,
                                   now=ctx.clock(), calendar=_calendar(context))
    except approval.ApprovalError as error:
        if error.reason in ("decided", "stale"):  # nothing left to return: stop waiting
            await ctx.db.run(approval.cancel_return, person.id)
        await reply_html(update, context, esc(error))
        raise ApplicationHandlerStop from None
    await reply_html(update, context, f"↩️ Devolviste {_label(decided.item)}. Le avisé a quien "
                     "captura, con tu comentario; el periodo queda abierto para corregir.")
    await _announce(context, decided)
    raise ApplicationHandlerStop


async def cancel_comment(update: Update, context: CallbackContext) -> None:
    """/cancelar while writing a return comment: nothing is returned."""
    person = await require_person(update, context)
    if not person.is_gerente:
        return
    if await app_context(context).db.run(approval.cancel_return, person.id):
        await reply_html(update, context, "Listo: no devolví nada; sigue en revisión.")
        raise ApplicationHandlerStop


def register(application: Application) -> None:
    new = filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler("enviar", enviar, filters=new))
    application.add_handler(CallbackQueryHandler(button, pattern=rf"^{PREFIX}:"))
    application.add_handler(CommandHandler("cancelar", cancel_comment, filters=new),
                            group=COMMENT_GROUP)
    application.add_handler(MessageHandler(new & filters.TEXT & ~filters.COMMAND
                                           & ~filters.FORWARDED, comment_text),
                            group=COMMENT_GROUP)
