"""The gerente's Monday: /resumen's first screen, its action buttons and the weekly digest,
through the real Application and the Bot API stand-in."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.clock import FrozenClock
from bot.domain.periods import Period
from bot.poa_report.reader import read_report
from bot.services.digest import digest_moment, week_key
from bot.services.importer import import_report
from handlers.digest import digest_of
from storage.models import Indicator, Invitation, ReminderLog, ReportedValue, Unit
from tests.harness import running_bot

MODULES = ["handlers.registration", "handlers.reminders", "handlers.summary",
           "handlers.digest"]
GERENTE, ANA, BETO = 7001, 7002, 7003
# 12 April 2023, 10:00 in Matamoros: March and Q1 closed and past their deadline.
APRIL_12 = datetime(2023, 4, 12, 15, 0, tzinfo=UTC)
# Wednesday 3 May 2023, 09:00: April ended, its deadline (Friday 5 May) not come yet.
MAY_3 = datetime(2023, 5, 3, 14, 0, tzinfo=UTC)
MATAMOROS = ZoneInfo("America/Matamoros")
README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture
def seeded(db, seed_tsv):
    db.call(import_report, read_report(seed_tsv))


def _lines(text: str) -> list[str]:
    return text.split("\n")


def plain(text: str) -> str:
    """What the person reads: the HTML without tags, entities resolved."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def _mark_late(session, clave: str, period: str) -> None:
    """One value of ``clave`` for ``period`` captured through Telegram after the deadline."""
    value = session.exec(select(ReportedValue).join(Indicator).join(Unit).where(
        Unit.clave == clave, ReportedValue.period == period)).first()
    value.source, value.late = "telegram", True
    session.add(value)


def _buttons(bot, user, message) -> dict[str, str]:
    return dict(bot.stub.buttons(user, message.message_id))


async def test_first_screen_of_the_seed(db, seeded):
    db.call(_mark_late, "303", "2023-03")
    async with running_bot(db, clock=FrozenClock(APRIL_12), handler_modules=MODULES) as bot:
        await bot.register_gerente(GERENTE)
        await bot.register_coordinador(ANA, ["305"], name="Ana López")
        reply = await bot.say(GERENTE, "/resumen mar-23")
    text = plain(reply.text)
    lines = _lines(text)
    assert len(lines) <= 25
    assert lines[0] == "Resumen POA · marzo 2023"
    assert lines[1] == "Datos al 12/04/2023 · el plazo venció el 05/04/2023"
    # Headline in reports: 23 due, 22 in, 1 missing; of those in, one late, 21 imported.
    assert lines[2] == "📋 Llegaron 22 de 23 reportes debidos · faltan 1"
    assert lines[3] == ("A tiempo 0 · tarde 1 · 21 históricos importados "
                        "(sin registro de puntualidad)")
    missing, late, red, units = (text.index("⚪ Sin reportar"), text.index("⏰ Llegaron tarde"),
                                 text.index("🔴 En rojo"), text.index("Por unidad"))
    assert missing < late < red < units
    assert "• 308 COORDINACION DE BAJOS CONSUMOS: faltan 1 de 1 — sin responsable" in lines
    assert "• 303 COORDINACION DE FACTURACION: 1 reporte tarde" in lines
    assert "• 305 CONTRATOS NUEVOS A FRACCIONADORES: 76.00%" in lines
    assert "305 COORDINACION DE CONTRATACION: 🔵2 🔴1" in lines
    assert "corte" not in text and "fuera de tiempo" not in text
    # March is closed: nobody to remind; 308 has nobody: invite.
    assert "✉️ Invitar responsable de 308" in _buttons(bot, GERENTE, reply)
    assert not any(label.startswith("🔔") for label in _buttons(bot, GERENTE, reply))


async def test_readme_shows_the_first_screen_of_the_seed(db, seeded):
    """The README's block is this test's rendering of the seed (so it is true)."""
    async with running_bot(db, clock=FrozenClock(APRIL_12), handler_modules=MODULES) as bot:
        await bot.register_gerente(GERENTE)
        reply = await bot.say(GERENTE, "/resumen mar-23")
        labels = [label for label, _ in bot.stub.buttons(GERENTE, reply.message_id)]
    block = plain(reply.text) + "\n\n" + "  ".join(f"[{label}]" for label in labels)
    readme = README.read_text(encoding="utf-8")
    indented = "\n".join(f"  {line}" if line else "" for line in block.split("\n"))
    assert f"  ```\n{indented}\n  ```" in readme, block


