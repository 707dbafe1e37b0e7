"""``poa-bot export --period P --out FILE``: the POA report of a period as .xlsx, .csv or .tsv,
or a .zip with the workbook and the period's evidence.

The file has the layout of the original report (see :mod:`bot.poa_report.writer`), with the
figures computed by the attainment engine; ``.tsv`` is the text form the original was
exported as, so ``poa-bot import-poa`` reads any of the three back. A ``.zip`` holds
``POA-<period>.xlsx``, every evidence copy at ``evidencias/<unit clave>/<period>/<file>`` and
``evidencias/manifiesto.csv`` with each file's sha256 (:func:`bot.services.evidence.write_zip`).
``--gerencia NAME`` writes only that gerencia's units, headed by its name;
``--por-gerencia`` writes one workbook per gerencia into the folder ``--out``
(``POA-2023-Q1-GERENCIA-COMERCIAL.xlsx``).
"""

from __future__ import annotations

import sys
import tempfile
from datetime import datetime
from pathlib import Path

from bot.domain.attainment import Bands
from bot.domain.periods import PeriodError, parse_period
from bot.poa_report.writer import count_data_rows, layout
from bot.poa_report.xlsx import write_report
from bot.services import evidence, scope
from bot.services.export import NothingToExport
from bot.services.gerencia_export import (
    file_stem,
    report_of_gerencia,
    report_of_units,
    reports_per_gerencia,
)

SUFFIXES = (".xlsx", ".csv", ".tsv", ".zip")


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
        print(f"{out.name}: la salida debe terminar en .xlsx, .csv, .tsv o .zip.",
              file=sys.stderr)
        return 2
    options = {"today": today,
               "bands": Bands(green=settings.poa_band_green, yellow=settings.poa_band_yellow),
               "deadline_day": settings.poa_deadline_day,
               "approval_required": settings.poa_approval_required,
               "timezone": settings.timezone}
    try:
        if per_gerencia:
            reports = db.call(reports_per_gerencia, period, **options)
        elif gerencia:
            found = db.call(lambda s: getattr(scope.find_gerencia(s, gerencia), "id", None))
            if found is None:
                known = ", ".join(g.nombre for g in db.call(scope.gerencias) if g.id) or "ninguna"
                print(f"No existe la gerencia «{gerencia}». Gerencias: {known}.",
                      file=sys.stderr)
                return 2
            reports = [db.call(report_of_gerencia, period, found, **options)]
        else:
            reports = [db.call(report_of_units, period, None, **options)]
    except NothingToExport as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if not per_gerencia and out.suffix.lower() == ".zip":
        return _write_zip(reports[0].document, period, out, settings, db)
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


def _write_zip(document, period, out: Path, settings, db) -> int:
    with tempfile.TemporaryDirectory() as folder:
        workbook = Path(folder) / f"POA-{period.code}.xlsx"
        write_report(document, workbook)
        items = db.call(evidence.items, period)
        result = evidence.write_zip(out, workbook.name, workbook.read_bytes(), items,
                                    settings.evidence_dir())
    print(f"{out}: {workbook.name} ({len(document.sections)} secciones) y {result.files} "
          f"evidencias de {period.label}; sha256 en {evidence.MANIFEST_NAME}.")
    for path in result.missing:
        print(f"aviso: falta la copia de {path} en {settings.evidence_dir()}; va en el "
              "manifiesto sin archivo.", file=sys.stderr)
    for path in result.altered:
        print(f"aviso: {path} cambió desde que llegó (sha256 distinto); va en el zip y el "
              "manifiesto lo marca.", file=sys.stderr)
    return 0
