"""Requests through ServiceRuntime.handle: bodies, arguments, failures, timeouts, results."""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterator
from typing import Any, Literal, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyros.messages import Reply, decode_reply, pack
from pyros.service import Refusal, Service, ServiceRuntime, command
from pyros.service.timed_call import CallTimedOut, TimedCall
from tests.unit.test_service_support import TIMEOUT, call, call_raw


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


class NotHomed(Exception):
    """A device error with its own type."""


class Echo(Service):
    """Echoes what it is given, to test argument handling."""

    service_name = "echo"
    version = "0.1.0"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()

    @command()
    def types(
        self,
        i: int = 0,
        f: float = 0.0,
        s: str = "",
        b: bool = False,
        raw: bytes = b"",
        maybe: Optional[int] = None,
        xs: list[int] | None = None,
        m: dict[str, float] | None = None,
        pair: tuple[int, str] | None = None,
        speed: Literal["fast", "slow"] = "fast",
        mode: Mode = Mode.FAST,
        either: int | str = 0,
        anything: Any = None,
    ) -> dict[str, Any]:
        """Return the type name of each argument received."""
        values = {
            "i": i,
            "f": f,
            "s": s,
            "b": b,
            "raw": raw,
            "maybe": maybe,
            "xs": xs,
            "m": m,
            "pair": pair,
            "speed": speed,
            "mode": mode,
            "either": either,
            "anything": anything,
        }
        return {name: type(value).__name__ for name, value in values.items()}

    @command()
    def needs(self, degrees_per_s: float, label: str) -> str:
        """Two required arguments."""
        return f"{label}:{degrees_per_s}"

    @command()
    def fail(self, kind: str) -> None:
        """Raise the exception named by ``kind``."""
        if kind == "value":
            raise ValueError("the value is wrong")
        if kind == "generic":
            raise Exception("something broke")
        if kind == "custom":
            raise NotHomed("home the dome first")
        if kind == "refusal":
            raise Refusal("Interlocked", "the shutter is interlocked")
        if kind == "empty":
            raise KeyError()
        raise RuntimeError(kind)

    @command()
    def bad_result(self, kind: str) -> Any:
        """Return something msgpack cannot carry."""
        if kind == "object":
            return object()
        if kind == "int_keys":
            return {1: "one"}
        return {"ok": True}

    @command(timeout=0.2)
    def hang(self) -> str:
        """Block until the test releases it."""
        self.started.set()
        self.release.wait(TIMEOUT)
        return "late"

    @command()
    def hang_default(self) -> str:
        """Block until released, with the runtime's default timeout."""
        self.release.wait(TIMEOUT)
        return "late"


@pytest.fixture()
def echo() -> Iterator[Echo]:
    service = Echo()
    yield service
    service.release.set()


@pytest.fixture()
def rt(echo: Echo) -> Iterator[ServiceRuntime]:
    runtime = ServiceRuntime(echo, instance="t1", default_timeout=0.2)
    yield runtime
    runtime.close()


def error_of(reply: Reply) -> tuple[str, str]:
    assert not reply.ok
    assert reply.error is not None
    return reply.error.type, reply.error.message


# -- malformed bodies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "rid", "fragment"),
    [
        (b"\xc1", None, "not valid msgpack"),
        (b"", None, "not valid msgpack"),
        (pack([1, 2]), None, "must be a map"),
        (pack({"cmd": "ping", "args": {}}), None, "'id'"),
        (pack({"id": "", "cmd": "ping"}), "", "'id'"),
        (pack({"id": 5, "cmd": "ping"}), None, "'id'"),
        (pack({"id": "r1", "args": {}}), "r1", "'cmd'"),
        (pack({"id": "r1", "cmd": "ping", "args": [1]}), "r1", "'args'"),
        (pack({"id": "r1", "cmd": "ping", "token": 3}), "r1", "'token'"),
        (pack({"id": "r1", "cmd": "ping", "extra": 1}), "r1", "extra"),
    ],
)
def test_malformed_bodies_get_bad_request(rt: ServiceRuntime, body: bytes, rid: str | None, fragment: str) -> None:
    reply = call_raw(rt, body)
    assert reply.id == rid
    kind, message = error_of(reply)
    assert kind == "BadRequest"
    assert fragment in message


