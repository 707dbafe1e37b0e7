"""Interactive replies go before bulk sends (reminders, menus) in the rate limiter."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlmodel import select

from bot.telegram_retry import BULK, INTERACTIVE, PriorityPacer, bulk_sends, send_priority
from storage.models import ROLE_COORDINADOR, Person, PersonUnit, Unit
from tests.harness import add_sample_catalog, running_bot

GERENTE, ASKER, FIRST_CHAT, PEOPLE = 9001, 1001, 200_000, 60


async def test_pacer_serves_waiting_interactive_requests_before_bulk_ones():
    pacer = PriorityPacer(rate=200)
    order: list[str] = []

    async def request(name: str, priority: int) -> None:
        await pacer.acquire(priority)
        order.append(name)

    bulk = [asyncio.create_task(request(f"bulk {i}", BULK)) for i in range(6)]
    await asyncio.sleep(0)  # the bulk requests are queued (the first one went at once)
    interactive = asyncio.create_task(request("reply", INTERACTIVE))
    await asyncio.gather(*bulk, interactive)
    assert order[0] == "bulk 0"
    assert order[1] == "reply"  # ahead of the five bulk requests that were waiting
    assert order[2:] == [f"bulk {i}" for i in range(1, 6)]


async def test_cancelled_waiter_does_not_take_a_turn():
    pacer = PriorityPacer(rate=200)
    order: list[str] = []

    async def request(name: str) -> None:
        await pacer.acquire(INTERACTIVE)
        order.append(name)

    first = asyncio.create_task(request("first"))
    await asyncio.sleep(0)
    doomed = asyncio.create_task(request("doomed"))
    last = asyncio.create_task(request("last"))
    await asyncio.sleep(0)
    doomed.cancel()
    await asyncio.gather(first, last)
    assert order == ["first", "last"] and pacer.waiting == 0


async def test_bulk_context_reaches_tasks_created_inside_it():
    seen: list[int] = []

    async def probe() -> None:
        seen.append(send_priority())

    with bulk_sends():
        await asyncio.gather(probe(), probe())
    await probe()
    assert seen == [BULK, BULK, INTERACTIVE]


def _many_coordinadores(session) -> list[int]:
    unit = session.exec(select(Unit).where(Unit.clave == "303")).one()
    created = datetime(2023, 1, 1, tzinfo=UTC)
    persons = [Person(telegram_user_id=FIRST_CHAT + i, chat_id=FIRST_CHAT + i,
                      name=f"Coordinador {i}", role=ROLE_COORDINADOR, created_at=created)
               for i in range(PEOPLE)]
    session.add_all(persons)
    session.flush()
    session.add_all([PersonUnit(person_id=p.id, unit_id=unit.id) for p in persons])
    return [p.chat_id for p in persons]


async def test_reply_during_a_reminder_fan_out_is_not_queued_behind_it(db):
    await db.run(add_sample_catalog)
    chats = set(await db.run(_many_coordinadores))
    async with running_bot(db, rate_limiter=True, rate_limit_per_second=30) as bot:
        await bot.register_gerente(GERENTE)
        await bot.register_coordinador(ASKER, ["305"])
        bot.stub.send_text(GERENTE, "/recordar")

        def reminders_sent() -> int:
            return sum(1 for m in bot.stub.sent if m.chat_id in chats)

        await bot.stub._wait(lambda: reminders_sent() >= 5, 30)
        asked_at = reminders_sent()
        reply = await bot.say(ASKER, "/ayuda")
        answered_at = sum(1 for m in bot.stub.sent if m.chat_id in chats
                          and m.time <= reply.time)
        # Only reminders paced while the update was being handled went before the reply
        # (a few, at 29/s); a first-come-first-served limiter made it wait behind every
        # delivery already claimed and queued in the limiter (about 30).
        assert answered_at - asked_at <= 12, (asked_at, answered_at)
        assert "/reportar" in reply.text
        await bot.stub._wait(lambda: reminders_sent() == PEOPLE, 30)
    assert not bot.stub.flood_rejections
