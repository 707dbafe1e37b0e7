"""``poa-bot export --period P --out FILE``: the POA report of a period as .xlsx, .csv or .tsv.

The file has the layout of the original report (see :mod:`bot.poa_report.writer`), with the
figures computed by the attainment engine; ``.tsv`` is the text form the original was
exported as, so ``poa-bot import-poa`` reads any of the three back.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from bot.domain.attainment import Bands
from bot.domain.periods import PeriodError, parse_period
from bot.poa_report.writer import count_data_rows, layout, write_report
from bot.services.export import NothingToExport, build_report

SUFFIXES = (".xlsx", ".csv", ".tsv")


def run(args, settings, db) -> int:
    today = datetime.now(settings.timezone).date()
    try:
        period = parse_period(args.period, default_year=today.year)
    except PeriodError:
        print(f"Periodo no reconocido: {args.period!r}. Usa 2023-03, mar-23, 2023-Q1, "
              "2023-T1, 2023-S1 o 2023.", file=sys.stderr)
        return 2
    out = Path(args.out)
    if out.suffix.lower() not in SUFFIXES:
        print(f"{out.name}: la salida debe terminar en .xlsx, .csv o .tsv.", file=sys.stderr)
        return 2
    try:
        document = db.call(build_report, period, today=today,
                           bands=Bands(green=settings.poa_band_green,
                                       yellow=settings.poa_band_yellow),
                           deadline_day=settings.poa_deadline_day)
    except NothingToExport as exc:
        print(str(exc), file=sys.stderr)
        return 1
    write_report(document, out)
    print(f"{out}: {len(document.sections)} secciones, "
          f"{count_data_rows(layout(document))} filas de indicadores ({period.label}).")
    return 0
