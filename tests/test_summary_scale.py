"""What makes /resumen fast on a state-wide catalog keeps its results.

* ``build_summary`` aggregates each line's values in SQL (sums, a mask of the periods
  reported, the latest value and remark read back by code); these cases pin the rules the
  per-value computation had: values of another kind of period are not the line's, the
  remark is the latest non-empty one, a 'last' indicator takes its latest period.
* The chat writes only the overview page shown: :class:`Overview` plans the pages over
  measured widths, which must equal the printed figures so its pages are exactly those of
  :func:`overview_pages`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.numbers import format_number, format_percent
from bot.domain.periods import Frequency, period_from_code
from bot.services.summary import build_summary
from bot.services.summary_pages import Overview, figure_width, overview_pages
from tests.test_summary import AFTER_Q1, Catalog


def _line(db, code, nombre, today=AFTER_Q1):
    summary = db.call(build_summary, period_from_code(code), today=today)
    (line,) = [line for line in summary.lines if line.nombre == nombre]
    return line


def test_a_value_of_another_kind_of_period_is_not_the_lines(db):
    with db.session() as s:
        c = Catalog(s)
        quarterly = c.indicator("300", "TRIMESTRAL", 10, Frequency.QUARTERLY)
        c.value(quarterly, "2023-02", 99)  # a monthly code on a quarterly indicator
        c.value(quarterly, "2023-Q1", 7, meta=8, observaciones="Q1")
    line = _line(db, "2023-Q1", "TRIMESTRAL")
    assert (line.value, line.meta, line.observaciones) == (D(7), D(8), "Q1")
    assert line.reported and not line.missing_periods


def test_year_lines_take_metas_remarks_and_lateness_period_by_period(db):
    with db.session() as s:
        c = Catalog(s)
        counts = c.indicator("300", "CONTEOS", 10)
        c.value(counts, "2023-01", 5, meta=20, observaciones="enero")
        c.value(counts, "2023-02", 6, late=True, observaciones="febrero")
        c.value(counts, "2023-04", 8, meta=30)  # no remark: February's is the latest
        share = c.indicator("300", "PORCENTAJE", "8.33", aggregation="last", unidad="%",
                            position=1)
        c.value(share, "2023-01", "8.33")
        c.value(share, "2023-03", "25", meta="8.4")
    line = _line(db, "2023", "CONTEOS", today=date(2023, 5, 20))
    assert line.value == D(19)
    assert line.meta == D(20) + D(10) + D(10) + D(30)  # March missing: the indicator's meta
    assert line.missing_periods == ("2023-03",)
    assert line.observaciones == "febrero" and line.late
    assert line.annual_target == D(120)  # December, unreported: the indicator's meta × 12
    percent = _line(db, "2023", "PORCENTAJE", today=date(2023, 5, 20))
    assert percent.value == D(25) and percent.cumulative == D(25)
    assert percent.meta == D("8.33")  # the last period due (April) has no value
    assert percent.attainment == D(25) * 100 / (D("8.4") * 3)  # March's meta, 3 months
    assert percent.missing_periods == ("2023-02", "2023-04")


def test_nothing_due_nor_reported_counts_every_period(db):
    with db.session() as s:
        Catalog(s).indicator("300", "NUEVO", 10)
    line = _line(db, "2023-Q2", "NUEVO", today=date(2023, 4, 2))
    assert (line.meta, line.value, line.due) == (D(30), None, False)


@given(st.decimals(min_value=D("-1e15"), max_value=D("1e15"), allow_nan=False,
                   allow_infinity=False).filter(lambda v: v.as_tuple().exponent > -12))
def test_figure_width_is_the_printed_length(value):
    assert figure_width(value) == len(format_number(value))
    assert figure_width(value, 2) + 1 == len(format_percent(value))


async def test_the_overview_written_page_by_page_is_the_full_one(db, seed_tsv):
    from bot.poa_report.reader import read_report
    from bot.services.importer import import_report

    db.call(import_report, read_report(seed_tsv))
    summary = db.call(build_summary, period_from_code("2023-03"), today=date(2023, 4, 12))
    many = replace(summary, units=summary.units * 4)
    for limit in (600, 1500, 3900):  # small pages split units between indicators
        full = overview_pages(many, scope="unidad 303", limit=limit)
        lazy = Overview(many, scope="unidad 303", limit=limit)
        assert len(lazy) == len(full) > 1
        for number in (len(full) - 1, 0, *range(len(full))):  # any order
            assert lazy[number] == full[number]
