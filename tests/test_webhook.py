"""Webhook mode over real HTTP: the secret header and the size are checked from the headers,
before any body is read; malformed bodies get 400; a good update reaches the bot."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket

import aiohttp
import pytest

from bot.app import build_application
from bot.commands import run as run_command
from bot.settings import Settings
from bot.telegram_standin import BotApiStub
from bot.webhook import MAX_UPDATE_BYTES, SECRET_HEADER, WebhookConfig, serve_webhook
from handlers.common import STRANGER_TEXT
from tests.harness import TEST_TOKEN, make_settings

STRANGER = 7777
SECRET = "s3cret-header-value"
UPDATE = {"update_id": 1, "message": {
    "message_id": 1, "date": 1_680_000_000, "text": "hola",
    "from": {"id": STRANGER, "is_bot": False, "first_name": "Eve"},
    "chat": {"id": STRANGER, "type": "private", "first_name": "Eve"}}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def webhook_bot(db, **settings):
    """The bot in webhook mode exactly as ``poa-bot run`` configures it; yields (stub, port)."""
    port = free_port()
    async with BotApiStub(token=TEST_TOKEN) as stub:
        config_settings = make_settings(stub, db, webhook_url="https://poa.example.org/telegram",
                                        webhook_listen="127.0.0.1", webhook_port=port,
                                        **settings)
        config = run_command.webhook_config(config_settings)
        stop, ready = asyncio.Event(), asyncio.Event()
        server = asyncio.create_task(serve_webhook(
            build_application(config_settings, db), config, stop=stop, ready=ready,
            handle_signals=False))
        waiter = asyncio.create_task(ready.wait())
        await asyncio.wait([server, waiter], return_when=asyncio.FIRST_COMPLETED)
        if server.done():
            waiter.cancel()
            server.result()  # raises what went wrong
        try:
            yield stub, port
        finally:
            stop.set()
            await server
        assert stub.rejections == []


async def raw(port: int, head: str, body: bytes = b"") -> int:
    """Send a request's headers (and only the bytes of ``body`` given); the status code."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 30)
        return int(status_line.split()[1])
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def head(length: int | str, secret: str | None = SECRET, extra: str = "") -> str:
    lines = ["POST /telegram HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
             f"Content-Length: {length}" if length != "chunked" else "Transfer-Encoding: chunked"]
    if secret is not None:
        lines.append(f"{SECRET_HEADER}: {secret}")
    return "\n".join(lines) + "\n" + extra


async def test_the_secret_and_the_size_are_checked_before_the_body_is_read(db):
    async with webhook_bot(db, webhook_secret_token=SECRET) as (stub, port):
        assert stub.webhook_url == "https://poa.example.org/telegram"
        # 50 MB announced, not one byte sent: the answer comes from the headers alone (a
        # server that waited for the body would never answer).
        assert await raw(port, head(50_000_000, secret=None)) == 403
        assert await raw(port, head(50_000_000, secret="wrong")) == 403
        assert await raw(port, head(MAX_UPDATE_BYTES + 1)) == 413
        # A chunked body has no length up front: it is cut off once past the limit.
        chunk = b"x" * (MAX_UPDATE_BYTES + 10)
        body = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n0\r\n\r\n"
        with contextlib.suppress(ConnectionError):
            assert await raw(port, head("chunked"), body) in (400, 413)
        assert stub.messages_to(STRANGER) == []


@pytest.mark.parametrize("body, content_type, status", [
    (b"{not json", "application/json", 400),
    (b"", "application/json", 400),
    (b"[1, 2]", "application/json", 400),
    (b'{"no_update_id": true}', "application/json", 400),
    (json.dumps(UPDATE).encode(), "text/plain", 415),
])
async def test_malformed_requests_get_a_4xx_and_reach_nobody(db, body, content_type, status):
    async with webhook_bot(db, webhook_secret_token=SECRET) as (stub, port):
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/telegram"
            headers = {SECRET_HEADER: SECRET, "Content-Type": content_type}
            async with session.post(url, data=body, headers=headers) as response:
                assert response.status == status
                assert "Traceback" not in await response.text()
            async with session.post(url, json=UPDATE, headers={SECRET_HEADER: SECRET}) as ok:
                assert ok.status == 200  # and the server goes on serving
        reply = await stub.wait_for_message(STRANGER)
        assert reply.text == STRANGER_TEXT and len(stub.messages_to(STRANGER)) == 1


def test_poa_bot_run_serves_the_webhook_with_the_configured_secret(db, monkeypatch):
    captured = {}

    async def fake_serve(application, config):
        captured["config"] = config

    monkeypatch.setattr(run_command, "serve_webhook", fake_serve)
    settings = Settings(_env_file=None, telegram_bot_token=TEST_TOKEN, database_url=db.url,
                        webhook_url="https://poa.example.org/telegram", webhook_port=8443,
                        webhook_secret_token="configured-secret")
    assert run_command.run(None, settings, db) == 0
    assert captured["config"] == WebhookConfig(
        listen="127.0.0.1", port=8443, url_path="telegram",
        url="https://poa.example.org/telegram", secret="configured-secret")
