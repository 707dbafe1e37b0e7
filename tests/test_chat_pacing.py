"""One chat gets at most a short burst and then about one message a second (issue 13).

The stand-in plays Telegram's per-chat flood control (a leaky bucket answering 429 with
``retry_after``); the bot's limiter keeps each chat under its own pace, below the stand-in's,
so no 429 ever comes back. Times are the ones the stand-in recorded for each request: the
test waits only for the messages themselves, never for a fixed time. Rates are scaled up
(8 a second instead of 1) so the test takes about two seconds, not sixteen.
"""

from __future__ import annotations

import asyncio
from itertools import combinations, pairwise

import aiohttp

from bot.telegram_retry import ChatLimiters, bulk_sends
from bot.telegram_standin import BotApiStub
from tests.harness import running_bot

BUSY_CHAT, OTHER_CHAT, GERENTE = 4242, 4343, 9001
CHAT_RATE, CHAT_BURST = 8.0, 3  # the bot's pace per chat
STANDIN_RATE, STANDIN_BURST = 10.0, 4  # Telegram's (stand-in's) limit, a little above
MESSAGES = 16
SLACK = 0.1  # seconds: the bot and the stand-in see a request a moment apart (load)


def _within_pace(times: list[float], rate: float, burst: int) -> list[tuple[int, int, float]]:
    """Pairs (i, j) with more messages from i through j than a bucket lets through."""
    return [(i, j, times[j] - times[i]) for i, j in combinations(range(len(times)), 2)
            if j - i + 1 > burst + rate * (times[j] - times[i] + SLACK)]


async def test_standin_answers_429_when_one_chat_exceeds_its_burst():
    async with BotApiStub(token="123456:TEST-TOKEN", per_chat_rate_limit_per_second=1,
                          per_chat_burst=3) as stub, aiohttp.ClientSession() as http:
        url = f"{stub.base_url}{stub.token}/sendMessage"
        answers = []
        for chat in (BUSY_CHAT,) * 4 + (OTHER_CHAT,):
            async with http.post(url, json={"chat_id": chat, "text": "hola"}) as response:
                answers.append((response.status, await response.json()))
    assert [status for status, _ in answers] == [200, 200, 200, 429, 200]
    refused = answers[3][1]
    assert refused["error_code"] == 429 and refused["parameters"]["retry_after"] >= 1
    assert stub.flood_rejections == [("sendMessage", refused["parameters"]["retry_after"])]
    assert [m.chat_id for m in stub.sent] == [BUSY_CHAT] * 3 + [OTHER_CHAT]


async def test_many_messages_to_one_chat_are_paced_and_other_chats_are_not_held(db):
    overrides = {"telegram_chat_rate": CHAT_RATE, "telegram_chat_burst": CHAT_BURST}
    async with running_bot(db, settings_overrides=overrides, rate_limit_per_second=30,
                           per_chat_rate_limit_per_second=STANDIN_RATE,
                           per_chat_burst=STANDIN_BURST) as bot:
        await bot.register_gerente(GERENTE)
        sends = asyncio.gather(*(bot.app.bot.send_message(BUSY_CHAT, f"parte {i}")
                                 for i in range(MESSAGES)))
        # While the busy chat is being paced, another person's command is answered at once.
        await bot.stub._wait(lambda: len(bot.stub.messages_to(BUSY_CHAT)) >= CHAT_BURST, 10)
        reply = await bot.say(GERENTE, "/ayuda")
        await sends

    busy = bot.stub.messages_to(BUSY_CHAT)
    times = [m.time for m in busy]
    assert len(busy) == MESSAGES
    assert not bot.stub.flood_rejections  # the bot never went over the stand-in's limit
    assert not _within_pace(times, CHAT_RATE, CHAT_BURST)
    # Paced, not merely spread: 16 messages at 8/s after a burst of 3 take ~1.6 s.
    assert times[-1] - times[0] >= (MESSAGES - CHAT_BURST) / CHAT_RATE - SLACK
    assert reply.time < times[-1], "the other chat's reply waited behind the busy chat"
    assert "/resumen" in reply.text


async def test_without_the_pace_the_standin_refuses_the_burst(db):
    """The same 16 messages with the per-chat pace off: Telegram (the stand-in) answers 429,
    which is what the pace prevents. PTB's limiter retries after ``retry_after``."""
    async with running_bot(db, rate_limit_per_second=30,
                           per_chat_rate_limit_per_second=STANDIN_RATE,
                           per_chat_burst=STANDIN_BURST, flood_retry_after=1) as bot:
        await asyncio.gather(*(bot.app.bot.send_message(BUSY_CHAT, f"parte {i}")
                               for i in range(6)))
    assert bot.stub.flood_rejections
    assert len(bot.stub.messages_to(BUSY_CHAT)) == 6  # retried, nothing lost


async def test_drained_chat_buckets_are_dropped():
    limiters = ChatLimiters(rate=1, burst=3)
    first = limiters.of(1)
    assert limiters.of(1) is first
    for chat in range(2, 2000):
        limiters.of(chat)
    assert len(limiters) <= 1024  # untouched buckets are empty and were dropped


async def test_bulk_messages_to_one_chat_never_burst_and_leave_room_for_a_reply(db):
    """Reminders, escalations and digests (bulk) to one chat never use the burst: one at a
    time, at least 1 / rate apart and (burst - 1) / rate once the chat is busy; an
    interactive message to that chat meanwhile goes at once."""
    overrides = {"telegram_chat_rate": CHAT_RATE, "telegram_chat_burst": CHAT_BURST}
    async with running_bot(db, settings_overrides=overrides, rate_limit_per_second=30,
                           per_chat_rate_limit_per_second=STANDIN_RATE,
                           per_chat_burst=STANDIN_BURST) as bot:
        with bulk_sends():
            bulk = asyncio.gather(*(bot.app.bot.send_message(BUSY_CHAT, f"aviso {i}")
                                    for i in range(5)))
        await bot.stub._wait(lambda: len(bot.stub.messages_to(BUSY_CHAT)) >= 2, 10)
        reply = await bot.app.bot.send_message(BUSY_CHAT, "respuesta")  # interactive
        await bulk

    sent = bot.stub.messages_to(BUSY_CHAT)
    notices = [m.time for m in sent if m.text.startswith("aviso")]
    answer = next(m for m in sent if m.text == "respuesta")
    gaps = [b - a for a, b in pairwise(notices)]
    assert len(notices) == 5 and reply.text == "respuesta"
    assert min(gaps) >= 1 / CHAT_RATE - SLACK, gaps  # never two at once
    # 5 bulk messages with a burst of 3 would take 2 / rate; paced they take at least
    # 1 + 2 + 2 + 2 units (a bucket of 3 leaking 8 a second, each message taking 2).
    assert notices[-1] - notices[0] >= 7 / CHAT_RATE - SLACK, gaps
    assert answer.time < notices[-1], "the reply waited behind the bulk messages"
    assert not bot.stub.flood_rejections
