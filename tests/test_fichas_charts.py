"""/grafica with fichas: a unit is banded against its own lines' expected progress (a
seasonal calendar expects more by March than months ÷ 12), not the summary-wide one."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from bot.domain.attainment import Status
from bot.domain.periods import period_from_code
from bot.services.charts import progress_figure, render_progress_chart, unit_progress
from bot.services.summary import build_summary
from storage.models import ProgrammedMeta
from tests.test_summary import Catalog

AFTER_Q1 = date(2023, 4, 10)


def _catalog(db):
    """930: seasonal, 400 + 400 + 100 programmed for Q1 (1,800 a year), met exactly;
    931: no ficha, 100 a month, met exactly."""
    with db.session() as s:
        c = Catalog(s)
        seasonal = c.indicator("930", "SEASONAL", 100, position=1)
        for month, meta in ((1, 400), (2, 400), (3, 100)):
            code = f"2023-0{month}"
            s.add(ProgrammedMeta(indicator_id=seasonal.id, period=code, meta=D(meta)))
            c.value(seasonal, code, meta)
        plain = c.indicator("931", "PLAIN", 100, position=1)
        for month in (1, 2, 3):
            c.value(plain, f"2023-0{month}", 100)


def test_units_are_banded_against_their_own_expected_progress(db):
    _catalog(db)
    summary = db.call(build_summary, period_from_code("2023-03"), today=AFTER_Q1)
    assert summary.expected == D(25)
    progress = {p.clave: p for p in unit_progress(summary)}
    seasonal, plain = progress["930"], progress["931"]
    # 900 of 1,800 is 50 %, exactly what its calendar expects by March: on target, not
    # "above" against the summary's 25 %.
    assert (seasonal.cumulative, seasonal.expected, seasonal.status) == (
        D(50), D(50), Status.ON_TARGET)
    assert (plain.cumulative, plain.expected, plain.status) == (D(25), D(25), Status.ON_TARGET)

    figure = progress_figure(summary)
    (axes,) = figure.axes
    ticks = {line.get_gid(): line.get_xdata()[0] for line in axes.lines
             if (line.get_gid() or "").startswith("expected-")}
    assert ticks == {"expected-0": 50.0}  # only the seasonal unit (first bar) gets its tick
    bars = [patch for patch in axes.patches]
    assert len(bars) == 2
    assert render_progress_chart(summary).startswith(b"\x89PNG")
