"""Conversation state survives restarts: a clean one, and ``kill -9`` of the real process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlmodel import select

from bot.clock import system_clock
from bot.domain.periods import Period
from bot.services.registration import register_directly
from bot.telegram_standin import BotApiStub
from storage.models import ROLE_COORDINADOR, Conversation, ReportedValue
from tests.harness import TEST_TOKEN, add_sample_catalog, button_data, running_bot

ANA, BETO = 1001, 1002
REPO = Path(__file__).resolve().parents[1]


async def values(db):
    return await db.run(lambda s: {(r.indicator_id, r.period): (r.value, r.observaciones)
                                   for r in s.exec(select(ReportedValue))})


async def test_restart_in_the_middle_continues_where_each_person_was(db):
    ids = await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"])
        await bot.register_coordinador(BETO, ["303"])
        await bot.start_report(ANA)  # one unit, one open period: the card at once
        saved = await bot.say(ANA, "255835")  # Ana: value kept, remarks awaited
        card_b = await bot.start_report(BETO)  # Beto: his card of March
        assert "faltan 2 de 3" in card_b.text  # Ana already reported the first one
        states = await db.run(lambda s: {c.chat_id for c in s.exec(select(Conversation))})
        assert states == {ANA, BETO}

        await bot.restart()

        # Ana's old button still works, and her next message is understood as before.
        card = await bot.press(ANA, button_data(saved, "Sin observaciones"))
        assert "faltan 2 de 3" in card.text and "1. Lecturas tomadas" in card.text
        # Beto's card survived too: /reportar continues it, it does not start over.
        again_b = await bot.say(BETO, "/reportar")
        assert "Seguimos donde te quedaste" in again_b.text and "faltan 2 de 3" in again_b.text
        confirm = await bot.say(ANA, "2558350")
        await bot.restart()
        ok = await bot.press(ANA, button_data(confirm, "Sí"))
        assert "Guardé 2,558,350" in ok.text
    stored = await values(db)
    assert stored[(ids["303"][0], "2023-03")] == (Decimal("255835"), "")
    assert stored[(ids["303"][1], "2023-03")] == (Decimal("2558350"), "")


async def test_kill_9_then_sigterm_of_the_real_process(db, tmp_path):
    """``poa-bot run`` as a process: killed with SIGKILL mid-conversation, started again,
    the person continues; then SIGTERM stops it cleanly. The token never reaches the logs."""
    today = system_clock()
    last_month = Period.month(today.year, today.month).previous()
    ids = await db.run(add_sample_catalog, last_month.year)
    await db.run(register_directly, telegram_user_id=ANA, role=ROLE_COORDINADOR,
                 unit_claves=["303"], name="Ana", now=datetime.now(UTC))
    async with BotApiStub(token=TEST_TOKEN) as stub:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TEST_TOKEN,
               "TELEGRAM_API_BASE_URL": stub.base_url, "DATABASE_URL": db.url,
               # Keep last month open whatever today's date is.
               "POA_DEADLINE_DAY": "28", "POA_GRACE_DAYS": "5", "PYTHONPATH": str(REPO)}
        env.pop("WEBHOOK_URL", None)

        async def start() -> asyncio.subprocess.Process:
            # deleteWebhook is the last call before polling starts (a getUpdates call is only
            # recorded when it returns, i.e. after a whole long poll).
            polls = len([c for c in stub.calls if c.method == "deleteWebhook"])
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            await stub.wait_for_calls("deleteWebhook", polls + 1, timeout=60)
            return process

        process = await start()
        stub.send_text(ANA, "/reportar")
        # (The reminders module may greet her first with its own message: skip it.) Early in
        # a month two periods may be open and she chooses; otherwise the card comes at once.
        first = await stub.wait_for_message(ANA, lambda m: "¿Qué periodo" in (m.text or "")
                                            or "faltan 3 de 3" in (m.text or ""))
        if "¿Qué periodo" in first.text:
            stub.press_button(ANA, button_data(first, last_month.label))
            first = await stub.wait_for_message(ANA, lambda m: "faltan 3 de 3" in (m.text or ""))
        assert last_month.label in first.text
        stub.send_text(ANA, "255835")
        saved = await stub.wait_for_message(ANA, lambda m: "Guardé" in (m.text or ""))

        process.kill()  # SIGKILL: no cleanup at all
        await process.wait()
        first_logs = (await process.stderr.read()).decode()

        process = await start()
        stub.press_button(ANA, button_data(saved, "Sin observaciones"))
        card = await stub.wait_for_message(ANA, lambda m: "faltan" in (m.text or ""))
        assert "faltan 2 de 3" in card.text
        stub.send_text(ANA, "255900")
        await stub.wait_for_message(ANA, lambda m: "Guardé 255,900" in (m.text or ""))

        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 30)
        logs = first_logs + (await process.stderr.read()).decode()
        assert code == 0, logs
        assert "POA Bot stopped" in logs
        assert TEST_TOKEN not in logs and TEST_TOKEN.split(":")[1] not in logs
        stub.assert_no_rejections()
    stored = await values(db)
    assert stored[(ids["303"][0], last_month.code)] == (Decimal("255835"), "")
    assert stored[(ids["303"][1], last_month.code)] == (Decimal("255900"), "")
