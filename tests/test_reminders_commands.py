"""/recordatorios, /recordar, /reabrir, /cerrar and the reminder's button, as people use them."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.clock import FrozenClock
from bot.scheduler import scheduler_of
from handlers.common import STRANGER_TEXT
from storage.models import LockEvent, PeriodLock, ReminderLog
from tests.harness import add_sample_catalog, running_bot

TZ = ZoneInfo("America/Matamoros")
MODULES = ["handlers.reminders"]
ANA, BETO, GERENTE, STRANGER = 1001, 1002, 9001, 5555


def local(*args) -> FrozenClock:
    return FrozenClock(datetime(*args, tzinfo=TZ).astimezone(UTC))


async def setup(bot) -> None:
    await bot.register_coordinador(ANA, ["303"], name="Ana")
    await bot.register_coordinador(BETO, ["305", "306"], name="Beto")
    await bot.register_gerente(GERENTE, name="Gerente")


async def test_recordar_sends_now_but_never_twice_a_day(db):
    await db.run(add_sample_catalog, 2023)
    async with running_bot(db, clock=local(2023, 4, 2, 10, 0), handler_modules=MODULES) as bot:
        await setup(bot)
        reply = await bot.say(GERENTE, "/recordar", lambda m: "Envié" in (m.text or ""))
        assert "Envié 2 recordatorios: " in reply.text
        assert "Ana" in reply.text and "Beto" in reply.text  # to whom, by name
        assert "Sin responsable" not in reply.text
        assert len(bot.stub.messages_to(ANA)) == 1 and len(bot.stub.messages_to(BETO)) == 1
        assert "El plazo vence el miércoles 5 de abril" in bot.texts_to(ANA)[0]

        reply = await bot.say(GERENTE, "/recordar marzo")
        assert "Envié 0 recordatorios" in reply.text
        assert "2 personas ya habían recibido uno hoy" in reply.text
        assert len(bot.stub.messages_to(ANA)) == 1

        # The scheduled reminder of the 3rd still goes; a /recordar after it does not.
        bot.clock.set(datetime(2023, 4, 3, 9, 0, tzinfo=TZ))
        await scheduler_of(bot.app).tick(bot.app.bot, wait=True)
        assert len(bot.stub.messages_to(ANA)) == 2
        bot.clock.set(datetime(2023, 4, 3, 11, 0, tzinfo=TZ))
        reply = await bot.say(GERENTE, "/recordar")
        assert "ya habían recibido uno hoy" in reply.text
        assert len(bot.stub.messages_to(ANA)) == 2


async def test_recordar_on_a_closed_period_explains_how_to_reopen(db):
    await db.run(add_sample_catalog, 2023)
    async with running_bot(db, clock=local(2023, 4, 10, 10, 0), handler_modules=MODULES) as bot:
        await setup(bot)
        reply = await bot.say(GERENTE, "/recordar 2023-03")
        assert "no está abierto" in reply.text and "/reabrir 2023-03" in reply.text
        reply = await bot.say(GERENTE, "/recordar trece")
        assert "No reconozco ese periodo" in reply.text
        reply = await bot.say(GERENTE, "/recordar")
        assert "no envié nada" in reply.text
        assert bot.stub.messages_to(ANA) == []


async def test_gerente_commands_refuse_coordinadores_and_strangers(db):
    await db.run(add_sample_catalog, 2023)
    async with running_bot(db, handler_modules=MODULES) as bot:
        await setup(bot)
        for command in ("/recordatorios", "/recordar", "/reabrir 2023-02", "/cerrar 2023-03"):
            reply = await bot.say(ANA, command)
            assert reply.text == "Este comando es solo para gerentes."
            reply = await bot.say(STRANGER, command)
            assert reply.text == STRANGER_TEXT
        assert await db.run(lambda s: s.exec(select(PeriodLock)).all()) == []
        assert await db.run(lambda s: s.exec(select(ReminderLog)).all()) == []


async def test_reabrir_and_cerrar_change_locks_and_are_logged(db):
    await db.run(add_sample_catalog, 2023)
    async with running_bot(db, clock=local(2023, 4, 10, 10, 0), handler_modules=MODULES) as bot:
        await setup(bot)
        reply = await bot.say(GERENTE, "/reabrir 2023-03 303")
        assert "marzo 2023 quedó reabierto para la unidad 303 FACTURACION" in reply.text
        assert "se marcarán como tardíos" in reply.text

        # Reopened for 303: Ana can be reminded by hand again, Beto (305/306) cannot.
        reply = await bot.say(GERENTE, "/recordar 2023-03",
                              lambda m: "Envié" in (m.text or ""))
        assert "Envié 1 recordatorio" in reply.text
        assert len(bot.stub.messages_to(ANA)) == 1 and bot.stub.messages_to(BETO) == []

        reply = await bot.say(GERENTE, "/cerrar marzo 2023")
        assert "quedó cerrado para todas las unidades" in reply.text
        reply = await bot.say(GERENTE, "/cerrar marzo 2023")
        assert "Ya estaba así" in reply.text
        reply = await bot.say(GERENTE, "/reabrir 2023-03 999")
        assert reply.text == "No existe la unidad 999."
        reply = await bot.say(GERENTE, "/reabrir")
        assert "/reabrir 2023-03 303" in reply.text

        events = await db.run(lambda s: [(e.period, e.unit_clave, e.action) for e in s.exec(
            select(LockEvent).order_by(LockEvent.id)).all()])
        assert events == [("2023-03", "303", "reopen"), ("2023-03", "*", "close"),
                          ("2023-03", "*", "close")]


async def test_recordatorios_shows_calendar_and_who_owes_what(db):
    await db.run(add_sample_catalog, 2023)
    async with running_bot(db, clock=local(2023, 4, 3, 12, 0), handler_modules=MODULES) as bot:
        await setup(bot)
        reply = await bot.say(GERENTE, "/recordatorios")
        text = reply.text
        assert "Calendario de captura (America/Matamoros)" in text
        assert "Plazo: día 5" in text and "días 1, 3, 5 a las 09:00" in text
        assert "miércoles 5 de abril, 09:00 — recordatorio" in text
        assert "jueves 6 de abril, 09:00 — aviso a gerencia" in text
        assert "marzo 2023" in text and "303 FACTURACION: 3 pendientes — Ana" in text
        assert "1.º trimestre 2023" in text and "305 CONTRATACION: 1 pendiente — Beto" in text


async def test_reminder_button_starts_reporting_that_unit_and_period(db):
    await db.run(add_sample_catalog, 2023)
    async with running_bot(db, clock=local(2023, 4, 3, 9, 0),
                           handler_modules=["handlers.reporting", *MODULES]) as bot:
        await setup(bot)
        await scheduler_of(bot.app).tick(bot.app.bot, wait=True)
        reminder = await bot.stub.wait_for_message(BETO)
        assert [label for label, _data in reminder.buttons] == [
            "Reportar marzo 2023 · 305", "Reportar marzo 2023 · 306",
            "Reportar 1.º trimestre 2023"]
        reply = await bot.press(BETO, reminder.buttons[1][1])
        # The report flow shows 306's card of March straight away (short names; the
        # catalog's full name, escaped, is behind «Ver descripciones»).
        assert "306 ALTOS CONSUMOS · marzo 2023 · faltan 2 de 2" in reply.text
        assert "1. Reconexion de servicio de agua…" in reply.text
        described = await bot.press(BETO, next(
            data for label, data in reply.buttons if label == "Ver descripciones"))
        assert "RECONEXION DE SERVICIO DE AGUA <PROGRAMADO> & MAS" in described.text


async def test_recordar_names_pending_units_with_nobody_to_remind(db):
    await db.run(add_sample_catalog, 2023)
    async with running_bot(db, clock=local(2023, 4, 4, 10, 0), handler_modules=MODULES) as bot:
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        await bot.register_gerente(GERENTE, name="Gerente")
        reply = await bot.say(GERENTE, "/recordar", lambda m: "Envié" in (m.text or ""))
        assert "Envié 1 recordatorio: Ana." in reply.text
        # 305 and 306 owe values and nobody answers for them: said, not silently skipped.
        assert "Sin responsable a quien recordar: 305 CONTRATACION, 306 " in reply.text


async def test_recordatorios_never_calls_a_past_deadline_upcoming(db):
    await db.run(add_sample_catalog, 2023)
    async with running_bot(db, clock=local(2023, 4, 12, 10, 0), handler_modules=MODULES) as bot:
        await setup(bot)
        await bot.say(GERENTE, "/reabrir 2023-03", lambda m: "reabierto" in (m.text or ""))
        text = (await bot.say(GERENTE, "/recordatorios")).text
        assert "marzo 2023 (reabierto) — venció el miércoles 5 de abril" in text
        assert "vence el miércoles 5 de abril" not in text
        # Upcoming sends are all after now: May's reminders (1 May is a holiday: the 2nd).
        upcoming = text.split("Próximos envíos", 1)[1].split("Periodos abiertos", 1)[0]
        assert "martes 2 de mayo, 09:00 — recordatorio" in upcoming
        assert "abril" not in upcoming


def test_recordar_answer_names_twenty_people_then_counts_the_rest():
    """A state-wide /recordar reaches thousands: its answer stays one message (it used to
    list every name, 14 messages for 3,000 people)."""
    from bot.scheduler import FanOutResult
    from handlers.reminders import NAMES_SHOWN, manual_result_text

    names = [f"Coordinador {i}" for i in range(3000)]
    text = manual_result_text(FanOutResult(planned=3000, sent=3000, sent_to=names),
                              [("308", "BAJOS <CONSUMOS>")])
    assert text.startswith("Envié 3,000 recordatorios: Coordinador 0, ")
    assert f"Coordinador {NAMES_SHOWN - 1} y {3000 - NAMES_SHOWN:,} más." in text
    assert f"Coordinador {NAMES_SHOWN}," not in text
    assert "308 BAJOS &lt;CONSUMOS&gt;" in text
    assert len(text) < 1000


def test_recordar_answer_says_what_a_stop_left_unsent_and_how_to_finish():
    from bot.scheduler import FanOutResult
    from handlers.reminders import manual_result_text

    text = manual_result_text(FanOutResult(planned=3000, sent=40, not_sent=2960,
                                           sent_to=["Ana"] * 40))
    assert text.startswith("Envié 40 recordatorios")
    assert "quedaron 2,960 recordatorios sin enviar" in text
    assert "envía /recordar de nuevo" in text
