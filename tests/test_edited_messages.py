"""Edits are not new messages, and blocking the bot is not a message either.

Telegram sends an ``edited_message`` when someone changes a message they sent: the bot must
not run its command (or take its value) a second time. A ``my_chat_member`` update (someone
blocked the bot) gets no answer, from a stranger or anyone.
"""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import select

from bot.services.registration import create_invitation, hash_token
from handlers.common import EDITED_TEXT
from storage.models import Invitation, LockEvent, Person, ReportedValue
from tests.harness import add_sample_catalog, running_bot

ANA, GERENTE, STRANGER = 1001, 2001, 7777


def message_id(update: dict) -> int:
    return update["message"]["message_id"]


async def edit(bot, user_id: int, update: dict, text: str):
    """Edit the message of ``update`` to ``text``; return every message the bot sent back."""
    before = len(bot.stub.messages_to(user_id))
    bot.stub.edit_text(user_id, message_id(update), text)
    await bot.idle()
    count = len(bot.stub.messages_to(user_id)) - before
    return [await bot.next_message(user_id) for _ in range(count)]  # (and move past them)


async def test_edited_commands_and_values_are_not_run_again(db):
    ids = await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        await bot.register_gerente(GERENTE)
        invitation = await db.run(create_invitation, role="gerente", unit_claves=[], name="",
                                  now=bot.clock(), days=7)

        # A coordinador edits an old message into "/start <token>": no registration.
        sent = bot.stub.send_text(ANA, "/ayuda")
        await bot.next_message(ANA)
        got = await edit(bot, ANA, sent, f"/start {invitation.token}")
        assert [m.text for m in got] == [EDITED_TEXT]

        # A gerente edits messages into /invitar, /reabrir and /start: nothing is run.
        sent = bot.stub.send_text(GERENTE, "/ayuda")
        await bot.next_message(GERENTE)
        for command in ("/invitar 303", "/reabrir 2023-02", "/cerrar 2023-03", "/start",
                        "/resumen"):
            got = await edit(bot, GERENTE, sent, command)
            assert [m.text for m in got] == [EDITED_TEXT], command

        # A value edited after it was saved does not change it (nor answer the next question).
        await bot.say(ANA, "/reportar")  # one unit, one open period: no choice
        value = bot.stub.send_text(ANA, "255835")
        saved = await bot.next_message(ANA)
        assert "Guardé 255,835" in saved.text
        got = await edit(bot, ANA, value, "999")
        assert [m.text for m in got] == [EDITED_TEXT]
        # And an edited remark is not taken as the remark.
        got = await edit(bot, ANA, value, "una observación")
        assert [m.text for m in got] == [EDITED_TEXT]

    def state(session):
        mine = session.exec(select(Invitation).where(
            Invitation.token_hash == hash_token(invitation.token))).one()
        return (mine.used_at,
                session.exec(select(Invitation).where(Invitation.created_by_id.is_not(None))).all(),
                session.exec(select(LockEvent)).all(),
                session.exec(select(Person).where(Person.telegram_user_id == ANA)).one().role,
                [(v.value, v.observaciones) for v in session.exec(select(ReportedValue))])
    used, invitations, locks, role, values = await db.run(state)
    assert used is None and invitations == [] and locks == []
    assert role == "coordinador"
    assert values == [(Decimal("255835"), "")] and ids


async def test_blocking_the_bot_gets_no_answer(db):
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"])
        bot.stub.block_bot(STRANGER)
        bot.stub.block_bot(ANA)
        await bot.idle()
        assert bot.stub.messages_to(STRANGER) == [] and bot.stub.messages_to(ANA) == []
        assert bot.stub.forbidden == []  # nor did it try (a blocked chat answers 403)
