"""The commands each role sees — the ONE list. Telegram's menu and /ayuda both render from it.

Telegram shows a per-chat command list (``setMyCommands`` with a chat scope), so a gerente's
menu has /resumen and /reabrir while a coordinador's has /reportar and /corregir. Strangers
see only /start (the default scope). Commands that only make sense with a setting on carry
it (``/enviar`` needs ``POA_APPROVAL_REQUIRED``): with it off they are left out of the menu and
of /ayuda (the command still answers, saying review is off). Menus are set when a person
registers or changes role;
at start-up, in the background once polling runs, the menus that are not the current ones
(``menu_state`` remembers what each chat was given) are set, paced as bulk sends.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, CallbackContext

from bot.context import BOT_DATA_KEY
from bot.services.menu_state import (
    DEFAULT_SCOPE_CHAT,
    menu_shown,
    menus_to_set,
    record_menu,
)
from bot.telegram_retry import bulk_sends
from storage.db import Database
from storage.models import ROLE_COORDINADOR, ROLE_GERENTE, ROLE_PLANEACION

log = logging.getLogger(__name__)
SYNC_JOB = "poa-menus-sync"
SYNCED_KEY = "poa_menus_synced"
LOCKS_KEY = "poa_menu_locks"


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # the menu's short description (≤ 256 characters)
    usage: str = ""  # arguments shown in /ayuda, e.g. "[periodo] [unidad]"
    detail: str = ""  # one more sentence for /ayuda
    needs_approval: bool = False  # shown only with POA_APPROVAL_REQUIRED on


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
        Command("ficha", "Ficha técnica de un indicador", "[ID]"),
        Command("reprogramar", "Pedir el cambio de una meta programada",
                "ID periodo meta justificación", "Un periodo ya cerrado no se reprograma."),
        Command("suplente", "Suplentes de coordinadores por vacaciones o incapacidad",
                "[fechas]", "P. ej. /suplente 1/12 al 15/12; sin fechas, la lista."),
        Command("ayuda", "Qué puedo hacer"),
    ],
    ROLE_COORDINADOR: [
        Command("reportar", "Capturar los valores del periodo",
                detail="Elige el periodo y escribe cada valor; se guarda al confirmarlo."),
        Command("pendientes", "Indicadores que te faltan por reportar"),
        Command("corregir", "Cambiar un valor ya reportado de un periodo abierto"),
        Command("evidencia", "Enviar fotos o documentos que respaldan un valor"),
        Command("resumen", "Cumplimiento contra meta de tus unidades", "[periodo]"),
        Command("ficha", "Ficha técnica de tus indicadores", "[ID]"),
        Command("reprogramar", "Pedir el cambio de una meta programada (autoriza la gerencia)",
                "ID periodo meta justificación", "Un periodo ya cerrado no se reprograma."),
        Command("enviar", "Enviar a revisión un periodo completo", needs_approval=True),
        Command("suplente", "Quién te suple en vacaciones o incapacidad", "[fechas]",
                "P. ej. /suplente 1/12 al 15/12; sin fechas, la lista."),
        Command("cancelar", "Terminar la captura en curso (lo confirmado queda guardado)"),
        Command("ayuda", "Qué puedo hacer"),
    ],
}

# Planeación / dirección: the gerente's commands over every gerencia (bot.services.scope).
COMMANDS[ROLE_PLANEACION] = [
    Command("resumen", "Resumen por gerencia; toca una para ver sus unidades",
            "[periodo] [unidad]", "Sin periodo, el último cerrado; p. ej. /resumen marzo."),
    Command("exportar", "Reporte POA de una gerencia o de todas, en Excel", "[periodo]"),
    *(c for c in COMMANDS[ROLE_GERENTE] if c.name not in ("resumen", "exportar")),
]

STRANGER_COMMANDS = [Command("start", "Registrarte con tu invitación")]


def commands_for(role: str, approval_required: bool = False) -> list[Command]:
    """The role's commands as this bot is configured (``POA_APPROVAL_REQUIRED``)."""
    return [c for c in COMMANDS.get(role, []) if approval_required or not c.needs_approval]


def bot_commands(role: str, approval_required: bool = False) -> list[BotCommand]:
    return [BotCommand(c.name, c.description) for c in commands_for(role, approval_required)]


def menu_fingerprint(commands: list[Command]) -> str:
    """A short digest of a command list: what ``menu_state`` remembers per chat."""
    text = "\n".join(f"{c.name}\t{c.description}" for c in commands)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def role_fingerprints(approval_required: bool = False) -> dict[str, str]:
    """role → fingerprint of its menu as configured: turning approval on or off changes the
    coordinador's, so the next start-up sets their menus again."""
    return {role: menu_fingerprint(commands_for(role, approval_required))
            for role in COMMANDS}


ROLE_FINGERPRINTS = role_fingerprints()  # approval off (the default)
STRANGER_FINGERPRINT = menu_fingerprint(STRANGER_COMMANDS)


