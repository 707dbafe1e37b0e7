"""The demo's web chat: a Telegram-like page over the Bot API stand-in.

It serves in the stand-in's event loop (one thread, started by ``bot/demo/launch.py``), so
it reads and drives the stand-in directly: what you type is queued as a Telegram update
(``send_text``), a tap on a button is a callback query (``press_button``), and what you see is
the stand-in's record of each chat after edits. The bot itself runs elsewhere (the main
thread, ``run``'s code path) and only talks to the stand-in over HTTP, as with Telegram.

Endpoints (all on 127.0.0.1):

* ``GET /`` and ``/static/...``: the page (``bot/demo/static``), nothing fetched from outside;
* ``GET /api/state?chat=ID&since=V``: the people, the clock and that chat; a long poll that
  answers once something changed after version ``V`` (or after 25 s);
* ``POST /api/send`` ``{chat, text}`` and ``POST /api/press`` ``{chat, message_id, data}``;
* ``POST /api/clock`` ``{at}``: move the demo clock and run the reminder tick at once;
* ``GET /api/files/{file_id}``: a document or photo the bot sent.
"""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import Callable
from datetime import datetime
from importlib import resources
from typing import Any
from urllib.parse import quote

from aiohttp import web
from babel.dates import format_datetime
from telegram.ext import Application

from bot.clock import OffsetClock
from bot.demo.seed import DemoPerson
from bot.domain.calendar import ESCALATION, ReportingCalendar, periods_with_deadline_in
from bot.scheduler import FanOutResult, scheduler_of
from bot.telegram_standin import BotApiStub
from storage.models import ROLE_GERENTE

LOCALE = "es_MX"
LONG_POLL_SECONDS = 25
MAX_TEXT = 4096  # a message longer than Telegram allows is refused here, as the app would
JUMPS = 4  # upcoming reminder/escalation moments offered by the clock control


class BotBridge:
    """Runs the reminder tick on the bot's event loop (another thread) from the web chat."""

    def __init__(self) -> None:
        self.application: Application | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def attach(self, application: Application,
               on_ready: Callable[[], None] = lambda: None) -> None:
        """Learn the bot's loop when it starts (after ``run``'s own post_init), and call
        ``on_ready`` once it is running: polling, jobs, and Ctrl-C handled by PTB (a stop
        signal in the middle of PTB's start-up is not handled cleanly, so a newcomer is told
        the demo is ready only after it)."""
        inner = application.post_init

        async def ready(_context: object) -> None:
            on_ready()

        async def post_init(app: Application) -> None:
            if inner is not None:
                await inner(app)
            self.application, self.loop = app, asyncio.get_running_loop()
            # Jobs run once the JobQueue starts, which is the last step of PTB's start-up.
            app.job_queue.run_once(ready, when=0, name="poa-demo-ready")

        application.post_init = post_init

    async def tick(self) -> FanOutResult | None:
        """What the scheduler's minute tick does, now. None: the bot is not running."""
        app, loop = self.application, self.loop
        if app is None or loop is None or loop.is_closed():
            return None
        future = asyncio.run_coroutine_threadsafe(
            scheduler_of(app).tick(app.bot, wait=True), loop)
        return await asyncio.wrap_future(future)


