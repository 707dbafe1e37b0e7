"""Several gerencias (issue 12): two workbooks, two gerencias kept apart for their gerentes and
summed per gerencia for planeación; the seed alone works as before.

The second workbook is the seed with another gerencia in its header and the units' claves
moved from 3xx to 4xx (made here, not committed).
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from bot.cli import main as cli_main
from bot.clock import FrozenClock
from bot.domain.periods import Period
from bot.poa_report.reader import read_report
from bot.services import scope
from bot.services.gerencia_summary import gerencia_lines
from bot.services.importer import import_report
from bot.services.registration import RegistrationError, create_invitation, register_directly
from bot.services.summary import build_summary
from bot.services.summary_pages import restrict_summary
from storage.models import ROLE_GERENTE, ROLE_PLANEACION, Gerencia, Person, Unit
from tests.harness import running_bot

NOW = datetime(2023, 4, 12, 15, 0, tzinfo=UTC)  # March and Q1 closed
TODAY = date(2023, 4, 12)
MODULES = ["handlers.registration", "handlers.summary", "handlers.export"]
COMERCIAL, OPERACION = "GERENCIA COMERCIAL", "GERENCIA DE OPERACIÓN"
GERENTE_C, GERENTE_O, PLANEACION, COORD_401 = 8001, 8002, 8003, 8004
SEED_CLAVES = {"300", "303", "304", "305", "306", "307", "308", "309", "315"}
OTHER_CLAVES = {"4" + clave[1:] for clave in SEED_CLAVES}


def second_workbook(seed: Path, out: Path, gerencia: str = OPERACION) -> Path:
    """The seed as another gerencia's report: its header and unit claves changed."""
    lines = []
    for line in seed.read_text(encoding="utf-8").split("\n"):
        cells = line.split("\t")
        if len(cells) == 1 and cells[0].strip() == COMERCIAL:
            cells[0] = gerencia
        elif len(cells) >= 15 and cells[2].strip() in SEED_CLAVES:
            cells[2] = "4" + cells[2].strip()[1:]
        lines.append("\t".join(cells))
    out.write_text("\n".join(lines), encoding="utf-8")
    return out


@pytest.fixture
def two_gerencias(db, seed_tsv, tmp_path):
    """Both workbooks imported; returns the ids of both gerencias."""
    db.call(import_report, read_report(seed_tsv))
    db.call(import_report, read_report(second_workbook(seed_tsv, tmp_path / "operacion.tsv")))
    return {nombre: gerencia_id for gerencia_id, nombre in
            db.call(lambda s: s.exec(select(Gerencia.id, Gerencia.nombre)).all())}


def _units_by_gerencia(db) -> dict[str, set[str]]:
    rows = db.call(lambda s: s.exec(select(Unit.clave, Gerencia.nombre).join(
        Gerencia, Gerencia.id == Unit.gerencia_id, isouter=True)).all())
    out: dict[str, set[str]] = {}
    for clave, nombre in rows:
        out.setdefault(nombre, set()).add(clave)
    return out


def test_each_import_belongs_to_the_gerencia_of_its_header(db, two_gerencias, seed_tsv,
                                                            tmp_path):
    assert set(two_gerencias) == {COMERCIAL, OPERACION}
    assert _units_by_gerencia(db) == {COMERCIAL: SEED_CLAVES, OPERACION: OTHER_CLAVES}
    again = db.call(import_report, read_report(second_workbook(seed_tsv, tmp_path / "o.tsv")))
    assert not again.changed_anything and again.gerencias == [OPERACION]


def test_the_seed_alone_is_one_gerencia_whose_gerentes_see_everything(db, seed_tsv):
    """A gerente registered before any gerencia existed (as after the upgrade) becomes the
    gerente of the first one imported, and still sees every unit."""
    old = db.call(lambda s: register_directly(s, telegram_user_id=1, role=ROLE_GERENTE,
                                              now=NOW))
    assert old.gerencia_id is None
    db.call(import_report, read_report(seed_tsv))
    gerencia_id = db.call(lambda s: s.get(Person, old.id).gerencia_id)
    assert gerencia_id is not None
    new = db.call(lambda s: register_directly(s, telegram_user_id=2, role=ROLE_GERENTE,
                                              now=NOW))
    assert new.gerencia_id == gerencia_id  # the only gerencia, without asking
    assert db.call(scope.visible_claves, new) is None


