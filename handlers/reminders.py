"""Reminders, escalation and period locks in the chat.

(One file past 400 lines on purpose: the jobs' renderer and the gerente commands share the
same Spanish formatting helpers, which ``handlers.team`` also reuses.)

* The JobQueue jobs (see :mod:`bot.scheduler`): a start-up catch-up and a tick every minute.
* ``/recordatorios`` (gerente): the calendar, the next sends and who owes what now.
* ``/recordar [periodo]`` (gerente): remind now; nobody twice in a day.
* ``/reabrir periodo [unidad]`` and ``/cerrar periodo [unidad]`` (gerente): locks, logged.
* The reminder's buttons are the report flow's own ``r:p:<unidad>:<periodo>`` buttons, so a
  tap starts ``/reportar`` on that unit and period (``handlers.reporting`` validates it).

Coordinadores get a polite refusal for gerente commands; strangers never get here (the
guard in :mod:`handlers.common` answers them).
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from babel.dates import format_date
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackContext, CommandHandler

from bot.clock import FrozenClock
from bot.domain.calendar import ESCALATION, ReportingCalendar
from bot.domain.periods import Period, PeriodError, parse_period
from bot.scheduler import ReminderScheduler, scheduler_of
from bot.services import approval, locks, pending, reminders, scope
from bot.services.reminders import Delivery, EscalationItem, ReminderItem, UnreachablePerson
from handlers.common import (
    app_context,
    callback_data,
    esc,
    keyboard,
    reply_html,
    require_person,
    send_html,
)

log = logging.getLogger(__name__)

REPORT_FLOW = "r"  # handlers.reporting's callback prefix for the report flow
GERENTES_ONLY = "Este comando es solo para gerentes."
LOCALE = "es_MX"
HEARTBEAT_WITH_FROZEN_CLOCK = False  # tests of the jobs themselves switch it on


# --- formatting -------------------------------------------------------------------------------

def long_date(day: date) -> str:
    """``miércoles 5 de abril``."""
    return format_date(day, "EEEE d 'de' MMMM", locale=LOCALE)


def short_date(day: date) -> str:
    """``5 de abril de 2023``."""
    return format_date(day, "d 'de' MMMM 'de' y", locale=LOCALE)


def plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"  # es-MX: 3,000


def units_text(units: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{esc(clave)} {esc(nombre)}".strip() for clave, nombre in units)


def covering_text(cover: tuple[str, str, date]) -> str:
    """``suple: Beto (por Ana, hasta el 5 de abril)``: who covers a unit today."""
    stand_in, absent, ends = cover
    day = format_date(ends, "d 'de' MMMM", locale=LOCALE)
    return f"suple: {esc(stand_in)} (por {esc(absent)}, hasta el {day})"


def report_buttons(item: ReminderItem) -> list[tuple[str, str]]:
    """The reporting flow's own "this unit, this period" button (``r:p:<clave>:<period>``,
    handled and validated by ``handlers.reporting``): pressing it asks the first pending
    value at once. One per unit when the person has several."""
    several = len(item.units) > 1
    return [(f"Reportar {item.period.label}" + (f" · {clave}" if several else ""),
             callback_data(REPORT_FLOW, "p", clave, item.period.code))
            for clave, _nombre in item.units]


class SpanishRenderer:
    """Messages of reminders, escalations and unreachable notices (HTML, all text escaped)."""

    def __init__(self, calendar: ReportingCalendar):
        self.calendar = calendar

    def delivery(self, delivery: Delivery, now: datetime
                 ) -> tuple[str, InlineKeyboardMarkup | None]:
        if delivery.kind == ESCALATION:
            return self.escalation(delivery, now), None
        return self.reminder(delivery, now)

    def reminder(self, delivery: Delivery, now: datetime) -> tuple[str, InlineKeyboardMarkup]:
        items: list[ReminderItem] = list(delivery.items)  # type: ignore[arg-type]
        today = self.calendar.today(now)
        title = "Último recordatorio POA" if delivery.is_last_reminder else "Recordatorio POA"
        hello = f"Hola, {esc(delivery.name)}. " if delivery.name else ""
        lines = [f"<b>{title}</b>", f"{hello}Tienes indicadores pendientes de reportar:"]
        for item in items:
            count = plural(item.pending_count, "indicador pendiente", "indicadores pendientes")
            lines.append(f"• <b>{esc(item.period.label)}</b> — {units_text(item.units)}: "
                         f"{count}")
        deadlines = sorted({item.deadline for item in items})
        if deadlines[0] == today:
            lines.append("\n⚠️ <b>Hoy es el último día</b> para reportar.")
        elif deadlines[0] < today:
            lines.append(f"\nEl plazo venció el {long_date(deadlines[0])}; lo que reportes se "
                         "marcará como tardío.")
        else:
            last = " Este es el último recordatorio." if delivery.is_last_reminder else ""
            lines.append(f"\nEl plazo vence el {long_date(deadlines[0])}.{last}")
        lines.append("Toca el botón o escribe /reportar.")
        markup = keyboard([[button] for item in items for button in report_buttons(item)])
        return "\n".join(lines), markup

    def escalation(self, delivery: Delivery, now: datetime) -> str:
        blocks = [self.escalation_item(item, now)
                  for item in delivery.items]  # type: ignore[arg-type]
        if delivery.covering_for:
            whom = "; ".join(f"{esc(name)} (hasta el {long_date(ends)})"
                             for name, ends in delivery.covering_for)
            blocks.insert(0, f"👥 Como suplente de {whom}, este aviso incluye sus unidades.")
        return "\n\n".join(blocks)

    def escalation_item(self, item: EscalationItem, now: datetime) -> str:
        period = item.period
        deadline = self.calendar.deadline(period)
        # An escalation day configured on or before the deadline day is possible.
        verb = "venció" if self.calendar.is_late(period, now) else "vence"
        if not item.units:
            return (f"✅ <b>{esc(period.label)}</b>: todas las unidades reportaron sus "
                    f"indicadores (el plazo {verb} el {long_date(deadline)}).")
        missing = sum(len(u.missing) for u in item.units)
        lines = [f"<b>Indicadores sin reportar — {esc(period.label)}</b>",
                 f"El plazo {verb} el {long_date(deadline)}. Faltan "
                 f"{plural(missing, 'indicador', 'indicadores')} de "
                 f"{plural(len(item.units), 'unidad', 'unidades')}:"]
        for unit in item.units:
            who = (f"responsable: {esc(', '.join(unit.responsible))}" if unit.responsible
                   else "sin responsable registrado")
            lines.append(f"\n<b>{esc(unit.clave)} {esc(unit.nombre)}</b> — {who}")
            lines.extend(f"  ↪ {covering_text(cover)}" for cover in unit.covering)
            lines.extend(f"  • {esc(name)}" for name in unit.missing)
            if unit.unreachable:
                lines.append(f"  ⚠️ {esc(', '.join(unit.unreachable))}: bloqueó el bot y no "
                             "recibe recordatorios.")
        if now >= item.closes_at:
            lines.append(f"\nPara aceptar valores tardíos: <code>/reabrir {esc(period.code)} "
                         "[unidad]</code>.")
        return "\n".join(lines)

    def unreachable_notice(self, people: list[UnreachablePerson]) -> str:
        lines = ["⚠️ <b>No pude entregar recordatorios</b> a estas personas porque bloquearon "
                 "el bot:"]
        for person in people:
            units = f" ({esc(', '.join(person.units))})" if person.units else ""
            lines.append(f"• {esc(person.name)}{units}")
        lines.append("Pídeles que abran de nuevo el chat con el bot y toquen «Iniciar».")
        return "\n".join(lines)


# --- gerente commands -------------------------------------------------------------------------

async def _require_gerente(update: Update, context: CallbackContext):
    person = await require_person(update, context)
    if not person.is_gerente:
        await reply_html(update, context, GERENTES_ONLY)
        return None
    return person


def _calendar(context: CallbackContext) -> ReportingCalendar:
    return ReportingCalendar.from_settings(app_context(context).settings)


def _parse_period_arg(text: str, context: CallbackContext) -> Period:
    ctx = app_context(context)
    return parse_period(text, default_year=_calendar(context).today(ctx.clock()).year)


PERIOD_HELP = ("Escribe el periodo como <code>2023-03</code>, <code>marzo 2023</code>, "
               "<code>2023-T1</code> o <code>2023-S1</code>.")


def calendar_text(calendar: ReportingCalendar, settings, now: datetime) -> str:
    days = ", ".join(str(d) for d in calendar.reminder_days)
    grace = ("los periodos cierran al terminar el día del plazo" if calendar.grace_days == 0
             else f"se aceptan valores tardíos {plural(calendar.grace_days, 'día', 'días')} "
                  "más")
    lines = [f"<b>Calendario de captura</b> ({esc(settings.poa_timezone)})",
             f"Plazo: día {calendar.deadline_day} del mes siguiente al periodo"
             + (" (si cae en fin de semana o día festivo, el siguiente día hábil)"
                if calendar.business_days.shift else "") + f"; {grace}.",
             f"Recordatorios: días {days} a las {calendar.reminder_time:%H:%M}; aviso a gerencia "
             f"el día {calendar.escalation_day}.",
             "", "<b>Próximos envíos</b>"]
    for stage in calendar.upcoming_stages(now, count=4):
        kind = "aviso a gerencia" if stage.kind == ESCALATION else "recordatorio"
        lines.append(f"• {long_date(stage.local_date)}, {stage.at:%H:%M} — {kind}")
    return "\n".join(lines)


def overview_text(overview: list[reminders.OpenPeriod], today: date) -> str:
    if not overview:
        return "<b>Periodos abiertos</b>\nNo hay periodos abiertos para captura en este momento."
    lines = ["<b>Periodos abiertos y pendientes</b>"]
    for item in overview:
        note = " (reabierto)" if item.reopened else ""
        verb = "vence" if item.deadline >= today else "venció"
        lines.append(f"\n<b>{esc(item.period.label)}</b>{note} — {verb} el "
                     f"{long_date(item.deadline)}")
        if not item.missing:
            lines.append("  ✅ Todo reportado.")
        for unit in item.missing:
            who = esc(", ".join(unit.responsible)) if unit.responsible else "sin responsable"
            covers = "".join(f" · {covering_text(cover)}" for cover in unit.covering)
            lines.append(f"  • {esc(unit.clave)} {esc(unit.nombre)}: "
                         f"{plural(len(unit.missing), 'pendiente', 'pendientes')} — {who}"
                         f"{covers}")
    return "\n".join(lines)


def _scoped_overview(session, person, now, calendar):
    """/recordatorios' open periods with only the units the person reaches."""
    claves = scope.visible_claves(session, person)
    return [reminders.only_units(item, claves)
            for item in reminders.open_overview(session, now, calendar)]


