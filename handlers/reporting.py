"""/reportar, /corregir, /pendientes, /cancelar and the answers to their questions.

Thin adapter: each update becomes ONE ``db.run`` of a ``bot.services.conversation`` step
(state, values and the update id in one transaction), and the returned screens are rendered
here in Spanish (HTML, every catalog or user text escaped).

Handler groups: group 0 holds the commands, the buttons (``r:…`` report, ``c:…`` correction)
and free text; group :data:`REMIND_GROUP` runs after any command (whoever handles it) to
answer unknown commands and, if the person was in the middle of a report, to ask the pending
question again so nothing is left hanging.

One file past 400 lines on purpose: :func:`render` is one ``match`` over every screen of the
conversation (a screen without its text fails loudly), and the screen texts share the
number/unit helpers above it.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.domain.attainment import Bands
from bot.domain.calendar import ReportingCalendar
from bot.domain.numbers import format_number
from bot.domain.short_names import display_name
from bot.services import batch_flow, flow_state, justification_step, ownership
from bot.services import conversation as conv
from bot.services.reporting import MAX_REMARKS, SummaryRow
from handlers import approval as approval_handlers
from handlers import menus
from handlers.common import (
    STALE_BUTTON_TEXT,
    answer_callback,
    app_context,
    callback_data,
    current_person,
    esc,
    keyboard,
    parse_callback,
    remove_buttons,
    reply_html,
    require_person,
    shorten,
)
from handlers.evidence_button import target_button
from handlers.figure_texts import (
    batch_table_text,
    choice_text,
    confirm_text,
    cumulative_hint,
    descriptions_text,
    fmt,
    justification_prompt,
    period_label,
    saved_text,
    short_cards_text,
    value_of,
    with_unit,
)
from handlers.reminders import long_date

log = logging.getLogger(__name__)

REMIND_GROUP = 50
FLOW_COMMANDS = {"reportar", "corregir", "cancelar"}
BUTTONS_PER_ROW = 4
MAX_EVIDENCE_BUTTONS = 6  # the rest: /evidencia


# --- rendering ------------------------------------------------------------------------------



def _card_text(screen: conv.AskValue) -> str:
    card = screen.card
    label = period_label(card.period_code)
    if screen.again:
        problem = f"{esc(screen.problem)}\n" if screen.problem else ""
        hint = cumulative_hint(card)
        return problem + (f"<b>{esc(card.name)}</b>: {hint}" if hint else (
            f"Escribe de nuevo el valor de <b>{esc(card.name)}</b> para {label} "
            f"(meta {with_unit(card.meta, card)}):"))
    lines = [
        f"<b>Indicador {screen.position} de {screen.total}</b> · {esc(card.unit_clave)} "
        f"{esc(card.unit_nombre)} · {label}",
        f"<b>{esc(card.name)}</b>",
    ]
    lines.append(f"Meta: {with_unit(card.meta, card)}")
    if card.previous:
        code, value = card.previous
        lines.append(f"Valor anterior ({period_label(code)}): {with_unit(value, card)}")
    else:
        lines.append("Sin valor anterior registrado.")
    hint = cumulative_hint(card)
    if screen.correcting:
        lines.append(f"Valor actual: <b>{with_unit(card.current, card)}</b>")
        lines.append(hint or f"Escribe el valor correcto para {label}:")
    elif hint:
        lines.append(hint)
    else:
        example = "p. ej. 8.33%" if card.percent else "p. ej. 1,250"
        lines.append(f"Escribe el valor de {label} ({example}):")
    return "\n".join(lines)




def stored_by(owner: ownership.Owner, person) -> str:
    """«Ana lo capturó el 3/04 a las 10:15» (local time)."""
    when = f"el {owner.at.day}/{owner.at.month:02d} a las {owner.at:%H:%M}"
    if owner.person_id is not None and owner.person_id == person.id:
        return f"Tú lo capturaste {when}"
    if owner.person_id is not None:
        return f"{esc(owner.name or 'Otra persona')} lo capturó {when}"
    if owner.source == "import":
        return f"Se importó del reporte del POA {when}"
    return f"Se cargó ({esc(owner.source)}) {when}"


def _taken(screen: conv.Taken, person) -> tuple[str, InlineKeyboardMarkup | None]:
    card, owner = screen.card, screen.owner
    head = (f"<b>{esc(card.name)}</b> ({period_label(card.period_code)}) ya tiene valor: "
            f"{stored_by(owner, person)}: <b>{with_unit(owner.value, card)}</b>")
    if screen.same:
        return head + ", el mismo valor que escribiste. Queda así.", None
    mine = with_unit(screen.yours, card)
    return (f"⚠️ {head}.\nNo guardé tu {mine}. ¿Lo dejas así o lo cambias? Si lo cambias te "
            "pediré el motivo, que queda en el historial."), keyboard([[
                (f"Dejar {fmt(owner.value, card.percent)}",
                 callback_data(screen.flow, "keep", card.id)),
                (f"Cambiar a {fmt(screen.yours, card.percent)}",
                 callback_data(screen.flow, "chg", card.id))]])


def _summary_lines(rows: tuple[SummaryRow, ...]) -> list[str]:
    lines = []
    for number, row in enumerate(rows, 1):
        value = with_unit(row.value, row) if row.value is not None else "<i>pendiente</i>"
        line = f"{number}. {esc(display_name(row.nombre, row.short_name))}: <b>{value}</b>"
        if row.late:
            line += " *"
        if row.observaciones:
            line += f"\n    <i>{esc(shorten(row.observaciones))}</i>"
        lines.append(line)
    return lines


def _rows_of_buttons(buttons: list[tuple[str, str]], per_row: int = BUTTONS_PER_ROW):
    return [buttons[i:i + per_row] for i in range(0, len(buttons), per_row)]


def render(screen, person) -> tuple[str, InlineKeyboardMarkup | None] | None:
    """One screen as (HTML text, keyboard); None for screens that show nothing."""
    match screen:
        case conv.ChooseUnit(flow=flow, units=units):
            question = ("¿De qué unidad vas a reportar?" if flow == conv.REPORT
                        else "¿De qué unidad es el valor a corregir?")
            buttons = [[(f"{u.clave} {u.nombre}"[:60], callback_data(flow, "u", u.clave))]
                       for u in units]
            return question, keyboard(buttons)
        case conv.ChoosePeriod(flow=flow, unit=unit, periods=periods):
            head = f"<b>{esc(unit.clave)} {esc(unit.nombre)}</b>\n"
            if flow == conv.REPORT:
                question = head + "¿Qué periodo vas a reportar?"
                buttons = [[(f"{p.label} · {n} pendiente{'s' if n != 1 else ''}",
                             callback_data(flow, "p", unit.clave, p.code))] for p, n in periods]
            else:
                question = head + "¿De qué periodo es el valor a corregir?"
                buttons = [[(p.label, callback_data(flow, "p", unit.clave, p.code))]
                           for p, _n in periods]
            return question, keyboard(buttons)
        case conv.NothingToDo(flow=flow, unit=None) if flow == conv.REPORT and person.units:
            return "No tienes indicadores pendientes en periodos abiertos. ¡Todo al día! ✅", None
        case conv.NothingToDo(flow=flow, unit=unit):
            if unit is None:
                return ("No tienes unidades asignadas. Pide a tu gerente una invitación con tus "
                        "unidades."), None
            where = f" de la unidad {esc(unit.clave)} {esc(unit.nombre)}"
            if flow == conv.REPORT:
                return (f"No tienes indicadores pendientes{where} en periodos abiertos. "
                        "¡Todo al día! ✅"), None
            return (f"No hay valores que puedas corregir{where}: ningún periodo abierto tiene "
                    "valores capturados."), None
        case conv.AskValue(card=card):
            return _card_text(screen), None
        case conv.ChooseReading(flow=flow, card=card, readings=readings):
            return choice_text(screen), keyboard([[
                (fmt(v, card.percent), callback_data(flow, "rd", card.id, v))
                for v in readings]])
        case conv.AskConfirm(flow=flow, card=card):
            return confirm_text(screen), keyboard([[
                ("Sí, es correcto", callback_data(flow, "ok", card.id)),
                ("Corregir", callback_data(flow, "fix", card.id))]])
        case conv.AskRemarks(card=card, value=value, note=note, saved_now=saved_now):
            # Late is said once, on the card; not again on every value.
            head = (saved_text(value, card, note) if saved_now else
                    f"<b>{esc(card.name)}</b>: {value_of(value, card)}."
                    + (f" <i>{esc(note)}</i>" if note else ""))
            text = (head
                    + f"\n¿Observaciones? Escríbelas (hasta {format_number(MAX_REMARKS)} "
                    "caracteres) o toca «Sin observaciones».")
            if screen.evidence_required:  # a file sent now is this value's evidence
                text += ("\n📎 Este indicador pide evidencia: envía aquí la foto o el PDF "
                         "(o después, con /evidencia).")
            return text, keyboard([[("Sin observaciones", callback_data("r", "nr", card.id))]])
        case conv.Summary(unit=unit, period=period, rows=rows):
            lines = [f"<b>Listo: {period.label} · {esc(unit.clave)} {esc(unit.nombre)}</b>",
                     "Esto quedó guardado:", *_summary_lines(rows)]
            if any(row.late for row in rows):
                lines.append("Los valores marcados con * llegaron fuera de plazo.")
            buttons = [(f"Corregir {n}", callback_data("c", "i", row.indicator_id, period.code))
                       for n, row in enumerate(rows, 1) if row.value is not None]
            if buttons:
                lines.append("\nSi algo está mal, toca «Corregir» con el número de la línea.")
            rows_of_buttons = _rows_of_buttons(buttons, 3)
            if screen.evidence_owed:
                lines.append("\n📎 Falta la evidencia de: "
                             + ", ".join(esc(name) for _id, name in screen.evidence_owed)
                             + ". Toca el indicador y envía la foto o el PDF.")
                rows_of_buttons += [[target_button(indicator_id, period.code,
                                                   f"📎 {shorten(name, 40)}")]
                    for indicator_id, name in screen.evidence_owed[:MAX_EVIDENCE_BUTTONS]]
            return "\n".join(lines), keyboard(rows_of_buttons) if rows_of_buttons else None
        case conv.ChooseIndicator(unit=unit, period=period, rows=rows):
            lines = [f"<b>{period.label} · {esc(unit.clave)} {esc(unit.nombre)}</b>",
                     "¿Qué valor quieres corregir?", *_summary_lines(rows)]
            buttons = [(str(n), callback_data("c", "i", row.indicator_id, period.code))
                       for n, row in enumerate(rows, 1)]
            return "\n".join(lines), keyboard(_rows_of_buttons(buttons))
        case conv.AskReason(card=card, old=old, new=new, note=note):
            return (f"Cambiarás <b>{esc(card.name)}</b> ({period_label(card.period_code)}) "
                    f"de {with_unit(old, card)} a <b>{with_unit(new, card)}</b>.\n"
                    + (f"<i>{esc(note)}</i>\n" if note else "") +
                    "¿Por qué cambia? Escribe el motivo; queda en el historial."), None
        case conv.Corrected(card=card, old=old, new=new, reason=reason):
            return (f"✅ Corregido: <b>{esc(card.name)}</b> ({period_label(card.period_code)}) "
                    f"de {with_unit(old, card)} a <b>{with_unit(new, card)}</b>.\n"
                    f"Motivo: <i>{esc(reason)}</i>"), None
        case conv.Taken():
            return _taken(screen, person)
        case conv.Kept(card=card, value=value):
            return (f"Queda <b>{with_unit(value, card)}</b> para <b>{esc(card.name)}</b> "
                    f"({period_label(card.period_code)}); no cambié nada."), None
        case conv.Refused(message=message):
            return esc(message), None
        case conv.RemarksTooLong(length=length, flow=flow):
            what = "Tus observaciones tienen" if flow == conv.REPORT else "El motivo tiene"
            return (f"{what} {format_number(length)} caracteres y el máximo es "
                    f"{format_number(MAX_REMARKS)}. No lo guardé: resúmelo y envíalo de "
                    "nuevo."), None
        case conv.Stale():
            return ("Esa pregunta ya no está vigente; no cambié nada. Usa /reportar o "
                    "/corregir para continuar."), None
        case conv.Cancelled(had_flow=had_flow):
            if had_flow:
                return "Listo, terminé la captura. Lo que ya confirmaste quedó guardado.", None
            return "No había ninguna captura en curso.", None
        case conv.NoFlow():
            return _status_text(screen), None
        case conv.NotForRole(command=command):
            return (f"/{command} es para coordinadores. Usa /ayuda para ver tus comandos."), None
        case conv.PendingList(units=units):
            return _pending_text(units), None
        case conv.Duplicate():
            return None
        case batch_flow.AskValues():
            buttons = [[("Ver descripciones", callback_data(
                "r", "desc", screen.unit.clave, screen.period.code))]]
            return short_cards_text(screen), keyboard(buttons)
        case batch_flow.ConfirmBatch():
            return batch_table_text(screen), keyboard([
                [("Sí, guardar", callback_data("r", "bt", "ok")),
                 ("Corregir", callback_data("r", "bt", "fix"))],
                [("Sí, con observaciones", callback_data("r", "bt", "obs"))]])
        case batch_flow.BatchSaved(saved=saved, questions=questions):
            return (f"✅ Guardé {saved} valor{'' if saved == 1 else 'es'}. "
                    f"Falta{'' if questions == 1 else 'n'} {questions} "
                    f"pregunta{'' if questions == 1 else 's'}:"), None
        case batch_flow.Descriptions(cards=cards):
            return descriptions_text(cards), None
        case flow_state.ValueNoted(card=card, value=value, note=note):
            return saved_text(value, card, note, named=True), None
        case batch_flow.RemarksNoted(card=card, text=text):
            return f"📝 {esc(card.name)}: «{esc(shorten(text, 80))}»", None
        case justification_step.AskJustification():
            return justification_prompt(screen), None
        case justification_step.Justified(card=card, text=text):
            return f"📝 Justificación de {esc(card.name)}: «{esc(shorten(text, 80))}»", None
    raise TypeError(f"unknown screen {screen!r}")


def _status_text(screen: conv.NoFlow) -> str:
    """Free text outside a flow: what the person still owes and until when."""
    head = (f"No guardé «{esc(screen.ignored_figure)}»: no te estaba pidiendo ningún valor.\n"
            if screen.ignored_figure else "")
    if screen.pending is None:
        return head + "No estoy esperando ningún dato ahora. Usa /ayuda para ver tus comandos."
    return head + _owed_text(screen)


def _owed_text(screen: conv.NoFlow) -> str:
    owed = [(entry.unit, period, names) for entry in screen.pending.units
            for period, names in entry.periods]
    # A value whose ficha requires evidence is still owed until it has some (/pendientes
    # lists them too): never "al día" while one lacks it.
    lacking = sum(len(names) for entry in screen.pending.units for _p, names in entry.evidence)
    evidence = (f"{'Falta' if lacking == 1 else 'Faltan'} la evidencia obligatoria de {lacking} "
                f"valor{'' if lacking == 1 else 'es'}: envíala con /evidencia."
                if lacking else "")
    if not owed:
        return evidence or "Estás al día: no tienes indicadores pendientes en periodos abiertos. ✅"
    count = sum(len(names) for _u, _p, names in owed)
    lines = [f"Te {'falta' if count == 1 else 'faltan'} "
             f"{count} indicador{'' if count == 1 else 'es'}:"]
    lines += [f"• {esc(unit.clave)} {esc(unit.nombre)} · {period.label}: {len(names)}"
              for unit, period, names in owed]
    until = long_date(screen.accepted_until)
    lines.append(f"El plazo ya venció; se reciben hasta el {until} y quedan como tardíos."
                 if screen.late else f"Se reciben hasta el {until}.")
    lines.append("Escribe /reportar para capturarlos.")
    if evidence:
        lines.append(evidence)
    return "\n".join(lines)


def _pending_text(units: tuple[conv.PendingUnit, ...]) -> str:
    lines = ["<b>Tus pendientes</b>"]
    anything = False
    for entry in units:
        lines.append(f"\n<b>{esc(entry.unit.clave)} {esc(entry.unit.nombre)}</b>")
        if not entry.periods and not entry.evidence:
            lines.append("Nada pendiente en periodos abiertos ✅")
        for period, names in entry.periods:
            anything = True
            lines.append(f"{period.label}: {len(names)} por reportar")
            lines.extend(f"  • {esc(name)}" for name in names)
        for period, names in entry.evidence:  # handlers/evidence.py
            lines.append(f"{period.label}: {len(names)} sin la evidencia obligatoria")
            lines.extend(f"  • 📎 {esc(name)}" for name in names)
    if anything:
        lines.append("\nUsa /reportar para capturarlos.")
    if any(entry.evidence for entry in units):
        lines.append("Usa /evidencia para enviar fotos o documentos.")
    return "\n".join(lines)


# One-line echoes of what was just kept: they head the next message instead of being a
# message of their own (one message to read, one send less on every remark).
ECHOES = (batch_flow.RemarksNoted, justification_step.Justified,
          flow_state.ValueNoted)


async def show(update: Update, context: CallbackContext, screens: list, person) -> None:
    prefix = ""
    for index, screen in enumerate(screens):
        if isinstance(screen, conv.Resume):
            prefix += "<i>Seguimos donde te quedaste:</i>\n"
            continue
        rendered = render(screen, person)
        if rendered is None:
            continue
        text, markup = rendered
        if isinstance(screen, ECHOES) and index < len(screens) - 1:
            prefix += text + "\n\n"
            continue
        if isinstance(screen, conv.Summary):  # approval branch: «Enviar a revisión»
            text, markup = approval_handlers.offer_on_summary(context, screen, text, markup)
        await reply_html(update, context, prefix + text, markup)
        prefix = ""
    if prefix.strip():  # an echo whose next screen rendered nothing
        await reply_html(update, context, prefix.strip())


# --- plumbing -------------------------------------------------------------------------------

def _turn(update: Update, context: CallbackContext, person) -> conv.Turn:
    ctx = app_context(context)
    # acting(): a stand-in reports the units they cover too (approval branch).
    return conv.Turn(person=person.acting(), chat_id=update.effective_user.id,
                     update_id=update.update_id, now=ctx.clock(),
                     calendar=ReportingCalendar.from_settings(ctx.settings),
                     bands=Bands(green=ctx.settings.poa_band_green,
                                 yellow=ctx.settings.poa_band_yellow))


async def _step(update: Update, context: CallbackContext, fn, *args) -> list:
    person = await require_person(update, context)
    screens = await app_context(context).db.run(fn, _turn(update, context, person), *args)
    await show(update, context, screens, person)
    return screens


async def reportar(update: Update, context: CallbackContext) -> None:
    await _step(update, context, conv.start_report)


async def corregir(update: Update, context: CallbackContext) -> None:
    await _step(update, context, conv.start_correct)


async def cancelar(update: Update, context: CallbackContext) -> None:
    await _step(update, context, conv.cancel)


async def pendientes(update: Update, context: CallbackContext) -> None:
    await _step(update, context, conv.pending_list)


async def text_message(update: Update, context: CallbackContext) -> None:
    await _step(update, context, conv.on_text, update.message.text)


async def other_message(update: Update, context: CallbackContext) -> None:
    """Photos, stickers, voice...: say what is understood, then where they were."""
    person = await require_person(update, context)
    await reply_html(update, context, "Solo puedo leer texto: escribe el valor con números.")
    screens = await app_context(context).db.run(conv.remind, _turn(update, context, person))
    await show(update, context, screens, person)


FORWARDED_TEXT = ("No leo los mensajes reenviados como cifras ni observaciones: no guardé "
                  "nada. Escribe tú el valor.")


async def forwarded_message(update: Update, context: CallbackContext) -> None:
    """A forwarded text is someone else's words, not this person's figure: nothing is read
    from it; the pending question is asked again."""
    person = await require_person(update, context)
    await reply_html(update, context, FORWARDED_TEXT)
    screens = await app_context(context).db.run(conv.remind, _turn(update, context, person))
    await show(update, context, screens, person)


async def button(update: Update, context: CallbackContext) -> None:
    person = await require_person(update, context)
    data = update.callback_query.data
    flow = data.split(":", 1)[0]
    parts = parse_callback(data, flow) or []
    screens = await app_context(context).db.run(conv.on_button, _turn(update, context, person),
                                                flow, parts)
    if any(isinstance(s, conv.Stale) for s in screens):
        await answer_callback(update, STALE_BUTTON_TEXT, show_alert=True)
        return  # refused: nothing changed, nothing more to say
    if any(isinstance(s, conv.Duplicate) for s in screens):
        # Telegram re-delivered a press we already applied (a crash before confirming it):
        # it was answered and its buttons removed then; doing it again is refused by Telegram.
        return
    await answer_callback(update)
    if parts and parts[0] != "i":  # "Corregir N" buttons stay usable on the summary
        await remove_buttons(update, context)
    await show(update, context, screens, person)


def _command_name(text: str) -> str:
    return text.split()[0][1:].split("@")[0].lower() if text.startswith("/") else ""


KNOWN_COMMANDS = ({c.name for cs in menus.COMMANDS.values() for c in cs}
                  | {"start", "help", "ayuda"})


async def after_command(update: Update, context: CallbackContext) -> None:
    """Runs after any command: explain unknown ones; remind an open question."""
    name = _command_name(update.message.text or "")
    if name in FLOW_COMMANDS:
        return
    person = await current_person(update, context)
    if person is None:
        # Only a stranger's "/start <token>" gets past the guard, and the registration
        # handler has answered it: one line, not that answer plus the stranger's line.
        return
    if name not in KNOWN_COMMANDS:
        await reply_html(update, context,
                         f"No conozco el comando /{esc(name)}. Escribe /ayuda para ver los tuyos.")
    screens = await app_context(context).db.run(conv.remind, _turn(update, context, person))
    await show(update, context, screens, person)


def register(application: Application) -> None:
    new = filters.UpdateType.MESSAGE  # edits are answered (and stopped) in handlers.common
    application.add_handler(MessageHandler(new & filters.FORWARDED & filters.TEXT
                                           & ~filters.COMMAND, forwarded_message))
    application.add_handler(CommandHandler("reportar", reportar, filters=new))
    application.add_handler(CommandHandler("corregir", corregir, filters=new))
    application.add_handler(CommandHandler("cancelar", cancelar, filters=new))
    application.add_handler(CommandHandler("pendientes", pendientes, filters=new))
    application.add_handler(CallbackQueryHandler(button, pattern=r"^[rc]:"))
    application.add_handler(MessageHandler(new & filters.TEXT & ~filters.COMMAND, text_message))
    application.add_handler(MessageHandler(
        new & ~filters.TEXT & ~filters.StatusUpdate.ALL, other_message))
    application.add_handler(MessageHandler(new & filters.COMMAND, after_command),
                            group=REMIND_GROUP)
