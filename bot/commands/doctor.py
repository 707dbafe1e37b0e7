"""``poa-bot doctor``: check settings, database, migrations and the Bot API, in plain words.

Each check prints one line, ``[ok]`` or ``[!!]`` with what is wrong and what to do. The exit
code is 0 only when every check passes, so it can gate a deployment script.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select
from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.clock import system_clock
from storage.db import MIGRATIONS_DIR, describe_error, redact_url
from storage.models import Indicator, Person


@dataclass
class Check:
    ok: bool
    message: str


def check_database(db) -> list[Check]:
    checks = []
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        return [Check(False, describe_error(exc, db.url))]
    checks.append(Check(True, f"Base de datos accesible: {redact_url(db.url)}"))
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    if current == head:
        checks.append(Check(True, f"Migraciones al día (revisión {current})"))
    else:
        checks.append(Check(False, f"Migraciones pendientes: la base está en {current}, el "
                                   f"código espera {head}. Ejecuta `poa-bot migrate`."))
        return checks  # the tables below may not exist yet
    year = system_clock().year
    with db.session() as session:
        indicators = session.exec(
            select(func.count()).select_from(Indicator).where(Indicator.year == year)).one()
        people = session.exec(select(func.count()).select_from(Person).where(
            Person.telegram_user_id.is_not(None))).one()
    if indicators:
        checks.append(Check(True, f"Catálogo {year}: {indicators} indicadores"))
    else:
        checks.append(Check(False, f"No hay indicadores cargados para {year}. Importa el POA: "
                                   f"`poa-bot import-poa ARCHIVO --catalog-only --year {year}`"))
    checks.append(Check(True, f"Personas registradas: {people}"))
    return checks


async def check_bot_api(settings) -> Check:
    token = settings.token()
    if not token:
        return Check(False, "Falta TELEGRAM_BOT_TOKEN (en el entorno o en .env); pídelo a "
                            "@BotFather.")
    bot = Bot(token, base_url=settings.telegram_api_base_url)
    try:
        async with bot:
            me = await bot.get_me()
    except InvalidToken:
        return Check(False, "Telegram rechazó el token (TELEGRAM_BOT_TOKEN): revísalo con "
                            "@BotFather.")
    except NetworkError as exc:
        return Check(False, f"No se pudo conectar con la Bot API en "
                            f"{settings.telegram_api_base_url}: {exc.message}. Revisa la red, "
                            f"el proxy o TELEGRAM_API_BASE_URL.")
    except TelegramError as exc:
        return Check(False, f"La Bot API respondió con un error: {exc.message}")
    return Check(True, f"Bot API accesible: @{me.username}")


def run(args, settings, db) -> int:
    checks = [Check(True, f"Configuración cargada; zona horaria {settings.poa_timezone}, "
                          f"fecha límite día {settings.poa_deadline_day}")]
    checks += check_database(db)
    checks.append(asyncio.run(check_bot_api(settings)))
    for check in checks:
        print(f"[{'ok' if check.ok else '!!'}] {check.message}")
    failed = sum(not c.ok for c in checks)
    print("Todo en orden." if not failed else f"{failed} problema(s) por resolver.")
    return 0 if not failed else 1
