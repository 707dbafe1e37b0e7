"""/suplente: name, list and cancel stand-ins (``bot.services.stand_ins``).

``/suplente`` lists the stand-ins not yet over (a coordinador: those they are part of; a
gerente or planeación: all) with a ✖ button for each one the person may cancel.
``/suplente 1/12 al 15/12`` names one for those dates: a gerente picks the absent person
(themself, or a coordinador; planeación: a gerente or a coordinador), then everybody picks the
stand-in (for a gerente: another gerente or planeación) and, when the absent coordinador has
several units, one unit or all. Every choice so far
travels in the button (no state is kept between steps); the service checks it all again on
the last press::

    su:a:<absent>:<from>:<to>                 (gerente) absent coordinador chosen
    su:s:<absent>:<stand-in>:<from>:<to>      stand-in chosen
    su:u:<absent>:<stand-in>:<clave|*>:<from>:<to>
    su:x:<stand-in row id>                    cancel

Dates in buttons are ``YYYYMMDD``.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime

from telegram import Update
from telegram.error import Forbidden
from telegram.ext import Application, CallbackContext, CallbackQueryHandler, CommandHandler, filters

from bot.domain.date_ranges import DateRange, DateRangeError, parse_range, short_date
from bot.services import stand_ins
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
from storage.models import ROLE_GERENTE, Person

PREFIX = "su"
USAGE = ("Para nombrar suplente escribe las fechas (inclusive): "
         "<code>/suplente 1/12 al 15/12</code>.")


def _today(context: CallbackContext) -> date:
    ctx = app_context(context)
    return ctx.clock().astimezone(ctx.settings.timezone).date()


def _code(day: date) -> str:
    return day.strftime("%Y%m%d")


def _dates(first: str, last: str, today: date) -> DateRange | None:
    try:
        dates = DateRange(datetime.strptime(first, "%Y%m%d").date(),
                          datetime.strptime(last, "%Y%m%d").date())
    except ValueError:
        return None
    return dates if dates.starts <= dates.ends and dates.ends >= today else None


def _range_text(starts: date, ends: date) -> str:
    return f"del {short_date(starts)} al {short_date(ends)}"


def stand_in_line(view: stand_ins.StandInView, today: date) -> str:
    """``• Beto suple a Ana (todas sus unidades) del 3/4/2023 al 5/4/2023 · vigente``."""
    if view.absent_role == ROLE_GERENTE:
        units = "como gerente: avisos, resumen semanal y revisiones"
    else:
        units = f"unidad {esc(view.unit_clave)}" if view.unit_clave else "todas sus unidades"
    now = " · <b>vigente</b>" if view.is_active(today) else ""
    return (f"• {esc(view.stand_in_name)} suple a {esc(view.person_name)} ({units}) "
            f"{_range_text(view.starts, view.ends)}{now}")


async def suplente(update: Update, context: CallbackContext) -> None:
    person = await require_person(update, context)
    db, today = app_context(context).db, _today(context)
    text = " ".join(context.args or []).strip()
    if not text:
        views = await db.run(stand_ins.listing, person.id, today)
        lines = ["<b>Suplencias</b>"] + ([stand_in_line(v, today) for v in views]
                                         or ["Ninguna vigente ni próxima."])
        lines.append(USAGE)
        mine = [v for v in views if person.is_gerente or v.person_id == person.id]
        buttons = [[(f"✖ Cancelar: {v.stand_in_name} {short_date(v.starts)}"[:60],
                     callback_data(PREFIX, "x", v.id))] for v in mine]
        await reply_html(update, context, "\n".join(lines), keyboard(buttons) if buttons
                         else None)
        return
    try:
        dates = parse_range(text, today)
    except DateRangeError as error:
        await reply_html(update, context, esc(error))
        return
    d1, d2 = _code(dates.starts), _code(dates.ends)
    absent = await db.run(stand_ins.may_name_for, person.id)
    if person.is_gerente:
        if not absent:
            await reply_html(update, context, "No hay coordinadores con unidades registrados.")
            return
        buttons = [[(_who(p, person.id), callback_data(PREFIX, "a", p.id, d1, d2))]
                   for p in absent]
        await reply_html(update, context, f"Suplencia {_range_text(dates.starts, dates.ends)}."
                         "\n¿A quién van a suplir?", keyboard(buttons))
        return
    await _ask_stand_in(update, context, person.id, d1, d2, dates)


def _who(p: Person, actor_id: int) -> str:
    """A button naming a person who may be absent: «(tú)» for oneself, «(gerente)»."""
    name = p.name or f"persona {p.id}"
    if p.id == actor_id:
        return f"{name} (tú)"
    return f"{name} (gerente)" if p.role == ROLE_GERENTE else name


async def _ask_stand_in(update, context, absent_id: int, d1: str, d2: str,
                        dates: DateRange) -> None:
    people = await app_context(context).db.run(stand_ins.candidates, absent_id)
    if not people:
        await reply_html(update, context, "No hay otra persona activa que pueda suplir.")
        return
    buttons = [[(p.name or f"persona {p.id}", callback_data(PREFIX, "s", absent_id, p.id, d1, d2))]
               for p in people]
    await reply_html(update, context, f"Suplencia {_range_text(dates.starts, dates.ends)}.\n"
                     "¿Quién suple?", keyboard(buttons))


async def _create(update, context, person, absent_id: int, stand_in_id: int,
                  clave: str | None, dates: DateRange) -> None:
    ctx = app_context(context)
    try:
        view = await ctx.db.run(stand_ins.create, actor_id=person.id, absent_id=absent_id,
                                stand_in_id=stand_in_id, unit_clave=clave, dates=dates,
                                now=ctx.clock())
    except stand_ins.StandInError as error:
        await reply_html(update, context, esc(error))
        return
    today = _today(context)
    gerente = view.absent_role == ROLE_GERENTE
    await reply_html(update, context, "Listo:\n" + stand_in_line(view, today) + (
        "\nEn esas fechas recibe también su aviso de indicadores sin reportar, su resumen "
        "semanal y los envíos a revisión de sus unidades, y puede aprobarlos o devolverlos."
        if gerente else
        "\nEn esas fechas recibe los recordatorios de esas unidades y puede capturarlas; "
        "cada valor registra quién lo capturó y por quién."))
    chat = await ctx.db.run(_chat_of, view.stand_in_id)
    if chat is not None:
        units = f"la unidad {esc(view.unit_clave)}" if view.unit_clave else "sus unidades"
        what = ("recibirás también su aviso de indicadores sin reportar, su resumen semanal y "
                "los envíos a revisión de sus unidades" if gerente else
                "recibirás sus recordatorios y podrás capturar con /reportar")
        with contextlib.suppress(Forbidden):  # blocked the bot: the stand-in still stands
            await send_html(context.bot, chat, f"Quedaste como suplente de "
                            f"{esc(view.person_name)}"
                            + ("" if gerente else f" para {units}")
                            + f" {_range_text(view.starts, view.ends)}: en esas fechas {what}.")


def _chat_of(session, person_id: int) -> int | None:
    person = session.get(Person, person_id)
    return person.chat_id if person is not None and person.active else None


async def button(update: Update, context: CallbackContext) -> None:
    person = await require_person(update, context)
    parts = parse_callback(update.callback_query.data, PREFIX) or []
    ctx, today = app_context(context), _today(context)
    action, args = (parts[0], parts[1:]) if parts else ("", [])
    numbers = [a.isdigit() for a in args]
    if action == "x" and len(args) == 1 and all(numbers):
        try:
            view = await ctx.db.run(stand_ins.cancel, actor_id=person.id,
                                    stand_in_row_id=int(args[0]), now=ctx.clock())
        except stand_ins.StandInError as error:
            await answer_callback(update, str(error), show_alert=True)
            return
        await answer_callback(update)
        await remove_buttons(update, context)
        await reply_html(update, context, f"Cancelé la suplencia de {esc(view.stand_in_name)} "
                         f"por {esc(view.person_name)}.")
        return
    valid = {"a": 3, "s": 4, "u": 5}
    if action not in valid or len(args) != valid[action] or not all(numbers[:2]) \
            or (action == "a" and not person.is_gerente):
        await answer_callback(update, STALE_BUTTON_TEXT, show_alert=True)
        return
    dates = _dates(args[-2], args[-1], today)
    if dates is None:
        await answer_callback(update, "Esas fechas ya pasaron: escribe /suplente con otras.",
                              show_alert=True)
        return
    await answer_callback(update)
    await remove_buttons(update, context)
    if action == "a":
        await _ask_stand_in(update, context, int(args[0]), args[1], args[2], dates)
        return
    absent_id, stand_in_id = int(args[0]), int(args[1])
    if action == "s":
        units = await ctx.db.run(stand_ins.absent_units, absent_id)
        if len(units) > 1:
            buttons = [[("Todas sus unidades", callback_data(PREFIX, "u", absent_id,
                                                              stand_in_id, "*", *args[2:]))]]
            buttons += [[(f"{u.clave} {u.nombre}"[:60], callback_data(
                PREFIX, "u", absent_id, stand_in_id, u.clave, *args[2:]))] for u in units]
            await reply_html(update, context, "¿De qué unidades?", keyboard(buttons))
            return
        await _create(update, context, person, absent_id, stand_in_id, None, dates)
        return
    clave = None if args[2] == "*" else args[2]
    await _create(update, context, person, absent_id, stand_in_id, clave, dates)


def register(application: Application) -> None:
    new = filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler("suplente", suplente, filters=new))
    application.add_handler(CallbackQueryHandler(button, pattern=rf"^{PREFIX}:"))
