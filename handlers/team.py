"""``/equipo`` (gerente): who answers for each unit, and changing it from the chat.

The list shows, per unit, its active coordinadores (units, last activity, whether the bot can
reach them) or "sin responsable", and who stands in for it today; then gerentes, planeación,
the stand-ins current and upcoming (who covers whom, until when), inactive people and unused
invitations. Its
buttons open a person (deactivate after a confirmation, reactivate, change units) or revoke an
invitation. The work is done by :mod:`bot.services.team`, which logs every change.

Buttons (prefix ``t``, all ≤ 64 bytes)::

    t:l              the list            t:p:<id>          a person
    t:d:<id>         ask to deactivate   t:dy:<id>         deactivate (confirmed)
    t:a:<id>         reactivate          t:u:<id>          the person's units
    t:+:<id>:<clave> add a unit          t:-:<id>:<clave>  remove a unit
    t:r:<invitation> revoke an invitation

Everything is checked on arrival: only an active gerente may press them (anyone else gets
the stale-button alert), ids must exist, claves must be units, and the service refuses what
is not allowed (the last active gerente cannot be deactivated) with a Spanish alert.

Also here: the last-seen mark. A handler in group :data:`SEEN_GROUP`, right after the
stranger guard, writes ``Person.last_seen_at`` at most once an hour per person (remembered
in memory, and the UPDATE itself is conditional), so activity costs no write per update.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from babel.dates import format_date
from sqlalchemy.exc import SQLAlchemyError
from telegram import BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    TypeHandler,
)

from bot.services import team, team_scope
from bot.services.team import Member, TeamError, TeamOverview
from handlers import menus
from handlers.common import (
    GUARD_GROUP,
    STALE_BUTTON_TEXT,
    answer_callback,
    app_context,
    callback_data,
    current_person,
    edit_or_keep,
    esc,
    keyboard,
    parse_callback,
    reply_html,
    require_person,
)
from handlers.html_chunks import MAX_MESSAGE
from handlers.reminders import covering_text
from handlers.stand_ins import stand_in_line
from storage.models import ROLE_COORDINADOR, ROLE_GERENTE

log = logging.getLogger(__name__)

PREFIX = "t"
SEEN_GROUP = GUARD_GROUP + 1
SEEN_KEY = "team_seen"  # bot_data: person id -> when we last wrote last_seen_at
GERENTES_ONLY = "Este comando es solo para gerentes."
LOCALE = "es_MX"
MAX_ID = 2**31 - 1  # database integer ids: a bigger forged number is simply unknown
ROLE_NAMES = {ROLE_GERENTE: "gerente", ROLE_COORDINADOR: "coordinador",
              "planeacion": "planeación"}


# --- rendering ---------------------------------------------------------------------------------

def _today(context: CallbackContext) -> date:
    ctx = app_context(context)
    return ctx.clock().astimezone(ctx.settings.timezone).date()


def _day(at: datetime | None, context: CallbackContext) -> str:
    if at is None:
        return "sin actividad registrada"
    local = at.astimezone(app_context(context).settings.timezone)
    return format_date(local, "d MMM y", locale=LOCALE)


def _reach(m: Member) -> str:
    if m.chat_id is None:
        return "sin chat"
    if m.unreachable_since is not None:
        return "🚫 bloqueó el bot"
    return "✅ recibe mensajes"


def _member_line(m: Member, context: CallbackContext, *, with_units: bool = True) -> str:
    units = f" ({esc(', '.join(m.unit_claves))})" if with_units and m.units else ""
    return (f"• {esc(m.label)}{units} · última actividad: {_day(m.last_activity, context)}"
            f" · {_reach(m)}")


def overview_screen(overview: TeamOverview, context: CallbackContext):
    lines = ["<b>Equipo</b>"]
    for unit in overview.units:
        lines.append(f"\n<b>{esc(unit.clave)} · {esc(unit.nombre)}</b>")
        if not unit.people:
            lines.append("⚠️ sin responsable")
        lines += [_member_line(m, context) for m in unit.people]
        lines += [f"↪ {covering_text(cover)}" for cover in unit.covering]
    if overview.without_units:
        lines.append("\n<b>Coordinadores sin unidad</b>")
        lines += [_member_line(m, context) for m in overview.without_units]
    lines.append("\n<b>Gerentes</b>")
    lines += [_member_line(m, context, with_units=False) for m in overview.gerentes]
    if overview.planeacion:
        lines.append("\n<b>Planeación / dirección</b> (todas las gerencias)")
        lines += [_member_line(m, context, with_units=False) for m in overview.planeacion]
    if overview.stand_ins:
        today = _today(context)
        lines.append("\n<b>Suplencias</b> (vigentes y próximas; /suplente)")
        lines += [stand_in_line(view, today) for view in overview.stand_ins]
    if overview.inactive:
        lines.append("\n<b>Sin acceso</b>")
        lines += [f"• {esc(m.label)} ({ROLE_NAMES.get(m.role, m.role)}"
                  + (f" · {esc(', '.join(m.unit_claves))}" if m.units else "") + ")"
                  for m in overview.inactive]
    if overview.invitations:
        lines.append("\n<b>Invitaciones sin usar</b>")
        for inv in overview.invitations:
            who = ("gerente" if inv.role == ROLE_GERENTE
                   else f"coordinador de {', '.join(inv.unit_claves)}")
            name = f" · {inv.name}" if inv.name else ""
            lines.append(f"• {esc(who)}{esc(name)} · vence el {_day(inv.expires_at, context)}")
    lines.append("\nToca una persona para desactivarla, reactivarla o cambiar sus unidades.")

    people = {m.id: m for unit in overview.units for m in unit.people}
    managed = overview.planeacion if overview.manages_planeacion else ()
    for m in (*overview.without_units, *overview.gerentes, *managed, *overview.inactive):
        people.setdefault(m.id, m)
    buttons = [(("👤 " if m.active else "💤 ") + m.label[:40],
                callback_data(PREFIX, "p", m.id)) for m in people.values()]
    buttons += [(f"✖ Revocar invitación {', '.join(inv.unit_claves) or 'gerente'}"[:60],
                 callback_data(PREFIX, "r", inv.id)) for inv in overview.invitations]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    return "\n".join(lines), keyboard(rows) if rows else None


def person_screen(m: Member, context: CallbackContext, note: str = ""):
    lines = [f"<b>{esc(m.label)}</b> · {ROLE_NAMES.get(m.role, m.role)}"]
    if m.role == ROLE_COORDINADOR:
        units = ", ".join(f"{u.clave} {u.nombre}" for u in m.units) or "ninguna"
        lines.append(f"Unidades: {esc(units)}")
    lines.append(f"Última actividad: {_day(m.last_activity, context)}")
    lines.append("Estado: " + (f"con acceso · {_reach(m)}" if m.active else
                               "sin acceso (no puede usar el bot ni recibe recordatorios)"))
    if note:
        lines += ["", note]
    if m.active:
        rows = [[("Desactivar", callback_data(PREFIX, "d", m.id))]]
        if m.role == ROLE_COORDINADOR:
            rows[0].insert(0, ("Cambiar unidades", callback_data(PREFIX, "u", m.id)))
    else:
        rows = [[("Reactivar", callback_data(PREFIX, "a", m.id))]]
    rows.append([("◀ Equipo", callback_data(PREFIX, "l"))])
    return "\n".join(lines), keyboard(rows)


def confirm_screen(m: Member):
    text = (f"¿Desactivar a <b>{esc(m.label)}</b>?\n"
            "Desde ahora no podrá usar el bot ni recibirá recordatorios. Sus cifras quedan "
            "guardadas con su nombre y puedes reactivarlo después.")
    return text, keyboard([[("Sí, desactivar", callback_data(PREFIX, "dy", m.id)),
                            ("No", callback_data(PREFIX, "p", m.id))]])


def units_screen(m: Member, all_units, note: str = ""):
    mine = set(m.unit_claves)
    text = (f"<b>Unidades de {esc(m.label)}</b>\n"
            "Toca una unidad para agregarla (✓ = asignada) o quitarla. El cambio vale al "
            "momento: recordatorios y permisos siguen a la unidad.")
    if note:
        text += f"\n\n{note}"
    rows = [[((f"✓ {u.clave} {u.nombre}" if u.clave in mine else f"{u.clave} {u.nombre}")[:60],
              callback_data(PREFIX, "-" if u.clave in mine else "+", m.id, u.clave))]
            for u in all_units]
    rows.append([("◀ Listo", callback_data(PREFIX, "p", m.id))])
    return text, keyboard(rows)


# --- handlers ----------------------------------------------------------------------------------

async def equipo(update: Update, context: CallbackContext) -> None:
    person = await require_person(update, context)
    if not person.is_gerente:
        await reply_html(update, context, GERENTES_ONLY)
        return
    ctx = app_context(context)
    overview = await ctx.db.run(team_scope.team_overview, person, ctx.clock(), _today(context))
    text, markup = overview_screen(overview, context)
    await reply_html(update, context, text, markup)


async def _show_overview(update: Update, context: CallbackContext) -> None:
    """The list in place of the pressed message, or as new messages when it outgrew one."""
    ctx = app_context(context)
    person = await require_person(update, context)
    text, markup = overview_screen(
        await ctx.db.run(team_scope.team_overview, person, ctx.clock(), _today(context)),
        context)
    if len(text) <= MAX_MESSAGE:
        await edit_or_keep(update, text, markup, context)
    else:
        await reply_html(update, context, text, markup)


def _id(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID else None


async def _stale(update: Update) -> None:
    await answer_callback(update, STALE_BUTTON_TEXT, show_alert=True)


async def _set_menu(context: CallbackContext, m: Member) -> None:
    """Best effort: a deactivated person sees the stranger's menu, a reactivated one theirs."""
    if m.chat_id is None:
        return
    try:
        if m.active:
            await menus.apply_menu(
                context.application, m.chat_id, m.role,
                approval_required=app_context(context).settings.poa_approval_required)
        else:
            async with menus.chat_menu_lock(context.application, m.chat_id):
                await context.bot.delete_my_commands(scope=BotCommandScopeChat(m.chat_id))
    except TelegramError:
        log.info("could not update the menu of person %s", m.id)


