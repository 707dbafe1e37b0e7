"""The running bot, measured from outside: ``poa-bot run`` as a subprocess against the stand-in.

Every figure here is taken through the real process (its imports, its event loop, its
database threads, HTTP to the Bot API stand-in served from this process's own thread), the way
the issue measured it, not through the Application in-process:

* :func:`measure_summary` — a 10,000-indicator catalog (1,000 units × 10, every 2023 value):
  ``/resumen`` of a month and of the year 5 times each (the first builds, the others reuse),
  «Detalle por unidad» and 4 ▶ ◀ presses, and 5 ``/ayuda`` of a second gerente sent 0.1 s
  into a ``/resumen`` of a month nobody asked yet (the event loop must stay free while it
  builds); then the resident memory.
* :func:`measure_startup` — 3,000 registered people: seconds from launch to the first
  ``getUpdates``, on a first start (no menu set yet) and a second start; how many
  ``setMyCommands`` each start made, their pace, and that no chat got its menu twice.
* :func:`measure_fanout` — a gerente's ``/recordar`` reminds 3,000 coordinadores; meanwhile
  a coordinador asks ``/ayuda`` every 2 s: its reply latency, the overall send rate (busiest
  second) and the busiest chat's.
* :func:`measure_cpu` — report traffic (coordinadores each sending a value and its remarks,
  15 indicators) through ``poa-bot run`` and through a bare PTB echo bot (``bench.echo_bot``,
  also a subprocess) over the same stand-in: CPU seconds of each process per message (from
  ``/proc/<pid>/stat``) and messages per second, with the send limiter off
  (``TELEGRAM_RATE_LIMIT=false``); they take five turns each, and the figures are the
  medians of the turns. The bot sends through aiohttp (``bot.aiohttp_request``), PTB's
  default is httpx: a third process per turn, the echo bot on aiohttp, shows the ratio
  against an echo bot that sends as cheaply (context; the goal is against bare PTB).

    .venv/bin/python -m bench.bench_live [--part summary|startup|fanout|cpu]
        [--database-url postgresql://…]   # a server: scratch databases are made there

Figures on a shared 2-core machine are noisy: run it a few times and compare medians.

One file past 400 lines: the four parts share the subprocess, the stand-in and the scripted
people, and ``bench.run_all`` reads their figures from one place.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from bench import bench_summary
from bench.bench_report import scratch_database
from bot.services.registration import register_directly
from bot.telegram_standin import BotApiStub
from storage.db import Database
from storage.models import (
    ROLE_COORDINADOR,
    ROLE_GERENTE,
    ActionLine,
    Indicator,
    Person,
    PersonUnit,
    Unit,
)

TOKEN = "123456:BENCH-TOKEN-abcdefghijklmnopqrstuvwxyz"
GERENTE, OTHER_GERENTE, COORDINADOR, STRANGER = 2001, 2002, 1001, 999
MB = 1024 * 1024
TIMEZONE = ZoneInfo("America/Matamoros")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
POA_BOT = Path(sys.executable).with_name("poa-bot")
ROOT = Path(__file__).resolve().parents[1]


# --- the subprocess ------------------------------------------------------------------------

class LiveProcess:
    """A bot process (``poa-bot run`` or the echo bot) against the stand-in ``handle``."""

    def __init__(self, handle, url: str, folder: Path, *, command: list[str] | None = None,
                 **env: str):
        self.handle, self.stub = handle, handle.stub
        environment = {key: value for key, value in os.environ.items()
                       if not key.startswith(("TELEGRAM_", "DATABASE_", "WEBHOOK_", "POA_"))}
        environment.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=handle.base_url,
                           DATABASE_URL=url, **env)
        polls_before = handle.call(lambda: sum(1 for c in self.stub.calls
                                               if c.method == "getUpdates"))
        # The stand-in records a call when it is answered, and an empty long poll is held
        # for its timeout: with an update waiting, the first getUpdates is answered at once.
        handle.call(self.stub.send_text, STRANGER, "hola")
        started = time.monotonic()
        self.process = subprocess.Popen(command or [str(POA_BOT), "run"], cwd=folder,
                                        env=environment, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        handle.run(self.stub.wait_for_calls("getUpdates", polls_before + 1, timeout=120),
                   timeout=130)
        first_poll = handle.call(lambda: [c.time for c in self.stub.calls
                                          if c.method == "getUpdates"][polls_before])
        self.startup = first_poll - started

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime

    def memory(self) -> dict[str, int]:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return {line.split(":")[0]: int(line.split()[1]) * 1024
                for line in status.splitlines() if line.startswith(("VmRSS", "VmHWM"))}

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def stand_in(**options):
    handle = BotApiStub(token=TOKEN, **options).run_in_thread()
    try:
        yield handle
    finally:
        handle.stop()


# Telegram allows about one message a second per chat (short bursts tolerated) and the bot
# paces each chat so (TELEGRAM_CHAT_RATE); a person's commands and presses are spaced like a
# person's, so what is measured is the bot's work, not that pace.
HUMAN_PAUSE = 1.1  # seconds before each command or press in one chat


def ask(handle, user: int, text: str, *, timeout: float = 60):
    """Send ``text`` as ``user``; (seconds until the bot's next new message, that message)."""
    time.sleep(HUMAN_PAUSE)
    stub = handle.stub
    seen = handle.call(lambda: len(stub.messages_to(user)))
    started = time.monotonic()
    handle.call(stub.send_text, user, text)
    reply = handle.run(_next_message(stub, user, seen, timeout), timeout=timeout + 10)
    return reply.time - started, reply


async def _next_message(stub, user: int, seen: int, timeout: float):
    async def arrived() -> None:
        while True:
            new = [m for m in stub.messages_to(user)[seen:] if m.method == "sendMessage"]
            if new:
                return new[0]
            await stub._wait(lambda: len(stub.messages_to(user)) > seen, timeout)
            seen_now = len(stub.messages_to(user))
            if seen_now == seen:
                raise TimeoutError(f"no reply to {user}")
    return await asyncio.wait_for(arrived(), timeout)


def press(handle, user: int, data: str, message_id: int, *, timeout: float = 60) -> float:
    time.sleep(HUMAN_PAUSE)
    stub = handle.stub
    edits = handle.call(lambda: sum(1 for c in stub.calls if c.method == "editMessageText"))
    started = time.monotonic()
    handle.call(stub.press_button, user, data, message_id)
    handle.run(stub.wait_for_calls("editMessageText", edits + 1, timeout=timeout),
               timeout=timeout + 10)
    return handle.call(lambda: [c.time for c in stub.calls
                                if c.method == "editMessageText"][edits]) - started


# --- /resumen on the state-wide catalog --------------------------------------------------------

def build_catalog(url: str, indicators: int = 10_000, units: int = 1_000) -> int:
    db = Database(url)
    try:
        db.migrate()
        values = bench_summary.populate(db, indicators, units=units, years=(2023,))
        now = datetime.now(UTC)
        for user, role in ((GERENTE, ROLE_GERENTE), (OTHER_GERENTE, ROLE_GERENTE)):
            db.call(register_directly, telegram_user_id=user, role=role, name=f"G {user}",
                    now=now)
        db.call(register_directly, telegram_user_id=COORDINADOR, role=ROLE_COORDINADOR,
                unit_claves=["300"], name="Coordinador", now=now)
    finally:
        db.dispose()
    return values


def measure_summary(url: str, folder: Path, *, indicators: int = 10_000,
                    units: int = 1_000) -> dict:
    values = build_catalog(url, indicators, units)
    figures: dict = {"values": values, "indicators": indicators}
    with stand_in() as handle:
        bot = LiveProcess(handle, url, folder)
        try:
            for label, text in (("month", "/resumen marzo 2023"), ("year", "/resumen 2023")):
                times, reply = [], None
                for _ in range(5):
                    seconds, reply = ask(handle, GERENTE, text)
                    times.append(seconds)
                figures[label] = times
                # /resumen opens with the first screen; «📋 Detalle por unidad» is the paged
                # overview (its first press is one of the measured presses).
                detail = next(data for text_, data in handle.call(
                    handle.stub.buttons, GERENTE, reply.message_id) if "Detalle" in text_)
                figures[f"{label}_detail"] = press(handle, GERENTE, detail, reply.message_id)
                shown = handle.call(handle.stub.message, GERENTE, reply.message_id)["text"]
                figures[f"{label}_pages"] = shown.split("pág. 1/")[-1].split("\n")[0]
            presses = [figures["year_detail"]]
            for turn in range(4):  # ▶ ◀ ▶ ◀ (pressing the same page again edits nothing)
                arrow = "▶" if turn % 2 == 0 else "◀"
                buttons = handle.call(handle.stub.buttons, GERENTE, reply.message_id)
                data = next(data for label, data in buttons if arrow in label)
                presses.append(press(handle, GERENTE, data, reply.message_id))
            figures["presses"] = presses
            # Another gerente's /ayuda while a summary nobody asked yet is being built.
            waits, builds = [], []
            stub = handle.stub
            for month in ("enero", "febrero", "abril", "mayo", "junio"):
                seen = handle.call(lambda: len(stub.messages_to(GERENTE)))
                started = time.monotonic()
                handle.call(stub.send_text, GERENTE, f"/resumen {month} 2023")
                time.sleep(0.1)
                waits.append(ask(handle, OTHER_GERENTE, "/ayuda")[0])
                built = handle.run(_next_message(stub, GERENTE, seen, 60), timeout=70)
                builds.append(built.time - started)
            figures["ayuda_during_build"] = waits
            figures["cold_builds"] = builds
            figures["memory"] = bot.memory()
        finally:
            bot.stop()
        figures["rejections"] = len(handle.stub.rejections)
    return figures


# --- start-up with 3,000 people -----------------------------------------------------------

def add_people(session, people: int, first_chat: int, unit_clave: str = "303") -> list[int]:
    """``people`` coordinadores of ``unit_clave`` (bulk insert: the set-up is not measured)."""
    unit_id = session.execute(select(Unit.id).where(Unit.clave == unit_clave)).scalar_one()
    created = datetime(2023, 1, 1, tzinfo=UTC)
    session.execute(insert(Person), [
        {"telegram_user_id": first_chat + i, "chat_id": first_chat + i,
         "name": f"Coordinador {i}", "role": ROLE_COORDINADOR, "active": True,
         "created_at": created} for i in range(people)])
    ids = session.execute(select(Person.id).where(Person.chat_id >= first_chat)).scalars()
    session.execute(insert(PersonUnit), [{"person_id": i, "unit_id": unit_id} for i in ids])
    return [first_chat + i for i in range(people)]


def small_catalog(session, year: int) -> None:
    line = ActionLine(code="724", objetivo="OBJETIVO")
    session.add(line)
    for clave, nombre in (("303", "FACTURACION"), ("305", "CONTRATACION")):
        unit = Unit(clave=clave, nombre=nombre)
        session.add(unit)
        session.flush()
        for k in range(3):
            session.add(Indicator(year=year, unit_id=unit.id, action_line_id=line.id,
                                  accion=f"ACCION {k}", nombre=f"INDICADOR {k}",
                                  meta=Decimal(1000), unidad_medida="PIEZAS",
                                  frecuencia="MENSUAL", position=k))


def measure_startup(url: str, folder: Path, people: int = 3_000, watch: float = 5.0) -> dict:
    db = Database(url)
    db.migrate()
    db.call(small_catalog, 2023)
    chats = db.call(add_people, people, 100_000)
    db.dispose()
    figures: dict = {"people": people}
    with stand_in() as handle:
        stub = handle.stub
        for run in ("first", "second"):
            before = handle.call(lambda: len(stub.calls))
            bot = LiveProcess(handle, url, folder)
            time.sleep(watch)
            bot.stop()
            calls = handle.call(lambda b=before: [c for c in stub.calls[b:]
                                                  if c.method == "setMyCommands"])
            # People's menus that reached the stand-in before the first poll (the issue: one
            # per person, before polling). The default menu (strangers', one call) goes out
            # as polling starts and can arrive a fraction of a millisecond before the first
            # poll, which opens a connection of its own: that holds nothing back.
            first_poll = handle.call(lambda b=before: next(
                c.received for c in stub.calls[b:] if c.method == "getUpdates"))
            figures[run] = {"startup": bot.startup, "menus": len(calls),
                            "before_polling": sum(1 for c in calls if _menu_chat(c)
                                                  and c.received < first_poll),
                            "busiest_second": busiest_second([c.time for c in calls])}
        scoped = handle.call(lambda: Counter(
            _menu_chat(c) for c in stub.calls if c.method == "setMyCommands"))
        figures["set_twice"] = sum(1 for chat in chats if scoped[chat] > 1)
        figures["rejections"] = len(stub.rejections)
    return figures


def _menu_chat(call) -> int | None:
    """The chat a setMyCommands call set the menu of (None: the default menu)."""
    return call.params.get("scope", {}).get("chat_id")


def busiest_second(times: list[float]) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


# --- reminder fan-out and an interactive reply ---------------------------------------------

def measure_fanout(url: str, folder: Path, people: int = 3_000, probes: int = 5) -> dict:
    today = datetime.now(TIMEZONE).date()
    last_month = today.replace(day=1) - timedelta(days=1)
    db = Database(url)
    db.migrate()
    db.call(small_catalog, last_month.year)
    chats = db.call(add_people, people, 100_000)
    now = datetime.now(UTC)
    db.call(register_directly, telegram_user_id=GERENTE, role=ROLE_GERENTE, name="G", now=now)
    db.call(register_directly, telegram_user_id=COORDINADOR, role=ROLE_COORDINADOR,
            unit_claves=["305"], name="Coordinador", now=now)
    db.dispose()
    period = f"{last_month.year}-{last_month.month:02d}"
    with stand_in(rate_limit_per_second=30) as handle:
        stub = handle.stub
        # A long grace: the period stays open whatever today's date is.
        bot = LiveProcess(handle, url, folder, POA_GRACE_DAYS="60")
        try:
            handle.call(stub.send_text, GERENTE, f"/recordar {period}")
            handle.run(_wait_sent(stub, set(chats), 100), timeout=120)
            latencies = []
            for _ in range(probes):
                latencies.append(ask(handle, COORDINADOR, "/ayuda")[0])
                time.sleep(2)
            reminded = handle.call(lambda: sum(1 for m in stub.sent if m.chat_id in set(chats)))
        finally:
            bot.stop()
        # Messages (not setMyCommands or answerCallbackQuery, which have no chat).
        times = handle.call(lambda: [m.time for m in stub.sent if m.chat_id is not None])
        per_chat = handle.call(lambda: Counter(m.chat_id for m in stub.sent
                                               if m.chat_id is not None))
        methods = handle.call(lambda: Counter(
            (m.chat_id, (m.text or "")[:40]) for m in stub.sent
            if m.chat_id == max(per_chat, key=per_chat.get)).most_common(3))
        busiest_chat = max(per_chat, key=per_chat.get)
        chat_times = handle.call(lambda: [m.time for m in stub.sent
                                          if m.chat_id == busiest_chat])
        return {"people": people, "latencies": latencies, "busiest_chat_methods": methods,
                "reminded_meanwhile": reminded,
                "busiest_second": busiest_second(times),
                "busiest_chat_second": busiest_second(chat_times),
                "flood": len(stub.flood_rejections), "rejections": len(stub.rejections)}


async def _wait_sent(stub, chats: set[int], count: int) -> None:
    await stub._wait(lambda: sum(1 for m in stub.sent if m.chat_id in chats) >= count, 110)


# --- CPU per report message, next to an echo bot ---------------------------------------------

def report_catalog(session, people: int, indicators: int, year: int) -> list[int]:
    now = datetime.now(UTC)
    for p in range(people):
        unit = Unit(clave=f"9{p:03d}", nombre=f"UNIDAD {p}")
        session.add(unit)
        session.flush()
        for k in range(indicators):
            session.add(Indicator(year=year, unit_id=unit.id, accion=f"ACCION {k}",
                                  nombre=f"INDICADOR {k}", descripcion="Conteo mensual",
                                  meta=Decimal(1000), unidad_medida="PIEZAS",
                                  frecuencia="MENSUAL", position=k))
        session.flush()
        register_directly(session, telegram_user_id=10_000 + p, role=ROLE_COORDINADOR,
                          unit_claves=[unit.clave], name=f"Persona {p}", now=now)
    return [10_000 + p for p in range(people)]


async def _drive(stub, users: list[int], texts) -> tuple[float, int]:
    """Every user sends ``texts(user)`` one by one, each after the bot's answer to the last."""
    count = 0

    async def person(user: int) -> None:
        nonlocal count
        for text in texts(user):
            seen = len(stub.messages_to(user))
            stub.send_text(user, text)
            await _next_message(stub, user, seen, 60)
            count += 1

    began = time.monotonic()
    await asyncio.gather(*(person(u) for u in users))
    return time.monotonic() - began, count


# The machine's speed drifts by a fifth within a minute (echo bot: 1.2-1.5 ms per message from
# one run to the next): the bot and the two echo bots take turns, and each figure is the
# median of the turns.
CPU_TURNS = 5


def measure_cpu(url: str, folder: Path, people: int = 20, indicators: int = 15,
                turns: int = CPU_TURNS) -> dict:
    today = datetime.now(TIMEZONE).date()
    year = (today.replace(day=1) - timedelta(days=1)).year
    db = Database(url)
    db.migrate()
    users = db.call(report_catalog, people * turns, indicators, year)  # new people each turn
    db.dispose()
    measured = []
    with stand_in() as handle:
        for turn in range(turns):
            runs = {
                "bot": functools.partial(_bot_turn, handle, url, folder,
                                         users[turn * people:][:people], indicators),
                "echo": lambda: _echo_turn(handle, url, folder, people, indicators),
                "echo_aiohttp": lambda: _echo_turn(handle, url, folder, people, indicators,
                                                   "--aiohttp")}
            # The stand-in keeps every call and message, so each process meets it a little
            # fuller than the one before: whoever goes first changes from turn to turn.
            order = list(runs)[turn % len(runs):] + list(runs)[:turn % len(runs)]
            got = {name: runs[name]() for name in order}
            bot, echo, echo_aiohttp = got["bot"], got["echo"], got["echo_aiohttp"]
            measured.append({"bot": bot, "echo": echo, "echo_aiohttp": echo_aiohttp,
                             "cpu_ratio": bot["cpu_ms"] / echo["cpu_ms"],
                             "rate_ratio": bot["rate"] / echo["rate"],
                             "cpu_ratio_aiohttp": bot["cpu_ms"] / echo_aiohttp["cpu_ms"]})
        rejections = len(handle.stub.rejections)

    def median(side: str, key: str) -> float:
        return statistics.median(one[side][key] for one in measured)

    return {"bot": {"messages": measured[0]["bot"]["messages"],
                    "cpu_ms": median("bot", "cpu_ms"), "rate": median("bot", "rate")},
            "echo": {"cpu_ms": median("echo", "cpu_ms"), "rate": median("echo", "rate")},
            "echo_aiohttp": {"cpu_ms": median("echo_aiohttp", "cpu_ms"),
                             "rate": median("echo_aiohttp", "rate")},
            "cpu_ratio": statistics.median(one["cpu_ratio"] for one in measured),
            "cpu_ratio_aiohttp": statistics.median(one["cpu_ratio_aiohttp"]
                                                   for one in measured),
            "rate_ratio": statistics.median(one["rate_ratio"] for one in measured),
            "turns": measured, "rejections": rejections}


def _bot_turn(handle, url: str, folder: Path, users: list[int], indicators: int) -> dict:
    """``users`` open their report, then each sends a value and its remarks per indicator."""
    stub = handle.stub
    bot = LiveProcess(handle, url, folder, TELEGRAM_RATE_LIMIT="false", POA_GRACE_DAYS="60")
    try:
        async def open_reports() -> None:
            async def one(user: int) -> None:
                seen = len(stub.messages_to(user))
                stub.send_text(user, "/reportar")
                choose = await _next_message(stub, user, seen, 60)
                if choose.buttons:  # the period (the card may come as an edit)
                    stub.press_button(user, choose.buttons[0][1])
                    await stub.wait_for_message(
                        user, lambda m: "Indicador 1" in (m.text or ""), 60)
            await asyncio.gather(*(one(u) for u in users))
        handle.run(open_reports(), timeout=300)
        time.sleep(1)  # let start-up work (menus, reminders catch-up) settle

        def script(_user: int):
            for k in range(indicators):
                yield str(1000 + k)
                yield f"Observación {k}"

        cpu = bot.cpu_seconds()
        elapsed, count = handle.run(_drive(stub, users, script), timeout=600)
        return _per_message(count, elapsed, bot.cpu_seconds() - cpu)
    finally:
        bot.stop()


def _echo_turn(handle, url: str, folder: Path, people: int, indicators: int,
               *options: str) -> dict:
    """The same number of people and messages through the echo bot."""
    echo = LiveProcess(handle, url, folder, PYTHONPATH=str(ROOT),
                       command=[sys.executable, "-m", "bench.echo_bot", *options])
    try:
        users = [20_000 + p for p in range(people)]
        time.sleep(1)
        cpu = echo.cpu_seconds()
        elapsed, count = handle.run(
            _drive(handle.stub, users, lambda _u: [f"eco {k}" for k in range(indicators * 2)]),
            timeout=600)
        return _per_message(count, elapsed, echo.cpu_seconds() - cpu)
    finally:
        echo.stop()


def _per_message(count: int, seconds: float, cpu: float) -> dict:
    return {"messages": count, "rate": count / seconds, "cpu_ms": cpu / count * 1000}


# --- command line ---------------------------------------------------------------------------

def _median_worst(times: list[float]) -> str:
    return f"median {statistics.median(times):.3f} s, worst {max(times):.3f} s"


def report(part: str, kind: str, figures: dict) -> list[str]:
    if part == "summary":
        memory = figures["memory"]
        return [f"[{kind}] {figures['indicators']:,} indicators, {figures['values']:,} values",
                f"  /resumen month ({figures['month_pages']} pages): "
                f"{_median_worst(figures['month'])}",
                f"  /resumen year: {_median_worst(figures['year'])}",
                f"  ▶ presses: {_median_worst(figures['presses'])}",
                f"  cold /resumen of a new month: {_median_worst(figures['cold_builds'])}",
                f"  another gerente's /ayuda meanwhile: "
                f"{_median_worst(figures['ayuda_during_build'])}",
                f"  memory: VmRSS {memory['VmRSS'] / MB:.0f} MB, "
                f"peak {memory['VmHWM'] / MB:.0f} MB"]
    if part == "startup":
        lines = [f"[{kind}] {figures['people']:,} registered people"]
        for run in ("first", "second"):
            f = figures[run]
            lines.append(f"  {run} start: first getUpdates after {f['startup']:.2f} s; "
                         f"setMyCommands {f['menus']} ({f['before_polling']} people's before "
                         f"polling, busiest second {f['busiest_second']})")
        lines.append(f"  chats whose menu was set twice: {figures['set_twice']}")
        return lines
    if part == "fanout":
        return [f"[{kind}] /recordar to {figures['people']:,}: coordinador's /ayuda meanwhile "
                f"{_median_worst(figures['latencies'])}",
                f"  sends in the busiest second {figures['busiest_second']}, busiest chat "
                f"{figures['busiest_chat_second']}/s; 429s {figures['flood']}; reminded "
                f"while probing {figures['reminded_meanwhile']}; busiest chat's calls "
                f"{dict(figures['busiest_chat_methods'])}"]
    bot, echo, turns = figures["bot"], figures["echo"], figures["turns"]

    def each(key: str) -> str:
        return ", ".join(f"{turn[key]:.2f}" for turn in turns)

    return [f"[{kind}] report traffic, {bot['messages']} messages a turn (send limiter off), "
            f"medians of {len(turns)} turns each",
            f"  poa-bot run: {bot['cpu_ms']:.1f} ms CPU/message, {bot['rate']:.0f} msg/s",
            f"  echo bot:    {echo['cpu_ms']:.1f} ms CPU/message, {echo['rate']:.0f} msg/s",
            f"  CPU ratio {figures['cpu_ratio']:.2f} × echo (turns {each('cpu_ratio')}); "
            f"throughput {figures['rate_ratio']:.2f} × echo (turns {each('rate_ratio')})",
            f"  echo bot on aiohttp, as the bot sends: "
            f"{figures['echo_aiohttp']['cpu_ms']:.1f} ms CPU/message; CPU ratio "
            f"{figures['cpu_ratio_aiohttp']:.2f} × (turns {each('cpu_ratio_aiohttp')})"]


MEASURES = {"summary": measure_summary, "startup": measure_startup,
            "fanout": measure_fanout, "cpu": measure_cpu}


def run_part(part: str, server_url: str | None) -> tuple[str, dict]:
    folder = Path(tempfile.mkdtemp(prefix="poa-bench-live-"))
    try:
        with scratch_database(server_url) as url:
            kind = "sqlite" if url.startswith("sqlite") else "postgresql"
            return kind, MEASURES[part](url, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=sorted(MEASURES), action="append")
    parser.add_argument("--database-url", help="PostgreSQL server (scratch databases)")
    args = parser.parse_args(argv)
    for part in args.part or list(MEASURES):
        kind, figures = run_part(part, args.database_url)
        print("\n".join(report(part, kind, figures)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

