"""Start-up sets only the menus that changed, and remembers what it set."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from bot.services.registration import register_directly
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


async def test_start_up_sync_never_overwrites_a_menu_set_while_it_was_paced(db, monkeypatch):
    """The sync lists Ana as a gerente; before it reaches her chat (its calls are paced), an
    invitation makes her a coordinador and sets that menu. Whatever the order, she ends with
    the coordinador's menu."""
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        await menus.menus_synced(bot.app).wait()
        await bot.register_gerente(ANA)  # behind the bot's back: no menu yet
        loop = asyncio.get_running_loop()
        listed = asyncio.Event()
        real_listing = menus.menus_to_set

        def listing(session, fingerprints, chat_id=None):
            rows = real_listing(session, fingerprints, chat_id)
            if chat_id is None:  # the sync's first, whole listing
                loop.call_soon_threadsafe(listed.set)
            return rows
        monkeypatch.setattr(menus, "menus_to_set", listing)

        async with menus.chat_menu_lock(bot.app, ANA):  # the role change is under way
            sync = asyncio.create_task(menus.sync_menus(bot.app))
            await listed.wait()

            def demote(session):
                person = session.exec(select(Person).where(Person.telegram_user_id == ANA)).one()
                person.role = ROLE_COORDINADOR
                session.add(person)
            await db.run(demote)
        await menus.apply_menu(bot.app, ANA, ROLE_COORDINADOR, approval_required=False,
                               db=db, now=bot.clock())
        await sync
        assert bot.stub.visible_commands(ANA)[0]["command"] == "reportar"


async def test_stopping_ends_the_start_up_sync_and_every_menu_set_is_remembered(db):
    await db.run(add_sample_catalog)
    people = list(range(5001, 5061))  # their menus take about two paced seconds
    async with running_bot(db) as bot:
        await menus.menus_synced(bot.app).wait()
        for user_id in people:  # behind the bot's back: the next start sets their menus
            await db.run(register_directly, telegram_user_id=user_id, role=ROLE_COORDINADOR,
                         unit_claves=["303"], name=f"P {user_id}", now=bot.clock())
        await bot.stop()
        await bot.start()
        await bot.stub.wait_for_calls("setMyCommands", 3)
        await bot.stop()  # returns once the sync has ended, at the next person

        set_for = {user_id for user_id in people if _chat_menu_calls(bot.stub, user_id)}
        assert 0 < len(set_for) < len(people)
        remembered = set(await db.run(lambda s: s.exec(select(MenuState.chat_id)).all()))
        assert set_for <= remembered  # none would be set again by the next start

        await bot.start()  # the next start sets the others, and nobody's twice
        await menus.menus_synced(bot.app).wait()
        assert all(_chat_menu_calls(bot.stub, user_id) == 1 for user_id in people)
