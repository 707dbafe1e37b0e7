"""Drive the real bot through the Bot API stand-in, as people would.

Usage (any async test)::

    from tests.harness import running_bot, add_sample_catalog

    async def test_something(db):
        clock = FrozenClock(datetime(2023, 4, 3, 15, tzinfo=UTC))
        await db.run(add_sample_catalog, 2023)
        async with running_bot(db, clock=clock) as bot:
            ana = await bot.register_coordinador(1001, ["303"], name="Ana")
            bot.stub.send_text(1001, "/pendientes")
            reply = await bot.stub.wait_for_message(1001)
            ...
            await bot.restart()          # same database, fresh Application
            await bot.idle()             # every queued update handled

What it does: starts a :class:`BotApiStub` on 127.0.0.1, builds the real Application with
``bot.app.build_application`` (token and base URL pointing at the stub, the given clock and
settings overrides), starts long polling, and on exit stops everything and asserts that
Telegram would have rejected nothing (``stub.rejections`` empty) and that every button press
was answered — so no test has to remember to.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select
from telegram.ext import Application

from bot.app import build_application
from bot.clock import FrozenClock
from bot.services.registration import PersonView, register_directly
from bot.settings import Settings
from bot.telegram_standin import BotApiStub, SentMessage
from handlers import menus
from storage.db import Database
from storage.models import ROLE_COORDINADOR, ROLE_GERENTE, ActionLine, Indicator, Unit

TEST_TOKEN = "123456:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz"
TEST_BOT_USERNAME = "poa_test_bot"
DEFAULT_NOW = datetime(2023, 4, 3, 15, 0, tzinfo=UTC)  # 3 April, 09:00 in Matamoros


class BotHarness:
    """A running bot plus its stand-in Telegram; see the module docstring."""

    def __init__(self, stub: BotApiStub, db: Database, clock: FrozenClock, settings: Settings,
                 handler_modules: list[str] | None):
        self.stub = stub
        self.db = db
        self.clock = clock
        self.settings = settings
        self.handler_modules = handler_modules
        self.rate_limiter = True  # False: no 30 messages/s cap (volume tests)
        self.app: Application | None = None

    # --- lifecycle ---------------------------------------------------------------------
    async def start(self) -> Application:
        app = build_application(self.settings, self.db, clock=self.clock,
                                handler_modules=self.handler_modules,
                                rate_limiter=self.rate_limiter)
        await app.initialize()
        if app.post_init is not None:  # run_polling would call it; we start the parts by hand
            await app.post_init(app)
        await app.start()
        # poll_interval 0 and a long poll: updates arrive as soon as the stub queues them.
        await app.updater.start_polling(poll_interval=0, timeout=10)
        self.app = app
        return app

    async def stop(self) -> None:
        app, self.app = self.app, None
        if app is None:
            return
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    async def restart(self) -> Application:
        """Stop the Application and start a new one on the same database and stub."""
        await self.idle()
        await self.stop()
        return await self.start()

    async def idle(self, timeout: float = 10) -> None:
        """Wait until every queued update was fetched and completely handled."""
        await self.stub.wait_until_idle(timeout)
        app = self.app
        if app is None:
            return

        async def drained() -> None:
            quiet_rounds = 0
            # A fetched update passes through the queue and a fresh task before the processor
            # counts it; a few consecutive quiet yields rule that gap out.
            while quiet_rounds < 5:
                await asyncio.sleep(0)
                if app.update_queue.empty() and app.update_processor.in_flight == 0:
                    quiet_rounds += 1
                else:
                    quiet_rounds = 0
                    await app.update_processor.wait_idle()

        await asyncio.wait_for(drained(), timeout)
        # The start-up menu synchronisation runs in the background and sends setMyCommands;
        # on a loaded machine it can still be pacing those when the first updates are done.
        synced = app.bot_data.get(menus.SYNCED_KEY)
        if synced is not None:
            await asyncio.wait_for(synced.wait(), timeout)

    # --- people ------------------------------------------------------------------------
    async def register_coordinador(self, user_id: int, units: Sequence[str],
                                   name: str = "") -> PersonView:
        return await self.db.run(register_directly, telegram_user_id=user_id,
                                 role=ROLE_COORDINADOR, unit_claves=list(units),
                                 name=name or f"Coordinador {user_id}", now=self.clock())

    async def register_gerente(self, user_id: int, name: str = "") -> PersonView:
        return await self.db.run(register_directly, telegram_user_id=user_id, role=ROLE_GERENTE,
                                 name=name or f"Gerente {user_id}", now=self.clock())

    # --- conversation helpers ----------------------------------------------------------
    async def next_message(self, user_id: int,
                           predicate: Callable[[SentMessage], bool] | None = None,
                           ) -> SentMessage:
        """The bot's next new message (sendMessage; edits are skipped) to ``user_id``."""
        return await self.stub.wait_for_message(
            user_id, lambda m: m.method == "sendMessage" and (predicate is None or predicate(m)))

    async def say(self, user_id: int, text: str,
                  predicate: Callable[[SentMessage], bool] | None = None) -> SentMessage:
        """Send a text as ``user_id`` and return the bot's next new (matching) message."""
        self.stub.send_text(user_id, text)
        return await self.next_message(user_id, predicate)

    async def press(self, user_id: int, data: str,
                    predicate: Callable[[SentMessage], bool] | None = None) -> SentMessage:
        """Press a button as ``user_id`` and return the bot's next new (matching) message."""
        self.stub.press_button(user_id, data)
        return await self.next_message(user_id, predicate)

    async def choose_period(self, user_id: int, message: SentMessage,
                            label: str) -> SentMessage:
        """The card of the period whose button starts with ``label``.

        When there is something to choose (``message`` offers period buttons) the button is
        pressed; when there was nothing to choose (one unit, one open period) the bot already
        showed that period's card, which must then name the period."""
        matches = [data for text, data in message.buttons if text.startswith(label)]
        if matches:
            return await self.press(user_id, matches[0])
        assert label in (message.text or ""), (
            f"neither a {label!r} button nor its card: {message.text!r} {message.buttons}")
        assert not any(data.startswith(("r:p:", "c:p:")) for _t, data in message.buttons), (
            f"a period choice without {label!r}: {message.buttons}")
        return message

    async def start_report(self, user_id: int, period_label: str = "marzo") -> SentMessage:
        """``/reportar`` and, if the bot asks, the period: the card of pending values."""
        return await self.choose_period(user_id, await self.say(user_id, "/reportar"),
                                        period_label)

    def texts_to(self, chat_id: int) -> list[str]:
        return [m.text or "" for m in self.stub.messages_to(chat_id)]

    def check_telegram_rules(self) -> None:
        self.stub.assert_no_rejections()
        unanswered = self.stub.unanswered_callback_queries()
        assert not unanswered, f"callback queries never answered: {unanswered}"


