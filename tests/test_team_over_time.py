"""The team over time, finished (issue 12): /recordar of a gerente names only their gerencia's
units, /equipo lists planeación and the stand-ins, the escalation says who covers a unit and
which unit has nobody, and a gerente's own stand-in gets their escalation, weekly digest and
approval requests for the range.

Two gerencias: the seed (Comercial, 3xx) and a copy of it as Operación (4xx), catalog only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.clock import FrozenClock
from bot.domain.date_ranges import DateRange
from bot.domain.periods import Period
from bot.poa_report.reader import read_report
from bot.scheduler import scheduler_of
from bot.services import stand_ins
from bot.services.importer import import_report
from bot.services.registration import register_directly
from handlers.digest import digest_of
from storage.models import (
    ROLE_GERENTE,
    ROLE_PLANEACION,
    Indicator,
    Person,
    ReportedValue,
    Unit,
)
from tests.harness import add_sample_catalog, button_data, running_bot
from tests.test_gerencias import COMERCIAL, OPERACION, second_workbook

TZ = ZoneInfo("America/Matamoros")
GERENTE_C, GERENTE_O, PLANEACION, MIXTA, OSCAR = 8201, 8202, 8203, 8204, 8205
ANA, BETO, GERENTE = 1001, 1002, 9001


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


# --- /equipo and the escalation: planeación, stand-ins, units with nobody ------------------

def _ids(session) -> dict[str, int]:
    return {p.name: p.id for p in session.exec(select(Person))}


def _name_stand_in(session, absent: str, stand_in: str, first: date, last: date, now):
    ids = _ids(session)
    return stand_ins.create(session, actor_id=None, absent_id=ids[absent],
                            stand_in_id=ids[stand_in], unit_clave=None,
                            dates=DateRange(first, last), now=now)


async def test_equipo_and_escalation_show_stand_ins_planeacion_and_units_with_nobody(db):
    """One gerencia (sample catalog: 303, 305, 306). Beto covers Ana now, Ana covers Beto
    next week; nobody answers for 306; the gerente names planeación as their own stand-in
    through /suplente, who then gets the escalation and the weekly digest too."""
    await db.run(add_sample_catalog, 2023)
    # Monday 3 April 2023, 09:00: a reminder day and the digest's day.
    async with running_bot(db, clock=FrozenClock(local(2023, 4, 3, 9, 0))) as bot:
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        await bot.register_coordinador(BETO, ["305"], name="Beto")
        await bot.register_gerente(GERENTE, name="Gerente")
        await _register(bot, PLANEACION, ROLE_PLANEACION, name="Plan <Dir>")
        await db.run(_name_stand_in, "Ana", "Beto", date(2023, 4, 3), date(2023, 4, 6),
                     bot.clock())
        await db.run(_name_stand_in, "Beto", "Ana", date(2023, 4, 10), date(2023, 4, 12),
                     bot.clock())

        # The gerente names their own stand-in: themself first, then gerentes/planeación.
        ask = await bot.say(GERENTE, "/suplente 3/4 al 7/4")
        assert [label for label, _ in ask.buttons] == ["Gerente (tú)", "Ana", "Beto"]
        pick = await bot.press(GERENTE, button_data(ask, "Gerente (tú)"))
        assert [label for label, _ in pick.buttons] == ["Plan <Dir>"]
        done = await bot.press(GERENTE, button_data(pick, "Plan <Dir>"))
        assert "Plan <Dir> suple a Gerente (como gerente" in done.text
        told = await bot.next_message(PLANEACION)
        assert "Quedaste como suplente de Gerente del 3/4/2023 al 7/4/2023" in told.text
        assert "resumen semanal" in told.text
        # A coordinador cannot stand in for a gerente (forged button), nor a gerente for
        # a unit only.
        people = await db.run(_ids)
        bot.stub.press_button(GERENTE, f"su:s:{people['Gerente']}:{people['Ana']}:"
                                       "20230403:20230407")
        assert "otro gerente activo o alguien de planeación" in (
            await bot.next_message(GERENTE)).text

        listing = (await bot.say(GERENTE, "/equipo")).text
        section_303 = listing.split("303 · FACTURACION")[1].split("305 ·")[0]
        assert "Ana (303)" in section_303
        assert "↪ suple: Beto (por Ana, hasta el 6 de abril)" in section_303
        section_306 = listing.split("306 · ALTOS CONSUMOS")[1].split("Gerentes")[0]
        assert "sin responsable" in section_306 and "suple" not in section_306
        planeacion = listing.split("Planeación / dirección")[1].split("Suplencias")[0]
        assert "Plan <Dir>" in planeacion and "Gerente" not in planeacion
        suplencias = listing.split("Suplencias")[1]
        assert "Beto suple a Ana (todas sus unidades) del 3/4/2023 al 6/4/2023 · vigente" \
            in suplencias
        assert "Ana suple a Beto (todas sus unidades) del 10/4/2023 al 12/4/2023\n" \
            in suplencias
        assert "Plan <Dir> suple a Gerente (como gerente" in suplencias
        again = await bot.say(GERENTE, "/equipo", lambda m: "Equipo" in (m.text or ""))
        buttons = [label for label, _ in again.buttons]
        assert "👤 Plan <Dir>" in buttons  # one gerencia: the gerente manages everybody

        overview = await bot.say(GERENTE, "/recordatorios",
                                 lambda m: "Calendario" in (m.text or ""))
        assert "303 FACTURACION: 3 pendientes — Ana · suple: Beto (por Ana" in overview.text

        # The digest: the gerente's own, and a copy for their stand-in (with its buttons).
        assert await digest_of(bot.app).tick(bot.app.bot) == 2
        copy = await bot.next_message(PLANEACION, lambda m: "📬" in (m.text or ""))
        assert copy.text.startswith("👥 Como suplente de Gerente (hasta el 07/04/2023)")
        assert copy.buttons
        assert await digest_of(bot.app).tick(bot.app.bot) == 0  # once a week

        # The escalation (Thursday 6th): who covers 303, that 306 has nobody; the stand-in
        # is told they get it as the gerente's stand-in.
        bot.clock.set(local(2023, 4, 6, 9, 0))
        await scheduler_of(bot.app).tick(bot.app.bot, wait=True)
        escalation = next(t for t in bot.texts_to(GERENTE) if "Indicadores sin reportar" in t)
        assert "303 FACTURACION — responsable: Ana\n  ↪ suple: Beto (por Ana, hasta el " \
            "6 de abril)" in escalation
        assert "306 ALTOS CONSUMOS — sin responsable registrado" in escalation
        assert "Como suplente" not in escalation
        theirs = next(t for t in bot.texts_to(PLANEACION) if "Indicadores sin reportar" in t)
        assert theirs.startswith("👥 Como suplente de Gerente (hasta el viernes 7 de abril)")

        # Once the range is over, nobody covers 303.
        bot.clock.set(local(2023, 4, 7, 9, 0))
        after = (await bot.say(GERENTE, "/equipo", lambda m: "Equipo" in (m.text or ""))).text
        assert "↪ suple" not in after and "Beto suple a Ana" not in after


async def test_a_gerente_of_another_gerencia_sees_planeacion_without_buttons(db, catalog_2024):
    async with running_bot(db, clock=FrozenClock(local(2024, 4, 2, 10, 0)),
                           handler_modules=["handlers.team"]) as bot:
        await _register(bot, GERENTE_O, ROLE_GERENTE, OPERACION)
        plan = await _register(bot, PLANEACION, ROLE_PLANEACION, name="Plan")
        listing = await bot.say(GERENTE_O, "/equipo")
        assert "Planeación / dirección" in listing.text and "Plan" in listing.text
        assert not any("Plan" in label for label, _ in listing.buttons)
        bot.stub.press_button(GERENTE_O, f"t:dy:{plan.id}")  # forged: refused
        await bot.idle()
        assert db.call(lambda s: s.get(Person, plan.id).active)
        everything = await bot.say(PLANEACION, "/equipo")
        assert any(label == "👤 Plan" for label, _ in everything.buttons)


# --- a gerente's stand-in across gerencias: escalation, digest, approval ---------------------

def _fill(session, clave: str, period: Period, now: datetime) -> None:
    """Every indicator of ``clave`` due for ``period`` gets a value (a complete unit)."""
    for indicator in session.exec(select(Indicator).join(Unit).where(
            Unit.clave == clave, Indicator.year == period.year,
            Indicator.frecuencia == period.frequency.value)):
        session.add(ReportedValue(indicator_id=indicator.id, period=period.code,
                                  year=period.year, period_start=period.start,
                                  period_end=period.end, value=Decimal(1),
                                  meta=indicator.meta, reported_at=now, source="cli"))


async def test_a_gerentes_stand_in_of_another_gerencia(db, catalog_2024):
    """Operación's gerente covers Comercial's from 1 to 10 April 2024: Comercial's units in
    their escalation, Comercial's digest (no buttons: their own /resumen would refuse them),
    Comercial's review requests, which they may decide; planeación, not named, may not."""
    async with running_bot(db, clock=FrozenClock(local(2024, 4, 2, 10, 0)),
                           settings_overrides={"poa_approval_required": True}) as bot:
        await _register(bot, GERENTE_C, ROLE_GERENTE, COMERCIAL, name="Carla")
        await _register(bot, GERENTE_O, ROLE_GERENTE, OPERACION, name="Omar")
        await _register(bot, PLANEACION, ROLE_PLANEACION, name="Plan")
        await bot.register_coordinador(MIXTA, ["303"], name="Ana")
        await bot.register_coordinador(OSCAR, ["403"], name="Oscar")
        ask = await bot.say(GERENTE_C, "/suplente 1/4 al 10/4")
        pick = await bot.press(GERENTE_C, button_data(ask, "Carla (tú)"))
        assert [label for label, _ in pick.buttons] == ["Omar", "Plan"]
        await bot.press(GERENTE_C, button_data(pick, "Omar"))

        # Review: Ana sends 303 (Comercial): Carla and Omar are asked, not planeación.
        await db.run(_fill, "303", Period.month(2024, 3), bot.clock())
        sent = await bot.say(MIXTA, "/enviar")
        await bot.press(MIXTA, button_data(sent, "📨 303"))
        asked_c = await bot.next_message(GERENTE_C, lambda m: "Revisión" in (m.text or ""))
        asked_o = await bot.next_message(GERENTE_O, lambda m: "Revisión" in (m.text or ""))
        assert asked_o.buttons == asked_c.buttons
        assert not any("Revisión" in t for t in bot.texts_to(PLANEACION))
        bot.stub.press_button(PLANEACION, button_data(asked_o, "✅ Aprobar"))  # forged for them
        assert "no corresponde a tu rol" in (await bot.next_message(PLANEACION)).text
        approved = await bot.press(GERENTE_O, button_data(asked_o, "✅ Aprobar"))
        assert "Aprobaste 303" in approved.text
        assert "Omar aprobó 303" in (await bot.next_message(
            GERENTE_C, lambda m: "aprobó" in (m.text or ""))).text

        # Monday 8 April 09:00: digests, then the escalation.
        bot.clock.set(local(2024, 4, 8, 9, 0))
        assert await digest_of(bot.app).tick(bot.app.bot) == 3  # Carla, Omar, Omar for Carla
        copy = await bot.next_message(GERENTE_O, lambda m: "👥" in (m.text or ""))
        assert copy.text.startswith("👥 Como suplente de Carla (hasta el 10/04/2024)")
        assert "303" in copy.text and not copy.buttons
        await scheduler_of(bot.app).tick(bot.app.bot, wait=True)
        escalation = {chat: next(t for t in bot.texts_to(chat) if "Indicadores sin reportar —" in t)
                      for chat in (GERENTE_C, GERENTE_O)}
        assert "304 " in escalation[GERENTE_C] and "403 " not in escalation[GERENTE_C]
        assert escalation[GERENTE_O].startswith("👥 Como suplente de Carla")
        assert "304 " in escalation[GERENTE_O] and "403 " in escalation[GERENTE_O]

        # 11 April: the range is over; Omar's old buttons are refused.
        bot.clock.set(local(2024, 4, 11, 9, 0))
        bot.stub.press_button(GERENTE_O, button_data(asked_o, "↩️ Devolver"))
        refused = await bot.next_message(GERENTE_O, lambda m: "Revisión" not in (m.text or "")
                                         and "sin reportar" not in (m.text or "")
                                         and "📬" not in (m.text or ""))
        assert "no corresponde a tu rol" in refused.text