async def recordatorios(update: Update, context: CallbackContext) -> None:
    if (person := await _require_gerente(update, context)) is None:
        return
    ctx = app_context(context)
    calendar, now = _calendar(context), ctx.clock()
    overview = await ctx.db.run(_scoped_overview, person, now, calendar)
    await reply_html(update, context, calendar_text(calendar, ctx.settings, now) + "\n\n"
                     + overview_text(overview, calendar.today(now)))


async def recordar(update: Update, context: CallbackContext) -> None:
    if (person := await _require_gerente(update, context)) is None:
        return
    ctx = app_context(context)
    period = None
    if context.args:
        try:
            period = _parse_period_arg(" ".join(context.args), context)
        except PeriodError:
            await reply_html(update, context, f"No reconozco ese periodo. {PERIOD_HELP}")
            return
        open_for_someone = await ctx.db.run(
            lambda s: period in pending.candidate_periods(s, ctx.clock(), _calendar(context)))
        if not open_for_someone:
            await reply_html(update, context,
                             f"{esc(period.label)} no está abierto para captura. Para "
                             f"reabrirlo: <code>/reabrir {esc(period.code)}</code>.")
            return
    claves = await ctx.db.run(scope.visible_claves, person)
    result = await scheduler_of(context.application).remind_now(context.bot, period,
                                                                unit_claves=claves)
    overview = await ctx.db.run(_scoped_overview, person, ctx.clock(), _calendar(context))
    unattended = {(u.clave, u.nombre) for item in overview
                  if period is None or item.period == period
                  for u in item.missing if not u.responsible}
    await reply_html(update, context, manual_result_text(result, sorted(unattended)))


