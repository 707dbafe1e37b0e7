"""``poa-bot demo``: the real bot in a browser chat, without Telegram, a token or a phone.

1. A database: a throwaway SQLite file (deleted at the end), ``--keep-db PATH`` (a SQLite file
   that stays), or ``--database-url`` (yours: kept, the demo people are added to it, and the
   reminders sent to the stand-in are logged as sent, so never point it at production).
2. The POA report shipped with the package (``bot/data``), or ``--poa FILE``, imported as
   ``import-poa`` does; a gerente and one coordinador per unit, registered directly.
3. The strict Telegram stand-in (``bot/telegram_standin``) and the web chat (``bot/demo``) on
   127.0.0.1, served from a thread of their own.
4. The bot, built by ``build_application`` and run by ``run``'s own ``serve`` (same handlers,
   scheduler and rate limiter), pointed at the stand-in and on a clock the page can move.

Nothing leaves the machine: the bot's only Bot API is the stand-in on 127.0.0.1 and the page
loads nothing from outside. ``Ctrl-C`` stops the bot (as ``run``), then the web chat and the
stand-in, and deletes the throwaway database.

The arguments are declared here and the work is in ``bot.demo.launch``, imported only when
the demo runs: ``poa-bot run`` builds the same argument parser, and importing the demo's web
chat (aiohttp) and stand-in there cost every production bot about 10 MB of memory.
"""

from __future__ import annotations


def add_arguments(parser) -> None:
    parser.add_argument("--port", type=int, default=8080,
                        help="puerto local de la página de chat (0: uno libre); por omisión 8080")
    parser.add_argument("--no-browser", action="store_true",
                        help="no abrir el navegador; solo imprimir la dirección")
    parser.add_argument("--poa", metavar="FILE",
                        help="reporte POA a importar (.tsv o .xlsx); por omisión el de ejemplo")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database-url", metavar="URL",
                       help="usar esta base de datos (se conserva) en vez de una temporal; "
                            "nunca la de producción: la demo le agrega sus personas y registra "
                            "como enviados los recordatorios que manda al Telegram simulado")
    where.add_argument("--keep-db", metavar="PATH",
                       help="guardar la base de datos SQLite de la demo en PATH al terminar")


def run(args, settings, db) -> int:
    from bot.demo.launch import run_demo
    return run_demo(args, settings, db)
