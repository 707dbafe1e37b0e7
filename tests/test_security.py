"""The claims of SECURITY.md, one test each (SECURITY.md links here by test name)."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

import aiohttp
import pytest
from sqlmodel import select
from telegram.ext import Application

from bot.cli import main as cli_main
from bot.commands import run as run_command
from bot.logging_setup import TOKEN_PATTERN, RedactTokenFilter, configure_logging
from bot.services.registration import (
    TOKEN_BYTES,
    RegistrationError,
    create_invitation,
    hash_token,
    redeem_invitation,
)
from bot.settings import Settings
from bot.webhook import SECRET_HEADER
from handlers.common import STRANGER_TEXT
from storage.db import Database, redact_url
from storage.models import (
    Invitation,
    LockEvent,
    PeriodLock,
    Person,
    ReminderLog,
    ReportedValue,
    Revision,
)
from tests.harness import (
    DEFAULT_NOW,
    TEST_TOKEN,
    add_sample_catalog,
    running_bot,
)
from tests.test_webhook import UPDATE as WEBHOOK_UPDATE
from tests.test_webhook import head, raw, webhook_bot

ANA, GERENTE, STRANGER = 1001, 2001, 7777
DB_PASSWORD = "S3cr3t-Passw0rd"


# --- logs ------------------------------------------------------------------------------------

@pytest.fixture
def captured_log():
    """Everything logged through the bot's own logging setup as ``poa-bot -v`` configures it,
    with the HTTP clients turned up to DEBUG on top: httpx (the CLI's one-off calls) logs every
    request URL, token included; aiohttp (the bot's requests) logs none."""
    root = logging.getLogger()
    saved_level = root.level
    saved_filters = {handler: list(handler.filters) for handler in root.handlers}
    noisy = {name: logging.getLogger(name).level
             for name in ("httpx", "httpcore", "aiohttp", "telegram")}
    for name in noisy:
        logging.getLogger(name).setLevel(logging.NOTSET)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    configure_logging(verbose=True)
    for name in ("httpx", "httpcore", "aiohttp"):  # URLs carry the token: any, redacted
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(saved_level)
    for other, filters in saved_filters.items():
        other.filters[:] = filters
    for name, level in noisy.items():
        logging.getLogger(name).setLevel(level)


async def test_token_never_reaches_the_log_even_at_debug(db, captured_log):
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        created = await db.run(create_invitation, role="coordinador", unit_claves=["303"],
                               name="Ana", now=bot.clock(), days=7)
        await bot.say(ANA, f"/start {created.token}")
        await bot.say(ANA, "/reportar")
        await bot.say(ANA, "texto-privado-de-ana")
        bot.stub.inject_errors("sendMessage", [400])  # an error path with a traceback too
        bot.stub.send_text(ANA, "/ayuda")
        await bot.idle()
        bot.stub.rejections.clear()  # the injected 400 is ours, not the bot's
    text = captured_log.getvalue()
    assert "BadRequest" in text and "send_html" in text  # the failed send's traceback
    assert TEST_TOKEN not in text and TEST_TOKEN.split(":")[1] not in text
    assert created.token not in text, "invitation token logged"
    assert "texto-privado-de-ana" not in text, "what people write is logged"


def test_a_token_inside_an_exception_is_redacted_too():
    record_filter = RedactTokenFilter()
    token = "987654321:AAHfakeTOKENfakeTOKENfakeTOKEN12345"
    try:
        raise RuntimeError(f"POST https://api.telegram.org/bot{token}/getMe failed")
    except RuntimeError as error:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "calling %s", (token,),
                                   (type(error), error, error.__traceback__))
    record_filter.filter(record)
    formatted = logging.Formatter().format(record)
    assert token not in formatted and formatted.count("<token>") == 2
    assert TOKEN_PATTERN.fullmatch(token)


def test_the_database_password_is_never_printed_or_logged(monkeypatch, tmp_path, capsys,
                                                          captured_log):
    url = f"postgresql://poa:{DB_PASSWORD}@127.0.0.1:1/poa"  # nothing listens on port 1
    assert DB_PASSWORD not in redact_url(url) and "***" in redact_url(url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TEST_TOKEN)
    assert cli_main(["resumen", "--period", "2023-03"]) == 1  # cannot connect: says where
    err = capsys.readouterr().err
    assert "127.0.0.1" in err and DB_PASSWORD not in err
    # poa-bot run logs the database it uses on start.
    monkeypatch.setattr(Application, "run_polling", lambda self, **kwargs: None)
    settings = Settings(_env_file=None, telegram_bot_token=TEST_TOKEN, database_url=url)
    database = Database(url)
    try:
        assert run_command.run(None, settings, database) == 0
    finally:
        database.dispose()
    logged = captured_log.getvalue()
    assert "POA Bot starting (database postgresql+psycopg://poa:***@127.0.0.1:1/poa" in logged
    assert DB_PASSWORD not in logged


@pytest.mark.parametrize("url", [
    f"postgresql://poa:{DB_PASSWORD}@db.example.org:5432/poa",
    f"postgres://poa:{DB_PASSWORD}@localhost/poa?sslmode=require",
    f"postgresql+psycopg://poa:{DB_PASSWORD}@localhost/poa",
])
def test_redact_url_hides_the_password(url):
    shown = redact_url(url)
    assert DB_PASSWORD not in shown and "poa:***@" in shown


def test_settings_never_print_the_secrets():
    settings = Settings(_env_file=None, telegram_bot_token=TEST_TOKEN,
                        webhook_secret_token="webhook-secret-value")
    for text in (repr(settings), str(settings), str(settings.model_dump())):
        assert TEST_TOKEN not in text and "webhook-secret-value" not in text
    assert settings.token() == TEST_TOKEN


# --- invitations -----------------------------------------------------------------------------

def test_invitations_are_random_hashed_single_use_bound_and_expire(db):
    db.call(add_sample_catalog)
    now = DEFAULT_NOW
    first = db.call(create_invitation, role="coordinador", unit_claves=["303"], name="Ana",
                    now=now, days=7)
    second = db.call(create_invitation, role="coordinador", unit_claves=["303"], name="Ana",
                     now=now, days=7)
    assert first.token != second.token and len(first.token) >= 32  # 24 random bytes
    assert TOKEN_BYTES >= 16
    rows = db.call(lambda s: [(i.token_hash, i.role, i.unit_claves) for i in
                              s.exec(select(Invitation)).all()])
    assert [r[0] for r in rows] == [hash_token(first.token), hash_token(second.token)]
    assert all(first.token not in str(row) and second.token not in str(row) for row in rows)

    person, _ = db.call(redeem_invitation, token=first.token, telegram_user_id=ANA,
                        chat_id=ANA, telegram_name="x", now=now)
    assert (person.role, person.unit_claves) == ("coordinador", ("303",))  # the invitation's
    with pytest.raises(RegistrationError) as used:
        db.call(redeem_invitation, token=first.token, telegram_user_id=5002, chat_id=5002,
                telegram_name="y", now=now)
    assert used.value.reason == "used"
    with pytest.raises(RegistrationError) as expired:
        db.call(redeem_invitation, token=second.token, telegram_user_id=5003, chat_id=5003,
                telegram_name="z", now=now + timedelta(days=7))
    assert expired.value.reason == "expired"
    with pytest.raises(RegistrationError) as unknown:
        # One character changed (never to itself: a token ending in "x" would stay valid).
        forged = first.token[:-1] + ("y" if first.token.endswith("x") else "x")
        db.call(redeem_invitation, token=forged, telegram_user_id=5004,
                chat_id=5004, telegram_name="w", now=now)
    assert unknown.value.reason == "unknown"
    people = db.call(lambda s: [p.telegram_user_id for p in s.exec(select(Person)).all()])
    assert people == [ANA]


# --- roles -----------------------------------------------------------------------------------

def _guarded_rows(session):
    return {
        "locks": session.exec(select(PeriodLock)).all(),
        "lock_events": session.exec(select(LockEvent)).all(),
        "invitations": len(session.exec(select(Invitation)).all()),
        "reminders": session.exec(select(ReminderLog)).all(),
        "values": sorted((v.indicator_id, v.period, v.value) for v in
                         session.exec(select(ReportedValue)).all()),
        "revisions": len(session.exec(select(Revision)).all()),
    }


async def test_a_coordinador_cannot_see_or_change_other_units_or_use_gerente_powers(db):
    ids = await db.run(add_sample_catalog)
    other_indicator = ids["305"][0]
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        await bot.register_gerente(GERENTE)
        before = await db.run(_guarded_rows)
        refused = await bot.say(ANA, "/resumen 305 marzo")
        assert "Solo puedes consultar tus unidades: 303" in refused.text
        for command in ("/reabrir 2023-02", "/cerrar 2023-03", "/recordar",
                        "/recordatorios"):
            reply = await bot.say(ANA, command)
            assert reply.text == "Este comando es solo para gerentes.", command
        reply = await bot.say(ANA, "/invitar 305")
        assert reply.text == "Solo un gerente puede invitar personas."
        reply = await bot.say(ANA, "/invitar gerente")
        assert reply.text == "Solo un gerente puede invitar personas."
        # Buttons naming another unit, its indicator or a closed period change nothing.
        for data in (f"c:i:{other_indicator}:2023-03", "r:p:305:2023-03", "r:u:306",
                     "r:p:303:2023-02", "rs:p:2023-03:305:0", "rs:u:2023-03:*:0:305:0"):
            bot.stub.press_button(ANA, data)
        await bot.idle()
        assert await db.run(_guarded_rows) == before
        answers = [c.params.get("text") for c in bot.stub.calls
                   if c.method == "answerCallbackQuery"]
        assert answers[-6:] == ["Este botón ya no es válido."] * 6
        # The gerente, by contrast, may.
        reply = await bot.say(GERENTE, "/cerrar 2023-03 305")
        assert "quedó cerrado para la unidad 305" in reply.text
    assert len((await db.run(_guarded_rows))["lock_events"]) == 1


async def test_a_coordinador_exports_and_charts_only_their_units(db):
    ids = await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"])
        choose = await bot.say(ANA, "/reportar")
        await bot.press(ANA, choose.buttons[0][1])
        await bot.say(ANA, "255835")
        bot.stub.send_text(ANA, "/exportar 2023-03 csv")
        csv = await bot.stub.wait_for_message(
            ANA, lambda m: m.method == "sendDocument" and m.document[1].endswith(".csv"))
        text = csv.document[0].decode("utf-8-sig")
        assert "FACTURACION" in text and "CONTRATACION" not in text and "ALTOS" not in text
        bot.stub.send_text(ANA, "/grafica 2023-03 305")
        refused = await bot.next_message(ANA, lambda m: "Solo puedes" in m.text)
        assert "Solo puedes consultar tus unidades: 303" in refused.text
        assert not [m for m in bot.stub.sent if m.method == "sendPhoto"]
    del ids


# --- strangers -------------------------------------------------------------------------------

async def test_a_stranger_gets_one_line_for_every_kind_of_update(db):
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"])
        created = await db.run(create_invitation, role="gerente", unit_claves=[], name="",
                               now=bot.clock() - timedelta(days=30), days=1)
        user = {"id": STRANGER, "is_bot": False, "first_name": "Eve"}
        private = {"id": STRANGER, "type": "private", "first_name": "Eve"}
        group = {"id": -1001, "type": "supergroup", "title": "grupo"}
        message = {"message_id": 1, "from": user, "chat": private, "date": 1_680_000_000}
        one_line = [
            lambda: bot.stub.send_text(STRANGER, "hola"),
            lambda: bot.stub.send_text(STRANGER, "255835"),
            lambda: bot.stub.send_text(STRANGER, "/resumen 303"),
            lambda: bot.stub.send_text(STRANGER, "/exportar"),
            lambda: bot.stub.send_text(STRANGER, "/reabrir 2023-02"),
            lambda: bot.stub.send_text(STRANGER, "/invitar gerente"),
            lambda: bot.stub.send_text(STRANGER, "/start"),
            lambda: bot.stub.send_text(STRANGER, "/start token-inventado"),
            lambda: bot.stub.send_text(STRANGER, f"/start {created.token}"),  # expired
            lambda: bot.stub.send_text(STRANGER, f"/start@otro_bot {created.token}"),
            lambda: bot.stub.send_text(STRANGER, "/comando_raro"),
            lambda: bot.stub.press_button(STRANGER, "r:p:303:2023-03"),
            lambda: bot.stub.press_button(STRANGER, "rs:p:2023-03:*:0"),
            lambda: bot.stub.queue_raw_update({"callback_query": {
                "id": "q-no-message", "from": user, "chat_instance": "1", "data": "r:u:303"}}),
            lambda: bot.stub.queue_raw_update({"edited_message": {**message, "text": "x",
                                                                  "edit_date": 1_680_000_001}}),
            lambda: bot.stub.queue_raw_update({"message": {**message, "message_id": 2,
                                                           "photo": [{"file_id": "p",
                                                                      "file_unique_id": "p",
                                                                      "width": 1,
                                                                      "height": 1}]}}),
            lambda: bot.stub.queue_raw_update({"message": {**message, "message_id": 3,
                                                           "document": {"file_id": "d",
                                                                        "file_unique_id": "d"}}}),
        ]
        silent = [  # the bot works in private chats only; channel posts have no sender
            lambda: bot.stub.queue_raw_update({"message": {**message, "message_id": 4,
                                                           "chat": group, "text": "/resumen"}}),
            lambda: bot.stub.queue_raw_update({"channel_post": {**message, "message_id": 5,
                                                                "chat": group, "text": "hola"}}),
        ]
        for send in one_line + silent:
            send()
        await bot.idle()
        got = bot.stub.messages_to(STRANGER)
        assert len(got) == len(one_line), bot.stub.transcript(STRANGER)
        assert [m.text for m in got].count(STRANGER_TEXT) == len(one_line) - 2
        assert sorted({m.text for m in got} - {STRANGER_TEXT}) == [
            "Esa invitación no es válida. Revisa que el enlace esté completo o pide una nueva "
            "a tu gerente.", "Esa invitación venció. Pide una nueva a tu gerente."]
        assert all(not m.buttons for m in got)
        assert [m for m in bot.stub.sent if m.chat_id in (STRANGER, -1001)
                and m.method != "sendMessage"] == []
        # And a registered person writing in a group gets nothing either.
        bot.stub.queue_raw_update({"message": {**message, "message_id": 6, "chat": group,
                                               "from": {"id": ANA, "is_bot": False,
                                                        "first_name": "Ana"},
                                               "text": "/resumen"}})
        await bot.idle()
        assert bot.stub.messages_to(-1001) == []
        people = await db.run(lambda s: [p.telegram_user_id for p in s.exec(select(Person))])
        assert STRANGER not in people


# --- webhook ---------------------------------------------------------------------------------

def test_without_a_configured_secret_each_run_makes_a_random_one():
    settings = Settings(_env_file=None, webhook_url="https://poa.example.org/telegram")
    first, second = run_command.webhook_secret(settings), run_command.webhook_secret(settings)
    assert first != second and len(first) >= 40
    configured = Settings(_env_file=None, webhook_secret_token="configured-secret")
    assert run_command.webhook_secret(configured) == "configured-secret"


async def test_webhook_mode_refuses_updates_without_the_secret_header(db):
    """Served as `poa-bot run` serves it (tests/test_webhook.py checks that wiring)."""
    secret = "s3cret-header-value"
    async with webhook_bot(db, webhook_secret_token=secret) as (stub, port):
        assert stub.webhook_url == "https://poa.example.org/telegram"
        body = json.dumps(WEBHOOK_UPDATE).encode()
        for wrong in (None, "", "wrong", secret[:-1], secret + "x"):
            # Refused from the headers alone, before the body is read.
            assert await raw(port, head(len(body), secret=wrong)) == 403, wrong
        async with aiohttp.ClientSession() as session, session.post(
                f"http://127.0.0.1:{port}/telegram", json=WEBHOOK_UPDATE,
                headers={SECRET_HEADER: secret}) as response:
            assert response.status == 200
        reply = await stub.wait_for_message(STRANGER)
        assert reply.text == STRANGER_TEXT and len(stub.messages_to(STRANGER)) == 1
