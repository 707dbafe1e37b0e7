"""Time, injectable so tests can set it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)


class FrozenClock:
    """A clock for tests: returns the time it was set to until moved."""

    def __init__(self, now: datetime):
        if now.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta

    def set(self, now: datetime) -> None:
        self.now = now


class OffsetClock:
    """Real time moved by a settable offset: ``poa-bot demo``'s clock, which the web chat's
    control sets to a reminder day. Unlike :class:`FrozenClock` it keeps running from the
    instant it was set to, so the scheduler's minute tick works as in production."""

    def __init__(self, now: datetime, source: Clock = system_clock):
        self._source = source
        self.offset = timedelta(0)
        self.set(now)

    def __call__(self) -> datetime:
        return self._source() + self.offset

    def set(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("OffsetClock needs an aware datetime")
        self.offset = now - self._source()
