"""Fan-out benchmark: reminders to N coordinadores through the real Application and PTB's
AIORateLimiter, against the Bot API stand-in enforcing Telegram's 30 messages per second.

    .venv/bin/python bench/bench_fanout.py            # 3,000 people, SQLite (≈ 100 s)
    .venv/bin/python bench/bench_fanout.py --people 300 --database-url postgresql://...

Prints the achieved rate as a fraction of 30/s, the 429 answers received, and checks every
chat got exactly one message (lost = chats with none, duplicated = extra messages).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import select

from bot.app import build_application
from bot.clock import FrozenClock
from bot.scheduler import scheduler_of
from bot.settings import Settings
from bot.telegram_standin import BotApiStub
from storage.db import Database
from storage.models import ROLE_COORDINADOR, Person, PersonUnit, Unit
from tests.harness import add_sample_catalog

TOKEN = "123456:BENCH-TOKEN-abcdefghijklmnopqrstuvwxyz"
TELEGRAM_RATE = 30
FIRST_CHAT = 100_000


def seed(session, people: int) -> list[int]:
    """The sample catalog and ``people`` coordinadores of unit 303 (all with pending values)."""
    add_sample_catalog(session, 2023)
    unit = session.exec(select(Unit).where(Unit.clave == "303")).one()
    created = datetime(2023, 1, 1, tzinfo=UTC)
    persons = [Person(telegram_user_id=FIRST_CHAT + i, chat_id=FIRST_CHAT + i,
                      name=f"Coordinador {i}", role=ROLE_COORDINADOR, created_at=created)
               for i in range(people)]
    session.add_all(persons)
    session.flush()
    session.add_all([PersonUnit(person_id=p.id, unit_id=unit.id) for p in persons])
    return [p.chat_id for p in persons]


async def fan_out(settings: Settings, db: Database, clock: FrozenClock):
    app = build_application(settings, db, clock=clock, handler_modules=["handlers.reminders"])
    await app.initialize()
    try:
        scheduler = scheduler_of(app)
        started = time.perf_counter()
        result = await scheduler.tick(app.bot, wait=True)
        ticks = 1
        # A transient failure (flood retries exhausted) is retried by the next minute's tick;
        # run those ticks at once so the figure covers complete delivery.
        while (await scheduler.tick(app.bot, wait=True)).planned:
            ticks += 1
        elapsed = time.perf_counter() - started
    finally:
        await app.shutdown()
    return result, elapsed, ticks


def measure(people: int = 3000, database_url: str | None = None) -> dict:
    """Remind ``people`` coordinadores once, as figures (``rate`` in messages/s, ``fraction``
    of Telegram's 30/s, ``lost``/``duplicated`` chats, 429 answers...). For ``bench.run_all``.
    """
    workdir = tempfile.mkdtemp(prefix="poa-bench-")
    url = database_url or f"sqlite:///{workdir}/bench.db"
    db = Database(url)
    db.migrate()
    chats = db.call(seed, people)

    stub = BotApiStub(TOKEN, rate_limit_per_second=TELEGRAM_RATE)
    handle = stub.run_in_thread()
    try:
        settings = Settings(_env_file=None, telegram_bot_token=TOKEN,
                            telegram_api_base_url=handle.base_url, database_url=url)
        # 3 April 2023, 09:00 in Matamoros: the second reminder of March's reporting window.
        clock = FrozenClock(datetime(2023, 4, 3, 9, 0, tzinfo=ZoneInfo("America/Matamoros")))
        result, elapsed, ticks = asyncio.run(fan_out(settings, db, clock))
        sent = handle.call(lambda: [m.chat_id for m in stub.sent if m.text is not None])
        flood = handle.call(lambda: len(stub.flood_rejections))
        rejections = handle.call(lambda: list(stub.rejections))
    finally:
        handle.stop()
        db.dispose()

    per_chat = Counter(sent)
    rate = len(sent) / elapsed
    return {"database": db.engine.dialect.name, "result": result, "ticks": ticks,
            "elapsed": elapsed, "messages": len(sent), "rate": rate,
            "fraction": rate / TELEGRAM_RATE, "flood": flood, "rejections": len(rejections),
            "lost": sum(1 for chat in chats if per_chat[chat] == 0),
            "duplicated": sum(count - 1 for count in per_chat.values() if count > 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    figures = measure(args.people, args.database_url)
    limiter = "bot.app's rate limiter"
    result = figures["result"]
    print(f"people: {args.people}  database: {figures['database']}  limiter: {limiter}")
    print(f"planned: {result.planned}  sent: {result.sent}  failed: {result.failed}  "
          f"rejected: {result.rejected}  ticks until nothing was due: {figures['ticks']}")
    print(f"elapsed: {figures['elapsed']:.1f} s  messages: {figures['messages']}  "
          f"rate: {figures['rate']:.2f}/s  = {figures['fraction']:.3f} of {TELEGRAM_RATE}/s")
    print(f"429 answers: {figures['flood']}  lost: {figures['lost']}  "
          f"duplicated: {figures['duplicated']}  stub rejections: {figures['rejections']}")
    lost, duplicated, rejections = figures["lost"], figures["duplicated"], figures["rejections"]
    return 0 if lost == 0 and duplicated == 0 and not rejections else 1


if __name__ == "__main__":
    raise SystemExit(main())
