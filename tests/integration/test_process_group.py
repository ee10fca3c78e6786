"""The supervisor's process group with real child processes."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import psutil
import pytest

from pyros.supervision.process_group import ChildSpec, ProcessGroup
from pyros.supervision.restart_policy import RestartPolicy
from pyros.testing import wait_until

pytestmark = pytest.mark.integration

PY = sys.executable
SLEEPER = [PY, "-c", "import time\nprint('up', flush=True)\ntime.sleep(120)"]
CRASHER = [PY, "-c", "import sys\nprint('crashing', flush=True)\nsys.exit(3)"]
STUBBORN = [PY, "-c", "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "print('ignoring TERM', flush=True)\ntime.sleep(120)"]
FAST = RestartPolicy(initial_backoff=0.05, max_backoff=0.2, jitter=0.0, stable_after=5.0, window=30.0,
                     max_quick_failures=3)


def row(group: ProcessGroup, name: str) -> dict:
    group.poll()
    return next(r for r in group.status() if r["name"] == name)


def test_start_status_and_graceful_stop(tmp_path: Path) -> None:
    group = ProcessGroup([ChildSpec("svc", SLEEPER)], tmp_path, policy=FAST, grace=5.0, rng=random.Random(1))
    group.start_all()
    wait_until(lambda: row(group, "svc")["state"] == "running", what="running")
    wait_until(lambda: b"\nup\n" in group.log_path("svc").read_bytes(), what="output in the log file")
    # Sampled only once the child has printed: just after fork, before exec, its RSS is a fraction of a MiB.
    status = row(group, "svc")
    assert status["pid"] and status["target"] == "up" and status["restarts"] == 0
    assert status["cpu_s"] is not None and status["cpu_s"] >= 0 and status["rss_mib"] > 1
    group.stop_all(timeout=10)
    final = row(group, "svc")
    assert final["state"] == "stopped" and final["pid"] is None and final["last_exit"] == -15


def test_crashing_child_is_restarted_then_declared_fatal(tmp_path: Path) -> None:
    group = ProcessGroup([ChildSpec("bad", CRASHER)], tmp_path, policy=FAST, rng=random.Random(2))
    group.start("bad")
    wait_until(lambda: row(group, "bad")["state"] == "fatal", timeout=20, what="fatal after quick failures")
    final = row(group, "bad")
    assert final["restarts"] == 2 and final["last_exit"] == 3
    assert "3 quick failures" in final["reason"]
    assert group.log_path("bad").read_bytes().count(b"\ncrashing\n") == 3
    group.start("bad")  # an operator's start clears FATAL
    wait_until(lambda: row(group, "bad")["restarts"] >= 3, what="started again after the reset")
    group.stop_all(timeout=10)


def test_stubborn_child_is_killed_after_the_grace_time(tmp_path: Path) -> None:
    group = ProcessGroup([ChildSpec("stubborn", STUBBORN)], tmp_path, policy=FAST, grace=0.3)
    group.start("stubborn")
    wait_until(lambda: b"\nignoring TERM\n" in group.log_path("stubborn").read_bytes(), what="child ready")
    group.stop("stubborn")
    wait_until(lambda: row(group, "stubborn")["state"] == "stopped", timeout=10, what="killed")
    assert row(group, "stubborn")["last_exit"] == -9


def test_killed_child_is_restarted_with_a_new_pid(tmp_path: Path) -> None:
    group = ProcessGroup([ChildSpec("svc", SLEEPER)], tmp_path, policy=FAST)
    group.start("svc")
    wait_until(lambda: row(group, "svc")["state"] == "running", what="running")
    first = row(group, "svc")["pid"]
    import os
    import signal
    os.kill(first, signal.SIGKILL)
    wait_until(lambda: row(group, "svc")["pid"] not in (None, first), timeout=10, what="restarted")
    assert row(group, "svc")["restarts"] == 1
    group.stop_all(timeout=10)


def test_restart_command_is_not_counted_as_a_failure(tmp_path: Path) -> None:
    group = ProcessGroup([ChildSpec("svc", SLEEPER)], tmp_path, policy=FAST)
    group.start("svc")
    wait_until(lambda: row(group, "svc")["state"] == "running", what="running")
    first = row(group, "svc")["pid"]
    group.restart("svc")
    wait_until(lambda: row(group, "svc")["pid"] not in (None, first) and row(group, "svc")["state"] == "running",
               timeout=10, what="running again")
    assert row(group, "svc")["reason"] == "" or "failure" not in row(group, "svc")["reason"]
    group.stop_all(timeout=10)


def test_unknown_names_and_duplicates_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="duplicate"):
        ProcessGroup([ChildSpec("a", SLEEPER), ChildSpec("a", SLEEPER)], tmp_path)
    group = ProcessGroup([ChildSpec("a", SLEEPER)], tmp_path)
    with pytest.raises(KeyError, match="no service 'b'"):
        group.start("b")


def test_a_missing_executable_is_a_failed_start_not_a_crash_of_the_supervisor(tmp_path: Path) -> None:
    group = ProcessGroup([ChildSpec("ghost", ["/nonexistent/binary"])], tmp_path, policy=FAST)
    group.start("ghost")
    wait_until(lambda: row(group, "ghost")["state"] == "fatal", timeout=20, what="fatal")
    assert "cannot start" in row(group, "ghost")["reason"] or "quick failures" in row(group, "ghost")["reason"]


SLEEPER_TWO = [PY, "-c", "import time\nprint('up two', flush=True)\ntime.sleep(120)"]


def names_in_status(group: ProcessGroup) -> list[str]:
    group.poll()
    return [r["name"] for r in group.status()]


def test_children_are_added_removed_and_given_a_new_command_line(tmp_path: Path) -> None:
    group = ProcessGroup([ChildSpec("a", SLEEPER), ChildSpec("b", SLEEPER)], tmp_path, policy=FAST, grace=5.0)
    group.start_all()
    wait_until(lambda: row(group, "a")["state"] == row(group, "b")["state"] == "running", what="a and b running")
    a_pid, b_pid = row(group, "a")["pid"], row(group, "b")["pid"]
    with pytest.raises(ValueError, match="already supervised"):
        group.add(ChildSpec("a", SLEEPER))

    group.add(ChildSpec("c", SLEEPER))
    assert row(group, "c")["state"] == "stopped" and row(group, "c")["target"] == "down"
    group.start("c")
    group.remove("b")
    assert [s.name for s in group.specs()] == ["a", "c"] and group.names == ["a", "c"]
    group.replace(ChildSpec("a", SLEEPER_TWO))
    wait_until(lambda: names_in_status(group) == ["a", "c"], what="b dropped once it has exited")
    assert not psutil.pid_exists(b_pid) or psutil.Process(b_pid).status() == psutil.STATUS_ZOMBIE
    wait_until(lambda: row(group, "a")["state"] == "running" and row(group, "a")["pid"] not in (None, a_pid),
               what="a running again with its new command line")
    wait_until(lambda: b"\nup two\n" in group.log_path("a").read_bytes(), what="the new command line ran")
    assert row(group, "a")["restarts"] == 1 and "crash" not in row(group, "a")["reason"]
    wait_until(lambda: row(group, "c")["state"] == "running", what="c running")
    group.stop_all(timeout=10)


def test_a_child_stopped_by_the_operator_keeps_its_target_when_replaced(tmp_path: Path) -> None:
    group = ProcessGroup([ChildSpec("a", SLEEPER)], tmp_path, policy=FAST)
    group.replace(ChildSpec("a", SLEEPER_TWO))
    assert row(group, "a")["state"] == "stopped" and row(group, "a")["pid"] is None
    group.start("a")
    wait_until(lambda: row(group, "a")["state"] == "running" and b"\nup two\n" in group.log_path("a").read_bytes(),
               what="started with the new spec")
    group.stop_all(timeout=10)


def test_a_removed_child_still_stopping_can_be_added_back(tmp_path: Path) -> None:
    group = ProcessGroup([ChildSpec("s", STUBBORN)], tmp_path, policy=FAST, grace=0.5)
    group.start("s")
    wait_until(lambda: b"\nignoring TERM\n" in group.log_path("s").read_bytes(), what="child ready")
    old_pid = row(group, "s")["pid"]
    group.remove("s")
    assert row(group, "s")["state"] == "stopping" and group.names == []
    group.add(ChildSpec("s", SLEEPER_TWO))  # a reload that put it back before it exited
    group.start("s")
    wait_until(lambda: row(group, "s")["state"] == "running" and b"\nup two\n" in group.log_path("s").read_bytes(),
               timeout=10, what="new spec started")
    final = row(group, "s")
    assert final["pid"] not in (None, old_pid) and final["state"] == "running" and final["last_exit"] == -9
    assert "crash" not in final["reason"] and group.names == ["s"]  # the stop was no failure
    group.stop_all(timeout=10)


def test_start_while_stopping_waits_for_the_exit_and_is_no_failure(tmp_path: Path) -> None:
    group = ProcessGroup([ChildSpec("s", STUBBORN)], tmp_path, policy=FAST, grace=0.3)
    group.start("s")
    wait_until(lambda: b"\nignoring TERM\n" in group.log_path("s").read_bytes(), what="child ready")
    group.stop("s")
    group.start("s")
    wait_until(lambda: row(group, "s")["restarts"] == 1 and row(group, "s")["state"] == "running", timeout=10,
               what="started again after the kill")
    assert row(group, "s")["reason"].startswith("stopped as requested")
    group.stop_all(timeout=10)


def test_removing_a_stopped_child_drops_it_at_once(tmp_path: Path) -> None:
    group = ProcessGroup([ChildSpec("a", SLEEPER), ChildSpec("b", SLEEPER)], tmp_path, policy=FAST)
    group.remove("b")
    assert [r["name"] for r in group.status()] == ["a"]
    with pytest.raises(KeyError, match="no service 'b'"):
        group.start("b")
