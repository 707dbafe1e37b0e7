"""/start <token> (registration) and /invitar (a gerente invites someone from the chat)."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import (
    Application,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    filters,
)

from bot.services.registration import (
    CreatedInvitation,
    PersonView,
    RegistrationError,
    RoleChange,
    UnitView,
    create_invitation,
    redeem_invitation,
    redeem_or_ask,
)
from handlers import menus
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
)
from storage.models import ROLE_COORDINADOR, ROLE_GERENTE, ROLE_PLANEACION

log = logging.getLogger(__name__)


def greeting(person: PersonView) -> str:
    name = esc(person.name) if person.name else ""
    hello = f"¡Hola, {name}!" if name else "¡Hola!"
    if person.is_planeacion:
        body = ("Ya tienes acceso en <b>planeación</b>: puedes consultar /resumen de cada "
                "gerencia y exportar el reporte de una o de todas.")
    elif person.is_gerente:
        body = ("Ya tienes acceso como <b>gerente</b>: puedes consultar /resumen de las "
                "unidades de tu gerencia, exportar el reporte e invitar a responsables de "
                "unidad.")
    else:
        units = ", ".join(f"{esc(u.clave)} {esc(u.nombre)}" for u in person.units)
        body = (f"Ya tienes acceso como <b>responsable</b> de: {units}.\n"
                "Cuando termine un periodo te recordaré capturar tus indicadores con /reportar.")
    return f"{hello} {body}\n\nEscribe /ayuda para ver lo que puedo hacer."


def what(role: str, units: tuple[UnitView, ...]) -> str:
    """«<b>gerente</b>» or «<b>responsable</b> de 303 FACTURACION, 306 …» (gender-neutral:
    what the person has access as, not an adjective about them)."""
    if role == ROLE_GERENTE:
        return "<b>gerente</b>"
    if role == ROLE_PLANEACION:
        return "<b>planeación</b>"
    return "<b>responsable</b> de " + ", ".join(f"{esc(u.clave)} {esc(u.nombre)}" for u in units)


ROLE_LABELS = {ROLE_PLANEACION: "planeación", ROLE_COORDINADOR: "responsable de unidades"}


def change_question(change: RoleChange) -> str:
    current = change.current
    was = ROLE_LABELS.get(current.role, current.role)
    lines = [f"Ya tienes acceso como {what(current.role, current.units)}.",
             f"Esta invitación te daría acceso como {what(change.role, change.units)}"
             + (f" y ya no como {was}." if change.role != current.role else
                " de otra gerencia." if change.gerencia_id != current.gerencia_id else
                " en lugar de tus unidades actuales."),
             "¿Quieres cambiar? Si no, la invitación no se usa."]
    return "\n".join(lines)


# "reg:y:<token>" carries the token the person typed in this chat (32 characters), so the
# button proves what /start proved: knowing the invitation. Nothing is stored in between.
REGISTRATION_PREFIX = "reg"


async def start(update: Update, context: CallbackContext) -> None:
    ctx = app_context(context)
    token = context.args[0] if context.args else ""
    if not token:
        person = await require_person(update, context)  # strangers never get this far
        await reply_html(update, context, greeting(person))
        return
    user = update.effective_user
    try:
        outcome = await ctx.db.run(
            redeem_or_ask, token=token, telegram_user_id=user.id,
            chat_id=update.effective_chat.id, telegram_name=user.full_name, now=ctx.clock())
    except RegistrationError as error:
        await reply_html(update, context, esc(error))
        return
    if isinstance(outcome, RoleChange):
        await reply_html(update, context, change_question(outcome), keyboard([[
            ("Sí, cambiar", callback_data(REGISTRATION_PREFIX, "y", token)),
            ("No, conservar mi rol", callback_data(REGISTRATION_PREFIX, "n"))]]))
        return
    await _registered(update, context, outcome[0])


async def _registered(update: Update, context: CallbackContext, person: PersonView) -> None:
    log.info("person %s registered as %s", person.id, person.role)
    await reply_html(update, context, greeting(person))
    # Set even when the role is unchanged: cheap, and it repairs a menu Telegram lost.
    ctx = app_context(context)
    await menus.apply_menu(context.application, update.effective_user.id, person.role,
                           approval_required=ctx.settings.poa_approval_required, db=ctx.db,
                           now=ctx.clock())


async def change_button(update: Update, context: CallbackContext) -> None:
    """«Sí, cambiar» redeems the invitation; «No, conservar mi rol» leaves it unused."""
    person = await require_person(update, context)
    parts = parse_callback(update.callback_query.data, REGISTRATION_PREFIX) or []
    if parts == ["n"]:
        await answer_callback(update)
        await remove_buttons(update, context)
        await reply_html(update, context, "Listo: sigues con acceso como "
                         f"{what(person.role, person.units)}. No usé la invitación.")
        return
    if len(parts) != 2 or parts[0] != "y":
        await answer_callback(update, STALE_BUTTON_TEXT, show_alert=True)
        return
    ctx = app_context(context)
    user = update.effective_user
    try:
        changed, _role_changed = await ctx.db.run(
            redeem_invitation, token=parts[1], telegram_user_id=user.id,
            chat_id=user.id, telegram_name=user.full_name, now=ctx.clock())
    except RegistrationError as error:
        await answer_callback(update)
        await remove_buttons(update, context)
        await reply_html(update, context, esc(error))
        return
    await answer_callback(update)
    await remove_buttons(update, context)
    await _registered(update, context, changed)


def invitation_text(created: CreatedInvitation, bot_username: str | None) -> str:
    """What a gerente forwards: the link (when the bot's username is known) and the text."""
    who = ((f"gerente de {created.gerencia}" if created.gerencia else "gerente")
           if created.role == ROLE_GERENTE else "planeación"
           if created.role == ROLE_PLANEACION else
           "responsable de " + ", ".join(f"{u.clave} {u.nombre}" for u in created.units))
    when = created.expires_at.strftime("%d/%m/%Y")
    lines = [f"Invitación para <b>{esc(who)}</b>"
             + (f" ({esc(created.name)})" if created.name else "")
             + f", de un solo uso, vence el {when}."]
    if bot_username:
        lines.append(f"Enlace: https://t.me/{esc(bot_username)}?start={created.token}")
    lines.append(f"O que le escriba al bot: <code>/start {created.token}</code>")
    return "\n".join(lines)


async def invitar(update: Update, context: CallbackContext) -> None:
    person = await require_person(update, context)
    if not person.is_gerente:
        await reply_html(update, context, "Solo un gerente puede invitar personas.")
        return
    args = [a.strip(",") for a in context.args or [] if a.strip(",")]
    if not args:
        await reply_html(update, context,
                         "Indica la unidad o unidades de la persona responsable, p. ej. "
                         "<code>/invitar 303</code> o <code>/invitar 303 306</code>; para otro "
                         "gerente, <code>/invitar gerente</code>.")
        return
    role = ROLE_GERENTE if args[0].lower() == "gerente" else ROLE_COORDINADOR
    units = [] if role == ROLE_GERENTE else args
    ctx = app_context(context)
    try:
        created = await ctx.db.run(create_invitation, role=role, unit_claves=units, name="",
                                   now=ctx.clock(), days=ctx.settings.invitation_days,
                                   created_by_id=person.id)
    except RegistrationError as error:
        await reply_html(update, context, esc(error))
        return
    await reply_html(update, context, invitation_text(created, context.bot.username))


def register(application: Application) -> None:
    new = filters.UpdateType.MESSAGE  # an edited "/start <token>" must not register anyone
    application.add_handler(CommandHandler("start", start, filters=new))
    application.add_handler(CommandHandler("invitar", invitar, filters=new))
    application.add_handler(CallbackQueryHandler(change_button, pattern=r"^reg:"))

