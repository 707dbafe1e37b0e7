"""Issues 11 and 10 through the real bot: a unit's values in one message, counted actions,
no choice taps when there is nothing to choose, the late notice once, the justification."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlmodel import select

from bot.clock import FrozenClock
from storage.models import (
    ActionLine,
    Indicator,
    Justification,
    ProgrammedMeta,
    ReportedValue,
    Unit,
)
from tests.harness import button_data, running_bot

ANA = 1001
FIVE = [("TOMA DE LECTURAS", "1100", "TOMA DE LECTURAS"),
        ("RECONEXIONES REALIZADAS", "120", "RECONEXIONES"),
        ("INSPECCIONES REALIZADAS", "90", "INSPECCIONES"),
        ("RECIBOS ENTREGADOS A DOMICILIO EN LA ZONA URBANA Y RURAL DEL MUNICIPIO", "3300",
         "RECIBOS"),
        ("CORTES", "3300", "CORTES")]


def five_indicators(session, year=2023):
    line = ActionLine(code="654", objetivo="X")
    unit = Unit(clave="303", nombre="FACTURACION")
    session.add_all([line, unit, Unit(clave="306", nombre="ALTOS CONSUMOS")])
    session.flush()
    ids = []
    for position, (nombre, meta, medida) in enumerate(FIVE):
        indicator = Indicator(year=year, unit_id=unit.id, action_line_id=line.id,
                              accion=f"A{position}", nombre=nombre, meta=Decimal(meta),
                              descripcion="Descripción escrita para 2023 " * 5,
                              unidad_medida=medida, frecuencia="MENSUAL", aggregation="sum",
                              position=position)
        session.add(indicator)
        session.flush()
        ids.append(indicator.id)
    return ids


def imported_value(indicator_id: int, period: str, value: str) -> ReportedValue:
    """A month's value as an import stores it (``period``: ``YYYY-MM``)."""
    year, month = int(period[:4]), int(period[-2:])
    return ReportedValue(indicator_id=indicator_id, period=period, year=year,
                         period_start=datetime(year, month, 1).date(),
                         period_end=datetime(year, month, 28).date(), value=Decimal(value),
                         meta=Decimal(1), reported_at=datetime(year, month, 2, tzinfo=UTC),
                         source="import")


async def card_and_resumed(db) -> tuple:
    """Ana's card of pending values, and the same card when she asks again (resumed)."""
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"])
        return await bot.say(ANA, "/reportar"), await bot.say(ANA, "/reportar")


async def stored(db):
    def query(session):
        return {r.indicator_id: r.value for r in session.exec(
            select(ReportedValue).where(ReportedValue.period == "2023-03"))}
    return await db.run(query)


async def justifications(db):
    return await db.run(lambda s: [(j.indicator_id, j.text, j.state) for j in s.exec(
        select(Justification).order_by(Justification.id))])


async def test_five_indicators_from_the_reminder_to_done_in_three_actions(db):
    """Before this change the same report took 11 actions (the reminder's tap, then a value
    and a «Sin observaciones» tap per indicator); now: tap, one message, «Sí»."""
    ids = await db.run(five_indicators)
    actions = 0
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"])
        card = await bot.press(ANA, "r:p:303:2023-03")  # the reminder's button
        actions += 1
        assert "1. Toma de lecturas · meta 1,100" in card.text
        assert "Recibos entregados a domicilio…" in card.text  # short, at a word
        assert "Descripción escrita" not in card.text  # only behind the button
        assert [label for label, _ in card.buttons] == ["Ver descripciones"]
        table = await bot.say(ANA, "1100 120 90 3300 3300")
        actions += 1
        assert "1. Toma de lecturas: 1,100" in table.text and "¿Está bien?" in table.text
        assert await stored(db) == {}  # nothing kept before «Sí»
        done = await bot.press(ANA, button_data(table, "Sí, guardar"))
        actions += 1
        assert "Listo: marzo 2023" in done.text
        words = sum(len(t.split()) for t in bot.texts_to(ANA))
    assert actions <= 4
    assert words < 179, words  # half of the 358 words before
    assert await stored(db) == dict(zip(ids, [Decimal(v) for v in
                                              ("1100", "120", "90", "3300", "3300")],
                                        strict=True))


