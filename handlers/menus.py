"""The commands each role sees — the ONE list. Telegram's menu and /ayuda both render from it.

Telegram shows a per-chat command list (``setMyCommands`` with a chat scope), so a gerente's
menu has /resumen and /reabrir while a coordinador's has /reportar and /corregir. Strangers
see only /start (the default scope). Menus are set when a person registers or changes role and
re-synchronised for everyone when the bot starts (so a new version's commands show up).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application

from bot.context import BOT_DATA_KEY
from bot.services.registration import registered_chats
from storage.models import ROLE_COORDINADOR, ROLE_GERENTE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # the menu's short description (≤ 256 characters)
    usage: str = ""  # arguments shown in /ayuda, e.g. "[periodo] [unidad]"
    detail: str = ""  # one more sentence for /ayuda


COMMANDS: dict[str, list[Command]] = {
    ROLE_GERENTE: [
        Command("resumen", "Cumplimiento contra meta de un periodo", "[periodo] [unidad]",
                "Sin periodo, el último cerrado; p. ej. /resumen marzo 303."),
        Command("exportar", "Reporte POA del periodo en Excel", "[periodo]"),
        Command("grafica", "Gráfica de avance contra meta", "[unidad]"),
        Command("recordatorios", "Próximos recordatorios y quién debe captura"),
        Command("recordar", "Enviar ya un recordatorio a quienes deben captura", "[periodo]"),
        Command("reabrir", "Reabrir un periodo cerrado para captura", "periodo [unidad]"),
        Command("cerrar", "Cerrar un periodo para captura", "periodo [unidad]"),
        Command("invitar", "Invitar a una persona al bot", "unidad [unidad…] | gerente",
                "Te doy un enlace de un solo uso para enviárselo."),
        Command("equipo", "Quién responde por cada unidad; desactivar o reasignar personas"),
        Command("ayuda", "Qué puedo hacer"),
    ],
    ROLE_COORDINADOR: [
        Command("reportar", "Capturar los valores del periodo",
                detail="Elige el periodo y escribe cada valor; se guarda al confirmarlo."),
        Command("pendientes", "Indicadores que te faltan por reportar"),
        Command("corregir", "Cambiar un valor ya reportado de un periodo abierto"),
        Command("resumen", "Cumplimiento contra meta de tus unidades", "[periodo]"),
        Command("cancelar", "Terminar la captura en curso (lo confirmado queda guardado)"),
        Command("ayuda", "Qué puedo hacer"),
    ],
}

STRANGER_COMMANDS = [Command("start", "Registrarte con tu invitación")]


def commands_for(role: str) -> list[Command]:
    return COMMANDS.get(role, [])


def bot_commands(role: str) -> list[BotCommand]:
    return [BotCommand(c.name, c.description) for c in commands_for(role)]


async def apply_menu(bot, chat_id: int, role: str) -> None:
    """Show this chat the menu of ``role`` (call after registration or a role change)."""
    await bot.set_my_commands(bot_commands(role), scope=BotCommandScopeChat(chat_id))


async def sync_all_menus(application: Application) -> None:
    """Default menu for strangers, and each registered person's menu (at start-up)."""
    bot = application.bot
    await bot.set_my_commands([BotCommand(c.name, c.description) for c in STRANGER_COMMANDS],
                              scope=BotCommandScopeDefault())
    chats = await application.bot_data[BOT_DATA_KEY].db.run(registered_chats)
    for chat_id, role in chats:
        try:
            await apply_menu(bot, chat_id, role)
        except Forbidden:
            log.info("chat %s blocked the bot; menu not set", chat_id)
        except TelegramError:
            log.warning("could not set the menu of chat %s", chat_id, exc_info=True)


def help_text(role: str) -> str:
    """/ayuda for a role, in HTML (descriptions are ours, so no escaping is needed)."""
    lines = ["<b>Esto es lo que puedo hacer:</b>", ""]
    for command in commands_for(role):
        usage = f" {command.usage}" if command.usage else ""
        lines.append(f"/{command.name}{usage} — {command.description}")
        if command.detail:
            lines.append(f"    <i>{command.detail}</i>")
    if role == ROLE_COORDINADOR:
        lines += ["", "Escribe los números como 255835, 255,835, 1 084 u 8.33%. "
                  "Si estás a media captura, /cancelar la termina."]
    return "\n".join(lines)