NAMES_SHOWN = 20  # a state-wide /recordar reaches thousands: one message, not fourteen


def _some(names: list[str]) -> str:
    """Up to NAMES_SHOWN names, then how many more."""
    if len(names) <= NAMES_SHOWN:
        return ", ".join(names)
    return f"{', '.join(names[:NAMES_SHOWN])} y {len(names) - NAMES_SHOWN:,} más"


def manual_result_text(result, unattended: list[tuple[str, str]] = ()) -> str:
    """What /recordar did: to whom it sent, who was skipped, and which pending units have
    nobody to remind."""
    nobody = ("" if not unattended else
              "\nSin responsable a quien recordar: "
              + esc(_some([f"{clave} {nombre}" for clave, nombre in unattended]))
              + ". Invita a alguien con /invitar.")
    if result.planned == 0 and result.skipped_today == 0:
        if unattended:
            return "No hay a quién enviar recordatorios." + nobody
        return "Nadie tiene indicadores pendientes en los periodos abiertos: no envié nada."
    names = f": {esc(_some(result.sent_to))}" if result.sent_to else ""
    lines = [f"Envié {plural(result.sent, 'recordatorio', 'recordatorios')}{names}."]
    if result.skipped_today:
        lines.append(f"{plural(result.skipped_today, 'persona ya había', 'personas ya habían')}"
                     " recibido uno hoy: no se lo repetí.")
    if result.unreachable:
        lines.append(f"No pude entregar a: {esc(_some(result.unreachable))} (bloquearon "
                     "el bot).")
    if result.failed or result.rejected:
        lines.append(f"{plural(result.failed + result.rejected, 'envío falló', 'envíos fallaron')}"
                     "; lo reintentaré en el siguiente minuto.")
    if result.not_sent:
        left = plural(result.not_sent, "recordatorio", "recordatorios")
        lines.append(f"El bot se estaba apagando: quedaron {left} sin enviar. Cuando vuelva a "
                     "responder, envía /recordar de nuevo; nadie recibirá dos el mismo día.")
    return "\n".join(lines) + nobody


