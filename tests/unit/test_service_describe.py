"""Built-in ping and describe, service declaration and its errors."""

from __future__ import annotations

import datetime
import enum
import os
import socket
from typing import Any, Literal, Optional

import pytest

from pyros.service import BUILTIN_NAMES, Service, ServiceRuntime, Session, command, operation
from pyros.service.runtime import default_instance_name
from tests.unit.test_service_support import call


class Shutter(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class Dome(Service):
    """Dome controller.

    Rotates the dome and drives its shutter.
    """

    service_name = "dome"
    version = "1.2.0"

    @command(level="operator", timeout=10.0)
    def set_speed(self, degrees_per_s: float, mode: Literal["fast", "slow"] = "fast") -> dict[str, Any]:
        """Set the rotation speed.

        Args:
            degrees_per_s: Rotation speed in degrees per second.
            mode: How to get there.

        Returns:
            The speed set.
        """
        return {"speed": degrees_per_s, "mode": mode}

    @command()
    def position(self) -> float:
        """Return the azimuth in degrees."""
        return 12.5

    @command(name="goto-many", level="admin")
    def goto_many(
        self,
        targets: list[float],
        options: dict[str, int] | None = None,
        pair: tuple[int, str] = (1, "a"),
        shutter: Shutter = Shutter.CLOSED,
        note: Optional[str] = None,
        extra: Any = None,
    ) -> None:
        """Visit several azimuths."""

    @operation(level="operator")
    def open(self, session: Session, speed: float = 1.0) -> dict[str, str]:
        """Open the shutter.

        Args:
            speed: Shutter speed factor.
        """
        return {"shutter": "open"}

    def helper(self) -> int:
        """Not a command."""
        return 1


@pytest.fixture()
def rt() -> ServiceRuntime:
    return ServiceRuntime(Dome(), instance="node1-42", default_timeout=30.0, now=lambda: 1_700_000_000.5)


def test_service_names(rt: ServiceRuntime) -> None:
    assert rt.service_names() == ["dome", "dome.node1-42"]


def test_service_name_override_and_default() -> None:
    assert ServiceRuntime(Dome(), instance="x", service_name="dome2").service_names() == ["dome2", "dome2.x"]

    class Weather(Service):
        """No name given."""

    assert ServiceRuntime(Weather(), instance="x").service_name == "weather"
    assert default_instance_name() == f"{socket.gethostname()}-{os.getpid()}".replace(" ", "_")
    assert ServiceRuntime(Weather()).instance == default_instance_name()


def test_ping(rt: ServiceRuntime) -> None:
    reply = call(rt, "ping")
    assert reply.ok
    assert reply.data == {
        "service": "dome",
        "instance": "node1-42",
        "version": "1.2.0",
        "time": 1_700_000_000.5,
        "pid": os.getpid(),
        "host": socket.gethostname(),
    }


def test_ping_time_defaults_to_observatory_time() -> None:
    runtime = ServiceRuntime(Dome(), instance="x")
    data = call(runtime, "ping").data
    assert isinstance(data["time"], float) and data["time"] > 1e9


def test_describe_header(rt: ServiceRuntime) -> None:
    data = call(rt, "describe").data
    assert data["service"] == "dome"
    assert data["instance"] == "node1-42"
    assert data["version"] == "1.2.0"
    assert data["doc"] == "Dome controller.\n\nRotates the dome and drives its shutter."
    assert set(data["commands"]) == {"set_speed", "position", "goto-many", "open"} | BUILTIN_NAMES


def test_describe_command(rt: ServiceRuntime) -> None:
    spec = call(rt, "describe").data["commands"]["set_speed"]
    assert spec == {
        "doc": "Set the rotation speed.",
        "level": "operator",
        "timeout": 10.0,
        "long": False,
        "builtin": False,
        "params": [
            {
                "name": "degrees_per_s",
                "type": "float",
                "required": True,
                "default": None,
                "doc": "Rotation speed in degrees per second.",
            },
            {
                "name": "mode",
                "type": "Literal['fast', 'slow']",
                "required": False,
                "default": "fast",
                "doc": "How to get there.",
            },
        ],
        "returns": "dict[str, Any]",
    }


def test_describe_default_timeout_and_level(rt: ServiceRuntime) -> None:
    spec = call(rt, "describe").data["commands"]["position"]
    assert (spec["level"], spec["timeout"], spec["returns"], spec["params"]) == ("observer", 30.0, "float", [])


def test_describe_types(rt: ServiceRuntime) -> None:
    spec = call(rt, "describe").data["commands"]["goto-many"]
    assert spec["level"] == "admin"
    assert spec["returns"] == "None"
    assert [(p["name"], p["type"], p["required"], p["default"]) for p in spec["params"]] == [
        ("targets", "list[float]", True, None),
        ("options", "dict[str, int] | None", False, None),
        ("pair", "tuple[int, str]", False, [1, "a"]),
        ("shutter", "Shutter('open', 'closed')", False, "closed"),
        ("note", "str | None", False, None),
        ("extra", "Any", False, None),
    ]


def test_describe_operation(rt: ServiceRuntime) -> None:
    spec = call(rt, "describe").data["commands"]["open"]
    assert spec["long"] is True
    assert spec["timeout"] is None
    assert spec["level"] == "operator"
    assert spec["params"] == [
        {"name": "speed", "type": "float", "required": False, "default": 1.0, "doc": "Shutter speed factor."}
    ]


def test_describe_builtins(rt: ServiceRuntime) -> None:
    commands = call(rt, "describe").data["commands"]
    wait = commands["wait"]
    assert wait["builtin"] is True and wait["timeout"] is None
    assert [(p["name"], p["type"], p["required"]) for p in wait["params"]] == [
        ("session", "str", True),
        ("timeout", "float | None", False),
    ]
    assert wait["params"][0]["doc"]
    assert commands["abort"]["params"][0]["name"] == "session"
    assert commands["ping"]["params"] == [] and commands["ping"]["doc"]


def test_helper_methods_are_not_commands(rt: ServiceRuntime) -> None:
    reply = call(rt, "helper")
    assert reply.error is not None and reply.error.type == "UnknownCommand"


def test_subclass_inherits_and_overrides_commands() -> None:
    class BigDome(Dome):
        """A bigger dome."""

        version = "2.0"

        @command()
        def position(self) -> float:
            """Overridden."""
            return 99.0

        def set_speed(self, degrees_per_s: float, mode: Literal["fast", "slow"] = "fast") -> dict[str, Any]:
            return {}

    runtime = ServiceRuntime(BigDome(), instance="x")
    assert call(runtime, "position").data == 99.0
    assert call(runtime, "describe").data["doc"] == "A bigger dome."
    assert "set_speed" not in call(runtime, "describe").data["commands"]
    assert call(runtime, "goto-many", {"targets": [1]}).error.type == "AccessDenied"  # type: ignore[union-attr]


def test_bare_decorators() -> None:
    class Bare(Service):
        @command
        def a(self) -> int:
            return 1

        @operation
        def b(self, session: Session) -> None:
            return None

    runtime = ServiceRuntime(Bare(), instance="x")
    commands = call(runtime, "describe").data["commands"]
    assert commands["a"]["long"] is False and commands["b"]["long"] is True


# -- declaration errors: found when the runtime is built -----------------------------------------


def _declare(body: dict[str, Any]) -> ServiceRuntime:
    cls = type("Bad", (Service,), body)
    return ServiceRuntime(cls(), instance="x")


def test_varargs_refused() -> None:
    def f(self: Any, *values: int) -> None: ...

    with pytest.raises(TypeError, match=r"Bad\.f.*\*args"):
        _declare({"f": command()(f)})


def test_kwargs_refused() -> None:
    def f(self: Any, **values: int) -> None: ...

    with pytest.raises(TypeError, match=r"\*\*kwargs"):
        _declare({"f": command()(f)})


def test_positional_only_refused() -> None:
    def f(self: Any, x: int, /) -> None: ...

    with pytest.raises(TypeError, match="positional-only"):
        _declare({"f": command()(f)})


def test_unsupported_type_refused() -> None:
    def f(self: Any, when: datetime.datetime) -> None: ...

    with pytest.raises(TypeError, match=r"Bad\.f\(when\).*datetime"):
        _declare({"f": command()(f)})


def test_unresolvable_hint_refused() -> None:
    def f(self: Any, x: NoSuchType) -> None: ...  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(TypeError, match=r"cannot resolve the type hints of Bad\.f"):
        _declare({"f": command()(f)})


def test_reserved_name_refused() -> None:
    def status(self: Any) -> str:
        return "fine"

    with pytest.raises(TypeError, match=r"status.*reserved"):
        _declare({"status": command()(status)})


def test_duplicate_command_name_refused() -> None:
    def a(self: Any) -> None: ...

    def b(self: Any) -> None: ...

    with pytest.raises(TypeError, match="both declare command 'same'"):
        _declare({"a": command(name="same")(a), "b": command(name="same")(b)})


def test_operation_needs_session() -> None:
    def op(self: Any, speed: float) -> None: ...

    with pytest.raises(TypeError, match="Session as its first parameter"):
        _declare({"op": operation()(op)})


def test_decorator_argument_errors() -> None:
    with pytest.raises(ValueError, match="timeout"):
        command(timeout=0)
    with pytest.raises(ValueError, match="timeout"):
        command(timeout=float("nan"))
    with pytest.raises(ValueError, match="name"):
        command(name="has space")
    with pytest.raises(TypeError, match="plain method"):
        command()(staticmethod(lambda: None))


def test_runtime_argument_errors() -> None:
    with pytest.raises(TypeError, match="Service"):
        ServiceRuntime(object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mmi"):
        ServiceRuntime(Dome(), service_name="mmi.dome")
    with pytest.raises(ValueError, match="instance"):
        ServiceRuntime(Dome(), instance="a/b")
    with pytest.raises(ValueError, match="default_timeout"):
        ServiceRuntime(Dome(), default_timeout=-1)
