"""Updates of one chat in order, different chats concurrently.

PTB's default processor handles updates one at a time (everyone waits for everyone), and its
``concurrent_updates=True`` processor runs them all at once (two quick messages of one person
could be handled out of order: the value before the question it answers). This processor gives
each chat an :class:`asyncio.Lock`: tasks are created in the order updates arrive and
``asyncio.Lock`` wakes waiters first-in first-out, so a chat's updates run strictly in order,
while other chats proceed in parallel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

DEFAULT_MAX_CONCURRENT_UPDATES = 256


def chat_key(update: object) -> int | None:
    """The chat an update belongs to (the user for updates without a chat), or None."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across chats, strictly sequential within a chat."""

    __slots__ = ("_holders", "_idle", "_in_flight", "_locks")

    def __init__(self, max_concurrent_updates: int = DEFAULT_MAX_CONCURRENT_UPDATES):
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._holders: dict[int, int] = {}  # tasks holding or waiting for each chat's lock
        self._in_flight = 0
        self._idle: asyncio.Event | None = None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        self._in_flight += 1
        if self._idle is not None:
            self._idle.clear()
        try:
            key = chat_key(update)
            if key is None:
                await coroutine
                return
            lock = self._locks.setdefault(key, asyncio.Lock())
            self._holders[key] = self._holders.get(key, 0) + 1
            try:
                async with lock:
                    await coroutine
            finally:
                # Forget idle chats so the table does not grow with every person ever seen.
                self._holders[key] -= 1
                if not self._holders[key]:
                    del self._holders[key]
                    del self._locks[key]
        finally:
            self._in_flight -= 1
            if not self._in_flight and self._idle is not None:
                self._idle.set()

    @property
    def in_flight(self) -> int:
        """Updates being handled or waiting for their chat's turn."""
        return self._in_flight

    async def wait_idle(self) -> None:
        """Return once no update is being handled (for tests and benchmarks)."""
        if self._idle is None:
            self._idle = asyncio.Event()
        if not self._in_flight:
            return
        self._idle.clear()
        await self._idle.wait()

    async def initialize(self) -> None:
        """Nothing to allocate: locks are created on demand."""

    async def shutdown(self) -> None:
        """Nothing to free."""

    @property
    def active_chats(self) -> int:
        return len(self._locks)
