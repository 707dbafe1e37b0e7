"""``/exportar [periodo]`` (the POA report as .xlsx plus its CSV) and ``/grafica [periodo]``.

Both take the same arguments as ``/resumen`` (``/exportar`` has no unit: it is the report);
without a period they use the last closed month. A coordinador gets only their units, a
gerente their gerencia's (``bot.services.scope``), headed by its name; planeación, with
several gerencias, picks one gerencia or all of them (one workbook each) with a button
(``ex:<period>:<scope>``, the scopes of ``/resumen``: ``@<gerencia id>``, ``@-``, ``*``). The
workbook and the chart are produced off the event loop (database in its thread pool,
openpyxl/Matplotlib in a worker thread), so other people's messages keep flowing.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.constants import ChatAction
from telegram.ext import Application, CallbackContext, CallbackQueryHandler, CommandHandler

from bot.domain.periods import Period, PeriodError, period_from_code
from bot.domain.resumen_args import ArgumentsError, parse_summary_args
from bot.poa_report.writer import count_data_rows, layout, text_bytes, xlsx_bytes
from bot.services import scope as units_scope
from bot.services.charts import render_progress_charts
from bot.services.export import NothingToExport
from bot.services.gerencia_export import (
    GerenciaReport,
    file_stem,
    report_of_gerencia,
    report_of_units,
    reports_per_gerencia,
)
from bot.services.summary_pages import esc
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
    GERENCIA,
    gerencia_id_of,
    gerencia_scope,
    local_today,
    summary_for_command,
)

PREFIX = "ex"

log = logging.getLogger(__name__)


async def exportar(update: Update, context: CallbackContext) -> None:
    person = await require_person(update, context)
    ctx = app_context(context)
    try:
        args = parse_summary_args(context.args or [], today=local_today(context),
                                  command="exportar", allow_unit=False)
    except ArgumentsError as error:
        await reply_html(update, context, str(error))
        return
    if person.is_planeacion:
        groups = await ctx.db.run(units_scope.gerencias)
        if len(groups) > 1:
            rows = [[(f"🏢 {g.nombre[:40]}", callback_data(PREFIX, args.period.code,
                                                           gerencia_scope(g.id)))]
                    for g in groups]
            rows.append([("Todas (un libro por gerencia)",
                          callback_data(PREFIX, args.period.code, ALL))])
            await reply_html(update, context, f"¿De qué gerencia exporto el POA · "
                             f"{esc(args.period.label)}?", reply_markup=keyboard(rows))
            return
    await _send_reports(update, context, args.period, person, ALL)


def _reports(session, person, period: Period, scope: str, today) -> list[GerenciaReport]:
    """The reports ``scope`` asks for, as ``person`` may see them (database thread)."""
    visible = units_scope.visible_claves(session, person)
    if scope == ALL:
        if person.is_planeacion and units_scope.several_gerencias(session):
            return reports_per_gerencia(session, period, today=today)
        return [report_of_units(session, period, visible, today=today)]
    if visible is not None:  # gerencia buttons are planeación's
        raise LookupError(scope)
    gerencia_id = gerencia_id_of(scope)  # ValueError when malformed
    if gerencia_id is not None and units_scope.gerencia_name(session, gerencia_id) is None:
        raise LookupError(scope)
    return [report_of_gerencia(session, period, gerencia_id, today=today)]


async def _send_reports(update: Update, context: CallbackContext, period: Period, person,
                        scope: str) -> None:
    ctx = app_context(context)
    chat_id = reply_chat_id(update)
    await context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
    try:
        reports = await ctx.db.run(_reports, person, period, scope, local_today(context))
    except NothingToExport as error:
        await reply_html(update, context, esc(error))
        return
    for report in reports:
        document = report.document
        workbook, csv_data = await asyncio.to_thread(
            lambda d=document: (xlsx_bytes(d), text_bytes(d)))
        name = file_stem(period, report.gerencia if len(reports) > 1 or scope != ALL
                         else None)
        rows = count_data_rows(layout(document))
        who = f" · {esc(report.gerencia)}" if report.gerencia and len(reports) > 1 else ""
        caption = (f"POA · {esc(period.label)}{who}: {len(document.sections)} secciones, "
                   f"{rows} indicadores.")
        await context.bot.send_document(chat_id, workbook, filename=f"{name}.xlsx",
                                        caption=caption, parse_mode="HTML")
        await context.bot.send_document(chat_id, csv_data, filename=f"{name}.csv",
                                        caption="El mismo reporte en CSV (UTF-8).")


async def on_button(update: Update, context: CallbackContext) -> None:
    """A gerencia (or «Todas») of planeación's /exportar; anything else changes nothing."""
    person = await require_person(update, context)
    parts = parse_callback(update.callback_query.data, PREFIX) or []
    valid = len(parts) == 2 and (parts[1] == ALL or parts[1].startswith(GERENCIA))
    try:
        period = period_from_code(parts[0]) if valid else None
    except PeriodError:
        period = None
    if period is None or not person.is_planeacion:
        await answer_callback(update, STALE_BUTTON_TEXT)
        return
    try:
        await _check_scope(context, person, period, parts[1])
    except (LookupError, ValueError):
        await answer_callback(update, STALE_BUTTON_TEXT)
        return
    await answer_callback(update)
    await _send_reports(update, context, period, person, parts[1])


async def _check_scope(context: CallbackContext, person, period: Period, scope: str) -> None:
    if scope == ALL:
        return
    gerencia_id = gerencia_id_of(scope)
    if gerencia_id is not None and await app_context(context).db.run(
            units_scope.gerencia_name, gerencia_id) is None:
        raise LookupError(scope)


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
    application.add_handler(CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:"))
