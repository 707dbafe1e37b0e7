"""Tests of the Bot API stand-in itself, driven by a real PTB Application over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import html
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.telegram_standin import BotApiStub, parse_html, utf16_len

USER = 1001


@pytest.fixture
async def stub() -> AsyncIterator[BotApiStub]:
    async with BotApiStub(token="123456:TEST-TOKEN", bot_username="poa_test_bot") as s:
        yield s


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(update.effective_message.text)


async def _keyboard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Uno", callback_data="k:1"),
                                    InlineKeyboardButton("Dos", callback_data="k:2")]])
    await update.effective_message.reply_text("<b>Elige</b>", parse_mode="HTML",
                                              reply_markup=markup)


async def _chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer()
    await query.edit_message_text(f"Elegiste {html.escape(query.data)}")


def _builder(stub: BotApiStub) -> ApplicationBuilder:
    return (ApplicationBuilder().token(stub.token).base_url(stub.base_url)
            .base_file_url(stub.base_file_url))


@contextlib.asynccontextmanager
async def running(app: Application) -> AsyncIterator[Application]:
    app.add_handler(CommandHandler("keyboard", _keyboard))
    app.add_handler(CallbackQueryHandler(_chosen))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


@pytest.fixture
async def app(stub: BotApiStub) -> AsyncIterator[Application]:
    async with running(_builder(stub).build()) as application:
        yield application


async def test_echo_roundtrip(stub: BotApiStub, app: Application) -> None:
    update = stub.send_text(USER, "hola 😀")
    reply = await stub.wait_for_message(USER)
    assert reply.method == "sendMessage"
    assert reply.text == "hola 😀"
    assert reply.message_id == update["message"]["message_id"] + 1  # one id sequence per chat
    await stub.wait_until_idle()
    assert stub.rejections == []


async def test_keyboard_press_answer_and_edit(stub: BotApiStub, app: Application) -> None:
    stub.send_text(USER, "/keyboard")
    menu = await stub.wait_for_message(USER)
    assert menu.text == "Elige"
    assert menu.buttons == [("Uno", "k:1"), ("Dos", "k:2")]
    assert menu.result["entities"] == [{"type": "bold", "offset": 0, "length": 5}]

    query_id = stub.press_button(USER, "k:2")
    edited = await stub.wait_for_message(USER, lambda m: m.method == "editMessageText")
    assert edited.message_id == menu.message_id
    assert edited.text == "Elegiste k:2"
    assert stub.buttons(USER, menu.message_id) == []  # an edit without markup drops it
    await stub.wait_for_calls("answerCallbackQuery", 1)
    assert stub.unanswered_callback_queries() == []
    assert stub.rejections == []

    with pytest.raises(BadRequest, match="Query is too old"):
        await app.bot.answer_callback_query(query_id)  # already answered
    with pytest.raises(BadRequest, match="Query is too old"):
        await app.bot.answer_callback_query("nonexistent")


async def test_command_gets_bot_command_entity(stub: BotApiStub) -> None:
    update = stub.send_text(USER, "/start abc")
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert update["message"]["from"]["language_code"] == "es"
    assert update["message"]["chat"] == {"id": USER, "type": "private", "first_name": "Tester"}


async def test_text_length_is_counted_in_utf16_after_html(stub: BotApiStub,
                                                          app: Application) -> None:
    bot = app.bot
    await bot.send_message(USER, "x" * 4096)
    await bot.send_message(USER, "😀" * 2048)  # 4096 UTF-16 units
    await bot.send_message(USER, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    assert stub.rejections == []

    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "x" * 4097)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "😀" * 2049)  # only 2049 characters
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(USER, "<b> </b>", parse_mode="HTML")
    assert stub.rejections == [("sendMessage", "Bad Request: message is too long")] * 2 + [
        ("sendMessage", "Bad Request: message text is empty")]
    assert len(stub.messages_to(USER)) == 3


@pytest.mark.parametrize(("text", "error"), [
    ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
    ("a < b", 'Unsupported start tag "" at byte offset 2'),
    ("<script>alert(1)</script>", 'Unsupported start tag "script" at byte offset 0'),
    ("ñ<b>x</i>", 'Unmatched end tag at byte offset 6, expected "</b>", found "</i>"'),
    ("Q&A", 'Unescaped "&" at byte offset 1'),
])
async def test_bad_html_is_rejected(stub: BotApiStub, app: Application, text: str,
                                    error: str) -> None:
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await app.bot.send_message(USER, text, parse_mode="HTML")
    [(method, description)] = stub.rejections
    assert method == "sendMessage"
    assert description.startswith("Bad Request: can't parse entities: " + error)


async def test_escaped_html_passes(stub: BotApiStub, app: Application) -> None:
    raw = "a < b & <script> \"q\""
    message = await app.bot.send_message(USER, f"<i>{html.escape(raw)}</i> &#128512;",
                                         parse_mode="HTML")
    assert message.text == raw + " 😀"
    assert stub.rejections == []


def test_parse_html_entities_use_utf16_offsets() -> None:
    text, entities = parse_html('😀 <a href="https://x.org/?a=1&amp;b=2">l</a> '
                                '<pre><code class="language-py">x</code></pre>')
    assert text == "😀 l x"
    assert entities == [
        {"type": "text_link", "offset": 3, "length": 1, "url": "https://x.org/?a=1&b=2"},
        {"type": "pre", "offset": 5, "length": 1, "language": "py"},
    ]
    assert utf16_len("😀") == 2


async def test_callback_data_limit_is_in_bytes(stub: BotApiStub, app: Application) -> None:
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="a" * 64)]])
    await app.bot.send_message(USER, "fine", reply_markup=ok)
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("no", callback_data="é" * 33)]])
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await app.bot.send_message(USER, "65 bytes", reply_markup=too_long)
    assert stub.rejections == [("sendMessage", "Bad Request: BUTTON_DATA_INVALID")]


async def test_edit_not_modified_and_unknown(stub: BotApiStub, app: Application) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data="b")]])
    sent = await app.bot.send_message(USER, "same", reply_markup=markup)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await app.bot.edit_message_text("same", USER, sent.message_id, reply_markup=markup)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await app.bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=markup)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await app.bot.edit_message_text("x", USER, 999)
    await app.bot.edit_message_text("same", USER, sent.message_id)  # drops the keyboard
    assert [d.split(":")[1].strip() for _, d in stub.rejections] == [
        "message is not modified", "message is not modified", "message to edit not found"]


async def test_rate_limit_answers_429_and_aioratelimiter_retries(stub: BotApiStub) -> None:
    stub.rate_limit_per_second = 3
    stub.flood_retry_after = 1  # the server tells the client to wait 1 s; keeps the test fast
    # PTB's own throttling is off so the requests really hit the server's flood control.
    limiter = AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=3)
    bot_app = _builder(stub).rate_limiter(limiter).build()
    async with running(bot_app):
        await asyncio.gather(*(bot_app.bot.send_message(USER, f"m{i}") for i in range(5)))
    assert sorted(m.text for m in stub.messages_to(USER)) == [f"m{i}" for i in range(5)]
    assert stub.flood_rejections and all(r == ("sendMessage", 1) for r in stub.flood_rejections)
    assert stub.rejections == []


async def test_raw_error_shapes(stub: BotApiStub) -> None:
    stub.force_retry_after(7, count=1)
    async with aiohttp.ClientSession() as http:
        url = f"{stub.base_url}{stub.token}"
        async with http.post(f"{url}/sendMessage", json={"chat_id": 1, "text": "x"}) as r:
            assert r.status == 429
            assert await r.json() == {"ok": False, "error_code": 429,
                                      "description": "Too Many Requests: retry after 7",
                                      "parameters": {"retry_after": 7}}
        async with http.post(f"{stub.base_url}0:BAD/getMe") as r:
            assert (r.status, await r.json()) == (401, {"ok": False, "error_code": 401,
                                                        "description": "Unauthorized"})
        async with http.get(f"{url}/sendSticker") as r:
            assert (r.status, (await r.json())["description"]) == (404, "Not Found")
        async with http.post(f"{url}/sendmessage", data={"chat_id": "1", "text": "form"}) as r:
            assert (await r.json())["result"]["text"] == "form"  # case-insensitive, urlencoded
    assert stub.flood_rejections == [("sendMessage", 7)]
    assert stub.rejections == [("getMe", "Unauthorized"), ("sendSticker", "Not Found")]


async def test_blocked_chat_is_forbidden(stub: BotApiStub, app: Application) -> None:
    stub.block_chat(USER)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await app.bot.send_message(USER, "hola")
    assert stub.forbidden == [("sendMessage", "Forbidden: bot was blocked by the user")]
    assert stub.messages_to(USER) == []


async def test_wrong_token_is_invalid(stub: BotApiStub) -> None:
    bot = Bot("654321:WRONG", base_url=stub.base_url, base_file_url=stub.base_file_url)
    try:
        with pytest.raises(InvalidToken):
            await bot.initialize()  # calls getMe, like Application.initialize()
    finally:
        await bot.shutdown()
    assert stub.rejections == [("getMe", "Unauthorized")]


async def test_wait_for_message_timeout_shows_conversation(stub: BotApiStub) -> None:
    stub.send_text(USER, "¿hay alguien?")
    with pytest.raises(AssertionError, match=r"(?s)no matching message.*user: ¿hay alguien\?"):
        await stub.wait_for_message(USER, timeout=0.2)


async def test_upload_keeps_bytes_and_filename(stub: BotApiStub, app: Application) -> None:
    await app.bot.send_document(USER, document=b"PK\x03\x04data", filename="poa.xlsx",
                                caption="<b>Informe</b>", parse_mode="HTML")
    [record] = stub.sent[-1:]
    assert (record.method, record.document) == ("sendDocument", (b"PK\x03\x04data", "poa.xlsx"))
    assert record.text == record.caption == "Informe"
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await app.bot.send_photo(USER, photo=b"\x89PNG", caption="x" * 1025)


async def test_commands_are_stored_per_scope(stub: BotApiStub, app: Application) -> None:
    await app.bot.set_my_commands([BotCommand("start", "Empezar")])
    await app.bot.set_my_commands([BotCommand("admin", "Administrar")],
                                  scope=BotCommandScopeChat(USER))
    assert [c["command"] for c in stub.visible_commands(USER)] == ["admin"]
    assert [c["command"] for c in stub.visible_commands(2002)] == ["start"]
    assert [c.command for c in await app.bot.get_my_commands(scope=BotCommandScopeChat(USER))] \
        == ["admin"]
    await app.bot.delete_my_commands(scope=BotCommandScopeChat(USER))
    assert [c["command"] for c in stub.visible_commands(USER)] == ["start"]


async def test_injected_faults(stub: BotApiStub, app: Application) -> None:
    stub.inject_errors("sendMessage", [502, "timeout"])
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await app.bot.send_message(USER, "a")
    with pytest.raises(TimedOut):
        await app.bot.send_message(USER, "b", read_timeout=0.3)
    await app.bot.send_message(USER, "c")
    assert [m.text for m in stub.messages_to(USER)] == ["c"]
    assert stub.rejections == []


async def test_long_poll_offset_and_redelivery(stub: BotApiStub) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"{stub.base_url}{stub.token}/getUpdates"

        async def poll(**params: int) -> list[dict]:
            async with http.post(url, json=params) as response:
                return (await response.json())["result"]

        loop = asyncio.get_running_loop()
        queued: list[dict] = []
        loop.call_later(0.1, lambda: queued.append(stub.send_text(USER, "uno")))
        started = loop.time()
        updates = await poll(timeout=5)
        assert loop.time() - started < 2  # the long poll woke up on the new update
        first = queued[0]
        assert [u["update_id"] for u in updates] == [first["update_id"]]
        second = stub.send_text(USER, "dos")
        assert [u["update_id"] for u in await poll(offset=first["update_id"] + 1)] == [
            second["update_id"]]
        assert await poll(offset=second["update_id"] + 1, timeout=0) == []
        await stub.wait_until_idle()
        stub.redeliver(first["update_id"])
        assert await poll(offset=second["update_id"] + 1) == [first]
        assert await poll(offset=second["update_id"] + 1) == []


async def test_redelivered_update_is_processed_again(stub: BotApiStub, app: Application) -> None:
    update = stub.send_text(USER, "eco")
    await stub.wait_for_message(USER)
    stub.redeliver(update["update_id"])
    assert (await stub.wait_for_message(USER)).text == "eco"


async def test_run_in_thread() -> None:
    handle = BotApiStub().run_in_thread()
    try:
        handle.call(handle.stub.send_text, USER, "desde otro hilo")
        bot = Bot(handle.stub.token, base_url=handle.base_url)
        async with bot:
            [update] = await bot.get_updates(timeout=1)
            await bot.send_message(USER, update.message.text)
        calls = handle.run(handle.stub.wait_for_calls("sendMessage", 1, timeout=2))
        assert calls[0].params["text"] == "desde otro hilo"
    finally:
        handle.stop()



async def _alert(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.callback_query.answer("Ya no está vigente", show_alert=True)
    await update.callback_query.edit_message_text("Elegiste")


async def test_what_the_demo_page_reads() -> None:
    """``poa-bot demo``'s web chat shows a chat from these: every message as it stands after
    edits (the user's too), uploaded files, the texts of callback answers, a change version to
    long-poll on, and message dates from the stand-in's clock."""
    async with BotApiStub(token="123456:TEST-TOKEN", clock=lambda: 1_682_946_000) as stub:
        application = _builder(stub).build()
        application.add_handler(CommandHandler("keyboard", _keyboard))
        application.add_handler(CallbackQueryHandler(_alert))
        await application.initialize()
        await application.start()
        await application.updater.start_polling(poll_interval=0, timeout=1)
        try:
            version = stub.version
            stub.send_text(USER, "/keyboard")
            assert await stub.wait_for_change(version, timeout=5) > version
            menu = await stub.wait_for_message(USER)
            stub.press_button(USER, "k:1", menu.message_id)
            await stub.wait_for_message(USER, lambda m: m.method == "editMessageText")
            await stub.wait_for_calls("answerCallbackQuery", 1)
            assert [(a.user_id, a.text, a.show_alert) for a in stub.callback_answers] == [
                (USER, "Ya no está vigente", True)]
            assert stub.callback_answers[0].version <= stub.version
            chat = stub.chat_messages(USER)
            assert [(m["message_id"], m.get("text")) for m in chat] == [
                (1, "/keyboard"), (2, "Elegiste")]
            assert "reply_markup" not in chat[1] and "edit_date" in chat[1]
            assert {m["date"] for m in chat} == {1_682_946_000}

            await application.bot.send_document(USER, b"PK-xlsx", filename="POA-2023-04.xlsx",
                                                caption="POA · abril 2023")
            document = await stub.wait_for_message(USER, lambda m: m.method == "sendDocument")
            file_id = document.result["document"]["file_id"]
            assert stub.files[file_id] == (b"PK-xlsx", "POA-2023-04.xlsx")
            assert stub.rejections == []
        finally:
            await application.updater.stop()
            await application.stop()
            await application.shutdown()
