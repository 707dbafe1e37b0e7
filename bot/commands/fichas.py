"""``poa-bot fichas export|import``: the fichas técnicas of a POA year in an .xlsx.

::

    poa-bot fichas export --year 2026 --out fichas-2026.xlsx
    poa-bot fichas import fichas-2026.xlsx [--year 2026] [--dry-run]

The columns are described in :mod:`bot.services.fichas_workbook` and the README ("Fichas
técnicas"). Import refuses the whole file, naming sheet, row and column of every bad cell
(exit code 2); ``--dry-run`` writes nothing and lists what would change; importing an
export changes nothing. Exit code 0 ok, 1 nothing to export, 2 refused.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from bot.domain.attainment import Bands
from bot.services.fichas_workbook import WorkbookError, export_fichas, import_fichas


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="fichas_command", required=True, metavar="ACCIÓN")
    p = sub.add_parser("export", help="escribe las fichas del año en un .xlsx")
    p.add_argument("--year", type=int, required=True, help="año del POA, p. ej. 2026")
    p.add_argument("--out", required=True, help="archivo de salida .xlsx")
    p = sub.add_parser("import", help="lee un .xlsx de fichas, validado")
    p.add_argument("file", help="el .xlsx (hojas Fichas y Metas)")
    p.add_argument("--year", type=int, help="solo indicadores de ese año del POA")
    p.add_argument("--dry-run", action="store_true", help="valida y muestra, sin guardar")


def run(args, settings, db) -> int:
    bands = Bands(green=settings.poa_band_green, yellow=settings.poa_band_yellow)
    if args.fichas_command == "export":
        out = Path(args.out)
        if out.suffix.lower() != ".xlsx":
            print(f"{out.name}: la salida debe terminar en .xlsx.", file=sys.stderr)
            return 2
        count = db.call(export_fichas, args.year, out, bands)
        if count == 0:
            print(f"No hay indicadores del POA {args.year}.", file=sys.stderr)
            out.unlink(missing_ok=True)
            return 1
        print(f"{out}: {count} fichas del POA {args.year}.")
        return 0
    path = Path(args.file)
    if not path.is_file():
        print(f"No encuentro el archivo {path}.", file=sys.stderr)
        return 2
    today = datetime.now(settings.timezone).date()
    try:
        plan = db.call(import_fichas, path, year=args.year, bands=bands, today=today,
                       dry_run=args.dry_run)
    except WorkbookError as error:
        print(f"{path.name}: no importé nada; corrige lo siguiente:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    if not plan.changes:
        print("Sin cambios: las fichas ya son las del archivo.")
        return 0
    print(("Cambiaría" if args.dry_run else "Cambié") + f" {len(plan.changes)} dato(s):")
    for change in plan.changes:
        print(f"  {change}")
    if args.dry_run:
        print("Simulación (--dry-run): no guardé nada.")
    return 0