async def button(update: Update, context: CallbackContext) -> None:
    person = await require_person(update, context)
    parts = parse_callback(update.callback_query.data, PREFIX) or []
    if not person.is_gerente or not parts:
        await _stale(update)
        return
    ctx = app_context(context)
    action, args = parts[0], parts[1:]
    if action == "l" and not args:
        await answer_callback(update)
        await _show_overview(update, context)
        return
    target = _id(args[0]) if args else None
    if target is None or len(args) != (2 if action in ("+", "-") else 1):
        await _stale(update)
        return
    # With several gerencias, a gerente's buttons reach only their gerencia (team_scope).
    if not await ctx.db.run(team_scope.may_manage, person, ctx.clock(),
                            person_id=None if action == "r" else target,
                            invitation_id=target if action == "r" else None,
                            clave=args[1] if action in ("+", "-") else None):
        await _stale(update)
        return
    if action == "r":
        try:
            await ctx.db.run(team.revoke_invitation, target, actor_id=person.id,
                             now=ctx.clock())
        except TeamError as error:
            await answer_callback(update, str(error), show_alert=True)
        else:
            await answer_callback(update, "Invitación revocada: ya no sirve.")
        await _show_overview(update, context)
        return
    m = await ctx.db.run(team.member, target)
    if m is None:  # a forged id, or a person who never existed
        await _stale(update)
        return
    now = ctx.clock()
    try:
        if action == "p":
            await answer_callback(update)
            await edit_or_keep(update, *person_screen(m, context), context)
        elif action == "d" and m.active:
            await answer_callback(update)
            await edit_or_keep(update, *confirm_screen(m), context)
        elif action == "dy":
            m = await ctx.db.run(team.deactivate, target, actor_id=person.id, now=now)
            log.info("person %s deactivated by %s", target, person.id)
            await answer_callback(update, "Acceso desactivado.")
            await edit_or_keep(update, *person_screen(
                m, context, f"Desactivaste a {esc(m.label)}."), context)
            await _set_menu(context, m)
        elif action == "a":
            m = await ctx.db.run(team.activate, target, actor_id=person.id, now=now)
            log.info("person %s reactivated by %s", target, person.id)
            await answer_callback(update, "Acceso reactivado.")
            await edit_or_keep(update, *person_screen(
                m, context, f"Reactivaste a {esc(m.label)}."), context)
            await _set_menu(context, m)
        elif action == "u" and m.active and m.role == ROLE_COORDINADOR:
            await answer_callback(update)
            units = await ctx.db.run(team_scope.known_units, person)
            await edit_or_keep(update, *units_screen(m, units), context)
        elif action in ("+", "-") and m.active and m.role == ROLE_COORDINADOR:
            change = team.add_unit if action == "+" else team.remove_unit
            m = await ctx.db.run(change, target, args[1], actor_id=person.id, now=now)
            await answer_callback(update, "Unidades actualizadas.")
            units = await ctx.db.run(team_scope.known_units, person)
            await edit_or_keep(update, *units_screen(m, units), context)
        else:  # e.g. deactivating someone already inactive from an old message
            await _stale(update)
    except TeamError as error:
        await answer_callback(update, str(error), show_alert=True)


async def mark_seen(update: Update, context: CallbackContext) -> None:
    """Last-seen mark, at most one write an hour per person (see the module docstring)."""
    person = await current_person(update, context)
    if person is None:
        return
    ctx = app_context(context)
    now = ctx.clock()
    seen = context.application.bot_data.setdefault(SEEN_KEY, {})
    last = seen.get(person.id)
    if last is not None and now - last < team.SEEN_RESOLUTION:
        return
    try:
        await ctx.db.run(team.touch, person.id, now)
    except SQLAlchemyError:  # a mark is not worth an apology: the update goes on
        log.warning("could not record that person %s was seen", person.id, exc_info=True)
        return
    seen[person.id] = now


def register(application: Application) -> None:
    application.add_handler(TypeHandler(Update, mark_seen), group=SEEN_GROUP)
    application.add_handler(CommandHandler("equipo", equipo))
    application.add_handler(CallbackQueryHandler(button, pattern=rf"^{PREFIX}:"))
