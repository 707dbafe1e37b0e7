"""Summaries and their Telegram pages, computed once per period, scope and data version.

A state-wide ``/resumen`` (10,000 indicators) takes a few hundred milliseconds to build and to
plan into pages; paging through it with ◀ ▶ used to rebuild it on every press. Here a built
summary is kept with its :class:`~bot.services.summary_pages.Overview` (planned on first use,
which writes each page once, when first shown) and the unit details already shown, and reused while:

* the **key** is the same: period, scope (all units, or which units), the local date (due
  and late depend on it), the bands and the deadline day;
* the **data version** is the same: ``data_version.version``, which database triggers bump
  with every committed change of units, indicators, values, persons or their units, from
  this process or any other (``poa-bot import-poa``). It is read *before* the summary is
  built, so a summary is never filed under a version newer than the data it saw; a change
  committed while building only causes one more rebuild.

Everything here runs in the database worker threads (:meth:`storage.db.Database.run`), never
on the event loop. The cache is bounded by the number of summary lines it holds (a
state-wide summary is about 10,000 lines, ~15 MB with its pages), least recently used first
out: the resident memory of the bot stays under 150 MB.
"""

from __future__ import annotations

import gc
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, select

from bot.domain.attainment import Bands
from bot.memory import return_free_memory
from bot.services.summary import Summary
from bot.services.summary_pages import Overview, Page, unit_pages
from storage.models import DataVersion

DEFAULT_MAX_LINES = 20_000  # two state-wide summaries (say, a month and the year)


_paused_builds = 0
_pause_lock = threading.Lock()


@contextmanager
def collector_paused() -> Iterator[None]:
    """CPython's cyclic garbage collector paused while a summary is built or planned.

    A state-wide build allocates some 500,000 objects that all outlive it, and the
    collector walked them again and again as they piled up: 12–20 % of a cold state-wide
    ``/resumen`` (month 0.32 → 0.25 s, year 0.41 → 0.36 s). Reference counting still frees
    everything else at once; the collector runs again when the last build ends (builds may
    overlap on the database threads, hence the count), and what the builds freed is given
    back to the system then (:func:`bot.memory.return_free_memory`)."""
    global _paused_builds
    with _pause_lock:
        _paused_builds += 1
        gc.disable()
    try:
        yield
    finally:
        with _pause_lock:
            _paused_builds -= 1
            last = not _paused_builds
            if last:
                gc.enable()
        if last:
            return_free_memory()  # outside the lock: a new build need not wait for it


def data_version(session: Session) -> int:
    """The current data version (see the module docstring)."""
    return session.exec(select(DataVersion.version).where(DataVersion.id == 1)).one()


@dataclass(frozen=True)
class SummaryKey:
    period: str  # Period.code
    units: tuple[str, ...] | None  # None: every unit; else these unit claves, sorted
    today: date
    bands: Bands
    deadline_day: int
    business_days: object = None  # bot.domain.calendar.BusinessDays (hashable)
    title: str | None = None  # a title the pages show (a gerencia's name), when not derived


@dataclass
class RenderedSummary:
    """A summary with its overview pages and unit details, each written once when asked."""

    summary: Summary
    version: int
    scope: str | None = None  # the overview's title line (a gerencia's name), when given
    _details: dict[str, list[Page] | None] = field(default_factory=dict)
    _overview: Overview | None = field(default=None, repr=False)
    _planning: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def overview(self) -> Overview:
        """The paged overview, planned on first use: /resumen's first screen does not need
        it (planning 10,000 lines takes ~80 ms), so the handler plans it just after replying,
        before anyone can press «Detalle por unidad»."""
        with self._planning:
            if self._overview is None:
                with collector_paused():
                    self._overview = Overview(self.summary, scope=self.scope)
            return self._overview

    @property
    def lines(self) -> int:
        return sum(len(unit.lines) for unit in self.summary.units)

    def detail(self, clave: str) -> list[Page] | None:
        if clave not in self._details:
            self._details[clave] = unit_pages(self.summary, clave)
        return self._details[clave]


class SummaryCache:
    """Thread-safe LRU of :class:`RenderedSummary` by :class:`SummaryKey` (module doc)."""

    def __init__(self, max_lines: int = DEFAULT_MAX_LINES):
        self.max_lines = max_lines
        self._entries: OrderedDict[SummaryKey, RenderedSummary] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[SummaryKey, threading.Lock] = {}
        self.builds = 0  # summaries built (tests and diagnostics)

    def get(self, session: Session, key: SummaryKey, build: Callable[[Session], Summary], *,
            scope_title: str | None = None) -> RenderedSummary:
        """The cached summary of ``key`` if still current, else ``build(session)`` (stored)."""
        version = data_version(session)
        cached = self._current(key, version)
        if cached is not None:
            return cached
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        # One build per key at a time: a second press while the first builds waits for it
        # instead of building the same summary again.
        with building:
            cached = self._current(key, version)
            if cached is not None:
                return cached
            self._make_room()
            with collector_paused():
                summary = build(session)
            rendered = RenderedSummary(summary, version, scope_title)
            self.builds += 1
            self._store(key, rendered)
            return rendered

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _current(self, key: SummaryKey, version: int) -> RenderedSummary | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.version != version:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def _make_room(self) -> None:
        """Before a build, drop what the new summary would push out anyway (its size is
        taken to be the largest cached one's), so the old and the new are never both held
        with the build's temporary rows: that peak is the process's resident memory."""
        with self._lock:
            sizes = [entry.lines for entry in self._entries.values()]
            room = self.max_lines - max(sizes, default=0)
            total = sum(sizes)
            while self._entries and total > room:
                _, dropped = self._entries.popitem(last=False)
                total -= dropped.lines

    def _store(self, key: SummaryKey, rendered: RenderedSummary) -> None:
        with self._lock:
            # Versions only grow: an entry of an older version can never be used again.
            for old in [k for k, entry in self._entries.items()
                        if entry.version < rendered.version]:
                del self._entries[old]
            self._entries[key] = rendered
            self._entries.move_to_end(key)
            total = sum(entry.lines for entry in self._entries.values())
            while total > self.max_lines and len(self._entries) > 1:
                _, dropped = self._entries.popitem(last=False)
                total -= dropped.lines
