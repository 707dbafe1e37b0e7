"""``poa-bot export --period P --out FILE``: the POA report of a period as .xlsx, .csv or .tsv.

The file has the layout of the original report (see :mod:`bot.poa_report.writer`), with the
figures computed by the attainment engine; ``.tsv`` is the text form the original was
exported as, so ``poa-bot import-poa`` reads any of the three back. ``--gerencia NAME``
writes only that gerencia's units, headed by its name; ``--por-gerencia`` writes one
workbook per gerencia into the folder ``--out`` (``POA-2023-Q1-GERENCIA-COMERCIAL.xlsx``).
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from bot.domain.periods import PeriodError, parse_period
from bot.poa_report.writer import count_data_rows, layout, write_report
from bot.services import scope
from bot.services.export import NothingToExport
from bot.services.gerencia_export import (
    file_stem,
    report_of_gerencia,
    report_of_units,
    reports_per_gerencia,
)

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
    per_gerencia = getattr(args, "por_gerencia", False)
    gerencia = getattr(args, "gerencia", None)
    if per_gerencia and gerencia:
        print("Usa --gerencia o --por-gerencia, no ambos.", file=sys.stderr)
        return 2
    if per_gerencia:
        if out.exists() and not out.is_dir():
            print(f"{out}: con --por-gerencia, --out es una carpeta.", file=sys.stderr)
            return 2
    elif out.suffix.lower() not in SUFFIXES:
        print(f"{out.name}: la salida debe terminar en .xlsx, .csv o .tsv.", file=sys.stderr)
        return 2
    try:
        if per_gerencia:
            reports = db.call(reports_per_gerencia, period, today=today)
        elif gerencia:
            found = db.call(lambda s: getattr(scope.find_gerencia(s, gerencia), "id", None))
            if found is None:
                known = ", ".join(g.nombre for g in db.call(scope.gerencias) if g.id) or "ninguna"
                print(f"No existe la gerencia «{gerencia}». Gerencias: {known}.",
                      file=sys.stderr)
                return 2
            reports = [db.call(report_of_gerencia, period, found, today=today)]
        else:
            reports = [db.call(report_of_units, period, None, today=today)]
    except NothingToExport as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if per_gerencia:
        out.mkdir(parents=True, exist_ok=True)
    for report in reports:
        path = out / f"{file_stem(period, report.gerencia)}.xlsx" if per_gerencia else out
        document = report.document
        write_report(document, path)
        who = f" · {report.gerencia}" if report.gerencia and (per_gerencia or gerencia) else ""
        print(f"{path}: {len(document.sections)} secciones, "
              f"{count_data_rows(layout(document))} filas de indicadores "
              f"({period.label}{who}).")
    return 0
