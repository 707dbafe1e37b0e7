"""How the bot reads what people type, per indicator, through the real Application."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlmodel import select

from bot.clock import FrozenClock
from bot.domain.periods import Period
from handlers.common import STALE_BUTTON_TEXT
from storage.models import ReportedValue
from tests.harness import add_sample_catalog, button_data, running_bot
from tests.test_bot_reporting import values_of

ANA = 1001  # coordinadora of 303 (counts: RECIBOS 255,835 · LECTURAS 255,835 · INSPECCIONES 150)
BETO = 2002  # coordinador of 306 (RECONEXIONES 150 · INSPECCION 8.33 % a month, cumulative)


async def _start_march(bot, user: int, unit: str):
    await bot.register_coordinador(user, [unit])
    return await bot.say(user, "/reportar")  # one unit, one open period: no choice


async def _stale_answers(bot, user: int, presses: list[str]) -> list[str | None]:
    for data in presses:
        bot.stub.press_button(user, data)
    await bot.idle()
    answers = [c.params for c in bot.stub.calls if c.method == "answerCallbackQuery"]
    return [a.get("text") for a in answers[-len(presses):]]


async def test_dot_thousands_on_a_count_asks_which_reading(db):
    ids = await db.run(add_sample_catalog)
    recibos, lecturas, inspecciones = ids["303"]
    async with running_bot(db) as bot:
        await _start_march(bot, ANA, "303")
        choice = await bot.say(ANA, "255.835")  # today: saved as 255.835 recibos
        assert "¿Quisiste decir 255,835 RECIBOS o 255.835 RECIBOS?" in choice.text
        assert "para miles usa coma: 255,835; para decimales, punto: 255.835" in choice.text
        assert choice.buttons == [("255,835", f"r:rd:{recibos}:255835"),
                                  ("255.835", f"r:rd:{recibos}:255.835")]
        assert all(len(data.encode()) <= 64 for _label, data in choice.buttons)
        assert recibos not in await values_of(db)  # nothing kept before choosing
        # Forged: a reading not offered, another indicator, a malformed press.
        assert await _stale_answers(bot, ANA, [
            f"r:rd:{recibos}:255836", f"r:rd:{lecturas}:255835", f"r:rd:{recibos}",
            f"c:rd:{recibos}:255835"]) == [STALE_BUTTON_TEXT] * 4
        saved = await bot.press(ANA, button_data(choice, "255,835"))
        assert "Guardé 255,835" in saved.text
        assert (await values_of(db))[recibos][0] == Decimal("255835")
        # Stale: the same screen's other reading, once the value is saved.
        assert await _stale_answers(bot, ANA, [f"r:rd:{recibos}:255.835"]) == [
            STALE_BUTTON_TEXT]
        assert (await values_of(db))[recibos][0] == Decimal("255835")

        card = await bot.press(ANA, button_data(saved, "Sin observaciones"))
        assert "Lecturas tomadas" in card.text
        choice = await bot.say(ANA, "2.558")
        # A new text instead of a button: read afresh, the old readings are gone.
        choice = await bot.say(ANA, "255.900")
        assert await _stale_answers(bot, ANA, [f"r:rd:{lecturas}:2558"]) == [STALE_BUTTON_TEXT]
        saved = await bot.press(ANA, button_data(choice, "255,900"))
        assert "Guardé 255,900" in saved.text

        await bot.press(ANA, button_data(saved, "Sin observaciones"))
        choice = await bot.say(ANA, "1.084")  # INSPECCIONES, meta 150
        asked = await bot.press(ANA, button_data(choice, "1.084"))  # the fraction, chosen
        assert "¿Es correcto?" in asked.text and "lejos de la meta" in asked.text
        assert "decimales" not in asked.text  # picked on purpose: not asked about it again
        assert inspecciones not in await values_of(db)
    assert (await values_of(db))[lecturas][0] == Decimal("255900")


async def test_several_dot_groups_are_read_as_thousands_and_the_confirmation_says_so(db):
    ids = await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        await _start_march(bot, ANA, "303")
        saved = await bot.say(ANA, "1.250.000")  # today: refused («más de un punto decimal»)
        assert "Guardé 1,250,000" in saved.text
        assert "Leí «1.250.000» como 1,250,000: los puntos separan miles." in saved.text
    assert (await values_of(db))[ids["303"][0]][0] == Decimal("1250000")


async def test_a_fraction_on_a_count_always_asks_before_saving(db):
    ids = await db.run(add_sample_catalog)
    recibos = ids["303"][0]
    async with running_bot(db) as bot:
        await _start_march(bot, ANA, "303")
        asked = await bot.say(ANA, "255835.5")  # today: saved at once as a fraction
        assert "Escribiste 255,835.5 RECIBOS" in asked.text
        assert "tiene decimales, pero los recibos se cuentan enteros" in asked.text
        assert [label for label, _ in asked.buttons] == ["Sí, es correcto", "Corregir"]
        assert recibos not in await values_of(db)
        again = await bot.press(ANA, button_data(asked, "Corregir"))
        assert "Escribe de nuevo" in again.text
        saved = await bot.say(ANA, "255835")
        assert "Guardé 255,835" in saved.text
    assert (await values_of(db))[recibos][0] == Decimal("255835")


async def test_words_after_the_number_and_a_decimal_comma_on_percent(db):
    ids = await db.run(add_sample_catalog)
    reconexiones, inspeccion = ids["306"]
    async with running_bot(db) as bot:
        await _start_march(bot, BETO, "306")
        saved = await bot.say(BETO, "115 reconexiones")  # today: «no es un número»
        assert "Guardé 115 reconexiones" in saved.text
        # 115 of 150 leaves green: the justification is asked before the remarks.
        assert "justificación de la variación" in saved.text
        remarks = await bot.say(BETO, "Faltaron cuadrillas; se refuerza el turno")
        assert remarks.text.startswith("📝 Justificación") and "¿Observaciones?" in remarks.text
        await bot.press(BETO, button_data(remarks, "Sin observaciones"))
        saved = await bot.say(BETO, "24,995 %")  # today: 24,995 — above 100 %
        assert "Guardé 24.995%" in saved.text  # as stored: all three decimals
    stored = await values_of(db)
    assert stored[reconexiones][0] == Decimal("115")
    assert stored[inspeccion][0] == Decimal("24.995")


async def test_spelled_numbers_and_text_get_one_message_with_an_example(db):
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        await _start_march(bot, ANA, "303")
        before = len(bot.texts_to(ANA))
        for text, fragment in [("mil quinientos", "con números, no con palabras"),
                               ("5 mil", "con números, no con palabras"),
                               ("ya los entregué", "no es un número"),
                               ("1,5", "ambiguo")]:
            reply = await bot.say(ANA, text)
            assert fragment in reply.text, (text, reply.text)
            assert "Por ejemplo: 1250, 1,250 o 1,250 recibos." in reply.text
            assert "Escribe de nuevo el valor de Recibos entregados" in reply.text
        await bot.idle()
        assert len(bot.texts_to(ANA)) == before + 4  # one reply per message, not two


def _seed_september(session, inspeccion_id: int) -> None:
    period = Period.month(2023, 9)
    session.add(ReportedValue(indicator_id=inspeccion_id, period=period.code, year=2023,
                              period_start=period.start, period_end=period.end,
                              value=Decimal("75"), meta=Decimal("8.33"), observaciones="",
                              reported_at=datetime(2023, 10, 2, tzinfo=UTC), source="import"))


async def test_share_of_year_card_says_to_type_the_cumulative_and_asks_on_the_monthly_share(db):
    ids = await db.run(add_sample_catalog)
    reconexiones, inspeccion = ids["306"]
    await db.run(_seed_september, inspeccion)
    clock = FrozenClock(datetime(2023, 11, 3, 15, tzinfo=UTC))  # October is open
    async with running_bot(db, clock=clock) as bot:
        await bot.register_coordinador(BETO, ["306"])
        await bot.start_report(BETO, "octubre")
        saved = await bot.say(BETO, "140")  # below the meta: the justification first
        assert "Guardé 140 reconexiones" in saved.text and "fuera de verde" in saved.text
        remarks = await bot.say(BETO, "Se atendieron fugas mayores; se recupera en noviembre")
        card = await bot.press(BETO, button_data(remarks, "Sin observaciones"))
        assert "Inspeccion · meta 8.33%" in card.text
        assert ("Escribe el % acumulado en el año hasta octubre 2023, no solo el del periodo; "
                "la meta a octubre 2023 es 83.30%.") in card.text

        asked = await bot.say(BETO, "8.33")  # today: saved, and shown red in the summary
        assert "Escribiste 8.33%" in asked.text
        assert ("parece el avance de un solo periodo (la meta de cada periodo es 8.33%), pero "
                "aquí va el % acumulado a octubre 2023, cuya meta es 83.30%") in asked.text
        assert "Si 8.33% es lo acumulado en el año a octubre 2023" in asked.text
        assert ("Si 8.33% es solo lo de octubre 2023, toca «Corregir» y escribe el acumulado: "
                "lo que llevabas (75% a septiembre 2023) más lo de este periodo.") in asked.text
        assert inspeccion not in await values_of(db, "2023-10")

        again = await bot.press(BETO, button_data(asked, "Corregir"))
        assert "Inspeccion: Escribe el % acumulado en el año hasta octubre 2023" in again.text
        refused = await bot.say(BETO, "ochenta")  # asked again: the same hint, one message
        assert refused.text.startswith("Escribe la cifra con números, no con palabras")
        assert "la meta a octubre 2023 es 83.30%" in refused.text
        saved = await bot.say(BETO, "83,33")
        assert "Guardé 83.33%" in saved.text

    stored = await values_of(db, "2023-10")
    assert stored[inspeccion][0] == Decimal("83.33")
    assert stored[reconexiones][0] == Decimal("140")

    def conversations(session):
        return session.exec(select(ReportedValue).where(
            ReportedValue.indicator_id == inspeccion)).all()
    assert len(await db.run(conversations)) == 2  # September (seeded) and October


async def test_correction_chooses_a_reading_and_the_choice_survives_another_command(db):
    ids = await db.run(add_sample_catalog)
    recibos = ids["303"][0]
    async with running_bot(db) as bot:
        await _start_march(bot, ANA, "303")
        saved = await bot.say(ANA, "255835")
        await bot.press(ANA, button_data(saved, "Sin observaciones"))
        await bot.say(ANA, "/cancelar", lambda m: "terminé" in m.text)
        pick = await bot.say(ANA, "/corregir")
        await bot.press(ANA, pick.buttons[0][1])
        choice = await bot.say(ANA, "255.900")
        assert choice.buttons == [("255,900", f"c:rd:{recibos}:255900"),
                                  ("255.9", f"c:rd:{recibos}:255.900")]
        await bot.say(ANA, "/pendientes")  # the question is asked again after the answer
        back = await bot.next_message(ANA, lambda m: "Seguimos donde te quedaste" in m.text)
        assert "¿Quisiste decir 255,900 RECIBOS o 255.9 RECIBOS?" in back.text
        assert back.buttons == choice.buttons
        reason = await bot.press(ANA, button_data(back, "255,900"))
        assert "de 255,835 RECIBOS a 255,900 RECIBOS" in reason.text
        done = await bot.say(ANA, "Faltaba un lote")
        assert "Corregido" in done.text and "a 255,900 RECIBOS" in done.text
    assert (await values_of(db))[recibos][0] == Decimal("255900")
