"""Logging that never prints the bot token (nor, at -v, what people write).

Bot API URLs contain the token (``/bot<token>/sendMessage``). The bot's own requests go
through aiohttp, which logs no URL; httpx (the CLI's one-off calls) logs every one at INFO and
is quieted to WARNING; and a filter on the root handlers redacts any token-shaped text from
every record, whichever library emitted it.
"""

from __future__ import annotations

import logging
import re

from telegram.error import InvalidToken

TOKEN_PATTERN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")


class RedactTokenFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], InvalidToken):
            # PTB logs the rejection with a traceback whose every frame repeats "the token
            # `…` was rejected": the message says it all, and `poa-bot run` explains it.
            record.exc_info, record.exc_text = None, None
        message = record.getMessage()
        redacted = TOKEN_PATTERN.sub("<token>", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        # Tracebacks are text too, and an exception's message may quote a request URL.
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = TOKEN_PATTERN.sub("<token>", record.exc_text)
        if record.stack_info:
            record.stack_info = TOKEN_PATTERN.sub("<token>", record.stack_info)
        return True


def configure_logging(verbose: bool = False) -> None:
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    for handler in root.handlers:
        if not any(isinstance(f, RedactTokenFilter) for f in handler.filters):
            handler.addFilter(RedactTokenFilter())
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("httpx", "httpcore", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # PTB at DEBUG dumps every update and request: people's figures, remarks and the
    # invitation tokens of "/start <token>". -v is for our own debugging, not a wiretap.
    logging.getLogger("telegram").setLevel(logging.INFO)