def _period_and_unit(args: list[str], context: CallbackContext
                     ) -> tuple[Period | None, str | None]:
    """``2023-03``, ``marzo 2023``, ``2023-03 303``, ``marzo 2023 303``: the whole text as a
    period first (so the year of "marzo 2023" is not taken for a unit), else the last word
    as the unit."""
    for period_words, unit in ((args, None), (args[:-1], args[-1])):
        if not period_words:
            continue
        try:
            return _parse_period_arg(" ".join(period_words), context), unit
        except PeriodError:
            continue
    return None, None


async def _lock_command(update: Update, context: CallbackContext, closed: bool) -> None:
    person = await _require_gerente(update, context)
    if person is None:
        return
    command = "cerrar" if closed else "reabrir"
    args = context.args or []
    if not args:
        await reply_html(update, context,
                         f"Indica el periodo y, si quieres, la unidad: <code>/{command} 2023-03"
                         f"</code> o <code>/{command} 2023-03 303</code>.")
        return
    period, unit = _period_and_unit(args, context)
    if period is None:
        await reply_html(update, context, f"No reconozco el periodo «{esc(' '.join(args))}». "
                                          f"{PERIOD_HELP}")
        return
    ctx = app_context(context)
    claves = await ctx.db.run(scope.visible_claves, person)
    if claves is not None and unit is not None and unit not in claves:
        await reply_html(update, context, "Solo puedes cambiar las unidades de tu gerencia: "
                                          f"{esc(', '.join(claves))}.")
        return
    if claves is not None and unit is None:  # several gerencias: the gerente's units only
        changes = await ctx.db.run(_lock_units, period, claves, closed, person.id, ctx.clock())
        if not changes:
            await reply_html(update, context, "Tu gerencia no tiene unidades.")
            return
        text = lock_text(changes[0], _calendar(context), ctx.clock())
        first = f"la unidad {esc(changes[0].unit_clave)} {esc(changes[0].unit_name)}"
        mine = plural(len(changes), "unidad", "unidades") + " de tu gerencia"
        text = text.replace(" (Ya estaba así.)", "")
        if not any(change.changed for change in changes):
            text = text.replace(" El cambio", " (Ya estaba así.) El cambio")
        await reply_html(update, context, text.replace(first, f"las {mine}"))
        return
    try:
        change = await ctx.db.run(approval.set_lock, period, unit, closed=closed,
                                  person_id=person.id, now=ctx.clock())
    except locks.UnknownUnitError:
        await reply_html(update, context, f"No existe la unidad {esc(unit)}.")
        return
    await reply_html(update, context, lock_text(change, _calendar(context), ctx.clock()))


