"""Report messages handled per second by the real bot, next to a bare PTB echo bot.

Both run in the same process, in the same run, against the same Bot API stand-in (served from
its own thread). N simulated coordinadores each report K indicators: per indicator one value
message and one remarks message, each waiting for the bot's answer before the next, as a
person would. The echo bot gets the same number of messages from the same number of people.

    .venv/bin/python -m bench.bench_report [--people 20] [--indicators 15]
        [--database-url postgresql://...] [--rate-limiter]

Figures: messages handled per second (all people together), and p50/p95 of the time from a
message being queued at the stand-in to the bot's reply arriving there. Without
``--rate-limiter`` both bots send as fast as they can (handling cost); with it ours uses
AIORateLimiter (Telegram's ~30 messages/s), which then dominates.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, MessageHandler, filters

from bot.app import build_application
from bot.clock import FrozenClock
from bot.services.registration import register_directly
from bot.settings import Settings
from bot.telegram_standin import BotApiStub
from storage.db import Database, normalize_url
from storage.models import ROLE_COORDINADOR, Indicator, Unit

TOKEN = "123456:BENCH-TOKEN-abcdefghijklmnopqrstuvwxyz"
NOW = datetime(2023, 4, 3, 16, 0, tzinfo=UTC)


def seed(session, people: int, indicators: int) -> None:
    for p in range(people):
        unit = Unit(clave=f"9{p:03d}", nombre=f"UNIDAD {p}")
        session.add(unit)
        session.flush()
        for k in range(indicators):
            session.add(Indicator(year=2023, unit_id=unit.id, accion=f"ACCION {k}",
                                  nombre=f"INDICADOR {k}", descripcion="Conteo mensual",
                                  meta=Decimal(1000), unidad_medida="PIEZAS",
                                  frecuencia="MENSUAL", position=k))
        session.flush()
        register_directly(session, telegram_user_id=10_000 + p, role=ROLE_COORDINADOR,
                          unit_claves=[unit.clave], name=f"Persona {p}", now=NOW)


async def start(app: Application) -> None:
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0, timeout=10)


async def stop(app: Application) -> None:
    await app.updater.stop()
    await app.stop()
    await app.shutdown()


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def drive(stub: BotApiStub, users: list[int], script) -> tuple[float, list[float]]:
    """Run ``script(user)`` (an async generator of texts) for every user concurrently; each
    text waits for the bot's next message. Returns (elapsed seconds, latencies)."""
    latencies: list[float] = []

    async def person(user: int) -> None:
        async for message in script(user):
            sent_at = time.monotonic()
            stub.send_text(user, message)
            reply = await stub.wait_for_message(user, lambda m: m.method == "sendMessage",
                                                timeout=60)
            latencies.append(reply.time - sent_at)

    began = time.monotonic()
    await asyncio.gather(*(person(u) for u in users))
    return time.monotonic() - began, latencies


@contextlib.contextmanager
def scratch_database(server_url: str | None) -> Iterator[str]:
    """A throw-away database: a SQLite file, or a new database on the PostgreSQL server
    ``server_url`` names (created and dropped here, so the named database is left alone)."""
    if not server_url:
        yield f"sqlite:///{tempfile.mkdtemp()}/bench.db"
        return
    admin = create_engine(normalize_url(server_url), isolation_level="AUTOCOMMIT")
    name = f"poa_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(normalize_url(server_url)).set(database=name).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


async def bench(args) -> None:
    with scratch_database(args.database_url) as url:
        results = await _bench(args, url)
    print_results(args, url, results)


def measure(people: int = 20, indicators: int = 15, database_url: str | None = None,
            rate_limiter: bool = False, db_workers: int = 4,
            echo_concurrency: int = 256) -> dict[str, dict[str, float]]:
    """One run, as figures: ``{"bot"|"echo": {"messages", "seconds", "rate", "p50", "p95"}}``
    (rates in messages/s, latencies in seconds). For ``bench.run_all``."""
    args = argparse.Namespace(people=people, indicators=indicators, database_url=database_url,
                              rate_limiter=rate_limiter, db_workers=db_workers,
                              echo_concurrency=echo_concurrency)

    async def run() -> dict:
        with scratch_database(database_url) as url:
            return await _bench(args, url)

    results = asyncio.run(run())
    keys = {"POA Bot (report)": "bot", "PTB echo bot": "echo"}
    return {keys[name]: figures(elapsed, latencies)
            for name, (elapsed, latencies) in results.items()}


