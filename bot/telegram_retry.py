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
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

TRANSIENT_RETRIES = 3
FIRST_PAUSE_SECONDS = 0.5  # then 1 s, 2 s: about 3.5 s in all before giving up
NOT_RETRIED_ENDPOINTS = frozenset({"getUpdates"})


def is_transient(error: Exception) -> bool:
    """Whether the request certainly did not take effect and may simply be sent again."""
    if isinstance(error, TimedOut):
        return isinstance(error.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout)
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


class RetryingRateLimiter(AIORateLimiter):
    """:class:`AIORateLimiter` that also retries transient failures (see the module doc)."""

    def __init__(self, *, transient_retries: int = TRANSIENT_RETRIES,
                 first_pause: float = FIRST_PAUSE_SECONDS, **kwargs: Any):
        super().__init__(**kwargs)
        self._transient_retries = transient_retries
        self._first_pause = first_pause

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        if endpoint in NOT_RETRIED_ENDPOINTS:
            return await super().process_request(callback, args, kwargs, endpoint, data,
                                                 rate_limit_args)
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
