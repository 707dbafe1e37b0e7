"""A small, strict stand-in for the Telegram Bot API, served over real HTTP on 127.0.0.1.

Used by the tests, the benchmarks and ``poa-bot demo`` (whose web chat, ``bot/demo``, shows
its chats to a person in a browser): nothing it does leaves the machine.

Tests point python-telegram-bot at it through ``ApplicationBuilder().base_url(...)`` so the real
``Application``, ``Updater`` and request stack run unmodified. The stub is deliberately stricter
than a mock: it rejects what Telegram would reject (bad HTML, oversized texts, invalid buttons,
edits that change nothing, stale callback queries...) with Telegram's own error JSON, and it
records every rejection so a test can assert that the bot never produced one.

Everything runs in one event loop; the public synchronous helpers (``send_text``,
``press_button``...) must therefore be called from that loop's thread. ``run_in_thread`` gives a
handle whose ``call``/``run`` methods hop into the stub's loop for use from other threads.

One file (~1,350 lines) on purpose: it is one fake server whose methods share one state (chats,
messages, files, flood buckets, recorded calls); each Bot API method is a small handler, and
splitting them would only scatter that shared state across modules.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import itertools
import json
import math
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, NamedTuple

from aiohttp import web

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile refuses bigger files ("file is too big")
MAX_BUTTONS = 100
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
STALE_QUERY = "Bad Request: query is too old and response timeout expired or query ID is invalid"

# Read-only / housekeeping calls that would only add noise to ``stub.sent``.
UNRECORDED_METHODS = frozenset({"getMe", "getUpdates", "getWebhookInfo", "getMyCommands",
                                "getFile"})
# Parameters that PTB (and form/multipart clients in general) send JSON-encoded as strings.
JSON_PARAMS = frozenset(
    {"reply_markup", "scope", "commands", "entities", "caption_entities", "allowed_updates",
     "link_preview_options", "reply_parameters"}
)
INT_PARAMS = frozenset({"offset", "limit", "timeout", "message_id", "message_thread_id"})


class ApiError(Exception):
    """An error answer in Telegram's JSON shape."""

    def __init__(self, code: int, description: str, retry_after: int | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code,
                                "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


class CallbackAnswer(NamedTuple):
    """The text of an answerCallbackQuery (a toast, or an alert when ``show_alert``)."""

    user_id: int
    text: str
    show_alert: bool
    version: int  # the stub's version once recorded: newer than any the user has seen


class Rejection(NamedTuple):
    method: str
    description: str


@dataclass
class Call:
    """One HTTP request to the stub, whatever its outcome (``status`` 200 means success)."""

    method: str
    status: int
    params: dict[str, Any]
    time: float  # when it was answered (a long poll: when it returned)
    received: float | None = None  # when the request came in (None: not recorded)


@dataclass
class SentMessage:
    """A successful outgoing call of the bot.

    ``text`` is what the user reads: the message text or, for media, the caption. ``document``
    is ``(bytes, filename)`` for uploads of sendDocument/sendPhoto, ``(None, reference)`` when a
    file_id or URL was sent instead.
    """

    method: str
    chat_id: int | None
    text: str | None
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    message_id: int | None
    time: float
    caption: str | None = None
    document: tuple[bytes | None, str] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    result: Any = None

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        return buttons_of(self.reply_markup)


def buttons_of(markup: dict[str, Any] | None) -> list[tuple[str, str | None]]:
    """Flatten an inline keyboard into ``(text, callback_data)`` pairs, row by row."""
    if not markup:
        return []
    return [(b.get("text", ""), b.get("callback_data"))
            for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class StoredFile:
    """A file Telegram keeps: sent by a user in a message, or uploaded by the bot.

    ``data`` is None for a file only described by its size (a test's 25 MB document): such a
    file can be sent on by ``file_id`` but never downloaded (over the 20 MB limit anyway)."""

    kind: str  # photo | document
    file_id: str
    file_unique_id: str
    data: bytes | None
    size: int
    name: str = ""
    mime_type: str = ""

    @property
    def path(self) -> str:
        extension = self.name.rsplit(".", 1)[-1] if "." in self.name else "bin"
        folder = "photos" if self.kind == "photo" else "documents"
        return f"{folder}/{self.file_unique_id}.{extension if self.kind != 'photo' else 'jpg'}"


def utf16_len(text: str) -> int:
    # Telegram measures lengths and entity offsets in UTF-16 code units, so an emoji counts 2.
    return len(text.encode("utf-16-le")) // 2


# --------------------------------------------------------------------------------------------
# HTML parse mode, modelled on TDLib's parse_html so error wording and offsets match Telegram.
# --------------------------------------------------------------------------------------------

_TAG_ENTITY = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler", "a": "text_link", "code": "code", "pre": "pre",
    "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}
_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class HtmlError(ValueError):
    pass


def _byte_offset(text: str, index: int) -> int:
    # TDLib reports UTF-8 byte offsets, not character indexes.
    return len(text[:index].encode("utf-8"))


def _decode_entity(text: str, i: int, strict_ampersand: bool) -> tuple[str, int]:
    """Decode the character reference at ``text[i] == '&'``; returns (char, next index)."""
    m = _ENTITY_RE.match(text, i)
    if m:
        if m.group(1):
            return _NAMED[m.group(1)], m.end()
        code = int(m.group(2)) if m.group(2) else int(m.group(3), 16)
        if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
            return chr(code), m.end()
    if strict_ampersand:
        # Real Telegram keeps an unknown "&..." literally. The stub refuses it on purpose: an
        # unescaped "&" means user data reached the message without html.escape(), and the next
        # value may well contain a "<" that Telegram does reject.
        raise HtmlError(f'Unescaped "&" at byte offset {_byte_offset(text, i)}; use &amp;')
    return "&", i + 1


def parse_html(text: str, strict_ampersand: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Return (plain text, entities with UTF-16 offsets) or raise HtmlError like Telegram."""
    out: list[str] = []
    u16 = 0  # UTF-16 length of ``out`` so far, i.e. the offset of the next entity
    stack: list[tuple[str, dict[str, str], int]] = []  # (tag, attributes, start offset)
    entities: list[dict[str, Any]] = []
    n = len(text)
    i = 0
    while i < n:
        ch = text[i]
        if ch == "&":
            ch, i = _decode_entity(text, i, strict_ampersand)
            out.append(ch)
            u16 += utf16_len(ch)
            continue
        if ch != "<":
            out.append(ch)
            u16 += utf16_len(ch)
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":
            j = i + 1
            while j < n and not text[j].isspace() and text[j] != ">":
                j += 1
            end_name = text[i + 1:j].lower()
            if not stack:
                raise HtmlError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
            while j < n and text[j].isspace():
                j += 1
            if j >= n or text[j] != ">":
                raise HtmlError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            tag, attrs, start = stack.pop()
            if end_name and end_name != tag:
                raise HtmlError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{tag}>", found "</{end_name}>"')
            i = j + 1
            if u16 > start:
                entity = _make_entity(tag, attrs, start, u16 - start)
                last = entities[-1] if entities else None
                if (tag == "pre" and last and last["type"] == "code" and "language" in last
                        and last["offset"] == start and last["length"] == entity["length"]):
                    # <pre><code class="language-x"> is one pre entity with a language.
                    entities.pop()
                    entity["language"] = last["language"]
                entities.append(entity)
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] != ">":
            j += 1
        if j >= n:
            raise HtmlError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        tag = text[i:j].lower()
        if tag not in _TAG_ENTITY:
            raise HtmlError(
                f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}')
        attrs, i = _parse_attributes(text, j, tag, begin, strict_ampersand)
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlError('Tag "span" must have class "tg-spoiler" at byte offset '
                            f"{_byte_offset(text, begin)}")
        if tag == "tg-emoji" and not attrs.get("emoji-id"):
            raise HtmlError('Custom emoji entity must contain a tag "emoji-id"')
        stack.append((tag, attrs, u16))
    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _parse_attributes(text: str, j: int, tag: str, begin: int,
                      strict_ampersand: bool) -> tuple[dict[str, str], int]:
    """Parse ``name=value`` pairs up to the closing '>'; returns (attributes, index after '>')."""
    n = len(text)
    attrs: dict[str, str] = {}

    def unclosed() -> HtmlError:
        return HtmlError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")

    while True:
        while j < n and text[j].isspace():
            j += 1
        if j >= n:
            raise unclosed()
        if text[j] == ">":
            return attrs, j + 1
        k = j
        while k < n and not text[k].isspace() and text[k] not in "=>":
            k += 1
        name = text[j:k].lower()
        while k < n and text[k].isspace():
            k += 1
        if k >= n:
            raise unclosed()
        if text[k] != "=":
            if tag == "blockquote" and name == "expandable":  # the only valueless attribute
                attrs[name] = ""
                j = k
                continue
            raise HtmlError(f'Expected equal sign in declaration of an attribute of the tag "{tag}"'
                            f" at byte offset {_byte_offset(text, begin)}")
        k += 1
        while k < n and text[k].isspace():
            k += 1
        if k >= n:
            raise unclosed()
        value: list[str] = []
        quote = text[k] if text[k] in "'\"" else None
        if quote:
            k += 1
        while k < n and (text[k] != quote if quote else not text[k].isspace()
                         and text[k] != ">"):
            if text[k] == "&":
                ch, k = _decode_entity(text, k, strict_ampersand)
                value.append(ch)
            else:
                value.append(text[k])
                k += 1
        if k >= n:
            raise unclosed()
        if quote:
            k += 1
        attrs[name] = "".join(value)
        j = k


def _make_entity(tag: str, attrs: dict[str, str], offset: int, length: int) -> dict[str, Any]:
    kind = _TAG_ENTITY[tag]
    if tag == "blockquote" and "expandable" in attrs:
        kind = "expandable_blockquote"
    entity: dict[str, Any] = {"type": kind, "offset": offset, "length": length}
    if tag == "a":
        entity["url"] = attrs.get("href", "")
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = attrs["emoji-id"]
    elif tag == "code" and attrs.get("class", "").startswith("language-"):
        entity["language"] = attrs["class"][len("language-"):]
    return entity


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


def _scope_key(scope: dict[str, Any] | None, language_code: str | None) -> tuple:
    scope = scope or {"type": "default"}
    chat_id = scope.get("chat_id")
    if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
        chat_id = int(chat_id)
    return (scope.get("type", "default"), chat_id, scope.get("user_id"), language_code or "")


class BotApiStub:
    """Telegram Bot API stand-in. See the module docstring."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "poa_test_bot",
        *,
        rate_limit_per_second: float | None = None,
        per_chat_rate_limit_per_second: float | None = None,
        per_chat_burst: int | None = None,
        flood_retry_after: int | None = None,
        strict_ampersand: bool = True,
        strict_chats: bool = False,
        hang_seconds: float = 30.0,
        clock: Callable[[], float] = time.time,
    ):
        self.token = token
        self.bot_username = bot_username
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.rate_limit_per_second = rate_limit_per_second
        self.per_chat_rate_limit_per_second = per_chat_rate_limit_per_second
        # With a burst, one chat is a leaky bucket (Telegram's ~1/s with short bursts):
        # ``per_chat_burst`` sends at once, then ``per_chat_rate_limit_per_second``. Without,
        # at most that many sends in any one-second window.
        self.per_chat_burst = per_chat_burst
        self.flood_retry_after = flood_retry_after  # None: computed from the sliding window
        self.strict_ampersand = strict_ampersand
        self.strict_chats = strict_chats  # True: sending to a chat nobody wrote from → 400
        self.hang_seconds = hang_seconds  # how long an injected "timeout" keeps a request open
        self.hanging = 0  # requests held open by an injected "timeout" right now
        self.clock = clock  # Telegram's time for message dates (epoch seconds)

        # Observations for tests.
        self.calls: list[Call] = []
        self.sent: list[SentMessage] = []
        # messages_to by chat, kept as they are sent: a benchmark's 20 people each waiting for
        # their reply re-read their chat at every message, and filtering all of ``sent`` each
        # time grew with the run until the stand-in, not the bot, set the pace.
        self._texts_to: dict[int, list[SentMessage]] = {}
        self.rejections: list[Rejection] = []  # 400/401/404: the bot did something wrong
        self.forbidden: list[Rejection] = []  # 403 from blocked chats (a test's own setup)
        self.flood_rejections: list[tuple[str, int]] = []  # (method, retry_after) of each 429
        self.conflicts = 0  # getUpdates requests terminated by a newer one (two pollers)
        self.webhook_url = ""
        self.commands: dict[tuple, list[dict[str, Any]]] = {}
        self.files: dict[str, tuple[bytes, str]] = {}  # file_id -> (content, name) of uploads
        # Every file Telegram keeps (users' photos and documents, the bot's uploads), by
        # file_id; getFile, the file download URL and sending by file_id read it.
        self.stored_files: dict[str, StoredFile] = {}
        self._file_numbers = itertools.count(1)
        self.callback_answers: list[CallbackAnswer] = []
        self.version = 0  # bumped at every change (``wait_for_change``)

        # Update queue. ``_pending`` keeps updates until a getUpdates offset confirms them.
        self._update_ids = itertools.count(1)
        self._pending: list[dict[str, Any]] = []
        self._history: dict[int, dict[str, Any]] = {}
        self._redeliver: set[int] = set()
        self._poll_generation = 0

        # Chats, messages and callback queries as Telegram would know them.
        self._users: dict[int, dict[str, Any]] = {}
        self._message_ids: dict[int, itertools.count] = defaultdict(lambda: itertools.count(1))
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._bot_messages: dict[int, list[int]] = defaultdict(list)  # chat -> message ids
        self._blocked: set[int] = set()
        self._query_ids = itertools.count(1)
        self._delivered_queries: set[str] = set()
        self._answered_queries: set[str] = set()
        self._query_users: dict[str, int] = {}
        self._transcripts: dict[int, list[str]] = defaultdict(list)
        self._cursors: dict[int, int] = defaultdict(int)

        # Fault injection and flood control.
        self._injected: dict[str, deque] = defaultdict(deque)
        self._forced_retry: deque[int] = deque()
        self._window: deque[float] = deque()
        self._chat_windows: dict[int, deque[float]] = defaultdict(deque)
        self._chat_buckets: dict[int, tuple[float, float]] = {}  # chat -> (level, at)

        self._changed: asyncio.Event | None = None
        self._stopping: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> BotApiStub:
        self._changed = asyncio.Event()
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=50 * 1024 * 1024)  # Telegram's upload limit
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        # handler_cancellation: when PTB abandons a long poll, stop serving it instead of
        # letting it finish later and steal updates from the next poll.
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is None:
            return
        assert self._stopping is not None
        self._stopping.set()  # releases long polls and hung requests so cleanup is quick
        self._notify()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> BotApiStub:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def run_in_thread(self) -> StubThread:
        """Serve from a private event loop in a daemon thread (for benchmarks)."""
        return StubThread(self)

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("BotApiStub is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ---- simulating users ------------------------------------------------------------------

    def send_text(self, user_id: int, text: str, *, first_name: str = "Tester",
                  last_name: str | None = None, username: str | None = None,
                  language_code: str = "es",
                  forward_origin: dict[str, Any] | None = None) -> dict[str, Any]:
        """Queue a private text message from a user; returns the update. ``forward_origin``
        (a MessageOrigin, e.g. ``{"type": "hidden_user", "date": 0, "sender_user_name":
        "Ana"}``) makes it a forwarded message."""
        user = self._remember_user(user_id, first_name, last_name, username, language_code)
        message: dict[str, Any] = {
            "message_id": next(self._message_ids[user_id]), "from": user,
            "chat": self._chat(user_id), "date": int(self.clock()), "text": text,
        }
        if forward_origin is not None:
            message["forward_origin"] = forward_origin
        if text.startswith("/"):
            # Telegram marks the leading command; the length stops at the first whitespace.
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": utf16_len(command)}]
        self._messages[(user_id, message["message_id"])] = message
        self._transcripts[user_id].append(f"user: {text}")
        return self.queue_raw_update({"message": message})

    def send_document(self, user_id: int, data: bytes | None, file_name: str, *,
                      mime_type: str = "application/pdf", caption: str | None = None,
                      size: int | None = None) -> dict[str, Any]:
        """Queue a private message with a document; Telegram keeps the file (``getFile``
        and the download URL serve it). ``size`` with ``data=None``: a file known only by its
        size (e.g. 25 MB, over the download limit). Returns the update."""
        stored = self._store_file("document", data, size, file_name, mime_type)
        media = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                 "file_name": file_name, "mime_type": mime_type, "file_size": stored.size}
        return self._send_media(user_id, {"document": media}, caption, f"[document {file_name}]")

    def send_photo(self, user_id: int, data: bytes | None, *, caption: str | None = None,
                   size: int | None = None) -> dict[str, Any]:
        """Queue a private message with a photo (its largest size is the file sent; a smaller
        thumbnail comes first, as Telegram sends them). Returns the update."""
        stored = self._store_file("photo", data, size, "", "image/jpeg")
        thumb = self._store_file("photo", (data or b"")[:64], None, "", "image/jpeg")
        sizes = [{"file_id": thumb.file_id, "file_unique_id": thumb.file_unique_id,
                  "width": 90, "height": 60, "file_size": thumb.size},
                 {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                  "width": 1280, "height": 960, "file_size": stored.size}]
        return self._send_media(user_id, {"photo": sizes}, caption, "[photo]")

    def _send_media(self, user_id: int, media: dict[str, Any], caption: str | None,
                    shown: str) -> dict[str, Any]:
        user = self._users.get(user_id) or self._remember_user(user_id, "Tester", None, None, "es")
        message: dict[str, Any] = {"message_id": next(self._message_ids[user_id]), "from": user,
                                   "chat": self._chat(user_id), "date": int(self.clock()),
                                   **media}
        if caption:
            message["caption"] = caption
        self._messages[(user_id, message["message_id"])] = message
        self._transcripts[user_id].append(f"user: {shown} {caption or ''}".rstrip())
        return self.queue_raw_update({"message": message})

    def _store_file(self, kind: str, data: bytes | None, size: int | None, name: str,
                    mime_type: str, file_id: str | None = None) -> StoredFile:
        number = next(self._file_numbers)
        # Telegram's unique id is the same for the same content whoever sends it.
        unique = (f"u{hashlib.sha1(kind.encode() + data).hexdigest()[:16]}"
                  if data is not None else f"u-big-{number}")
        stored = StoredFile(kind, file_id or f"{kind}-file-{number}", unique, data,
                            len(data) if size is None and data is not None else int(size or 0),
                            name, mime_type)
        self.stored_files[stored.file_id] = stored
        return stored

    def _register_message_files(self, message: dict[str, Any]) -> None:
        """A message queued raw (forged by a test) may carry files the stub never saw:
        Telegram keeps every file a delivered message carries, so the stub does too (content
        made up, the declared size kept)."""
        files = [("document", message["document"])] if isinstance(
            message.get("document"), dict) else []
        if isinstance(message.get("photo"), list):
            files += [("photo", p) for p in message["photo"] if isinstance(p, dict)]
        for kind, media in files:
            file_id = str(media.get("file_id") or "")
            if not file_id or file_id in self.stored_files:
                continue
            size = media.get("file_size")
            data = None if isinstance(size, int) and size > MAX_DOWNLOAD_BYTES else (
                f"file {file_id}".encode()[:size if isinstance(size, int) else None])
            stored = self._store_file(kind, data, size if data is None else None,
                                      str(media.get("file_name") or ""),
                                      str(media.get("mime_type") or ""), file_id=file_id)
            stored.file_unique_id = str(media.get("file_unique_id") or stored.file_unique_id)

    def edit_text(self, user_id: int, message_id: int, text: str) -> dict[str, Any]:
        """Queue an ``edited_message``: the user changed the text of a message they sent."""
        original = self._messages[(user_id, message_id)]
        message = {k: v for k, v in original.items() if k != "entities"}
        message.update(text=text, edit_date=int(time.time()))
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": utf16_len(text.split(maxsplit=1)[0])}]
        self._messages[(user_id, message_id)] = message
        self._transcripts[user_id].append(f"user edited {message_id}: {text}")
        return self.queue_raw_update({"edited_message": message})

    def block_bot(self, user_id: int) -> dict[str, Any]:
        """The user blocks the bot: a ``my_chat_member`` update (member → kicked), and from
        then on sending to their chat is refused with 403 as Telegram does."""
        user = self._users.get(user_id) or self._remember_user(user_id, "Tester", None, None, "es")
        self.block_chat(user_id)
        self._transcripts[user_id].append("user blocked the bot")
        member = {"user": self._bot_user()}
        return self.queue_raw_update({"my_chat_member": {
            "chat": self._chat(user_id), "from": user, "date": int(time.time()),
            "old_chat_member": {**member, "status": "member"},
            "new_chat_member": {**member, "status": "kicked", "until_date": 0}}})

    def press_button(self, user_id: int, callback_data: str,
                     message_id: int | None = None) -> str:
        """Queue a callback query as if the user tapped a button; returns the query id."""
        user = self._users.get(user_id) or self._remember_user(user_id, "Tester", None, None, "es")
        message = self._message_with_button(user_id, callback_data, message_id)
        query_id = f"{self.bot_id}{next(self._query_ids):010d}"
        query: dict[str, Any] = {"id": query_id, "from": user, "chat_instance": f"-{user_id}42",
                                 "data": callback_data}
        if message is not None:
            query["message"] = message
        self._query_users[query_id] = user_id
        self._transcripts[user_id].append(f"user pressed: {callback_data!r}")
        self.queue_raw_update({"callback_query": query})
        return query_id

    def queue_raw_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue any update (forged ones too); an update_id is assigned if missing."""
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        if isinstance(update.get("message"), dict):
            self._register_message_files(update["message"])
        self._history[update["update_id"]] = update
        self._pending.append(update)
        self._pending.sort(key=lambda u: u["update_id"])
        self._notify()
        return update

    def redeliver(self, update_id: int) -> None:
        """Deliver an update again, as Telegram does when the bot crashed before confirming."""
        update = self._history[update_id]
        self._redeliver.add(update_id)
        if update not in self._pending:
            self._pending.append(update)
            self._pending.sort(key=lambda u: u["update_id"])
        self._notify()

    def add_user(self, user_id: int, first_name: str, language_code: str = "es") -> None:
        """Make a user known (as if they had written to the bot) without sending anything."""
        self._remember_user(user_id, first_name, None, None, language_code)

    def block_chat(self, chat_id: int) -> None:
        self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    # ---- fault injection -------------------------------------------------------------------

    def inject_errors(self, method: str, errors: Iterable[int | str]) -> None:
        """Fail the next calls of ``method``: an HTTP code (e.g. 502) or "timeout" (hang)."""
        self._injected[method.lower()].extend(errors)

    def force_retry_after(self, n_seconds: int, count: int = 1) -> None:
        """Answer the next ``count`` sending calls with 429 retry_after=n_seconds."""
        self._forced_retry.extend([n_seconds] * count)

    # ---- observing the bot -----------------------------------------------------------------

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        return list(self._texts_to.get(chat_id, ()))

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """Current state (after edits) of a message in a chat."""
        return self._messages.get((chat_id, message_id))

    def buttons(self, chat_id: int, message_id: int) -> list[tuple[str, str | None]]:
        """Buttons currently shown under a message, as (text, callback_data)."""
        message = self.message(chat_id, message_id) or {}
        return buttons_of(message.get("reply_markup"))

    def unanswered_callback_queries(self) -> list[str]:
        """Callback queries the bot received but did not answer (Telegram shows a spinner)."""
        return sorted(self._delivered_queries - self._answered_queries)

    def commands_for(self, scope: dict[str, Any] | None = None,
                     language_code: str = "") -> list[dict[str, Any]] | None:
        """Commands set for exactly this scope (None if never set)."""
        return self.commands.get(_scope_key(scope, language_code))

    def visible_commands(self, chat_id: int, language_code: str = "es") -> list[dict[str, Any]]:
        """Commands a user sees in a chat, with Telegram's scope fallback order."""
        kind = "all_private_chats" if chat_id > 0 else "all_group_chats"
        for scope in ({"type": "chat", "chat_id": chat_id}, {"type": kind}, {"type": "default"}):
            for lang in (language_code, ""):
                commands = self.commands.get(_scope_key(scope, lang))
                if commands is not None:  # an explicitly empty list falls through, like deleting
                    if commands:
                        return commands
                    break
        return []

    def chat_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Every message of a chat, the user's and the bot's, as they stand now (after
        edits), oldest first."""
        return [message for (chat, _), message in sorted(self._messages.items())
                if chat == chat_id]

    def transcript(self, chat_id: int) -> str:
        return "\n".join(self._transcripts[chat_id]) or "(nothing happened in this chat)"

    def assert_no_rejections(self) -> None:
        assert not self.rejections, f"Telegram would have rejected: {self.rejections}"

    async def wait_for_message(self, chat_id: int,
                               predicate: Callable[[SentMessage], bool] | None = None,
                               timeout: float = 10) -> SentMessage:
        """Next matching message to ``chat_id`` after the one a previous wait returned."""
        found: list[SentMessage] = []

        def check() -> bool:
            messages = self.messages_to(chat_id)
            for index in range(self._cursors[chat_id], len(messages)):
                if predicate is None or predicate(messages[index]):
                    self._cursors[chat_id] = index + 1
                    found.append(messages[index])
                    return True
            return False

        if not await self._wait(check, timeout):
            raise AssertionError(
                f"no matching message to chat {chat_id} within {timeout}s; conversation:\n"
                f"{self.transcript(chat_id)}\nrejections: {self.rejections}")
        return found[0]

    async def wait_for_calls(self, method: str, count: int = 1, timeout: float = 10, *,
                             include_failed: bool = False) -> list[Call]:
        """Wait until ``method`` was called ``count`` times (successfully, by default)."""

        def matching() -> list[Call]:
            return [c for c in self.calls
                    if c.method == method and (include_failed or c.status == 200)]

        if not await self._wait(lambda: len(matching()) >= count, timeout):
            raise AssertionError(f"{method} called {len(matching())} times, expected {count}; "
                                 f"rejections: {self.rejections}")
        return matching()

    async def wait_for_hanging(self, count: int = 1, timeout: float = 10) -> None:
        """Wait until ``count`` requests are held open by injected "timeout" faults."""
        if not await self._wait(lambda: self.hanging >= count, timeout):
            raise AssertionError(f"{self.hanging} requests hanging, expected {count}")

    async def wait_until_idle(self, timeout: float = 10) -> None:
        """Wait until every queued update was fetched and confirmed by a getUpdates offset."""
        if not await self._wait(lambda: not self._pending, timeout):
            waiting = [u["update_id"] for u in self._pending]
            raise AssertionError(f"bot did not fetch and confirm updates {waiting}")

    async def wait_for_change(self, since: int, timeout: float) -> int:
        """Wait until :attr:`version` is past ``since`` (or ``timeout`` runs out); returns
        the version (a long poll of the demo's web chat)."""
        await self._wait(lambda: self.version > since, timeout)
        return self.version

    def notify(self) -> None:
        """Tell waiters something changed outside the stub (e.g. the demo's clock)."""
        self._notify()

    async def _wait(self, condition: Callable[[], bool], timeout: float) -> bool:
        # Event-per-change instead of polling with sleeps: every state change replaces the
        # event, so waiters re-check exactly when something may have happened.
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 or self._changed is None:
                return False
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return condition()
        return True

    def _notify(self) -> None:
        self.version += 1
        if self._changed is not None:
            self._changed.set()
            self._changed = asyncio.Event()

    # ---- HTTP plumbing ---------------------------------------------------------------------

    async def _download(self, token: str, path: str) -> web.Response:
        """``GET /file/bot<token>/<file_path>``: the bytes of a file ``getFile`` described."""
        stored = next((f for f in self.stored_files.values() if f.path == path), None)
        if token != self.token or stored is None or stored.data is None:
            self.calls.append(Call("download", 404, {"file_path": path}, time.monotonic()))
            self.rejections.append(Rejection("download", f"Not Found: {path}"))
            self._notify()
            return web.json_response({"ok": False, "error_code": 404,
                                      "description": "Not Found"}, status=404)
        self.calls.append(Call("download", 200, {"file_path": path}, time.monotonic()))
        self._notify()
        return web.Response(body=stored.data, content_type="application/octet-stream")

    async def _dispatch(self, request: web.Request) -> web.Response:
        received = time.monotonic()
        download = re.fullmatch(r"/file/bot([^/]*)/(.+)", request.path)
        if download:
            return await self._download(*download.groups())
        match = re.fullmatch(r"/bot([^/]*)/([^/]+)", request.path)
        if not match:
            return self._error(ApiError(404, "Not Found"), "?", {})
        token, method = match.groups()
        try:
            params = await self._read_params(request)
        except ApiError as error:
            return self._error(error, method, {}, received)
        if token != self.token:
            return self._error(ApiError(401, "Unauthorized"), method, params, received)
        handler = self._handlers().get(method.lower())
        if handler is None:
            return self._error(ApiError(404, "Not Found"), method, params, received)
        method = _CANONICAL[method.lower()]
        try:
            await self._maybe_inject(method)
            result = await handler(params)
        except ApiError as error:
            return self._error(error, method, params, received)
        now = time.monotonic()
        self.calls.append(Call(method, 200, params, now, received))
        if method not in UNRECORDED_METHODS:
            self._record(method, params, result, now)
        self._notify()
        return web.json_response({"ok": True, "result": result})

    def _error(self, error: ApiError, method: str, params: dict[str, Any],
               received: float | None = None) -> web.Response:
        self.calls.append(Call(method, error.code, params, time.monotonic(), received))
        chat_id = params.get("chat_id")
        if error.code == 429:
            self.flood_rejections.append((method, error.retry_after or 0))
        elif error.code == 403:
            self.forbidden.append(Rejection(method, error.description))
        elif error.code in (400, 401, 404):
            self.rejections.append(Rejection(method, error.description))
            if isinstance(chat_id, int):
                self._transcripts[chat_id].append(f"REJECTED {method}: {error.description}")
        self._notify()
        return web.json_response(error.payload(), status=error.code)

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        """Merge query string and body (JSON, urlencoded or multipart) into plain values."""
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    params.update(await request.json())
                except ValueError:
                    raise bad_request("can't parse JSON object") from None
            elif request.content_type in ("application/x-www-form-urlencoded",
                                          "multipart/form-data"):
                for key, value in (await request.post()).items():
                    if isinstance(value, web.FileField):
                        params[key] = (value.file.read(), value.filename)
                    else:
                        params[key] = value
        for key, value in list(params.items()):
            if not isinstance(value, str):
                continue
            try:
                if key in JSON_PARAMS:
                    params[key] = json.loads(value)
                elif key in INT_PARAMS or (key == "chat_id" and value.lstrip("-").isdigit()):
                    params[key] = int(value)
                elif value in ("true", "false"):
                    params[key] = value == "true"
            except ValueError:
                raise bad_request(f"can't parse {key} JSON object") from None
        return params

    async def _maybe_inject(self, method: str) -> None:
        queue = self._injected.get(method.lower())
        if not queue:
            return
        fault = queue.popleft()
        if fault == "timeout":
            # Hang past the client's read timeout; released early when the stub stops.
            assert self._stopping is not None
            self.hanging += 1
            self._notify()
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.hang_seconds)
            finally:
                self.hanging -= 1
            fault = 504
        code = int(fault)
        raise ApiError(code, HTTPStatus(code).phrase)

    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
        return {name.lower(): getattr(self, f"_m_{name}") for name in _CANONICAL.values()}

    # ---- bookkeeping -----------------------------------------------------------------------

    def _record(self, method: str, params: dict[str, Any], result: Any, now: float) -> None:
        message = result if isinstance(result, dict) and "message_id" in result else None
        chat_id = message["chat"]["id"] if message else params.get("chat_id")
        upload = params.get("document", params.get("photo"))
        record = SentMessage(
            method=method,
            chat_id=chat_id if isinstance(chat_id, int) else None,
            text=(message.get("text", message.get("caption")) if message else None),
            parse_mode=params.get("parse_mode"),
            reply_markup=message.get("reply_markup") if message else params.get("reply_markup"),
            message_id=message["message_id"] if message else params.get("message_id"),
            time=now,
            caption=message.get("caption") if message else None,
            document=(upload if isinstance(upload, tuple) else (None, str(upload))
                      if upload is not None else None),
            params=params,
            result=result,
        )
        self.sent.append(record)
        if record.chat_id is not None and record.text is not None:
            self._texts_to.setdefault(record.chat_id, []).append(record)
        if record.chat_id is not None and method != "sendChatAction":
            label = f"bot {method} #{record.message_id}" if record.message_id else f"bot {method}"
            shown = record.text if record.text is not None else ""
            if record.buttons:
                shown += f" {record.buttons}"
            self._transcripts[record.chat_id].append(f"{label}: {shown}".rstrip())

    def _remember_user(self, user_id: int, first_name: str, last_name: str | None,
                       username: str | None, language_code: str) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name,
                                "language_code": language_code}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        self._users[user_id] = user
        return user

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id < 0:
            return {"id": chat_id, "type": "group", "title": f"Group {chat_id}"}
        user = self._users.get(chat_id, {})
        chat = {"id": chat_id, "type": "private", "first_name": user.get("first_name", "User")}
        if "username" in user:
            chat["username"] = user["username"]
        return chat

    def _bot_user(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "POA Test Bot",
                "username": self.bot_username}

    def _message_with_button(self, chat_id: int, data: str,
                             message_id: int | None) -> dict[str, Any] | None:
        if message_id is not None:
            return self._messages.get((chat_id, message_id))
        ids = self._bot_messages[chat_id]
        for mid in reversed(ids):
            message = self._messages[(chat_id, mid)]
            if any(cb == data for _, cb in buttons_of(message.get("reply_markup"))):
                return message
        return self._messages[(chat_id, ids[-1])] if ids else None

    # ---- validation ------------------------------------------------------------------------

    def _target_chat(self, params: dict[str, Any]) -> int:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise bad_request("chat_id is empty")
        if not isinstance(chat_id, int):
            raise bad_request("chat not found")  # @usernames of channels are not simulated
        if self.strict_chats and chat_id not in self._users and chat_id > 0:
            raise bad_request("chat not found")
        return chat_id

    def _formatted(self, params: dict[str, Any], key: str, limit: int,
                   too_long: str) -> tuple[str, list[dict[str, Any]]]:
        """Parse text/caption according to parse_mode and enforce Telegram's limits."""
        raw = str(params.get(key) or "")
        mode = params.get("parse_mode")
        entities = params.get("entities" if key == "text" else "caption_entities") or []
        if mode and str(mode).lower() == "html":
            try:
                plain, entities = parse_html(raw, self.strict_ampersand)
            except HtmlError as error:
                raise bad_request(f"can't parse entities: {error}") from None
        elif mode and str(mode).lower() not in ("markdown", "markdownv2"):
            raise bad_request("unsupported parse_mode")
        else:
            plain = raw  # Markdown modes are accepted but not parsed by the stub
        if key == "text" and not plain.strip():
            raise bad_request("message text is empty")
        if utf16_len(plain) > limit:
            raise bad_request(too_long)
        return plain, entities

    @staticmethod
    def _check_markup(markup: Any) -> dict[str, Any] | None:
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is None:
            return markup  # reply keyboards / remove / force_reply are passed through
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an '
                              "Array of Arrays")
        if sum(len(r) for r in rows) > MAX_BUTTONS:
            raise bad_request("reply markup is too long")
        for button in itertools.chain.from_iterable(rows):
            if not isinstance(button, dict) or not button.get("text"):
                raise bad_request("can't parse inline keyboard button: Text must be non-empty")
            if "callback_data" in button:
                size = len(str(button["callback_data"]).encode("utf-8"))
                if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                    raise bad_request("BUTTON_DATA_INVALID")
            elif not set(button) - {"text"}:
                raise bad_request("can't parse inline keyboard button: Text buttons are "
                                  "unallowed in the inline keyboard")
        return markup

    def _check_flood(self, chat_id: int) -> None:
        now = time.monotonic()
        if self._forced_retry:
            raise ApiError(429, f"Too Many Requests: retry after {self._forced_retry[0]}",
                           self._forced_retry.popleft())
        bucket = self._chat_bucket(chat_id, now)
        windowed = None if self.per_chat_burst else self.per_chat_rate_limit_per_second
        checks = [(self._window, self.rate_limit_per_second),
                  (self._chat_windows[chat_id], windowed)]
        for window, limit in checks:
            if not limit:
                continue
            # Sliding one-second window: at most ``limit`` accepted sends in the last second.
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= limit:
                retry = self.flood_retry_after or max(1, math.ceil(window[0] + 1.0 - now))
                raise ApiError(429, f"Too Many Requests: retry after {retry}", retry)
        for window, limit in checks:
            if limit:
                window.append(now)
        if bucket is not None:
            self._chat_buckets[chat_id] = (bucket + 1, now)

    def _chat_bucket(self, chat_id: int, now: float) -> float | None:
        """The chat's bucket level now, or 429 when one more send would overflow it."""
        rate, burst = self.per_chat_rate_limit_per_second, self.per_chat_burst
        if not (rate and burst):
            return None
        level, at = self._chat_buckets.get(chat_id, (0.0, now))
        level = max(0.0, level - (now - at) * rate)
        if level + 1 > burst:
            retry = self.flood_retry_after or max(1, math.ceil((level + 1 - burst) / rate))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", retry)
        return level

    def _gate(self, chat_id: int) -> None:
        """Checks a sending call (send*/edit*) passes after validation: blocked, then flood."""
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        self._check_flood(chat_id)

    def _new_bot_message(self, chat_id: int, body: dict[str, Any]) -> dict[str, Any]:
        message = {"message_id": next(self._message_ids[chat_id]), "from": self._bot_user(),
                   "chat": self._chat(chat_id), "date": int(self.clock()), **body}
        self._messages[(chat_id, message["message_id"])] = message
        self._bot_messages[chat_id].append(message["message_id"])
        return message

    # ---- Bot API methods (``_m_<method>``; listed in _CANONICAL) ---------------------------

    async def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**self._bot_user(), "can_join_groups": True,
                "can_read_all_group_messages": False, "supports_inline_queries": False}

    async def _m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = params.get("offset") or 0
        limit = min(max(params.get("limit") or 100, 1), 100)
        timeout = min(max(params.get("timeout") or 0, 0), 50)
        self._confirm(offset)
        # Like Telegram, a newer poll ends an older one with 409 (two bot instances running).
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()
        assert self._stopping is not None
        batch = self._select(offset, limit)
        if not batch and timeout:
            await self._wait(lambda: bool(self._select(offset, limit))
                             or generation != self._poll_generation or self._stopping.is_set(),
                             timeout)
            if generation != self._poll_generation:
                self.conflicts += 1
                raise ApiError(409, "Conflict: terminated by other getUpdates request; make sure "
                                    "that only one bot instance is running")
            batch = self._select(offset, limit)
        for update in batch:
            self._redeliver.discard(update["update_id"])
            query = update.get("callback_query")
            if query:
                self._delivered_queries.add(query["id"])
        return batch

    def _confirm(self, offset: int) -> None:
        if offset < 0:  # negative offset: keep only the last -offset updates
            keep = self._pending[offset:]
            self._pending = [u for u in self._pending if u in keep]
        elif offset > 0:
            self._pending = [u for u in self._pending
                             if u["update_id"] >= offset or u["update_id"] in self._redeliver]

    def _select(self, offset: int, limit: int) -> list[dict[str, Any]]:
        return [u for u in self._pending
                if offset <= 0 or u["update_id"] >= offset
                or u["update_id"] in self._redeliver][:limit]

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = str(params.get("url") or "")
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.webhook_url, "has_custom_certificate": False,
                "pending_update_count": len(self._pending)}

    async def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._target_chat(params)
        text, entities = self._formatted(params, "text", MAX_TEXT_LENGTH,
                                         "message is too long")
        markup = self._check_markup(params.get("reply_markup"))
        self._gate(chat_id)
        body: dict[str, Any] = {"text": text}
        if entities:
            body["entities"] = entities
        if markup and "inline_keyboard" in markup:  # only inline keyboards live on a message
            body["reply_markup"] = markup
        return self._new_bot_message(chat_id, body)

    async def _send_file(self, params: dict[str, Any], kind: str) -> dict[str, Any]:
        chat_id = self._target_chat(params)
        upload = params.get(kind)
        if upload in (None, ""):
            raise bad_request(f"there is no {kind} in the request")
        caption, entities = self._formatted(params, "caption", MAX_CAPTION_LENGTH,
                                            "message caption is too long")
        markup = self._check_markup(params.get("reply_markup"))
        self._gate(chat_id)
        if isinstance(upload, tuple):
            data, name = upload
            file_id = f"{kind}-{len(self.sent) + 1}"
            size, unique = len(data or b""), file_id
            if data:
                self.files[file_id] = (data, name)
                self.stored_files[file_id] = StoredFile(kind, file_id, unique, data, size, name)
        else:  # a file_id: a file Telegram keeps, of the kind the method sends
            stored = self.stored_files.get(str(upload))
            if stored is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
            if stored.kind != kind:
                raise bad_request(f"can't use file of type {stored.kind.capitalize()} as "
                                  f"{kind.capitalize()}")
            file_id, unique, size, name = (stored.file_id, stored.file_unique_id, stored.size,
                                           stored.name)
        if kind == "document":
            media: Any = {"file_id": file_id, "file_unique_id": unique, "file_name": name,
                          "file_size": size}
        else:
            media = [{"file_id": file_id, "file_unique_id": unique, "width": 800,
                      "height": 600, "file_size": size}]
        body: dict[str, Any] = {kind: media}
        if caption:
            body["caption"] = caption
            if entities:
                body["caption_entities"] = entities
        if markup and "inline_keyboard" in markup:
            body["reply_markup"] = markup
        return self._new_bot_message(chat_id, body)

    async def _m_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self._send_file(params, "document")

    async def _m_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self._send_file(params, "photo")

    def _editable(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if params.get("inline_message_id"):
            raise bad_request("message to edit not found")  # inline mode is not simulated
        chat_id = self._target_chat(params)
        if not params.get("message_id"):
            raise bad_request("message identifier is not specified")
        message = self._messages.get((chat_id, params["message_id"]))
        if message is None:
            raise bad_request("message to edit not found")
        if message["from"]["id"] != self.bot_id:
            raise bad_request("message can't be edited")
        return chat_id, message

    def _apply_edit(self, chat_id: int, message: dict[str, Any], changes: dict[str, Any],
                    markup: dict[str, Any] | None, drop: tuple[str, ...] = ()) -> dict[str, Any]:
        # Like Telegram, an edit without reply_markup removes the keyboard, so "not modified"
        # means: same content AND same keyboard (or both without one).
        drop = ("reply_markup", "edit_date", *drop)
        edited = {k: v for k, v in message.items() if k not in drop}
        edited.update(changes)
        if markup and "inline_keyboard" in markup:
            edited["reply_markup"] = markup
        if ({k: v for k, v in edited.items() if k != "edit_date"}
                == {k: v for k, v in message.items() if k != "edit_date"}):
            raise bad_request(NOT_MODIFIED[len("Bad Request: "):])
        self._gate(chat_id)
        edited["edit_date"] = int(self.clock())
        self._messages[(chat_id, message["message_id"])] = edited
        return edited

    async def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, message = self._editable(params)
        text, entities = self._formatted(params, "text", MAX_TEXT_LENGTH,
                                         "message is too long")
        markup = self._check_markup(params.get("reply_markup"))
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        changes: dict[str, Any] = {"text": text}
        if entities:
            changes["entities"] = entities
        return self._apply_edit(chat_id, message, changes, markup, drop=("entities",))

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, message = self._editable(params)
        markup = self._check_markup(params.get("reply_markup"))
        return self._apply_edit(chat_id, message, {}, markup)

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._delivered_queries or query_id in self._answered_queries:
            raise bad_request(STALE_QUERY[len("Bad Request: "):])
        if len(str(params.get("text") or "")) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self._answered_queries.add(query_id)
        user_id = self._query_users.get(query_id)
        if user_id is not None and params.get("text"):
            self.callback_answers.append(CallbackAnswer(
                user_id, str(params["text"]), bool(params.get("show_alert")), self.version + 1))
        return True

    async def _m_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self.stored_files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.size > MAX_DOWNLOAD_BYTES:  # the Bot API's download limit
            raise bad_request("file is too big")
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "file_size": stored.size, "file_path": stored.path}

    async def _m_sendChatAction(self, params: dict[str, Any]) -> bool:
        chat_id = self._target_chat(params)
        if not params.get("action"):
            raise bad_request("action is empty")  # wording approximated
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return True

    async def _m_setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("parameter \"commands\" must be an Array of at most 100 commands")
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("command description is empty")  # wording approximated
        self.commands[_scope_key(params.get("scope"), params.get("language_code"))] = [
            {"command": c["command"], "description": c["description"]} for c in commands]
        return True

    async def _m_getMyCommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands.get(_scope_key(params.get("scope"), params.get("language_code")),
                                 [])

    async def _m_deleteMyCommands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(_scope_key(params.get("scope"), params.get("language_code")), None)
        return True

    async def _m_close(self, params: dict[str, Any]) -> bool:
        return True

    async def _m_logOut(self, params: dict[str, Any]) -> bool:
        return True


