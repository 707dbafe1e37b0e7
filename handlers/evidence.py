"""``/evidencia``, the photos and documents sent as evidence, and the gerente's evidence
buttons of ``/resumen``'s unit detail.

* ``/evidencia`` (coordinadores): unit → period → indicator, with buttons; a single choice is
  made for the person. From then on (for two hours, see
  :data:`bot.services.evidence.INBOX_TTL`) each photo or document sent goes to that indicator
  and period. A file sent while the report flow asks for remarks (a value just confirmed)
  goes to that value. A flow can offer the choice as a button: ``ev:t:<indicator id>:<period
  code>`` (:func:`handlers.evidence_button.target_button`).
* A file is downloaded (``getFile`` + the file URL) into ``POA_EVIDENCE_DIR``, its sha256
  taken on the downloaded bytes, and recorded with ``file_id`` and ``file_unique_id``.
  Over the Bot API's 20 MB download limit (known from the message): a clear message and
  nothing stored; the same file again for the same indicator and period: stored once.
* ``/resumen`` → 🔎 unit: «📎 Evidencias» (``ev:l:<period>:<clave>``) lists the files per
  indicator; «📤 Reenviar evidencias» (``ev:s:<period>:<clave>``) sends them again by
  ``file_id`` (nothing is uploaded). Gerentes: every unit; coordinadores: their own.

Every button is re-validated on arrival (the person's units, a value for the period); anything
else is answered "Este botón ya no es válido." and changes nothing.

Why one file of ~430 lines: the ``ev:`` callback prefix is one handler whose actions (choose,
list, re-send) share the validation and the Spanish texts; the gerente's part is a third of it
and could move out if it grows.
"""

from __future__ import annotations

import contextlib
import logging
import os
from decimal import Decimal
from pathlib import Path

from sqlmodel import Session, select
from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.domain.calendar import ReportingCalendar
from bot.domain.numbers import format_number
from bot.domain.periods import Period
from bot.services import conversation as conv
from bot.services import evidence as ev
from bot.services.registration import PersonView
from handlers.common import (
    STALE_BUTTON_TEXT,
    answer_callback,
    app_context,
    callback_data,
    esc,
    keyboard,
    parse_callback,
    reply_html,
    require_person,
    shorten,
)
from handlers.evidence_button import PREFIX
from storage.models import Indicator, Unit

log = logging.getLogger(__name__)

PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600  # evidence is the utility's: owner only
LABEL_WIDTH = 48

NOT_FOR_GERENTE = ("Las evidencias las envían los coordinadores. Para verlas usa /resumen, "
                   "toca 🔎 en una unidad y luego «📎 Evidencias».")
NO_TARGET = ("No sé de qué indicador es este archivo, así que no lo guardé. Usa /evidencia "
             "para elegir el indicador y el periodo, y envíalo de nuevo.")


