"""``poa-bot run`` keeps its threads on one CPU (bot/commands/run.py keep_to_one_cpu)."""

from __future__ import annotations

import os
import threading

import pytest

from bot.commands.run import keep_to_one_cpu
from bot.settings import Settings

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_getaffinity"),
                                reason="no CPU affinity on this system")


def _in_a_thread(fn):
    """Run ``fn`` in a new thread (affinity is per thread: the test's own stays as it is)."""
    result = {}

    def run() -> None:
        result["value"] = fn()
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return result["value"]


def test_the_calling_thread_and_the_threads_it_starts_run_on_one_allowed_cpu():
    allowed = os.sched_getaffinity(0)

    def pin_then_start_a_worker():
        keep_to_one_cpu()
        return os.sched_getaffinity(0), _in_a_thread(lambda: os.sched_getaffinity(0))
    own, worker = _in_a_thread(pin_then_start_a_worker)
    assert own == worker == {max(allowed)}
    assert os.sched_getaffinity(0) == allowed  # nothing else was touched


def test_it_is_on_by_default_and_can_be_turned_off(monkeypatch):
    assert Settings(_env_file=None).poa_one_cpu is True
    monkeypatch.setenv("POA_ONE_CPU", "false")
    assert Settings(_env_file=None).poa_one_cpu is False
