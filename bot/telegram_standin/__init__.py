"""Strict Telegram Bot API stand-in for tests, benchmarks and ``poa-bot demo`` (see
``server.py``)."""

from .server import (
    ApiError,
    BotApiStub,
    Call,
    CallbackAnswer,
    HtmlError,
    Rejection,
    SentMessage,
    StubThread,
    buttons_of,
    parse_html,
    utf16_len,
)

__all__ = [
    "ApiError",
    "BotApiStub",
    "Call",
    "CallbackAnswer",
    "HtmlError",
    "Rejection",
    "SentMessage",
    "StubThread",
    "buttons_of",
    "parse_html",
    "utf16_len",
]