def test_body_that_is_not_bytes(rt: ServiceRuntime) -> None:
    reply = call_raw(rt, "not bytes")
    assert error_of(reply)[0] == "BadRequest"
    assert reply.id is None


def test_bytearray_and_memoryview_bodies_are_accepted(rt: ServiceRuntime) -> None:
    body = pack({"id": "r1", "cmd": "ping", "args": {}})
    assert call_raw(rt, bytearray(body)).ok
    assert call_raw(rt, memoryview(pack({"id": "r2", "cmd": "ping"}))).ok


FUZZ_RUNTIME = ServiceRuntime(Echo(), instance="fuzz", default_timeout=TIMEOUT, reply_cache_ttl=0.0)
"""Shared by the property tests (the runtime is thread-safe and they never reach ``hang``)."""


@settings(max_examples=300)
@given(st.binary(max_size=64))
def test_random_bodies_never_raise(body: bytes) -> None:
    decoded = decode_reply(FUZZ_RUNTIME.handle(body, lambda _b: None))
    assert isinstance(decoded, Reply)


@settings(max_examples=300)
@given(
    st.dictionaries(
        st.sampled_from(["id", "cmd", "args", "token", "x"]),
        st.none()
        | st.integers(-(2**63), 2**63 - 1)
        | st.text(max_size=8)
        | st.sampled_from(["ping", "describe", "types", "needs", "status", "wait", "sessions"])
        | st.dictionaries(
            st.sampled_from(["i", "s", "label", "session", "timeout"]), st.integers(0, 3) | st.text(max_size=4)
        ),
    )
)
def test_random_maps_never_raise(body: dict[str, Any]) -> None:
    decoded = decode_reply(FUZZ_RUNTIME.handle(pack(body), lambda _b: None))
    assert isinstance(decoded, Reply)


# -- commands and arguments -----------------------------------------------------------------------


def test_unknown_command_lists_the_available_ones(rt: ServiceRuntime) -> None:
    kind, message = error_of(call(rt, "fly"))
    assert kind == "UnknownCommand"
    assert "'fly'" in message
    for name in ("needs", "types", "ping", "describe", "wait"):
        assert name in message


def test_arguments_are_converted(rt: ServiceRuntime) -> None:
    reply = call(
        rt,
        "types",
        {
            "i": 1,
            "f": 2,
            "s": "x",
            "b": True,
            "raw": b"\x01",
            "maybe": None,
            "xs": [1, 2],
            "m": {"a": 1},
            "pair": [1, "a"],
            "speed": "slow",
            "mode": "slow",
            "either": "s",
            "anything": [1],
        },
    )
    assert reply.ok, reply.error
    assert reply.data == {
        "i": "int",
        "f": "float",
        "s": "str",
        "b": "bool",
        "raw": "bytes",
        "maybe": "NoneType",
        "xs": "list",
        "m": "dict",
        "pair": "tuple",
        "speed": "str",
        "mode": "Mode",
        "either": "str",
        "anything": "list",
    }


def test_missing_required_arguments_are_named(rt: ServiceRuntime) -> None:
    kind, message = error_of(call(rt, "needs", {"label": "x"}))
    assert kind == "BadArgument"
    assert "missing required argument 'degrees_per_s' (float)" in message
    kind, message = error_of(call(rt, "needs"))
    assert "'degrees_per_s' (float)" in message and "'label' (str)" in message


def test_unknown_argument_is_named(rt: ServiceRuntime) -> None:
    kind, message = error_of(call(rt, "needs", {"degrees_per_s": 1.0, "label": "x", "colour": "red"}))
    assert kind == "BadArgument"
    assert "unknown argument 'colour'" in message
    assert "degrees_per_s: float" in message


def test_non_string_argument_name(rt: ServiceRuntime) -> None:
    body = pack({"id": "r1", "cmd": "needs", "args": {b"label": "x"}})
    kind, message = error_of(call_raw(rt, body))
    assert kind == "BadArgument"
    assert "argument names must be strings" in message