def _lock_units(session, period, claves, closed, person_id, now):
    """A period closed or reopened for each unit of a gerente's gerencia (one transaction)."""
    return [approval.set_lock(session, period, clave, closed=closed, person_id=person_id,
                              now=now)
            for clave in claves]


def lock_text(change: locks.LockChange, calendar: ReportingCalendar, now: datetime) -> str:
    scope = ("todas las unidades" if change.unit_clave == locks.ALL_UNITS
             else f"la unidad {esc(change.unit_clave)} {esc(change.unit_name)}")
    label = esc(change.period.label)
    if change.closed:
        text = f"🔒 {label} quedó <b>cerrado</b> para {scope}: ya no acepta cambios."
    else:
        text = f"🔓 {label} quedó <b>reabierto</b> para {scope}."
        if not calendar.has_ended(change.period, now):
            text += " Aún no termina: podrá capturarse cuando termine."
        elif calendar.is_late(change.period, now):
            text += " Los valores que lleguen se marcarán como tardíos."
    if not change.changed:
        text += " (Ya estaba así.)"
    return text + " El cambio quedó registrado."


async def cerrar(update: Update, context: CallbackContext) -> None:
    await _lock_command(update, context, closed=True)


async def reabrir(update: Update, context: CallbackContext) -> None:
    await _lock_command(update, context, closed=False)


# --- registration -----------------------------------------------------------------------------

def register(application: Application) -> None:
    ctx = application.bot_data["poa"]
    calendar = ReportingCalendar.from_settings(ctx.settings)
    scheduler = ReminderScheduler(ctx.db, ctx.clock, calendar, SpanishRenderer(calendar),
                                  send_html)
    if isinstance(ctx.clock, FrozenClock) and not HEARTBEAT_WITH_FROZEN_CLOCK:
        # Time stands still unless the test moves it, so a real-time heartbeat would only
        # repeat the same instant (and surprise tests of other features with reminders).
        # Tests call ``scheduler_of(app).tick(bot)`` after moving their clock.
        scheduler.attach(application)
    else:
        scheduler.install(application)
    application.add_handler(CommandHandler("recordatorios", recordatorios))
    application.add_handler(CommandHandler("recordar", recordar))
    application.add_handler(CommandHandler("reabrir", reabrir))
    application.add_handler(CommandHandler("cerrar", cerrar))
