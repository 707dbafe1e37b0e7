"""``/equipo`` through the real Application and the Bot API stand-in: deactivating makes a
stranger at once with no reminders, reassigning a unit moves reminders and permissions, the
buttons are validated on arrival, and the last-seen mark is written at most once an hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.clock import FrozenClock
from bot.scheduler import scheduler_of
from bot.services import team
from bot.services.registration import create_invitation, find_person
from handlers.common import STALE_BUTTON_TEXT, STRANGER_TEXT
from storage.models import Person, PersonEvent
from tests.harness import add_sample_catalog, button_data, running_bot

TZ = ZoneInfo("America/Matamoros")
MODULES = ["handlers.registration", "handlers.reporting", "handlers.reminders",
           "handlers.team"]
ANA, BETO, GERENTE = 1001, 1002, 9001


def local(*args) -> FrozenClock:
    return FrozenClock(datetime(*args, tzinfo=TZ).astimezone(UTC))


def is_edit(message) -> bool:
    return message.method == "editMessageText"


async def edit(bot, data: str):
    """Press a gerente's button and return the edit it makes to the message."""
    bot.stub.press_button(GERENTE, data)
    return await bot.stub.wait_for_message(GERENTE, is_edit)


def last_answer(bot) -> dict:
    return [c.params for c in bot.stub.calls if c.method == "answerCallbackQuery"][-1]


async def tick(bot):
    return await scheduler_of(bot.app).tick(bot.app.bot, wait=True)


async def events(db):
    return await db.run(lambda s: [(e.action, e.actor_id, e.person_id, e.detail) for e in
                                   s.exec(select(PersonEvent).order_by(PersonEvent.id))])


def mark_unreachable(session, user_id, now):
    person = session.exec(select(Person).where(Person.telegram_user_id == user_id)).one()
    person.unreachable_since = now
    session.add(person)


async def test_equipo_lists_units_people_gaps_and_invitations(db):
    await db.run(add_sample_catalog, 2023)
    async with running_bot(db, clock=local(2023, 4, 3, 9, 0), handler_modules=MODULES) as bot:
        await bot.register_coordinador(ANA, ["303", "306"], name="Ana <López>")
        await bot.register_gerente(GERENTE, name="Gerente")
        await bot.db.run(create_invitation, role="coordinador", unit_claves=["305"],
                         name="Beto", now=bot.clock(), days=7)
        bot.stub.block_chat(ANA)
        await bot.db.run(mark_unreachable, ANA, bot.clock())
        listing = await bot.say(GERENTE, "/equipo")
        text = listing.text
        assert "303 · FACTURACION" in text and "305 · CONTRATACION" in text
        section_305 = text.split("305 · CONTRATACION")[1].split("306 ·")[0]
        assert "sin responsable" in section_305
        section_303 = text.split("303 · FACTURACION")[1].split("305 ·")[0]
        assert "Ana <López> (303, 306)" in section_303 and "bloqueó el bot" in section_303
        assert "sin responsable" not in section_303
        assert "Invitaciones sin usar" in text and "coordinador de 305 · Beto" in text
        assert "vence el 10 abr 2023" in text
        assert [label for label, _ in listing.buttons] == [
            "👤 Ana <López>", "👤 Gerente", "✖ Revocar invitación 305"]
        # A coordinador gets a refusal, and the command is in the gerente's menu and /ayuda.
        beto_invited = await bot.say(BETO, "/equipo")
        assert beto_invited.text == STRANGER_TEXT
        await bot.register_coordinador(BETO, ["305"], name="Beto")
        refused = await bot.say(BETO, "/equipo")
        assert "solo para gerentes" in refused.text


