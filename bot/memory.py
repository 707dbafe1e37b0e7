"""glibc's allocator, asked to keep ``poa-bot run``'s resident memory small (elsewhere: nothing).

Both calls go through ctypes to glibc; on another C library (no ``libc.so.6``, or no such
function) they do nothing, which only costs memory, never correctness.
"""

from __future__ import annotations

import contextlib
import ctypes

M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


def _glibc():
    return ctypes.CDLL("libc.so.6")


def limit_malloc_arenas(arenas: int = 1) -> None:
    """Let all threads share one malloc arena.

    glibc gives each thread that allocates its own arena, and memory freed in one is not
    reused by another: a 10,000-indicator summary built on each of the four workers in turn
    left four arenas grown to its size (about 5 MB more resident memory); with two arenas the
    summary benchmark still ended at 149–150 MB, with one at 143–146 MB. Nothing is lost by
    sharing: Python's threads allocate one at a time (the GIL), and with ``POA_ONE_CPU`` they
    run on one core anyway (report CPU the same within noise). The same as
    ``MALLOC_ARENA_MAX=1`` in the environment; must run before the threads start."""
    with contextlib.suppress(OSError, AttributeError):
        _glibc().mallopt(M_ARENA_MAX, arenas)


def return_free_memory() -> None:
    """Give the pages freed since the last call back to the system.

    glibc returns freed memory only from the top of its heap; what a summary build freed in
    the middle stays resident. After the 10,000-indicator summaries, ``malloc_trim`` took
    ``poa-bot run`` from 151 to 147 MB (``bench_live --part summary``, PostgreSQL). ctypes
    releases the GIL during the call, so the event loop does not wait for it."""
    with contextlib.suppress(OSError, AttributeError):
        _glibc().malloc_trim(0)
