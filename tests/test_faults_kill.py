"""Fault suite: ``poa-bot run`` killed with SIGKILL at random points of 50 reporting
conversations, and started again each time.

25 coordinadores with two units each (50 conversations, three indicators per unit, some
values implausible enough to be confirmed, some off green so a justification is asked, some
remarks typed; about half of the units answered with all their values in one message and the
confirmation table's «Sí, guardar» / «Sí, con observaciones», the rest one value at a time)
report at the same time while
the real process is killed ``KILLS`` times at random instants, seeded: right after updates
were sent, once Telegram handed them over, after some of the replies, or right after a
button press was answered (its step committed, its reply not sent yet). After each restart
the people who were waiting for an answer do what a person would — ask where they were — and
go on from what the bot says. At the end, from the database:

* every value the person was shown as saved (a unit's «Listo» summary) is stored with that
  value; a unit whose «Listo» a kill swallowed (step committed, reply never sent) was at least
  shown as having nothing pending;
* every conversation reached its end, every indicator holds the value the person meant, its
  remark is the one they wrote, each change is in the revision log exactly once, and the
  justification the person wrote is stored exactly once where the value left green;
* no conversation state is left over, Telegram rejected nothing, no button was refused as
  stale, nobody read an error message, and no reminder was sent twice across the restarts.

Reproduce a failure with ``POA_FAULT_SEED=<seed printed by the test>``.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.clock import system_clock
from bot.domain.attainment import DEFAULT_BANDS
from bot.domain.calendar import ReportingCalendar
from bot.domain.periods import Period
from bot.services import justification, reminders
from bot.services.conversation import load_state
from bot.services.registration import register_directly
from bot.settings import Settings
from bot.telegram_standin import BotApiStub
from handlers.common import CONNECTION_ERROR_TEXT, DATABASE_ERROR_TEXT, ERROR_TEXT
from storage.models import (
    ROLE_COORDINADOR,
    ActionLine,
    Conversation,
    Indicator,
    Justification,
    ReportedValue,
    Revision,
    Unit,
)
from tests.harness import TEST_TOKEN

pytestmark = pytest.mark.fault

REPO = Path(__file__).resolve().parents[1]
SEED = int(os.environ.get("POA_FAULT_SEED", "20250601"))
PEOPLE = 25
UNITS_PER_PERSON = 2  # 50 conversations
INDICATORS_PER_UNIT = 3
KILLS = 12
META = Decimal(100)
# Keep last month open whatever today's date is (deadline the 28th, five days of grace).
BOT_ENV = {"POA_DEADLINE_DAY": "28", "POA_GRACE_DAYS": "5"}
WAIT = 30  # seconds: generous, for a loaded CI machine; a healthy run never waits that long
# What the person is shown as saved: a line of a unit's «Listo» summary, or a saved value
# whose remarks are asked («Indicador U01-2: 5,000 casos.», on resuming after a kill).
SAVED = re.compile(r"^(?:\d+\. )?(Indicador U\d+-\d): ([\d,.]+) (?:CASOS$|casos\.$)",
                   re.MULTILINE)
NOT_A_REPLY = ("Seguimos donde te quedaste", "Recordatorio POA", "Último recordatorio POA",
               "Tus pendientes")


@dataclass
class Person:
    user_id: int
    units: list[str]
    period: str  # the month they report (the only one owed)
    values: dict[int, Decimal]  # indicator id -> what they mean to report
    remarks: dict[int, str]  # indicator id -> remark to type ("" = "Sin observaciones")
    batch_units: set[str] = field(default_factory=set)  # answered with one message per card
    done: list[str] = field(default_factory=list)

    @staticmethod
    def justification(indicator_id: int) -> str:
        return f"Causa de la variación {indicator_id}; se corrige el próximo mes"

    @property
    def unit(self) -> str | None:
        return next((u for u in self.units if u not in self.done), None)


# --- data ---------------------------------------------------------------------------------

def seed_catalog(session: Session, period: Period, rng: random.Random) -> list[Person]:
    """50 units of three monthly indicators, the earlier months already reported (so last
    month is the only period owed), and 25 coordinadores with two units each."""
    line = ActionLine(code="900", objetivo="PRUEBAS DE FALLAS")
    session.add(line)
    session.flush()
    people = []
    for number in range(PEOPLE):
        user_id = 2001 + number
        claves, values, remarks, batch_units = [], {}, {}, set()
        for unit_number in range(UNITS_PER_PERSON):
            clave = f"U{number * UNITS_PER_PERSON + unit_number + 1:02d}"
            unit = Unit(clave=clave, nombre=f"UNIDAD {clave}")
            session.add(unit)
            session.flush()
            claves.append(clave)
            if rng.random() < 0.5:
                batch_units.add(clave)
            for k in range(1, INDICATORS_PER_UNIT + 1):
                indicator = Indicator(
                    year=period.year, unit_id=unit.id, action_line_id=line.id,
                    accion=f"ACCION {clave}-{k}", nombre=f"INDICADOR {clave}-{k}", meta=META,
                    unidad_medida="CASOS", frecuencia="MENSUAL", aggregation="sum", position=k)
                session.add(indicator)
                session.flush()
                for month in range(1, period.index):  # index: the month
                    earlier = Period.month(period.year, month)
                    session.add(ReportedValue(
                        indicator_id=indicator.id, period=earlier.code, year=earlier.year,
                        period_start=earlier.start, period_end=earlier.end, value=META,
                        meta=META, observaciones="", reported_at=datetime.now(UTC),
                        source="import", late=False))
                # One value in five is far from the meta: the bot asks to confirm it.
                values[indicator.id] = (Decimal(5000) if rng.random() < 0.2
                                        else Decimal(rng.randint(80, 120)))
                remarks[indicator.id] = (f"Nota {clave}-{k}" if rng.random() < 0.3 else "")
        register_directly(session, telegram_user_id=user_id, role=ROLE_COORDINADOR,
                          unit_claves=claves, name=f"Persona {number + 1}",
                          now=datetime.now(UTC))
        people.append(Person(user_id, claves, period.code, values, remarks, batch_units))
    return people


def planned_reminders(session: Session) -> dict[int, int]:
    """Reminders the start-up catch-up will send now (depends on today's date), per chat."""
    calendar = ReportingCalendar.from_settings(Settings(_env_file=None, **{
        k.lower(): v for k, v in BOT_ENV.items()}))
    return Counter(d.chat_id for d in reminders.plan_due(session, system_clock(), calendar))


def fewest_steps(person: Person) -> int:
    """A lower bound of the person's actions (the kill points fall within it): /reportar and
    the unit's button for the first unit, /reportar for the second; per unit one message and
    «Sí» (all at once) or a value and the remarks per indicator; a confirmation per value far
    from the meta. Justifications and remarks after «Sí, con observaciones» come on top."""
    steps = UNITS_PER_PERSON + 1
    for unit in person.units:
        steps += 2 if unit in person.batch_units else 2 * INDICATORS_PER_UNIT
    return steps + sum(1 for value in person.values.values() if value > 2 * META)


# --- the process ------------------------------------------------------------------------

class Fleet:
    """The bot process, the people's in-flight steps and the killer's bookkeeping."""

    def __init__(self, stub: BotApiStub, env: dict[str, str], workdir: Path):
        self.stub = stub
        self.env = env
        self.workdir = workdir
        self.process: asyncio.subprocess.Process | None = None
        self.gate = asyncio.Event()  # set: people may send (the bot is up, no kill pending)
        self.killed = asyncio.Event()  # replaced at every kill
        self.in_flight: set[int] = set()
        self.recovering: set[int] = set()
        self.actions = 0
        self.starts = 0
        self.changed = asyncio.Condition()

    async def notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def wait_until(self, condition) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(condition), WAIT)

    async def start(self) -> None:
        # deleteWebhook is the last call before polling starts.
        before = len([c for c in self.stub.calls if c.method == "deleteWebhook"])
        log = open(self.workdir / f"bot-{self.starts}.log", "wb")  # noqa: SIM115
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", cwd=self.workdir, env=self.env,
            stdout=log, stderr=log)
        log.close()
        self.starts += 1
        await self.stub.wait_for_calls("deleteWebhook", before + 1, timeout=60)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        await self.process.wait()
        self.recovering |= self.in_flight
        self.killed.set()
        self.killed = asyncio.Event()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:]
                         for p in sorted(self.workdir.glob("bot-*.log")))


