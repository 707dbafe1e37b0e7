"""Fault suite: the same updates delivered twice (Telegram re-delivers what a crashed bot never
confirmed). Each one must be applied once: no value stored twice, no revision logged twice,
no reminder sent twice, no second registration — and the repeat must not trip Telegram's
rules (no "message is not modified", no answer to an already answered button press).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.clock import FrozenClock
from bot.scheduler import scheduler_of
from bot.services.registration import create_invitation
from storage.models import (
    ROLE_COORDINADOR,
    Conversation,
    Invitation,
    Justification,
    Person,
    PersonUnit,
    ProcessedUpdate,
    ReminderLog,
    ReportedValue,
    Revision,
)
from tests.harness import add_sample_catalog, button_data, running_bot

pytestmark = pytest.mark.fault

ANA, BETO, CARLA = 1001, 1002, 1003
TZ = ZoneInfo("America/Matamoros")


def snapshot(session):
    """Everything a repeated update could wrongly change."""
    values = sorted((v.indicator_id, v.period, v.value, v.observaciones)
                    for v in session.exec(select(ReportedValue)))
    revisions = sorted((r.id, r.indicator_id, r.period, r.old_value, r.new_value, r.reason,
                        r.new_observaciones) for r in session.exec(select(Revision)))
    states = sorted((c.chat_id, c.state) for c in session.exec(select(Conversation)))
    justifications = sorted((j.id, j.indicator_id, j.period, j.text, j.state)
                            for j in session.exec(select(Justification)))
    return values, revisions, states, justifications


async def test_every_reporting_update_delivered_twice_is_applied_once(db):
    """A whole report (one value alone, then the rest in one message with «Sí, con
    observaciones» and its queued questions), another one all at once with «Sí, guardar» and
    a justification, and a correction; then Telegram delivers every update again."""
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        stub = bot.stub
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        await bot.register_coordinador(BETO, ["306"], name="Beto")
        card = await bot.say(ANA, "/reportar")  # one unit, one open period: the card at once
        assert "faltan 3 de 3" in card.text
        saved = await bot.say(ANA, "255835")  # the first value alone
        card = await bot.press(ANA, button_data(saved, "Sin observaciones"))
        assert "faltan 2 de 3" in card.text
        table = await bot.say(ANA, "2558350 150")  # ten times the meta, then the third
        assert "⚠️" in table.text and "¿Está bien?" in table.text
        counted = await bot.press(ANA, button_data(table, "Sí, con observaciones"))
        assert "Guardé 1 valor" in counted.text
        confirm = await bot.next_message(ANA)
        assert "¿Es correcto?" in confirm.text
        saved = await bot.press(ANA, button_data(confirm, "Sí"))
        assert "Guardé 2,558,350" in saved.text
        # observaciones, echoed atop the question for those of the value saved by «Sí»
        remarks = await bot.say(ANA, "lectura de prueba")
        assert "¿Observaciones?" in remarks.text
        summary = await bot.press(ANA, button_data(remarks, "Sin observaciones"))
        assert "Listo" in summary.text
        await bot.press(ANA, button_data(summary, "Corregir 1"))
        await bot.say(ANA, "255836")
        done = await bot.say(ANA, "error de captura")
        assert "Corregido" in done.text

        card = await bot.say(BETO, "/reportar")
        assert "faltan 2 de 2" in card.text, card.text
        table = await bot.say(BETO, "120 25")  # 120 of 150: off green; 25 % to March
        counted = await bot.press(BETO, button_data(table, "Sí, guardar"))
        assert "Guardé 2 valores. Falta 1 pregunta" in counted.text, counted.text
        asked = await bot.next_message(BETO)
        assert "justificación de la variación" in asked.text, asked.text
        done = await bot.say(BETO, "Faltó personal dos semanas; se contrata en abril")
        assert "Listo" in done.text
        await bot.idle()

        before = await db.run(snapshot)
        sent_before = len(stub.sent)
        updates = await db.run(lambda s: len(s.exec(select(ProcessedUpdate)).all()))
        assert updates >= 15
        for update_id in range(1, updates + 1):  # the stub numbers updates from 1
            stub.redeliver(update_id)
        await bot.idle()

        assert await db.run(snapshot) == before
        assert stub.sent[sent_before:] == [], [m.text for m in stub.sent[sent_before:]]
        values, revisions, _states, justifications = before
        assert len(values) == 5
        # One revision per saved value, one for the remark, one for the correction.
        assert len(revisions) == 7, revisions
        assert len(justifications) == 1, justifications


async def test_redelivered_registration_greets_again_and_registers_once(db):
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        created = await db.run(create_invitation, role=ROLE_COORDINADOR, unit_claves=["303"],
                               name="Beto", now=bot.clock(), days=7)
        update = bot.stub.send_text(BETO, f"/start {created.token}")
        welcome = await bot.next_message(BETO)
        assert "Ya tienes acceso" in welcome.text
        await bot.idle()
        bot.stub.redeliver(update["update_id"])
        again = await bot.next_message(BETO)
        # The crash hid the first answer from Beto: he must not now read "already used".
        assert "ya se usó" not in again.text and "Ya tienes acceso" in again.text, again.text

        def registered(session):
            people = session.exec(select(Person).where(Person.telegram_user_id == BETO)).all()
            links = session.exec(select(PersonUnit).where(
                PersonUnit.person_id == people[0].id)).all()
            invitation = session.exec(select(Invitation).where(
                Invitation.name == "Beto")).one()
            return len(people), len(links), invitation.used_by_id == people[0].id

        assert await db.run(registered) == (1, 1, True)


async def test_reminder_tick_run_twice_and_concurrently_sends_each_reminder_once(db):
    await db.run(add_sample_catalog)
    clock = FrozenClock(datetime(2023, 4, 3, 9, 0, tzinfo=TZ).astimezone(UTC))
    async with running_bot(db, clock=clock) as bot:
        for user_id, clave in ((ANA, "303"), (BETO, "305"), (CARLA, "306")):
            await bot.register_coordinador(user_id, [clave])
        scheduler = scheduler_of(bot.app)
        first, second = await asyncio.gather(scheduler.tick(bot.app.bot, wait=True),
                                              scheduler.tick(bot.app.bot, wait=True))
        assert first.sent + second.sent == 3
        assert (await scheduler.tick(bot.app.bot, wait=True)).planned == 0
        await bot.restart()  # a restart's catch-up finds everything already sent
        assert (await scheduler_of(bot.app).tick(bot.app.bot, wait=True)).planned == 0
        for user_id in (ANA, BETO, CARLA):
            reminders = [t for t in bot.texts_to(user_id) if "Recordatorio POA" in t]
            assert len(reminders) == 1, bot.texts_to(user_id)
        outcomes = await db.run(lambda s: [r.outcome for r in s.exec(select(ReminderLog))])
        assert outcomes and set(outcomes) == {"sent"}