def figures(elapsed: float, latencies: list[float]) -> dict[str, float]:
    return {"messages": len(latencies), "seconds": elapsed, "rate": len(latencies) / elapsed,
            "p50": percentile(latencies, 50), "p95": percentile(latencies, 95)}


async def _bench(args, url: str) -> dict[str, tuple[float, list[float]]]:
    handle = BotApiStub(token=TOKEN).run_in_thread()
    stub = handle.stub
    db = Database(url, workers=args.db_workers)
    db.migrate()
    db.call(seed, args.people, args.indicators)
    settings = Settings(_env_file=None, telegram_bot_token=TOKEN,
                        telegram_api_base_url=stub.base_url, database_url=url)
    users = [10_000 + p for p in range(args.people)]
    results = {}
    try:
        # --- the real bot: set up each report (not measured), then value + remarks ---------
        app = build_application(settings, db, clock=FrozenClock(NOW),
                                rate_limiter=args.rate_limiter)
        await start(app)

        async def open_reports() -> None:
            async def one(user: int) -> None:
                stub.send_text(user, "/reportar")
                choose = await stub.wait_for_message(user, lambda m: bool(m.buttons), 60)
                stub.press_button(user, choose.buttons[0][1])
                await stub.wait_for_message(user, lambda m: "Indicador 1" in (m.text or ""), 60)
            await asyncio.gather(*(one(u) for u in users))

        await asyncio.to_thread(handle.run, open_reports())

        async def report_script(user: int):
            for k in range(args.indicators):
                yield str(1000 + k)  # plausible: no confirmation step
                yield f"Observación {k}"

        elapsed, latencies = await asyncio.to_thread(
            handle.run, drive(stub, users, report_script))
        await stop(app)
        results["POA Bot (report)"] = (elapsed, latencies)

        # --- a bare PTB echo bot, same stand-in, same number of messages --------------------
        async def echo(update: Update, _context) -> None:
            await update.message.reply_text(update.message.text)

        builder = ApplicationBuilder().token(TOKEN).base_url(stub.base_url)
        echo_app = builder.concurrent_updates(args.echo_concurrency).build()
        echo_app.add_handler(MessageHandler(filters.TEXT, echo))
        await start(echo_app)
        echo_users = [20_000 + p for p in range(args.people)]

        async def echo_script(user: int):
            for k in range(args.indicators * 2):
                yield f"eco {k}"

        elapsed, latencies = await asyncio.to_thread(
            handle.run, drive(stub, echo_users, echo_script))
        await stop(echo_app)
        results["PTB echo bot"] = (elapsed, latencies)
    finally:
        handle.stop()
        db.dispose()

    assert not stub.rejections, stub.rejections
    return results


def print_results(args, url: str, results: dict[str, tuple[float, list[float]]]) -> None:
    print(f"\n{args.people} people × {args.indicators * 2} messages each; database "
          f"{'SQLite' if url.startswith('sqlite') else 'PostgreSQL'}; rate limiter "
          f"{'on' if args.rate_limiter else 'off'}; echo concurrency {args.echo_concurrency}")
    print(f"{'bot':<20}{'messages':>10}{'seconds':>10}{'msg/s':>10}{'p50 ms':>10}{'p95 ms':>10}")
    rates = {}
    for name, (elapsed, latencies) in results.items():
        rates[name] = len(latencies) / elapsed
        print(f"{name:<20}{len(latencies):>10}{elapsed:>10.2f}{rates[name]:>10.1f}"
              f"{percentile(latencies, 50) * 1000:>10.1f}{percentile(latencies, 95) * 1000:>10.1f}")
    print(f"ratio POA Bot / echo: {rates['POA Bot (report)'] / rates['PTB echo bot']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--indicators", type=int, default=15)
    parser.add_argument("--database-url",
                        help="PostgreSQL server URL: a scratch database is created there")
    parser.add_argument("--db-workers", type=int, default=4)
    parser.add_argument("--rate-limiter", action="store_true")
    parser.add_argument("--echo-concurrency", type=int, default=256,
                        help="concurrent_updates of the echo bot (1 = PTB's default)")
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
