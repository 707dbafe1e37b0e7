"""Registration through the real Application and the Bot API stand-in."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import select

from bot.services.registration import create_invitation, hash_token
from handlers.common import STRANGER_TEXT
from storage.models import Invitation, Person
from tests.harness import add_sample_catalog, running_bot


async def _invite(bot, role="coordinador", units=("303",), name="Ana López", days=7):
    return await bot.db.run(create_invitation, role=role, unit_claves=list(units), name=name,
                            now=bot.clock(), days=days)


async def test_start_with_token_binds_and_greets_by_role_and_units(db):
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        created = await _invite(bot, units=("303", "306"))
        reply = await bot.say(5001, f"/start {created.token}")
        assert "Ana López" in reply.text and "Ya tienes acceso como responsable" in reply.text
        assert "303 FACTURACION" in reply.text and "306 ALTOS CONSUMOS" in reply.text
        await bot.stub.wait_for_calls("setMyCommands", 2)  # default scope + this chat
        await bot.idle()
        names = [c["command"] for c in bot.stub.visible_commands(5001)]
        # Approval is off by default: no /enviar (test_enviar_in_the_menu_only_with_approval).
        assert names == ["reportar", "pendientes", "corregir", "evidencia", "resumen", "ficha",
                         "reprogramar", "suplente", "cancelar", "ayuda"]
        # Strangers see only /start.
        assert [c["command"] for c in bot.stub.visible_commands(9999)] == ["start"]

    def check(session):
        person = session.exec(select(Person).where(Person.telegram_user_id == 5001)).one()
        invitation = session.exec(select(Invitation)).one()
        return person.role, invitation.used_by_id == person.id, invitation.token_hash
    role, used_by_person, stored_hash = await db.run(check)
    assert role == "coordinador" and used_by_person
    assert stored_hash == hash_token(created.token) and created.token not in stored_hash


async def test_token_is_single_use_and_expires(db):
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        created = await _invite(bot)
        expired = await _invite(bot, days=1)
        await bot.say(5001, f"/start {created.token}")
        second = await bot.say(5002, f"/start {created.token}")
        assert "ya se usó" in second.text
        bot.clock.advance(timedelta(days=1, seconds=1))
        late = await bot.say(5003, f"/start {expired.token}")
        assert "venció" in late.text
        bogus = await bot.say(5004, "/start not-a-real-token")
        assert "no es válida" in bogus.text
        # None of them got registered, and they are still strangers.
        reply = await bot.say(5002, "/ayuda")
        assert reply.text == STRANGER_TEXT


async def test_concurrent_redemptions_of_one_token_register_exactly_one(db):
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        created = await _invite(bot)
        users = list(range(6001, 6011))
        for user in users:
            bot.stub.send_text(user, f"/start {created.token}")
        replies = await asyncio.gather(*(bot.stub.wait_for_message(u) for u in users))
        welcomed = [r for r in replies if "Hola" in r.text]
        assert len(welcomed) == 1
        count = await db.run(lambda s: len(s.exec(select(Person)).all()))
        assert count == 1


async def test_stranger_gets_one_polite_line_and_nothing_else(db):
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        await bot.register_coordinador(1001, ["303"], name="Ana")
        stranger = 7777
        for text in ("hola", "/reportar", "/pendientes", "/resumen marzo 303", "255835",
                     "/start"):
            bot.stub.send_text(stranger, text)
        bot.stub.press_button(stranger, "r:p:2023-03")
        bot.stub.press_button(stranger, "c:i:1:2023-03")
        await bot.idle()
        texts = bot.texts_to(stranger)
        assert texts == [STRANGER_TEXT] * 8, bot.stub.transcript(stranger)
        for message in bot.stub.messages_to(stranger):
            assert not message.buttons
        assert not bot.stub.unanswered_callback_queries()


async def test_gerente_invites_from_the_chat(db):
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        await bot.register_gerente(2001, name="Gerente")
        await bot.register_coordinador(1001, ["303"])
        reply = await bot.say(2001, "/invitar 303")
        assert "https://t.me/poa_test_bot?start=" in reply.text
        token = reply.text.split("/start ")[-1].strip()
        welcome = await bot.say(5005, f"/start {token}")
        assert "303 FACTURACION" in welcome.text
        unknown = await bot.say(2001, "/invitar 999")
        assert "No existe la unidad 999" in unknown.text
        refused = await bot.say(1001, "/invitar 303")
        assert "Solo un gerente" in refused.text
        gerente = await bot.say(2001, "/invitar gerente")
        assert "gerente" in gerente.text and "?start=" in gerente.text
        help_text = await bot.say(2001, "/ayuda")
        assert "/recordatorios" in help_text.text and "/reportar" not in help_text.text


async def test_enviar_in_the_menu_only_with_approval(db):
    """/enviar is in the coordinador's menu and /ayuda only with POA_APPROVAL_REQUIRED on;
    switching it changes the menu's fingerprint, so the next start-up sets it again."""
    from handlers import menus

    await db.run(add_sample_catalog)
    async with running_bot(db, settings_overrides={"poa_approval_required": True}) as bot:
        await menus.menus_synced(bot.app).wait()
        created = await _invite(bot)
        await bot.say(5001, f"/start {created.token}")
        await bot.idle()
        names = [c["command"] for c in bot.stub.visible_commands(5001)]
        assert names.index("enviar") == names.index("reprogramar") + 1
        assert "/enviar" in (await bot.say(5001, "/ayuda")).text
    async with running_bot(db) as bot:  # approval switched off: the menu is set again
        await menus.menus_synced(bot.app).wait()
        assert "enviar" not in [c["command"] for c in bot.stub.visible_commands(5001)]
        assert "/enviar" not in (await bot.say(5001, "/ayuda")).text
        off = await bot.say(5001, "/enviar")  # still answered, not taken for a typo
        assert "no está activada" in off.text
    assert menus.role_fingerprints(True)["coordinador"] != menus.ROLE_FINGERPRINTS["coordinador"]
    assert menus.role_fingerprints(True)["gerente"] == menus.ROLE_FINGERPRINTS["gerente"]
