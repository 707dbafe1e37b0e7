"""``/exportar [periodo] [csv]`` (the POA report as .xlsx; its CSV twin only when asked)
and ``/grafica [periodo] [unidad]``.

Both take the same arguments as ``/resumen`` (``/exportar`` has no unit: it is the report,
and takes the word ``csv`` to get the CSV as well); without a period they use the last
closed month. A coordinador gets only their units. The
workbook and the chart are produced off the event loop (database in its thread pool,
openpyxl/Matplotlib in a worker thread), so other people's messages keep flowing.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.constants import ChatAction
from telegram.ext import Application, CallbackContext, CommandHandler

from bot.domain.resumen_args import ArgumentsError, parse_summary_args
from bot.poa_report.writer import count_data_rows, layout, text_bytes, xlsx_bytes
from bot.services.charts import render_progress_charts
from bot.services.export import NothingToExport, build_report
from bot.services.summary_pages import esc
from handlers.common import app_context, reply_chat_id, reply_html, require_person
from handlers.summary import ALL, local_today, summary_for_command, summary_request

log = logging.getLogger(__name__)

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
    images = await asyncio.to_thread(render_progress_charts, summary)
    for index, png in enumerate(images, start=1):
        part = f" ({index}/{len(images)})" if len(images) > 1 else ""
        where = "" if scope == ALL else f" · unidad {esc(scope)}"
        await context.bot.send_photo(
            chat_id, png, filename=f"avance-{summary.period.code}-{index}.png",
            caption=f"Avance acumulado · {esc(summary.period.label)}{where}{part}",
            parse_mode="HTML")


def register(application: Application) -> None:
    application.add_handler(CommandHandler("exportar", exportar))
    application.add_handler(CommandHandler("grafica", grafica))
