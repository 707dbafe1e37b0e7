"""The work of ``poa-bot demo`` (see ``bot/commands/demo.py`` for what it does): the
database, the report, the stand-in and web chat, and the bot on them."""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
import webbrowser
from pathlib import Path

from pydantic import SecretStr

from bot.app import build_application
from bot.clock import OffsetClock, system_clock
from bot.commands.run import serve
from bot.demo.seed import create_people, load_report, seed_report, start_time
from bot.demo.web import BotBridge, DemoChat
from bot.domain.calendar import ReportingCalendar
from bot.poa_report import PoaFormatError
from bot.services.importer import ImportRefused
from bot.telegram_standin import BotApiStub
from storage.db import Database, redact_url

log = logging.getLogger(__name__)

DEMO_TOKEN = "100000:POA-DEMO-LOCAL-ONLY"  # known only to the stand-in on 127.0.0.1
DEMO_BOT_USERNAME = "poa_demo_bot"
TELEGRAM_RATE = 30  # the stand-in answers 429 above Telegram's ~30 messages per second


def run_demo(args, settings, db) -> int:
    """``db`` (DATABASE_URL) is not touched: the demo never writes to your database unless
    you name it with ``--database-url``."""
    poa = Path(args.poa) if args.poa else seed_report()
    if not poa.is_file():
        print(f"No existe el archivo {poa}", file=sys.stderr)
        return 1
    scratch = None
    if args.database_url:
        url = args.database_url
    elif args.keep_db:
        keep = Path(args.keep_db).resolve()
        keep.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{keep}"
    else:
        scratch = Path(tempfile.mkdtemp(prefix="poa-demo-"))
        url = f"sqlite:///{scratch / 'demo.db'}"
    demo_db = Database(url)
    try:
        return _run(args, settings, demo_db, poa, kept=scratch is None)
    finally:
        demo_db.dispose()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
            print("Base de datos temporal de la demo borrada.", flush=True)
        else:
            print(f"Base de datos de la demo conservada: {redact_url(demo_db.url)}", flush=True)


def _run(args, settings, db: Database, poa: Path, *, kept: bool) -> int:
    db.migrate()
    calendar = ReportingCalendar.from_settings(settings)
    with db.session() as session:
        try:
            result = load_report(session, poa, now=system_clock())
        except (PoaFormatError, ImportRefused) as exc:
            print(f"{poa.name}: {exc}. No se importó nada.", file=sys.stderr)
            return 1
    with db.session() as session:
        clock = OffsetClock(start_time(session, calendar))
        people = create_people(session, clock())
    print(f"POA importado de {poa.name}: {len(result.periods)} periodos "
          f"({', '.join(result.periods)}); {len(people) - 1} coordinadores y un gerente.",
          flush=True)

    stub = BotApiStub(DEMO_TOKEN, DEMO_BOT_USERNAME, rate_limit_per_second=TELEGRAM_RATE,
                      clock=lambda: clock().timestamp())
    for person in people:
        stub.add_user(person.user_id, person.name)
    handle = stub.run_in_thread()
    bridge = BotBridge()
    chat = DemoChat(stub, people, clock, calendar, bridge)
    try:
        try:
            handle.run(chat.start(args.port), timeout=10)
        except OSError as exc:
            print(f"No se puede abrir el puerto {args.port} en 127.0.0.1 ({exc.strerror}); "
                  "elige otro con --port (o --port 0).", file=sys.stderr)
            return 1
        demo_settings = settings.model_copy(update={
            "telegram_bot_token": SecretStr(DEMO_TOKEN),
            "telegram_api_base_url": stub.base_url, "database_url": db.url,
            "webhook_url": None})
        application = build_application(demo_settings, db, clock=clock)

        def ready() -> None:  # the bot is up and owns Ctrl-C from here on
            print(banner(chat.url, stub.base_url, db, kept=kept), flush=True)
            if not args.no_browser:
                webbrowser.open(chat.url)

        bridge.attach(application, on_ready=ready)
        return serve(application, demo_settings, db)
    finally:
        handle.run(chat.stop(), timeout=10)
        handle.stop()


def banner(url: str, bot_api: str, db: Database, *, kept: bool) -> str:
    api = bot_api.rsplit("/", 1)[0]
    where = (f"se conserva en {redact_url(db.url)}" if kept
             else f"({redact_url(db.url)}) es temporal y se borra al terminar "
                  "(--keep-db PATH para guardarla)")
    return "\n".join([
        "",
        "POA Bot · demo local",
        f"  Abre el chat en:  {url}",
        f"  Telegram simulado en {api}: la demo no se conecta a internet.",
        f"  La base de datos {where}.",
        "  Ctrl-C para terminar.",
        "",
    ])