async def test_slash_reportar_single_unit_and_period_no_choice_taps(db):
    await db.run(five_indicators)
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"])
        card = await bot.say(ANA, "/reportar")  # one unit, one open period: no tap
        assert "303 FACTURACION · marzo 2023" in card.text
        descriptions = await bot.press(ANA, button_data(card, "Ver descripciones"))
        assert "Descripción escrita" in descriptions.text
        wrong = await bot.say(ANA, "1100 120")
        assert "Escribiste 2 valores y te faltan 5 indicadores" in wrong.text
        bad = await bot.say(ANA, "1100 120 -5 3300 3300")
        assert "El valor 3" in bad.text and "No guardé nada" in bad.text
        table = await bot.say(ANA, "1100\n120\n90\n3.300\n3300")  # 3.300: 3,300 or 3.3?
        assert "«3.300» ❓" in table.text
        retyped = await bot.press(ANA, button_data(table, "Corregir"))
        assert "Escribe los 5 valores" in retyped.text
        table = await bot.say(ANA, "1100\n120\n90\n3.300\n3300")
        choose = await bot.press(ANA, button_data(table, "Sí, guardar"))
        assert "Guardé 4 valores" in choose.text
        choice = await bot.next_message(ANA, lambda m: bool(m.buttons))
        done = await bot.press(ANA, button_data(choice, "3,300"))
        # The tap is seen to count: the saved value heads the summary that follows.
        assert done.text.startswith("✅ Guardé 3,300 en ") and "Listo" in done.text
    assert len(await stored(db)) == 5


async def test_the_card_shows_last_years_value_and_the_programmed_meta(db):
    """The card's «marzo 2022: …» is the value of the same-named indicator of the same unit
    in last year's catalog, never another unit's nor another indicator's; its meta is the
    one programmed for the month when the ficha's calendar has one. The resumed card too."""
    def seed(session):
        ids = five_indicators(session)
        session.add(ProgrammedMeta(indicator_id=ids[1], period="2023-03", meta=Decimal(150)))
        units = {u.clave: u.id for u in session.exec(select(Unit))}
        old = {}
        for clave, nombre in (("303", "TOMA DE LECTURAS"), ("303", "CORTES"),
                              ("306", "RECONEXIONES REALIZADAS")):
            indicator = Indicator(year=2022, unit_id=units[clave], accion="A", nombre=nombre,
                                  meta=Decimal(1), descripcion="", unidad_medida="X",
                                  frecuencia="MENSUAL", position=0)
            session.add(indicator)
            session.flush()
            old[(clave, nombre)] = indicator.id
        for (clave, nombre), value, period in (
                (("303", "TOMA DE LECTURAS"), "1015", "2022-03"),
                (("303", "CORTES"), "2900", "2022-02"),  # another month: not shown
                (("306", "RECONEXIONES REALIZADAS"), "77", "2022-03")):  # another unit
            session.add(imported_value(old[(clave, nombre)], period, value))
    await db.run(seed)
    card, resumed = await card_and_resumed(db)
    for shown in (card, resumed):
        lines = shown.text.splitlines()
        first = next(i for i, line in enumerate(lines) if line.startswith("1. "))
        assert "1. Toma de lecturas · meta 1,100 · marzo 2022: 1,015" in lines[first]
        assert "2. Reconexiones realizadas · meta 150" in lines[first + 1]  # programmed
        assert "2022" not in "".join(lines[first + 1:])  # 77 is 306's, 2,900 is February's
    assert "Seguimos donde te quedaste" in resumed.text


async def test_the_card_shows_each_indicators_latest_earlier_value(db):
    """Beside the meta, the value of the latest earlier month of the same indicator: never
    another indicator's, nor one of a later month. The resumed card too."""
    def seed(session):
        ids = five_indicators(session)
        for index, period, value in ((0, "2023-01", "1010"), (0, "2023-02", "1020"),
                                     (2, "2023-01", "85"), (3, "2023-04", "3400")):
            session.add(imported_value(ids[index], period, value))
    await db.run(seed)
    card, resumed = await card_and_resumed(db)
    for shown in (card, resumed):
        lines = [line for line in shown.text.splitlines() if line[:3] in ("1. ", "2. ", "3. ",
                                                                          "4. ", "5. ")]
        assert lines == ["1. Toma de lecturas · meta 1,100 · febrero 2023: 1,020",
                         "2. Reconexiones realizadas · meta 120",
                         "3. Inspecciones realizadas · meta 90 · enero 2023: 85",
                         "4. Recibos entregados a domicilio… · meta 3,300",  # April: later
                         "5. Cortes · meta 3,300"], lines


