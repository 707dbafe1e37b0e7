"""The ``poa-bot`` command line.

Every sub-command applies pending migrations first, so upgrading is "install and run".
Each command's work lives in ``bot/commands/<name>.py`` (``run(args, settings, db)``), so
this file only declares arguments.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.logging_setup import configure_logging
from bot.settings import Settings
from storage.db import Database, DatabaseUrlError, describe_error

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="poa-bot",
        description="POA Bot: captura y seguimiento del Programa Operativo Anual por Telegram.")
    parser.add_argument("-v", "--verbose", action="store_true", help="más detalle en el log")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMANDO")

    sub.add_parser("migrate", help="aplica las migraciones de la base de datos")

    p = sub.add_parser("import-poa", help="importa un reporte POA (.tsv o .xlsx)")
    p.add_argument("file", help="archivo .tsv/.txt (exportado del libro) o .xlsx")
    p.add_argument("--dry-run", action="store_true", help="valida y muestra, sin guardar")
    p.add_argument("--catalog-only", action="store_true",
                   help="carga solo el catálogo de indicadores, sin valores")
    p.add_argument("--year", type=int, help="carga el catálogo como el POA de otro año")

    p = sub.add_parser("resumen", help="cumplimiento contra meta de un periodo")
    p.add_argument("--period", required=True,
                   help="2023-03, mar-23, 2023-Q1, 2023-S1 o 2023 (año a la fecha)")
    p.add_argument("--unit", help="clave de la unidad responsable, p. ej. 303")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")

    p = sub.add_parser("export", help="exporta el reporte POA de un periodo (.xlsx, .csv o "
                                      ".zip con evidencias)")
    p.add_argument("--period", required=True)
    p.add_argument("--out", required=True,
                   help="archivo de salida (.xlsx, .csv, .tsv o .zip: libro y evidencias); "
                   "con --por-gerencia, una carpeta")
    p.add_argument("--gerencia", help="solo las unidades de esa gerencia")
    p.add_argument("--por-gerencia", action="store_true",
                   help="un libro por gerencia en la carpeta --out (.xlsx)")

    p = sub.add_parser("invite", help="crea una invitación de registro de un solo uso")
    p.add_argument("--role", required=True, choices=("coordinador", "gerente", "planeacion"))
    p.add_argument("--gerencia", help="la gerencia de un gerente (si hay varias)")
    p.add_argument("--unit", action="append", default=[], help="clave de unidad (repetible)")
    p.add_argument("--name", default="", help="nombre de la persona")

    from bot.commands.people import add_arguments as add_people_arguments
    add_people_arguments(sub.add_parser("people", help="personas: lista, alta, baja, unidades"))

    from bot.commands.fichas import add_arguments as add_fichas_arguments
    add_fichas_arguments(sub.add_parser("fichas", help="fichas técnicas: exporta o importa .xlsx"))

    sub.add_parser("run", help="inicia el bot de Telegram")
    sub.add_parser("doctor", help="revisa configuración, base de datos y conexión con Telegram")

    from bot.commands import demo

    demo.add_arguments(sub.add_parser(
        "demo", help="prueba el bot sin Telegram: un chat en el navegador, todo local"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(verbose=args.verbose)
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"Configuración inválida / invalid settings:\n{exc}", file=sys.stderr)
        return 2
    try:
        db = Database(settings.database_url)
    except DatabaseUrlError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        # doctor inspects the schema as it is, so it must not upgrade it first; demo uses a
        # database of its own and leaves DATABASE_URL's alone.
        if args.command not in ("doctor", "demo"):
            try:
                db.migrate()
            except DBAPIError as exc:  # unreachable, corrupt, unwritable...: one line, no trace
                log.debug("could not migrate the database", exc_info=True)
                print(describe_error(exc, db.url), file=sys.stderr)
                return 1
        module = importlib.import_module(f"bot.commands.{args.command.replace('-', '_')}")
        return module.run(args, settings, db)
    except KeyboardInterrupt:
        return 130
    except OperationalError as exc:
        print(describe_error(exc, db.url), file=sys.stderr)
        return 1
    finally:
        db.dispose()


if __name__ == "__main__":  # pragma: no cover
    logging.getLogger(__name__).debug("started as a module")
    sys.exit(main())
