"""The bot keeps answering while a large POA report is imported (issue 13).

The import reads and checks the whole report before it touches the database, then writes it
with a few bulk statements; on SQLite it holds the write lock only for those. A coordinador
who types a value while the import writes waits for them, not for the whole import.
"""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal

from sqlalchemy import event
from sqlmodel import select

from bot.poa_report import read_report
from bot.poa_report.writer import ReportDocument, ReportLine, ReportSection, text_bytes
from bot.services.importer import import_report
from handlers.common import DATABASE_ERROR_TEXT
from storage.models import ReportedValue
from tests.harness import add_sample_catalog, running_bot

ANA = 1001  # coordinadora of 303
MONTHS = ("ene-23", "feb-23", "mar-23", "abr-23", "may-23", "jun-23")


def large_report(path, units: int = 500, indicators: int = 10):
    """``units`` × ``indicators`` monthly indicators with a value in each of six months (30,000
    values with the defaults), as the workbook's text export."""
    sections = []
    for month in MONTHS:
        lines = tuple(
            ReportLine(linea="724", objetivo="OBJETIVO", unit_clave=f"{10_000 + u}",
                       unit_nombre=f"COORDINACION {u}", accion=f"ACCION {i // 3}",
                       share_of_year=Decimal(100) / 12, cumulative=None, comentarios="",
                       nombre=f"INDICADOR {i}", descripcion="", meta=Decimal(100 + u),
                       unidad_medida="PIEZAS", frecuencia="MENSUAL",
                       value=Decimal((u * 7 + i * 13) % 500), observaciones="")
            for u in range(units) for i in range(indicators))
        sections.append(ReportSection(month, "E", "P", "S", "T", lines))
    path.write_bytes(text_bytes(ReportDocument(2023, tuple(sections)), delimiter="\t"))
    return path


async def test_a_value_typed_while_a_large_import_writes_is_saved_and_confirmed(db, tmp_path):
    ids = await db.run(add_sample_catalog)
    path = large_report(tmp_path / "grande.tsv")
    writing, imported = threading.Event(), []

    def watch(_conn, _cursor, statement, *_args) -> None:
        if threading.current_thread().name == "import" and statement.lstrip().upper().startswith(
                ("INSERT", "UPDATE", "BEGIN")):
            writing.set()

    def run_import() -> None:  # what `poa-bot import-poa` does
        try:
            report = read_report(path)
            with db.session() as session:
                imported.append(import_report(session, report))
        finally:
            writing.set()  # never leave the test waiting, whatever happened

    event.listen(db.engine, "before_cursor_execute", watch)
    try:
        async with running_bot(db) as bot:
            await bot.register_coordinador(ANA, ["303"], name="Ana")
            card = await bot.start_report(ANA)  # one unit, one open period: the card
            assert "1. Recibos entregados a domicilio" in card.text
            worker = threading.Thread(target=run_import, name="import")
            worker.start()
            await asyncio.to_thread(writing.wait)
            assert worker.is_alive() or imported, "the import failed before writing"
            bot.stub.send_text(ANA, "255,835")
            reply = await bot.stub.wait_for_message(
                ANA, lambda m: m.method == "sendMessage", timeout=60)
            await asyncio.to_thread(worker.join)
            assert DATABASE_ERROR_TEXT[:30] not in reply.text
            assert "Guardé 255,835." in reply.text  # (the unit is in the name: not repeated)
    finally:
        event.remove(db.engine, "before_cursor_execute", watch)
    (result,) = imported
    assert (result.values_new, result.indicators_new) == (30_000, 5_000)

    def saved(session):
        return session.exec(select(ReportedValue.value, ReportedValue.source).where(
            ReportedValue.indicator_id == ids["303"][0],
            ReportedValue.period == "2023-03")).one()
    assert await db.run(saved) == (Decimal(255835), "telegram")
