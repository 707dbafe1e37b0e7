"""Reminders and escalation through the real Application and the Bot API stand-in, driven by
a frozen clock: the tick is called directly (with a FrozenClock the JobQueue heartbeat is not
installed, except in the test about the jobs themselves)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

import handlers.reminders
from bot.clock import FrozenClock
from bot.domain.periods import Period
from bot.scheduler import TICK_JOB, scheduler_of
from bot.services.registration import register_directly
from bot.services.reminders import SENDING, SENT, UNREACHABLE
from storage.models import ROLE_COORDINADOR, Indicator, Person, ReminderLog, Unit
from tests.harness import add_sample_catalog, running_bot
from tests.reminders_data import report

TZ = ZoneInfo("America/Matamoros")
MODULES = ["handlers.reminders"]
ANA, BETO, CARLA, GERENTE = 1001, 1002, 1003, 9001
MARCH, Q1 = Period.month(2023, 3), Period.quarter(2023, 1)


def local(*args) -> FrozenClock:
    return FrozenClock(datetime(*args, tzinfo=TZ).astimezone(UTC))


@pytest.fixture
def heartbeat(monkeypatch):
    """Install the real JobQueue jobs although the clock is frozen (tests of the jobs)."""
    monkeypatch.setattr(handlers.reminders, "HEARTBEAT_WITH_FROZEN_CLOCK", True)


def report_unit(session, clave: str, period: Period) -> None:
    unit = session.exec(select(Unit).where(Unit.clave == clave)).one()
    for indicator in session.exec(select(Indicator).where(
            Indicator.unit_id == unit.id, Indicator.frecuencia == period.frequency.value)):
        report(session, indicator, period)


async def people(bot) -> None:
    await bot.register_coordinador(ANA, ["303"], name="Ana")
    await bot.register_coordinador(BETO, ["305"], name="Beto")
    await bot.register_coordinador(CARLA, ["306"], name="Carla")
    await bot.register_gerente(GERENTE, name="Gerente")


async def tick(bot):
    return await scheduler_of(bot.app).tick(bot.app.bot, wait=True)


def log_rows(session):
    return session.exec(select(ReminderLog).order_by(ReminderLog.person_id,
                                                     ReminderLog.period)).all()


async def test_reminder_day_reminds_exactly_the_pending_once(db):
    await db.run(add_sample_catalog, 2023)
    await db.run(report_unit, "306", MARCH)  # Carla has nothing pending
    async with running_bot(db, clock=local(2023, 4, 3, 9, 0), handler_modules=MODULES) as bot:
        await people(bot)
        result = await tick(bot)
        assert result.sent == 2
        ana = bot.stub.messages_to(ANA)
        beto = bot.stub.messages_to(BETO)
        assert len(ana) == 1 and len(beto) == 1
        assert bot.stub.messages_to(CARLA) == [] and bot.stub.messages_to(GERENTE) == []
        assert "marzo 2023" in ana[0].text and "303 FACTURACION" in ana[0].text
        assert "3 indicadores pendientes" in ana[0].text
        assert "El plazo vence el miércoles 5 de abril" in ana[0].text
        assert ana[0].buttons == [("Reportar marzo 2023", "r:p:303:2023-03")]
        # Beto owes a monthly and a quarterly indicator: one message, one button per period.
        assert "1 indicador pendiente" in beto[0].text and "1.º trimestre 2023" in beto[0].text
        assert [data for _label, data in beto[0].buttons] == ["r:p:305:2023-03",
                                                               "r:p:305:2023-Q1"]
        # Asking again, later the same day, sends nothing.
        bot.clock.advance(timedelta(hours=5))
        assert (await tick(bot)).planned == 0
        assert len(bot.stub.messages_to(ANA)) == 1 and len(bot.stub.messages_to(BETO)) == 1
        rows = await db.run(log_rows)
        assert {(r.period, r.stage, r.outcome) for r in rows} == {
            ("2023-03", "reminder-2023-04-03", SENT), ("2023-Q1", "reminder-2023-04-03", SENT)}
        assert len(rows) == 3


async def test_nothing_before_the_reminder_time_then_the_reminder(db):
    await db.run(add_sample_catalog, 2023)
    # 1 April 2023 is a Saturday: the reminder of the 1st moves to Monday the 3rd.
    async with running_bot(db, clock=local(2023, 4, 1, 9, 0), handler_modules=MODULES) as bot:
        await people(bot)
        await tick(bot)  # March's escalation (about February) is still the current stage
        assert bot.stub.messages_to(ANA) == []
        assert "febrero 2023" in bot.texts_to(GERENTE)[0]
        bot.clock.set(datetime(2023, 4, 3, 8, 59, tzinfo=TZ))
        await tick(bot)
        assert bot.stub.messages_to(ANA) == []
        bot.clock.set(datetime(2023, 4, 3, 9, 0, tzinfo=TZ))
        await tick(bot)
        assert len(bot.stub.messages_to(ANA)) == 1
        assert len(bot.texts_to(GERENTE)) == 1  # gerentes get no reminders


async def test_last_reminder_says_it_is_the_last_day(db):
    await db.run(add_sample_catalog, 2023)
    async with running_bot(db, clock=local(2023, 4, 5, 9, 0), handler_modules=MODULES) as bot:
        await people(bot)
        await tick(bot)
        text = bot.texts_to(ANA)[0]
        assert "Último recordatorio POA" in text
        assert "Hoy es el último día" in text


async def test_reminder_time_is_local_across_the_dst_change(db):
    # Matamoros moves to UTC-5 on Sunday 12 March 2023: 09:00 is 15:00 UTC on the 11th and
    # 14:00 UTC on the 12th.
    await db.run(add_sample_catalog, 2023)
    # 11 and 12 March 2023 are a weekend: counted as reminder days here on purpose.
    settings = {"poa_reminder_days": "11,12", "poa_deadline_day": 14,
                "poa_business_days": False}
    clock = FrozenClock(datetime(2023, 3, 11, 14, 59, tzinfo=UTC))
    async with running_bot(db, clock=clock, settings_overrides=settings,
                           handler_modules=MODULES) as bot:
        await people(bot)
        await tick(bot)
        assert bot.stub.messages_to(ANA) == []
        clock.set(datetime(2023, 3, 11, 15, 0, tzinfo=UTC))
        await tick(bot)
        assert len(bot.stub.messages_to(ANA)) == 1
        clock.set(datetime(2023, 3, 12, 13, 59, tzinfo=UTC))
        await tick(bot)
        assert len(bot.stub.messages_to(ANA)) == 1
        clock.set(datetime(2023, 3, 12, 14, 0, tzinfo=UTC))  # 09:00 CDT, not 10:00
        await tick(bot)
        assert len(bot.stub.messages_to(ANA)) == 2
        assert "febrero 2023" in bot.texts_to(ANA)[1]


async def test_restart_during_a_reminder_day_sends_nobody_twice(db):
    await db.run(add_sample_catalog, 2023)
    async with running_bot(db, clock=local(2023, 4, 3, 9, 0), handler_modules=MODULES) as bot:
        await people(bot)
        await tick(bot)
        await bot.restart()
        bot.clock.set(datetime(2023, 4, 3, 9, 30, tzinfo=TZ))
        await tick(bot)
        await bot.restart()
        await tick(bot)
        assert [len(bot.stub.messages_to(c)) for c in (ANA, BETO, CARLA)] == [1, 1, 1]


async def test_crash_between_claim_and_send_is_resent_once(db):
    await db.run(add_sample_catalog, 2023)
    async with running_bot(db, clock=local(2023, 4, 3, 9, 0), handler_modules=MODULES) as bot:
        await people(bot)
        ana, beto = (await db.run(lambda s: [
            s.exec(select(Person.id).where(Person.telegram_user_id == u)).one()
            for u in (ANA, BETO)]))
        when = bot.clock()

        def previous_process(session):
            # The previous process claimed Ana's and died before sending; Beto's went out.
            session.add(ReminderLog(person_id=ana, period="2023-03", stage="reminder-2023-04-03",
                                    sent_at=when, outcome=SENDING))
            for code in ("2023-03", "2023-Q1"):
                session.add(ReminderLog(person_id=beto, period=code,
                                        stage="reminder-2023-04-03", sent_at=when, outcome=SENT))

        await db.run(previous_process)
        await tick(bot)
        await tick(bot)
        assert len(bot.stub.messages_to(ANA)) == 1
        assert bot.stub.messages_to(BETO) == []
        outcomes = {(r.person_id, r.period): r.outcome for r in await db.run(log_rows)}
        assert outcomes[(ana, "2023-03")] == SENT


async def test_downtime_across_a_stage_skips_it_and_sends_the_current_one(db):
    await db.run(add_sample_catalog, 2023)
    # Down from before the 3rd's reminder until after the 5th's: only the 5th's goes out.
    async with running_bot(db, clock=local(2023, 4, 5, 18, 0), handler_modules=MODULES) as bot:
        await people(bot)
        await tick(bot)
        assert len(bot.stub.messages_to(ANA)) == 1
        assert "Hoy es el último día" in bot.texts_to(ANA)[0]
        stages = {r.stage for r in await db.run(log_rows)}
        assert "reminder-2023-04-03" not in stages
        await bot.stop()
        # Down across midnight: the 5th's reminder is still the current stage at 08:00 on
        # the 6th, but March is closed, so nobody is told to report it.
        bot.clock.set(datetime(2023, 4, 6, 8, 0, tzinfo=TZ))
        await bot.start()
        await tick(bot)
        assert len(bot.stub.messages_to(ANA)) == 1 and bot.texts_to(GERENTE)[1:] == []


async def test_escalation_lists_missing_units_indicators_and_names(db):
    await db.run(add_sample_catalog, 2023)
    await db.run(report_unit, "305", MARCH)
    async with running_bot(db, clock=local(2023, 4, 6, 9, 0), handler_modules=MODULES) as bot:
        await people(bot)
        await bot.register_gerente(9002, name="Subgerente")
        await tick(bot)
        for chat in (GERENTE, 9002):
            texts = bot.texts_to(chat)
            assert len(texts) == 1
            text = texts[0]
            assert "Indicadores sin reportar — marzo 2023" in text
            assert "303 FACTURACION — responsable: Ana" in text
            assert "RECONEXION DE SERVICIO DE AGUA <PROGRAMADO> & MAS" in text  # escaped HTML
            assert "305 CONTRATACION" not in text.split("trimestre")[0]  # 305 did March
            assert "1.º trimestre 2023" in text and "CONTRATOS TRIMESTRALES" in text
            assert "/reabrir 2023-03" in text
        assert bot.stub.messages_to(ANA) == []  # coordinadores are not escalated to
        await tick(bot)
        bot.clock.set(datetime(2023, 4, 20, tzinfo=TZ))
        await tick(bot)
        assert len(bot.texts_to(GERENTE)) == 1


async def test_blocked_coordinator_is_marked_reported_and_others_still_reminded(
        db):
    await db.run(add_sample_catalog, 2023)
    async with running_bot(db, clock=local(2023, 4, 3, 9, 0), handler_modules=MODULES) as bot:
        await people(bot)
        bot.stub.block_chat(ANA)
        result = await tick(bot)
        assert result.unreachable == ["Ana"] and result.sent == 2
        assert len(bot.stub.messages_to(BETO)) == 1 and len(bot.stub.messages_to(CARLA)) == 1
        notice = bot.texts_to(GERENTE)
        assert len(notice) == 1 and "bloquearon el bot" in notice[0] and "Ana (303)" in notice[0]
        ana = await db.run(lambda s: s.exec(select(Person).where(
            Person.telegram_user_id == ANA)).one())
        assert ana.unreachable_since == bot.clock()
        outcomes = {r.outcome for r in await db.run(log_rows) if r.person_id == ana.id}
        assert outcomes == {UNREACHABLE}
        await tick(bot)  # not retried within the stage, not reported twice
        assert len(bot.texts_to(GERENTE)) == 1
        # The escalation names her as unreachable.
        bot.clock.set(datetime(2023, 4, 6, 9, 0, tzinfo=TZ))
        await tick(bot)
        assert "Ana: bloqueó el bot" in bot.texts_to(GERENTE)[1]
        # Next month she unblocked: the reminder reaches her and the mark is cleared.
        bot.stub.unblock_chat(ANA)
        bot.clock.set(datetime(2023, 5, 2, 9, 0, tzinfo=TZ))  # 1 May is Labour Day
        await tick(bot)
        assert "abril 2023" in bot.texts_to(ANA)[0]
        ana = await db.run(lambda s: s.get(Person, ana.id))
        assert ana.unreachable_since is None


async def test_stopping_ends_a_fan_out_and_the_next_start_sends_the_rest_once(db, heartbeat):
    await db.run(add_sample_catalog, 2023)
    crowd = list(range(6001, 6061))  # about two paced seconds of reminders
    async with running_bot(db, clock=local(2023, 4, 3, 9, 0), handler_modules=MODULES) as bot:
        await scheduler_of(bot.app).wait_ticks(1)  # the start-up job: nobody to remind yet
        for user_id in crowd:  # behind the bot's back: the next start-up job reminds them
            await db.run(register_directly, telegram_user_id=user_id, role=ROLE_COORDINADOR,
                         unit_claves=["303"], name=f"P {user_id}", now=bot.clock())
        await bot.restart()
        await bot.stub.wait_for_calls("sendMessage", 3)
        await bot.stop()  # PTB waits for the job, which ends with the sends under way

        reached = [u for u in crowd if bot.stub.messages_to(u)]
        assert 0 < len(reached) < len(crowd)
        assert all(row.outcome == SENT for row in await db.run(log_rows))

        await bot.start()  # the next start-up job sends the others, and nobody's twice
        await scheduler_of(bot.app).wait_ticks(1)
        assert all(len(bot.stub.messages_to(u)) == 1 for u in crowd)


async def test_429_is_retried_after_retry_after_and_delivered_once(db):
    await db.run(add_sample_catalog, 2023)
    async with running_bot(db, clock=local(2023, 4, 3, 9, 0), handler_modules=MODULES) as bot:
        await people(bot)
        bot.stub.force_retry_after(1, count=2)
        result = await tick(bot)
        assert result.sent == 3 and result.failed == 0
        assert len(bot.stub.flood_rejections) == 2
        assert [len(bot.stub.messages_to(c)) for c in (ANA, BETO, CARLA)] == [1, 1, 1]


async def test_jobs_are_registered_and_startup_catches_up(db, heartbeat):
    await db.run(add_sample_catalog, 2023)
    # Started on the 4th at noon: the 3rd's reminder was missed and the 5th's has not come.
    async with running_bot(db, clock=local(2023, 4, 4, 12, 0), handler_modules=MODULES) as bot:
        scheduler = scheduler_of(bot.app)
        await people(bot)
        tick_job = bot.app.job_queue.get_jobs_by_name(TICK_JOB)[0]
        real_now = datetime.now(UTC)
        assert tick_job.next_t.second == 0 and tick_job.next_t.microsecond == 0
        assert 0 < (tick_job.next_t - real_now).total_seconds() <= 60
        assert tick_job.job.trigger.interval.total_seconds() == 60
        # The start-up job may have run before the people existed; restart to catch up.
        await scheduler.wait_ticks(1)
        await bot.restart()
        message = await bot.stub.wait_for_message(ANA)
        assert "marzo 2023" in message.text
        await scheduler_of(bot.app).wait_ticks(1)
        await bot.restart()
        await scheduler_of(bot.app).wait_ticks(1)
        assert len(bot.stub.messages_to(ANA)) == 1
