"""All the benchmarks in one command, as one table: metric, measured, goal, met.

    .venv/bin/python -m bench.run_all                     # SQLite (≈ 6–8 minutes)
    POA_TEST_DATABASE_URL=postgresql://… .venv/bin/python -m bench.run_all   # + PostgreSQL

Everything that concerns the running bot is measured through ``poa-bot run`` as a subprocess
against the Bot API stand-in (:mod:`bench.bench_live`): ``/resumen`` on a 10,000-indicator
catalog (month and year, 5 times each, ▶ presses, another gerente's ``/ayuda`` while a new
summary is built, resident memory), start-up with 3,000 registered people, a coordinador's
reply during a 3,000-person ``/recordar``, and CPU per report message next to a bare PTB echo
bot (also a subprocess) over the same traffic. The import rows (120,000 values into a fresh
database, on SQLite and on PostgreSQL) and the xlsx-export row come from
``bench.bench_import``.

Wall-clock figures on a shared 2-core machine are noisy: run it a few times and compare
medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from dataclasses import dataclass

from bench import bench_live

MB = 1024 * 1024


@dataclass(frozen=True)
class Row:
    metric: str
    measured: str
    goal: str
    met: bool | None  # None: reported for context, or not measured


def _median_worst(times: list[float]) -> str:
    return f"{statistics.median(times):.3f} s median, {max(times):.3f} s worst"


def summary_rows(kind: str, figures: dict) -> list[Row]:
    rows = []
    for label in ("month", "year"):
        times = figures[label]
        rows.append(Row(f"[{kind}] /resumen {label}, {figures['indicators']:,} indicators "
                        f"(5 asks)", _median_worst(times), "< 0.3 s median, < 0.5 s worst",
                        statistics.median(times) < 0.3 and max(times) < 0.5))
    presses = figures["presses"]
    rows.append(Row(f"[{kind}] /resumen page buttons ▶ ◀ (5 presses)", _median_worst(presses),
                    "< 0.1 s", max(presses) < 0.1))
    waits = figures["ayuda_during_build"]
    rows.append(Row(f"[{kind}] another gerente's /ayuda during a new /resumen "
                    f"(build {statistics.median(figures['cold_builds']):.2f} s)",
                    _median_worst(waits), "< 0.05 s", max(waits) < 0.05))
    memory = figures["memory"]
    rows.append(Row(f"[{kind}] resident memory of poa-bot run after these: now (peak)",
                    f"{memory['VmRSS'] / MB:.0f} MB ({memory['VmHWM'] / MB:.0f} MB)",
                    "< 150 MB", memory["VmHWM"] < 150 * MB))
    return rows


def startup_rows(kind: str, figures: dict) -> list[Row]:
    first, second = figures["first"], figures["second"]
    return [
        Row(f"[{kind}] start-up to first getUpdates, {figures['people']:,} people: "
            f"first (second) start",
            f"{first['startup']:.2f} s ({second['startup']:.2f} s)", "< 2 s",
            max(first["startup"], second["startup"]) < 2),
        Row(f"[{kind}] people's setMyCommands before polling; busiest second; set twice",
            f"{first['before_polling'] + second['before_polling']}; "
            f"{max(first['busiest_second'], second['busiest_second'])}/s; "
            f"{figures['set_twice']}", "0; ≤ 30/s; 0",
            first["before_polling"] + second["before_polling"] == 0
            and max(first["busiest_second"], second["busiest_second"]) <= 30
            and figures["set_twice"] == 0),
    ]


def fanout_rows(kind: str, figures: dict) -> list[Row]:
    return [
        Row(f"[{kind}] coordinador's reply during a {figures['people']:,}-person /recordar "
            f"(5 asks)", _median_worst(figures["latencies"]), "< 1.5 s",
            max(figures["latencies"]) < 1.5),
        Row(f"[{kind}] sends: busiest second overall; busiest chat; 429s",
            f"{figures['busiest_second']}/s; {figures['busiest_chat_second']}/s; "
            f"{figures['flood']}", "≤ 30/s; ≤ 1/s; 0",
            figures["busiest_second"] <= 30 and figures["busiest_chat_second"] <= 1
            and figures["flood"] == 0),
    ]


def cpu_rows(kind: str, figures: dict) -> list[Row]:
    bot, echo = figures["bot"], figures["echo"]
    turns = len(figures["turns"])
    rows = [Row(f"[{kind}] CPU per report message (median of {turns} turns; echo "
                f"{echo['cpu_ms']:.1f} ms)",
                f"{bot['cpu_ms']:.1f} ms = {figures['cpu_ratio']:.2f} × echo", "≤ 2 × echo",
                figures["cpu_ratio"] <= 2)]
    aiohttp = figures["echo_aiohttp"]
    rows.append(Row(f"[{kind}] the same against an echo bot sending through aiohttp as the "
                    f"bot does (echo {aiohttp['cpu_ms']:.1f} ms)",
                    f"{figures['cpu_ratio_aiohttp']:.2f} × that echo", "(context)", None))
    goal = "≥ 0.5 × echo" if kind == "postgresql" else "(context)"
    rows.append(Row(f"[{kind}] report messages/s, send limiter off (echo {echo['rate']:.0f}/s)",
                    f"{bot['rate']:.0f}/s = {figures['rate_ratio']:.2f} × echo", goal,
                    figures["rate_ratio"] >= 0.5 if kind == "postgresql" else None))
    return rows


def import_rows(servers: list[str | None]) -> list[Row]:
    """The import (per database) and xlsx-export figures of ``bench.bench_import``."""
    from bench import bench_import

    rows = []
    for server in servers:
        figures = bench_import.measure_import(server)
        kind = "postgresql" if server else "sqlite"
        rows.append(Row(f"[{kind}] import 120,000 values", figures["measured"], figures["goal"],
                        figures["met"]))
    figures = bench_import.measure_xlsx_export()
    rows.append(Row("xlsx export state-wide quarter", figures["measured"], figures["goal"],
                    figures["met"]))
    return rows


PARTS = (("summary", summary_rows), ("startup", startup_rows), ("fanout", fanout_rows),
         ("cpu", cpu_rows))


def print_table(rows: list[Row]) -> None:
    header = ("metric", "measured", "goal", "met")
    cells = [header] + [(r.metric, r.measured, r.goal,
                         "—" if r.met is None else ("yes" if r.met else "NO")) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(4)]
    print()
    for index, row in enumerate(cells):
        print(" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if index == 0:
            print("-|-".join("-" * w for w in widths))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("POA_TEST_DATABASE_URL"),
                        help="PostgreSQL server for the PostgreSQL rows (scratch databases); "
                             "default POA_TEST_DATABASE_URL")
    parser.add_argument("--skip-import", action="store_true",
                        help="leave out bench.bench_import's rows")
    args = parser.parse_args(argv)
    servers = [None] + ([args.database_url] if args.database_url else [])
    rows: list[Row] = []
    for part, to_rows in PARTS:
        for server in servers if part in ("summary", "cpu") else [None]:
            print(f"{part} ({'PostgreSQL' if server else 'SQLite'})…", file=sys.stderr,
                  flush=True)
            kind, figures = bench_live.run_part(part, server)
            print("\n".join(bench_live.report(part, kind, figures)), file=sys.stderr,
                  flush=True)
            rows += to_rows(kind, figures)
    if not args.skip_import:
        rows += import_rows(servers)
    print_table(rows)
    return 0 if all(row.met is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