async def test_deactivated_person_is_a_stranger_at_once_and_gets_no_reminder(db):
    await db.run(add_sample_catalog, 2023)
    async with running_bot(db, clock=local(2023, 4, 3, 9, 0), handler_modules=MODULES) as bot:
        ana = await bot.register_coordinador(ANA, ["303"], name="Ana")
        await bot.register_coordinador(BETO, ["305"], name="Beto")
        gerente = await bot.register_gerente(GERENTE, name="Gerente")
        started = await bot.say(ANA, "/reportar")  # she is in the middle of a report
        assert "303 FACTURACION · marzo 2023 · faltan 3 de 3" in started.text

        listing = await bot.say(GERENTE, "/equipo")
        card = await edit(bot, button_data(listing, "👤 Ana"))
        assert "Ana · coordinador" in card.text and "Unidades: 303 FACTURACION" in card.text
        confirm = await edit(bot, button_data(card, "Desactivar"))
        assert "¿Desactivar a Ana?" in confirm.text
        assert await bot.db.run(find_person, ANA) is not None  # nothing before confirming
        done = await edit(bot, button_data(confirm, "Sí, desactivar"))
        assert "Desactivaste a Ana" in done.text and "Estado: sin acceso" in done.text
        assert [label for label, _ in done.buttons] == ["Reactivar", "◀ Equipo"]

        # At once: whatever she sends, or presses, she is a stranger.
        assert (await bot.say(ANA, "/reportar")).text == STRANGER_TEXT
        assert (await bot.say(ANA, "255835")).text == STRANGER_TEXT
        pressed = await bot.press(ANA, button_data(started, "Ver descripciones"))
        assert pressed.text == STRANGER_TEXT
        assert (await bot.press(ANA, "r:p:303:2023-03")).text == STRANGER_TEXT  # a reminder's
        # Her menu is the stranger's again.
        assert [c["command"] for c in bot.stub.visible_commands(ANA)] == ["start"]

        # No reminder for her; Beto still gets his. The escalation says 303 has nobody.
        result = await tick(bot)
        assert result.sent == 1
        assert "Recordatorio POA" in bot.texts_to(BETO)[-1]
        assert not any("Recordatorio" in t for t in bot.texts_to(ANA))
        bot.clock.set(datetime(2023, 4, 6, 9, 0, tzinfo=TZ))
        await tick(bot)
        escalation = bot.texts_to(GERENTE)[-1]
        assert "303 FACTURACION — sin responsable registrado" in escalation

        # The log says who, when and what.
        assert await events(db) == [("deactivate", gerente.id, ana.id,
                                     "coordinador; unidades: 303")]

        # Reactivated: she is back with her unit and her menu.
        listing = await bot.say(GERENTE, "/equipo", lambda m: m.text.startswith("Equipo"))
        assert "Sin acceso" in listing.text and "Ana (coordinador · 303)" in listing.text
        card = await edit(bot, button_data(listing, "💤 Ana"))
        back = await edit(bot, button_data(card, "Reactivar"))
        assert "Reactivaste a Ana" in back.text
        # (March closed on the 6th: nothing is pending, and she is told so as a coordinadora.)
        answer = (await bot.say(ANA, "/reportar")).text
        assert answer != STRANGER_TEXT and "No tienes indicadores pendientes" in answer
        assert any(c["command"] == "reportar" for c in bot.stub.visible_commands(ANA))
        assert [e[0] for e in await events(db)] == ["deactivate", "activate"]


async def test_reassigning_a_unit_moves_reminders_and_permissions(db):
    await db.run(add_sample_catalog, 2023)
    async with running_bot(db, clock=local(2023, 4, 3, 9, 0), handler_modules=MODULES) as bot:
        ana = await bot.register_coordinador(ANA, ["303", "306"], name="Ana")
        beto = await bot.register_coordinador(BETO, ["305"], name="Beto")
        await bot.register_gerente(GERENTE, name="Gerente")
        # Ana's reminder of yesterday's kind: a button for 303 she keeps in her chat.
        await tick(bot)
        old = bot.stub.messages_to(ANA)[-1]
        assert ("Reportar marzo 2023 · 303", "r:p:303:2023-03") in old.buttons

        listing = await bot.say(GERENTE, "/equipo")
        card = await edit(bot, button_data(listing, "👤 Beto"))
        units = await edit(bot, button_data(card, "Cambiar unidades"))
        assert ("✓ 305 CONTRATACION", f"t:-:{beto.id}:305") in units.buttons
        added = await edit(bot, f"t:+:{beto.id}:303")
        assert ("✓ 303 FACTURACION", f"t:-:{beto.id}:303") in added.buttons
        card = await edit(bot, f"t:p:{ana.id}")
        units = await edit(bot, button_data(card, "Cambiar unidades"))
        removed = await edit(bot, f"t:-:{ana.id}:303")
        assert ("306 ALTOS CONSUMOS", f"t:+:{ana.id}:306") not in removed.buttons
        assert ("303 FACTURACION", f"t:+:{ana.id}:303") in removed.buttons

        # Ana's stale 303 button is refused and changes nothing; /reportar offers her 306 only.
        bot.stub.press_button(ANA, "r:p:303:2023-03")
        await bot.idle()
        assert last_answer(bot)["text"] == STALE_BUTTON_TEXT and last_answer(bot)["show_alert"]
        card = await bot.say(ANA, "/reportar", lambda m: "Recordatorio" not in m.text)
        assert "306 ALTOS CONSUMOS · marzo 2023" in card.text  # her one unit: its card at once
        assert card.buttons and all(":303:" not in data for _, data in card.buttons)
        # Beto can report 303 at once.
        card = await bot.press(BETO, "r:p:303:2023-03", lambda m: "Recordatorio" not in m.text)
        assert "303 FACTURACION · marzo 2023" in card.text
        assert "1. Recibos entregados a domicilio" in card.text
        await bot.say(BETO, "/cancelar", lambda m: "terminé" in m.text)

        # The next reminder about 303 goes to Beto, not to Ana.
        bot.clock.set(datetime(2023, 4, 5, 9, 0, tzinfo=TZ))
        await tick(bot)
        to_beto = bot.stub.messages_to(BETO)[-1]
        assert ("Reportar marzo 2023 · 303", "r:p:303:2023-03") in to_beto.buttons
        to_ana = bot.stub.messages_to(ANA)[-1]
        assert "Último recordatorio" in to_ana.text and "303" not in str(to_ana.buttons)
        assert [(e[0], e[3]) for e in await events(db)] == [
            ("assign", "unidades: 305 → 303, 305"), ("assign", "unidades: 303, 306 → 306")]


