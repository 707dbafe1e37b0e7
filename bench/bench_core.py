"""Core benchmark: import a catalog 100× the seed report and time ``build_summary``.

What it does, on SQLite and (when ``POA_TEST_DATABASE_URL`` or ``DATABASE_URL`` names a
PostgreSQL server) on a fresh PostgreSQL database:

1. Writes a TSV 100× the seed: every section of the real report repeated with the unit
   claves renumbered (``303`` → ``30300`` … ``30399``): 900 units, 2,400 indicators.
2. Times ``read_report`` + ``import_report`` of that TSV for each of three years
   (2021–2023, the importer's ``year=`` roll-over): catalog plus the report's own values.
3. Bulk-inserts the rest of three years of values (every month / quarter / half of every
   indicator) with one multi-row INSERT per year, and times that too.
4. Times ``build_summary`` for a month (2023-03), a quarter (2023-Q2), a half (2023-S1)
   and the year (2023) over that database: median and best of ``--runs`` runs.

Run by hand (it prints figures, asserts nothing about time)::

    .venv/bin/python -m bench.bench_core                 # SQLite only
    POA_TEST_DATABASE_URL=$(cat /tmp/pgurl) .venv/bin/python -m bench.bench_core
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from bot.domain.periods import Frequency, Period, period_from_code
from bot.poa_report import read_report
from bot.services.importer import import_report
from bot.services.summary import build_summary
from storage.db import Database, normalize_url, redact_url
from storage.models import Indicator, ReportedValue, Unit

SEED = Path(os.environ.get("POA_SEED_TSV") or Path(__file__).resolve().parents[2]
            / "shared" / "poa" / "poa-2023-t1-gerencia-comercial.tsv")
YEARS = (2021, 2022, 2023)
ASKED = ("2023-03", "2023-Q2", "2023-S1", "2023")
TODAY = date(2024, 1, 20)  # every 2023 period is due and past its deadline
NOW = datetime(2024, 1, 20, 12, tzinfo=UTC)


def scaled_tsv(seed: Path, copies: int, out: Path) -> None:
    """The seed's sections ``copies`` times, unit claves renumbered per copy."""
    lines = seed.read_text(encoding="utf-8").splitlines()
    with out.open("w", encoding="utf-8") as handle:
        for copy in range(copies):
            for line in lines:
                cells = line.split("\t")
                if len(cells) >= 15 and cells[2].strip().isdigit():
                    cells[2] = f"{cells[2].strip()}{copy:02d}"
                handle.write("\t".join(cells) + "\n")


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def fill_year(db: Database, year: int, rng: random.Random) -> int:
    """Insert every missing value of ``year`` (one executemany); returns rows inserted."""
    with db.session() as session:
        indicators = session.execute(
            select(Indicator.id, Indicator.frecuencia, Indicator.meta, Indicator.aggregation)
            .where(Indicator.year == year)).all()
        existing = set(session.execute(
            select(ReportedValue.indicator_id, ReportedValue.period)
            .where(ReportedValue.year == year)).all())
        rows = []
        for indicator_id, frecuencia, meta, aggregation in indicators:
            frequency = Frequency.parse(frecuencia)
            for period in Period.whole_year(year).subperiods(frequency):
                if (indicator_id, period.code) in existing:
                    continue
                if aggregation == "last":  # cumulative share of the year, like 306 INSPECCION
                    value = min(meta * period.index, Decimal(100))
                else:
                    value = (meta * Decimal(rng.randint(60, 130)) / 100).quantize(Decimal(1))
                rows.append({
                    "indicator_id": indicator_id, "period": period.code, "year": year,
                    "period_start": period.start, "period_end": period.end, "value": value,
                    "meta": meta, "observaciones": "", "reported_at": NOW, "source": "cli",
                    "late": rng.random() < 0.05})
        if rows:
            session.execute(insert(ReportedValue), rows)
    return len(rows)


def bench_database(label: str, url: str, tsv: Path, runs: int,
                   copies: int) -> list[tuple[str, str, str]]:
    db = Database(url)
    db.migrate()
    results: list[tuple[str, str, str]] = []
    rng = random.Random(2023)
    try:
        for year in YEARS:
            def load(year=year):
                report = read_report(tsv)
                with db.session() as session:
                    import_report(session, report, year=year, now=NOW)
            results.append((label, f"read + import TSV ×{copies} as {year}",
                            f"{timed(load):.2f} s"))
        for year in YEARS:
            inserted = 0

            def fill(year=year):
                nonlocal inserted
                inserted = fill_year(db, year, rng)
            seconds = timed(fill)
            results.append((label, f"bulk insert {inserted:,} values of {year}",
                            f"{seconds:.2f} s"))
        with db.session() as session:
            counts = (session.scalar(select(func.count()).select_from(Unit)),
                      session.scalar(select(func.count()).select_from(Indicator)),
                      session.scalar(select(func.count()).select_from(ReportedValue)))
        results.append((label, "units / indicators / values",
                        " / ".join(f"{n:,}" for n in counts)))
        for code in ASKED:
            period = period_from_code(code)
            lines = 0

            def summarize(period=period):
                nonlocal lines
                summary = db.call(build_summary, period, today=TODAY)
                lines = sum(len(unit.lines) for unit in summary.units)
            times = [timed(summarize) for _ in range(runs)]
            results.append((label, f"build_summary {code} ({lines:,} lines)",
                            f"median {statistics.median(times) * 1000:.0f} ms, "
                            f"best {min(times) * 1000:.0f} ms"))
    finally:
        db.dispose()
    return results


def _postgres_admin_url() -> str | None:
    for name in ("POA_TEST_DATABASE_URL", "DATABASE_URL"):
        url = os.environ.get(name)
        if url and url.startswith(("postgres://", "postgresql")):
            return url
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=100, help="seed copies (default 100)")
    parser.add_argument("--runs", type=int, default=5, help="runs per summary (default 5)")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args(argv)
    results: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="poa-bench-") as tmp:
        tsv = Path(tmp) / "poa-x100.tsv"
        scaled_tsv(SEED, args.copies, tsv)
        results += bench_database("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", tsv,
                                  args.runs, args.copies)
        admin_url = None if args.sqlite_only else _postgres_admin_url()
        if admin_url:
            name = f"poa_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(normalize_url(admin_url)).set(database=name).render_as_string(
                hide_password=False)
            print(f"PostgreSQL: {redact_url(url)}", file=sys.stderr)
            try:
                results += bench_database("postgresql", url, tsv, args.runs, args.copies)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    widths = [max(len(row[i]) for row in results) for i in range(3)]
    for row in results:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