def size_text(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{format_number((Decimal(size) / 1024).quantize(Decimal('0.1')))} KB"
    return f"{format_number((Decimal(size) / (1024 * 1024)).quantize(Decimal('0.1')))} MB"


TOO_BIG = ("El archivo pesa {size} y Telegram solo deja al bot descargar archivos de hasta "
           "20 MB, así que no lo guardé. Envía una versión más ligera (un PDF comprimido, "
           "fotos de las páginas) o divídelo en varios archivos.")


def evidence_row(period_code: str, clave: str) -> list[tuple[str, str]]:
    """The «Evidencias» / «Reenviar» buttons of a unit's summary detail ([] if they do not
    fit in callback data)."""
    try:
        return [("📎 Evidencias", callback_data(PREFIX, "l", period_code, clave)),
                ("📤 Reenviar evidencias", callback_data(PREFIX, "s", period_code, clave))]
    except ValueError:
        return []


def _target_text(target: ev.Target, files: int) -> str:
    label = ev.period_of(target.period).label
    have = (f"Ya tiene {files} archivo{'s' if files != 1 else ''}." if files
            else ("Aún no tiene evidencia (es obligatoria)." if target.mandatory
                  else "Aún no tiene evidencia."))
    return (f"📎 Evidencia de <b>{esc(target.indicator)}</b> ({label}) · "
            f"{esc(target.unit_clave)} {esc(target.unit_nombre)}\n{have}\n"
            "Envía ahora las fotos o documentos (PDF, Excel, Word…), uno o varios, de hasta "
            "20 MB cada uno.")


# --- /evidencia and its buttons ---------------------------------------------------------------

async def evidencia(update: Update, context: CallbackContext) -> None:
    person = await require_person(update, context)
    if not person.is_coordinador:
        await reply_html(update, context, NOT_FOR_GERENTE)
        return
    units = person.units
    if not units:
        await reply_html(update, context, "No tienes unidades asignadas.")
        return
    if len(units) > 1:
        await reply_html(update, context, "¿De qué unidad es la evidencia?", keyboard(
            [[(f"{u.clave} {u.nombre}"[:60], callback_data(PREFIX, "u", u.clave))]
             for u in units]))
        return
    await _choose_period(update, context, person, units[0].clave)


async def _choose_period(update: Update, context: CallbackContext, person: PersonView,
                         clave: str) -> None:
    periods = await app_context(context).db.run(ev.periods_with_values, clave)
    if not periods:
        await reply_html(update, context,
                         f"La unidad {esc(clave)} aún no tiene valores capturados. La evidencia "
                         "acompaña a un valor: primero usa /reportar.")
        return
    if len(periods) == 1:
        await _choose_indicator(update, context, person, clave, periods[0])
        return
    await reply_html(update, context, f"<b>{esc(clave)}</b> · ¿De qué periodo es la evidencia?",
                     keyboard([[(p.label, callback_data(PREFIX, "p", clave, p.code))]
                               for p in periods]))


async def _choose_indicator(update: Update, context: CallbackContext, person: PersonView,
                            clave: str, period: Period) -> None:
    options = await app_context(context).db.run(ev.choices, person.id, clave, period)
    if not options:
        await reply_html(update, context, f"La unidad {esc(clave)} no tiene valores de "
                                          f"{period.label}. Primero usa /reportar.")
        return
    if len(options) == 1:
        await _set_target(update, context, person, options[0].target)
        return
    lines = [f"<b>{esc(clave)} · {period.label}</b>", "¿De qué indicador es la evidencia?"]
    buttons = []
    for number, option in enumerate(options, 1):
        mark = f" · 📎 {option.files}" if option.files else (
            " · ⚠️ obligatoria" if option.target.mandatory else "")
        lines.append(f"{number}. {esc(shorten(option.target.indicator))}{mark}")
        buttons.append([(f"{number}. {shorten(option.target.indicator, LABEL_WIDTH)}",
                         callback_data(PREFIX, "t", option.target.indicator_id, period.code))])
    await reply_html(update, context, "\n".join(lines), keyboard(buttons))


def _set_inbox(session: Session, chat_id: int, person_id: int, indicator_id: int,
               period_code: str, now) -> tuple[ev.Target, int] | None:
    target = ev.target_for(session, person_id, indicator_id, period_code)
    if target is None:
        return None
    ev.set_inbox(session, chat_id, person_id, target, now)
    return target, ev.count_for(session, target)


async def _set_target(update: Update, context: CallbackContext, person: PersonView,
                      target: ev.Target) -> bool:
    ctx = app_context(context)
    chosen = await ctx.db.run(_set_inbox, update.effective_user.id, person.id,
                              target.indicator_id, target.period, ctx.clock())
    if chosen is None:
        return False
    await reply_html(update, context, _target_text(*chosen))
    return True


async def on_button(update: Update, context: CallbackContext) -> None:
    person = await require_person(update, context)
    parts = parse_callback(update.callback_query.data, PREFIX) or []
    if parts[:1] in (["l"], ["s"]) and len(parts) == 3:
        await _evidence_of_unit(update, context, person, parts[0], parts[1], parts[2])
        return
    handled = person.is_coordinador and await _choice(update, context, person, parts)
    if not handled:
        await answer_callback(update, STALE_BUTTON_TEXT, show_alert=True)


async def _choice(update: Update, context: CallbackContext, person: PersonView,
                  parts: list[str]) -> bool:
    """A press of /evidencia's buttons; False (nothing done) when it is not valid."""
    if parts[:1] == ["u"] and len(parts) == 2 and parts[1] in person.unit_claves:
        await answer_callback(update)
        await _choose_period(update, context, person, parts[1])
        return True
    if parts[:1] == ["p"] and len(parts) == 3 and parts[1] in person.unit_claves:
        period = ev.period_of(parts[2])
        if period is None:
            return False
        await answer_callback(update)
        await _choose_indicator(update, context, person, parts[1], period)
        return True
    if parts[:1] == ["t"] and len(parts) == 3 and parts[1].isascii() and parts[1].isdigit():
        ctx = app_context(context)
        chosen = await ctx.db.run(_set_inbox, update.effective_user.id, person.id,
                                  int(parts[1]), parts[2], ctx.clock())
        if chosen is None:
            return False
        await answer_callback(update)
        await reply_html(update, context, _target_text(*chosen))
        return True
    return False


# --- receiving files --------------------------------------------------------------------------

def incoming_of(update: Update) -> ev.IncomingFile | None:
    message = update.message
    if message.document is not None:
        document = message.document
        return ev.IncomingFile(ev.DOCUMENT, document.file_id, document.file_unique_id,
                               document.file_name or f"documento-{document.file_unique_id}",
                               document.mime_type or "", document.file_size)
    if message.photo:
        photo = message.photo[-1]  # Telegram lists the sizes smallest first
        return ev.IncomingFile(ev.PHOTO, photo.file_id, photo.file_unique_id,
                               f"foto-{photo.file_unique_id}.jpg", "image/jpeg", photo.file_size)
    return None


async def on_file(update: Update, context: CallbackContext) -> None:
    person = await require_person(update, context)
    incoming = incoming_of(update)
    if incoming is None:
        return
    if not person.is_coordinador:
        await reply_html(update, context, NOT_FOR_GERENTE)
        return
    ctx = app_context(context)
    chat_id = update.effective_user.id
    target = await ctx.db.run(ev.current_target, chat_id, person.id, ctx.clock())
    if target is None:
        await reply_html(update, context, NO_TARGET)
        await _remind(update, context, person)
        return
    if incoming.too_big:
        await reply_html(update, context, TOO_BIG.format(size=size_text(incoming.size)))
        return
    if await ctx.db.run(ev.already_stored, target, incoming.file_unique_id):
        await reply_html(update, context, _duplicate_text(incoming, target))
        return
    relative = ev.relative_path(target, incoming)
    try:
        size, digest = await _download(context, incoming, ctx.settings.evidence_dir(), relative)
    except BadRequest as error:
        if "too big" not in error.message.lower():
            raise
        await reply_html(update, context, TOO_BIG.format(size="más de 20 MB"))
        return
    stored = await ctx.db.run(ev.store, chat_id, person.id, target, incoming, size, digest,
                              relative, ctx.clock())
    if stored is None:
        await reply_html(update, context, _duplicate_text(incoming, target))
        return
    count = await ctx.db.run(ev.count_for, target)
    log.info("evidence %s stored: indicator %s, period %s, person %s, %s bytes", stored,
             target.indicator_id, target.period, person.id, size)
    # A photo has no name of its own (the stored one is made up): «la foto».
    what = ("la foto" if incoming.kind == ev.PHOTO
            else f"<b>{esc(shorten(incoming.file_name, 60))}</b>")
    await reply_html(update, context,
                     f"📎 Guardé {what} ({size_text(size)}) como evidencia de "
                     f"<b>{esc(target.indicator)}</b> "
                     f"({ev.period_of(target.period).label}). "
                     f"Lleva {count} archivo{'s' if count != 1 else ''}; puedes enviar más.")


def _duplicate_text(incoming: ev.IncomingFile, target: ev.Target) -> str:
    return (f"Ese archivo ya estaba guardado como evidencia de <b>{esc(target.indicator)}</b> "
            f"({ev.period_of(target.period).label}); no lo guardé dos veces.")


async def _download(context: CallbackContext, incoming: ev.IncomingFile, folder: Path,
                    relative: str) -> tuple[int, str]:
    """Download to ``folder/relative`` (through a ``.part`` file, so a copy on disk is
    always whole); returns (size, sha256) of the bytes written."""
    telegram_file = await context.bot.get_file(incoming.file_id)
    destination = folder / relative
    folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    made = folder
    for part in Path(relative).parent.parts:  # each level private, not only the last
        made = made / part
        made.mkdir(exist_ok=True, mode=PRIVATE_DIR)
    partial = destination.with_name(destination.name + ".part")
    try:
        await telegram_file.download_to_drive(custom_path=partial)
        os.chmod(partial, PRIVATE_FILE)
        digest = ev.sha256_of(partial)
        size = partial.stat().st_size
        os.replace(partial, destination)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return size, digest


async def _remind(update: Update, context: CallbackContext, person: PersonView) -> None:
    """If the person was in the middle of a report, ask its question again."""
    from handlers.reporting import show  # the reporting screens' renderer

    ctx = app_context(context)
    turn = conv.Turn(person=person, chat_id=update.effective_user.id, update_id=None,
                     now=ctx.clock(), calendar=ReportingCalendar.from_settings(ctx.settings))
    await show(update, context, await ctx.db.run(conv.remind, turn), person)


# --- the gerente's list and re-send -----------------------------------------------------------

def _unit_exists(session: Session, clave: str) -> bool:
    return session.exec(select(Unit.id).where(Unit.clave == clave)).first() is not None


async def _evidence_of_unit(update: Update, context: CallbackContext, person: PersonView,
                            action: str, code: str, clave: str) -> None:
    ctx = app_context(context)
    period = ev.period_of(code)
    visible = (await ctx.db.run(_unit_exists, clave) if person.is_gerente
               else clave in person.unit_claves)
    if period is None or not visible:
        await answer_callback(update, STALE_BUTTON_TEXT, show_alert=True)
        return
    await answer_callback(update)
    found = await ctx.db.run(ev.items, period, [clave])
    if action == "l":
        lacking = await ctx.db.run(_lacking_names, period, clave)
        await reply_html(update, context, list_text(clave, period, found, lacking))
        return
    await _resend(update, context, clave, period, found)


def _lacking_names(session: Session, period: Period, clave: str) -> list[tuple[str, str]]:
    """(indicator, period code) of the unit whose mandatory evidence is missing."""
    names = {indicator.id: indicator.nombre for indicator in session.exec(
        select(Indicator).join(Unit, Unit.id == Indicator.unit_id)
        .where(Unit.clave == clave, Indicator.year == period.year))}
    pairs = ev.lacking_pairs(session, period.year, clave)
    return sorted((names[i], code) for i, code in pairs
                  if i in names and ev.ends_within(code, period))


def list_text(clave: str, period: Period, found: list[ev.Item],
              lacking: list[tuple[str, str]]) -> str:
    unit = f"{found[0].unit_clave} {found[0].unit_nombre}" if found else clave
    lines = [f"<b>📎 Evidencias · {esc(unit)} · {period.label}</b>"]
    if not found:
        lines.append("No hay evidencias de este periodo.")
    current = None
    for item in found:
        if (item.indicator_id, item.period) != current:
            current = (item.indicator_id, item.period)
            lines.append(f"\n<b>{esc(shorten(item.indicator))}</b> ({item.period})")
        row = item.evidence
        when = row.received_at.strftime("%d/%m/%Y")
        who = f" · {esc(shorten(item.sent_by, 40))}" if item.sent_by else ""
        lines.append(f"• {esc(shorten(row.file_name, 60))} · {size_text(row.size)}{who} · {when}")
    if lacking:
        lines.append("\n⚠️ <b>Sin la evidencia obligatoria:</b>")
        lines.extend(f"• {esc(shorten(name))} ({code})" for name, code in lacking)
    if found:
        lines.append("\n«📤 Reenviar evidencias» te las manda a este chat.")
    return "\n".join(lines)


async def _resend(update: Update, context: CallbackContext, clave: str, period: Period,
                  found: list[ev.Item]) -> None:
    chat_id = update.effective_chat.id if update.effective_chat else update.effective_user.id
    if not found:
        await reply_html(update, context,
                         f"No hay evidencias de {esc(clave)} en {period.label} para reenviar.")
        return
    sent = failed = 0
    for item in found[:ev.MAX_RESEND]:
        row = item.evidence
        caption = (f"{esc(item.unit_clave)} · {esc(shorten(item.indicator, 120))} "
                   f"({item.period}) · {esc(shorten(row.file_name, 80))}")
        try:
            if row.kind == ev.PHOTO:
                await context.bot.send_photo(chat_id, row.file_id, caption=caption,
                                             parse_mode=ParseMode.HTML)
            else:
                await context.bot.send_document(chat_id, row.file_id, caption=caption,
                                                parse_mode=ParseMode.HTML)
            sent += 1
        except BadRequest as error:  # a file_id Telegram no longer serves
            log.warning("evidence %s not re-sent: %s", row.id, error.message)
            failed += 1
    lines = [f"Reenvié {sent} evidencia{'s' if sent != 1 else ''} de {esc(clave)} "
             f"({period.label})."]
    if len(found) > ev.MAX_RESEND:
        lines.append(f"Hay {len(found) - ev.MAX_RESEND} más: están en el zip de "
                     f"<code>poa-bot export --period {period.code} --out ARCHIVO.zip</code>.")
    if failed:
        lines.append(f"{failed} ya no se pudieron enviar desde Telegram; su copia está en "
                     "la carpeta de evidencias del servidor.")
    await reply_html(update, context, "\n".join(lines))


def register(application: Application) -> None:
    # Before handlers.reporting's catch-all for non-text messages (same group 0).
    application.add_handler(CommandHandler("evidencia", evidencia,
                                           filters=filters.UpdateType.MESSAGE))
    application.add_handler(MessageHandler(
        filters.UpdateType.MESSAGE & (filters.PHOTO | filters.Document.ALL), on_file))
    application.add_handler(CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:"))