# Said before the answer to the same step, never alone: the count saved by «Sí» («✅ Guardé
# 2 valores. Faltan 2 preguntas:»). (Echoed remarks and justifications head the answer.)
PREAMBLE = re.compile(r"✅ Guardé \d+ valor(es)?\. Falta")


def is_reply(message) -> bool:
    """The bot's answer to a step: the question that follows (or the end), so that the state
    read next is the one that answer left."""
    text = message.text or ""
    return (message.method == "sendMessage" and not text.startswith(NOT_A_REPLY)
            and not PREAMBLE.match(text))


async def act(fleet: Fleet, person: Person, db) -> bool:
    """One step of the person's conversation, chosen from where the bot has them; False
    when they have nothing left to do."""
    unit = person.unit
    if unit is None:
        return False
    state = await db.run(load_state, person.user_id)
    step, indicator = state.get("step"), state.get("indicator")
    stub, user = fleet.stub, person.user_id
    if step is None:
        stub.send_text(user, "/reportar")
    elif step == "unit":
        stub.press_button(user, f"r:u:{unit}")
    elif step == "period":
        stub.press_button(user, f"r:p:{state['unit']}:{person.period}")
    elif step == "value":
        ids = state.get("ids") or [indicator]
        if state.get("batch") and state.get("unit") in person.batch_units:
            stub.send_text(user, " ".join(str(person.values[i]) for i in ids))  # all at once
        else:
            stub.send_text(user, str(person.values[indicator]))  # the first one alone
    elif step == "table":
        wants_remarks = any(person.remarks[i] for i in state["ids"])
        stub.press_button(user, f"r:bt:{'obs' if wants_remarks else 'ok'}")
    elif step == "justify":
        stub.send_text(user, person.justification(indicator))
    elif step == "confirm":
        stub.press_button(user, f"r:ok:{indicator}")
    elif step == "remarks":
        if person.remarks[indicator]:
            stub.send_text(user, person.remarks[indicator])
        else:
            stub.press_button(user, f"r:nr:{indicator}")
    else:
        raise AssertionError(f"unexpected state {state}")
    fleet.actions += 1
    return True


