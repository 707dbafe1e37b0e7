"""/resumen, /exportar and /grafica through the real Application and the Bot API stand-in."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from PIL import Image

from bot.cli import main as cli_main
from bot.clock import FrozenClock
from bot.domain.attainment import STATUS_ORDER
from bot.domain.numbers import format_number, format_percent
from bot.domain.periods import Period
from bot.poa_report.reader import norm, read_report
from bot.services.importer import import_report
from bot.services.summary import build_summary
from bot.services.summary_front import headline
from bot.services.summary_pages import PAGE_LIMIT, overview_pages, paginate, restrict_summary
from tests.harness import running_bot

# 12 April 2023, 10:00 in Matamoros: March and Q1 closed, the last closed month is March.
NOW = datetime(2023, 4, 12, 15, 0, tzinfo=UTC)
TODAY = date(2023, 4, 12)
MODULES = ["handlers.registration", "handlers.summary", "handlers.export"]
GERENTE, COORDINADOR = 7001, 7002


@pytest.fixture
def seeded(db, seed_tsv):
    report = read_report(seed_tsv)
    db.call(import_report, report)
    return report


def _bot(db, **kwargs):
    return running_bot(db, clock=FrozenClock(NOW), handler_modules=MODULES, **kwargs)


def _plain(message) -> str:
    return message.text or ""


async def _open_detail(bot, user_id, reply) -> str:
    """Press the first screen's «📋 Detalle por unidad»; the message's text afterwards."""
    data = dict(bot.stub.buttons(user_id, reply.message_id))["📋 Detalle por unidad"]
    bot.stub.press_button(user_id, data, message_id=reply.message_id)
    await bot.idle()
    return bot.stub.message(user_id, reply.message_id)["text"]


async def test_gerente_resumen_matches_the_cli(db, seeded, database_url, monkeypatch, capsys,
                                               tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    # The CLI's figures (its clock is the real one; the figures for a closed past month
    # do not depend on it except the due/late flags, which we compare only through status).
    assert cli_main(["resumen", "--period", "2023-03", "--format", "json"]) == 0
    cli = json.loads(capsys.readouterr().out)

    async with _bot(db) as bot:
        await bot.register_gerente(GERENTE)
        reply = await bot.say(GERENTE, "/resumen mar-23")
        pages = [await _open_detail(bot, GERENTE, reply)]
        while any("▶" in label for label, _ in bot.stub.buttons(GERENTE, reply.message_id)):
            data = next(d for label, d in bot.stub.buttons(GERENTE, reply.message_id)
                        if "▶" in label)
            bot.stub.press_button(GERENTE, data)
            await bot.idle()
            pages.append(bot.stub.message(GERENTE, reply.message_id)["text"])
    text = "\n".join(pages)
    assert text.startswith("Resumen POA · marzo 2023")
    done = cli["completitud"]
    assert (f"{done['unidades_reportadas']} de {done['unidades_debidas']} coordinaciones "
            "con todo reportado") in text
    for unit in cli["unidades"]:
        block = text[text.index(f"{unit['clave']} · "):]
        for line in unit["indicadores"]:
            start = block.index(line["indicador"][:60])
            figures = block[start:].split("\n")[1]
            assert f"acum. {_pct(line['avance_acumulado_pct'])}" in figures, line["indicador"]
            assert f"(esp. {_pct(line['avance_esperado_pct'])})" in figures
            if line["valor"] is not None:
                percent = "%" if line["unidad_medida"] == "%" else ""
                assert figures.strip().startswith(
                    f"{format_number(Decimal(line['valor']))}{percent} de "
                    f"{format_number(Decimal(line['meta']))}{percent} · "
                    f"{_pct(line['cumplimiento_periodo_pct'])}"), line["indicador"]


def _pct(text: str | None) -> str:
    return format_percent(Decimal(text) if text is not None else None)


async def test_figures_equal_build_summary_for_the_same_day(db, seeded):
    """Same day as the bot's clock: counts and bands match the engine's summary exactly."""
    summary = db.call(build_summary, Period.month(2023, 3), today=TODAY)
    async with _bot(db) as bot:
        await bot.register_gerente(GERENTE)
        reply = await bot.say(GERENTE, "/resumen")  # default: the last closed month (March)
    text = _plain(reply)
    assert "marzo 2023" in text
    head = headline(summary)
    assert f"Llegaron {head.received} de {head.due} reportes debidos" in text
    for unit in summary.units:
        counts = Counter(line.status for line in unit.lines)
        marks = " ".join(f"{s.light}{counts[s]}" for s in STATUS_ORDER if counts[s])
        assert re.search(rf"^{unit.clave} .*: {re.escape(marks)}$", text, re.M), unit.clave


async def test_coordinador_sees_only_their_units(db, seeded):
    async with _bot(db) as bot:
        await bot.register_coordinador(COORDINADOR, ["303", "306"], name="Ana")
        reply = await bot.say(COORDINADOR, "/resumen T1")
        assert not any(d.startswith("rf:") for _, d in bot.stub.buttons(COORDINADOR,
                                                                        reply.message_id))
        text = await _open_detail(bot, COORDINADOR, reply)
        assert "303 · " in text and "306 · " in text
        assert "305 · " not in text and "309 · " not in text
        assert "2 de 2 coordinaciones" in text or "de 2 coordinaciones" in text
        refused = await bot.say(COORDINADOR, "/resumen 305 mar-23")
        assert "Solo puedes consultar tus unidades: 303, 306" in _plain(refused)
        one = await bot.say(COORDINADOR, "/resumen 306 mar-23")
        assert "306 · COORD" in _plain(one) and "303 " not in _plain(one)  # its detail at once
        # A forged button for another unit is refused and changes nothing.
        before = bot.stub.message(COORDINADOR, reply.message_id)["text"]
        bot.stub.press_button(COORDINADOR, "rs:u:2023-Q1:*:0:305:0", message_id=reply.message_id)
        await bot.idle()
        bot.stub.press_button(COORDINADOR, "rs:p:2023-Q1:305:0", message_id=reply.message_id)
        await bot.idle()
        assert bot.stub.message(COORDINADOR, reply.message_id)["text"] == before


async def test_unit_detail_is_one_tap_away_and_back(db, seeded):
    async with _bot(db) as bot:
        await bot.register_gerente(GERENTE)
        reply = await bot.say(GERENTE, "/resumen mar-23")
        overview = await _open_detail(bot, GERENTE, reply)
        buttons = dict(bot.stub.buttons(GERENTE, reply.message_id))
        assert "🔎 306" in buttons
        bot.stub.press_button(GERENTE, buttons["🔎 306"], message_id=reply.message_id)
        await bot.idle()
        detail = bot.stub.message(GERENTE, reply.message_id)
        assert detail["text"].startswith("306 · COORDINACION DE ALTOS CONSUMOS")
        assert "Responsable:" in detail["text"]
        assert "200 reconexiones del mes" in detail["text"]  # the remark of March
        back = dict(bot.stub.buttons(GERENTE, reply.message_id))["⬅ Volver al resumen"]
        bot.stub.press_button(GERENTE, back, message_id=reply.message_id)
        await bot.idle()
        assert bot.stub.message(GERENTE, reply.message_id)["text"] == overview
        # Stale and forged data: answered, nothing changes.
        for data in ("rs:p:2023-13:*:0", "rs:p:2023-03:*:99", "rs:u:2023-03:*:0:999:0", "rs:x",
                     "rs:p:mar-23:*:0", "rs:f:2023-03", "rs:f:2023-13:*", "rf:r:abc", "rf:i:999",
                     "rf:r:999999", "rf:x:1"):
            bot.stub.press_button(GERENTE, data, message_id=reply.message_id)
            await bot.idle()
            assert bot.stub.message(GERENTE, reply.message_id)["text"] == overview
        # ⬅ Inicio leads back to the first screen.
        home = dict(bot.stub.buttons(GERENTE, reply.message_id))["⬅ Inicio"]
        bot.stub.press_button(GERENTE, home, message_id=reply.message_id)
        await bot.idle()
        assert bot.stub.message(GERENTE, reply.message_id)["text"] == _plain(reply)


async def test_bad_arguments_show_the_accepted_forms(db, seeded):
    async with _bot(db) as bot:
        await bot.register_gerente(GERENTE)
        reply = await bot.say(GERENTE, "/resumen <marzo> & co")
        assert "No entendí" in _plain(reply) or "un solo periodo" in _plain(reply)
        assert "2023-T1" in _plain(reply) and "303" in _plain(reply)
        unknown = await bot.say(GERENTE, "/resumen 999")
        assert "No existe la unidad 999" in _plain(unknown)


async def test_long_summary_is_paginated_never_cut(db, seeded):
    """A summary far over 4096 characters: pages within the limit, every unit on one."""
    summary = db.call(build_summary, Period.month(2023, 3), today=TODAY)
    many = summary.__class__(**{**summary.__dict__, "units": summary.units * 6})
    pages = overview_pages(many)
    assert len(pages) > 2
    assert all(len(page.text) <= PAGE_LIMIT for page in pages)
    joined = "\n".join(page.text for page in pages)
    for unit in summary.units:
        assert joined.count(f"<b>{unit.clave} · ") == 6
    # A unit alone bigger than a page continues on the next one, split between indicators.
    huge = [("999", "<b>999 · ENORME</b>", [f"🟢 INDICADOR {n}\n   1 de 1" for n in range(600)])]
    split = paginate("<b>Resumen</b>", huge)
    assert len(split) > 1 and all(len(p.text) <= PAGE_LIMIT for p in split)
    assert "(continúa)" in split[1].text
    assert sum(p.text.count("INDICADOR ") for p in split) == 600


async def test_restrict_summary_recomputes_totals(db, seeded):
    summary = db.call(build_summary, Period.month(2023, 3), today=TODAY)
    only = restrict_summary(summary, ["303"])
    direct = db.call(build_summary, Period.month(2023, 3), unit_clave="303", today=TODAY)
    assert only.completeness == direct.completeness
    assert only.timeliness == direct.timeliness
    assert dict(only.status_counts) == dict(direct.status_counts)


async def test_exportar_sends_only_the_workbook_unless_the_csv_is_asked(db, seeded):
    async with _bot(db) as bot:
        await bot.register_gerente(GERENTE)
        bot.stub.send_text(GERENTE, "/exportar 2023-T1")
        xlsx = await bot.stub.wait_for_message(
            GERENTE, lambda m: m.method == "sendDocument" and m.document[1].endswith(".xlsx"))
        await bot.idle()
        alone = [m.document[1] for m in bot.stub.messages_to(GERENTE)
                 if m.method == "sendDocument"]
        bot.stub.send_text(GERENTE, "/exportar CSV 2023-T1")  # any order, any case
        csv_doc = await bot.stub.wait_for_message(
            GERENTE, lambda m: m.method == "sendDocument" and m.document[1].endswith(".csv"))
        await bot.idle()
        both = [m.document[1] for m in bot.stub.messages_to(GERENTE)
                if m.method == "sendDocument"]
    assert alone == ["POA-2023-Q1.xlsx"]
    assert "/exportar 2023-Q1 csv" in xlsx.text  # the caption says how to get the CSV
    assert both == ["POA-2023-Q1.xlsx", "POA-2023-Q1.xlsx", "POA-2023-Q1.csv"]
    assert xlsx.document[1] == "POA-2023-Q1.xlsx" and "1.º trimestre 2023" in xlsx.text
    assert csv_doc.document[0].decode("utf-8-sig").count("VALOR ACTUAL") >= 1
    sheet = load_workbook(io.BytesIO(xlsx.document[0])).active
    expected = {(row.key, row.period.code): row for row in seeded.rows}
    found = 0
    section, previous = None, {}
    for values in sheet.iter_rows(values_only=True):
        if values[0] in ("ene-23", "feb-23", "mar-23", "PRIMER TRIMESTRE 2023"):
            section = values[0]
        if values[9] is None or values[11] == "META" or values[14] is None:
            previous = {} if values[11] == "META" else previous
            if values[9] is not None:
                previous = {2: values[2] or previous.get(2), 4: values[4] or previous.get(4)}
            continue
        previous = {2: values[2] or previous.get(2), 4: values[4] or previous.get(4)}
        key = (norm(previous[2]), norm(previous[4]), norm(values[9]))
        matches = [row for (k, _code), row in expected.items() if k == key
                   and (row.period.short_label == section
                        or row.section.period.short_label == section)]
        assert len(matches) == 1, (key, section)
        row = matches[0]
        value = Decimal(str(values[14])) * (100 if row.aggregation == "last" else 1)
        assert value == row.value
        assert (values[15] or "") == row.observaciones
        found += 1
    assert found == len(seeded.rows)


async def test_exportar_refuses_a_unit_and_bad_periods(db, seeded):
    async with _bot(db) as bot:
        await bot.register_gerente(GERENTE)
        reply = await bot.say(GERENTE, "/exportar 303")
        assert "/exportar no lleva unidad" in _plain(reply)
        reply = await bot.say(GERENTE, "/exportar 2022")
        assert "No hay indicadores del POA 2022" in _plain(reply)
        reply = await bot.say(GERENTE, "/exportar xlsx")
        assert "No entendí «xlsx»" in _plain(reply) and "csv" in _plain(reply)


async def test_grafica_sends_a_phone_sized_png(db, seeded, tmp_path):
    async with _bot(db) as bot:
        await bot.register_gerente(GERENTE)
        bot.stub.send_text(GERENTE, "/grafica mar-23")
        photo = await bot.stub.wait_for_message(GERENTE, lambda m: m.method == "sendPhoto")
    data = photo.document[0]
    (tmp_path / "grafica.png").write_bytes(data)
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.size[0] == 1080 and image.size[1] > 800
    assert "marzo 2023" in photo.text


async def test_coordinador_exports_only_their_units(db, seeded):
    async with _bot(db) as bot:
        await bot.register_coordinador(COORDINADOR, ["303"], name="Ana")
        bot.stub.send_text(COORDINADOR, "/exportar T1")
        xlsx = await bot.stub.wait_for_message(
            COORDINADOR, lambda m: m.method == "sendDocument" and m.document[1].endswith(".xlsx"))
    sheet = load_workbook(io.BytesIO(xlsx.document[0])).active
    claves = {values[2] for values in sheet.iter_rows(values_only=True)
              if values[2] not in (None, "CLAVE", "UNIDAD RESPONSABLE")}
    assert claves == {"303"}


async def test_grafica_of_a_unit_has_a_button_per_indicator_for_its_year(db, seeded):
    async with _bot(db) as bot:
        await bot.register_gerente(GERENTE)
        await bot.register_coordinador(COORDINADOR, ["305"], name="Ana")
        bot.stub.send_text(GERENTE, "/grafica 303 mar-23")
        photo = await bot.stub.wait_for_message(GERENTE, lambda m: m.method == "sendPhoto")
        buttons = bot.stub.buttons(GERENTE, photo.message_id)
        assert [label for label, _ in buttons] == ["1", "2", "3", "4"]
        assert "303 · cumplimiento de cada indicador · marzo 2023" in photo.text
        bot.stub.press_button(GERENTE, buttons[0][1])
        trend = await bot.stub.wait_for_message(
            GERENTE, lambda m: m.method == "sendPhoto" and m.message_id != photo.message_id)
        # Someone else's unit, or forged data: refused, nothing sent.
        bot.stub.press_button(COORDINADOR, buttons[0][1])
        for forged in ("gf:999999", "gf:x", "gf:1:2", "gf:²"):
            bot.stub.press_button(GERENTE, forged)
        await bot.idle()
        photos = [m for m in bot.stub.sent if m.method == "sendPhoto"]
    assert "303 · RECIBOS ENTREGADOS A DOMICILIO · 2023" in trend.text
    image = Image.open(io.BytesIO(trend.document[0]))
    assert image.format == "PNG" and image.size[0] == 1080
    assert len(photos) == 2
    stale = [a for a in bot.stub.callback_answers if a.text == "Este botón ya no es válido."]
    assert len(stale) == 5