@pytest.mark.parametrize(("code", "asked", "due", "received", "imported", "note"), [
    ("2023-03", "mar-23", 23, 22, 22, "el plazo venció el 05/04/2023"),
    ("2023-Q1", "2023-T1", 53, 51, 51, "el plazo venció el 05/04/2023"),
    ("2023", "2023", 53, 51, 51, "el plazo venció el 05/04/2023 · periodo en curso"),
])
async def test_headlines_of_the_seed(db, seeded, code, asked, due, received, imported, note):
    async with running_bot(db, clock=FrozenClock(APRIL_12), handler_modules=MODULES) as bot:
        await bot.register_gerente(GERENTE)
        text = plain((await bot.say(GERENTE, f"/resumen {asked}")).text)
    assert f"Datos al 12/04/2023 · {note}" in text
    assert (f"Llegaron {received} de {due} reportes debidos · faltan {due - received}"
            in text)
    assert (f"A tiempo 0 · tarde 0 · {imported} históricos importados "
            "(sin registro de puntualidad)") in text
    assert len(_lines(text)) <= 25


def _report_half_of_april(session) -> int:
    """Values for April of 303, 304, 305 (captured on time through Telegram)."""
    count = 0
    april = Period.month(2023, 4)
    for indicator in session.exec(select(Indicator).join(Unit).where(
            Indicator.frecuencia == "MENSUAL", Unit.clave.in_(["303", "304", "305"]))).all():
        session.add(ReportedValue(
            indicator_id=indicator.id, period=april.code, year=2023, period_start=april.start,
            period_end=april.end, value=indicator.meta, meta=indicator.meta,
            reported_at=MAY_3, source="telegram", late=False))
        count += 1
    return count


async def test_half_reported_current_month_and_the_reminder_button(db, seeded):
    reported = db.call(_report_half_of_april)
    async with running_bot(db, clock=FrozenClock(MAY_3), handler_modules=MODULES) as bot:
        await bot.register_gerente(GERENTE)
        await bot.register_coordinador(ANA, ["306"], name="Ana")
        await bot.register_coordinador(BETO, ["303"], name="Beto")
        reply = await bot.say(GERENTE, "/resumen")  # April, the last closed month
        text = plain(reply.text)
        due = db.call(lambda s: len(s.exec(select(Indicator.id).where(
            Indicator.frecuencia == "MENSUAL")).all()))
        assert text.startswith("Resumen POA · abril 2023\nDatos al 03/05/2023 · el plazo vence "
                               "el 05/05/2023: lo que falta aún está a tiempo")
        assert (f"Llegaron {reported} de {due} reportes debidos · faltan {due - reported}"
                in text)
        assert f"A tiempo {reported} · tarde 0" in text and "importados" not in text
        assert "• 306 COORDINACION DE ALTOS CONSUMOS: faltan 5 de 5 (en plazo) — Ana" in text
        assert "(en plazo) — sin responsable" in text
        assert "Llegaron tarde" not in text
        assert len(_lines(text)) <= 25
        buttons = _buttons(bot, GERENTE, reply)
        assert "🔔 Recordar a Ana" in buttons and "🔔 Recordar a Beto" not in buttons
        # First tap: Ana gets a reminder now; the gerente is told.
        answer = await bot.press(GERENTE, buttons["🔔 Recordar a Ana"])
        assert "Le envié a Ana un recordatorio" in answer.text
        reminder = await bot.next_message(ANA)
        assert "Recordatorio POA" in reminder.text and "abril 2023" in reminder.text
        # Second tap the same day: already reminded, nothing sent.
        again = await bot.press(GERENTE, buttons["🔔 Recordar a Ana"])
        assert again.text == "Ana ya recibió un recordatorio hoy: no se lo repito."
        await bot.idle()
        assert sum("Recordatorio POA" in t for t in bot.texts_to(ANA)) == 1
        # A month not over yet says so, without counts that contradict it.
        may = plain((await bot.say(GERENTE, "/resumen 2023-05")).text)
        assert "mayo 2023 aún no termina: nada vence todavía (plazo 05/06/2023)" in may
        assert "Llegaron" not in may and "Sin reportar" not in may
        # A coordinador's first screen has no action buttons.
        own = await bot.say(ANA, "/resumen")
        assert not any(d.startswith("rf:") for _, d in bot.stub.buttons(ANA, own.message_id))


