"""``poa-bot invite``: create a single-use registration invitation and print how to use it.

The link ``https://t.me/<bot>?start=<token>`` needs the bot's username, asked from Telegram
with getMe when a token is configured; without one (or when Telegram cannot be reached) the
``/start <token>`` text is printed alone, with the reason.
"""

from __future__ import annotations

import asyncio
import sys

from telegram import Bot
from telegram.error import TelegramError

from bot.clock import system_clock
from bot.services.registration import RegistrationError, create_invitation


async def _bot_username(settings) -> str:
    async with Bot(settings.token(), base_url=settings.telegram_api_base_url) as bot:
        return bot.username


def bot_username(settings) -> tuple[str | None, str]:
    """(username or None, why there is none)."""
    if not settings.token():
        return None, "TELEGRAM_BOT_TOKEN no está configurado"
    try:
        return asyncio.run(_bot_username(settings)), ""
    except TelegramError as error:
        return None, f"no pude consultar a Telegram ({error.message})"


def run(args, settings, db) -> int:
    try:
        created = db.call(create_invitation, role=args.role, unit_claves=args.unit,
                          name=args.name, now=system_clock(), days=settings.invitation_days,
                          gerencia=getattr(args, "gerencia", None))
    except RegistrationError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    if created.role == "gerente":
        who = f"gerente de {created.gerencia}" if created.gerencia else "gerente"
    elif created.role == "planeacion":
        who = "planeación (todas las gerencias)"
    else:
        who = "coordinador de " + ", ".join(f"{u.clave} {u.nombre}" for u in created.units)
    if created.name:
        who += f" ({created.name})"
    expires = created.expires_at.astimezone(settings.timezone).strftime("%d/%m/%Y %H:%M")
    print(f"Invitación de un solo uso para {who}; vence el {expires}.")
    username, why = bot_username(settings)
    if username:
        print(f"Enlace: https://t.me/{username}?start={created.token}")
    else:
        print(f"(Sin enlace: {why}; envía el texto de abajo.)")
    print(f"Texto para el bot: /start {created.token}")
    return 0
