"""The POA export follows the ficha: each row of an indicator with a ficha técnica or a
calendar shows the period's programmed meta (reported or not), its AVANCE %/ META ANUAL is
the ficha's accumulation against Σ of the year's programmed metas, and its AVANCE cell has
the ficha's light at the boundaries of a descendente, a regular with custom ranges and a
seasonal indicator. Re-importing such an export changes nothing; default indicators keep
their figures."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal as D

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from bot.domain.attainment import Status
from bot.domain.periods import period_from_code
from bot.poa_report.reader import read_report
from bot.poa_report.writer import STATUS_FILLS
from bot.poa_report.xlsx import write_report, xlsx_bytes
from bot.services.export import build_report
from bot.services.importer import import_report
from storage.models import Indicator, ProgrammedMeta, ReportedValue
from tests.test_export_writer import _avance_fills
from tests.test_fichas_summary import AFTER_Q1, DESCENDING, REGULAR, SEASONAL, judged  # noqa: F401
from tests.test_summary import Catalog

JULY = date(2023, 7, 10)  # the second quarter is due


def _lines(document) -> dict[tuple[str, str], object]:
    """(indicator name, section label) → report line."""
    return {(line.nombre, section.period_label): line
            for section in document.sections for line in section.lines}


def _fills(document) -> dict[tuple[str, str], str | None]:
    sheet = load_workbook(io.BytesIO(xlsx_bytes(document))).active
    return {(name, label): color for name, label, _value, color in _avance_fills(sheet)}


def test_export_lights_follow_the_ficha_at_the_boundaries(db, judged):  # noqa: F811
    march = db.call(build_report, period_from_code("2023-03"), today=AFTER_Q1)
    lines, fills = _lines(march), _fills(march)
    for name, value, expected in DESCENDING + REGULAR:
        line = lines[(name, "mar-23")]
        assert line.status == expected, name
        assert fills[(name, "mar-23")] == STATUS_FILLS[expected], name
        assert line.value == D(value) and line.meta == D(100), name
    # Seasonal: January programmed at 400, so 320 is exactly 80 % (yellow) and 319 red.
    january = db.call(build_report, period_from_code("2023-01"), today=AFTER_Q1)
    lines, fills = _lines(january), _fills(january)
    for name, values, _quarter_state in SEASONAL:
        expected = {320: Status.CLOSE, 319: Status.BEHIND, 400: Status.ON_TARGET}[values[0]]
        assert lines[(name, "ene-23")].status == expected, name
        assert fills[(name, "ene-23")] == STATUS_FILLS[expected], name
        assert lines[(name, "ene-23")].meta == D(400), name  # the calendar's, not 100


def test_export_avance_uses_the_fichas_annual_meta_and_defaults_stay(db, judged):  # noqa: F811
    quarter = db.call(build_report, period_from_code("2023-Q1"), today=AFTER_Q1)
    lines = _lines(quarter)
    seasonal = lines[("SEAS 900", "mar-23")]
    # Σ of Q1's values (900) of Σ of the year's programmed metas (400+400+100 + 9×100).
    assert seasonal.cumulative == D(50)
    assert seasonal.meta == D(100)
    assert lines[("SEAS 900", "ene-23")].cumulative == D(400) * 100 / D(1800)
    # Without a ficha nothing moves: 270 of 100 × 12.
    assert lines[("PLAIN", "mar-23")].cumulative == D("22.5")
    assert lines[("PLAIN", "mar-23")].status == Status.CLOSE


@pytest.fixture
def seasonal_q2(db):
    """Unit 910: SEASONAL programmed at 0, 50 and 300 for April–June (100 otherwise), its
    values reported against ``Indicator.meta`` as the bot stores them; PLAIN has no ficha."""
    with db.session() as s:
        c = Catalog(s)
        seasonal = c.indicator("910", "SEASONAL", 100, position=1)
        for code, meta in (("2023-04", 0), ("2023-05", 50), ("2023-06", 300)):
            s.add(ProgrammedMeta(indicator_id=seasonal.id, period=code, meta=D(meta)))
        for code in ("2023-01", "2023-02", "2023-03"):
            c.value(seasonal, code, 100)
        c.value(seasonal, "2023-04", 0)  # meta stored: 100 (the indicator's)
        plain = c.indicator("910", "PLAIN", 100, position=2)
        c.value(plain, "2023-04", 90)
        s.flush()
        return seasonal.id, plain.id


def test_unreported_rows_show_the_programmed_meta(db, seasonal_q2):
    document = db.call(build_report, period_from_code("2023-Q2"), today=JULY)
    lines = _lines(document)
    assert [lines[("SEASONAL", label)].meta for label in ("abr-23", "may-23", "jun-23")] == [
        D(0), D(50), D(300)]
    assert [lines[("SEASONAL", label)].status for label in ("abr-23", "may-23", "jun-23")] == [
        Status.ON_TARGET, Status.MISSING, Status.MISSING]  # 0 against 0 is met
    # 300 of 1,250 (300 + 0 + 50 + 300 + 6 × 100), not 300 of 100 × 12.
    assert lines[("SEASONAL", "jun-23")].cumulative == D(300) * 100 / D(1250)
    # No calendar, no ficha: the indicator's meta as before.
    assert [lines[("PLAIN", label)].meta for label in ("abr-23", "may-23", "jun-23")] == [
        D(100)] * 3
    assert lines[("PLAIN", "jun-23")].cumulative == D(90) * 100 / D(1200)


def _stored(db):
    with db.session() as s:
        return (sorted((v.indicator_id, v.period, v.value, v.meta, v.observaciones)
                       for v in s.exec(select(ReportedValue))),
                sorted((i.id, i.meta) for i in s.exec(select(Indicator))))


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_reimporting_an_export_with_calendars_changes_nothing(db, seasonal_q2, judged,  # noqa: F811
                                                              tmp_path, suffix):
    before = _stored(db)
    for code, today in (("2023-Q2", JULY), ("2023-Q1", AFTER_Q1)):
        out = tmp_path / f"{code}{suffix}"
        write_report(db.call(build_report, period_from_code(code), today=today), out)
        result = db.call(import_report, read_report(out))
        assert (result.values_new, result.values_changed, result.values_kept,
                result.indicators_updated, result.remarks_new) == (0, 0, 0, 0, 0), code
        assert result.values_unchanged > 0 and not result.warnings, code
    # The June row's META is 300 (its calendar), yet the indicator's meta stays 100.
    assert _stored(db) == before