def note_reply(person: Person, text: str) -> None:
    """A unit is done when the bot says so: its «Listo» summary, «nothing pending» for it, or
    for all (a /reportar after a kill swallowed a «Listo» goes to the unit still owed, so the
    summary read may be another unit's than the one the person started with)."""
    everything = text.startswith("No tienes indicadores pendientes en periodos abiertos")
    for unit in person.units:
        finished = everything or ("Listo: " in text and f"· {unit} " in text) or (
            f"pendientes de la unidad {unit} " in text)
        if finished and unit not in person.done:
            person.done.append(unit)


async def run_person(fleet: Fleet, person: Person, db) -> None:
    while True:
        await fleet.gate.wait()
        if person.user_id in fleet.recovering:
            # "Where was I?": once its answer is here, everything sent before was handled
            # (a chat's updates are handled in order), so the state read next is final.
            fleet.stub.send_text(person.user_id, "/pendientes")
            await fleet.stub.wait_for_message(
                person.user_id, lambda m: (m.text or "").startswith("Tus pendientes"), WAIT)
            if (await db.run(load_state, person.user_id)).get("flow"):
                # ...followed by the question they were at: what a person reads next.
                await fleet.stub.wait_for_message(
                    person.user_id,
                    lambda m: (m.text or "").startswith("Seguimos donde te quedaste"), WAIT)
            fleet.recovering.discard(person.user_id)
            await fleet.notify()
            continue
        fleet.in_flight.add(person.user_id)
        killed = fleet.killed
        if not await act(fleet, person, db):
            fleet.in_flight.discard(person.user_id)
            await fleet.notify()
            return
        await fleet.notify()
        reply = asyncio.ensure_future(fleet.stub.wait_for_message(person.user_id, is_reply,
                                                                  WAIT))
        kill = asyncio.ensure_future(killed.wait())
        await asyncio.wait({reply, kill}, return_when=asyncio.FIRST_COMPLETED)
        kill.cancel()
        if reply.done():
            note_reply(person, reply.result().text or "")
        else:
            reply.cancel()
        fleet.in_flight.discard(person.user_id)
        await fleet.notify()