async def test_nothing_pending_is_said_at_once(db):
    await db.run(five_indicators)
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"])
        card = await bot.say(ANA, "/reportar")
        table = await bot.say(ANA, "1100 120 90 3300 3300")
        await bot.press(ANA, button_data(table, "Sí, guardar"))
        await bot.register_coordinador(2002, ["303", "306"])
        nothing = await bot.say(2002, "/reportar")  # two units, nothing pending: no choice
        assert "No tienes indicadores pendientes" in nothing.text and not nothing.buttons
        del card


async def test_late_is_said_once_with_the_date(db):
    await db.run(five_indicators)
    late_clock = FrozenClock(datetime(2023, 4, 10, 15, tzinfo=UTC))  # after the deadline
    async with running_bot(db, clock=late_clock,
                           settings_overrides={"poa_grace_days": 10}) as bot:
        await bot.register_coordinador(ANA, ["303"])
        card = await bot.say(ANA, "/reportar")
        assert card.text.count("El plazo ya venció") == 1 and "hasta el" in card.text
        saved = await bot.say(ANA, "1100")  # one at a time still works
        assert "Guardé" in saved.text and "plazo" not in saved.text
        card2 = await bot.press(ANA, button_data(saved, "Sin observaciones"))
        assert "plazo" not in card2.text and "Escribe los 4 valores" in card2.text
        table = await bot.say(ANA, "120 90 3300 3300")
        done = await bot.press(ANA, button_data(table, "Sí, guardar"))
        assert done.text.count("fuera de plazo") == 1


async def test_justification_asked_exactly_when_a_value_leaves_green(db):
    ids = await db.run(five_indicators)
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"])
        await bot.say(ANA, "/reportar")
        # 2 is 75 % of 120 (red), 3 is 90 % of 90×… (yellow: 81 of 90 = 90 %); others green.
        table = await bot.say(ANA, "1100 90 81 3300 3300")
        ask = await bot.press(ANA, button_data(table, "Sí, con observaciones"))
        assert "Guardé 5 valores" in ask.text
        question = await bot.next_message(ANA)
        assert "Toma de lecturas" in question.text and "Observaciones" in question.text
        assert "fuera de verde" not in question.text  # green: no justification
        question = await bot.say(ANA, "no")
        assert "Reconexiones realizadas quedó fuera de verde" in question.text
        refused = await bot.say(ANA, "no")  # required
        assert "obligatoria" in refused.text
        # The justification is echoed at the head of the next question: one message.
        remarks = await bot.say(ANA, "Faltó personal; se contrata una cuadrilla en abril")
        assert remarks.text.startswith("📝 Justificación de Reconexiones realizadas")
        assert "¿Observaciones?" in remarks.text
        question = await bot.say(ANA, "👍")
        assert "Inspecciones realizadas quedó fuera de verde" in question.text
        remarks = await bot.say(ANA, "Lluvias: se reprograman las rutas pendientes")
        assert "¿Observaciones?" in remarks.text
        noted = await bot.say(ANA, "Se revisaron con el área técnica " + "muy " * 40)
        echo = noted.text.split("\n")[0]
        assert echo.startswith("📝") and "…" in echo  # echoed, shortened
        assert "¿Observaciones?" in noted.text  # with the next question
        last = await bot.press(ANA, button_data(noted, "Sin observaciones"))
        done = await bot.press(ANA, button_data(last, "Sin observaciones"))
        assert "Listo" in done.text
        assert [j[0] for j in await justifications(db)] == [ids[1], ids[2]]

        # /corregir: back to green asks nothing; another off-green state asks again.
        pick = await bot.say(ANA, "/corregir")
        card = await bot.press(ANA, button_data(pick, "2"))
        reason = await bot.say(ANA, "125")
        corrected = await bot.say(ANA, "Conté mal")
        assert "Corregido" in corrected.text
        pick = await bot.say(ANA, "/corregir")
        card = await bot.press(ANA, button_data(pick, "3"))
        reason = await bot.say(ANA, "40")
        corrected = await bot.say(ANA, "Eran menos")
        again = await bot.next_message(ANA)
        assert "quedó fuera de verde" in again.text
        done = await bot.say(ANA, "Se cayó el sistema de órdenes; se recapturan")
        assert "Justificación" in done.text
        del card, reason
    rows = await justifications(db)
    assert [r[0] for r in rows] == [ids[1], ids[2], ids[2]]
    assert rows[1][2] != rows[2][2]  # the state changed (yellow → red)