async def test_coordinador_cannot_press_action_buttons(db, seeded):
    async with running_bot(db, clock=FrozenClock(MAY_3), handler_modules=MODULES) as bot:
        await bot.register_coordinador(ANA, ["306"], name="Ana")
        await bot.register_gerente(GERENTE)
        bot.stub.press_button(ANA, "rf:i:308")
        bot.stub.press_button(ANA, f"rf:r:{1}")
        await bot.idle()
        assert not bot.texts_to(ANA)  # answered with an alert only
    assert db.call(lambda s: s.exec(select(Invitation).where(
        Invitation.created_by_id.is_not(None))).all()) == []


async def test_invite_button_gives_a_link_to_forward(db, seeded):
    async with running_bot(db, clock=FrozenClock(APRIL_12), handler_modules=MODULES) as bot:
        await bot.register_gerente(GERENTE)
        reply = await bot.say(GERENTE, "/resumen mar-23")
        invite = _buttons(bot, GERENTE, reply)["✉️ Invitar responsable de 308"]
        answer = await bot.press(GERENTE, invite)
        assert "Reenvía este mensaje a quien será responsable de 308" in answer.text
        token = re.search(r"\?start=([\w-]+)", answer.text).group(1)
        assert f"/start {token}" in answer.text
        welcome = await bot.say(7100, f"/start {token}")
        assert "308" in welcome.text
        after = plain((await bot.say(GERENTE, "/resumen mar-23")).text)
        assert "sin responsable" not in after
    invitations = db.call(lambda s: s.exec(select(Invitation).where(
        Invitation.created_by_id.is_not(None))).all())
    assert [i.unit_claves for i in invitations] == ["308"]


def _thirty_units(session) -> None:
    for n in range(30):
        unit = Unit(clave=str(400 + n), nombre=f"COORDINACION NUMERO {n} DE PRUEBA LARGA")
        session.add(unit)
        session.flush()
        for k in range(3):
            session.add(Indicator(year=2023, unit_id=unit.id, accion="A", nombre=f"IND {k}",
                                  meta=Decimal(10), unidad_medida="PIEZAS",
                                  frecuencia="MENSUAL", position=k))


async def test_first_screen_of_thirty_units_fits_a_phone(db):
    db.call(_thirty_units)
    async with running_bot(db, clock=FrozenClock(APRIL_12), handler_modules=MODULES) as bot:
        await bot.register_gerente(GERENTE)
        text = plain((await bot.say(GERENTE, "/resumen mar-23")).text)
    lines = _lines(text)
    assert len(lines) <= 25
    assert "📋 Llegaron 0 de 90 reportes debidos · faltan 90" in lines
    assert "⚪ Sin reportar · 30 unidades" in lines
    shown = [line for line in lines if line.startswith("• 4")]
    more = re.search(r"… y (\d+) unidades más", text)
    assert more and len(shown) + int(more.group(1)) == 30
    assert text.index("Sin reportar") < text.index("Por unidad")


def test_digest_moment_and_week():
    at = time(8, 30)
    monday = datetime(2026, 11, 30, 8, 30, tzinfo=MATAMOROS)
    assert digest_moment(monday, MATAMOROS, 1, at) == monday
    assert digest_moment(monday - timedelta(minutes=1), MATAMOROS, 1, at) == monday - \
        timedelta(days=7)
    assert digest_moment(monday + timedelta(days=6), MATAMOROS, 1, at) == monday
    assert week_key(monday) == "2026-W49"