def button_data(message: SentMessage, label_start: str) -> str:
    """The callback data of the message's first button whose label starts so."""
    matches = [data for label, data in message.buttons if label.startswith(label_start)]
    assert matches, f"no button {label_start!r} in {message.buttons}"
    return matches[0]


def make_settings(stub: BotApiStub, db: Database, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"telegram_bot_token": stub.token,
                              "telegram_api_base_url": stub.base_url,
                              "database_url": db.url,
                              # Functional tests type faster than a person: no per-chat pace
                              # (tests/test_chat_pacing.py sets one).
                              "telegram_chat_rate": 0}
    values.update(overrides)
    return Settings(_env_file=None, **values)


@contextlib.asynccontextmanager
async def running_bot(db: Database, *, clock: FrozenClock | None = None,
                      settings_overrides: dict[str, Any] | None = None,
                      handler_modules: list[str] | None = None,
                      rate_limiter: bool = True,
                      **stub_options: Any) -> AsyncIterator[BotHarness]:
    """Start a stub and the real Application on ``db``; see :class:`BotHarness`."""
    clock = clock or FrozenClock(DEFAULT_NOW)
    stub_options.setdefault("token", TEST_TOKEN)
    stub_options.setdefault("bot_username", TEST_BOT_USERNAME)
    # Evidence copies go to a throwaway folder unless a test names one (on PostgreSQL the
    # default would be the working directory).
    evidence_dir = tempfile.TemporaryDirectory(prefix="poa-evidence-")
    overrides = {"poa_evidence_dir": evidence_dir.name, **(settings_overrides or {})}
    async with BotApiStub(**stub_options) as stub:
        harness = BotHarness(stub, db, clock, make_settings(stub, db, **overrides),
                             handler_modules)
        harness.rate_limiter = rate_limiter
        await harness.start()
        failed = False
        try:
            yield harness
            await harness.idle()
        except BaseException:
            failed = True
            raise
        finally:
            await harness.stop()
            evidence_dir.cleanup()
            if not failed:  # do not hide the test's own failure behind this one
                harness.check_telegram_rules()


