"""Fault suite: the Bot API answering 502s and timeouts for a while, and 429 storms.

Replies and reminders must arrive once Telegram recovers, none twice, and a value the person
typed stays stored whatever happened to the reply. The stand-in's injected "timeout" holds the
request open and then answers 504 (Telegram's own gateway timeout); ``hang_seconds`` keeps that
short.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.clock import FrozenClock
from bot.scheduler import scheduler_of
from bot.telegram_retry import TRANSIENT_RETRIES
from storage.models import ReminderLog, ReportedValue
from tests.harness import add_sample_catalog, button_data, running_bot

pytestmark = pytest.mark.fault

ANA, BETO, CARLA = 1001, 1002, 1003
PEOPLE = ((ANA, "303"), (BETO, "305"), (CARLA, "306"))
METAS = {"303": "255835", "305": "150", "306": "150"}  # first indicator of each unit
TZ = ZoneInfo("America/Matamoros")
HANG = 0.2  # seconds an injected "timeout" keeps the request open before the 504


def sent_texts(stub, chat_id: int, fragment: str) -> list[str]:
    return [m.text for m in stub.messages_to(chat_id)
            if m.method == "sendMessage" and fragment in (m.text or "")]


async def stored(db) -> dict[int, Decimal]:
    return await db.run(lambda s: {v.indicator_id: v.value
                                   for v in s.exec(select(ReportedValue))})


async def open_card(bot, user_id: int):
    card = await bot.say(user_id, "/reportar")  # one open period: no choice, the card at once
    if "¿Qué periodo" in card.text:  # 305 also owes its quarter
        card = await bot.press(user_id, button_data(card, "marzo"))
    assert "marzo 2023 · faltan" in card.text, card.text
    return card


async def test_replies_arrive_once_after_502s_and_timeouts_of_send_message(db):
    await db.run(add_sample_catalog)
    async with running_bot(db, hang_seconds=HANG) as bot:
        stub = bot.stub
        await bot.register_coordinador(ANA, ["303"])
        await open_card(bot, ANA)
        failures = [502, "timeout"]  # within the retries: the person notices nothing
        stub.inject_errors("sendMessage", failures)
        saved = await bot.say(ANA, "255835")
        assert "Guardé 255,835" in saved.text
        await bot.idle()
        failed = [c for c in stub.calls if c.method == "sendMessage" and c.status != 200]
        assert [c.status for c in failed] == [502, 504]
        assert len(sent_texts(stub, ANA, "Guardé 255,835")) == 1
        # The remaining buttons and answers work as usual.
        card = await bot.press(ANA, button_data(saved, "Sin observaciones"))
        assert "faltan 2 de 3" in card.text


async def test_a_reply_lost_for_good_keeps_the_value_and_the_person_can_ask_again(db):
    ids = await db.run(add_sample_catalog)
    async with running_bot(db, hang_seconds=HANG) as bot:
        stub = bot.stub
        await bot.register_coordinador(ANA, ["303"])
        await open_card(bot, ANA)
        # Longer than the retries: the reply is lost; the explanation goes out once it's back.
        stub.inject_errors("sendMessage", [502] * (TRANSIENT_RETRIES + 1))
        stub.send_text(ANA, "255835")
        notice = await bot.next_message(ANA)
        assert "quedó guardado" in notice.text and "/reportar" in notice.text, notice.text
        assert (await stored(db))[ids["303"][0]] == Decimal("255835")
        again = await bot.say(ANA, "/reportar")
        assert "Seguimos donde te quedaste" in again.text and "255,835" in again.text
        card = await bot.press(ANA, button_data(again, "Sin observaciones"))
        assert "faltan 2 de 3" in card.text
        await bot.idle()
        # The lost reply is not sent late on top of the question asked again.
        assert sent_texts(stub, ANA, "Guardé 255,835") == []
        assert len(sent_texts(stub, ANA, "Seguimos donde te quedaste")) == 1


async def test_updates_sent_while_get_updates_fails_are_answered_once_after(db):
    await db.run(add_sample_catalog)
    async with running_bot(db, hang_seconds=HANG) as bot:
        stub = bot.stub
        await bot.register_coordinador(ANA, ["303"])
        await open_card(bot, ANA)
        stub.inject_errors("getUpdates", [502, "timeout"])
        await bot.say(ANA, "/pendientes")  # ends the running long poll; the next ones fail
        saved = await bot.say(ANA, "255835",  # waits in Telegram until polling recovers
                              lambda m: "Guardé" in (m.text or ""))
        assert "Guardé 255,835" in saved.text
        failed = [c.status for c in stub.calls if c.method == "getUpdates" and c.status != 200]
        assert failed == [502, 504]
        await bot.idle()
        assert len(sent_texts(stub, ANA, "Guardé 255,835")) == 1


async def test_429_storm_delays_replies_of_several_people_but_each_arrives_once(db):
    ids = await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        stub = bot.stub
        cards = {}
        for user_id, clave in PEOPLE:
            await bot.register_coordinador(user_id, [clave])
            cards[user_id] = await open_card(bot, user_id)
        # Three 429s (retry_after 1 s) for whoever sends next; AIORateLimiter waits them out.
        stub.force_retry_after(1, count=3)
        for user_id, clave in PEOPLE:
            stub.send_text(user_id, METAS[clave])
        replies = await asyncio.gather(*(bot.next_message(u) for u, _c in PEOPLE))
        assert all("Guardé" in r.text for r in replies), [r.text for r in replies]
        await bot.idle()
        assert len(stub.flood_rejections) == 3
        for user_id, _clave in PEOPLE:
            assert len(sent_texts(stub, user_id, "Guardé")) == 1
        values = await stored(db)
        assert {c: values[ids[c][0]] for _u, c in PEOPLE} == {
            c: Decimal(meta) for c, meta in METAS.items()}


async def test_reminders_failing_for_a_while_go_out_once_on_a_later_tick(db):
    await db.run(add_sample_catalog)
    clock = FrozenClock(datetime(2023, 4, 3, 9, 0, tzinfo=TZ).astimezone(UTC))
    async with running_bot(db, clock=clock, hang_seconds=HANG) as bot:
        stub = bot.stub
        for user_id, clave in PEOPLE:
            await bot.register_coordinador(user_id, [clave])
        scheduler = scheduler_of(bot.app)
        # Telegram down for longer than one message's retries: some reminders fail this tick.
        # Exactly enough failures for every attempt of the three sends of this tick.
        stub.inject_errors("sendMessage", [502, "timeout"] * 6)
        assert 3 * (TRANSIENT_RETRIES + 1) == 12
        stub.force_retry_after(1, count=2)
        first = await scheduler.tick(bot.app.bot, wait=True)
        assert first.failed == 3 and first.sent == 0, first
        outcomes = await db.run(lambda s: sorted(r.outcome for r in s.exec(select(ReminderLog))))
        assert "failed" in outcomes
        second = await scheduler.tick(bot.app.bot, wait=True)  # next minute's tick
        assert second.sent == first.failed and second.failed == 0, second
        assert (await scheduler.tick(bot.app.bot, wait=True)).planned == 0
        for user_id, _clave in PEOPLE:
            assert len(sent_texts(stub, user_id, "Recordatorio POA")) == 1
        outcomes = await db.run(lambda s: {r.outcome for r in s.exec(select(ReminderLog))})
        assert outcomes == {"sent"}
