"""A bare python-telegram-bot echo bot: the yardstick of ``bench.bench_live``'s CPU figures.

Reads TELEGRAM_BOT_TOKEN and TELEGRAM_API_BASE_URL like ``poa-bot run``, answers every text
with itself, concurrently (256 updates at a time), with long polling. Nothing else: no
database, no rate limiter.

``--aiohttp`` gives it the bot's own network layer (``bot.aiohttp_request``) instead of PTB's
default httpx: a second yardstick, so that the bot's figures can also be read against an echo
bot that sends as cheaply as it does.

    TELEGRAM_BOT_TOKEN=… TELEGRAM_API_BASE_URL=http://127.0.0.1:PORT/bot \\
        .venv/bin/python -m bench.echo_bot [--aiohttp]
"""

from __future__ import annotations

import os
import sys

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(update.message.text)


def main() -> None:
    builder = (ApplicationBuilder().token(os.environ["TELEGRAM_BOT_TOKEN"])
               .base_url(os.environ["TELEGRAM_API_BASE_URL"]).concurrent_updates(256))
    if "--aiohttp" in sys.argv[1:]:
        from bot.aiohttp_request import AiohttpRequest

        builder = builder.request(AiohttpRequest()).get_updates_request(AiohttpRequest(2))
    application = builder.build()
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
