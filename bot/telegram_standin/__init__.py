"""Strict Telegram Bot API stand-in for tests and benchmarks (see ``server.py``)."""

from .server import (
    ApiError,
    BotApiStub,
    Call,
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
    "HtmlError",
    "Rejection",
    "SentMessage",
    "StubThread",
    "buttons_of",
    "parse_html",
    "utf16_len",
]
