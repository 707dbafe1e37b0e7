"""Fault suite: PostgreSQL stopped in the middle of a conversation and started again.

The person is told, once, that nothing was saved and to try again; the bot keeps running
(no crash, other updates keep being answered); the conversation state does not advance; and
when the database is back the same conversation goes on (the failed steps made SQLAlchemy
replace the connections the restart killed; ``tests/test_db_connections.py`` has the rest).
A reminder tick during the outage fails and the next one sends the reminder, once.

The test runs its own throwaway PostgreSQL server (``tests/pg_server.py``) so that stopping it
disturbs nothing else; it is skipped only where no PostgreSQL binaries are installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from bot.scheduler import scheduler_of
from handlers.common import DATABASE_ERROR_TEXT
from storage.db import Database
from storage.models import Conversation, ReportedValue, Revision
from tests.harness import add_sample_catalog, button_data, running_bot
from tests.pg_server import PgServer

pytestmark = pytest.mark.fault

ANA = 1001


@pytest.fixture(scope="module")
def pg_server() -> Iterator[PgServer]:
    server = PgServer.create()
    if server is None:
        pytest.skip("no PostgreSQL binaries installed, or running as root without a 'postgres' "
                    "account (CI installs both: .ci/postgres.sh)")
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def outage_db(pg_server) -> Iterator[Database]:
    if not pg_server.running:  # a failed test may have left it stopped
        pg_server.start()
    db = Database(pg_server.new_database("poa_outage"))
    db.migrate()
    yield db
    db.dispose()


def stored_values(session) -> dict[int, Decimal]:
    return {v.indicator_id: v.value for v in session.exec(select(ReportedValue))}


def conversation_state(session) -> str | None:
    row = session.get(Conversation, ANA)
    return row.state if row else None


async def test_database_outage_mid_conversation_asks_to_retry_then_goes_on(pg_server,
                                                                           outage_db):
    db = outage_db
    ids = await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        stub = bot.stub
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        await bot.say(ANA, "/reportar")  # one unit, one open period: the card at once
        saved = await bot.say(ANA, "255835")
        card = await bot.press(ANA, button_data(saved, "Sin observaciones"))
        assert "faltan 2 de 3" in card.text
        await bot.idle()
        state_before = await db.run(conversation_state)

        pg_server.stop()
        told = len(stub.messages_to(ANA))
        refusal = await bot.say(ANA, "255900 150")  # both values left, in one message
        assert refusal.text == DATABASE_ERROR_TEXT
        # Buttons and a command during the outage: answered too, and the bot stays up.
        stub.press_button(ANA, f"r:nr:{ids['303'][0]}")
        await bot.next_message(ANA)
        stub.press_button(ANA, "r:bt:ok")
        await bot.next_message(ANA)
        await bot.say(ANA, "/pendientes")
        with pytest.raises(OperationalError):
            await scheduler_of(bot.app).tick(bot.app.bot, wait=True)
        await bot.idle()
        during = stub.messages_to(ANA)[told:]
        assert [m.text for m in during] == [DATABASE_ERROR_TEXT] * 4  # one per update
        assert bot.app.running and bot.app.updater.running

        pg_server.start()
        assert await db.run(conversation_state) == state_before  # nothing advanced
        table = await bot.say(ANA, "255900 150")  # the same message again, now it is read
        assert "¿Está bien?" in table.text, table.text
        pg_server.stop()  # down again while «Sí, guardar» is pressed: nothing saved
        stub.press_button(ANA, button_data(table, "Sí, guardar"))
        assert (await bot.next_message(ANA)).text == DATABASE_ERROR_TEXT
        await bot.idle()
        pg_server.start()
        assert await db.run(stored_values) == {ids["303"][0]: Decimal(255835)}
        summary = await bot.press(ANA, button_data(table, "Sí, guardar"))  # pressed again
        assert "Listo" in summary.text, summary.text
        # The reminder tick that failed during the outage runs again: she owes nothing now.
        assert (await scheduler_of(bot.app).tick(bot.app.bot, wait=True)).planned == 0

    values = await db.run(stored_values)
    assert values == {ids["303"][0]: Decimal(255835), ids["303"][1]: Decimal(255900),
                      ids["303"][2]: Decimal(150)}
    revisions = await db.run(lambda s: len(s.exec(select(Revision)).all()))
    assert revisions == 3  # one per value: the refused attempt left no trace


async def test_reminders_due_during_an_outage_go_out_once_it_is_over(pg_server, outage_db):
    db = outage_db
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:  # 3 April 09:00 local: a reminder day
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        scheduler = scheduler_of(bot.app)
        pg_server.stop()
        with pytest.raises(OperationalError):
            await scheduler.tick(bot.app.bot, wait=True)
        pg_server.start()
        assert (await scheduler.tick(bot.app.bot, wait=True)).sent == 1
        assert (await scheduler.tick(bot.app.bot, wait=True)).planned == 0
        assert len([t for t in bot.texts_to(ANA) if "Recordatorio POA" in t]) == 1
