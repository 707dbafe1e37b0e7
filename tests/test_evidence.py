"""Evidence (medios de verificación): stored, downloaded, re-sent by file_id, zipped, and
mandatory evidence keeping an indicator pending. Bot tests drive the real Application over
the Bot API stand-in; they run on SQLite and, with POA_TEST_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from datetime import UTC, datetime
from decimal import Decimal

import httpx
from openpyxl import load_workbook
from sqlmodel import select

from bot.cli import main as cli_main
from bot.domain.calendar import ReportingCalendar
from bot.domain.periods import Period
from bot.services import evidence as ev
from bot.services import pending
from bot.services.summary import build_summary
from bot.services.summary_front import build_front, front_text
from bot.telegram_standin import BotApiStub
from handlers.common import STALE_BUTTON_TEXT
from storage.models import DataVersion, Evidence, EvidenceInbox, Ficha, ReportedValue
from tests.harness import add_sample_catalog, running_bot

ANA, BETO, GERENTE, STRANGER = 1001, 1002, 1003, 1999  # Ana: 303; Beto: 305
MARCH = Period.month(2023, 3)
NOW = datetime(2023, 4, 3, 15, 0, tzinfo=UTC)
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF"
JPEG = b"\xff\xd8\xff\xe0" + b"foto de la reunion" * 300


def add_values(session, indicator_ids, period=MARCH, value="100"):
    for indicator_id in indicator_ids:
        session.add(ReportedValue(
            indicator_id=indicator_id, period=period.code, year=period.year,
            period_start=period.start, period_end=period.end, value=Decimal(value),
            meta=Decimal(value), reported_at=NOW, source="cli"))


def make_mandatory(session, indicator_id):
    session.add(Ficha(indicator_id=indicator_id, sentido="ascendente", acumulacion="suma",
                      evidencia_obligatoria=True, verde_min=Decimal(100),
                      amarillo_min=Decimal(80), updated_at=NOW))


def evidence_rows(session):
    return session.exec(select(Evidence).order_by(Evidence.id)).all()


def alerts_to(bot, user_id):
    return [a.text for a in bot.stub.callback_answers if a.user_id == user_id and a.show_alert]


async def test_evidence_is_stored_resent_by_file_id_and_zipped_with_its_sha256(
        db, tmp_path, monkeypatch, database_url):
    ids = await db.run(add_sample_catalog)
    recibos, lecturas, _inspecciones = ids["303"]
    await db.run(add_values, [recibos, lecturas])
    folder = tmp_path / "evidencia"
    async with running_bot(db, settings_overrides={"poa_evidence_dir": str(folder)}) as bot:
        await bot.register_coordinador(ANA, ["303"], name="Ana <López>")
        await bot.register_gerente(GERENTE)

        # One unit and one period with values: the bot asks only for the indicator.
        choose = await bot.say(ANA, "/evidencia")
        assert "¿De qué indicador" in choose.text and "marzo 2023" in choose.text
        assert [data for _label, data in choose.buttons] == [
            f"ev:t:{recibos}:2023-03", f"ev:t:{lecturas}:2023-03"]
        chosen = await bot.press(ANA, f"ev:t:{recibos}:2023-03")
        assert "Evidencia de Recibos entregados a domicilio" in chosen.text
        assert "Envía ahora" in chosen.text

        bot.stub.send_document(ANA, PDF, "acta <de> entrega & firmas.pdf")
        saved = await bot.next_message(ANA)
        assert "Guardé" in saved.text and "acta &lt;de&gt; entrega &amp; firmas.pdf" in (
            saved.params["text"]) and "Lleva 1 archivo" in saved.text
        bot.stub.send_photo(ANA, JPEG, caption="la reunión")
        assert "Lleva 2 archivos" in (await bot.next_message(ANA)).text
        bot.stub.send_document(ANA, PDF, "otra vez el mismo.pdf")  # same content: same file
        assert "ya estaba guardado" in (await bot.next_message(ANA)).text

        rows = await db.run(evidence_rows)
        assert [(r.kind, r.indicator_id, r.period, r.size, r.sha256) for r in rows] == [
            ("document", recibos, "2023-03", len(PDF), hashlib.sha256(PDF).hexdigest()),
            ("photo", recibos, "2023-03", len(JPEG), hashlib.sha256(JPEG).hexdigest())]
        assert rows[0].file_name == "acta <de> entrega & firmas.pdf"
        assert rows[0].mime_type == "application/pdf" and rows[0].person_id is not None
        assert rows[0].received_at == NOW
        assert rows[0].local_path.startswith("303/2023-03/")
        assert (folder / rows[0].local_path).read_bytes() == PDF  # the downloaded copy
        assert (folder / rows[1].local_path).read_bytes() == JPEG
        assert not list(folder.rglob("*.part"))
        copy = folder / rows[0].local_path
        assert copy.stat().st_mode & 0o077 == 0  # owner only, like the SQLite file
        assert all(p.stat().st_mode & 0o077 == 0 for p in copy.parents if folder in
                   (p, *p.parents))

        # The gerente: /resumen → 🔎 303 shows both evidence buttons.
        overview = await bot.say(GERENTE, "/resumen mar-23")
        detail_data = next(d for label, d in overview.buttons if label == "🔎 303")
        bot.stub.press_button(GERENTE, detail_data)
        await bot.idle()
        detail = bot.stub.message(GERENTE, overview.message_id)
        labels = [b["text"] for row in detail["reply_markup"]["inline_keyboard"] for b in row]
        assert "📎 Evidencias" in labels and "📤 Reenviar evidencias" in labels

        listing = await bot.press(GERENTE, "ev:l:2023-03:303")
        assert "Evidencias · 303 FACTURACION · marzo 2023" in listing.text
        assert "acta <de> entrega & firmas.pdf" in listing.text and "Ana <López>" in listing.text

        await bot.press(GERENTE, "ev:s:2023-03:303", lambda m: m.text.startswith("Reenvié"))
        resent = [m for m in bot.stub.sent if m.chat_id == GERENTE
                  and m.method in ("sendDocument", "sendPhoto")]
        # By file_id: nothing uploaded, the stored ids sent as they are.
        assert [(m.method, m.document) for m in resent] == [
            ("sendDocument", (None, rows[0].file_id)), ("sendPhoto", (None, rows[1].file_id))]
        assert "FACTURACION" not in resent[0].caption and "RECIBOS ENTREGADOS" in resent[0].caption

    # The zip: workbook, each copy under evidencias/<unit>/<period>/, manifest with sha256.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("POA_EVIDENCE_DIR", str(folder))
    out = tmp_path / "POA-2023-03.zip"
    assert cli_main(["export", "--period", "2023-03", "--out", str(out)]) == 0
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        assert "POA-2023-03.xlsx" in names
        load_workbook(io.BytesIO(archive.read("POA-2023-03.xlsx")))  # a real workbook
        manifest = list(csv.DictReader(io.StringIO(
            archive.read(ev.MANIFEST_NAME).decode("utf-8-sig"))))
        assert [m["sha256"] for m in manifest] == [r.sha256 for r in rows]
        for entry, row in zip(manifest, rows, strict=True):
            assert entry["archivo_en_zip"].startswith("evidencias/303/2023-03/")
            assert entry["estado"] == "ok" and entry["file_id"] == row.file_id
            content = archive.read(entry["archivo_en_zip"])
            assert hashlib.sha256(content).hexdigest() == row.sha256


async def test_a_file_sent_after_confirming_a_value_is_its_evidence(db):
    ids = await db.run(add_sample_catalog)
    recibos = ids["303"][0]
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        await bot.start_report(ANA)
        saved = await bot.say(ANA, "255,835")
        assert "Guardé" in saved.text and "¿Observaciones?" in saved.text
        bot.stub.send_photo(ANA, JPEG)
        attached = await bot.next_message(ANA)
        assert attached.text.startswith("📎 Guardé la foto (")  # a photo has no name
        assert "evidencia de Recibos entregados a domicilio (marzo 2023)" in attached.text
        rows = await db.run(evidence_rows)
        assert [(r.indicator_id, r.period, r.kind) for r in rows] == [
            (recibos, "2023-03", "photo")]
        # The flow goes on where it was: the remarks button still works.
        card = await bot.press(ANA, f"r:nr:{recibos}")
        assert "faltan 2 de 3" in card.text
        # Now no value was just confirmed and nothing was chosen: the file is refused.
        bot.stub.send_document(ANA, PDF, "suelto.pdf")
        refused = await bot.next_message(ANA)
        assert "Usa /evidencia" in refused.text and "no lo guardé" in refused.text
        again = await bot.next_message(ANA)  # and the open question is asked again
        assert "Seguimos donde te quedaste" in again.text and "1. Lecturas tomadas" in again.text
        assert len(await db.run(evidence_rows)) == 1


async def test_a_file_over_20_mb_gets_a_clear_message_and_nothing_is_stored(db):
    ids = await db.run(add_sample_catalog)
    await db.run(add_values, ids["303"][:1])
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"])
        assert "Envía ahora" in (await bot.say(ANA, "/evidencia")).text  # one choice: made
        bot.stub.send_document(ANA, None, "expediente.pdf", size=25 * 1024 * 1024)
        answer = await bot.next_message(ANA)
        assert "25 MB" in answer.text and "20 MB" in answer.text and "no lo guardé" in answer.text
        assert await db.run(evidence_rows) == []
        assert not [c for c in bot.stub.calls if c.method == "getFile"]  # not even tried


async def test_the_stand_in_refuses_to_serve_files_over_20_mb_like_telegram():
    async with BotApiStub(token="1:T") as stub:
        big = stub.send_document(5, None, "big.pdf", size=21 * 1024 * 1024)
        small = stub.send_document(5, b"hola", "small.txt", mime_type="text/plain")
        async with httpx.AsyncClient() as client:
            answer = await client.post(f"{stub.base_url}1:T/getFile",
                                       json={"file_id": big["message"]["document"]["file_id"]})
            assert answer.status_code == 400
            assert answer.json()["description"] == "Bad Request: file is too big"
            info = (await client.post(f"{stub.base_url}1:T/getFile", json={
                "file_id": small["message"]["document"]["file_id"]})).json()["result"]
            download = await client.get(f"{stub.base_file_url}1:T/{info['file_path']}")
            assert download.content == b"hola" and info["file_size"] == 4
            unknown = await client.post(f"{stub.base_url}1:T/sendDocument",
                                        json={"chat_id": 5, "document": "no-such-file"})
            assert unknown.status_code == 400
        assert len(stub.rejections) == 2


async def test_mandatory_evidence_keeps_the_indicator_pending_until_it_has_some(db):
    ids = await db.run(add_sample_catalog)
    recibos, lecturas, inspecciones = ids["303"]
    await db.run(add_values, [recibos, lecturas, inspecciones])
    await db.run(make_mandatory, recibos)

    def owed(session):
        by_unit = pending.pending_by_unit(session, MARCH)
        summary = build_summary(session, MARCH, unit_clave="303", today=NOW.date())
        line = next(line for line in summary.lines if line.indicator_id == recibos)
        return ([i.id for i in by_unit["303"].indicators] if "303" in by_unit else [],
                line.missing_periods, line.evidence_missing,
                summary.completeness.indicators_reported)

    assert await db.run(owed) == ([recibos], ("2023-03",), ("2023-03",), 2)

    def state_wide(session):  # no unit asked: the same owed evidence, only for recibos
        summary = build_summary(session, MARCH, today=NOW.date())
        return {line.indicator_id: line.evidence_missing for line in summary.lines
                if line.indicator_id in (recibos, lecturas)}
    assert await db.run(state_wide) == {recibos: ("2023-03",), lecturas: ()}

    def first_screen(session):
        summary = build_summary(session, MARCH, unit_clave="303", today=NOW.date())
        return front_text(build_front(summary, lambda period: period.end))
    # The gerente's first screen says why a unit with every value in still owes one.
    assert "303 FACTURACION: faltan 1 de 3, 1 sin evidencia" in await db.run(first_screen)
    version_before = await db.run(lambda s: s.get(DataVersion, 1).version)
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        todo = await bot.say(ANA, "/pendientes")
        assert "1 sin la evidencia obligatoria" in todo.text
        assert "📎 Recibos entregados a domicilio" in todo.text
        assert "/evidencia" in todo.text
        # Asked in passing, the bot does not say «al día» while evidence is owed.
        status = await bot.say(ANA, "ya quedó?")
        assert status.text == "Falta la evidencia obligatoria de 1 valor: envíala con /evidencia."
        # The reminder counts it too (the reminders' own query).
        calendar = ReportingCalendar.from_settings(bot.settings)
        reminders = await db.run(pending.pending_for_coordinators, MARCH, NOW, calendar)
        assert [p.count for p in reminders.values()] == [1]

        choose = await bot.say(ANA, "/evidencia")
        assert "⚠️ obligatoria" in choose.text
        await bot.press(ANA, f"ev:t:{recibos}:2023-03")
        bot.stub.send_document(ANA, PDF, "acta.pdf")
        assert "Guardé" in (await bot.next_message(ANA)).text
        done = await bot.say(ANA, "/pendientes")
        assert "evidencia" not in done.text and "Nada pendiente" in done.text
        assert "Estás al día" in (await bot.say(ANA, "ya quedó?")).text

    assert await db.run(owed) == ([], (), (), 3)
    # The summary cache sees the change: evidence bumps the data version.
    assert await db.run(lambda s: s.get(DataVersion, 1).version) > version_before


async def test_forged_buttons_strangers_and_gerentes_change_nothing(db):
    ids = await db.run(add_sample_catalog)
    await db.run(add_values, [ids["303"][0], ids["305"][0]])
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"])
        await bot.register_coordinador(BETO, ["305"])
        await bot.register_gerente(GERENTE)
        other_unit = f"ev:t:{ids['305'][0]}:2023-03"
        for data in (other_unit, f"ev:t:{ids['303'][1]}:2023-03",  # no value yet
                     f"ev:t:{ids['303'][0]}:2023-13", "ev:t:x:2023-03", "ev:u:305",
                     "ev:p:305:2023-03", "ev:p:303:nada", "ev:l:2023-03:305",
                     "ev:s:2023-03:305", "ev:l:2023-03", "ev:zz"):
            bot.stub.press_button(ANA, data)
        await bot.idle()
        assert alerts_to(bot, ANA) == [STALE_BUTTON_TEXT] * 11
        assert await db.run(lambda s: s.exec(select(EvidenceInbox)).all()) == []
        # Ana's file has no target (every choice was refused).
        bot.stub.send_photo(ANA, JPEG)
        assert "Usa /evidencia" in (await bot.next_message(ANA)).text

        # A gerente does not send evidence; a gerente's forged choice is refused too.
        bot.stub.send_document(GERENTE, PDF, "x.pdf")
        assert "coordinadores" in (await bot.next_message(GERENTE)).text
        assert "coordinadores" in (await bot.say(GERENTE, "/evidencia")).text
        bot.stub.press_button(GERENTE, other_unit)
        bot.stub.press_button(GERENTE, "ev:l:2023-03:999")  # no such unit
        await bot.idle()
        assert alerts_to(bot, GERENTE) == [STALE_BUTTON_TEXT] * 2

        # A stranger gets the one line, whatever they send.
        bot.stub.send_document(STRANGER, PDF, "x.pdf")
        bot.stub.press_button(STRANGER, other_unit)
        await bot.idle()
        texts = bot.texts_to(STRANGER)
        assert len(texts) == 2 and all("No tienes acceso" in t for t in texts)
        assert await db.run(evidence_rows) == []
        assert not [c for c in bot.stub.calls if c.method == "getFile"]


async def test_the_report_says_which_values_need_evidence_and_one_tap_attaches_it(db):
    """Nobody needs to know /evidencia: the remarks question of a value whose ficha asks
    for evidence says a file can go now, and the end of the report lists what still owes
    evidence with a button per indicator."""
    ids = await db.run(add_sample_catalog)
    recibos, lecturas, inspecciones = ids["303"]
    await db.run(make_mandatory, recibos)
    await db.run(make_mandatory, inspecciones)
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        await bot.start_report(ANA)
        saved = await bot.say(ANA, "255835")  # Recibos: its ficha asks for evidence
        assert "¿Observaciones?" in saved.text
        assert "📎 Este indicador pide evidencia: envía aquí la foto o el PDF" in saved.text
        bot.stub.send_photo(ANA, JPEG)  # sent right there: that value's evidence
        assert "Guardé" in (await bot.next_message(ANA)).text
        card = await bot.press(ANA, f"r:nr:{recibos}")
        saved = await bot.say(ANA, "255835")  # Lecturas: no ficha, no evidence asked
        assert "¿Observaciones?" in saved.text and "evidencia" not in saved.text
        card = await bot.press(ANA, f"r:nr:{lecturas}")
        saved = await bot.say(ANA, "150")  # Inspecciones: evidence owed, none sent
        assert "📎 Este indicador pide evidencia" in saved.text
        done = await bot.press(ANA, f"r:nr:{inspecciones}")
        assert "Listo: marzo 2023" in done.text
        assert "📎 Falta la evidencia de: Inspecciones realizadas." in done.text
        attach = next(data for label, data in done.buttons if label.startswith("📎"))
        assert attach == f"ev:t:{inspecciones}:2023-03"
        assert not any("Recibos" in label for label, _ in done.buttons)  # it has its photo
        ready = await bot.press(ANA, attach)
        assert "Envía ahora" in ready.text
        bot.stub.send_document(ANA, PDF, "bitacora.pdf")
        assert "Guardé" in (await bot.next_message(ANA)).text
        todo = await bot.say(ANA, "/pendientes")
        assert "evidencia" not in todo.text
        del card
    rows = await db.run(evidence_rows)
    assert [(r.indicator_id, r.period) for r in rows] == [(recibos, "2023-03"),
                                                           (inspecciones, "2023-03")]
