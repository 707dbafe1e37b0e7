"""The team over time, finished (issue 12): /recordar of a gerente names only their gerencia's
units, /equipo lists planeación and the stand-ins, the escalation says who covers a unit and
which unit has nobody, and a gerente's own stand-in gets their escalation, weekly digest and
approval requests for the range.

Two gerencias: the seed (Comercial, 3xx) and a copy of it as Operación (4xx), catalog only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FrozenClock
from bot.poa_report.reader import read_report
from bot.services.importer import import_report
from bot.services.registration import register_directly
from storage.models import ROLE_GERENTE
from tests.harness import running_bot
from tests.test_gerencias import COMERCIAL, OPERACION, second_workbook

TZ = ZoneInfo("America/Matamoros")
GERENTE_C, GERENTE_O, PLANEACION, MIXTA, OSCAR = 8201, 8202, 8203, 8204, 8205


def local(*args) -> datetime:
    return datetime(*args, tzinfo=TZ).astimezone(UTC)


@pytest.fixture
def catalog_2024(db, seed_tsv, tmp_path):
    """2024's catalog of both gerencias, nothing reported."""
    second = second_workbook(seed_tsv, tmp_path / "operacion.tsv")
    for path in (seed_tsv, second):
        db.call(import_report, read_report(path), catalog_only=True, year=2024)


async def _register(bot, user, role, gerencia=None, name=None):
    return await bot.db.run(register_directly, telegram_user_id=user, role=role,
                            now=bot.clock(), gerencia=gerencia, name=name or f"Persona {user}")


async def test_recordar_of_a_gerente_names_only_their_units(db, catalog_2024):
    """A coordinador of 303 (Comercial) and 403 (Operación): each gerente's /recordar
    reminds them of that gerente's unit only, counts and buttons included."""
    async with running_bot(db, clock=FrozenClock(local(2024, 4, 2, 10, 0)),
                           handler_modules=["handlers.reminders"]) as bot:
        await _register(bot, GERENTE_C, ROLE_GERENTE, COMERCIAL)
        await _register(bot, GERENTE_O, ROLE_GERENTE, OPERACION)
        await bot.register_coordinador(MIXTA, ["303", "403"], name="Mixta")

        reply = await bot.say(GERENTE_O, "/recordar", lambda m: "Envié" in (m.text or ""))
        assert "Envié 1 recordatorio: Mixta" in reply.text
        reminder = await bot.next_message(MIXTA)
        assert "403 " in reminder.text and "303" not in reminder.text
        assert all(data.startswith("r:p:403:") for _label, data in reminder.buttons)

        bot.clock.set(local(2024, 4, 3, 10, 0))  # nobody twice a day: Comercial's next day
        reply = await bot.say(GERENTE_C, "/recordar", lambda m: "Envié" in (m.text or ""))
        assert "Envié 1 recordatorio: Mixta" in reply.text
        reminder = await bot.next_message(MIXTA, lambda m: m.message_id != reminder.message_id)
        assert "303 " in reminder.text and "403" not in reminder.text
        assert all(data.startswith("r:p:303:") for _label, data in reminder.buttons)