@pytest.mark.parametrize(
    ("args", "name", "expected", "got"),
    [
        ({"i": "1"}, "i", "int", "str '1'"),
        ({"i": True}, "i", "int", "bool True"),
        ({"i": 1.5}, "i", "int", "float 1.5"),
        ({"f": "fast"}, "f", "float", "str 'fast'"),
        ({"f": None}, "f", "float", "None"),
        ({"s": 1}, "s", "str", "int 1"),
        ({"b": 1}, "b", "bool", "int 1"),
        ({"raw": "text"}, "raw", "bytes", "str 'text'"),
        ({"maybe": "x"}, "maybe", "int | None", "str 'x'"),
        ({"xs": [1, "two"]}, "xs", "list[int] | None", "list of 2 items"),
        ({"m": {"a": "b"}}, "m", "dict[str, float] | None", "dict of 1 item"),
        ({"pair": [1]}, "pair", "tuple[int, str] | None", "list of 1 item"),
        ({"speed": "medium"}, "speed", "Literal['fast', 'slow']", "str 'medium'"),
        ({"mode": "medium"}, "mode", "Mode('fast', 'slow')", "str 'medium'"),
        ({"either": 1.5}, "either", "int | str", "float 1.5"),
    ],
)
def test_wrong_types_name_argument_expected_and_received(
    rt: ServiceRuntime, args: dict[str, Any], name: str, expected: str, got: str
) -> None:
    kind, message = error_of(call(rt, "types", args))
    assert kind == "BadArgument"
    assert f"argument '{name}' expected {expected}, got {got}" in message


def test_nested_mismatch_names_the_element(rt: ServiceRuntime) -> None:
    _, message = error_of(call(rt, "types", {"xs": [1, 2, "three"]}))
    assert "argument 'xs'" in message
    assert "xs[2]" in message


# -- failures ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "error_type", "message"),
    [
        ("value", "ValueError", "the value is wrong"),
        ("generic", "CommandFailed", "something broke"),
        ("custom", "NotHomed", "home the dome first"),
        ("refusal", "Interlocked", "the shutter is interlocked"),
        ("empty", "KeyError", "command 'fail' raised KeyError"),
        ("other", "RuntimeError", "other"),
    ],
)
def test_exceptions_become_error_replies(rt: ServiceRuntime, kind: str, error_type: str, message: str) -> None:
    reply = call(rt, "fail", {"kind": kind})
    assert error_of(reply) == (error_type, message)


@pytest.mark.parametrize("kind", ["object", "int_keys"])
def test_unserialisable_result_is_bad_result(rt: ServiceRuntime, kind: str) -> None:
    kind_, message = error_of(call(rt, "bad_result", {"kind": kind}))
    assert kind_ == "BadResult"
    assert "bad_result" in message


def test_serialisable_result(rt: ServiceRuntime) -> None:
    assert call(rt, "bad_result", {"kind": "fine"}).data == {"ok": True}


def test_timeout_gives_command_timeout(rt: ServiceRuntime, echo: Echo) -> None:
    reply = call(rt, "hang")
    assert error_of(reply) == ("CommandTimeout", "command 'hang' did not finish within 0.2 s")
    assert echo.started.wait(TIMEOUT)
    assert rt.overrunning_commands == 1
    echo.release.set()


def test_default_timeout_applies(rt: ServiceRuntime) -> None:
    assert error_of(call(rt, "hang_default"))[0] == "CommandTimeout"


def test_late_result_is_discarded_and_counted() -> None:
    release = threading.Event()
    gave_up = threading.Event()
    ended = threading.Event()
    timed = TimedCall(lambda: release.wait(TIMEOUT), "test", on_give_up=gave_up.set, on_late=ended.set)
    with pytest.raises(CallTimedOut):
        timed.run(0.05)
    assert gave_up.is_set() and not ended.is_set()
    release.set()
    assert ended.wait(TIMEOUT)


def test_timed_call_returns_and_raises() -> None:
    assert TimedCall(lambda: 42, "ok").run(TIMEOUT) == 42
    with pytest.raises(ZeroDivisionError):
        TimedCall(lambda: 1 / 0, "div").run(TIMEOUT)


def test_concurrent_requests(rt: ServiceRuntime) -> None:
    results: list[Reply] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        reply = call(rt, "needs", {"degrees_per_s": float(n), "label": "n"})
        with lock:
            results.append(reply)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert sorted(r.data for r in results) == sorted(f"n:{float(n)}" for n in range(16))


def test_requests_after_close_are_refused(echo: Echo) -> None:
    runtime = ServiceRuntime(echo, instance="t2")
    runtime.close()
    runtime.close()
    kind, _ = error_of(call(runtime, "ping"))
    assert kind == "ShuttingDown"