def test_gerentes_see_their_gerencia_and_planeacion_sees_all(db, two_gerencias):
    def register(user, role, gerencia=None):
        return db.call(lambda s: register_directly(s, telegram_user_id=user, role=role,
                                                   now=NOW, gerencia=gerencia))

    comercial = register(GERENTE_C, ROLE_GERENTE, "gerencia comercial")  # any case or accent
    operacion = register(GERENTE_O, ROLE_GERENTE, "GERENCIA DE OPERACION")
    planeacion = register(PLANEACION, ROLE_PLANEACION)
    assert set(db.call(scope.visible_claves, comercial)) == SEED_CLAVES
    assert set(db.call(scope.visible_claves, operacion)) == OTHER_CLAVES
    assert db.call(scope.visible_claves, planeacion) is None
    # With two gerencias, a gerente's invitation must say which.
    with pytest.raises(RegistrationError, match="varias gerencias"):
        db.call(lambda s: create_invitation(s, role=ROLE_GERENTE, unit_claves=[], name="",
                                            now=NOW, days=1))
    # A gerente invites only inside their gerencia.
    with pytest.raises(RegistrationError, match="no es de tu gerencia"):
        db.call(lambda s: create_invitation(s, role="coordinador", unit_claves=["303"],
                                            name="", now=NOW, days=1,
                                            created_by_id=operacion.id))
    invited = db.call(lambda s: create_invitation(s, role=ROLE_GERENTE, unit_claves=[],
                                                  name="", now=NOW, days=1,
                                                  created_by_id=operacion.id))
    assert invited.gerencia == OPERACION


def test_planeacion_summary_is_the_sum_per_gerencia(db, two_gerencias):
    summary = db.call(build_summary, Period.month(2023, 3), today=TODAY)
    lines = {line.gerencia.nombre: line
             for line in gerencia_lines(summary, db.call(scope.gerencias))}
    assert set(lines) == {COMERCIAL, OPERACION}
    for name, claves in ((COMERCIAL, SEED_CLAVES), (OPERACION, OTHER_CLAVES)):
        own = db.call(build_summary, Period.month(2023, 3), today=TODAY)
        own = restrict_summary(own, claves)
        line = lines[name]
        assert line.units == len(own.units) == 9
        assert line.units_reported == own.completeness.units_reported
        assert line.units_due == own.completeness.units_due
    # The two workbooks hold the same figures, so both gerencias add up the same.
    a, b = lines[COMERCIAL], lines[OPERACION]
    assert (a.units, a.units_reported, a.units_late, a.red, a.indicators) == (
        b.units, b.units_reported, b.units_late, b.red, b.indicators)
    assert a.units + b.units == len(summary.units)
    assert a.red + b.red == summary.status_counts[next(iter(
        s for s in summary.status_counts if s.value == "behind"))]


def _bot(db):
    return running_bot(db, clock=FrozenClock(NOW), handler_modules=MODULES)


async def _register(bot, user, role, gerencia=None):
    return await bot.db.run(register_directly, telegram_user_id=user, role=role,
                            now=NOW, gerencia=gerencia, name=f"Persona {user}")


def _claves_in(text: str, claves: set[str]) -> set[str]:
    """Unit claves named in a summary: "303 · …" in the detail, "303 COORD…" or "• 303 …" on
    the first screen."""
    lines = [line.lstrip("• ") for line in text.split("\n")]
    return {clave for clave in claves
            if f"{clave} · " in text or any(line.startswith(f"{clave} ") for line in lines)}


async def test_gerentes_stay_apart_and_planeacion_enters_each_gerencia(db, two_gerencias):
    async with _bot(db) as bot:
        await _register(bot, GERENTE_C, ROLE_GERENTE, COMERCIAL)
        await _register(bot, GERENTE_O, ROLE_GERENTE, OPERACION)
        await _register(bot, PLANEACION, ROLE_PLANEACION)
        every = SEED_CLAVES | OTHER_CLAVES

        comercial = await bot.say(GERENTE_C, "/resumen mar-23")
        assert _claves_in(comercial.text, every) <= SEED_CLAVES
        operacion = await bot.say(GERENTE_O, "/resumen mar-23")
        assert _claves_in(operacion.text, every) <= OTHER_CLAVES
        assert _claves_in(operacion.text, every)
        assert "Llegaron 22 de 23 reportes" in operacion.text  # its own 9 units only
        refused = await bot.say(GERENTE_O, "/resumen 303 mar-23")
        assert "Solo puedes consultar las unidades de tu gerencia" in refused.text
        assert "403" in refused.text and "303 · " not in refused.text
        # Another gerencia's buttons, forged, change nothing.
        for data in (f"rs:p:2023-03:@{two_gerencias[COMERCIAL]}:0", "rs:p:2023-03:303:0",
                     "rs:u:2023-03:*:0:303:0", "rs:p:2023-03:@x:0"):
            bot.stub.press_button(GERENTE_O, data, message_id=operacion.message_id)
            await bot.idle()
            assert bot.stub.message(GERENTE_O, operacion.message_id)["text"] == operacion.text

        first = await bot.say(PLANEACION, "/resumen mar-23")
        assert first.text.startswith("Resumen por gerencia · marzo 2023")
        assert f"🏢 {COMERCIAL}: 9 unidades" in first.text
        assert f"🏢 {OPERACION}: 9 unidades" in first.text
        buttons = dict(bot.stub.buttons(PLANEACION, first.message_id))
        bot.stub.press_button(PLANEACION, buttons[f"🏢 {OPERACION}"],
                              message_id=first.message_id)
        await bot.idle()
        inside = bot.stub.message(PLANEACION, first.message_id)["text"]
        assert OPERACION in inside.split("\n")[0]
        assert _claves_in(inside, every) and _claves_in(inside, every) <= OTHER_CLAVES
        back = dict(bot.stub.buttons(PLANEACION, first.message_id))["⬅ Gerencias"]
        bot.stub.press_button(PLANEACION, back, message_id=first.message_id)
        await bot.idle()
        assert bot.stub.message(PLANEACION, first.message_id)["text"] == first.text
        # planeación may still ask for any unit.
        one = await bot.say(PLANEACION, "/resumen 303 mar-23")
        assert "303 · " in one.text