async def killer(fleet: Fleet, rng: random.Random, points: list[int], done) -> list[str]:
    """Kill the bot at each action count in ``points``, at a random kind of instant."""
    plan = []
    for point in points:
        await fleet.wait_until(lambda p=point: fleet.actions >= p or done())
        if done():
            break
        fleet.gate.clear()  # nobody starts a new step; what was sent is in flight
        await fleet.wait_until(lambda: not fleet.recovering)
        flying = set(fleet.in_flight)
        how = rng.choice(["sent", "handed over", "some replies", "button answered"])
        if how == "handed over":
            await fleet.stub.wait_until_idle(WAIT)
        elif how == "some replies" and flying:
            wanted = rng.randint(1, len(flying))
            await fleet.wait_until(
                lambda flying=flying, wanted=wanted: len(flying - fleet.in_flight) >= wanted)
        elif how == "button answered":
            answers = len([c for c in fleet.stub.calls if c.method == "answerCallbackQuery"])
            presses = [u for u in flying if fleet.stub.transcript(u).rsplit("\n", 1)[-1]
                       .startswith("user pressed")]
            if presses:  # the next answer, unless every press in flight was answered already
                answered = asyncio.ensure_future(
                    fleet.stub.wait_for_calls("answerCallbackQuery", answers + 1, WAIT))
                replied = asyncio.ensure_future(fleet.wait_until(
                    lambda flying=flying: not flying & fleet.in_flight))
                await asyncio.wait({answered, replied}, return_when=asyncio.FIRST_COMPLETED)
                for waiter in (answered, replied):
                    waiter.cancel()
        await fleet.kill()
        plan.append(f"after {fleet.actions} steps ({how}, {len(flying)} in flight)")
        await fleet.start()
        fleet.gate.set()
    return plan


