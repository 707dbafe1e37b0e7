"""``/exportar [periodo] [csv]`` (the POA report as .xlsx; its CSV twin only when asked)
and ``/grafica [periodo] [unidad]``.

Both take the same arguments as ``/resumen`` (``/exportar`` has no unit: it is the report,
and takes the word ``csv`` to get the CSV as well); without a period they use the last
closed month. A coordinador gets only their units. The
workbook and the chart are produced off the event loop (database in its thread pool,
openpyxl/Matplotlib in a worker thread), so other people's messages keep flowing.

``/grafica`` draws every unit's progress; ``/grafica 303`` draws the unit's indicators, with
one numbered button per indicator (``gf:<indicator id>``) that sends that indicator's year
against its meta and last year. A button is re-validated when pressed: the indicator must
exist and belong to a unit the person may see, else "Este botón ya no es válido."
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.constants import ChatAction
from telegram.ext import Application, CallbackContext, CallbackQueryHandler, CommandHandler

from bot.domain.resumen_args import (
    ArgumentsError,
    most_recent_closed_month,
    parse_summary_args,
)
from bot.poa_report.writer import count_data_rows, layout, text_bytes, xlsx_bytes
from bot.services.charts import render_indicator_trend, render_progress_charts, render_unit_charts
from bot.services.export import NothingToExport, build_report
from bot.services.summary_pages import esc
from bot.services.trend import indicator_trend, indicator_unit
from handlers.common import (
    STALE_BUTTON_TEXT,
    answer_callback,
    app_context,
    callback_data,
    keyboard,
    parse_callback,
    reply_chat_id,
    reply_html,
    require_person,
)
from handlers.summary import (
    ALL,
    local_today,
    summary_for_command,
    summary_request,
    unit_claves,
    visible_claves,
)

log = logging.getLogger(__name__)

PREFIX = "gf"
BUTTONS_PER_ROW = 6
MAX_BUTTONS = 96  # Telegram allows 100 buttons a message
CSV_WORD = "csv"
CSV_HINT = "Agrega <code>csv</code> para recibir también el CSV."


async def exportar(update: Update, context: CallbackContext) -> None:
    person = await require_person(update, context)
    ctx = app_context(context)
    words = [w for word in context.args or [] for w in word.split()]
    with_csv = any(w.strip(",;").lower() == CSV_WORD for w in words)
    words = [w for w in words if w.strip(",;").lower() != CSV_WORD]
    try:
        args = parse_summary_args(words, today=local_today(context),
                                  command="exportar", allow_unit=False)
    except ArgumentsError as error:
        await reply_html(update, context, f"{error}\n{CSV_HINT}")
        return
    chat_id = reply_chat_id(update)
    await context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
    units = None if person.is_gerente else set(person.unit_claves)
    request = summary_request(context, args.period, ALL)
    try:
        document = await ctx.db.run(build_report, args.period, today=request.today,
                                    unit_claves=units, bands=request.bands,
                                    deadline_day=request.deadline_day)
    except NothingToExport as error:
        await reply_html(update, context, esc(error))
        return
    workbook = await asyncio.to_thread(xlsx_bytes, document)
    name = f"POA-{args.period.code}"
    rows = count_data_rows(layout(document))
    caption = (f"POA · {esc(args.period.label)}: {len(document.sections)} secciones, "
               f"{rows} indicadores.")
    if not with_csv:
        caption += f"\n¿En CSV? <code>/exportar {esc(args.period.code)} csv</code>"
    await context.bot.send_document(chat_id, workbook, filename=f"{name}.xlsx",
                                    caption=caption, parse_mode="HTML")
    if with_csv:
        csv_data = await asyncio.to_thread(text_bytes, document)
        await context.bot.send_document(chat_id, csv_data, filename=f"{name}.csv",
                                        caption="El mismo reporte en CSV (UTF-8).")


async def grafica(update: Update, context: CallbackContext) -> None:
    reply = await summary_for_command(update, context, command="grafica")
    if reply is None:
        return
    scope, summary = reply.scope, reply.summary
    if summary.is_empty:
        await reply_html(update, context,
                         f"No hay indicadores del POA {summary.period.year} para graficar.")
        return
    chat_id = reply_chat_id(update)
    await context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_PHOTO)
    if scope != ALL:
        await _unit_charts(context, chat_id, summary)
        return
    images = await asyncio.to_thread(render_progress_charts, summary)
    for index, png in enumerate(images, start=1):
        part = f" ({index}/{len(images)})" if len(images) > 1 else ""
        await context.bot.send_photo(
            chat_id, png, filename=f"avance-{summary.period.code}-{index}.png",
            caption=f"Avance acumulado · {esc(summary.period.label)}{part}",
            parse_mode="HTML")


async def _unit_charts(context: CallbackContext, chat_id: int, summary) -> None:
    """The unit's indicators, and under the last image a button per indicator."""
    unit = summary.units[0]
    images = await asyncio.to_thread(render_unit_charts, summary)
    lines = unit.lines[:MAX_BUTTONS]
    buttons = [(str(number), callback_data(PREFIX, line.indicator_id))
               for number, line in enumerate(lines, start=1)]
    markup = keyboard([buttons[i:i + BUTTONS_PER_ROW]
                       for i in range(0, len(buttons), BUTTONS_PER_ROW)]) if buttons else None
    for index, png in enumerate(images, start=1):
        part = f" ({index}/{len(images)})" if len(images) > 1 else ""
        last = index == len(images)
        hint = "\nToca un número para ver ese indicador en el año." if last and buttons else ""
        await context.bot.send_photo(
            chat_id, png, filename=f"unidad-{unit.clave}-{summary.period.code}-{index}.png",
            caption=(f"{esc(unit.clave)} · cumplimiento de cada indicador · "
                     f"{esc(summary.period.label)}{part}{hint}"),
            parse_mode="HTML", reply_markup=markup if last else None)


async def on_trend_button(update: Update, context: CallbackContext) -> None:
    person = await require_person(update, context)
    parts = parse_callback(update.callback_query.data, PREFIX) or []
    # isascii: "²" passes isdigit() too, and int("²") raises.
    if len(parts) != 1 or not (parts[0].isascii() and parts[0].isdigit()
                               and len(parts[0]) <= 12):
        await answer_callback(update, STALE_BUTTON_TEXT)
        return
    indicator_id = int(parts[0])
    ctx = app_context(context)
    clave = await ctx.db.run(indicator_unit, indicator_id)
    if clave is None or clave not in visible_claves(person, await ctx.db.run(unit_claves)):
        await answer_callback(update, STALE_BUTTON_TEXT)
        return
    await answer_callback(update)
    chat_id = reply_chat_id(update)
    await context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_PHOTO)
    request = summary_request(context, most_recent_closed_month(local_today(context)), clave)
    trend = await ctx.db.run(indicator_trend, indicator_id, today=request.today,
                             bands=request.bands, deadline_day=request.deadline_day)
    if trend is None:  # removed meanwhile
        await reply_html(update, context, STALE_BUTTON_TEXT)
        return
    png = await asyncio.to_thread(render_indicator_trend, trend)
    await context.bot.send_photo(
        chat_id, png, filename=f"indicador-{indicator_id}-{trend.year}.png",
        caption=f"{esc(trend.unit_clave)} · {esc(trend.nombre[:300])} · {trend.year}",
        parse_mode="HTML")


def register(application: Application) -> None:
    application.add_handler(CommandHandler("exportar", exportar))
    application.add_handler(CommandHandler("grafica", grafica))
    application.add_handler(CallbackQueryHandler(on_trend_button, pattern=rf"^{PREFIX}:"))
