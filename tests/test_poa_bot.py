"""PoaBot's HTML sends and edits (no Message built from the answer) against the stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest

from bot.aiohttp_request import AiohttpRequest
from bot.poa_bot import PoaBot
from bot.telegram_retry import RetryingRateLimiter
from bot.telegram_standin import BotApiStub

USER = 1001
TOKEN = "123456:POA-BOT-secret"
MARKUP = InlineKeyboardMarkup([[InlineKeyboardButton("Sin observaciones",
                                                     callback_data="r:nr:1")]])


@pytest.fixture
async def stub() -> AsyncIterator[BotApiStub]:
    async with BotApiStub(token=TOKEN) as s:
        yield s


@pytest.fixture
async def bot(stub) -> AsyncIterator[PoaBot]:
    limiter = RetryingRateLimiter(max_retries=2, first_pause=0)
    async with PoaBot(TOKEN, base_url=stub.base_url, request=AiohttpRequest(),
                      rate_limiter=limiter) as b:
        yield b


async def test_html_with_buttons_is_sent_and_nothing_is_returned(stub, bot):
    assert await bot.send_html(USER, "<b>Meta</b> 1,000 &amp; más", MARKUP) is None
    message = stub.messages_to(USER)[-1]
    assert message.text == "Meta 1,000 & más"
    assert message.buttons == [("Sin observaciones", "r:nr:1")]
    assert stub.rejections == []


async def test_an_edit_replaces_text_and_buttons(stub, bot):
    await bot.send_html(USER, "Antes", MARKUP)
    message_id = stub.messages_to(USER)[-1].message_id
    assert await bot.edit_html(USER, message_id, "<i>Después</i>") is None
    assert stub.message(USER, message_id)["text"] == "Después"
    assert stub.buttons(USER, message_id) == []


async def test_html_telegram_refuses_raises_as_send_message_does(stub, bot):
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_html(USER, "<b>sin cerrar")
    assert stub.messages_to(USER) == []


async def test_sends_go_through_the_rate_limiter_which_retries_a_server_error(stub, bot):
    stub.inject_errors("sendMessage", [502])
    await bot.send_html(USER, "Al segundo intento")
    assert [m.text for m in stub.messages_to(USER)] == ["Al segundo intento"]
