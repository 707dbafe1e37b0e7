"""Webhook mode: a small tornado server that checks every request before reading its body.

PTB's own webhook server (``Updater.start_webhook``) reads the whole body first (tornado's
default limit is 100 MB), compares the secret header afterwards, and answers malformed JSON
with a 500. This one follows PTB's documented "custom webhook server" pattern (the updates go
into ``application.update_queue``; the Application's Updater is not used) and refuses, in order
and from the headers alone:

* 403 — the ``X-Telegram-Bot-Api-Secret-Token`` header is missing or wrong (compared in
  constant time), so knowing the URL is not enough to post forged updates;
* 413 — a body over :data:`MAX_UPDATE_BYTES` (Content-Length, or a chunked body cut off as it
  streams in): Telegram's updates are a few kilobytes;

then, after reading the (small) body, 415 unless it is ``application/json`` and 400 for
anything that is not a JSON update. Only a
well-formed update reaches the queue and gets 200.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
import signal
from dataclasses import dataclass
from http import HTTPStatus

import tornado.web
from telegram import Update
from telegram.ext import Application
from tornado.httpserver import HTTPServer

log = logging.getLogger(__name__)

MAX_UPDATE_BYTES = 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class WebhookConfig:
    listen: str  # address to bind (behind a TLS-terminating reverse proxy)
    port: int
    url_path: str  # path part of ``url``, without the leading "/"
    url: str  # public HTTPS URL Telegram posts to
    secret: str  # what Telegram must send in SECRET_HEADER


@tornado.web.stream_request_body
class UpdateHandler(tornado.web.RequestHandler):
    """One POST from Telegram: one update into the Application's queue."""

    SUPPORTED_METHODS = ("POST",)  # type: ignore[assignment]

    def initialize(self, bot_application: Application, secret: str) -> None:
        self.bot_application = bot_application
        self.secret = secret.encode()
        self.body = bytearray()

    def prepare(self) -> None:
        # Called with the headers only: the body is read after this, and only if we allow it.
        given = self.request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.secret):
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)
        length = self.request.headers.get("Content-Length")
        if length is not None and (not length.isdigit() or int(length) > MAX_UPDATE_BYTES):
            raise tornado.web.HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        # A chunked body has no Content-Length: tornado stops reading it past the limit.
        self.request.connection.set_max_body_size(MAX_UPDATE_BYTES)

    def data_received(self, chunk: bytes) -> None:
        self.body += chunk

    async def post(self) -> None:
        content_type = self.request.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise tornado.web.HTTPError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
        try:
            data = json.loads(self.body)
            update = Update.de_json(data, self.bot_application.bot) if isinstance(data, dict) \
                else None
        except Exception:  # not JSON, or JSON that is not an update
            update = None
        if update is None:
            raise tornado.web.HTTPError(HTTPStatus.BAD_REQUEST)
        await self.bot_application.update_queue.put(update)
        self.set_status(HTTPStatus.OK)

    def write_error(self, status_code: int, **kwargs) -> None:
        self.finish(HTTPStatus(status_code).phrase)  # no traceback, no echo of the request

    def log_exception(self, typ, value, tb) -> None:
        # Refusals are expected (the internet knocks); anything else is worth a warning.
        if not isinstance(value, tornado.web.HTTPError):
            log.warning("webhook request failed", exc_info=(typ, value, tb))


def make_app(application: Application, config: WebhookConfig) -> tornado.web.Application:
    path = "/" + config.url_path.strip("/")
    return tornado.web.Application(
        [(rf"{re.escape(path)}/?", UpdateHandler,
          {"bot_application": application, "secret": config.secret})],
        log_function=lambda _handler: None)  # no access log: paths and IPs are not needed


async def serve_webhook(application: Application, config: WebhookConfig, *,
                        stop: asyncio.Event | None = None, ready: asyncio.Event | None = None,
                        handle_signals: bool = True) -> None:
    """Run the bot in webhook mode until SIGINT/SIGTERM (or ``stop`` is set).

    The same life cycle as PTB's ``run_webhook``: initialize, ``post_init``, listen, register
    the webhook (with its secret), start; on stop, refuse new requests, handle the updates
    already queued, stop and shut down.
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM) if handle_signals else ()
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    server = HTTPServer(make_app(application, config), max_body_size=MAX_UPDATE_BYTES)
    try:
        await application.initialize()
        if application.post_init is not None:
            await application.post_init(application)
        server.listen(config.port, address=config.listen)
        await application.bot.set_webhook(config.url, secret_token=config.secret,
                                          allowed_updates=Update.ALL_TYPES)
        await application.start()
        if ready is not None:
            ready.set()
        await stop.wait()
    finally:
        server.stop()
        with contextlib.suppress(Exception):
            await server.close_all_connections()
        if application.running:
            await application.stop()
            if application.post_stop is not None:
                await application.post_stop(application)
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
        for sig in signals:
            loop.remove_signal_handler(sig)