def _claves_of_workbook(data: bytes) -> set[str]:
    sheet = load_workbook(io.BytesIO(data)).active
    return {str(v[2]) for v in sheet.iter_rows(values_only=True)
            if v[2] not in (None, "CLAVE", "UNIDAD RESPONSABLE")}


def _title_of_workbook(data: bytes) -> set[str]:
    sheet = load_workbook(io.BytesIO(data)).active
    return {str(v[0]) for v in sheet.iter_rows(values_only=True)
            if v[0] and str(v[0]).startswith("GERENCIA")}


async def test_exportar_per_gerencia(db, two_gerencias):
    def xlsx(m):
        return m.method == "sendDocument" and m.document[1].endswith(".xlsx")

    async with _bot(db) as bot:
        await _register(bot, GERENTE_O, ROLE_GERENTE, OPERACION)
        await _register(bot, PLANEACION, ROLE_PLANEACION)
        bot.stub.send_text(GERENTE_O, "/exportar 2023-T1")
        own = await bot.stub.wait_for_message(GERENTE_O, xlsx)
        assert _claves_of_workbook(own.document[0]) == OTHER_CLAVES
        assert _title_of_workbook(own.document[0]) == {OPERACION}

        question = await bot.say(PLANEACION, "/exportar 2023-T1")
        buttons = dict(bot.stub.buttons(PLANEACION, question.message_id))
        assert set(buttons) == {f"🏢 {COMERCIAL}", f"🏢 {OPERACION}",
                                "Todas (un libro por gerencia)"}
        bot.stub.press_button(PLANEACION, buttons[f"🏢 {COMERCIAL}"])
        one = await bot.stub.wait_for_message(PLANEACION, xlsx)
        assert one.document[1] == "POA-2023-Q1-GERENCIA-COMERCIAL.xlsx"
        assert _claves_of_workbook(one.document[0]) == SEED_CLAVES
        await bot.idle()
        bot.stub.press_button(PLANEACION, buttons["Todas (un libro por gerencia)"])
        first = await bot.stub.wait_for_message(PLANEACION, xlsx)
        second = await bot.stub.wait_for_message(PLANEACION, xlsx)
        assert {first.document[1], second.document[1]} == {
            "POA-2023-Q1-GERENCIA-COMERCIAL.xlsx", "POA-2023-Q1-GERENCIA-DE-OPERACION.xlsx"}
        # A gerente cannot use planeación's buttons.
        bot.stub.press_button(GERENTE_O, f"ex:2023-Q1:@{two_gerencias[COMERCIAL]}")
        await bot.idle()
        assert not [m for m in bot.stub.messages_to(GERENTE_O) if xlsx(m)][1:]