# Telegram matches method names case-insensitively; map them to the documented spelling.
_CANONICAL = {name.lower(): name for name in (
    "getMe", "getUpdates", "deleteWebhook", "setWebhook", "getWebhookInfo", "sendMessage",
    "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery", "sendDocument",
    "sendPhoto", "getFile", "sendChatAction", "setMyCommands", "getMyCommands",
    "deleteMyCommands", "close", "logOut")}


class StubThread:
    """A BotApiStub served from its own event loop in a daemon thread."""

    def __init__(self, stub: BotApiStub):
        self.stub = stub
        self._loop = asyncio.new_event_loop()
        started = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(stub.start())
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, name="botapi-stub", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("BotApiStub thread did not start")

    @property
    def base_url(self) -> str:
        return self.stub.base_url

    @property
    def base_file_url(self) -> str:
        return self.stub.base_file_url

    def run(self, coro: Awaitable[Any], timeout: float | None = None) -> Any:
        """Run a coroutine (e.g. ``stub.wait_for_calls(...)``) in the stub's loop."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)  # type: ignore[arg-type]

    def call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call a sync helper (e.g. ``stub.send_text``) inside the stub's loop thread."""

        async def invoke() -> Any:
            return func(*args, **kwargs)

        return self.run(invoke())

    def stop(self) -> None:
        if not self._loop.is_running():
            return
        self.run(self.stub.stop(), timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


def main() -> None:
    """``python -m bot.telegram_standin.server``: serve until interrupted (manual runs)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--token", default="123456:TEST-TOKEN")
    parser.add_argument("--rate-limit", type=float, default=None)
    args = parser.parse_args()
    handle = BotApiStub(args.token, rate_limit_per_second=args.rate_limit).run_in_thread()
    print(handle.base_url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        handle.stop()


if __name__ == "__main__":
    main()