async def test_sigkill_at_random_points_of_50_conversations_loses_and_repeats_nothing(
        db, tmp_path):
    rng = random.Random(SEED)
    print(f"\nfault seed: POA_FAULT_SEED={SEED}")
    today = system_clock()
    period = Period.month(today.year, today.month).previous()
    people = await db.run(seed_catalog, period, rng)
    expected_reminders = await db.run(planned_reminders)
    total_steps = sum(fewest_steps(p) for p in people)
    points = sorted(rng.sample(range(10, total_steps - 20), KILLS))

    async with BotApiStub(token=TEST_TOKEN) as stub:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TEST_TOKEN,
               "TELEGRAM_API_BASE_URL": stub.base_url, "DATABASE_URL": db.url,
               "PYTHONPATH": str(REPO), **BOT_ENV}
        env.pop("WEBHOOK_URL", None)
        fleet = Fleet(stub, env, tmp_path)
        await fleet.start()
        # The start-up catch-up's reminders go out before the first kill (a kill while they
        # are in flight may repeat those few by design: see bot/services/reminders.py).
        for chat_id, count in expected_reminders.items():
            for _ in range(count):
                await stub.wait_for_message(
                    chat_id, lambda m: "ecordatorio POA" in (m.text or ""), WAIT)
        fleet.gate.set()
        tasks = [asyncio.ensure_future(run_person(fleet, p, db)) for p in people]
        for task in tasks:  # the killer stops waiting once everyone is done (or failed)
            task.add_done_callback(lambda _t: asyncio.ensure_future(fleet.notify()))
        plan = await killer(fleet, rng, points,
                            lambda: all(t.done() for t in tasks))
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), 120)
        finally:
            for task in tasks:
                task.cancel()
            print("kills:", *plan, sep="\n  ")
            fleet.process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(fleet.process.wait(), 30)
        assert code == 0, fleet.logs()

        assert len(plan) == KILLS
        stub.assert_no_rejections()
        stale = [c for c in stub.calls
                 if c.method == "answerCallbackQuery" and c.params.get("show_alert")]
        assert stale == [], stale
        texts = {p.user_id: [m.text or "" for m in stub.messages_to(p.user_id)
                             if m.method == "sendMessage"] for p in people}
        transcripts = {u: stub.transcript(p.user_id) for p in people for u in p.units}
        for person in people:
            assert sorted(person.done) == person.units, stub.transcript(person.user_id)
            for text in texts[person.user_id]:
                assert text not in (ERROR_TEXT, DATABASE_ERROR_TEXT, CONNECTION_ERROR_TEXT), \
                    stub.transcript(person.user_id)
            reminders_seen = [t for t in texts[person.user_id] if "ecordatorio POA" in t]
            assert len(reminders_seen) == expected_reminders.get(person.user_id, 0)

    def stored(session):
        values = {v.indicator_id: (v.value, v.observaciones)
                  for v in session.exec(select(ReportedValue).where(
                      ReportedValue.period == period.code))}
        revisions = Counter((r.indicator_id, r.reason == "observaciones")
                            for r in session.exec(select(Revision).where(
                                Revision.period == period.code)))
        indicators = session.exec(select(Indicator)).all()
        names = {i.nombre: i.id for i in indicators}
        states = session.exec(select(Conversation)).all()
        justified = Counter((j.indicator_id, j.text) for j in session.exec(
            select(Justification).where(Justification.period == period.code)))
        off_green = {i.id for i in indicators if i.id in values and justification.assess(
            session, i, period, values[i.id][0], DEFAULT_BANDS).off_green}
        return values, revisions, names, states, justified, off_green

    values, revisions, names, states, justified, off_green = await db.run(stored)
    assert states == []
    # What each person was shown as saved is what is stored.
    shown = set()
    for person in people:
        for text in texts[person.user_id]:
            for name, value in SAVED.findall(text):
                shown.add(name.upper())
                assert values[names[name.upper()]][0] == Decimal(value.replace(",", "")), (
                    name, text)
    # A kill right after a unit's last step swallows its «Listo» (the step is committed, the
    # reply is not sent, and the update is a duplicate when re-delivered): the person then
    # reads in /pendientes that nothing is pending for that unit.
    told_done = {u for p in people for text in texts[p.user_id] for u in p.units
                 if text.startswith("Tus pendientes")
                 and f"{u} UNIDAD {u}\nNada pendiente en periodos abiertos" in text}
    unseen_units = sorted({n[10:13] for n in set(names) - shown})
    assert set(unseen_units) <= told_done, "\n\n".join(
        transcripts[u] for u in sorted(set(unseen_units) - told_done))
    assert len(off_green) >= 10  # the run exercised the justification question
    assert {u for p in people for u in p.batch_units} and any(
        set(p.units) - p.batch_units for p in people)  # and both ways of answering
    # Every indicator holds what was meant, with its remark, each change logged once.
    for person in people:
        for indicator_id, value in person.values.items():
            assert values[indicator_id] == (value, person.remarks[indicator_id])
            assert revisions[(indicator_id, False)] == 1
            assert revisions[(indicator_id, True)] == (1 if person.remarks[indicator_id]
                                                       else 0)
            expected = Counter({(indicator_id, person.justification(indicator_id)): 1}
                               if indicator_id in off_green else {})
            assert Counter({k: n for k, n in justified.items() if k[0] == indicator_id}
                           ) == expected, indicator_id