def test_cli_export_per_gerencia_reimports_into_its_gerencia(db, two_gerencias, database_url,
                                                            monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "libros"
    assert cli_main(["export", "--period", "2023-T1", "--por-gerencia", "--out", str(out)]) == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == ["POA-2023-Q1-GERENCIA-COMERCIAL.xlsx",
                     "POA-2023-Q1-GERENCIA-DE-OPERACION.xlsx"]
    single = tmp_path / "op.tsv"
    assert cli_main(["export", "--period", "2023-T1", "--gerencia", "gerencia de operacion",
                     "--out", str(single)]) == 0
    assert cli_main(["export", "--period", "2023-T1", "--gerencia", "NINGUNA",
                     "--out", str(single)]) == 2
    assert "No existe la gerencia «NINGUNA»" in capsys.readouterr().err
    report = read_report(single)
    assert {row.section.area for row in report.rows} == {OPERACION}
    assert {row.unit_clave for row in report.rows} == OTHER_CLAVES
    # Re-importing each workbook changes nothing: each goes back to its own gerencia.
    for path in out.iterdir():
        assert not db.call(import_report, read_report(path)).changed_anything
    assert _units_by_gerencia(db) == {COMERCIAL: SEED_CLAVES, OPERACION: OTHER_CLAVES}


def test_cli_invites_planeacion_and_a_gerente_of_a_gerencia(db, two_gerencias, database_url,
                                                           monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    assert cli_main(["invite", "--role", "planeacion", "--name", "Dirección"]) == 0
    assert "planeación (todas las gerencias)" in capsys.readouterr().out
    assert cli_main(["invite", "--role", "gerente"]) == 2
    assert "varias gerencias" in capsys.readouterr().err
    assert cli_main(["invite", "--role", "gerente", "--gerencia", "Gerencia de Operación"]) == 0
    assert f"gerente de {OPERACION}" in capsys.readouterr().out


async def test_recordar_escalation_and_equipo_follow_the_gerencia(db, seed_tsv, tmp_path):
    """2024's catalog of both gerencias, nothing reported: a gerente's /recordar reminds only
    their gerencia's coordinadores, the escalation lists only their units (planeación's all of
    them), and /equipo shows and manages only their gerencia's people."""
    from zoneinfo import ZoneInfo

    from bot.scheduler import scheduler_of

    tz = ZoneInfo("America/Matamoros")
    second = second_workbook(seed_tsv, tmp_path / "operacion.tsv")
    for path in (seed_tsv, second):
        db.call(import_report, read_report(path), catalog_only=True, year=2024)
    clock = FrozenClock(datetime(2024, 4, 2, 10, 0, tzinfo=tz).astimezone(UTC))
    coord_303, coord_403 = 8101, 8102
    async with running_bot(db, clock=clock, handler_modules=[
            "handlers.reminders", "handlers.team"]) as bot:
        await _register(bot, GERENTE_C, ROLE_GERENTE, COMERCIAL)
        await _register(bot, GERENTE_O, ROLE_GERENTE, OPERACION)
        await _register(bot, PLANEACION, ROLE_PLANEACION)
        ana = await bot.register_coordinador(coord_303, ["303"], name="Ana")
        await bot.register_coordinador(coord_403, ["403"], name="Oscar")

        reply = await bot.say(GERENTE_O, "/recordar", lambda m: "Envié" in (m.text or ""))
        assert "Envié 1 recordatorio: Oscar" in reply.text
        assert "303" not in reply.text  # «sin responsable» lists only their units
        assert bot.stub.messages_to(coord_303) == [] and len(bot.stub.messages_to(coord_403)) == 1

        team_list = await bot.say(GERENTE_O, "/equipo")
        assert "Oscar" in team_list.text and "403" in team_list.text
        assert "Ana" not in team_list.text and "303 " not in team_list.text
        assert f"Persona {GERENTE_C}" not in team_list.text
        bot.stub.press_button(GERENTE_O, f"t:dy:{ana.id}")  # forged: someone of Comercial
        await bot.idle()
        assert db.call(lambda s: s.get(Person, ana.id).active)

        bot.clock.set(datetime(2024, 4, 8, 9, 0, tzinfo=tz))  # escalation (after Fri 5th)
        await scheduler_of(bot.app).tick(bot.app.bot, wait=True)
        escalation = {chat: "\n".join(bot.texts_to(chat))
                      for chat in (GERENTE_C, GERENTE_O, PLANEACION)}
        assert "Indicadores sin reportar" in escalation[GERENTE_C]
        assert "303 " in escalation[GERENTE_C] and "403 " not in escalation[GERENTE_C]
        assert "403 " in escalation[GERENTE_O] and "303 " not in escalation[GERENTE_O]
        assert "303 " in escalation[PLANEACION] and "403 " in escalation[PLANEACION]


async def test_reabrir_of_a_gerente_acts_on_their_gerencia_only(db, two_gerencias):
    from storage.models import PeriodLock

    async with running_bot(db, clock=FrozenClock(NOW),
                           handler_modules=["handlers.reminders"]) as bot:
        await _register(bot, GERENTE_O, ROLE_GERENTE, OPERACION)
        reply = await bot.say(GERENTE_O, "/cerrar 2023-03")
        assert "quedó <b>cerrado</b>" in reply.text or "cerrado" in reply.text
        assert "9 unidades de tu gerencia" in reply.text
        refused = await bot.say(GERENTE_O, "/reabrir 2023-03 303")
        assert "Solo puedes cambiar las unidades de tu gerencia" in refused.text
    locked = db.call(lambda s: {lock.unit_clave for lock in s.exec(select(PeriodLock))})
    assert locked == OTHER_CLAVES
