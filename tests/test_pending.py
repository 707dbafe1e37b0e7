from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.calendar import ReportingCalendar
from bot.domain.periods import Frequency, Period
from bot.services import locks, pending
from tests.reminders_data import add_gerente, add_indicator, add_person, add_unit, report

TZ = ZoneInfo("America/Matamoros")
CAL = ReportingCalendar(timezone=TZ)
MARCH, Q1, FEB = Period.month(2023, 3), Period.quarter(2023, 1), Period.month(2023, 2)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=TZ)


@pytest.fixture
def catalog(db):
    """303 with two monthly and one quarterly indicator, 305 with one monthly; Ana answers
    for 303 and 305, Beto for 305; an old 2022 indicator that must never count."""
    with db.session() as s:
        u303, u305, u306 = add_unit(s, "303", "Facturación"), add_unit(s, "305"), add_unit(s, "306")
        ind = {
            "fact": add_indicator(s, u303, "Facturas", position=1),
            "recibos": add_indicator(s, u303, "Recibos", position=2),
            "trim": add_indicator(s, u303, "Trimestral", frecuencia=Frequency.QUARTERLY),
            "contratos": add_indicator(s, u305, "Contratos"),
            "viejo": add_indicator(s, u303, "Viejo", year=2022),
            "altos": add_indicator(s, u306, "Altos"),
        }
        ana = add_person(s, "Ana", units=(u303, u305), user_id=11)
        beto = add_person(s, "Beto", units=(u305,), user_id=12)
        add_person(s, "Inactiva", units=(u305,), user_id=13, active=False)
        gerente = add_gerente(s, "Gerente", user_id=1)
        return {"ind": {k: v.id for k, v in ind.items()}, "ana": ana.id, "beto": beto.id,
                "gerente": gerente.id}


def names(indicators):
    return [i.nombre for i in indicators]


def test_pending_indicators_per_frequency_and_unit(db, catalog):
    with db.session() as s:
        ana = catalog["ana"]
        assert names(pending.pending_indicators(s, ana, MARCH)) == [
            "Facturas", "Recibos", "Contratos"]
        assert names(pending.pending_indicators(s, ana, Q1)) == ["Trimestral"]
        assert names(pending.pending_indicators(s, ana, MARCH, "305")) == ["Contratos"]
        assert pending.pending_indicators(s, ana, Period.half(2023, 1)) == []
        assert names(pending.pending_indicators(s, catalog["beto"], MARCH)) == ["Contratos"]
        assert pending.pending_indicators(s, catalog["gerente"], MARCH) == []


def test_reported_values_leave_the_pending_list(db, catalog):
    with db.session() as s:
        from storage.models import Indicator
        report(s, s.get(Indicator, catalog["ind"]["fact"]), MARCH)
        report(s, s.get(Indicator, catalog["ind"]["recibos"]), FEB)  # another period
        assert names(pending.pending_indicators(s, catalog["ana"], MARCH)) == [
            "Recibos", "Contratos"]


def test_reportable_periods_follow_calendar_locks_and_pending(db, catalog):
    with db.session() as s:
        from storage.models import Indicator
        ana = catalog["ana"]
        assert pending.reportable_periods(s, ana, at(2023, 3, 31, 12), CAL) == []
        assert [p.code for p in pending.reportable_periods(s, ana, at(2023, 3, 3), CAL)] == [
            "2023-02"]
        assert [p.code for p in pending.reportable_periods(s, ana, at(2023, 4, 3), CAL)] == [
            "2023-03", "2023-Q1"]
        assert pending.reportable_periods(s, ana, at(2023, 4, 6), CAL) == []

        # Everything of the quarter reported: only March is left.
        report(s, s.get(Indicator, catalog["ind"]["trim"]), Q1)
        assert [p.code for p in pending.reportable_periods(s, ana, at(2023, 4, 3), CAL)] == [
            "2023-03"]

        # Reopening February for 305 brings it back for both coordinadores of 305.
        locks.reopen(s, FEB, "305", person_id=catalog["gerente"], now=at(2023, 4, 3))
        assert [p.code for p in pending.reportable_periods(s, ana, at(2023, 4, 3), CAL)] == [
            "2023-03", "2023-02"]
        assert [p.code for p in pending.reportable_periods(
            s, catalog["beto"], at(2023, 4, 3), CAL)] == ["2023-03", "2023-02"]

        # Closing March for 305 leaves it open for Ana through 303 only.
        locks.close(s, MARCH, "305", person_id=catalog["gerente"], now=at(2023, 4, 3))
        assert [p.code for p in pending.reportable_periods(
            s, catalog["beto"], at(2023, 4, 3), CAL)] == ["2023-02"]
        assert "2023-03" in [p.code for p in pending.reportable_periods(
            s, ana, at(2023, 4, 3), CAL)]


def test_pending_by_unit_lists_missing_and_responsible(db, catalog):
    with db.session() as s:
        from storage.models import Indicator
        report(s, s.get(Indicator, catalog["ind"]["contratos"]), MARCH)
        result = pending.pending_by_unit(s, MARCH)
        assert list(result) == ["303", "306"]
        assert result["303"].nombre == "Facturación"
        assert names(result["303"].indicators) == ["Facturas", "Recibos"]
        assert result["303"].responsible == ["Ana"]
        assert result["306"].responsible == []  # nobody registered for 306
        assert list(pending.pending_by_unit(s, Q1)) == ["303"]


def test_pending_for_coordinators_in_bulk(db, catalog):
    with db.session() as s:
        result = pending.pending_for_coordinators(s, MARCH, at(2023, 4, 3), CAL)
        assert set(result) == {catalog["ana"], catalog["beto"]}  # not the inactive one
        assert result[catalog["ana"]].unit_claves == ("303", "305")
        assert result[catalog["ana"]].count == 3
        assert result[catalog["beto"]].count == 1
        locks.close(s, MARCH, "305", person_id=None, now=at(2023, 4, 3))
        result = pending.pending_for_coordinators(s, MARCH, at(2023, 4, 3), CAL)
        assert set(result) == {catalog["ana"]}
        assert result[catalog["ana"]].count == 2
        assert pending.pending_for_coordinators(s, MARCH, at(2023, 4, 6), CAL) == {}
