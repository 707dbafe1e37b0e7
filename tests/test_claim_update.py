"""A step claims its Telegram update and reads the chat's state (one statement on
PostgreSQL): a re-delivered update is refused, and ids Telegram can no longer re-deliver are
forgotten now and then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.services.flow_state import Turn, claim_and_load, save_state
from bot.services.registration import PersonView
from storage.models import ProcessedUpdate

NOW = datetime(2026, 4, 3, 9, 0, tzinfo=UTC)
ANA = PersonView(id=1, telegram_user_id=1001, chat_id=1001, name="Ana", role="coordinador",
                 units=())


def turn(update_id: int | None, now: datetime = NOW) -> Turn:
    return Turn(person=ANA, chat_id=1001, update_id=update_id, now=now, calendar=None)


def test_the_first_delivery_reads_the_state_and_a_second_one_is_refused(db):
    assert db.call(claim_and_load, turn(7)) == {}  # no state yet
    db.call(save_state, 1001, {"flow": "r", "step": "value"}, NOW)
    assert db.call(claim_and_load, turn(8)) == {"flow": "r", "step": "value"}
    assert db.call(claim_and_load, turn(8)) is None  # delivered again: applied once
    assert db.call(claim_and_load, turn(None)) == {"flow": "r", "step": "value"}  # no id


def test_now_and_then_updates_older_than_three_days_are_forgotten(db):
    db.call(claim_and_load, turn(5, NOW - timedelta(days=4)))
    db.call(claim_and_load, turn(6, NOW - timedelta(days=2)))
    assert db.call(claim_and_load, turn(200)) == {}
    kept = db.call(lambda s: sorted(s.exec(select(ProcessedUpdate.update_id)).all()))
    assert kept == [6, 200]
