"""Benchmark of /resumen (and the POA export) on a state-wide catalog.

Builds a catalog of N indicators per POA year over 200 units (80 % monthly, 15 % quarterly,
5 % semiannual; one in twenty a '%' indicator) for three years (2021–2023) with every value
of every period reported, then times, for a month, a quarter and the year:

* ``build_summary`` (the engine and its queries) and the Telegram rendering into pages;
* the POA export's ``build_report`` and, for the quarter, writing the .xlsx;

and counts the SQL statements each one runs at 1,000 and at N indicators (they must not
grow with the catalog). SQLite always; PostgreSQL too when ``POA_TEST_DATABASE_URL`` names
a server (a scratch database is created and dropped).

    .venv/bin/python bench/bench_summary.py [--indicators 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, event, insert, select, text
from sqlalchemy.engine import make_url

from bot.domain.periods import Frequency, Period
from bot.poa_report.xlsx import xlsx_bytes
from bot.services.export import build_report
from bot.services.summary import build_summary
from bot.services.summary_pages import overview_pages
from storage.db import Database, normalize_url
from storage.models import ActionLine, Indicator, ReportedValue, Unit

YEARS = (2021, 2022, 2023)
UNITS = 200
TODAY = date(2023, 12, 20)  # the whole of 2023 but December is due
NOW = datetime(2023, 12, 20, 15, tzinfo=UTC)
PERIODS = {"mes": Period.month(2023, 3), "trimestre": Period.quarter(2023, 1),
           "año": Period.whole_year(2023)}


def _frequency(n: int) -> Frequency:
    bucket = n % 20
    if bucket < 16:
        return Frequency.MONTHLY
    if bucket < 19:
        return Frequency.QUARTERLY
    return Frequency.SEMIANNUAL


def populate(db: Database, indicators: int, seed: int = 7, *, units: int = UNITS,
             years: tuple[int, ...] = YEARS) -> int:
    """Bulk-insert the catalog and values; returns the number of values."""
    rng = random.Random(seed)
    with db.engine.begin() as conn:
        conn.execute(insert(Unit), [{"clave": f"{300 + u}", "nombre": f"COORDINACION {u}"}
                                    for u in range(units)])
        conn.execute(insert(ActionLine), [{"code": "724", "objetivo": "OBJETIVO",
                                           "eje": "4 / MODERNIDAD", "sub_eje": "FINANZAS",
                                           "programa": "5/FINANZAS",
                                           "transversalidad": "TRANSPARENCIA"}])
        unit_ids = [row[0] for row in conn.execute(text("SELECT id FROM units ORDER BY id"))]
        line_id = conn.execute(text("SELECT id FROM action_lines")).scalar_one()
        catalog = []
        for year in years:
            for n in range(indicators):
                percent = n % 20 == 7
                catalog.append({
                    "year": year, "unit_id": unit_ids[n % units], "action_line_id": line_id,
                    "accion": f"ACCION {n // 3}", "comentarios": "", "nombre": f"INDICADOR {n}",
                    "descripcion": "", "unidad_medida": "%" if percent else "PIEZAS",
                    "meta": Decimal("8.33") if percent else Decimal(rng.randint(10, 5000)),
                    "frecuencia": _frequency(n).value,
                    "aggregation": "last" if percent else "sum", "position": n // units})
        conn.execute(insert(Indicator), catalog)
        # Through the model's columns, so ExactDecimal decodes meta (raw SQL would not).
        rows = conn.execute(select(Indicator.id, Indicator.year, Indicator.meta,
                                   Indicator.frecuencia, Indicator.aggregation)
                            .order_by(Indicator.id)).all()
        values = 0
        batch: list[dict] = []
        for indicator_id, year, meta, frecuencia, aggregation in rows:
            frequency = Frequency.parse(frecuencia)
            for index, period in enumerate(Period.whole_year(year).subperiods(frequency), 1):
                if period.end >= TODAY:
                    continue
                if aggregation == "last":
                    value = Decimal(meta) * index
                else:
                    value = Decimal(meta) * Decimal(rng.randint(70, 130)) / 100
                batch.append({
                    "indicator_id": indicator_id, "period": period.code, "year": year,
                    "period_start": period.start, "period_end": period.end,
                    "value": value.quantize(Decimal("0.001")), "meta": Decimal(meta),
                    "observaciones": "", "reported_at": NOW, "source": "cli",
                    "late": rng.random() < 0.05})
                if len(batch) >= 20_000:
                    conn.execute(insert(ReportedValue), batch)
                    values += len(batch)
                    batch = []
        if batch:
            conn.execute(insert(ReportedValue), batch)
            values += len(batch)
    if not db.is_sqlite:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return values


@contextmanager
def statement_counter(db: Database):
    counter = {"n": 0}

    def count(*_args, **_kwargs):
        counter["n"] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def summary_and_pages(session, period):
    summary = build_summary(session, period, today=TODAY)
    return summary, overview_pages(summary)


def timed(db: Database, fn, *args, repeat: int):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = db.call(fn, *args)
        best = min(best, time.perf_counter() - start)
    return best, result


def measure(db: Database, label: str, repeat: int, with_times: bool) -> list[tuple]:
    rows = []
    for name, period in PERIODS.items():
        with statement_counter(db) as summary_sql:
            db.call(summary_and_pages, period)
        with statement_counter(db) as export_sql:
            db.call(build_report, period, today=TODAY)
        if not with_times:
            rows.append((label, name, summary_sql["n"], export_sql["n"], None, None, None,
                         None))
            continue
        seconds, (_summary, pages) = timed(db, summary_and_pages, period, repeat=repeat)
        export_seconds, document = _export_time(db, period)
        xlsx_seconds = None
        if name == "trimestre":
            start = time.perf_counter()
            xlsx_bytes(document)
            xlsx_seconds = time.perf_counter() - start
        rows.append((label, name, summary_sql["n"], export_sql["n"], seconds, len(pages),
                     export_seconds, xlsx_seconds))
    return rows


def _export_time(db: Database, period: Period):
    start = time.perf_counter()
    document = db.call(build_report, period, today=TODAY)
    return time.perf_counter() - start, document


@contextmanager
def scratch_databases(kind: str):
    """Yield a factory of fresh database URLs of ``kind`` ('sqlite' or 'postgresql')."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield lambda: f"sqlite:///{Path(folder) / f'{uuid.uuid4().hex}.db'}"
        return
    admin = create_engine(normalize_url(os.environ["POA_TEST_DATABASE_URL"]),
                          isolation_level="AUTOCOMMIT")
    created: list[str] = []

    def new() -> str:
        name = f"poa_bench_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(normalize_url(os.environ["POA_TEST_DATABASE_URL"])).set(
            database=name).render_as_string(hide_password=False)

    try:
        yield new
    finally:
        with admin.connect() as conn:
            for name in created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(kind: str, indicators: int, repeat: int) -> list[tuple]:
    rows = []
    with scratch_databases(kind) as new_url:
        for size, with_times in ((1_000, False), (indicators, True)):
            db = Database(new_url())
            db.migrate()
            start = time.perf_counter()
            values = populate(db, size)
            print(f"[{kind}] {size:,} indicadores × {len(YEARS)} años: {values:,} valores "
                  f"cargados en {time.perf_counter() - start:.1f} s", flush=True)
            rows += measure(db, f"{kind} {size:,}", repeat, with_times)
            db.dispose()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--indicators", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    kinds = ["sqlite"] + (["postgresql"] if os.environ.get("POA_TEST_DATABASE_URL") else [])
    rows = []
    for kind in kinds:
        rows += run(kind, args.indicators, args.repeat)

    def fmt(value, unit=" s"):
        return "—" if value is None else f"{value:.3f}{unit}"

    print()
    print(f"{'base / indicadores':<22} {'periodo':<10} {'SQL resumen':>11} {'SQL export':>10} "
          f"{'resumen+páginas':>16} {'páginas':>8} {'export':>9} {'xlsx':>9}")
    for label, name, sql_summary, sql_export, seconds, pages, export, xlsx in rows:
        print(f"{label:<22} {name:<10} {sql_summary:>11} {sql_export:>10} {fmt(seconds):>16} "
              f"{pages if pages is not None else '—':>8} {fmt(export):>9} {fmt(xlsx):>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
