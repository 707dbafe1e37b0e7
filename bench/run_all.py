"""All the benchmarks in one command, as one table: metric, measured, goal, met.

    .venv/bin/python -m bench.run_all            # full sizes (≈ 3–4 minutes)
    .venv/bin/python -m bench.run_all --quick    # small sizes (≈ 30 s), figures only indicative

What runs (SQLite, in a scratch directory; each measurement reuses its benchmark module):

1. **Report traffic** (:mod:`bench.bench_report`): 20 coordinadores × 15 indicators, value +
   remarks each, through the real Application and the Bot API stand-in, next to a bare PTB
   echo bot in the same run. Goal: at least half the echo bot's messages per second.
2. **Reminder fan-out** (:mod:`bench.bench_fanout`): 3,000 coordinadores reminded through
   the Application's rate limiter against a stand-in enforcing 30 messages/s. Goal: 0.9 of
   30/s or more, nobody lost or reminded twice.
3. **/resumen on the state-wide catalog** (:mod:`bench.bench_summary`): 10,000 indicators
   per year, 2021–2023, every value reported; the summary and its Telegram pages for a month
   and for the year. Goal: under 0.5 s.
4. **The running bot**: ``poa-bot run`` as a subprocess on that same database against the
   stand-in; a gerente asks /resumen for a month, a quarter and the year and pages through it,
   a coordinador uses /pendientes and /resumen; each reply's latency, then the process's
   resident memory (VmRSS now, VmHWM its peak) from ``/proc``. Goals: /resumen replies under
   0.5 s, memory under 150 MB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import bench_fanout, bench_report, bench_summary
from bot.domain.periods import Period
from bot.services.registration import register_directly
from bot.telegram_standin import BotApiStub
from storage.db import Database
from storage.models import ROLE_COORDINADOR, ROLE_GERENTE

TOKEN = "123456:BENCH-TOKEN-abcdefghijklmnopqrstuvwxyz"
GERENTE, COORDINADOR = 2001, 1001
MB = 1024 * 1024


@dataclass(frozen=True)
class Sizes:
    report_people: int
    report_indicators: int
    fanout_people: int
    catalog: int


FULL = Sizes(report_people=20, report_indicators=15, fanout_people=3000, catalog=10_000)
QUICK = Sizes(report_people=8, report_indicators=5, fanout_people=300, catalog=2_000)


@dataclass(frozen=True)
class Row:
    metric: str
    measured: str
    goal: str
    met: bool | None  # None: reported for context, no goal of its own


def report_rows(sizes: Sizes) -> list[Row]:
    figures = bench_report.measure(people=sizes.report_people,
                                   indicators=sizes.report_indicators)
    bot, echo = figures["bot"], figures["echo"]
    ratio = bot["rate"] / echo["rate"]
    return [
        Row(f"report messages/s ({bot['messages']} msgs; echo bot {echo['rate']:.0f}/s)",
            f"{bot['rate']:.0f}/s = {ratio:.2f} × echo", "≥ 0.5 × echo", ratio >= 0.5),
        Row("report reply latency p95 (p50)",
            f"{bot['p95'] * 1000:.0f} ms ({bot['p50'] * 1000:.0f} ms)",
            f"echo: {echo['p95'] * 1000:.0f} ms ({echo['p50'] * 1000:.0f} ms)", None),
    ]


def fanout_rows(sizes: Sizes) -> list[Row]:
    figures = bench_fanout.measure(people=sizes.fanout_people)
    exact = figures["lost"] == 0 and figures["duplicated"] == 0 and not figures["rejections"]
    return [
        Row(f"reminder fan-out, {sizes.fanout_people:,} people",
            f"{figures['rate']:.1f}/s = {figures['fraction']:.2f} of 30/s "
            f"({figures['elapsed']:.0f} s)", "≥ 0.90 of 30/s", figures["fraction"] >= 0.9),
        Row("fan-out lost / duplicated / refused",
            f"{figures['lost']} / {figures['duplicated']} / {figures['rejections']}",
            "0 / 0 / 0", exact),
    ]


def build_catalog(folder: Path, sizes: Sizes) -> tuple[str, int, float]:
    url = f"sqlite:///{folder / 'catalog.db'}"
    db = Database(url)
    db.migrate()
    started = time.perf_counter()
    values = bench_summary.populate(db, sizes.catalog)
    seconds = time.perf_counter() - started
    now = datetime.now(UTC)
    db.call(register_directly, telegram_user_id=GERENTE, role=ROLE_GERENTE, name="Gerente",
            now=now)
    db.call(register_directly, telegram_user_id=COORDINADOR, role=ROLE_COORDINADOR,
            unit_claves=["300"], name="Coordinador", now=now)
    db.dispose()
    return url, values, seconds


def summary_rows(url: str, sizes: Sizes, values: int) -> list[Row]:
    db = Database(url)
    rows = []
    try:
        for label, period in (("mes", Period.month(2023, 3)), ("año", Period.whole_year(2023))):
            best, (_summary, pages) = bench_summary.timed(db, bench_summary.summary_and_pages,
                                                          period, repeat=3)
            rows.append(Row(f"/resumen {label}, {sizes.catalog:,} indicators × 3 years "
                            f"({values:,} values): summary + {len(pages)} pages",
                            f"{best:.3f} s", "< 0.5 s", best < 0.5))
    finally:
        db.dispose()
    return rows


def running_bot_rows(url: str, folder: Path) -> list[Row]:
    """``poa-bot run`` against the stand-in: /resumen latencies, then VmRSS/VmHWM."""
    handle = BotApiStub(token=TOKEN).run_in_thread()
    stub = handle.stub
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TELEGRAM_", "DATABASE_", "WEBHOOK_", "POA_"))}
    env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=handle.base_url,
               DATABASE_URL=url)
    poa_bot = Path(sys.executable).with_name("poa-bot")
    process = subprocess.Popen([str(poa_bot), "run"], cwd=folder, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    latencies: dict[str, float] = {}
    try:
        handle.run(stub.wait_for_calls("getUpdates", 1, timeout=60), timeout=70)

        def ask(user: int, text: str) -> object:
            started = time.monotonic()
            handle.call(stub.send_text, user, text)
            reply = handle.run(stub.wait_for_message(user, lambda m: m.method == "sendMessage",
                                                     timeout=60), timeout=70)
            latencies[text if user == GERENTE else f"{text} (coordinador)"] = (
                reply.time - started)
            return reply

        for text in ("/resumen marzo 2023", "/resumen T1 2023", "/resumen 2023"):
            reply = ask(GERENTE, text)
        next_page = [data for label, data in reply.buttons if "▶" in label]
        if next_page:
            started = time.monotonic()
            handle.call(stub.press_button, GERENTE, next_page[0], reply.message_id)
            handle.run(stub.wait_for_calls("editMessageText", 1, timeout=60), timeout=70)
            latencies["/resumen 2023 ▶ next page"] = time.monotonic() - started
        for text in ("/pendientes", "/resumen 2023", "/ayuda"):
            ask(COORDINADOR, text)
        status = Path(f"/proc/{process.pid}/status").read_text()
        memory = {line.split(":")[0]: int(line.split()[1]) * 1024
                  for line in status.splitlines() if line.startswith(("VmRSS", "VmHWM"))}
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        handle.stop()
    assert not stub.rejections, stub.rejections
    slowest = max((seconds, text) for text, seconds in latencies.items()
                  if text.startswith("/resumen"))
    rows = [Row(f"/resumen reply in the running bot, slowest of {len(latencies) - 2} "
                f"({slowest[1]})", f"{slowest[0]:.3f} s", "< 0.5 s", slowest[0] < 0.5)]
    rows.append(Row("resident memory of `poa-bot run` with that catalog: now (peak)",
                    f"{memory['VmRSS'] / MB:.0f} MB ({memory['VmHWM'] / MB:.0f} MB)",
                    "< 150 MB", memory["VmHWM"] < 150 * MB))
    return rows


def print_table(rows: list[Row], quick: bool) -> None:
    header = ("metric", "measured", "goal", "met")
    cells = [header] + [(r.metric, r.measured, r.goal,
                         "—" if r.met is None else ("yes" if r.met else "NO")) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(4)]
    print()
    if quick:
        print("QUICK RUN: smaller sizes than the goals are stated for; figures are indicative.")
    for index, row in enumerate(cells):
        print(" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if index == 0:
            print("-|-".join("-" * w for w in widths))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"small sizes ({QUICK.fanout_people} people in the fan-out, "
                             f"{QUICK.catalog:,} indicators)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    folder = Path(tempfile.mkdtemp(prefix="poa-bench-all-"))
    rows: list[Row] = []
    try:
        print("1/4 report traffic vs echo bot…", file=sys.stderr, flush=True)
        rows += report_rows(sizes)
        print(f"2/4 reminder fan-out to {sizes.fanout_people:,} people…", file=sys.stderr,
              flush=True)
        rows += fanout_rows(sizes)
        print(f"3/4 state-wide catalog ({sizes.catalog:,} indicators × 3 years)…",
              file=sys.stderr, flush=True)
        url, values, seconds = build_catalog(folder, sizes)
        print(f"    {values:,} values loaded in {seconds:.0f} s", file=sys.stderr, flush=True)
        rows += summary_rows(url, sizes, values)
        print("4/4 poa-bot run on that catalog…", file=sys.stderr, flush=True)
        rows += running_bot_rows(url, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print_table(rows, args.quick)
    return 0 if all(row.met is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
