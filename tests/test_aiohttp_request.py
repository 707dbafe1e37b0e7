"""The bot's network layer (bot.aiohttp_request) against the Bot API stand-in over HTTP."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import NetworkError, TimedOut

from bot.aiohttp_request import AiohttpRequest, environment_proxy
from bot.telegram_retry import is_transient
from bot.telegram_standin import BotApiStub

USER = 1001
TOKEN = "123456:TRANSPORT-SECRET-token"


@pytest.fixture
async def stub() -> AsyncIterator[BotApiStub]:
    async with BotApiStub(token=TOKEN, hang_seconds=5) as s:
        yield s


@pytest.fixture
async def bot(stub) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=stub.base_url, base_file_url=stub.base_file_url,
                   request=AiohttpRequest(connections=1)) as b:
        yield b


async def test_messages_buttons_and_html_go_through(stub, bot):
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Sin observaciones",
                                                         callback_data="r:nr:1")]])
    sent = await bot.send_message(USER, "<b>Hola</b> &amp; adiós", parse_mode="HTML",
                                  reply_markup=markup, disable_notification=True)
    assert sent.text == "Hola & adiós"
    assert [e.type for e in sent.entities] == ["bold"]
    message = stub.messages_to(USER)[-1]
    assert message.text == "Hola & adiós"
    assert message.buttons == [("Sin observaciones", "r:nr:1")]
    assert stub.rejections == []


async def test_a_file_is_uploaded_with_its_name(stub, bot):
    content = b"PK\x03\x04 xlsx bytes"
    await bot.send_document(USER, io.BytesIO(content), filename="poa-2023-t1.xlsx",
                            caption="Reporte")
    message = stub.messages_to(USER)[-1]
    assert message.document == (content, "poa-2023-t1.xlsx")
    assert message.text == "Reporte"


async def test_an_answer_that_never_comes_is_a_timeout_not_retried(stub, bot):
    # The request went out: Telegram may have delivered it, so it is not sent again.
    stub.inject_errors("sendMessage", ["timeout"])
    with pytest.raises(TimedOut) as raised:
        await bot.send_message(USER, "a", read_timeout=0.2)
    assert not is_transient(raised.value)


async def test_no_free_connection_is_a_timeout_that_may_be_retried(stub, bot):
    # The only connection is held by a request whose answer hangs; the next one waits for a
    # connection, gives up, and was never sent.
    stub.inject_errors("sendMessage", ["timeout"])
    hanging = asyncio.create_task(bot.send_message(USER, "a", read_timeout=5))
    await stub.wait_for_hanging()
    with pytest.raises(TimedOut) as raised:
        await bot.send_message(USER, "b", pool_timeout=0.1, connect_timeout=0.1)
    assert is_transient(raised.value)
    hanging.cancel()
    assert "b" not in [m.text for m in stub.messages_to(USER)]


async def test_an_unreachable_server_is_a_network_error_without_the_token():
    async with AiohttpRequest() as request:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"http://127.0.0.1:9/bot{TOKEN}/getMe")
    assert is_transient(raised.value)
    assert "SECRET" not in str(raised.value)


def test_the_proxy_comes_from_the_environment_as_httpx_reads_it(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
                 "no_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert environment_proxy("https", "api.telegram.org") is None
    monkeypatch.setenv("ALL_PROXY", "http://proxy.local:3128")
    assert environment_proxy("https", "api.telegram.org") == "http://proxy.local:3128"
    monkeypatch.setenv("HTTPS_PROXY", "http://secure.local:3128")
    assert environment_proxy("https", "api.telegram.org") == "http://secure.local:3128"
    monkeypatch.setenv("NO_PROXY", "api.telegram.org")
    assert environment_proxy("https", "api.telegram.org") is None
