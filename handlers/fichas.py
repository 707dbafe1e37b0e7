"""``/ficha`` (an indicator's ficha técnica) and ``/reprogramar`` (change a programmed meta).

``/ficha ID`` shows the ficha of indicator ``ID``; ``/ficha`` alone lists the person's
indicators (a coordinador) or the units (a gerente) as buttons. ``/resumen``'s unit detail
links here too (button ``fi:u:<clave>``).

``/reprogramar ID PERIODO META justificación…`` asks to change the meta programmed for one
of the indicator's periods (:mod:`bot.services.reprogramming`); every active gerente gets
the request with «Autorizar» / «Rechazar» buttons, and the requester is told the decision.

Buttons (≤ 64 bytes)::

    fi:u:<clave>   a unit's indicators        fi:i:<id>   an indicator's ficha
    fm:a:<id>      authorise request <id>     fm:r:<id>   reject request <id>

Everything is checked on arrival: a coordinador sees only their units' fichas; only an active
gerente decides; a request decided already, or an unknown id, gets an alert and changes
nothing.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackContext, CallbackQueryHandler, CommandHandler

from bot.domain.attainment import Bands
from bot.domain.calendar import ReportingCalendar
from bot.domain.fichas import Acumulacion, Sentido
from bot.domain.numbers import format_number
from bot.domain.periods import MONTH_ABBR, period_from_code
from bot.services import reprogramming as rp
from bot.services.fichas import FichaCard, ficha_card, unit_indicators
from bot.services.registration import PersonView
from handlers.common import (
    STALE_BUTTON_TEXT,
    answer_callback,
    app_context,
    callback_data,
    edit_or_keep,
    esc,
    keyboard,
    parse_callback,
    reply_html,
    require_person,
    send_html,
    shorten,
)
from handlers.summary import unit_claves

log = logging.getLogger(__name__)

FICHA_PREFIX, DECISION_PREFIX = "fi", "fm"
MAX_ID = 2**31 - 1
SENTIDO_TEXT = {
    Sentido.ASCENDENTE: "ascendente (más es mejor)",
    Sentido.DESCENDENTE: "descendente (menos es mejor)",
    Sentido.REGULAR: "regular (lo mejor es acercarse a la meta)",
}
ACUMULACION_TEXT = {
    Acumulacion.SUMA: "suma de los periodos",
    Acumulacion.ULTIMO: "último valor reportado",
    Acumulacion.PROMEDIO: "promedio de los periodos",
    Acumulacion.ACUMULADO: "acumulado del año (cada valor ya es el total a la fecha)",
}
FORMULA_TEXT = {
    Sentido.ASCENDENTE: "valor ÷ meta × 100",
    Sentido.REGULAR: "valor ÷ meta × 100",
    Sentido.DESCENDENTE: "(2 − valor ÷ meta) × 100, mínimo 0 (criterio SHCP)",
}
OUTCOME_TEXT = {rp.PENDING: "pendiente", rp.AUTHORIZED: "autorizada", rp.REJECTED: "rechazada",
                rp.VOID: "sin efecto (el periodo ya cerró)"}
USAGE = ("Uso: <code>/reprogramar ID PERIODO META justificación</code>\n"
         "Por ejemplo: <code>/reprogramar 12 jun-23 300 La temporada de lluvias retrasa "
         "las obras</code>\nEl ID del indicador aparece en /ficha. La gerencia autoriza o "
         "rechaza el cambio; un periodo ya cerrado no se reprograma.")


# --- rendering ---------------------------------------------------------------------------------

def _pct(value) -> str:
    return f"{format_number(value)} %"


def _period_short(code: str) -> str:
    period = period_from_code(code)
    if period.kind == "M":
        return MONTH_ABBR[period.index - 1]
    return {"Q": f"T{period.index}", "S": f"S{period.index}"}.get(period.kind, "año")


def card_text(card: FichaCard, changes: list[rp.ChangeView]) -> str:
    ficha, rules = card.ficha, card.ficha.rules
    semaforo = rules.semaforo
    name = f" ({esc(card.short_name)})" if card.short_name else ""
    lines = [f"<b>Ficha técnica · indicador {card.indicator_id}</b> · {esc(card.unit_clave)} "
             f"{esc(card.unit_nombre)} · POA {card.year}",
             f"<b>{esc(card.nombre)}</b>{name}",
             f"Unidad de medida: {esc(card.unidad_medida or '—')} · "
             f"{esc(card.frecuencia.lower())}",
             f"Sentido: {SENTIDO_TEXT[rules.sentido]}",
             f"Acumulación: {ACUMULACION_TEXT[rules.acumulacion]}",
             f"Cumplimiento: {FORMULA_TEXT[rules.sentido]}"]
    if semaforo.two_sided:
        lines.append(f"Semáforo: 🟢 {_pct(semaforo.green_min)}–{_pct(semaforo.green_max)} · "
                     f"🟡 {_pct(semaforo.yellow_min)}–{_pct(semaforo.yellow_max)} · "
                     "🔴 fuera de eso")
    else:
        lines.append(f"Semáforo: 🟢 desde {_pct(semaforo.green_min)} · 🟡 desde "
                     f"{_pct(semaforo.yellow_min)} · 🔴 menos")
    if ficha.linea_base_valor is not None:
        year = f" ({ficha.linea_base_anio})" if ficha.linea_base_anio else ""
        lines.append(f"Línea base: {format_number(ficha.linea_base_valor)}{year}")
    else:
        lines.append("Línea base: sin registrar")
    lines.append(f"Medio de verificación: {esc(shorten(ficha.medio_verificacion or '—', 200))}")
    lines.append("Evidencia obligatoria: " + ("sí" if ficha.evidencia_obligatoria else "no"))
    metas = " · ".join(f"{_period_short(code)} {format_number(meta)}{'*' if own else ''}"
                       for code, meta, own in card.metas)
    lines.append(f"Metas programadas: {metas}")
    if any(own for _, _, own in card.metas):
        lines.append("<i>* calendarizada o reprogramada</i>")
    if not ficha.stored:
        lines.append("<i>Sin ficha registrada: se aplican los valores por omisión.</i>")
    if changes:
        lines.append("\n<b>Reprogramaciones</b>")
        for change in changes[-5:]:
            who = f", decidió {esc(change.decided_by)}" if change.decided_by else ""
            lines.append(f"#{change.id} {_period_short(change.period)}: "
                         f"{format_number(change.old_meta)} → {format_number(change.new_meta)} "
                         f"· {OUTCOME_TEXT.get(change.outcome, change.outcome)} "
                         f"(pidió {esc(change.requested_by)}{who})")
    return "\n".join(lines)


def request_text(change: rp.ChangeView) -> str:
    return "\n".join([
        f"<b>Solicitud de reprogramación #{change.id}</b>",
        f"{esc(change.unit_clave)} · {esc(change.indicador)} (indicador {change.indicator_id})",
        f"Periodo: {esc(period_from_code(change.period).label)}",
        f"Meta programada: {format_number(change.old_meta)} → "
        f"<b>{format_number(change.new_meta)}</b>",
        f"Justificación: {esc(change.justification)}",
        f"Pide: {esc(change.requested_by)}",
    ])


def decision_text(change: rp.ChangeView) -> str:
    return (request_text(change) + f"\n\n<b>{OUTCOME_TEXT[change.outcome].capitalize()}</b>"
            + (f" por {esc(change.decided_by)}" if change.decided_by else "") + ".")


# --- loading (database thread) -----------------------------------------------------------------

def _bands(context: CallbackContext) -> Bands:
    settings = app_context(context).settings
    return Bands(green=settings.poa_band_green, yellow=settings.poa_band_yellow)


def _load_card(session, person: PersonView, indicator_id: int, bands: Bands):
    indicator, _unit = rp.visible_indicator(session, person, indicator_id)
    return ficha_card(session, indicator, bands), rp.history(session, indicator_id)


def _unit_list(session, clave: str):
    return [(i.id, i.short_name or i.nombre) for i in unit_indicators(session, clave)]


def _unit_keyboard(clave: str, items):
    rows = [[(f"{indicator_id} · {shorten(name, 50)}",
              callback_data(FICHA_PREFIX, "i", indicator_id))] for indicator_id, name in items]
    return keyboard(rows)


def _units_keyboard(claves):
    buttons = []
    for clave in claves:
        try:
            buttons.append((clave, callback_data(FICHA_PREFIX, "u", clave)))
        except ValueError:  # a clave too long for callback data
            continue
    return keyboard([buttons[i:i + 4] for i in range(0, len(buttons), 4)])


# --- /ficha ------------------------------------------------------------------------------------

async def ficha(update: Update, context: CallbackContext) -> None:
    person = await require_person(update, context)
    ctx = app_context(context)
    args = context.args or []
    if args:
        text = args[0]
        if len(args) != 1 or not (text.isascii() and text.isdigit()) or int(text) > MAX_ID:
            await reply_html(update, context, "Uso: <code>/ficha ID</code>, p. ej. /ficha 12, "
                                              "o solo /ficha para elegir.")
            return
        try:
            card, changes = await ctx.db.run(_load_card, person, int(text), _bands(context))
        except rp.ReprogrammingError as error:
            await reply_html(update, context, esc(str(error)))
            return
        await reply_html(update, context, card_text(card, changes))
        return
    claves = (await ctx.db.run(unit_claves) if person.is_gerente
              else list(person.unit_claves))
    if not claves:
        await reply_html(update, context, "No hay unidades con indicadores todavía.")
        return
    if len(claves) == 1:
        items = await ctx.db.run(_unit_list, claves[0])
        await reply_html(update, context, f"Indicadores de la unidad {esc(claves[0])}: "
                                          "toca uno para ver su ficha.",
                         reply_markup=_unit_keyboard(claves[0], items) if items else None)
        return
    await reply_html(update, context, "Elige la unidad:", reply_markup=_units_keyboard(claves))


async def ficha_button(update: Update, context: CallbackContext) -> None:
    person = await require_person(update, context)
    parts = parse_callback(update.callback_query.data, FICHA_PREFIX) or []
    ctx = app_context(context)
    if len(parts) == 2 and parts[0] == "u":
        clave = parts[1]
        allowed = await ctx.db.run(unit_claves) if person.is_gerente else person.unit_claves
        if clave in allowed:
            items = await ctx.db.run(_unit_list, clave)
            await answer_callback(update)
            await edit_or_keep(update, f"Indicadores de la unidad {esc(clave)}: toca uno "
                                       "para ver su ficha.",
                               _unit_keyboard(clave, items) if items else None, context)
            return
    elif (len(parts) == 2 and parts[0] == "i" and parts[1].isascii() and parts[1].isdigit()
          and int(parts[1]) <= MAX_ID):
        try:
            card, changes = await ctx.db.run(_load_card, person, int(parts[1]), _bands(context))
        except rp.ReprogrammingError:
            card = None
        if card is not None:
            await answer_callback(update)
            back = keyboard([[("⬅ Indicadores de la unidad",
                               callback_data(FICHA_PREFIX, "u", card.unit_clave))]])
            await edit_or_keep(update, card_text(card, changes), back, context)
            return
    await answer_callback(update, STALE_BUTTON_TEXT, show_alert=True)


# --- /reprogramar ------------------------------------------------------------------------------

async def reprogramar(update: Update, context: CallbackContext) -> None:
    person = await require_person(update, context)
    ctx = app_context(context)
    parts = (update.message.text or "").split(maxsplit=4)
    if len(parts) < 4 or not (parts[1].isascii() and parts[1].isdigit()) \
            or int(parts[1]) > MAX_ID:
        await reply_html(update, context, USAGE)
        return
    justification = parts[4] if len(parts) == 5 else ""
    try:
        requested = await ctx.db.run(
            rp.request_change, person, int(parts[1]), parts[2], parts[3], justification,
            now=ctx.clock(), calendar=ReportingCalendar.from_settings(ctx.settings))
    except rp.ReprogrammingError as error:
        await reply_html(update, context, esc(str(error)))
        return
    change = requested.change
    await reply_html(update, context, f"Envié tu solicitud #{change.id} a la gerencia; te "
                                      "aviso cuando la decida.\n\n" + request_text(change))
    buttons = keyboard([[("✅ Autorizar", callback_data(DECISION_PREFIX, "a", change.id)),
                         ("✖ Rechazar", callback_data(DECISION_PREFIX, "r", change.id))]])
    for chat_id in requested.gerente_chats:
        try:
            await send_html(context.bot, chat_id, request_text(change), buttons)
        except TelegramError:  # one unreachable gerente does not stop the others
            log.warning("could not send reprogramación #%s to chat %s", change.id, chat_id,
                        exc_info=True)


async def decision_button(update: Update, context: CallbackContext) -> None:
    person = await require_person(update, context)
    parts = parse_callback(update.callback_query.data, DECISION_PREFIX) or []
    if not (person.is_gerente and len(parts) == 2 and parts[0] in ("a", "r")
            and parts[1].isascii() and parts[1].isdigit() and int(parts[1]) <= MAX_ID):
        await answer_callback(update, STALE_BUTTON_TEXT, show_alert=True)
        return
    ctx = app_context(context)
    try:
        change = await ctx.db.run(rp.decide, person, int(parts[1]), authorize=parts[0] == "a",
                                  now=ctx.clock(),
                                  calendar=ReportingCalendar.from_settings(ctx.settings))
    except rp.ReprogrammingError as error:
        await answer_callback(update, str(error), show_alert=True)
        return
    await answer_callback(update)
    await edit_or_keep(update, decision_text(change), None, context)
    if change.requester_chat is not None and change.requester_chat != update.effective_chat.id:
        try:
            await send_html(context.bot, change.requester_chat,
                            f"Tu solicitud #{change.id} quedó "
                            f"<b>{OUTCOME_TEXT[change.outcome]}</b>.\n\n" + request_text(change))
        except TelegramError:
            log.warning("could not tell the requester of #%s", change.id, exc_info=True)


def register(application: Application) -> None:
    application.add_handler(CommandHandler("ficha", ficha))
    application.add_handler(CommandHandler("reprogramar", reprogramar))
    application.add_handler(CallbackQueryHandler(ficha_button, pattern=rf"^{FICHA_PREFIX}:"))
    application.add_handler(CallbackQueryHandler(decision_button,
                                                 pattern=rf"^{DECISION_PREFIX}:"))