async def test_forged_and_refused_buttons(db):
    await db.run(add_sample_catalog, 2023)
    async with running_bot(db, handler_modules=MODULES) as bot:
        ana = await bot.register_coordinador(ANA, ["303"], name="Ana")
        gerente = await bot.register_gerente(GERENTE, name="Gerente")
        await bot.say(GERENTE, "/equipo")
        # A coordinador forging the gerente's buttons: refused, nothing changes.
        for data in (f"t:dy:{gerente.id}", f"t:-:{ana.id}:303", "t:l"):
            bot.stub.press_button(ANA, data)
            await bot.idle()
            assert last_answer(bot)["text"] == STALE_BUTTON_TEXT
        # A gerente with forged ids or shapes: refused.
        for data in ("t:p:424242", "t:dy:99999999999999", "t:p:-1", "t:p:1:2", "t:+:1",
                     f"t:+:{ana.id}:303:x", "t:zz:1", "t:r:abc", "t:d:", "t"):
            bot.stub.press_button(GERENTE, data)
            await bot.idle()
            assert last_answer(bot)["text"] == STALE_BUTTON_TEXT, data
        # An unknown clave, and the last unit: refused in Spanish.
        bot.stub.press_button(GERENTE, f"t:+:{ana.id}:999")
        await bot.idle()
        assert "No existe la unidad 999" in last_answer(bot)["text"]
        bot.stub.press_button(GERENTE, f"t:-:{ana.id}:303")
        await bot.idle()
        assert "al menos una unidad" in last_answer(bot)["text"]
        # The last active gerente cannot deactivate themselves.
        bot.stub.press_button(GERENTE, f"t:dy:{gerente.id}")
        await bot.idle()
        assert "último gerente activo" in last_answer(bot)["text"]
        assert await bot.db.run(find_person, GERENTE) is not None
        assert await events(db) == []


async def test_revoked_invitation_cannot_be_used(db):
    await db.run(add_sample_catalog, 2023)
    async with running_bot(db, handler_modules=MODULES) as bot:
        gerente = await bot.register_gerente(GERENTE, name="Gerente")
        created = await bot.db.run(create_invitation, role="coordinador", unit_claves=["305"],
                                   name="Beto", now=bot.clock(), days=7)
        listing = await bot.say(GERENTE, "/equipo")
        revoked = await edit(bot, button_data(listing, "✖ Revocar"))
        assert "Invitaciones sin usar" not in revoked.text
        assert last_answer(bot)["text"] == "Invitación revocada: ya no sirve."
        refused = await bot.say(BETO, f"/start {created.token}")
        assert "venció" in refused.text
        assert await bot.db.run(find_person, BETO) is None
        # Pressing the old button again: told it is no longer pending.
        bot.stub.press_button(GERENTE, button_data(listing, "✖ Revocar"), listing.message_id)
        await bot.idle()
        assert "ya no está pendiente" in last_answer(bot)["text"]
        [event] = await events(db)
        assert event[:2] == ("revoke", gerente.id) and "coordinador (305) para Beto" in event[3]


async def test_last_seen_is_written_at_most_once_an_hour(db):
    await db.run(add_sample_catalog, 2023)
    clock = local(2023, 4, 3, 9, 0)
    async with running_bot(db, clock=clock, handler_modules=MODULES) as bot:
        ana = await bot.register_coordinador(ANA, ["303"], name="Ana")

        async def seen():
            return (await bot.db.run(team.member, ana.id)).last_activity

        assert await seen() is None
        start = clock()
        await bot.say(ANA, "/pendientes")
        assert await seen() == start
        clock.set(start + timedelta(minutes=30))
        await bot.say(ANA, "/pendientes")
        assert await seen() == start  # within the hour: not written again
        clock.set(start + timedelta(minutes=61))
        await bot.say(ANA, "/pendientes")
        assert await seen() == start + timedelta(minutes=61)


async def test_a_long_team_list_is_split_and_its_buttons_still_work(db):
    await db.run(add_sample_catalog, 2023)
    async with running_bot(db, handler_modules=MODULES) as bot:
        await bot.register_gerente(GERENTE, name="Gerente")
        for n in range(45):
            await bot.register_coordinador(2000 + n, ["303", "305", "306"],
                                           name=f"Coordinadora con un nombre largo número {n}")
        first = await bot.say(GERENTE, "/equipo")
        rest = await bot.next_message(GERENTE, lambda m: bool(m.buttons))
        assert first.text.startswith("Equipo") and len(first.text) <= 4096
        assert len(rest.buttons) == 46
        # "◀ Equipo" from a person's card: too long for one message, so sent anew.
        card = await edit(bot, button_data(rest, "👤 Gerente"))
        bot.stub.press_button(GERENTE, button_data(card, "◀ Equipo"))
        again = await bot.next_message(GERENTE, lambda m: m.text.startswith("Equipo"))
        assert "303 · FACTURACION" in again.text
