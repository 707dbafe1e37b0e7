"""How the bot uses its PostgreSQL connections: a connection used moments ago is not pinged
again, one that sat idle is (and is replaced if the server dropped it), and a single read runs
without a transaction while every step still gets one."""

from __future__ import annotations

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from storage.db import PING_AFTER_IDLE_SECONDS, Database


@pytest.fixture
def pg(db: Database) -> Database:
    if db.is_sqlite:
        pytest.skip("PostgreSQL connections (POA_TEST_DATABASE_URL)")
    return db


class PingCounter:
    def __init__(self, db: Database):
        self.count = 0
        self._ping = db.engine.dialect.do_ping
        db.engine.dialect.do_ping = self

    def __call__(self, dbapi_connection) -> bool:
        self.count += 1
        return self._ping(dbapi_connection)


def backend_pid(session) -> int:
    return session.execute(text("SELECT pg_backend_pid()")).scalar()


def leave_idle(db: Database, seconds: float) -> None:
    """Make the pool's connections look idle for ``seconds`` (instead of waiting that long)."""
    for record in list(db.engine.pool._pool.queue):
        record.info["idle_since"] -= seconds


def test_a_connection_used_moments_ago_is_not_pinged_again(pg):
    pings = PingCounter(pg)
    first = pg.call(backend_pid)
    assert [pg.call(backend_pid) for _ in range(5)] == [first] * 5
    assert pings.count == 0  # a new connection and one just returned both worked moments ago


def terminate(db: Database, pid: int) -> None:
    """What a server restart does to a pooled connection."""
    admin = Database(db.url)
    try:
        admin.call(lambda s: s.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}))
    finally:
        admin.dispose()


def test_an_idle_connection_is_pinged_and_replaced_when_the_server_dropped_it(pg):
    pings = PingCounter(pg)
    dropped = pg.call(backend_pid)  # back in the pool, idle
    terminate(pg, dropped)
    leave_idle(pg, PING_AFTER_IDLE_SECONDS + 1)
    assert pg.call(backend_pid) != dropped  # the step runs, on a new connection
    assert pings.count == 1


def test_a_connection_dropped_within_the_window_fails_one_step_then_the_pool_is_renewed(pg):
    dropped = pg.call(backend_pid)
    terminate(pg, dropped)
    with pytest.raises(OperationalError):  # the person is told nothing was saved
        pg.call(backend_pid)
    assert pg.call(backend_pid) != dropped  # and their retry works


def transaction_status(session) -> TransactionStatus:
    session.execute(text("SELECT 1"))
    return session.connection().connection.dbapi_connection.info.transaction_status


def test_a_read_runs_outside_a_transaction_and_a_step_inside_one(pg):
    assert pg.read(transaction_status) == TransactionStatus.IDLE  # no BEGIN, no COMMIT
    # The same pooled connection goes back to transactions for the next step.
    assert pg.call(transaction_status) == TransactionStatus.INTRANS
    assert pg.read(transaction_status) == TransactionStatus.IDLE
    assert pg.call(transaction_status) == TransactionStatus.INTRANS


def test_a_read_on_sqlite_is_an_ordinary_call(db):
    assert db.read(lambda s: s.execute(text("SELECT 41 + 1")).scalar()) == 42
