"""LoopThread: the background loop of a service, started and stopped."""

from __future__ import annotations

import logging
import threading

import pytest

from pyros.service.loop_thread import LoopThread


def test_the_loop_runs_until_asked_to_stop() -> None:
    loop = LoopThread("test-loop", "the test loop")
    steps: list[int] = []
    began = threading.Event()

    def body() -> None:
        while not loop.stopping.is_set():
            steps.append(1)
            began.set()
            loop.stopping.wait(0.01)

    loop.start(body)
    assert began.wait(10) and loop.running
    assert loop.stop() is True
    assert not loop.running and loop.stopping.is_set() and steps


def test_the_thread_is_a_named_daemon() -> None:
    loop = LoopThread("named-loop", "the named loop")
    seen: dict[str, object] = {}
    recorded = threading.Event()

    def body() -> None:
        thread = threading.current_thread()
        seen.update(name=thread.name, daemon=thread.daemon)
        recorded.set()
        loop.stopping.wait(10)

    loop.start(body)
    try:
        assert recorded.wait(10)
    finally:
        loop.stop()
    assert seen == {"name": "named-loop", "daemon": True}


def test_it_can_start_again_after_a_stop() -> None:
    loop = LoopThread("again", "the loop")
    runs: list[bool] = []
    for _ in range(2):
        loop.start(lambda: runs.append(loop.stopping.is_set()) or loop.stopping.wait(10))
        assert loop.stop() is True
    # each start cleared the stop request left by the previous stop
    assert runs == [False, False]


def test_a_second_start_while_running_is_refused() -> None:
    loop = LoopThread("once", "the single loop")
    loop.start(lambda: loop.stopping.wait(10) and None)
    try:
        with pytest.raises(RuntimeError, match="the single loop is already running"):
            loop.start(lambda: None)
    finally:
        assert loop.stop() is True


def test_stopping_a_loop_that_never_started_does_nothing() -> None:
    loop = LoopThread("never", "the idle loop")
    assert loop.stop() is True and not loop.running


def test_a_loop_that_does_not_end_is_left_behind_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    loop = LoopThread("stubborn", "the stubborn loop", stop_timeout_s=0.05)
    release = threading.Event()
    loop.start(lambda: release.wait(10) and None)
    try:
        with caplog.at_level(logging.WARNING, logger="pyros.service.loop_thread"):
            assert loop.stop() is False
        assert "the stubborn loop did not stop within 0.05 s" in caplog.text
    finally:
        release.set()


def test_stop_called_from_the_loop_itself_only_asks() -> None:
    loop = LoopThread("self-stop", "the loop")
    answers: list[bool] = []
    done = threading.Event()

    def body() -> None:
        answers.append(loop.stop())
        done.set()

    loop.start(body)
    assert done.wait(10)
    assert answers == [False] and loop.stopping.is_set()


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan")])
def test_a_timeout_that_is_not_positive_is_refused(timeout: float) -> None:
    with pytest.raises(ValueError, match="stop_timeout_s must be > 0"):
        LoopThread("bad", "the loop", stop_timeout_s=timeout)
