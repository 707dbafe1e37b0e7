"""A gerente closes a period while a coordinador has its question open: the next figure or
remark typed for it is refused and nothing is stored; reopened, it is taken. (The report step
reads the period's lock decisions with the slot, in the same query.)"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.clock import FrozenClock
from storage.models import ReportedValue
from tests.harness import add_sample_catalog, running_bot

ANA, GERENTE = 1001, 9001
APRIL_3 = FrozenClock(datetime(2023, 4, 3, 10, 0, tzinfo=ZoneInfo("America/Matamoros"))
                      .astimezone(UTC))


def stored(session) -> list[tuple[Decimal, str]]:
    return [(v.value, v.observaciones) for v in session.exec(select(ReportedValue))]


async def test_closing_the_period_mid_question_refuses_the_figure_until_reopened(db):
    await db.run(add_sample_catalog, 2023)
    async with running_bot(db, clock=APRIL_3) as bot:
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        await bot.register_gerente(GERENTE, name="Gerente")
        card = await bot.say(ANA, "/reportar")
        assert "faltan 3 de 3" in card.text

        await bot.say(GERENTE, "/cerrar 2023-03 303")
        refused = await bot.say(ANA, "255835")
        assert "ya está cerrado para la unidad 303" in refused.text, refused.text
        assert await db.run(stored) == []

        await bot.say(GERENTE, "/reabrir 2023-03 303")
        await bot.say(ANA, "/reportar")
        saved = await bot.say(ANA, "255835")
        assert "Guardé" in saved.text, saved.text

        await bot.say(GERENTE, "/cerrar 2023-03")  # every unit this time
        refused = await bot.say(ANA, "Lecturas de la ruta 4")
        assert "ya está cerrado para la unidad 303" in refused.text, refused.text
        assert await db.run(stored) == [(Decimal(255835), "")]
