"""Nobody's figure is overwritten without knowing it (service level).

A value changed through the bot survives a later import; a first value stored by two people
at once is stored once, and the other is told whose it is; a stored value changes only as a
correction with a reason.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.domain.calendar import ReportingCalendar
from bot.domain.periods import Period
from bot.poa_report import read_report
from bot.services import reporting
from bot.services.importer import import_report
from bot.services.registration import register_directly
from storage.models import ROLE_COORDINADOR, Indicator, ReportedValue, Revision, Unit
from tests.harness import add_sample_catalog

NOW = datetime(2023, 4, 3, 15, 0, tzinfo=UTC)  # March 2023 is open
MARCH = Period.month(2023, 3)
CALENDAR = ReportingCalendar(timezone=ZoneInfo("America/Matamoros"))


def coordinador(db, user_id: int, claves: list[str], name: str):
    return db.call(register_directly, telegram_user_id=user_id, role=ROLE_COORDINADOR,
                   unit_claves=claves, name=name, now=NOW)


def stored(db, indicator_id: int, period: str = "2023-03") -> ReportedValue | None:
    return db.call(lambda s: s.exec(select(ReportedValue).where(
        ReportedValue.indicator_id == indicator_id, ReportedValue.period == period)).first())


def revisions(db, indicator_id: int) -> list[tuple]:
    return db.call(lambda s: [(r.old_value, r.new_value, r.person_id, r.reason, r.source)
                              for r in s.exec(select(Revision).where(
                                  Revision.indicator_id == indicator_id).order_by(Revision.id))])


def save(db, person_id: int, indicator_id: int, value: str, *, reason: str = "",
         expected: str | None = None, now: datetime = NOW):
    def work(session):
        slot = reporting.load_slot(session, person_id, indicator_id, MARCH)
        return reporting.save_value(session, slot, Decimal(value), person_id=person_id,
                                    now=now, calendar=CALENDAR, reason=reason,
                                    expected=Decimal(expected) if expected else None)
    return db.call(work)


# --- 1. a correction through the bot survives the next import --------------------------------

def test_a_value_corrected_through_the_bot_is_kept_by_the_next_import(db, seed_tsv):
    report = read_report(seed_tsv)
    db.call(import_report, report, now=NOW - timedelta(days=1))

    def march_value_of_303(session):
        return session.exec(select(ReportedValue).join(
            Indicator, Indicator.id == ReportedValue.indicator_id).join(
            Unit, Unit.id == Indicator.unit_id).where(
            Unit.clave == "303", ReportedValue.period == "2023-03").order_by(
            Indicator.position)).first()
    imported = db.call(march_value_of_303)
    assert imported.source == "import" and imported.reported_by_id is None
    ana = coordinador(db, 1001, ["303"], "Ana")
    corrected = imported.value + 7
    save(db, ana.id, imported.indicator_id, str(corrected), reason="El reporte tenía un error",
         expected=str(imported.value))

    row = stored(db, imported.indicator_id)
    assert (row.value, row.source, row.reported_by_id, row.reported_at) == (
        corrected, "telegram", ana.id, NOW)

    result = db.call(import_report, report, now=NOW + timedelta(days=1))
    assert stored(db, imported.indicator_id).value == corrected  # not undone
    assert stored(db, imported.indicator_id).reported_by_id == ana.id  # still Ana's
    assert result.values_kept == 1 and result.values_changed == 0
    kept = [w.message for w in result.warnings if "se conserva" in w.message]
    assert len(kept) == 1 and "2023-03" in kept[0]
    assert revisions(db, imported.indicator_id) == [
        (imported.value, corrected, ana.id, "El reporte tenía un error", "telegram")]


# --- 2. a stored value changes only knowingly ----------------------------------------------

def test_a_stored_value_is_not_replaced_by_a_first_report(db):
    ids = db.call(add_sample_catalog)
    recibos = ids["303"][0]
    ana = coordinador(db, 1001, ["303"], "Ana")
    beto = coordinador(db, 1002, ["303"], "Beto")
    save(db, ana.id, recibos, "1084")
    with pytest.raises(reporting.ValueTaken) as taken:
        save(db, beto.id, recibos, "1090", now=NOW + timedelta(minutes=5))
    owner = taken.value.owner
    assert (owner.value, owner.person_id, owner.name, owner.at) == (
        Decimal(1084), ana.id, "Ana", NOW)
    assert stored(db, recibos).value == 1084
    # As a correction with a reason it goes through, logged as Beto's.
    save(db, beto.id, recibos, "1090", reason="Conteo final", expected="1084")
    assert stored(db, recibos).value == 1090
    assert revisions(db, recibos) == [(None, Decimal(1084), ana.id, "", "telegram"),
                                      (Decimal(1084), Decimal(1090), beto.id, "Conteo final",
                                       "telegram")]


def test_a_correction_of_a_value_that_changed_meanwhile_is_refused(db):
    ids = db.call(add_sample_catalog)
    recibos = ids["303"][0]
    ana = coordinador(db, 1001, ["303"], "Ana")
    beto = coordinador(db, 1002, ["303"], "Beto")
    save(db, ana.id, recibos, "1084")
    save(db, ana.id, recibos, "1085", reason="Ana corrige", expected="1084")
    with pytest.raises(reporting.ValueTaken) as taken:  # Beto saw 1,084
        save(db, beto.id, recibos, "1090", reason="Beto corrige", expected="1084")
    assert (taken.value.owner.value, taken.value.owner.name) == (Decimal(1085), "Ana")
    assert stored(db, recibos).value == 1085


# --- 3. two people at the same instant -------------------------------------------------------

def test_two_slots_loaded_before_either_saves_store_one_value(db):
    ids = db.call(add_sample_catalog)
    recibos = ids["303"][0]
    ana = coordinador(db, 1001, ["303"], "Ana")
    beto = coordinador(db, 1002, ["303"], "Beto")
    with db.session() as first, db.session() as second:
        slot_a = reporting.load_slot(first, ana.id, recibos, MARCH)
        slot_b = reporting.load_slot(second, beto.id, recibos, MARCH)
        assert slot_a.stored is None and slot_b.stored is None
        reporting.save_value(first, slot_a, Decimal(1084), person_id=ana.id, now=NOW,
                             calendar=CALENDAR)
        first.commit()
        with pytest.raises(reporting.ValueTaken) as taken:
            reporting.save_value(second, slot_b, Decimal(1090), person_id=beto.id, now=NOW,
                                 calendar=CALENDAR)
        # The transaction is still usable: the step goes on and says whose it is.
        assert (taken.value.owner.name, taken.value.owner.value) == ("Ana", Decimal(1084))
        assert slot_b.stored is not None and slot_b.stored.value == 1084
    assert stored(db, recibos).value == 1084
    assert revisions(db, recibos) == [(None, Decimal(1084), ana.id, "", "telegram")]


def test_two_threads_saving_at_once_store_exactly_one_value(db):
    ids = db.call(add_sample_catalog)
    recibos = ids["303"][0]
    people = {coordinador(db, 1001, ["303"], "Ana").id: Decimal(1084),
              coordinador(db, 1002, ["303"], "Beto").id: Decimal(1090)}
    loaded = threading.Barrier(len(people))
    outcomes: dict[int, object] = {}

    def report(person_id: int, value: Decimal) -> None:
        def work(session):
            slot = reporting.load_slot(session, person_id, recibos, MARCH)
            assert slot.stored is None
            loaded.wait(timeout=30)  # both have seen an empty slot before either saves
            try:
                reporting.save_value(session, slot, value, person_id=person_id, now=NOW,
                                     calendar=CALENDAR)
                return "saved"
            except reporting.ValueTaken as taken:
                return taken.owner
        try:
            outcomes[person_id] = db.call(work)
        except Exception as error:  # the assertion below shows it
            outcomes[person_id] = error

    threads = [threading.Thread(target=report, args=item) for item in people.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    winners = [p for p, outcome in outcomes.items() if outcome == "saved"]
    assert len(winners) == 1, outcomes
    (loser,) = [p for p in people if p not in winners]
    owner = outcomes[loser]
    assert isinstance(owner, reporting.ownership.Owner), owner
    assert (owner.person_id, owner.value) == (winners[0], people[winners[0]])
    row = stored(db, recibos)
    assert (row.value, row.reported_by_id) == (people[winners[0]], winners[0])
    assert len(revisions(db, recibos)) == 1