class DemoChat:
    """The web chat of one demo: people, clock and the stand-in they talk through."""

    def __init__(self, stub: BotApiStub, people: list[DemoPerson], clock: OffsetClock,
                 calendar: ReportingCalendar, bridge: BotBridge) -> None:
        self.stub = stub
        self.people = {p.user_id: p for p in people}
        self.clock = clock
        self.calendar = calendar
        self.bridge = bridge
        self.closing = False
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    # --- lifecycle (in the stand-in's loop) ---------------------------------------------
    async def start(self, port: int) -> None:
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/api/state", self._state)
        app.router.add_post("/api/send", self._send)
        app.router.add_post("/api/press", self._press)
        app.router.add_post("/api/clock", self._move_clock)
        app.router.add_get("/api/files/{file_id}", self._file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        self.closing = True
        self.stub.notify()  # long polls answer now instead of holding the shutdown
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    # --- the page -----------------------------------------------------------------------
    async def _index(self, request: web.Request) -> web.Response:
        return self._static_file("index.html")

    async def _static(self, request: web.Request) -> web.Response:
        return self._static_file(request.match_info["name"])

    @staticmethod
    def _static_file(name: str) -> web.Response:
        folder = resources.files("bot.demo") / "static"
        if "/" in name or name.startswith(".") or not (folder / name).is_file():
            raise web.HTTPNotFound()
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return web.Response(body=(folder / name).read_bytes(), content_type=content_type,
                            charset="utf-8" if content_type.startswith("text/") else None,
                            headers={"Cache-Control": "no-store"})

    # --- state --------------------------------------------------------------------------
    async def _state(self, request: web.Request) -> web.Response:
        chat_id = self._person(request.query.get("chat") or next(iter(self.people))).user_id
        try:
            since = int(request.query.get("since", "-1"))
        except ValueError:
            raise web.HTTPBadRequest(text="since") from None
        if since >= 0 and not self.closing:
            await self.stub.wait_for_change(since, LONG_POLL_SECONDS)
        if self.closing:
            raise web.HTTPServiceUnavailable(text="La demo terminó.")
        return web.json_response(self.state(chat_id))

    def state(self, chat_id: int) -> dict[str, Any]:
        return {
            "version": self.stub.version,
            "clock": self._clock_state(),
            "bot_api": self.stub.base_url.rsplit("/", 1)[0],
            "people": [self._person_state(p) for p in self.people.values()],
            "chat": {
                "id": chat_id,
                "messages": [self._message_state(m) for m in self.stub.chat_messages(chat_id)],
                "commands": self.stub.visible_commands(chat_id),
                "answers": [{"text": a.text, "alert": a.show_alert, "version": a.version}
                            for a in self.stub.callback_answers if a.user_id == chat_id],
            },
        }

    def _person_state(self, person: DemoPerson) -> dict[str, Any]:
        detail = ("Gerente" if person.role == ROLE_GERENTE
                  else " · ".join(f"{clave} {nombre}" for clave, nombre in person.units))
        bot_messages = sum(1 for m in self.stub.chat_messages(person.user_id)
                           if m["from"].get("is_bot"))
        return {"id": person.user_id, "name": person.name, "role": person.role,
                "detail": detail, "bot_messages": bot_messages}

    def _message_state(self, message: dict[str, Any]) -> dict[str, Any]:
        document, photo = message.get("document"), message.get("photo")
        return {
            "id": message["message_id"],
            "from": "bot" if message["from"].get("is_bot") else "user",
            "text": message.get("text", message.get("caption", "")),
            "entities": message.get("entities", message.get("caption_entities", [])),
            "date": self._label(datetime.fromtimestamp(message["date"], self.calendar.timezone),
                                "d MMM, HH:mm"),
            "edited": "edit_date" in message,
            "buttons": [[{"text": b.get("text", ""), "data": b.get("callback_data"),
                          "url": b.get("url")} for b in row]
                        for row in (message.get("reply_markup") or {}).get("inline_keyboard",
                                                                            [])],
            "document": ({"file_id": document["file_id"], "name": document.get("file_name", ""),
                          "size": document.get("file_size", 0)} if document else None),
            "photo": {"file_id": photo[-1]["file_id"]} if photo else None,
        }

    def _clock_state(self) -> dict[str, Any]:
        now = self.calendar.local(self.clock())
        jumps = []
        for stage in self.calendar.upcoming_stages(now, JUMPS):
            month = periods_with_deadline_in(stage.year, stage.month)[0]
            if stage.kind == ESCALATION:
                what = f"Aviso al gerente: quién no reportó {month.label}"
            else:
                last = " (el último)" if stage.is_last_reminder else ""
                what = f"Recordatorio{last} de {month.label}"
            jumps.append({"at": stage.at.isoformat(),
                          "label": f"{self._label(stage.at, 'EEE d MMM, HH:mm')} · {what}"})
        return {"now": now.isoformat(timespec="minutes"),
                "input": now.strftime("%Y-%m-%dT%H:%M"),
                "label": self._label(now, "EEEE d 'de' MMMM 'de' y, HH:mm"),
                "timezone": str(self.calendar.timezone), "jumps": jumps}

    def _label(self, at: datetime, pattern: str) -> str:
        return format_datetime(self.calendar.local(at), pattern, locale=LOCALE)

    # --- actions ------------------------------------------------------------------------
    async def _send(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        person = self._person(body.get("chat"))
        text = str(body.get("text") or "").strip()
        if not text:
            raise web.HTTPBadRequest(text="Escribe un mensaje.")
        if len(text) > MAX_TEXT:
            raise web.HTTPBadRequest(text=f"Telegram no deja enviar más de {MAX_TEXT} "
                                          "caracteres en un mensaje.")
        self.stub.send_text(person.user_id, text, first_name=person.name)
        return web.json_response({"ok": True})

    async def _press(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        person = self._person(body.get("chat"))
        data, message_id = body.get("data"), body.get("message_id")
        if not isinstance(data, str) or not isinstance(message_id, int):
            raise web.HTTPBadRequest(text="data, message_id")
        if self.stub.message(person.user_id, message_id) is None:
            raise web.HTTPNotFound(text="Ese mensaje no existe.")
        self.stub.press_button(person.user_id, data, message_id)
        return web.json_response({"ok": True})

    async def _move_clock(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        try:
            at = datetime.fromisoformat(str(body.get("at")))
        except ValueError:
            raise web.HTTPBadRequest(text="Fecha y hora no válidas.") from None
        if at.tzinfo is None:  # the page's date-time field: the utility's local time
            at = at.replace(tzinfo=self.calendar.timezone)
        self.clock.set(at)
        self.stub.notify()
        result = await self.bridge.tick()
        sent = 0 if result is None else result.sent
        label = self._label(at, "EEEE d 'de' MMMM, HH:mm")
        if result is None:
            message = f"Reloj en {label}. El bot no respondió; el próximo minuto lo revisa."
        elif sent:
            message = f"Reloj en {label}: el bot envió {sent} aviso{'s' * (sent != 1)}."
        else:
            message = f"Reloj en {label}: no tocaba enviar avisos a nadie."
        return web.json_response({"ok": True, "sent": sent, "message": message})

    async def _file(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if file_id not in self.stub.files:
            raise web.HTTPNotFound()
        data, name = self.stub.files[file_id]
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        disposition = "inline" if file_id.startswith("photo") else "attachment"
        return web.Response(body=data, content_type=content_type, headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name)}"})

    # --- helpers ------------------------------------------------------------------------
    def _person(self, raw: Any) -> DemoPerson:
        try:
            return self.people[int(raw)]
        except (TypeError, ValueError, KeyError):
            raise web.HTTPNotFound(text="No hay nadie con ese número en la demo.") from None

    @staticmethod
    async def _json(request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="JSON") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="JSON")
        return body