# --- a small catalog for tests -----------------------------------------------------------

SAMPLE_UNITS = {"303": "FACTURACION", "306": "ALTOS CONSUMOS", "305": "CONTRATACION"}
# (unit, nombre, meta, unidad_medida, frecuencia, aggregation) as in the real report.
SAMPLE_INDICATORS = [
    ("303", "RECIBOS ENTREGADOS A DOMICILIO", "255835", "RECIBOS", "MENSUAL", "sum"),
    ("303", "LECTURAS TOMADAS", "255835", "LECTURAS", "MENSUAL", "sum"),
    ("303", "INSPECCIONES REALIZADAS", "150", "INSPECCIONES", "MENSUAL", "sum"),
    ("306", "RECONEXION DE SERVICIO DE AGUA <PROGRAMADO> & MAS", "150", "RECONEXIONES",
     "MENSUAL", "sum"),
    ("306", "INSPECCION", "8.33", "%", "MENSUAL", "last"),
    ("305", "CONTRATOS NUEVOS A FRACCIONADORES", "150", "CONTRATOS", "MENSUAL", "sum"),
    ("305", "CONTRATOS TRIMESTRALES", "90", "CONTRATOS", "TRIMESTRAL", "sum"),
]


def add_sample_catalog(session: Session, year: int = 2023) -> dict[str, list[int]]:
    """Units 303/305/306 and a few indicators for ``year``; returns indicator ids per unit.

    One name carries ``<``, ``>`` and ``&`` on purpose: every message showing it must escape.
    """
    line = session.exec(select(ActionLine).where(ActionLine.code == "654")).first()
    if line is None:
        line = ActionLine(code="654", objetivo="IMPLEMENTAR LOS POA")
        session.add(line)
    units = {}
    for clave, nombre in SAMPLE_UNITS.items():
        unit = session.exec(select(Unit).where(Unit.clave == clave)).first()
        if unit is None:
            unit = Unit(clave=clave, nombre=nombre)
            session.add(unit)
        units[clave] = unit
    session.flush()
    ids: dict[str, list[int]] = {}
    for position, (clave, nombre, meta, medida, freq, agg) in enumerate(SAMPLE_INDICATORS):
        indicator = Indicator(year=year, unit_id=units[clave].id, action_line_id=line.id,
                              accion=f"ACCION {position}", nombre=nombre,
                              descripcion=f"Cómo se mide: {nombre.lower()}",
                              meta=Decimal(meta), unidad_medida=medida, frecuencia=freq,
                              aggregation=agg, position=position)
        session.add(indicator)
        session.flush()
        ids.setdefault(clave, []).append(indicator.id)
    return ids
