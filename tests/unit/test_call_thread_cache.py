"""The reusable threads behind TimedCall: reuse, no queueing behind an overrunning call, idle threads end."""

from __future__ import annotations

import threading

import pytest

from pyros.service.timed_call import CallThreadCache, CallTimedOut, TimedCall
from pyros.testing import wait_until

TIMEOUT = 10.0


def run_in(cache: CallThreadCache, func: object) -> threading.Event:
    done = threading.Event()

    def task() -> None:
        func()  # type: ignore[operator]
        done.set()

    cache.submit(task, "test")
    return done


def test_an_idle_thread_is_reused() -> None:
    cache = CallThreadCache(idle_lifetime=TIMEOUT)
    seen: list[int] = []
    assert run_in(cache, lambda: seen.append(threading.get_ident())).wait(TIMEOUT)
    wait_until(lambda: cache.idle == 1, what="the thread parked")
    assert run_in(cache, lambda: seen.append(threading.get_ident())).wait(TIMEOUT)
    assert seen[0] == seen[1]


def test_a_busy_thread_never_delays_the_next_call() -> None:
    cache = CallThreadCache(idle_lifetime=TIMEOUT)
    release = threading.Event()
    blocked = run_in(cache, lambda: release.wait(TIMEOUT))
    seen: list[str] = []
    assert run_in(cache, lambda: seen.append(threading.current_thread().name)).wait(TIMEOUT)
    assert not blocked.is_set() and seen == ["pyros-cmd-test"]
    release.set()
    assert blocked.wait(TIMEOUT)
    wait_until(lambda: cache.idle == 2, what="both threads parked")


def test_idle_threads_end_after_their_lifetime() -> None:
    cache = CallThreadCache(idle_lifetime=0.05)
    before = threading.active_count()
    events = [run_in(cache, lambda: None) for _ in range(3)]
    assert all(e.wait(TIMEOUT) for e in events)
    wait_until(lambda: cache.idle == 0 and threading.active_count() <= before, what="idle threads ended")


def test_a_failing_task_does_not_kill_its_thread() -> None:
    cache = CallThreadCache(idle_lifetime=TIMEOUT)
    cache.submit(lambda: 1 / 0, "boom")  # logged; the thread parks again
    wait_until(lambda: cache.idle == 1, what="the thread parked after the failure")
    assert run_in(cache, lambda: None).wait(TIMEOUT)


def test_timed_call_gives_up_while_the_thread_finishes_later() -> None:
    release = threading.Event()
    with pytest.raises(CallTimedOut):
        TimedCall(lambda: release.wait(TIMEOUT), "slow").run(0.05)
    assert TimedCall(lambda: "next", "quick").run(TIMEOUT) == "next"  # not queued behind the slow one
    release.set()
