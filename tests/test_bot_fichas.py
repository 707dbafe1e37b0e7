"""/reprogramar and /ficha through the real Application and the Bot API stand-in."""

from __future__ import annotations

from decimal import Decimal as D

from sqlmodel import select

from bot.clock import FrozenClock
from handlers.common import STALE_BUTTON_TEXT
from storage.models import Ficha, MetaChange, ProgrammedMeta
from tests.harness import DEFAULT_NOW, add_sample_catalog, running_bot

# 3 April 2023: March is open for capture (deadline 5 April), February has closed.
COORD, OTHER, GERENTE = 1001, 1002, 2001


def _last_answer(bot) -> dict:
    return [c.params for c in bot.stub.calls if c.method == "answerCallbackQuery"][-1]


def _changes(db):
    with db.session() as s:
        return [(c.period, c.old_meta, c.new_meta, c.outcome, c.requested_by_id, c.decided_by_id)
                for c in s.exec(select(MetaChange).order_by(MetaChange.id))]


def _metas(db):
    with db.session() as s:
        return [(m.indicator_id, m.period, m.meta) for m in s.exec(select(ProgrammedMeta))]


async def test_reprogramacion_needs_the_gerentes_authorisation_and_is_logged(db):
    ids = await db.run(add_sample_catalog, 2023)
    recibos = ids["303"][0]
    async with running_bot(db, clock=FrozenClock(DEFAULT_NOW)) as bot:
        ana = await bot.register_coordinador(COORD, ["303"], name="Ana")
        await bot.register_coordinador(OTHER, ["306"], name="Beto")
        gerente = await bot.register_gerente(GERENTE, name="Gera")

        usage = await bot.say(COORD, "/reprogramar")
        assert "Uso:" in usage.text
        closed = await bot.say(COORD, f"/reprogramar {recibos} feb-23 100 Bajó la demanda")
        assert "ya cerró" in closed.text
        short = await bot.say(COORD, f"/reprogramar {recibos} jun-23 300 corto")
        assert "justificación" in short.text
        foreign = await bot.say(OTHER, f"/reprogramar {recibos} jun-23 300 No es mía pero")
        assert "no es de tus unidades" in foreign.text
        assert _changes(db) == []

        asked = await bot.say(COORD, f"/reprogramar {recibos} jun-23 300 <b>Lluvias</b> & "
                                     "obras retrasan la entrega")
        assert "Envié tu solicitud #1" in asked.text
        request = await bot.next_message(GERENTE)
        assert "Solicitud de reprogramación #1" in request.text
        assert "<b>Lluvias</b> & obras" in request.text  # escaped: shown, not interpreted
        assert "255,835 → 300" in request.text and "Pide: Ana" in request.text
        assert _changes(db) == [("2023-06", D(255835), D(300), "pending", ana.id, None)]
        assert _metas(db) == []

        # A coordinador cannot decide, even with a forged button.
        bot.stub.press_button(COORD, "fm:a:1")
        await bot.idle()
        assert _last_answer(bot)["text"] == STALE_BUTTON_TEXT
        assert _metas(db) == []

        buttons = dict(bot.stub.buttons(GERENTE, request.message_id))
        bot.stub.press_button(GERENTE, buttons["✅ Autorizar"], message_id=request.message_id)
        told = await bot.next_message(COORD)
        assert "Tu solicitud #1 quedó autorizada" in told.text
        assert "Autorizada por Gera" in bot.stub.message(GERENTE, request.message_id)["text"]
        assert _metas(db) == [(recibos, "2023-06", D(300))]
        ((period, old, new, outcome, by, decided),) = _changes(db)
        assert (period, old, new, outcome, by, decided) == (
            "2023-06", D(255835), D(300), "authorized", ana.id, gerente.id)

        # Decided once: a second press (or a forged one for it) changes nothing.
        bot.stub.press_button(GERENTE, "fm:r:1", message_id=request.message_id)
        await bot.idle()
        assert "ya se resolvió" in _last_answer(bot)["text"]
        assert _changes(db)[0][3] == "authorized"

        # A rejected request leaves the meta alone.
        await bot.say(COORD, f"/reprogramar {recibos} jul-23 10 Otra razón para cambiarla")
        second = await bot.next_message(GERENTE)
        bot.stub.press_button(GERENTE, "fm:r:2", message_id=second.message_id)
        assert "rechazada" in (await bot.next_message(COORD)).text
        assert _metas(db) == [(recibos, "2023-06", D(300))]

        ficha = await bot.say(COORD, f"/ficha {recibos}")
        assert "Ficha técnica · indicador" in ficha.text
        assert "jun 300*" in ficha.text and "#1 jun: 255,835 → 300 · autorizada" in ficha.text
        assert "#2 jul" in ficha.text and "rechazada" in ficha.text


async def test_ficha_from_the_unit_detail_of_resumen(db):
    ids = await db.run(add_sample_catalog, 2023)
    inspeccion = ids["306"][1]
    with db.session() as s:
        s.add(Ficha(indicator_id=inspeccion, sentido="descendente", acumulacion="ultimo",
                    medio_verificacion="Bitácora <interna>", evidencia_obligatoria=True,
                    verde_min=D(100), amarillo_min=D(90), updated_at=DEFAULT_NOW))
    async with running_bot(db, clock=FrozenClock(DEFAULT_NOW)) as bot:
        await bot.register_gerente(GERENTE)
        await bot.register_coordinador(COORD, ["303"])
        reply = await bot.say(GERENTE, "/resumen mar-23")
        buttons = dict(bot.stub.buttons(GERENTE, reply.message_id))
        bot.stub.press_button(GERENTE, buttons["🔎 306"], message_id=reply.message_id)
        await bot.idle()
        buttons = dict(bot.stub.buttons(GERENTE, reply.message_id))
        bot.stub.press_button(GERENTE, buttons["📋 Fichas técnicas"],
                              message_id=reply.message_id)
        await bot.idle()
        assert "Indicadores de la unidad 306" in bot.stub.message(GERENTE, reply.message_id)[
            "text"]
        data = next(d for label, d in bot.stub.buttons(GERENTE, reply.message_id)
                    if label.startswith(f"{inspeccion} ·"))
        bot.stub.press_button(GERENTE, data, message_id=reply.message_id)
        await bot.idle()
        text = bot.stub.message(GERENTE, reply.message_id)["text"]
        assert "Sentido: descendente (menos es mejor)" in text
        assert "(2 − valor ÷ meta) × 100" in text
        assert "Bitácora <interna>" in text and "Evidencia obligatoria: sí" in text
        # A coordinador of 303 cannot open a ficha of 306, typed or forged.
        refused = await bot.say(COORD, f"/ficha {inspeccion}")
        assert "no es de tus unidades" in refused.text
        bot.stub.press_button(COORD, f"fi:i:{inspeccion}")
        await bot.idle()
        assert _last_answer(bot)["text"] == STALE_BUTTON_TEXT
        bot.stub.press_button(COORD, "fi:u:306")
        await bot.idle()
        assert _last_answer(bot)["text"] == STALE_BUTTON_TEXT
