"""``/exportar [periodo] [csv]`` (the POA report as .xlsx; its CSV twin only when asked)
and ``/grafica [periodo] [unidad]``.

Both take the same arguments as ``/resumen`` (``/exportar`` has no unit: it is the report,
and takes the word ``csv`` to get the CSV as well); without a period they use the last
closed month. A coordinador gets only their units, a gerente their gerencia's
(``bot.services.scope``), headed by its name; planeación, with several gerencias, picks one
gerencia or all of them (one workbook each) with a button (``ex:<period>:<scope>``, the
scopes of ``/resumen``: ``@<gerencia id>``, ``@-``, ``*``). The
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

from bot.domain.periods import Period, PeriodError, period_from_code
from bot.domain.resumen_args import (
    ArgumentsError,
    most_recent_closed_month,
    parse_summary_args,
)
from bot.poa_report.writer import count_data_rows, layout, text_bytes
from bot.poa_report.xlsx import xlsx_bytes
from bot.services import scope as units_scope
from bot.services.charts import render_indicator_trend, render_progress_charts, render_unit_charts
from bot.services.export import NothingToExport
from bot.services.gerencia_export import (
    GerenciaReport,
    file_stem,
    report_of_gerencia,
    report_of_units,
    reports_per_gerencia,
)
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
    GERENCIA,
    gerencia_id_of,
    gerencia_scope,
    local_today,
    summary_for_command,
    summary_request,
)

log = logging.getLogger(__name__)

PREFIX = "gf"  # /grafica's indicator buttons
EXPORT_PREFIX = "ex"  # planeación's gerencia choice for /exportar
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
    if person.is_planeacion:
        groups = await ctx.db.run(units_scope.gerencias)
        if len(groups) > 1:
            suffix = (CSV_WORD,) if with_csv else ()
            rows = [[(f"🏢 {g.nombre[:40]}", callback_data(
                EXPORT_PREFIX, args.period.code, gerencia_scope(g.id), *suffix))]
                for g in groups]
            rows.append([("Todas (un libro por gerencia)",
                          callback_data(EXPORT_PREFIX, args.period.code, ALL, *suffix))])
            await reply_html(update, context, f"¿De qué gerencia exporto el POA · "
                             f"{esc(args.period.label)}?", reply_markup=keyboard(rows))
            return
    await _send_reports(update, context, args.period, person, ALL, with_csv)


def _reports(session, person, period: Period, scope: str, today,
             options: dict) -> list[GerenciaReport]:
    """The reports ``scope`` asks for, as ``person`` may see them (database thread)."""
    visible = units_scope.visible_claves(session, person)
    if scope == ALL:
        if person.is_planeacion and units_scope.several_gerencias(session):
            return reports_per_gerencia(session, period, today=today, **options)
        return [report_of_units(session, period, visible, today=today, **options)]
    if visible is not None:  # gerencia buttons are planeación's
        raise LookupError(scope)
    gerencia_id = gerencia_id_of(scope)  # ValueError when malformed
    if gerencia_id is not None and units_scope.gerencia_name(session, gerencia_id) is None:
        raise LookupError(scope)
    return [report_of_gerencia(session, period, gerencia_id, today=today, **options)]


async def _send_reports(update: Update, context: CallbackContext, period: Period, person,
                        scope: str, with_csv: bool) -> None:
    ctx = app_context(context)
    chat_id = reply_chat_id(update)
    await context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
    request = summary_request(context, period, ALL)
    options = {"bands": request.bands, "deadline_day": request.deadline_day,
               "approval_required": request.approval_required,  # the «Revisión» sheet
               "timezone": ctx.settings.timezone}
    try:
        reports = await ctx.db.run(_reports, person, period, scope, request.today, options)
    except NothingToExport as error:
        await reply_html(update, context, esc(error))
        return
    for report in reports:
        document = report.document
        workbook = await asyncio.to_thread(xlsx_bytes, document)
        name = file_stem(period, report.gerencia if len(reports) > 1 or scope != ALL
                         else None)
        rows = count_data_rows(layout(document))
        who = f" · {esc(report.gerencia)}" if report.gerencia and len(reports) > 1 else ""
        caption = (f"POA · {esc(period.label)}{who}: {len(document.sections)} secciones, "
                   f"{rows} indicadores.")
        if not with_csv:
            caption += f"\n¿En CSV? <code>/exportar {esc(period.code)} csv</code>"
        await context.bot.send_document(chat_id, workbook, filename=f"{name}.xlsx",
                                        caption=caption, parse_mode="HTML")
        if with_csv:
            csv_data = await asyncio.to_thread(text_bytes, document)
            await context.bot.send_document(chat_id, csv_data, filename=f"{name}.csv",
                                            caption="El mismo reporte en CSV (UTF-8).")


async def on_export_button(update: Update, context: CallbackContext) -> None:
    """A gerencia (or «Todas») of planeación's /exportar; anything else changes nothing."""
    person = await require_person(update, context)
    parts = parse_callback(update.callback_query.data, EXPORT_PREFIX) or []
    with_csv = len(parts) == 3 and parts[2] == CSV_WORD
    valid = len(parts) in (2, 3) and (len(parts) == 2 or with_csv) and (
        parts[1] == ALL or parts[1].startswith(GERENCIA))
    try:
        period = period_from_code(parts[0]) if valid else None
    except PeriodError:
        period = None
    if period is None or not person.is_planeacion:
        await answer_callback(update, STALE_BUTTON_TEXT)
        return
    try:
        await _check_scope(context, parts[1])
    except (LookupError, ValueError):
        await answer_callback(update, STALE_BUTTON_TEXT)
        return
    await answer_callback(update)
    await _send_reports(update, context, period, person, parts[1], with_csv)


async def _check_scope(context: CallbackContext, scope: str) -> None:
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
    visible = await ctx.db.run(units_scope.visible_claves, person)  # None: every unit
    if clave is None or (visible is not None and clave not in visible):
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
    application.add_handler(CallbackQueryHandler(on_export_button,
                                                 pattern=rf"^{EXPORT_PREFIX}:"))
