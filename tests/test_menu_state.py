"""Start-up sets only the menus that changed, and remembers what it set."""

from __future__ import annotations

from sqlmodel import select

from handlers import menus
from storage.models import ROLE_COORDINADOR, MenuState, Person
from tests.harness import add_sample_catalog, running_bot

ANA, GERENTE = 4001, 4002


def _chat_menu_calls(stub, chat_id: int) -> int:
    return sum(1 for call in stub.calls if call.method == "setMyCommands"
               and (call.params.get("scope") or {}).get("chat_id") == chat_id)


def _default_menu_calls(stub) -> int:
    return sum(1 for call in stub.calls if call.method == "setMyCommands"
               and (call.params.get("scope") or {}).get("type") == "default")


async def test_menus_are_set_once_per_person_and_role_change(db):
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        await menus.menus_synced(bot.app).wait()
        await bot.register_coordinador(ANA, ["303"])
        await bot.register_gerente(GERENTE)
        # Registered behind the bot's back (like the CLI): the next start sets their menus.
        await bot.restart()
        await menus.menus_synced(bot.app).wait()
        assert _chat_menu_calls(bot.stub, ANA) == 1
        assert _chat_menu_calls(bot.stub, GERENTE) == 1
        assert _default_menu_calls(bot.stub) == 1
        names = [c["command"] for c in bot.stub.visible_commands(ANA)]
        assert names[0] == "reportar"

        await bot.restart()  # nothing changed: not one setMyCommands
        await menus.menus_synced(bot.app).wait()
        assert _chat_menu_calls(bot.stub, ANA) == 1
        assert _chat_menu_calls(bot.stub, GERENTE) == 1
        assert _default_menu_calls(bot.stub) == 1

        def promote(session):
            person = session.exec(select(Person).where(Person.telegram_user_id == ANA)).one()
            person.role = "gerente"
            session.add(person)
        await db.run(promote)
        await bot.restart()  # Ana's role changed: only her menu is set again
        await menus.menus_synced(bot.app).wait()
        assert _chat_menu_calls(bot.stub, ANA) == 2
        assert _chat_menu_calls(bot.stub, GERENTE) == 1
        assert "reabrir" in [c["command"] for c in bot.stub.visible_commands(ANA)]

    remembered = dict(await db.run(lambda s: s.exec(select(MenuState.chat_id,
                                                           MenuState.menu)).all()))
    assert remembered[ANA] == menus.ROLE_FINGERPRINTS["gerente"]
    assert remembered[GERENTE] == menus.ROLE_FINGERPRINTS["gerente"]


async def test_registration_in_the_chat_remembers_the_menu(db):
    from bot.services.registration import create_invitation

    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        await menus.menus_synced(bot.app).wait()
        created = await bot.db.run(create_invitation, role=ROLE_COORDINADOR,
                                   unit_claves=["303"], name="Ana", now=bot.clock(), days=7)
        await bot.say(ANA, f"/start {created.token}")
        await bot.idle()
        assert _chat_menu_calls(bot.stub, ANA) == 1
        await bot.restart()
        await menus.menus_synced(bot.app).wait()
        assert _chat_menu_calls(bot.stub, ANA) == 1  # not set again at start-up
