"""``poa-bot run``: start the Telegram bot (long polling, or a webhook when WEBHOOK_URL is set).

PTB's ``run_polling`` and ``bot.webhook.serve_webhook`` stop cleanly on SIGINT and SIGTERM
(systemd's stop): the update being handled finishes, the last fetched updates are confirmed to
Telegram (polling) or the queued ones handled (webhook), and the process exits 0.
Conversation state lives in the database and every step is one transaction, so ``kill -9``
never loses a confirmed value nor applies one twice; what it can lose is the reply being sent,
or a message Telegram already handed over but the bot had not yet handled (the person sends it
again; ``/reportar`` says where they were).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import sys
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import InvalidToken, NetworkError

from bot.app import build_application
from bot.memory import limit_malloc_arenas
from bot.settings import PUBLIC_BOT_API
from bot.webhook import WebhookConfig, serve_webhook
from storage.db import redact_url

log = logging.getLogger(__name__)

MISSING_TOKEN = (
    "Falta TELEGRAM_BOT_TOKEN: escribe el token que te dio @BotFather en el archivo .env del "
    "directorio donde ejecutas poa-bot (TELEGRAM_BOT_TOKEN=123456:ABC...) o en el entorno del "
    "servicio; ver .env.example.\n"
    "TELEGRAM_BOT_TOKEN is not set: put the token @BotFather gave you in the .env file of the "
    "directory you run poa-bot from, or in the service's environment; see .env.example."
)


TOKEN_REJECTED = (
    "Telegram rechazó el token (TELEGRAM_BOT_TOKEN): revísalo con @BotFather; si lo revocaste, "
    "pon el nuevo en .env.\n"
    "Telegram rejected the token (TELEGRAM_BOT_TOKEN): check it with @BotFather; if you revoked "
    "it, put the new one in .env."
)


def unreachable(where: str) -> str:
    return (f"No se pudo conectar con {where}: revisa la red, el proxy o TELEGRAM_API_BASE_URL "
            f"(`poa-bot doctor` lo prueba).\n"
            f"Could not connect to {where}: check the network, the proxy or "
            f"TELEGRAM_API_BASE_URL.")


def webhook_secret(settings) -> str:
    """The secret Telegram must send in X-Telegram-Bot-Api-Secret-Token with every update.

    Without one, anybody who learns the webhook URL could post forged updates in the name of
    any user (a gerente, say). So when WEBHOOK_SECRET_TOKEN is not set a random one is made
    for this run: ``serve_webhook`` registers it with Telegram at every start anyway.
    """
    secret = settings.webhook_secret_token
    return secret.get_secret_value() if secret else secrets.token_urlsafe(32)


def webhook_config(settings) -> WebhookConfig:
    """Where to listen and what to tell Telegram, from WEBHOOK_* settings."""
    return WebhookConfig(listen=settings.webhook_listen, port=settings.webhook_port,
                         url_path=urlsplit(settings.webhook_url).path.lstrip("/"),
                         url=settings.webhook_url, secret=webhook_secret(settings))


def run(args, settings, db) -> int:
    if not settings.token():
        print(MISSING_TOKEN, file=sys.stderr)
        return 2
    return serve(build_application(settings, db), settings, db)


def keep_to_one_cpu() -> None:
    """Run all of the bot's threads on one CPU (Linux; elsewhere nothing).

    Python runs one thread at a time (the GIL), so the event loop and the database workers
    gain nothing from a second core; spread over two, every hand-over moved the interpreter's
    state between the cores' caches. On the 2-core machine, ``bench_live --part cpu``: 4.5–5.5
    → 3.2–3.7 ms of CPU per report message, and a third more messages a second. The database
    server, if any, is another process and keeps the other cores. Must run before the
    threads start: they inherit it. ``POA_ONE_CPU=false`` leaves the scheduler free."""
    with contextlib.suppress(AttributeError, OSError):  # no sched_*affinity here, or refused
        cpus = os.sched_getaffinity(0)
        if len(cpus) > 1:
            os.sched_setaffinity(0, {max(cpus)})  # the last one: CPU 0 takes more interrupts


def serve(application, settings, db) -> int:
    """Run ``application`` until SIGINT/SIGTERM: ``run``'s code path, shared by ``demo``."""
    limit_malloc_arenas()
    if settings.poa_one_cpu:
        keep_to_one_cpu()
    api = settings.telegram_api_base_url
    where = "Telegram" if api == PUBLIC_BOT_API else f"Bot API at {urlsplit(api).netloc}"
    log.info("POA Bot starting (database %s, %s)", redact_url(db.url), where)
    try:
        if settings.webhook_url:
            asyncio.run(serve_webhook(application, webhook_config(settings)))
        else:
            application.run_polling(allowed_updates=Update.ALL_TYPES)
    except InvalidToken:
        # Its message quotes the token: say it in our words, never print the exception.
        print(TOKEN_REJECTED, file=sys.stderr)
        return 2
    except NetworkError:  # PTB logged the details (token redacted); one line to act on
        print(unreachable(where), file=sys.stderr)
        return 1
    log.info("POA Bot stopped")
    return 0
