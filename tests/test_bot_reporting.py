"""The reporting conversation, driven through the real Application and the stand-in."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlmodel import select

from handlers.common import STALE_BUTTON_TEXT
from storage.models import Conversation, ReportedValue, Revision
from tests.harness import add_sample_catalog, button_data, running_bot

ANA = 1001  # coordinadora of 303


def has_buttons(message) -> bool:
    return bool(message.buttons)


async def values_of(db, period="2023-03"):
    def query(session):
        rows = session.exec(select(ReportedValue).where(ReportedValue.period == period)
                            .order_by(ReportedValue.indicator_id)).all()
        return {r.indicator_id: (r.value, r.observaciones, r.source, r.late) for r in rows}
    return await db.run(query)


async def test_full_report_with_every_bad_input(db):
    ids = await db.run(add_sample_catalog)
    recibos, lecturas, inspecciones = ids["303"]
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        card = await bot.say(ANA, "/reportar")
        # Only March is open on 3 April (February closed on the 6th of March) and Ana has one
        # unit: nothing to choose, the card of March's pending values comes at once.
        assert "303 FACTURACION · marzo 2023 · faltan 3 de 3" in card.text
        assert "1. Recibos entregados a domicilio · meta 255,835" in card.text
        assert "febrero" not in card.text  # no earlier value to show
        assert [label for label, _ in card.buttons] == ["Ver descripciones"]

        saved = await bot.say(ANA, "255,835")
        assert "Guardé 255,835" in saved.text
        assert (await values_of(db))[recibos][0] == Decimal("255835")  # kept at once
        card2 = await bot.press(ANA, button_data(saved, "Sin observaciones"))
        assert "faltan 2 de 3" in card2.text and "Lecturas tomadas" in card2.text

        for bad, expected in [("muchas", "no es un número"), ("-5", "negativo"),
                              ("1,5", "ambiguo"), ("1234567890123456", "15 dígitos"),
                              ("8.33%", "no en porcentaje")]:
            refusal = await bot.say(ANA, bad)  # what is wrong and the question: one message
            assert expected in refusal.text, (bad, refusal.text)
            assert "Escribe de nuevo el valor de" in refusal.text
        wrong_count = await bot.say(ANA, "5 3 1")  # three values for two indicators
        assert "Escribiste 3 valores y te faltan 2 indicadores" in wrong_count.text
        assert "No guardé nada" in wrong_count.text
        assert lecturas not in await values_of(db)

        confirm = await bot.say(ANA, "2558350")
        assert "¿Es correcto?" in confirm.text and "lejos de la meta" in confirm.text
        assert lecturas not in await values_of(db)  # not kept before it is confirmed
        retry = await bot.press(ANA, button_data(confirm, "Corregir"))
        assert "Escribe de nuevo" in retry.text
        remarks_prompt = await bot.say(ANA, "255 900")
        assert "Guardé 255,900" in remarks_prompt.text
        long_text = "x" * 1001
        too_long = await bot.say(ANA, long_text)
        assert "1,001 caracteres" in too_long.text and "1,000" in too_long.text
        echo = await bot.say(ANA, "<b>Todo bien</b> & más")
        assert "«<b>Todo bien</b> & más»" in echo.text  # echoed, escaped: shown as typed
        assert "faltan 1 de 3" in echo.text  # atop the next card: one message

        confirm = await bot.say(ANA, "1 084")  # 7× the meta of 150
        ok = await bot.press(ANA, button_data(confirm, "Sí"))
        assert "Guardé 1,084" in ok.text
        summary = await bot.press(ANA, button_data(ok, "Sin observaciones"))
        assert "Listo: marzo 2023" in summary.text
        assert "255,835" in summary.text and "255,900" in summary.text and "1,084" in summary.text
        assert "<b>Todo bien</b> & más" in summary.text  # shown escaped, i.e. as typed
        assert [label for label, _ in summary.buttons] == ["Corregir 1", "Corregir 2",
                                                           "Corregir 3"]

    stored = await values_of(db)
    assert stored == {
        recibos: (Decimal("255835"), "", "telegram", False),
        lecturas: (Decimal("255900"), "<b>Todo bien</b> & más", "telegram", False),
        inspecciones: (Decimal("1084"), "", "telegram", False),
    }
    conversations = await db.run(lambda s: s.exec(select(Conversation)).all())
    assert conversations == []  # finished: nothing left waiting


async def test_correction_keeps_both_values_and_the_reason(db):
    ids = await db.run(add_sample_catalog)
    recibos = ids["303"][0]
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"])
        await bot.say(ANA, "/reportar")  # one unit, one open period: no choice
        saved = await bot.say(ANA, "255835")
        await bot.press(ANA, button_data(saved, "Sin observaciones"))
        await bot.say(ANA, "/cancelar", lambda m: "terminé" in m.text)

        pick = await bot.say(ANA, "/corregir")  # one open period: straight to its values
        assert "¿Qué valor quieres corregir?" in pick.text
        card = await bot.press(ANA, pick.buttons[0][1])
        assert "Valor actual: <b>" not in card.text and "Valor actual: 255,835" in card.text
        reason_prompt = await bot.say(ANA, "255,840")
        assert "de 255,835 RECIBOS a 255,840 RECIBOS" in reason_prompt.text
        done = await bot.say(ANA, "Error de dedo en el conteo")
        assert "Corregido" in done.text and "Error de dedo" in done.text

    def revisions(session):
        return [(r.old_value, r.new_value, r.reason) for r in session.exec(
            select(Revision).where(Revision.indicator_id == recibos).order_by(Revision.id))]
    assert await db.run(revisions) == [(None, Decimal("255835"), ""),
                                       (Decimal("255835"), Decimal("255840"),
                                        "Error de dedo en el conteo")]
    assert (await values_of(db))[recibos][0] == Decimal("255840")


async def test_several_units_choose_unit_first_and_people_do_not_wait(db):
    ids = await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        await bot.register_coordinador(2002, ["303", "306"], name="Beto")
        people = list(range(3001, 3006))
        for user in people:
            await bot.register_coordinador(user, ["305"])
        for user in [2002, *people]:
            bot.stub.send_text(user, "/reportar")
        first = await asyncio.gather(*(bot.next_message(u) for u in [2002, *people]))
        assert "¿De qué unidad" in first[0].text
        assert [label for label, _ in first[0].buttons] == ["303 FACTURACION",
                                                            "306 ALTOS CONSUMOS"]
        # 305 owes March (monthly) and the first quarter (quarterly): most recent first.
        assert [label for label, _ in first[1].buttons] == ["marzo 2023 · 1 pendiente",
                                                            "1.º trimestre 2023 · 1 pendiente"]
        periods = await bot.press(2002, button_data(first[0], "306"))
        card = await bot.choose_period(2002, periods, "marzo")  # 306 owes March only
        assert "1. Reconexion de servicio de agua… · meta 150" in card.text  # short name
        # Catalog text with <, > and & is escaped (the stub would reject it otherwise).
        described = await bot.press(2002, button_data(card, "Ver descripciones"))
        assert "RECONEXION DE SERVICIO DE AGUA <PROGRAMADO> & MAS" in described.text
        saved = await bot.say(2002, "120")  # 80 % of the meta: out of green
        assert "Guardé 120" in saved.text and "justificación de la variación" in saved.text
        justified = await bot.say(2002, "Faltó material <tubería> & personal")
        assert "«Faltó material <tubería> & personal»" in justified.text
        card2 = await bot.press(2002, button_data(justified, "Sin observaciones"))
        assert "Inspeccion · meta 8.33%" in card2.text
        saved = await bot.say(2002, "25%")  # cumulative to March (the meta is 8.33% a month)
        assert "Guardé 25%" in saved.text
    assert set(await values_of(db)) == set(ids["306"])


async def test_forged_and_stale_buttons_change_nothing(db):
    ids = await db.run(add_sample_catalog)
    other_unit_indicator = ids["305"][0]
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"])
        card = await bot.say(ANA, "/reportar")  # one unit, one open period: no choice
        saved = await bot.say(ANA, "255835")
        forged = [f"c:i:{other_unit_indicator}:2023-03",  # another unit's indicator
                  "r:p:305:2023-03",  # another unit
                  "r:p:303:2023-02",  # a closed period
                  f"c:i:{ids['303'][0]}:2023-02",  # closed period of her own indicator
                  "r:ok:999999", "r:nr:abc", "x:y", "r:", f"r:nr:{ids['303'][1]}"]
        for data in forged:
            bot.stub.press_button(ANA, data)
        await bot.idle()
        answers = [c.params for c in bot.stub.calls if c.method == "answerCallbackQuery"]
        assert [a.get("text") for a in answers[-len(forged):]] == [STALE_BUTTON_TEXT] * len(
            forged)
        assert not bot.stub.unanswered_callback_queries()
        # Still waiting for the remarks of the first indicator, as before.
        echo = await bot.say(ANA, "Se cerró la caja el día 31")
        assert "«Se cerró la caja el día 31»" in echo.text  # remarks echoed
        assert "faltan 2 de 3" in echo.text  # with the next card
        del card, saved
    stored = await values_of(db)
    assert set(stored) == {ids["303"][0]}
    assert stored[ids["303"][0]][1] == "Se cerró la caja el día 31"


async def test_command_in_the_middle_is_answered_then_the_question_comes_back(db):
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"])
        await bot.say(ANA, "/reportar")  # one unit, one open period: no choice
        pending = await bot.say(ANA, "/pendientes")
        assert "Tus pendientes" in pending.text and "3 por reportar" in pending.text
        back = await bot.next_message(ANA)
        assert "Seguimos donde te quedaste" in back.text and "faltan 3 de 3" in back.text
        unknown = await bot.say(ANA, "/foo")
        assert "No conozco el comando /foo" in unknown.text
        await bot.next_message(ANA, lambda m: "Seguimos" in m.text)
        again = await bot.say(ANA, "/reportar")  # continue, not restart
        assert "Seguimos donde te quedaste" in again.text and "faltan 3 de 3" in again.text
        saved = await bot.say(ANA, "255835")
        assert "Guardé" in saved.text
        cancelled = await bot.say(ANA, "/cancelar")
        assert "quedó guardado" in cancelled.text
        idle = await bot.say(ANA, "12345")
        assert "No guardé «12345»" in idle.text  # never mistaken for a saved value
        assert "Te faltan 2 indicadores" in idle.text and "Escribe /reportar" in idle.text
        bot.stub.press_button(ANA, button_data(saved, "Sin observaciones"))
        await bot.idle()
        answer = [c.params for c in bot.stub.calls if c.method == "answerCallbackQuery"][-1]
        assert answer.get("text") == STALE_BUTTON_TEXT
        gerente_help = await bot.say(ANA, "/ayuda")
        assert "/reportar" in gerente_help.text and "/reabrir" not in gerente_help.text
