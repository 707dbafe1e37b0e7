"""build_summary on a real database (SQLite, and PostgreSQL when POA_TEST_DATABASE_URL is set).

Rows are created directly so these tests do not depend on the importer.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from sqlalchemy import event

from bot.domain.attainment import Bands, Status
from bot.domain.numbers import round_display
from bot.domain.periods import Frequency, period_from_code
from bot.services.summary import build_summary
from storage.models import Indicator, Person, PersonUnit, ReportedValue, Unit

NOW = datetime(2023, 4, 10, 15, 0, tzinfo=UTC)
AFTER_Q1 = date(2023, 4, 10)  # March and Q1 are due and past their deadline (5 April)


class Catalog:
    """Small builder of units, indicators, values and coordinadores."""

    def __init__(self, session):
        self.session = session
        self.units: dict[str, Unit] = {}

    def unit(self, clave: str, nombre: str = "") -> Unit:
        if clave not in self.units:
            unit = Unit(clave=clave, nombre=nombre or f"COORDINACION {clave}")
            self.session.add(unit)
            self.session.flush()
            self.units[clave] = unit
        return self.units[clave]

    def indicator(self, clave: str, nombre: str, meta, frecuencia=Frequency.MONTHLY,
                  aggregation="sum", position=0, year=2023, unidad="PIEZAS") -> Indicator:
        indicator = Indicator(year=year, unit_id=self.unit(clave).id, accion=f"ACCION {nombre}",
                              nombre=nombre, meta=D(meta), unidad_medida=unidad,
                              frecuencia=frecuencia.value, aggregation=aggregation,
                              position=position)
        self.session.add(indicator)
        self.session.flush()
        return indicator

    def value(self, indicator: Indicator, code: str, value, meta=None, late=False,
              observaciones="") -> ReportedValue:
        period = period_from_code(code)
        row = ReportedValue(indicator_id=indicator.id, period=code, year=period.year,
                            period_start=period.start, period_end=period.end,
                            value=D(value), meta=D(meta if meta is not None else indicator.meta),
                            observaciones=observaciones, reported_at=NOW, source="cli",
                            late=late)
        self.session.add(row)
        self.session.flush()
        return row

    def coordinador(self, name: str, *claves: str, active=True) -> Person:
        person = Person(name=name, role="coordinador", active=active, created_at=NOW)
        self.session.add(person)
        self.session.flush()
        for clave in claves:
            self.session.add(PersonUnit(person_id=person.id, unit_id=self.unit(clave).id))
        self.session.flush()
        return person


def _summary(db, code, **kwargs):
    kwargs.setdefault("today", AFTER_Q1)
    return db.call(build_summary, period_from_code(code), **kwargs)


def _line(summary, nombre):
    (line,) = [line for line in summary.lines if line.nombre == nombre]
    return line


def test_monthly_indicator_in_its_month(db):
    with db.session() as s:
        c = Catalog(s)
        ind = c.indicator("306", "SUSPENSION", 1100)
        for code, value in (("2023-01", 770), ("2023-02", 812), ("2023-03", 1064)):
            c.value(ind, code, value, observaciones=f"obs {code}")
        c.coordinador("Ana", "306")
    summary = _summary(db, "2023-03")
    line = _line(summary, "SUSPENSION")
    assert line.period == "2023-03"
    assert (line.meta, line.value) == (D(1100), D(1064))
    assert line.attainment == D(1064) * 100 / D(1100)
    assert line.cumulative == D(2646) * 100 / D(13200)
    assert round_display(line.cumulative) == D("20.05")
    assert line.expected == D(25)
    assert line.annual_target == D(13200)
    assert line.status is Status.CLOSE  # 96.7 %
    assert line.observaciones == "obs 2023-03"
    assert line.due and line.reported and not line.late
    assert summary.units[0].responsible == ["Ana"]
    assert summary.completeness.indicators_ratio == D(1)
    assert summary.timeliness.ratio == D(1)


def test_quarter_sums_the_months_and_their_metas(db):
    with db.session() as s:
        c = Catalog(s)
        ind = c.indicator("305", "CONTRATOS AGUA", 30)
        c.value(ind, "2023-01", 45)
        c.value(ind, "2023-02", 43, meta=20)  # the meta it was reported against
        c.value(ind, "2023-03", 31)
    line = _line(_summary(db, "2023-Q1"), "CONTRATOS AGUA")
    assert line.period == "2023-Q1"
    assert line.value == D(119)
    assert line.meta == D(80)
    assert line.attainment == D(119) * 100 / D(80)
    # annual target: the meta in force for the asked period (March's) × 12
    assert line.cumulative == D(119) * 100 / D(360)
    assert line.status is Status.ABOVE


def test_half_and_year_aggregate_quarterly_indicators(db):
    with db.session() as s:
        c = Catalog(s)
        ind = c.indicator("307", "INSTALACION", 750, Frequency.QUARTERLY)
        c.value(ind, "2023-Q1", 773)
        c.value(ind, "2023-Q2", 600)
    half = _line(_summary(db, "2023-S1", today=date(2023, 7, 20)), "INSTALACION")
    assert (half.period, half.value, half.meta) == ("2023-S1", D(1373), D(1500))
    assert half.cumulative == D(1373) * 100 / D(3000)
    assert half.expected == D(50)
    # the year asked in August: Q3 not yet due, so the meta is "to date" (Q1+Q2)
    year = _summary(db, "2023", today=date(2023, 8, 1))
    line = _line(year, "INSTALACION")
    assert (line.period, line.value, line.meta) == ("2023", D(1373), D(1500))
    assert line.due_periods == ("2023-Q1", "2023-Q2")
    assert line.status is Status.CLOSE
    assert line.expected == D(100)
    # once the year is over the missing quarters show
    late_year = _line(_summary(db, "2023", today=date(2024, 2, 1)), "INSTALACION")
    assert late_year.meta == D(3000)
    assert late_year.missing_periods == ("2023-Q3", "2023-Q4")
    assert late_year.status is Status.MISSING and late_year.late


def test_longer_indicator_periods_show_their_own_period_in_a_month(db):
    with db.session() as s:
        c = Catalog(s)
        quarterly = c.indicator("300", "CUMPLIMIENTO", 8, Frequency.QUARTERLY, position=0)
        semi = c.indicator("300", "PROCESOS HOMOLOGADOS", 1, Frequency.SEMIANNUAL, position=1)
        c.indicator("300", "SIN REPORTE SEMESTRAL", 1, Frequency.SEMIANNUAL, position=2)
        c.value(quarterly, "2023-Q1", 8)
        c.value(semi, "2023-S1", 1)
    summary = _summary(db, "2023-03")
    q = _line(summary, "CUMPLIMIENTO")
    assert (q.period, q.value, q.due, q.status) == ("2023-Q1", D(8), True, Status.ON_TARGET)
    assert q.cumulative == D(25)
    s1 = _line(summary, "PROCESOS HOMOLOGADOS")
    assert (s1.period, s1.value, s1.due) == ("2023-S1", D(1), False)
    assert s1.cumulative == D(50)  # the S1 value counts once reported
    assert s1.status is Status.ON_TARGET
    pending = _line(summary, "SIN REPORTE SEMESTRAL")
    assert (pending.value, pending.status, pending.due) == (None, Status.NOT_DUE, False)
    assert pending.cumulative == D(0)
    # February: Q1 has not ended, the quarterly indicator is not due
    february = _line(_summary(db, "2023-02"), "CUMPLIMIENTO")
    assert february.period == "2023-Q1" and not february.due
    assert [u.clave for u in summary.units] == ["300"]
    assert [line.nombre for line in summary.units[0].lines] == [
        "CUMPLIMIENTO", "PROCESOS HOMOLOGADOS", "SIN REPORTE SEMESTRAL"]
    assert summary.completeness.indicators_due == 1


def test_percentage_indicator_uses_its_last_value(db):
    with db.session() as s:
        c = Catalog(s)
        share = c.indicator("306", "INSPECCION", "8.33", aggregation="last", unidad="%")
        rate = c.indicator("306", "TASA", 95, aggregation="last", unidad="%", position=1)
        for code, value in (("2023-01", "8.33"), ("2023-02", "16.66"), ("2023-03", "25")):
            c.value(share, code, value)
        c.value(rate, "2023-01", 96)
        c.value(rate, "2023-02", 90)
    summary = _summary(db, "2023-03")
    line = _line(summary, "INSPECCION")
    assert line.cumulative == D(25)
    assert line.meta == D("8.33")
    assert round_display(line.attainment) == D("100.04")
    assert line.annual_target is None
    quarter = _line(_summary(db, "2023-Q1"), "INSPECCION")
    assert quarter.value == D(25) and quarter.cumulative == D(25)
    tasa = _line(summary, "TASA")
    assert tasa.value is None and tasa.status is Status.MISSING
    assert tasa.cumulative == D(90)  # the latest value of the year so far
    february = _line(_summary(db, "2023-02"), "TASA")
    assert february.attainment == D(90) * 100 / D(95)
    assert february.status is Status.CLOSE


def test_missing_late_and_responsible(db):
    with db.session() as s:
        c = Catalog(s)
        a = c.indicator("303", "RECIBOS", 100)
        c.indicator("303", "LECTURAS", 100, position=1)
        other = c.indicator("308", "SOLUCIONES", 7000)
        c.value(a, "2023-03", 100, late=True)
        c.value(other, "2023-01", 11052)
        c.coordinador("Beto", "303", "308")
        c.coordinador("Carla", "308")
        c.coordinador("Inactivo", "308", active=False)
        s.add(Person(name="Gerente", role="gerente", created_at=NOW))
    summary = _summary(db, "2023-03")
    assert [m.indicador for m in summary.missing] == ["LECTURAS", "SOLUCIONES"]
    lecturas, soluciones = summary.missing
    assert lecturas.responsible == ("Beto",) and lecturas.periods == ("2023-03",)
    assert soluciones.responsible == ("Beto", "Carla") and soluciones.overdue
    assert _line(summary, "RECIBOS").late and _line(summary, "RECIBOS").reported
    assert _line(summary, "SOLUCIONES").cumulative == D(11052) * 100 / D(84000)
    unit303, unit308 = summary.units
    assert not unit303.all_reported and unit303.late
    assert unit308.responsible == ["Beto", "Carla"] and not unit308.all_reported
    assert summary.completeness.units_reported == 0 and summary.completeness.units_due == 2
    assert (summary.completeness.indicators_reported, summary.completeness.indicators_due) \
        == (1, 3)
    assert (summary.timeliness.on_time, summary.timeliness.due, summary.timeliness.late) \
        == (0, 3, 3)
    assert summary.status_counts[Status.MISSING] == 2
    assert summary.status_counts[Status.ON_TARGET] == 1
    assert sum(summary.status_counts.values()) == 3
    # before the deadline a missing value is missing but not yet late
    early = _summary(db, "2023-03", today=date(2023, 4, 3))
    assert not _line(early, "LECTURAS").late
    assert early.timeliness.late == 1  # only the value that arrived late
    # during the month nothing is due yet
    during = _summary(db, "2023-03", today=date(2023, 3, 20))
    assert _line(during, "LECTURAS").status is Status.NOT_DUE
    assert during.completeness.indicators_ratio is None


def test_unit_filter_bands_and_zero_meta(db):
    with db.session() as s:
        c = Catalog(s)
        c.value(c.indicator("303", "RECIBOS", 100), "2023-03", 85)
        c.value(c.indicator("304", "CORTES", 0), "2023-03", 3)
        c.value(c.indicator("305", "OTRO AÑO", 10, year=2024), "2024-03", 3)
    only = _summary(db, "2023-03", unit_clave="303")
    assert [u.clave for u in only.units] == ["303"]
    assert _line(only, "RECIBOS").status is Status.CLOSE
    strict = _summary(db, "2023-03", unit_clave="303", bands=Bands(green=D(100), yellow=D(90)))
    assert _line(strict, "RECIBOS").status is Status.BEHIND
    zero = _line(_summary(db, "2023-03"), "CORTES")
    assert zero.attainment is None and zero.cumulative is None and zero.status is Status.ABOVE
    assert _summary(db, "2023-03", unit_clave="999").is_empty
    assert [line.nombre for line in _summary(db, "2024-03").lines] == ["OTRO AÑO"]


def test_year_sum_is_exact_in_sql(db):
    with db.session() as s:
        c = Catalog(s)
        ind = c.indicator("303", "DECIMALES", "0.1")
        for month in range(1, 13):
            c.value(ind, f"2023-{month:02d}", "0.1")
    line = _line(_summary(db, "2023-12", today=date(2024, 1, 10)), "DECIMALES")
    assert line.cumulative == D(100)  # 12 × 0.1 = 1.2 exactly, not 1.2000000000000002
    assert line.attainment == D(100)


def _count_statements(db, fn):
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return len(statements)


def _catalog_of(db, units: int, per_unit: int, first_clave: int):
    with db.session() as s:
        c = Catalog(s)
        for u in range(units):
            clave = str(first_clave + u)
            c.coordinador(f"Coord {clave}", clave)
            for i in range(per_unit):
                aggregation = "last" if i % 5 == 4 else "sum"
                frequency = Frequency.QUARTERLY if i % 3 == 2 else Frequency.MONTHLY
                ind = c.indicator(clave, f"IND {i}", 10, frequency, aggregation, position=i)
                codes = ["2023-Q1"] if frequency is Frequency.QUARTERLY else [
                    "2023-01", "2023-02", "2023-03"]
                for code in codes[: 1 + i % len(codes)]:
                    c.value(ind, code, i)


@pytest.mark.parametrize("code", ["2023-03", "2023-Q1", "2023"])
def test_statement_count_does_not_grow_with_the_catalog(db, database_url, code):
    from storage.db import Database

    _catalog_of(db, units=2, per_unit=5, first_clave=400)
    small = _count_statements(db, lambda: _summary(db, code))
    big_db = Database(database_url)
    try:
        _catalog_of(big_db, units=10, per_unit=19, first_clave=500)  # 190 more: 200 in all
        lines = len(list(_summary(big_db, code).lines))
        big = _count_statements(big_db, lambda: _summary(big_db, code))
    finally:
        big_db.dispose()
    assert lines == 200
    assert small == big
    assert big <= 6
