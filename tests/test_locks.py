from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.domain.calendar import ReportingCalendar
from bot.domain.periods import Period
from bot.services import locks
from storage.models import LockEvent, PeriodLock
from tests.reminders_data import add_gerente

TZ = ZoneInfo("America/Matamoros")
CAL = ReportingCalendar(timezone=TZ)
MARCH = Period.month(2023, 3)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=TZ)


def test_calendar_decides_without_locks(db):
    with db.session() as s:
        assert not locks.is_open(s, MARCH, "303", at(2023, 3, 31, 12), CAL)  # not ended
        assert locks.is_open(s, MARCH, "303", at(2023, 4, 1), CAL)
        assert locks.is_open(s, MARCH, "303", at(2023, 4, 5, 23, 59), CAL)
        assert not locks.is_open(s, MARCH, "303", at(2023, 4, 6), CAL)


def test_reopen_all_units_overrides_the_calendar_and_is_logged(db):
    with db.session() as s:
        gerente = add_gerente(s, "Gerente")
        now = at(2023, 5, 10)
        assert locks.reopen(s, MARCH, person_id=gerente.id, now=now)
        assert locks.is_open(s, MARCH, "303", now, CAL)
        assert locks.is_open(s, MARCH, "305", at(2023, 12, 1), CAL)
        assert not locks.is_open(s, Period.month(2023, 2), "303", now, CAL)  # others stay shut
        assert [p.code for p in locks.reopened_periods(s)] == ["2023-03"]
        events = locks.lock_history(s, MARCH)
        assert [(e.action, e.unit_clave, e.person_id) for e in events] == [
            ("reopen", "*", gerente.id)]


def test_unit_scope_wins_over_all_units(db):
    with db.session() as s:
        gerente = add_gerente(s, "Gerente")
        now = at(2023, 5, 10)
        locks.reopen(s, MARCH, "303", person_id=gerente.id, now=now)
        assert locks.is_open(s, MARCH, "303", now, CAL)
        assert not locks.is_open(s, MARCH, "305", now, CAL)
        assert locks.open_units(s, MARCH, ["303", "305", "306"], now, CAL) == {"303"}

        # Inside the window, closing one unit closes only that one.
        april_3 = at(2023, 4, 3)
        locks.close(s, MARCH, "305", person_id=gerente.id, now=april_3)
        assert not locks.is_open(s, MARCH, "305", april_3, CAL)
        assert locks.is_open(s, MARCH, "306", april_3, CAL)


def test_close_all_withdraws_unit_reopenings_and_reopen_all_lifts_unit_closings(db):
    with db.session() as s:
        gerente = add_gerente(s, "Gerente")
        now = at(2023, 5, 10)
        locks.reopen(s, MARCH, "303", person_id=gerente.id, now=now)
        assert locks.close(s, MARCH, person_id=gerente.id, now=now)
        assert not locks.is_open(s, MARCH, "303", now, CAL)
        assert locks.lock_overrides(s, MARCH) == {"*": True}

        locks.close(s, MARCH, "305", person_id=gerente.id, now=now)
        locks.reopen(s, MARCH, person_id=gerente.id, now=now)
        assert locks.open_units(s, MARCH, ["303", "305"], now, CAL) == {"303", "305"}
        actions = [(e.action, e.unit_clave) for e in locks.lock_history(s, MARCH)]
        assert actions == [("reopen", "303"), ("close", "*"), ("close", "305"), ("reopen", "*")]


def test_repeating_a_decision_is_logged_but_reports_no_change(db):
    with db.session() as s:
        gerente = add_gerente(s, "Gerente")
        now = at(2023, 5, 10)
        assert locks.close(s, MARCH, person_id=gerente.id, now=now)
        assert not locks.close(s, MARCH, person_id=gerente.id, now=now)
        assert len(s.exec(select(PeriodLock)).all()) == 1
        assert len(s.exec(select(LockEvent)).all()) == 2


def test_locks_never_open_a_running_period(db):
    with db.session() as s:
        april = Period.month(2023, 4)
        locks.reopen(s, april, person_id=None, now=at(2023, 4, 10))
        assert not locks.is_open(s, april, "303", at(2023, 4, 10), CAL)
        assert locks.is_open(s, april, "303", at(2023, 5, 1), CAL)
