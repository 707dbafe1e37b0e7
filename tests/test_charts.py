"""The /grafica chart: PNG of each unit's cumulative progress against the expected line."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from PIL import Image

from bot.domain.attainment import Status
from bot.domain.periods import Period
from bot.poa_report.reader import read_report
from bot.services.charts import WIDTH_PX, render_progress_chart, short_name, unit_progress
from bot.services.importer import import_report
from bot.services.summary import build_summary

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
