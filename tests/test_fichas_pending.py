"""Reminders, /pendientes and completeness with fichas. Decision (README, Fichas técnicas):
a period whose programmed meta is 0 (a seasonal indicator with nothing programmed that
month) is still due: it is asked for, reminded and counted in completeness like any other,
and a report of 0 meets it. Also: a line judged by its ficha keeps the late / imported /
overdue detail timeliness needs."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal as D
from zoneinfo import ZoneInfo

from bot.domain.attainment import Status
from bot.domain.calendar import ReportingCalendar
from bot.domain.periods import Period
from bot.services import pending
from bot.services.summary import build_summary
from storage.models import Ficha, ProgrammedMeta
from tests.reminders_data import add_indicator, add_person, add_unit, report

TZ = ZoneInfo("America/Matamoros")
CAL = ReportingCalendar(timezone=TZ)
MARCH = Period.month(2023, 3)
APRIL_3 = datetime(2023, 4, 3, 10, 0, tzinfo=TZ)
APRIL_10 = date(2023, 4, 10)


def _seasonal(db):
    """340: CAMPAÑA programmed at 0 for March (a descendente ficha), BASE without ficha;
    Ana answers for 340."""
    with db.session() as s:
        unit = add_unit(s, "340")
        campana = add_indicator(s, unit, "Campaña", position=1)
        base = add_indicator(s, unit, "Base", position=2)
        s.add(ProgrammedMeta(indicator_id=campana.id, period=MARCH.code, meta=D(0)))
        s.add(Ficha(indicator_id=campana.id, sentido="descendente", acumulacion="suma",
                    medio_verificacion="", evidencia_obligatoria=False, verde_min=D(100),
                    amarillo_min=D(80), updated_at=APRIL_3))
        ana = add_person(s, "Ana", units=(unit,), user_id=11)
        return campana.id, base.id, ana.id


def test_a_period_programmed_at_zero_is_still_due(db):
    campana, base, ana = _seasonal(db)
    with db.session() as s:
        assert [i.id for i in pending.pending_indicators(s, ana, MARCH)] == [campana, base]
        reminders = pending.pending_for_coordinators(s, MARCH, APRIL_3, CAL)
        assert reminders[ana].count == 2
        assert [i.id for i in pending.pending_by_unit(s, MARCH)["340"].indicators] == [
            campana, base]
    summary = db.call(build_summary, MARCH, today=APRIL_10)
    line = {line.indicator_id: line for line in summary.lines}[campana]
    assert line.meta == D(0) and line.due and line.status is Status.MISSING
    assert line.missing_periods == (MARCH.code,)
    assert (summary.completeness.indicators_reported, summary.completeness.indicators_due) == (
        0, 2)


def test_reporting_zero_against_zero_meets_it_and_completes(db):
    campana, base, ana = _seasonal(db)
    with db.session() as s:
        from storage.models import Indicator

        report(s, s.get(Indicator, campana), MARCH, D(0))
        report(s, s.get(Indicator, base), MARCH, D(10))
        assert pending.pending_indicators(s, ana, MARCH) == []
        assert pending.pending_for_coordinators(s, MARCH, APRIL_3, CAL) == {}
    summary = db.call(build_summary, MARCH, today=APRIL_10)
    lines = {line.indicator_id: line for line in summary.lines}
    assert lines[campana].status is Status.ON_TARGET  # descendente: only 0 meets meta 0
    assert lines[base].status is Status.ON_TARGET
    assert summary.completeness.indicators_ratio == 1  # a ratio: every due line reported
    assert summary.completeness.units_ratio == 1


def test_a_ficha_line_keeps_late_imported_and_overdue_periods(db):
    campana, base, _ana = _seasonal(db)
    with db.session() as s:
        from storage.models import Indicator

        row = report(s, s.get(Indicator, campana), MARCH, D(0))
        row.source = "import"
        s.add(row)
    # 10 April: March's deadline (5 April) has passed; BASE is still unreported.
    summary = db.call(build_summary, MARCH, today=APRIL_10)
    lines = {line.indicator_id: line for line in summary.lines}
    assert lines[campana].imported_periods == (MARCH.code,)
    assert lines[base].overdue_periods == (MARCH.code,)
    # The imported value has no timeliness: neither on time nor late.
    assert (summary.timeliness.on_time, summary.timeliness.imported,
            summary.timeliness.due) == (0, 1, 2)