async def test_digest_once_a_week_across_restarts(db, seeded):
    # Monday 10 April 2023, 08:30 in Matamoros (UTC-5 then).
    clock = FrozenClock(datetime(2023, 4, 10, 13, 30, tzinfo=UTC))
    async with running_bot(db, clock=clock, handler_modules=MODULES) as bot:
        await bot.register_gerente(GERENTE, name="Gerente")
        assert await digest_of(bot.app).tick(bot.app.bot) == 1
        digest = await bot.next_message(GERENTE)
        assert digest.text.startswith("📬 Resumen semanal · 10/04/2023\nResumen POA · marzo 2023")
        assert len(_lines(digest.text)) <= 25
        assert "📋 Detalle por unidad" in _buttons(bot, GERENTE, digest)
        await bot.restart()
        clock.advance(timedelta(days=2))
        assert await digest_of(bot.app).tick(bot.app.bot) == 0  # same week, after a restart
        # The next Monday it goes again at 08:30, not before, and once.
        clock.set(datetime(2023, 4, 17, 13, 29, tzinfo=UTC))
        assert await digest_of(bot.app).tick(bot.app.bot) == 0
        clock.advance(timedelta(minutes=1))
        assert await digest_of(bot.app).tick(bot.app.bot) == 1
        assert await digest_of(bot.app).tick(bot.app.bot) == 0
        await bot.idle()
        assert sum(t.startswith("📬") for t in bot.texts_to(GERENTE)) == 2
    rows = db.call(lambda s: s.exec(select(ReminderLog.period, ReminderLog.outcome).where(
        ReminderLog.stage == "digest")).all())
    assert sorted(rows) == [("2023-W15", "sent"), ("2023-W16", "sent")]


async def test_digest_missed_while_down_is_sent_once_at_start(db, seeded):
    # The bot was down on Monday; it starts on Wednesday 12 April: this week's digest goes.
    async with running_bot(db, clock=FrozenClock(APRIL_12), handler_modules=MODULES,
                           settings_overrides={"poa_digest_day": "lunes",
                                               "poa_digest_time": "08:30"}) as bot:
        await bot.register_gerente(GERENTE)
        assert await digest_of(bot.app).tick(bot.app.bot) == 1
        await bot.restart()
        assert await digest_of(bot.app).tick(bot.app.bot) == 0
    async with running_bot(db, clock=FrozenClock(APRIL_12), handler_modules=MODULES,
                           settings_overrides={"poa_digest_day": "off"}) as bot:
        assert await digest_of(bot.app).tick(bot.app.bot) == 0


def test_unit_detail_and_escalation_say_sin_responsable(db, seeded):
    from bot.services.summary import build_summary
    from bot.services.summary_pages import unit_pages

    summary = db.call(build_summary, Period.month(2023, 3), today=date(2023, 4, 12))
    assert "Responsable: sin responsable" in unit_pages(summary, "308")[0].text


def test_overdue_follows_the_business_day_deadline(db):
    """April 2026: March's deadline, Sunday 5, moves to Monday 6 as for reminders."""
    from bot.domain.calendar import EVERY_DAY, BusinessDays
    from bot.services.summary import build_summary
    from tests.harness import add_sample_catalog

    db.call(add_sample_catalog, 2026)
    march, monday = Period.month(2026, 3), date(2026, 4, 6)
    moved = db.call(build_summary, march, today=monday, business_days=BusinessDays())
    plain_day = db.call(build_summary, march, today=monday, business_days=EVERY_DAY)
    assert all(not line.overdue_periods and not line.late for line in moved.lines)
    assert any(line.due_periods for line in moved.lines)
    assert all(line.overdue_periods == line.due_periods for line in plain_day.lines)
    tuesday = db.call(build_summary, march, today=date(2026, 4, 7),
                      business_days=BusinessDays())
    assert all(line.overdue_periods == line.due_periods for line in tuesday.lines)


def test_cli_json_has_the_first_screen_counts(db, seeded, database_url, monkeypatch, capsys,
                                              tmp_path):
    import json

    from bot.cli import main as cli_main

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    assert cli_main(["resumen", "--period", "2023-03", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["reportes"] == {"debidos": 23, "llegaron": 22, "faltan": 1,
                                "faltan_vencidos": 1, "a_tiempo": 0, "tarde": 0,
                                "importados": 22}
    assert data["puntualidad"]["importados"] == 22 and data["puntualidad"]["a_tiempo"] == 0
