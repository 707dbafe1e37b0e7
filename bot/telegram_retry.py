"""Telegram's flood limits plus quick retries when Telegram briefly fails.

PTB's :class:`~telegram.ext.AIORateLimiter` keeps the bot under Telegram's flood limits and
retries a 429 after its ``retry_after``, but any other failure reaches the handler at once:
a single 502 from Telegram's front end, or a dropped connection, and the person's reply (or a
reminder) is lost. :class:`RetryingRateLimiter` adds a few retries with a short, growing pause
for the failures that mean "the request did not get through":

* 5xx answers and connection errors (``NetworkError`` that is neither a ``BadRequest`` nor a
  ``TimedOut``);
* timeouts while connecting or waiting for a free connection (nothing was sent).

A timeout *after* the request was sent is NOT retried: Telegram may have delivered the
message, and a retry would show it twice. Neither is ``getUpdates``: the Updater already
retries it with its own back-off, and a long poll must not be repeated under it.

**Priority.** Telegram allows about 30 messages a second overall. A 3,000-person reminder
fan-out fills that budget for 100 s, and a first-come-first-served limiter made every
interactive reply wait behind the fan-out's queue. Here the overall pace is kept by a
:class:`PriorityPacer` (one request per ``1/rate`` seconds, as evenly spaced as the old
bucket of one) whose waiters are served interactive first, bulk after. Code that sends in
bulk (reminders, start-up menus) runs inside :func:`bulk_sends`; everything else is
interactive. Paced: every request to a chat (``chat_id``), like PTB's limiter, and every bulk
request (``setMyCommands`` for 3,000 chats has no ``chat_id`` but counts all the same).

**Per chat.** Telegram also allows only about one message a second to one chat (a short
burst is tolerated); the gerente's ``/recordar`` answer went out as 14 messages in one second
to one chat. Each chat therefore has its own leaky bucket, an :class:`aiolimiter.AsyncLimiter`
(the limiter PTB's :class:`AIORateLimiter` keeps per group chat, here kept per chat of any
kind): ``chat_burst`` messages at once, then ``chat_rate`` a second. A request first waits
for its chat's bucket and only then for a turn of the overall pacer, so a slow chat never
holds a turn other chats could use, and an interactive reply to one chat does not wait
behind another chat's queue of messages. Bulk messages never use the burst: each takes
``chat_burst - 1`` of its chat's bucket, so a gerente's start-up escalation and weekly digest
arrive one at a time (every two seconds once the chat is busy), and a reply to that gerente
still goes at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import aiohttp
import httpx
from aiolimiter import AsyncLimiter
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

TRANSIENT_RETRIES = 3
FIRST_PAUSE_SECONDS = 0.5  # then 1 s, 2 s: about 3.5 s in all before giving up
NOT_RETRIED_ENDPOINTS = frozenset({"getUpdates"})
INTERACTIVE, BULK = 0, 1  # priorities: lower is served first
CHAT_RATE = 1.0  # messages a second to one chat, sustained (Telegram: about one)
CHAT_BURST = 3  # messages to one chat that may go at once before the pace applies
IDLE_CHAT_LIMITERS = 1024  # chat buckets kept before the empty ones are dropped

_priority: ContextVar[int] = ContextVar("poa_send_priority", default=INTERACTIVE)


@contextlib.contextmanager
def bulk_sends() -> Iterator[None]:
    """Requests made inside (and in tasks created inside) yield to interactive ones."""
    token = _priority.set(BULK)
    try:
        yield
    finally:
        _priority.reset(token)


def send_priority() -> int:
    return _priority.get()


class PriorityPacer:
    """At most one request per ``1 / rate`` seconds; waiting interactive requests go first.

    A request arriving when nothing waits and the last one went out long enough ago goes at
    once; otherwise it queues by priority and a timer releases one waiter per interval.
    """

    def __init__(self, rate: float):
        self.interval = 1 / rate
        self._next = 0.0  # loop time from which the next request may go
        self._waiting: tuple[deque[asyncio.Future], ...] = (deque(), deque())
        self._timer: asyncio.TimerHandle | None = None

    @property
    def waiting(self) -> int:
        return sum(1 for queue in self._waiting for f in queue if not f.done())

    async def acquire(self, priority: int = INTERACTIVE) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if now >= self._next and not self.waiting:
            self._next = now + self.interval
            return
        future = loop.create_future()
        self._waiting[priority].append(future)
        if self._timer is None:
            self._timer = loop.call_at(self._next, self._release, loop)
        try:
            await future
        except asyncio.CancelledError:
            if not future.done():
                future.cancel()  # skipped by _release
            raise

    def _release(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        for queue in self._waiting:
            while queue:
                future = queue.popleft()
                if future.done():  # cancelled while waiting
                    continue
                future.set_result(None)
                # A late timer does not stretch the pace; a long stall gives no burst.
                self._next = max(self._next + self.interval, loop.time())
                if self.waiting:
                    self._timer = loop.call_at(self._next, self._release, loop)
                return


def is_transient(error: Exception) -> bool:
    """Whether the request certainly did not take effect and may simply be sent again."""
    if isinstance(error, TimedOut):
        # The bot's requests go through aiohttp (bot.aiohttp_request); httpx is PTB's default,
        # which the CLI's one-off calls (doctor, invite) still use.
        return isinstance(error.__cause__, aiohttp.ConnectionTimeoutError
                          | httpx.ConnectTimeout | httpx.PoolTimeout)
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


class ChatLimiters:
    """One :class:`AsyncLimiter` per chat: ``burst`` at once, then ``rate`` a second.

    Buckets that have drained are dropped once more than :data:`IDLE_CHAT_LIMITERS` are kept
    (a 3,000-person reminder would otherwise leave 3,000 behind); a drained bucket holds no
    state worth keeping.
    """

    def __init__(self, rate: float, burst: int):
        if rate <= 0 or burst < 1:
            raise ValueError(f"invalid per-chat pace: {rate}/s, burst {burst}")
        self.rate = rate
        self.burst = burst
        self._limiters: dict[int | str, AsyncLimiter] = {}

    def __len__(self) -> int:
        return len(self._limiters)

    def of(self, chat_id: int | str) -> AsyncLimiter:
        limiter = self._limiters.get(chat_id)
        if limiter is None:
            if len(self._limiters) >= IDLE_CHAT_LIMITERS:
                self._drop_drained()
            # max_rate per time_period: a bucket of ``burst`` leaking ``rate`` a second.
            limiter = self._limiters[chat_id] = AsyncLimiter(
                max_rate=self.burst, time_period=self.burst / self.rate)
        return limiter

    def _drop_drained(self) -> None:
        for chat_id, limiter in list(self._limiters.items()):
            # Drained to empty (so nobody waits on it): the same as a new bucket.
            if limiter.has_capacity(self.burst):
                del self._limiters[chat_id]


class RetryingRateLimiter(AIORateLimiter):
    """:class:`AIORateLimiter` with interactive-first pacing, a pace per chat and retries of
    transient failures (see the module doc). ``rate``: requests per second overall (None:
    unpaced); ``chat_rate``/``chat_burst``: the pace of one chat (``chat_rate`` None or 0:
    no pace per chat)."""

    def __init__(self, *, rate: float | None = None, chat_rate: float | None = None,
                 chat_burst: int = CHAT_BURST,
                 transient_retries: int = TRANSIENT_RETRIES,
                 first_pause: float = FIRST_PAUSE_SECONDS, **kwargs: Any):
        # PTB's own overall limiter is first-come-first-served: replaced by the pacer.
        super().__init__(overall_max_rate=0, **kwargs)
        self.pacer = PriorityPacer(rate) if rate else None
        self.chats = ChatLimiters(chat_rate, chat_burst) if chat_rate else None
        self._transient_retries = transient_retries
        self._first_pause = first_pause

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        if endpoint in NOT_RETRIED_ENDPOINTS:
            return await super().process_request(callback, args, kwargs, endpoint, data,
                                                 rate_limit_args)
        priority = send_priority()
        chat_id = data.get("chat_id")
        pacer = self.pacer if priority == BULK or chat_id is not None else None
        chat = self.chats.of(chat_id) if self.chats is not None and chat_id is not None else None
        if pacer is not None or chat is not None:
            unpaced = callback

            # A bulk message takes all but one of its chat's burst: bulk messages to one chat
            # never go in a burst (one per (burst - 1) / rate seconds once the chat is busy)
            # and always leave room for an interactive reply to go at once.
            amount = max(1, self.chats.burst - 1) if chat is not None and priority == BULK else 1

            async def callback(*call_args, **call_kwargs):  # each attempt takes its turn
                if chat is not None:  # the chat's own pace first: no overall turn held
                    await chat.acquire(amount)
                if pacer is not None:
                    await pacer.acquire(priority)
                return await unpaced(*call_args, **call_kwargs)
        pause = self._first_pause
        for attempt in range(self._transient_retries + 1):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data,
                                                     rate_limit_args)
            except NetworkError as error:
                if attempt == self._transient_retries or not is_transient(error):
                    raise
                log.warning("Telegram %s failed (%s); retry %d of %d in %.1f s", endpoint,
                            error, attempt + 1, self._transient_retries, pause)
                await asyncio.sleep(pause)
                pause *= 2
        raise AssertionError("unreachable")  # the loop returns or raises