def chat_menu_lock(application: Application, chat_id: int) -> asyncio.Lock:
    """One lock per chat around «decide, setMyCommands, remember»: the start-up sync (whose
    calls are paced, so they can wait seconds) must not overwrite the menu a registration or
    role change set meanwhile."""
    locks: dict[int, asyncio.Lock] = application.bot_data.setdefault(LOCKS_KEY, {})
    return locks.setdefault(chat_id, asyncio.Lock())


async def apply_menu(application: Application, chat_id: int, role: str, *,
                     approval_required: bool, db: Database | None = None,
                     now: datetime | None = None) -> None:
    """Show this chat the menu of ``role`` (call after registration or a role change);
    with ``db`` and ``now``, remember it so start-up does not set it again."""
    async with chat_menu_lock(application, chat_id):
        await _set_and_record(application.bot, chat_id, role, approval_required, db, now)


async def _set_and_record(bot, chat_id: int, role: str, approval_required: bool,
                          db: Database | None, now: datetime | None) -> None:
    await bot.set_my_commands(bot_commands(role, approval_required),
                              scope=BotCommandScopeChat(chat_id))
    fingerprints = role_fingerprints(approval_required)
    if db is not None and now is not None and role in fingerprints:
        await db.run(record_menu, chat_id, fingerprints[role], now)


def schedule_menu_sync(application: Application) -> None:
    """Set the menus that changed in the background, once polling runs (see sync_menus);
    ``menus_synced(application)`` is set when that is done."""
    if application.job_queue is None:
        raise RuntimeError("JobQueue missing: install python-telegram-bot[job-queue]")
    application.bot_data[SYNCED_KEY] = asyncio.Event()
    application.job_queue.run_once(_sync_job, when=0, name=SYNC_JOB,
                                   job_kwargs={"misfire_grace_time": None})


def menus_synced(application: Application) -> asyncio.Event:
    """Set once the start-up menu synchronisation has finished (tests wait on it)."""
    return application.bot_data[SYNCED_KEY]


async def _sync_job(context: CallbackContext) -> None:
    try:
        await sync_menus(context.application)
    except Exception:  # a later start-up tries again; the bot works without menus
        log.exception("menu synchronisation failed")
    finally:
        menus_synced(context.application).set()


async def sync_menus(application: Application) -> int:
    """Set the default menu and each person's menu where it is not the current one.

    Only chats whose remembered menu differs from their role's (new people, role changes,
    a new version's commands) get a ``setMyCommands``; each is remembered once set. The
    calls are bulk sends: paced by the rate limiter behind every interactive reply.
    Returns the number of menus set.
    """
    bot = application.bot
    ctx = application.bot_data[BOT_DATA_KEY]
    db: Database = ctx.db
    approval_required = ctx.settings.poa_approval_required
    count = 0
    with bulk_sends():
        if await db.run(menu_shown, DEFAULT_SCOPE_CHAT) != STRANGER_FINGERPRINT:
            await bot.set_my_commands(
                [BotCommand(c.name, c.description) for c in STRANGER_COMMANDS],
                scope=BotCommandScopeDefault())
            await db.run(record_menu, DEFAULT_SCOPE_CHAT, STRANGER_FINGERPRINT, ctx.clock())
            count += 1
        fingerprints = role_fingerprints(approval_required)
        for chat_id, _role in await db.run(menus_to_set, fingerprints):
            # Stopping waits for this job; 3,000 paced menus would hold a stop for 100 s, and
            # a service manager kills it meanwhile, maybe between a menu set and its record
            # (that chat's menu is then set again at the next start). Each set menu is
            # recorded, so the next start goes on from here.
            if not application.running:
                break
            try:
                async with chat_menu_lock(application, chat_id):
                    due = await db.run(menus_to_set, fingerprints, chat_id)
                    if not due:  # set meanwhile (registration, role change), or gone
                        continue
                    await _set_and_record(bot, chat_id, due[0][1], approval_required, db,
                                          ctx.clock())
                count += 1
            except Forbidden:
                log.info("chat %s blocked the bot; menu not set", chat_id)
            except TelegramError:
                log.warning("could not set the menu of chat %s", chat_id, exc_info=True)
    if count:
        log.info("menus set: %d", count)
    return count


def help_text(role: str, approval_required: bool = False) -> str:
    """/ayuda for a role, in HTML (descriptions are ours, so no escaping is needed)."""
    lines = ["<b>Esto es lo que puedo hacer:</b>", ""]
    for command in commands_for(role, approval_required):
        usage = f" {command.usage}" if command.usage else ""
        lines.append(f"/{command.name}{usage} — {command.description}")
        if command.detail:
            lines.append(f"    <i>{command.detail}</i>")
    if role == ROLE_COORDINADOR:
        lines += ["", "Escribe los números como 255835, 255,835, 1 084 u 8.33%. "
                  "Si estás a media captura, /cancelar la termina."]
    return "\n".join(lines)