async def test_a_value_is_judged_against_the_meta_programmed_for_its_month(db):
    """The ficha's calendar, not the even split, says whether a value left green: one at a
    time and several in one message."""
    def seed(session):
        ids = five_indicators(session)
        session.add_all([ProgrammedMeta(indicator_id=ids[0], period="2023-03", meta=2000),
                         ProgrammedMeta(indicator_id=ids[1], period="2023-03", meta=300)])
        return ids
    ids = await db.run(seed)
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"])
        await bot.say(ANA, "/reportar")
        single = await bot.say(ANA, "1100")  # 55 % of 2,000 (the even split: 100 %)
        assert "Toma de lecturas quedó fuera de verde" in single.text, single.text
        assert "(1,100; meta 2,000; acumulado 1,100 de 2,000)" in single.text  # what it judged
        remarks = await bot.say(ANA, "La cuadrilla nueva empieza en abril")
        card = await bot.press(ANA, button_data(remarks, "Sin observaciones"))
        assert "faltan 4 de 5" in card.text, card.text
        table = await bot.say(ANA, "150 90 3300 3300")  # 150: 50 % of 300 (even: 125 %)
        await bot.press(ANA, button_data(table, "Sí, guardar"))
        question = await bot.next_message(ANA)
        assert "Reconexiones realizadas quedó fuera de verde" in question.text, question.text
        assert "(150; meta 300; acumulado 150 de 300)" in question.text
    assert (await stored(db))[ids[1]] == Decimal(150)


async def test_a_year_left_green_says_the_figures_to_date_it_compared(db):
    """On target for the month but short for the year: the question shows the year's figure
    and target, not only a month that looks fine."""
    def seed(session):
        ids = five_indicators(session)
        for period, value in (("2023-01", "1010"), ("2023-02", "1020")):
            session.add(imported_value(ids[0], period, value))
    await db.run(seed)
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"])
        await bot.say(ANA, "/reportar")
        question = await bot.say(ANA, "1100")
    assert ("Toma de lecturas quedó fuera de verde en el acumulado del año "
            "(1,100; meta 1,100; acumulado 3,130 de 3,300)") in question.text, question.text


async def test_justification_is_exported_in_the_csv_column(db):
    """CSV/workbook: column JUSTIFICACIÓN after OBSERVACIONES (the latest one in force)."""
    import csv
    import io

    from bot.domain.periods import period_from_code
    from bot.poa_report.writer import HEADER_SUB, text_bytes
    from bot.services.export import build_report

    await db.run(five_indicators)
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"])
        await bot.say(ANA, "/reportar")
        table = await bot.say(ANA, "1100 90 90 3300 3300")
        ask = await bot.press(ANA, button_data(table, "Sí, guardar"))
        assert "Guardé 5 valores" in ask.text
        question = await bot.next_message(ANA)
        assert "Reconexiones realizadas quedó fuera de verde" in question.text
        done = await bot.say(ANA, "Faltó personal; se contrata una cuadrilla")
        assert "Listo" in done.text and done.text.startswith("📝 Justificación")
    document = await db.run(build_report, period_from_code("2023-03"),
                            today=datetime(2023, 4, 3).date())
    rows = list(csv.reader(io.StringIO(text_bytes(document).decode("utf-8-sig"))))
    column = HEADER_SUB.index("JUSTIFICACIÓN")
    by_name = {r[9]: r[column] for r in rows if len(r) > column and r[9]}
    assert by_name["RECONEXIONES REALIZADAS"] == "Faltó personal; se contrata una cuadrilla"
    assert by_name["TOMA DE LECTURAS"] == ""


async def test_a_value_stored_meanwhile_renumbers_the_resumed_card(db):
    """Beto's card lists five; Ana stores the first meanwhile. Resumed, his card lists the
    four still pending, and four values are read against those four (not refused as too few,
    nor the first one taken for Ana's)."""
    ids = await db.run(five_indicators)
    beto = 1002
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        await bot.register_coordinador(beto, ["303"], name="Beto")
        card = await bot.say(beto, "/reportar")
        assert "faltan 5 de 5" in card.text
        await bot.say(ANA, "/reportar")
        saved = await bot.say(ANA, "1100")
        await bot.press(ANA, button_data(saved, "Sin observaciones"))
        again = await bot.say(beto, "/reportar")
        assert "Seguimos donde te quedaste" in again.text and "faltan 4 de 5" in again.text
        assert "1. Reconexiones realizadas" in again.text
        table = await bot.say(beto, "120 90 3300 3300")
        assert "1. Reconexiones realizadas: 120" in table.text
        done = await bot.press(beto, button_data(table, "Sí, guardar"))
        assert "Listo" in done.text
    assert await stored(db) == dict(zip(ids, [Decimal(v) for v in
                                              ("1100", "120", "90", "3300", "3300")],
                                        strict=True))
