"""Long operations: sessions, status, wait with PARTIAL progress, abort, exclusivity, retention."""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from pyros.messages import Reply
from pyros.service import AccessPolicy, Service, ServiceRuntime, Session, operation
from pyros.service.session_state import SessionState
from tests.unit.test_service_support import TIMEOUT, Background, PartialSink, call

OPERATOR = "op-token"


class Ops(Service):
    """Operations driven by the test through events."""

    service_name = "ops"
    version = "3.1"

    def __init__(self) -> None:
        self.gates = [threading.Event() for _ in range(5)]
        self.entered = threading.Event()
        self.release = threading.Event()
        self.stopped = False

    def on_stop(self) -> None:
        self.stopped = True

    @operation(level="operator")
    def stepped(self, session: Session, steps: int = 3) -> dict[str, int]:
        """Advance one step each time the test opens a gate.

        Args:
            steps: Number of steps.
        """
        for i in range(steps):
            if not self.gates[i].wait(TIMEOUT):
                raise TimeoutError(f"gate {i} never opened")
            session.update(step=i, progress=(i + 1) / steps)
        return {"steps": steps}

    @operation()
    def loop(self, session: Session, period: float = 10.0) -> dict[str, int]:
        """Sleep in a loop until aborted."""
        self.entered.set()
        n = 0
        while not session.sleep(period):
            n += 1
        return {"aborted_after": n}

    @operation()
    def crash(self, session: Session) -> None:
        """Fail at once."""
        raise ValueError("motor stalled")

    @operation(exclusive=False)
    def quick(self, session: Session, value: int = 0) -> dict[str, int]:
        """Finish at once."""
        return {"value": value}

    @operation()
    def bad_result(self, session: Session) -> object:
        """Return something msgpack cannot carry."""
        return object()

    @operation()
    def bad_data(self, session: Session) -> None:
        """Publish something msgpack cannot carry."""
        session.update(when=object())

    @operation(exclusive=False)
    def parallel(self, session: Session) -> str:
        """Run until released; several may run at once."""
        self.release.wait(TIMEOUT)
        return "ok"

    @operation()
    def stubborn(self, session: Session) -> str:
        """Ignore aborts until released."""
        self.entered.set()
        self.release.wait(TIMEOUT)
        return "finished anyway"


