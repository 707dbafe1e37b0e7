"""The /grafica charts: each unit's progress, one unit's indicators, one indicator's year."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from matplotlib.colors import to_hex
from PIL import Image
from sqlmodel import select

from bot.domain.attainment import Status
from bot.domain.periods import Period
from bot.poa_report.reader import read_report
from bot.services.charts import (
    ATTAINMENT_CAP,
    COLORS,
    NOT_REPORTED_FACE,
    NOT_REPORTED_HATCH,
    NOT_REPORTED_LABEL,
    STATUS_LABELS,
    WIDTH_PX,
    render_indicator_trend,
    render_progress_chart,
    render_unit_charts,
    short_name,
    trend_figure,
    unit_figure,
    unit_progress,
)
from bot.services.importer import import_report
from bot.services.summary import build_summary
from bot.services.trend import indicator_trend
from storage.models import Indicator, ReportedValue

TODAY = date(2023, 4, 12)


@pytest.fixture
def march(db, seed_tsv):
    db.call(import_report, read_report(seed_tsv))
    return db.call(build_summary, Period.month(2023, 3), today=TODAY)


def test_unit_progress_is_the_mean_of_the_summary_figures(march):
    progress = {p.clave: p for p in unit_progress(march)}
    assert set(progress) == {unit.clave for unit in march.units}
    for unit in march.units:
        figures = [line.cumulative for line in unit.lines if line.cumulative is not None]
        item = progress[unit.clave]
        assert item.indicators == len(figures)
        assert item.cumulative == sum(figures, Decimal(0)) / len(figures)
        relative = item.cumulative / march.expected * 100
        if relative > 100:
            assert item.status is Status.ABOVE
        elif relative < march.bands.yellow:
            assert item.status is Status.BEHIND
    statuses = {p.status for p in progress.values()}
    assert Status.ABOVE in statuses and Status.BEHIND in statuses  # the seed has both


def test_png_is_phone_sized_and_grows_with_units(march):
    png = render_progress_chart(march)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.load()
    width, height = image.size
    assert width == WIDTH_PX
    assert height > 0.9 * width  # nine units: taller than wide, bars ~80 px each
    # Not blank: the bars' colours are there.
    colors = {color for _count, color in image.convert("RGB").getcolors(1 << 20)}
    assert (0x2F, 0x6F, 0xBF) in colors and (0xCC, 0x3B, 0x33) in colors

    fewer = march.__class__(**{**march.__dict__, "units": march.units[:2]})
    small = Image.open(io.BytesIO(render_progress_chart(fewer)))
    assert small.size[0] == WIDTH_PX and small.size[1] < height


def test_empty_summary_still_draws(db):
    summary = db.call(build_summary, Period.month(2023, 3), today=TODAY)
    image = Image.open(io.BytesIO(render_progress_chart(summary)))
    assert image.size[0] == WIDTH_PX


def test_short_names_drop_the_coordinacion_prefix():
    assert short_name("303", "COORDINACION DE FACTURACION") == "303 · FACTURACION"
    assert short_name("309", "COORDINACIÓN DE RECUPERACIÓN DE REZAGOS").count("\n") == 1
    assert short_name("300", "GERENTE COMERCIAL").startswith("300 · GERENTE")


# --- one unit's indicators and one indicator's year -----------------------------------------

JUNE = date(2023, 6, 12)  # April and May are due and were not reported


def _bars(axes):
    """gid -> Rectangle of the bars drawn for the data (not the legend's patches)."""
    return {patch.get_gid(): patch for patch in axes.patches if patch.get_gid()}


def _legend_labels(figure):
    return [text.get_text() for legend in figure.legends for text in legend.get_texts()]


def test_unit_chart_colours_each_indicator_by_its_light(db, seed_tsv):
    db.call(import_report, read_report(seed_tsv))
    summary = db.call(build_summary, Period.month(2023, 3), unit_clave="303", today=TODAY)
    figure = unit_figure(summary)
    bars = _bars(figure.axes[0])
    lines = summary.units[0].lines
    assert len(bars) == len(lines)
    for y, line in enumerate(lines):
        bar = bars[f"line-{y}"]
        assert to_hex(bar.get_facecolor()) == COLORS[line.status]
        assert bar.get_width() == pytest.approx(float(min(line.attainment, ATTAINMENT_CAP)))
        assert not bar.get_hatch()
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert labels[0].startswith("1. RECIBOS") and len(labels) == len(lines)
    legend = _legend_labels(figure)
    assert legend == [text for _s, text in STATUS_LABELS] + [NOT_REPORTED_LABEL]
    png = render_unit_charts(summary)
    assert len(png) == 1 and Image.open(io.BytesIO(png[0])).size[0] == WIDTH_PX


def test_unit_chart_draws_not_reported_hatched_grey_never_as_zero(db, seed_tsv):
    db.call(import_report, read_report(seed_tsv))
    summary = db.call(build_summary, Period.month(2023, 5), unit_clave="303", today=JUNE)
    lines = summary.units[0].lines
    assert {line.status for line in lines} == {Status.MISSING}
    axes = unit_figure(summary).axes[0]
    bars = _bars(axes)
    assert len(bars) == len(lines)
    for bar in bars.values():
        assert bar.get_hatch() == NOT_REPORTED_HATCH
        assert to_hex(bar.get_facecolor()) == NOT_REPORTED_FACE
        assert bar.get_width() == pytest.approx(axes.get_xlim()[1])  # the whole row, not 0
    assert [t.get_text() for t in axes.texts].count("sin reportar") == len(lines)
    assert not any(t.get_text() == "0.00%" for t in axes.texts)


def _with_last_year(session) -> int:
    """A 2022 twin of RECIBOS ENTREGADOS A DOMICILIO, reported every month."""
    indicator = session.exec(select(Indicator).where(
        Indicator.nombre == "RECIBOS ENTREGADOS A DOMICILIO")).one()
    old = Indicator(year=2022, unit_id=indicator.unit_id, accion=indicator.accion,
                    nombre=indicator.nombre, meta=indicator.meta,
                    unidad_medida=indicator.unidad_medida, frecuencia=indicator.frecuencia,
                    aggregation=indicator.aggregation)
    session.add(old)
    session.flush()
    for month in range(1, 13):
        period = Period.month(2022, month)
        session.add(ReportedValue(
            indicator_id=old.id, period=period.code, year=2022, period_start=period.start,
            period_end=period.end, value=Decimal(240_000 + 1_500 * month), meta=old.meta,
            reported_at=datetime(2023, 1, 2, tzinfo=UTC), source="cli"))
    return indicator.id


def test_indicator_trend_has_the_meta_line_last_year_and_hatched_missing_months(db, seed_tsv):
    db.call(import_report, read_report(seed_tsv))
    indicator_id = db.call(_with_last_year)
    trend = db.call(indicator_trend, indicator_id, today=JUNE)
    assert [p.period.code for p in trend.points] == [f"2023-{m:02d}" for m in range(1, 13)]
    assert [p.status for p in trend.points[3:6]] == [Status.MISSING, Status.MISSING,
                                                    Status.NOT_DUE]
    # The summary's own figures for each month.
    march = db.call(build_summary, Period.month(2023, 3), unit_clave="303", today=JUNE)
    line = next(line for line in march.lines if line.indicator_id == indicator_id)
    assert (trend.points[2].value, trend.points[2].meta, trend.points[2].status) == (
        line.value, line.meta, line.status)

    figure = trend_figure(trend)
    axes = figure.axes[0]
    bars = _bars(axes)
    assert set(bars) == {"value-0", "value-1", "value-2", "missing-3", "missing-4"}
    for x in range(3):
        assert to_hex(bars[f"value-{x}"].get_facecolor()) == COLORS[trend.points[x].status]
        assert bars[f"value-{x}"].get_height() == float(trend.points[x].value)
    for x in (3, 4):  # not reported: a hatched grey column as tall as the chart, not a 0 bar
        assert bars[f"missing-{x}"].get_hatch() == NOT_REPORTED_HATCH
        assert to_hex(bars[f"missing-{x}"].get_facecolor()) == NOT_REPORTED_FACE
        assert bars[f"missing-{x}"].get_height() == pytest.approx(axes.get_ylim()[1])
    series = {line.get_label(): line for line in axes.lines}
    assert list(series["meta programada"].get_ydata()) == [float(p.meta) for p in trend.points]
    assert list(series["2022"].get_ydata()) == [240_000 + 1_500 * m for m in range(1, 13)]
    legend = _legend_labels(figure)
    assert NOT_REPORTED_LABEL in legend and "meta programada" in legend
    assert "año anterior (2022)" in legend and "arriba de la meta" in legend
    assert Image.open(io.BytesIO(render_indicator_trend(trend))).size[0] == WIDTH_PX


def test_indicator_trend_without_last_year_says_so(db, seed_tsv):
    db.call(import_report, read_report(seed_tsv))
    indicator_id = db.call(lambda s: s.exec(select(Indicator.id).where(
        Indicator.unidad_medida == "%")).first())
    trend = db.call(indicator_trend, indicator_id, today=TODAY)
    assert not trend.has_last_year and all(p.last_year is None for p in trend.points)
    # 306 INSPECCION: 8.33 % a month of a cumulative %: the meta accumulates (25 % in March).
    assert trend.points[2].meta == trend.points[0].meta * 3
    figure = trend_figure(trend)
    assert [line.get_label() for line in figure.axes[0].lines] == ["meta programada"]
    assert "sin datos de 2022" in figure.axes[0].get_title()
    assert not any("año anterior" in label for label in _legend_labels(figure))
    assert db.call(indicator_trend, 999_999, today=TODAY) is None
