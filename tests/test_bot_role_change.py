"""A registered person opening an invitation that would change their role or units is asked
first (through the real bot); the invitation is used only on «Sí, cambiar»."""

from __future__ import annotations

from sqlmodel import select

from bot.services.registration import create_invitation, find_person, hash_token
from handlers.common import STALE_BUTTON_TEXT
from storage.models import Invitation
from tests.harness import add_sample_catalog, button_data, running_bot

GERENTE, ANA = 4001, 1001


async def _invite(bot, role="coordinador", units=("303",)):
    return await bot.db.run(create_invitation, role=role, unit_claves=list(units), name="",
                            now=bot.clock(), days=7)


async def _used_by(db, token):
    invitation = await db.run(lambda s: s.exec(select(Invitation).where(
        Invitation.token_hash == hash_token(token))).one())
    return invitation.used_by_id


async def test_a_gerente_opening_a_coordinador_link_is_asked_and_keeps_the_role_on_no(db):
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        gerente = await bot.register_gerente(GERENTE, name="Lucía")
        created = await _invite(bot, units=("303",))
        question = await bot.say(GERENTE, f"/start {created.token}")
        assert "Ya tienes acceso como gerente." in question.text
        assert ("Esta invitación te daría acceso como responsable de 303 FACTURACION y ya no "
                "como gerente." in question.text)
        assert [label for label, _ in question.buttons] == ["Sí, cambiar", "No, conservar mi rol"]
        assert (await db.run(find_person, GERENTE)).role == "gerente"  # nothing changed yet
        assert await _used_by(db, created.token) is None

        kept = await bot.press(GERENTE, button_data(question, "No"))
        assert "sigues con acceso como gerente" in kept.text and "No usé la invitación" in kept.text
        assert (await db.run(find_person, GERENTE)).role == "gerente"
        assert await _used_by(db, created.token) is None  # still usable
        resumen = await bot.say(GERENTE, "/ayuda")
        assert "/exportar" in resumen.text  # still a gerente's help

        # Opened again and accepted: now the role changes, and the menu with it.
        question = await bot.say(GERENTE, f"/start {created.token}")
        welcome = await bot.press(GERENTE, button_data(question, "Sí"))
        assert "Ya tienes acceso como responsable de: 303 FACTURACION" in welcome.text
        await bot.idle()
        assert "reportar" in [c["command"] for c in bot.stub.visible_commands(GERENTE)]
    person = await db.run(find_person, GERENTE)
    assert (person.id, person.role, person.unit_claves) == (gerente.id, "coordinador", ("303",))
    assert await _used_by(db, created.token) == gerente.id


async def test_a_coordinador_whose_units_would_change_is_asked_too(db):
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        created = await _invite(bot, units=("306",))
        question = await bot.say(ANA, f"/start {created.token}")
        assert "Ya tienes acceso como responsable de 303 FACTURACION." in question.text
        assert ("te daría acceso como responsable de 306 ALTOS CONSUMOS en lugar de tus "
                "unidades actuales" in question.text)
        assert (await db.run(find_person, ANA)).unit_claves == ("303",)
        welcome = await bot.press(ANA, button_data(question, "Sí"))
        assert "306 ALTOS CONSUMOS" in welcome.text
        # A second press of the same «Sí» (or the link again) changes nothing more.
        again = await bot.press(ANA, button_data(question, "Sí"))
        assert "Ya tienes acceso" in again.text and "ya se usó" not in again.text
    assert (await db.run(find_person, ANA)).unit_claves == ("306",)


async def test_an_invitation_that_changes_nothing_is_not_asked(db):
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        ana = await bot.register_coordinador(ANA, ["303", "306"], name="Ana")
        created = await _invite(bot, units=("306", "303"))
        welcome = await bot.say(ANA, f"/start {created.token}")
        assert "Ya tienes acceso como responsable" in welcome.text and not welcome.buttons
    assert await _used_by(db, created.token) == ana.id


async def test_forged_role_change_buttons_change_nothing(db):
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        await bot.register_gerente(GERENTE)
        refused = await bot.press(GERENTE, "reg:y:not-a-real-token")
        assert "no es válida" in refused.text
        bot.stub.press_button(GERENTE, "reg:x")
        await bot.idle()
        answers = [c.params for c in bot.stub.calls if c.method == "answerCallbackQuery"]
        assert answers[-1].get("text") == STALE_BUTTON_TEXT
    assert (await db.run(find_person, GERENTE)).role == "gerente"