class Changes:
    """Records what the session-change hook receives."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def __call__(self, op: str, session: dict[str, Any]) -> None:
        with self._lock:
            self.events.append((op, session))

    def statuses(self, sid: str) -> list[str]:
        with self._lock:
            return [s["status"] for _, s in self.events if s["session"] == sid]


@pytest.fixture()
def ops() -> Iterator[Ops]:
    service = Ops()
    yield service
    service.release.set()
    for gate in service.gates:
        gate.set()


@pytest.fixture()
def changes() -> Changes:
    return Changes()


@pytest.fixture()
def rt(ops: Ops, changes: Changes) -> Iterator[ServiceRuntime]:
    ticks = itertools.count(1000)
    runtime = ServiceRuntime(
        ops,
        instance="node-7",
        access=AccessPolicy({OPERATOR: "operator"}),
        keep_sessions=3,
        on_session_change=changes,
        now=lambda: float(next(ticks)),
    )
    yield runtime
    ops.release.set()
    for gate in ops.gates:
        gate.set()
    runtime.close(timeout=TIMEOUT)


def ok(reply: Reply) -> Any:
    assert reply.ok, reply.error
    return reply.data


def error_of(reply: Reply) -> tuple[str, str]:
    assert not reply.ok and reply.error is not None
    return reply.error.type, reply.error.message


def start(rt: ServiceRuntime, op: str, args: dict[str, Any] | None = None, token: str | None = OPERATOR) -> str:
    data = ok(call(rt, op, args, token=token))
    assert data["instance"] == rt.instance and data["status"] == "starting"
    return str(data["session"])


def wait(rt: ServiceRuntime, sid: str, **kw: Any) -> dict[str, Any]:
    result: dict[str, Any] = ok(call(rt, "wait", {"session": sid, **kw}))
    return result


def test_start_answers_at_once(rt: ServiceRuntime, ops: Ops) -> None:
    data = ok(call(rt, "stepped", {"steps": 2}, token=OPERATOR))
    assert set(data) == {"session", "instance", "status"}
    assert data["status"] == "starting"
    assert data["session"].startswith("node-7/")
    status = ok(call(rt, "status", {"session": data["session"]}))
    assert status["status"] in ("starting", "running")
    assert status["success"] is None and status["end_time"] is None


def at_step(step: int, progress: dict[str, Any]) -> bool:
    return bool(progress["data"].get("step") == step)


def test_full_lifecycle_with_progress(rt: ServiceRuntime, ops: Ops, changes: Changes) -> None:
    sid = start(rt, "stepped", {"steps": 3})
    sink = PartialSink()
    waiter = Background(lambda: call(rt, "wait", {"session": sid}, rid="w-1", partials=sink))
    sink.wait_for(lambda p: True)
    for i in range(3):
        ops.gates[i].set()
        if i < 2:
            sink.wait_for(functools.partial(at_step, i))
    final = ok(waiter.get())
    assert final == {
        "session": sid,
        "op": "stepped",
        "service": "ops",
        "instance": "node-7",
        "args": {"steps": 3},
        "status": "done",
        "success": True,
        "message": "done",
        "result": {"steps": 3},
        "data": {"step": 2, "progress": 1.0},
        "start_time": final["start_time"],
        "end_time": final["end_time"],
    }
    assert final["end_time"] > final["start_time"] >= 1000.0
    assert set(sink.ids) == {"w-1"}
    steps = [p["data"].get("step", -1) for p in sink.progress]
    assert steps == sorted(steps) and {0, 1} <= set(steps)
    assert all(p["status"] != "done" for p in sink.progress)
    assert changes.statuses(sid)[0] == "starting"
    assert changes.statuses(sid)[-1] == "done"
    assert changes.statuses(sid).count("running") >= 4  # set_running and three updates
    assert ok(call(rt, "status", {"session": sid})) == final


def test_wait_on_finished_session_returns_at_once(rt: ServiceRuntime) -> None:
    sid = start(rt, "quick", {"value": 5})
    first = wait(rt, sid)
    sink = PartialSink()
    again = ok(call(rt, "wait", {"session": sid}, partials=sink))
    assert again == first and first["result"] == {"value": 5}
    assert sink.progress == []


def test_wait_timeout_returns_current_state(rt: ServiceRuntime, ops: Ops) -> None:
    sid = start(rt, "stepped", {"steps": 1})
    state = wait(rt, sid, timeout=0.05)
    assert state["status"] in ("starting", "running")
    assert wait(rt, sid, timeout=0)["status"] in ("starting", "running")
    ops.gates[0].set()
    assert wait(rt, sid, timeout=TIMEOUT)["status"] == "done"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({"session": "x", "timeout": -1}, "non-negative"),
        ({"session": "x", "timeout": float("nan")}, "non-negative"),
        ({"session": "x", "timeout": "soon"}, "argument 'timeout' expected float | None"),
        ({}, "missing required argument 'session'"),
        ({"session": 3}, "argument 'session' expected str"),
    ],
)
def test_wait_argument_errors(rt: ServiceRuntime, args: dict[str, Any], fragment: str) -> None:
    kind, message = error_of(call(rt, "wait", args))
    assert kind == "BadArgument"
    assert fragment in message


def test_abort(rt: ServiceRuntime, ops: Ops, changes: Changes) -> None:
    sid = start(rt, "loop")
    assert ops.entered.wait(TIMEOUT)
    aborted = ok(call(rt, "abort", {"session": sid}))
    assert aborted["status"] in ("stopping", "done")
    final = wait(rt, sid)
    assert final["status"] == "done"
    assert final["success"] is False
    assert final["message"] == "aborted"
    assert final["result"] == {"aborted_after": 0}
    assert "stopping" in changes.statuses(sid)
    again = ok(call(rt, "abort", {"session": sid}))
    assert again == final


def test_abort_before_the_thread_runs_keeps_stopping(rt: ServiceRuntime) -> None:
    state = SessionState(session_id="i/1", seq=1, op="op", service="s", instance="i", args={}, start_time=0.0)
    assert state.request_stop()
    state.set_running()
    assert state.snapshot()["status"] == "stopping"
    assert not state.request_stop()


def test_abort_needs_the_operation_level(rt: ServiceRuntime, ops: Ops) -> None:
    sid = start(rt, "stepped", {"steps": 1})
    kind, message = error_of(call(rt, "abort", {"session": sid}))
    assert kind == "AccessDenied"
    assert "needs level 'operator'" in message and "'observer'" in message
    assert ok(call(rt, "abort", {"session": sid}, token=OPERATOR))["status"] in ("stopping", "done")
    ops.gates[0].set()
    assert wait(rt, sid)["success"] is False


def test_operation_level_is_checked(rt: ServiceRuntime) -> None:
    kind, message = error_of(call(rt, "stepped"))
    assert kind == "AccessDenied"
    assert "command 'stepped' needs level 'operator'" in message


def test_failing_operation(rt: ServiceRuntime) -> None:
    final = wait(rt, start(rt, "crash"))
    assert (final["status"], final["success"], final["message"]) == ("done", False, "ValueError: motor stalled")


def test_unserialisable_result_fails_the_session(rt: ServiceRuntime) -> None:
    final = wait(rt, start(rt, "bad_result"))
    assert final["success"] is False
    assert final["message"].startswith("BadResult:")
    assert final["result"] is None


def test_unserialisable_data_fails_the_session(rt: ServiceRuntime) -> None:
    final = wait(rt, start(rt, "bad_data"))
    assert final["success"] is False
    assert "TypeError: session data must be msgpack-serialisable" in final["message"]


def test_bad_arguments_start_nothing(rt: ServiceRuntime) -> None:
    kind, message = error_of(call(rt, "stepped", {"steps": "three"}, token=OPERATOR))
    assert kind == "BadArgument" and "argument 'steps' expected int" in message
    kind, message = error_of(call(rt, "stepped", {"speed": 1}, token=OPERATOR))
    assert kind == "BadArgument" and "unknown argument 'speed'" in message
    assert ok(call(rt, "sessions")) == []


def test_exclusive_operation_is_busy(rt: ServiceRuntime, ops: Ops) -> None:
    sid = start(rt, "loop")
    kind, message = error_of(call(rt, "loop"))
    assert kind == "Busy"
    assert sid in message and "'loop'" in message
    ok(call(rt, "abort", {"session": sid}))
    assert wait(rt, sid)["status"] == "done"
    second = start(rt, "loop")
    assert second != sid
    ok(call(rt, "abort", {"session": second}))
    wait(rt, second)


def test_non_exclusive_operations_run_together(rt: ServiceRuntime, ops: Ops) -> None:
    first = start(rt, "parallel")
    second = start(rt, "parallel")
    assert first != second
    running = [s["session"] for s in ok(call(rt, "sessions"))]
    assert running == [first, second]
    ops.release.set()
    assert wait(rt, first)["result"] == "ok" and wait(rt, second)["result"] == "ok"


def test_duplicate_start_request_starts_one_session(rt: ServiceRuntime) -> None:
    first = ok(call(rt, "quick", {"value": 1}, rid="start-1"))
    second = ok(call(rt, "quick", {"value": 1}, rid="start-1"))
    assert first == second
    assert len(ok(call(rt, "sessions"))) == 1


@pytest.mark.parametrize("cmd", ["status", "wait", "abort"])
def test_session_of_another_instance(rt: ServiceRuntime, cmd: str) -> None:
    kind, message = error_of(call(rt, cmd, {"session": "node-9/abc-1"}, token=OPERATOR))
    assert kind == "UnknownSession"
    assert "'node-9/abc-1'" in message
    assert "address 'ops.node-9'" in message


def test_unknown_session_of_this_instance(rt: ServiceRuntime) -> None:
    kind, message = error_of(call(rt, "status", {"session": "node-7/zzz-99"}))
    assert kind == "UnknownSession"
    assert "'node-7/zzz-99'" in message and "last 3 finished" in message


def test_unknown_session_without_instance(rt: ServiceRuntime) -> None:
    kind, message = error_of(call(rt, "status", {"session": "42"}))
    assert kind == "UnknownSession"
    assert "'42'" in message and "ops.<instance>" in message


def test_finished_sessions_are_retained_boundedly(rt: ServiceRuntime) -> None:
    sids = []
    for n in range(4):
        sids.append(start(rt, "quick", {"value": n}))
        wait(rt, sids[-1])
    listed = ok(call(rt, "sessions"))
    assert [s["session"] for s in listed] == sids[1:]
    assert all(s["status"] == "done" for s in listed)
    assert error_of(call(rt, "status", {"session": sids[0]}))[0] == "UnknownSession"
    assert ok(call(rt, "status", {"session": sids[3]}))["result"] == {"value": 3}


def test_hook_failure_does_not_break_sessions(ops: Ops) -> None:
    def broken(op: str, session: dict[str, Any]) -> None:
        raise RuntimeError("K/V store down")

    runtime = ServiceRuntime(ops, instance="n", on_session_change=broken)
    final = wait(runtime, start(runtime, "quick", token=None))
    assert final["success"] is True
    runtime.close()


def test_hook_receives_operation_name(rt: ServiceRuntime, changes: Changes) -> None:
    sid = start(rt, "quick")
    wait(rt, sid)
    assert {op for op, s in changes.events if s["session"] == sid} == {"quick"}


def test_close_aborts_sessions_and_stops(rt: ServiceRuntime, ops: Ops) -> None:
    sid = start(rt, "loop")
    assert ops.entered.wait(TIMEOUT)
    rt.close(timeout=TIMEOUT)
    assert ops.stopped
    final = rt.sessions.get(sid).snapshot()
    assert (final["status"], final["message"]) == ("done", "aborted")
    assert error_of(call(rt, "status", {"session": sid}))[0] == "ShuttingDown"


def test_close_releases_waiters_of_stubborn_operations(ops: Ops) -> None:
    runtime = ServiceRuntime(ops, instance="n")
    sid = start(runtime, "stubborn", token=None)
    assert ops.entered.wait(TIMEOUT)
    sink = PartialSink()
    waiter = Background(lambda: call(runtime, "wait", {"session": sid}, partials=sink))
    sink.wait_for(lambda p: True)
    runtime.close(timeout=0.05)
    state = ok(waiter.get())
    assert state["status"] == "stopping"
    ops.release.set()


def test_session_sleep_and_update_checks() -> None:
    state = SessionState(session_id="i/1", seq=1, op="op", service="s", instance="i", args={}, start_time=0.0)
    session = Session(state)
    assert session.id == "i/1" and session.op == "op"
    assert session.sleep(0) is False
    with pytest.raises(ValueError):
        session.sleep(float("inf"))
    with pytest.raises(TypeError):
        session.update({1: "x"})  # type: ignore[dict-item]
    session.update({"a": 1}, b=[1, 2])
    assert session.data == {"a": 1, "b": [1, 2]}
    state.request_stop()
    assert session.stop_requested
    assert session.sleep(TIMEOUT) is True
    state.finish(success=False, message="aborted", result=None, end_time=1.0)
    session.update(c=3)
    assert "c" not in session.data
