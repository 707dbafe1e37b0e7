"""Nobody's figure is overwritten without knowing it, through the real bot: two coordinadores
of one unit, a value stored while the other was asked, both sending at the same instant, and
a correction in the chat that a later ``import-poa`` keeps."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlmodel import select

from bot.clock import FrozenClock
from bot.poa_report import read_report
from bot.services.importer import import_report
from storage.models import Indicator, Person, ReportedValue, Revision, Unit
from tests.harness import add_sample_catalog, button_data, running_bot
from tests.test_bot_reporting import values_of

ANA, BETO = 1001, 1002
SAVED_AT = datetime(2023, 4, 3, 15, 15, tzinfo=UTC)  # 10:15 in Matamoros (CDT)


async def both_at_the_first_card(bot) -> None:
    for user, name in ((ANA, "Ana"), (BETO, "Beto")):
        await bot.register_coordinador(user, ["303"], name=name)
        card = await bot.say(user, "/reportar")  # one unit, one open period: no choice
        assert "faltan 3 de 3" in card.text and "Recibos entregados" in card.text


async def revisions_of(db, indicator_id):
    def query(session):
        return [(r.old_value, r.new_value, r.person_id, r.reason) for r in session.exec(
            select(Revision).where(Revision.indicator_id == indicator_id).order_by(Revision.id))]
    return await db.run(query)


async def test_a_value_stored_while_asked_is_shown_with_who_and_when_not_overwritten(db):
    ids = await db.run(add_sample_catalog)
    recibos = ids["303"][0]
    clock = FrozenClock(datetime(2023, 4, 3, 15, 0, tzinfo=UTC))
    async with running_bot(db, clock=clock) as bot:
        await both_at_the_first_card(bot)
        clock.set(SAVED_AT)
        saved = await bot.say(BETO, "255,835")
        assert "Guardé 255,835" in saved.text
        clock.advance(timedelta(minutes=20))

        taken = await bot.say(ANA, "255,840")  # Ana was asked before Beto saved
        assert ("ya tiene valor: Beto lo capturó el 3/04 a las 10:15: 255,835 RECIBOS"
                in taken.text)
        assert "No guardé tu 255,840 RECIBOS" in taken.text
        assert [label for label, _ in taken.buttons] == ["Dejar 255,835", "Cambiar a 255,840"]
        assert (await values_of(db))[recibos][0] == Decimal("255835")

        # Text is not an answer to buttons: the question comes back, nothing changes.
        refused = await bot.say(ANA, "255,840")
        assert "Elige una opción con los botones" in refused.text
        again = await bot.next_message(ANA)
        assert "Beto lo capturó" in again.text

        reason_prompt = await bot.press(ANA, button_data(again, "Cambiar a"))
        assert "de 255,835 RECIBOS a 255,840 RECIBOS" in reason_prompt.text
        done = await bot.say(ANA, "Beto contó dos veces una ruta")
        assert "Corregido" in done.text and "Beto contó dos veces" in done.text
        card2 = await bot.next_message(ANA)
        assert "faltan 2 de 3" in card2.text and "Lecturas tomadas" in card2.text

    assert (await values_of(db))[recibos][0] == Decimal("255840")
    people = await db.run(lambda s: {p.name: p.id for p in s.exec(select(Person))})
    assert await revisions_of(db, recibos) == [
        (None, Decimal("255835"), people["Beto"], ""),
        (Decimal("255835"), Decimal("255840"), people["Ana"], "Beto contó dos veces una ruta")]


async def test_keeping_the_stored_value_or_typing_the_same_one_goes_on(db):
    ids = await db.run(add_sample_catalog)
    recibos, lecturas = ids["303"][:2]
    async with running_bot(db) as bot:
        await both_at_the_first_card(bot)
        await bot.say(BETO, "255,835", lambda m: "Guardé" in m.text)
        same = await bot.say(ANA, "255835")
        assert "el mismo valor que escribiste. Queda así." in same.text and not same.buttons
        card2 = await bot.next_message(ANA)
        assert "faltan 2 de 3" in card2.text

        bot.stub.send_text(BETO, "Sin novedad")  # Beto's remarks: he is at LECTURAS too
        await bot.next_message(BETO, lambda m: "faltan 2 de 3" in m.text)
        await bot.say(BETO, "255,900", lambda m: "Guardé" in m.text)
        taken = await bot.say(ANA, "250,000")
        kept = await bot.press(ANA, button_data(taken, "Dejar"))
        assert "Queda 255,900 LECTURAS" in kept.text and "no cambié nada" in kept.text
        card3 = await bot.next_message(ANA)
        assert "faltan 1 de 3" in card3.text

    stored = await values_of(db)
    assert (stored[recibos][0], stored[lecturas][0]) == (Decimal("255835"), Decimal("255900"))
    assert len(await revisions_of(db, lecturas)) == 1  # nothing was changed by Ana


async def test_two_people_sending_at_the_same_instant_store_one_value(db):
    ids = await db.run(add_sample_catalog)
    recibos = ids["303"][0]
    async with running_bot(db) as bot:
        await both_at_the_first_card(bot)
        bot.stub.send_text(ANA, "255,835")
        bot.stub.send_text(BETO, "255,840")
        replies = dict(zip((ANA, BETO), await asyncio.gather(
            bot.next_message(ANA), bot.next_message(BETO)), strict=True))
        saved = [u for u, m in replies.items() if "Guardé" in m.text]
        assert len(saved) == 1, {u: m.text for u, m in replies.items()}
        (winner,) = saved
        loser = BETO if winner == ANA else ANA
        names = {ANA: "Ana", BETO: "Beto"}
        values = {ANA: "255,835", BETO: "255,840"}
        told = replies[loser]
        assert f"{names[winner]} lo capturó el 3/04" in told.text, told.text
        assert f"{values[winner]} RECIBOS" in told.text
        assert [label for label, _ in told.buttons] == [f"Dejar {values[winner]}",
                                                        f"Cambiar a {values[loser]}"]
        assert "error" not in told.text.lower()
        # The loser may still correct it, with a reason.
        prompt = await bot.press(loser, button_data(told, "Cambiar a"))
        assert "¿Por qué cambia?" in prompt.text
        await bot.say(loser, "Mi conteo es el bueno", lambda m: "Corregido" in m.text)

    assert (await values_of(db))[recibos][0] == Decimal(values[loser].replace(",", ""))
    history = await revisions_of(db, recibos)
    assert [(old, new, reason) for old, new, _p, reason in history] == [
        (None, Decimal(values[winner].replace(",", "")), ""),
        (Decimal(values[winner].replace(",", "")), Decimal(values[loser].replace(",", "")),
         "Mi conteo es el bueno")]


async def test_a_value_corrected_in_the_chat_survives_the_next_import(db, seed_tsv):
    report = read_report(seed_tsv)
    await db.run(import_report, report, now=datetime(2023, 4, 2, tzinfo=UTC))

    def first_march_value_of_303(session):
        return session.exec(select(ReportedValue).join(
            Indicator, Indicator.id == ReportedValue.indicator_id).join(
            Unit, Unit.id == Indicator.unit_id).where(
            Unit.clave == "303", ReportedValue.period == "2023-03").order_by(
            Indicator.position, Indicator.id)).first()
    imported = await db.run(first_march_value_of_303)
    corrected = imported.value + 1
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        pick = await bot.say(ANA, "/corregir")
        if "¿De qué periodo" in pick.text:
            pick = await bot.press(ANA, button_data(pick, "marzo"))
        row = next(data for _label, data in pick.buttons
                   if data == f"c:i:{imported.indicator_id}:2023-03")
        await bot.press(ANA, row, lambda m: "Valor actual" in m.text)
        await bot.say(ANA, str(corrected), lambda m: "¿Por qué cambia?" in m.text)
        await bot.say(ANA, "El reporte traía un error", lambda m: "Corregido" in m.text)

    result = await db.run(import_report, report, now=datetime(2023, 4, 4, tzinfo=UTC))
    after = await db.run(first_march_value_of_303)
    assert (after.value, after.source) == (corrected, "telegram")
    assert result.values_kept == 1 and result.values_changed == 0
    assert sum("se conserva" in w.message for w in result.warnings) == 1


# --- a forwarded message is not a value ------------------------------------------------------

async def test_a_forwarded_message_is_not_read_as_a_value(db):
    ids = await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        await bot.say(ANA, "/reportar")  # one unit, one open period: no choice
        origins = [{"type": "user", "date": 1680530000,
                    "sender_user": {"id": BETO, "is_bot": False, "first_name": "Beto"}},
                   {"type": "hidden_user", "date": 1680530000, "sender_user_name": "Beto"}]
        for origin in origins:
            bot.stub.send_text(ANA, "255,835", forward_origin=origin)
            refusal = await bot.next_message(ANA)
            assert "No leo los mensajes reenviados como cifras" in refusal.text
            assert "no guardé nada" in refusal.text
            again = await bot.next_message(ANA)
            assert "Seguimos donde te quedaste" in again.text and "faltan 3 de 3" in again.text
            assert await values_of(db) == {}
        saved = await bot.say(ANA, "255,835")  # typed by her: taken
        assert "Guardé 255,835" in saved.text
        # Nor are forwarded remarks kept.
        bot.stub.send_text(ANA, "Dice Beto que todo bien", forward_origin=origins[1])
        await bot.next_message(ANA, lambda m: "reenviados" in m.text)
        await bot.next_message(ANA, lambda m: "¿Observaciones?" in m.text)
    stored = await values_of(db)
    assert stored == {ids["303"][0]: (Decimal("255835"), "", "telegram", False)}


async def test_a_correction_of_a_value_someone_changed_meanwhile_asks_again(db):
    ids = await db.run(add_sample_catalog)
    recibos = ids["303"][0]
    async with running_bot(db) as bot:
        await both_at_the_first_card(bot)
        await bot.say(ANA, "255,835", lambda m: "Guardé" in m.text)
        await bot.say(ANA, "/cancelar", lambda m: "terminé" in m.text)
        await bot.say(BETO, "/cancelar", lambda m: "terminé" in m.text)
        for user, value in ((ANA, "255,840"), (BETO, "255,850")):
            pick = await bot.say(user, "/corregir")
            await bot.press(user, button_data(pick, "1"), lambda m: "Valor actual" in m.text)
            prompt = await bot.say(user, value)
            assert "de 255,835 RECIBOS a" in prompt.text  # both saw 255,835
        await bot.say(BETO, "Recuento", lambda m: "Corregido" in m.text)
        taken = await bot.say(ANA, "Error de dedo")  # Ana's reason comes second
        assert "Beto lo capturó" in taken.text and "255,850 RECIBOS" in taken.text
        assert (await values_of(db))[recibos][0] == Decimal("255850")
        prompt = await bot.press(ANA, button_data(taken, "Cambiar a 255,840"))
        assert "de 255,850 RECIBOS a 255,840 RECIBOS" in prompt.text
        await bot.say(ANA, "Error de dedo de Beto", lambda m: "Corregido" in m.text)
    assert [(old, new) for old, new, _p, _r in await revisions_of(db, recibos)] == [
        (None, Decimal("255835")), (Decimal("255835"), Decimal("255850")),
        (Decimal("255850"), Decimal("255840"))]
