"""/resumen's cache (invalidated by any committed change) and its work off the event loop."""

from __future__ import annotations

import asyncio
import gc
import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlmodel import select

from bot.clock import FrozenClock
from bot.domain.attainment import DEFAULT_BANDS
from bot.domain.periods import Period
from bot.services import summary_cache as cache_module
from bot.services.summary import build_summary
from bot.services.summary_cache import (
    SummaryCache,
    SummaryKey,
    collector_paused,
    data_version,
)
from handlers import summary as summary_handlers
from storage.models import Indicator, ReportedValue, Unit
from tests.harness import add_sample_catalog, running_bot

GERENTE, OTHER = 7001, 7002
NOW = datetime(2023, 4, 10, 15, tzinfo=UTC)
MARCH = Period.month(2023, 3)


def _save_value(session, nombre: str, value: str) -> None:
    """A value of March written straight to the database, as another process would."""
    indicator = session.exec(select(Indicator).where(Indicator.nombre == nombre)).one()
    row = session.exec(select(ReportedValue).where(
        ReportedValue.indicator_id == indicator.id, ReportedValue.period == MARCH.code)).first()
    if row is None:
        row = ReportedValue(indicator_id=indicator.id, period=MARCH.code, year=2023,
                            period_start=MARCH.start, period_end=MARCH.end,
                            value=Decimal(value), meta=indicator.meta, reported_at=NOW,
                            source="cli")
    row.value = Decimal(value)
    session.add(row)


async def test_data_version_grows_with_every_committed_change_only(db):
    await db.run(add_sample_catalog)
    start = await db.run(data_version)
    await db.run(_save_value, "LECTURAS TOMADAS", "1000")
    inserted = await db.run(data_version)
    assert inserted > start
    await db.run(_save_value, "LECTURAS TOMADAS", "2000")  # an update
    updated = await db.run(data_version)
    assert updated > inserted

    def rename_unit(session):
        unit = session.exec(select(Unit).where(Unit.clave == "303")).one()
        unit.nombre = "FACTURACION Y COBRANZA"
        session.add(unit)
    await db.run(rename_unit)
    renamed = await db.run(data_version)
    assert renamed > updated

    def failing_write(session):
        _save_value(session, "LECTURAS TOMADAS", "3000")
        session.flush()
        raise RuntimeError("rolled back")
    with pytest.raises(RuntimeError):
        await db.run(failing_write)
    assert await db.run(data_version) == renamed  # nothing committed, nothing bumped


async def test_cache_reuses_until_the_data_changes(db):
    await db.run(add_sample_catalog)
    cache = SummaryCache()
    key = SummaryKey(MARCH.code, None, date(2023, 4, 10), DEFAULT_BANDS, 5)

    def get(session):
        return cache.get(session, key, lambda s: build_summary(s, MARCH,
                                                               today=date(2023, 4, 10)))
    first = await db.run(get)
    assert (await db.run(get)) is first and cache.builds == 1
    await db.run(_save_value, "LECTURAS TOMADAS", "1234")
    second = await db.run(get)
    assert second is not first and cache.builds == 2
    line = next(line for line in second.summary.lines if line.nombre == "LECTURAS TOMADAS")
    assert line.value == Decimal("1234")


async def test_resumen_pages_come_from_the_cache_and_a_new_value_shows(db):
    await db.run(add_sample_catalog)
    async with running_bot(db, clock=FrozenClock(NOW)) as bot:
        await bot.register_gerente(GERENTE)
        cache = bot.app.bot_data[summary_handlers.CACHE_KEY]
        first = await bot.say(GERENTE, "/resumen marzo 2023")
        assert cache.builds == 1
        detail = next(data for label, data in first.buttons if label == "🔎 303")
        bot.stub.press_button(GERENTE, detail, first.message_id)
        await bot.stub.wait_for_calls("editMessageText", 1)
        await bot.idle()
        again = await bot.say(GERENTE, "/resumen marzo 2023")
        assert cache.builds == 1  # the detail and the second /resumen reused the summary
        assert again.text == first.text

        await db.run(_save_value, "LECTURAS TOMADAS", "255835")
        changed = await bot.say(GERENTE, "/resumen marzo 2023")
        assert cache.builds == 2
        assert changed.text != first.text


async def test_summary_is_built_and_paged_off_the_event_loop(db, monkeypatch):
    """The build and the page layout run in worker threads; meanwhile others are answered."""
    await db.run(add_sample_catalog)
    threads: list[str] = []
    release = threading.Event()
    building = threading.Event()
    real_build, real_overview = summary_handlers.build_summary, cache_module.Overview

    def slow_build(*args, **kwargs):
        threads.append(threading.current_thread().name)
        building.set()
        release.wait(30)  # held until another person has been answered
        return real_build(*args, **kwargs)

    def overview(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return real_overview(*args, **kwargs)

    monkeypatch.setattr(summary_handlers, "build_summary", slow_build)
    monkeypatch.setattr(cache_module, "Overview", overview)
    async with running_bot(db) as bot:
        await bot.register_gerente(GERENTE)
        await bot.register_gerente(OTHER)
        loop_thread = threading.current_thread().name
        bot.stub.send_text(GERENTE, "/resumen marzo 2023")
        await asyncio.to_thread(building.wait, 30)
        try:
            help_reply = await bot.say(OTHER, "/ayuda")  # answered while the build waits
            assert "/resumen" in help_reply.text
        finally:
            release.set()
        summary_reply = await bot.next_message(GERENTE)
        assert "Resumen POA" in summary_reply.text
    assert len(threads) == 2
    assert all(name != loop_thread for name in threads), threads


def test_the_collector_is_paused_during_builds_and_back_when_the_last_one_ends(monkeypatch):
    returned = []  # when freed memory is given back to the system: once the last build ends
    monkeypatch.setattr(cache_module, "return_free_memory", lambda: returned.append(1))
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # another build overlapping on another database thread
            pass
        assert not gc.isenabled()  # the first build is still going
        assert returned == []
    assert gc.isenabled()
    assert returned == [1]
    try:
        with collector_paused():
            raise ValueError("a build that fails")
    except ValueError:
        pass
    assert gc.isenabled()
