"""The approval cycle (issue 12) through the real Application and the Bot API stand-in:
send for review, return with a comment, correct, send again, approve (locked), reopen; the
state in /resumen, in ``poa-bot resumen --format json`` and in the log; and the setting off."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from sqlmodel import select

from bot.commands.resumen import render_json
from bot.domain.periods import Period
from bot.services import approval
from bot.services.summary import build_summary
from storage.models import ApprovalEvent, LockEvent, ReportedValue
from tests.harness import add_sample_catalog, button_data, running_bot

ANA, GERENTE = 1001, 9001
MARCH = Period.month(2023, 3)
ON = {"poa_approval_required": True}


async def report_march(bot, values=("255,835", "255,835", "150")):
    """Ana reports the three indicators of 303 for March; returns the closing summary."""
    await bot.start_report(ANA)  # one unit, one open period: the card at once
    message = None
    for value in values:
        saved = await bot.say(ANA, value)
        assert "Guardé" in saved.text, saved.text
        message = await bot.press(ANA, button_data(saved, "Sin observaciones"))
    return message


def state(session, clave="303"):
    summary = build_summary(session, MARCH, unit_clave=clave,
                            today=datetime(2023, 4, 3).date(), approval_required=True)
    return summary.units[0].approval


async def test_send_return_correct_approve_lock_and_reopen(db):
    await db.run(add_sample_catalog)
    async with running_bot(db, settings_overrides=ON) as bot:
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        await bot.register_gerente(GERENTE, name="Gerente <Comercial>")
        assert await db.run(state) == approval.CAPTURANDO

        summary = await report_march(bot)
        assert "Listo: marzo 2023" in summary.text
        sent = await bot.press(ANA, button_data(summary, "📨 Enviar a revisión"))
        assert "Enviaste 303 FACTURACION · marzo 2023 a revisión" in sent.text
        review = await bot.next_message(GERENTE)
        assert "Revisión:" in review.text and "Ana envió 303 FACTURACION" in review.text
        assert "RECIBOS ENTREGADOS A DOMICILIO" in review.text and "255,835" in review.text
        assert await db.run(state) == approval.ENVIADO
        # Under review nothing changes: /corregir finds no open period.
        assert "corregir" in (await bot.say(ANA, "/corregir")).text.lower()
        resumen = await bot.say(GERENTE, "/resumen marzo")
        assert "📨 enviado" in resumen.text

        # Devolver asks for the comment; a command in between is answered, the wait stays.
        ask = await bot.press(GERENTE, button_data(review, "↩️ Devolver"))
        assert "Escribe el comentario" in ask.text
        await bot.say(GERENTE, "/ayuda")
        done = await bot.say(GERENTE, "Revisa <b>lecturas</b>: no cuadran")
        assert "Devolviste 303" in done.text
        told = await bot.next_message(ANA)
        assert "devolvió 303 FACTURACION · marzo 2023" in told.text
        # Escaped: shown as typed, not as bold (the stand-in parses the HTML as Telegram).
        assert "Revisa <b>lecturas</b>: no cuadran" in told.text
        assert "Gerente <Comercial>" in told.text and "bold" not in str(told.result)
        assert await db.run(state) == approval.DEVUELTO
        # An old Aprobar button of the returned send is refused with the reason.
        late = await bot.press(GERENTE, button_data(review, "✅ Aprobar"))
        assert "ya no está en revisión" in late.text

        # The coordinador corrects (the period was reopened for 303) and sends again.
        choose = await bot.say(ANA, "/corregir")
        assert "¿Qué valor quieres corregir?" in choose.text
        card = await bot.press(ANA, button_data(choose, "2"))
        reason = await bot.say(ANA, "250,000")
        assert "¿Por qué cambia?" in reason.text
        corrected = await bot.say(ANA, "faltaba una ruta")
        assert "Corregido" in corrected.text, card.text
        # Below the meta (green is 100 %): the justification is asked, then it is done.
        asked = await bot.next_message(ANA)
        assert "Lecturas tomadas quedó fuera de verde" in asked.text
        await bot.say(ANA, "Una ruta no se leyó; se lee en abril", lambda m: "📝" in m.text)
        offer = await bot.say(ANA, "/enviar")
        assert "(devuelto: «Revisa <b>lecturas</b>: no cuadran»)" in offer.text
        await bot.press(ANA, button_data(offer, "📨 303"))
        review2 = await bot.next_message(GERENTE, lambda m: "Revisión:" in m.text)
        assert "250,000" in review2.text

        approved = await bot.press(GERENTE, button_data(review2, "✅ Aprobar"))
        assert "Aprobaste 303 FACTURACION · marzo 2023" in approved.text
        assert "aprobó 303 FACTURACION" in (await bot.next_message(ANA)).text
        assert await db.run(state) == approval.APROBADO
        assert "🔒 aprobado" in (await bot.say(GERENTE, "/resumen marzo")).text
        # Locked: nothing to correct, nothing to send again.
        assert "Qué valor quieres corregir" not in (await bot.say(ANA, "/corregir")).text
        assert "No tienes periodos completos" in (await bot.say(ANA, "/enviar")).text

        # /reabrir opens it (logged) and it is back to capturando.
        reopened = await bot.say(GERENTE, "/reabrir 2023-03 303")
        assert "303" in reopened.text
        assert await db.run(state) == approval.CAPTURANDO
        assert "¿Qué valor quieres corregir?" in (await bot.say(ANA, "/corregir")).text
        await bot.say(ANA, "/cancelar")

    def log(session):
        return ([(e.action, e.comment) for e in session.exec(
                    select(ApprovalEvent).order_by(ApprovalEvent.id))],
                [(e.action, e.unit_clave) for e in session.exec(
                    select(LockEvent).order_by(LockEvent.id))])
    events, locks = await db.run(log)
    assert events == [("send", ""), ("return", "Revisa <b>lecturas</b>: no cuadran"),
                      ("send", ""), ("approve", ""), ("reopen", "")]
    assert locks == [("close", "303"), ("reopen", "303"), ("close", "303"), ("close", "303"),
                     ("reopen", "303")]
    values = await db.run(lambda s: sorted(v.value for v in s.exec(select(ReportedValue))))
    assert values == [Decimal(150), Decimal(250000), Decimal(255835)]


async def test_json_shows_each_units_state(db):
    await db.run(add_sample_catalog)
    async with running_bot(db, settings_overrides=ON) as bot:
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        await bot.register_gerente(GERENTE)
        summary = await report_march(bot)
        await bot.press(ANA, button_data(summary, "📨 Enviar a revisión"))
        await bot.next_message(GERENTE)

    def both(session):
        today = datetime(2023, 4, 3).date()
        return (json.loads(render_json(build_summary(session, MARCH, today=today,
                                                     approval_required=True))),
                json.loads(render_json(build_summary(session, MARCH, today=today))))
    on, off = await db.run(both)
    assert {u["clave"]: u["aprobacion"] for u in on["unidades"]} == {
        "303": "enviado", "305": "capturando", "306": "capturando"}
    assert {u["aprobacion"] for u in off["unidades"]} == {None}


async def test_refusals_forged_buttons_and_the_setting_off(db):
    await db.run(add_sample_catalog)
    beto = 1002
    async with running_bot(db, settings_overrides=ON) as bot:
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        await bot.register_coordinador(beto, ["305"], name="Beto")
        await bot.register_gerente(GERENTE)
        # Incomplete: refused with what to do; someone else's unit: refused.
        bot.stub.press_button(ANA, "ap:s:303:2023-03")
        assert "aún le faltan" in (await bot.next_message(ANA)).text
        bot.stub.press_button(beto, "ap:s:303:2023-03")
        assert "no es tuya" in (await bot.next_message(beto)).text
        summary = await report_march(bot)
        await bot.press(ANA, button_data(summary, "📨 Enviar a revisión"))
        review = await bot.next_message(GERENTE)
        # A coordinador cannot approve; a forged id is stale.
        bot.stub.press_button(ANA, button_data(review, "✅ Aprobar"))
        bot.stub.press_button(GERENTE, "ap:ok:abc")
        await bot.idle()
        assert await db.run(state) == approval.ENVIADO
        # Sending twice: refused.
        bot.stub.press_button(ANA, "ap:s:303:2023-03")
        assert "ya está en revisión" in (await bot.next_message(ANA)).text
        # /cancelar drops a return being written.
        await bot.press(GERENTE, button_data(review, "↩️ Devolver"))
        assert "no devolví nada" in (await bot.say(GERENTE, "/cancelar")).text
        assert await db.run(state) == approval.ENVIADO

    async with running_bot(db) as bot:  # POA_APPROVAL_REQUIRED=false: today's behaviour
        assert "no está activada" in (await bot.say(ANA, "/enviar")).text
        assert "no está activada" not in (await bot.say(GERENTE, "/resumen marzo")).text
        assert "enviado" not in bot.texts_to(GERENTE)[-1]


async def test_approval_decisions_race_once(db):
    """Two gerentes press at once: one decision, the other is told."""
    await db.run(add_sample_catalog)
    other = 9002
    async with running_bot(db, settings_overrides=ON) as bot:
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        await bot.register_gerente(GERENTE, name="G1")
        await bot.register_gerente(other, name="G2")
        summary = await report_march(bot)
        await bot.press(ANA, button_data(summary, "📨 Enviar a revisión"))
        first = await bot.next_message(GERENTE)
        second = await bot.next_message(other)
        bot.stub.press_button(GERENTE, button_data(first, "✅ Aprobar"))
        bot.stub.press_button(other, button_data(second, "✅ Aprobar"))
        await bot.idle()
        texts = bot.texts_to(GERENTE) + bot.texts_to(other)
        assert sum("Aprobaste" in t for t in texts) == 1
        assert sum("ya no está en revisión" in t for t in texts) == 1

