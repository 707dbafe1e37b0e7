"""Answers people give between tasks: "ninguna" as remarks, "¿ya quedó?" outside a report."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from bot.clock import FrozenClock
from storage.models import ReportedValue
from tests.harness import add_sample_catalog, running_bot

ANA = 1001  # coordinadora of 303
GERENTE = 9001


async def test_no_remarks_in_words_or_emoji_is_stored_as_no_remark(db):
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        await bot.start_report(ANA)
        await bot.say(ANA, "255835")
        await bot.say(ANA, "ninguna")
        await bot.say(ANA, "255835")
        await bot.say(ANA, "👍")
        await bot.say(ANA, "150")
        summary = await bot.say(ANA, "Faltó la ruta 4 por lluvia",
                                lambda m: "Listo" in (m.text or ""))
        assert "ninguna" not in summary.text and "👍" not in summary.text
        assert "Faltó la ruta 4 por lluvia" in summary.text
        remarks = await db.run(lambda s: sorted(
            r.observaciones for r in s.exec(select(ReportedValue)).all()))
        assert remarks == ["", "", "Faltó la ruta 4 por lluvia"]


async def test_free_text_outside_a_report_gets_the_persons_status(db):
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        await bot.register_gerente(GERENTE, name="Gerente")
        reply = await bot.say(ANA, "ya quedó?")
        assert "Te faltan 3 indicadores" in reply.text
        assert "303" in reply.text and "marzo 2023: 3" in reply.text
        assert "Se reciben hasta el miércoles 5 de abril" in reply.text
        assert "No guardé" not in reply.text  # nothing that looked like a value
        other = await bot.say(GERENTE, "¿cómo vamos?")
        assert "/ayuda" in other.text


async def test_status_when_everything_is_in_and_when_only_late_values_are_taken(db):
    await db.run(add_sample_catalog)
    clock = FrozenClock(datetime(2023, 4, 3, 15, tzinfo=UTC))
    async with running_bot(db, clock=clock, settings_overrides={"poa_grace_days": 3}) as bot:
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        clock.set(datetime(2023, 4, 7, 15, tzinfo=UTC))  # after the 5th, within grace
        reply = await bot.say(ANA, "¿cómo vamos?")
        assert "El plazo ya venció; se reciben hasta el sábado 8 de abril" in reply.text
        await bot.start_report(ANA)
        for text in ("255835", "no", "255835", "no", "150"):
            await bot.say(ANA, text)
        await bot.say(ANA, "no", lambda m: "Listo" in (m.text or ""))
        reply = await bot.say(ANA, "ya quedó?")
        assert "Estás al día" in reply.text
