"""Stand-ins (issue 12): dates typed in es-MX, reminders and reporting only within the range,
values that record both people; /suplente through the real Application."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.clock import FrozenClock
from bot.domain.calendar import ReportingCalendar
from bot.domain.date_ranges import DateRange, DateRangeError, parse_range
from bot.domain.periods import Period
from bot.scheduler import scheduler_of
from bot.services import pending, stand_ins
from bot.services.registration import find_person
from bot.settings import Settings
from handlers.common import STALE_BUTTON_TEXT
from storage.models import Person, ReportedValue, Revision
from tests.harness import add_sample_catalog, button_data, running_bot

TZ = ZoneInfo("America/Matamoros")
ANA, BETO, GERENTE = 1001, 1002, 9001
MARCH = Period.month(2023, 3)


def local(*args) -> FrozenClock:
    return FrozenClock(datetime(*args, tzinfo=TZ).astimezone(UTC))


@pytest.mark.parametrize("text, expected", [
    ("1/12 al 15/12", (date(2025, 12, 1), date(2025, 12, 15))),
    ("del 1/12/2025 al 15/01/2026", (date(2025, 12, 1), date(2026, 1, 15))),
    ("28/12 al 5/1", (date(2025, 12, 28), date(2026, 1, 5))),
    ("3.4 - 9.4.26", (date(2026, 4, 3), date(2026, 4, 9))),
    ("20/11 al 22/11", (date(2025, 11, 20), date(2025, 11, 22))),  # began, not over
])
def test_ranges_in_es_mx(text, expected):
    assert parse_range(text, date(2025, 11, 21)) == DateRange(*expected)


@pytest.mark.parametrize("text, message", [
    ("mañana", "No entendí las fechas"), ("31/2 al 3/3", "no es una fecha válida"),
    ("1/11 al 5/11", "ya terminó"), ("1/12/2025 al 1/1/2027", "como máximo"),
    ("15/12/2025 al 1/12/2025", "anterior a la inicial"),
])
def test_bad_ranges_say_why(text, message):
    with pytest.raises(DateRangeError, match=message):
        parse_range(text, date(2025, 11, 21))


def _people(session):
    return {p.name: p.id for p in session.exec(select(Person))}


async def test_stand_in_covers_only_within_its_range_and_values_record_both(db):
    await db.run(add_sample_catalog)
    # 3 April 2023, 09:00: a reminder day; Beto stands in for Ana from 3 to 5 April.
    async with running_bot(db, clock=local(2023, 4, 3, 9, 0)) as bot:
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        await bot.register_coordinador(BETO, ["305"], name="Beto")
        await bot.register_gerente(GERENTE, name="Gerente")
        people = await db.run(_people)

        # Ana names Beto through /suplente: one unit, so no unit question.
        ask = await bot.say(ANA, "/suplente 3/4 al 5/4")
        assert "¿Quién suple?" in ask.text and [b for b, _ in ask.buttons] == ["Beto"]
        done = await bot.press(ANA, button_data(ask, "Beto"))
        assert "Beto suple a Ana (todas sus unidades) del 3/4/2023 al 5/4/2023" in done.text
        assert "Quedaste como suplente de Ana" in (await bot.next_message(BETO)).text
        # A coordinador cannot name one for somebody else (forged button).
        bot.stub.press_button(BETO, f"su:s:{people['Ana']}:{people['Beto']}:20230403:20230405")
        assert "Solo puedes nombrar suplente para ti" in (await bot.next_message(BETO)).text

        # Reminders: Beto is reminded of 303 too, Ana still gets hers.
        await scheduler_of(bot.app).tick(bot.app.bot, wait=True)
        reminder = await bot.next_message(BETO, lambda m: "303" in (m.text or ""))
        assert "305" in reminder.text
        assert any("303" in t for t in bot.texts_to(ANA))

        # Beto reports 303 (now one of the units he may pick) on Ana's behalf.
        choose = await bot.say(BETO, "/reportar")
        assert {label.split()[0] for label, _ in choose.buttons} == {"303", "305"}
        card = await bot.press(BETO, button_data(choose, "303"))
        card = await bot.choose_period(BETO, card, "marzo")  # 303 owes March only
        assert "303 FACTURACION · marzo 2023 · faltan 3 de 3" in card.text
        described = await bot.press(BETO, button_data(card, "Ver descripciones"))
        assert "RECIBOS ENTREGADOS A DOMICILIO" in described.text
        saved = await bot.say(BETO, "255,835")
        assert "Guardé 255,835." in saved.text  # the unit is in the name: not repeated
        await bot.press(BETO, button_data(saved, "Sin observaciones"))
        pending_text = (await bot.say(BETO, "/pendientes")).text
        assert "303" in pending_text and "• Lecturas tomadas" in pending_text
        await bot.say(BETO, "/cancelar")

        # 6 April: the range is over; the same buttons are refused, nothing is saved.
        bot.clock.set(datetime(2023, 4, 6, 9, 0, tzinfo=TZ).astimezone(UTC))
        choose = await bot.say(BETO, "/reportar")
        assert all(not label.startswith("303") for label, _ in choose.buttons)
        bot.stub.press_button(BETO, "r:p:303:2023-03")  # March of 303, as a reminder offers
        await bot.idle()
        answers = [c.params for c in bot.stub.calls if c.method == "answerCallbackQuery"]
        assert answers[-1].get("text") == STALE_BUTTON_TEXT

    def stored(session):
        value = session.exec(select(ReportedValue)).one()
        revisions = session.exec(select(Revision).order_by(Revision.id)).all()
        return (value.value, value.reported_by_id, value.on_behalf_of_id,
                [(r.person_id, r.on_behalf_of_id) for r in revisions])
    value, by, behalf, revisions = await db.run(stored)
    assert (value, by, behalf) == (Decimal(255835), people["Beto"], people["Ana"])
    assert revisions == [(people["Beto"], people["Ana"])] * len(revisions)


async def test_service_rules_one_unit_cancel_and_reminders(db):
    await db.run(add_sample_catalog)
    async with running_bot(db, clock=local(2023, 4, 3, 9, 0)) as bot:
        await bot.register_coordinador(ANA, ["303", "306"], name="Ana")
        await bot.register_coordinador(BETO, ["305"], name="Beto")
        await bot.register_gerente(GERENTE, name="Gerente")
        people = await db.run(_people)
        # The gerente names Beto for Ana's 306 only, through the chat.
        ask = await bot.say(GERENTE, "/suplente 4/4 al 10/4")
        pick = await bot.press(GERENTE, button_data(ask, "Ana"))
        units = await bot.press(GERENTE, button_data(pick, "Beto"))
        assert units.buttons[0][0] == "Todas sus unidades"
        done = await bot.press(GERENTE, button_data(units, "306"))
        assert "Beto suple a Ana (unidad 306) del 4/4/2023 al 10/4/2023" in done.text
        assert "Quedaste como suplente de Ana para la unidad 306" in (
            await bot.next_message(BETO)).text
        listing = await bot.say(BETO, "/suplente")
        assert "Beto suple a Ana (unidad 306)" in listing.text and not listing.buttons

    calendar = ReportingCalendar.from_settings(Settings(_env_file=None))
    now = datetime(2023, 4, 5, 15, tzinfo=UTC)

    def check(session):
        before = find_person(session, BETO, date(2023, 4, 3)).covering
        during = find_person(session, BETO, date(2023, 4, 4)).covering
        owed = len(pending.pending_indicators(session, people["Beto"], MARCH, "306",
                                              today=date(2023, 4, 5)))
        not_303 = pending.pending_indicators(session, people["Beto"], MARCH, "303",
                                             today=date(2023, 4, 5))
        reminded = pending.pending_for_coordinators(session, MARCH, now, calendar)
        return before, [u.clave for u in during], owed, not_303, reminded
    before, during, owed, not_303, reminded = await db.run(check)
    assert before == () and during == ["306"] and owed == 2 and not_303 == []
    assert reminded[people["Beto"]].unit_claves == ("305", "306")
    assert reminded[people["Ana"]].unit_claves == ("303", "306")

    view = (await db.run(stand_ins.listing, None, date(2023, 4, 4)))[0]
    with pytest.raises(stand_ins.StandInError):  # Beto is not the absent one
        await db.run(stand_ins.cancel, actor_id=people["Beto"], stand_in_row_id=view.id,
                     now=now)
    await db.run(stand_ins.cancel, actor_id=people["Ana"], stand_in_row_id=view.id, now=now)
    assert (await db.run(find_person, BETO, date(2023, 4, 5))).covering == ()
    with pytest.raises(stand_ins.StandInError, match="otro coordinador"):
        await db.run(stand_ins.create, actor_id=None, absent_id=people["Ana"],
                     stand_in_id=people["Gerente"], unit_clave=None,
                     dates=DateRange(date(2023, 4, 5), date(2023, 4, 6)), now=now)
