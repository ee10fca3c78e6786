"""Units and limits of command parameters: declared in the type hint, checked before the call, described."""

from __future__ import annotations

from typing import Annotated, Any

import pytest

from pyros.messages import Reply
from pyros.service import Quantity, Service, ServiceRuntime, Session, command, operation
from tests.unit.test_service_support import call

Degrees = Annotated[float, Quantity("deg", minimum=0.0, maximum=360.0)]
Altitude = Annotated[float, Quantity("deg", minimum=15.0, maximum=90.0)]
Seconds = Annotated[float, Quantity("s", minimum=0.0)]


class Mount(Service):
    """A mount with limits."""

    service_name = "mount"

    def __init__(self) -> None:
        self.calls: list[tuple[float, float]] = []

    @command()
    def point(self, azimuth: Degrees, altitude: Altitude = 45.0) -> list[float]:
        """Point.

        Args:
            azimuth: Azimuth, north through east.
            altitude: Altitude above the horizon.
        """
        self.calls.append((azimuth, altitude))
        return [azimuth, altitude]

    @operation()
    def wait_a_bit(self, session: Session, seconds: Seconds = 0.0) -> float:
        """Wait.

        Args:
            seconds: How long.
        """
        return seconds

    @command()
    def count(self, n: Annotated[int, Quantity(maximum=10)]) -> int:
        """Count.

        Args:
            n: Up to ten.
        """
        return n


@pytest.fixture
def mount_rt() -> Any:
    service = Mount()
    runtime = ServiceRuntime(service)
    runtime.start()
    yield runtime, service
    runtime.close()


def error(reply: Reply) -> tuple[str, str]:
    assert not reply.ok and reply.error is not None
    return reply.error.type, reply.error.message


def test_values_inside_the_limits_are_passed(mount_rt: Any) -> None:
    runtime, service = mount_rt
    assert call(runtime, "point", {"azimuth": 0, "altitude": 90}).data == [0.0, 90.0]
    assert call(runtime, "point", {"azimuth": 359.5}).data == [359.5, 45.0]
    assert call(runtime, "count", {"n": -3}).data == -3
    assert service.calls == [(0.0, 90.0), (359.5, 45.0)]


@pytest.mark.parametrize("args, message", [
    ({"azimuth": 361}, "argument 'azimuth': 361 deg is outside [0 deg, 360 deg]"),
    ({"azimuth": -0.5}, "argument 'azimuth': -0.5 deg is outside [0 deg, 360 deg]"),
    ({"azimuth": 10, "altitude": 5}, "argument 'altitude': 5 deg is outside [15 deg, 90 deg]"),
    ({"azimuth": float("nan")}, "argument 'azimuth': nan is not a finite number"),
])
def test_values_outside_are_refused_before_the_call(mount_rt: Any, args: dict, message: str) -> None:
    runtime, service = mount_rt
    kind, text = error(call(runtime, "point", args))
    assert kind == "BadArgument" and message in text
    assert service.calls == []


def test_one_sided_limits(mount_rt: Any) -> None:
    runtime, _ = mount_rt
    assert "11 is outside <= 10" in error(call(runtime, "count", {"n": 11}))[1]
    assert "-1 s is outside >= 0 s" in error(call(runtime, "wait_a_bit", {"seconds": -1}))[1]


def test_describe_shows_units_and_limits(mount_rt: Any) -> None:
    runtime, _ = mount_rt
    commands = call(runtime, "describe").data["commands"]
    azimuth, altitude = commands["point"]["params"]
    assert azimuth["type"] == "float" and (azimuth["unit"], azimuth["minimum"], azimuth["maximum"]) == ("deg", 0, 360)
    assert altitude["default"] == 45.0 and altitude["minimum"] == 15
    assert commands["count"]["params"][0] == {"name": "n", "type": "int", "required": True, "default": None,
                                               "doc": "Up to ten.", "unit": "", "minimum": None, "maximum": 10}


def test_bad_declarations_fail_at_definition() -> None:
    with pytest.raises(ValueError, match="above its maximum"):
        Quantity("deg", minimum=10, maximum=0)
    with pytest.raises(ValueError, match="finite"):
        Quantity(maximum=float("inf"))

    class Twice(Service):
        @command()
        def bad(self, x: Annotated[float, Quantity("m"), Quantity("s")]) -> None:
            """Bad."""

    with pytest.raises(TypeError, match="at most one Quantity"):
        ServiceRuntime(Twice())


def test_an_optional_quantity_is_checked_when_given() -> None:
    class Pointing(Service):
        @command()
        def point(self, ra: Annotated[float, Quantity("deg", 0.0, 360.0)] | None = None) -> float | None:
            """Point.

            Args:
                ra: Where, if anywhere.
            """
            return ra

    runtime = ServiceRuntime(Pointing())
    try:
        assert call(runtime, "point").data is None
        assert call(runtime, "point", {"ra": 12.5}).data == 12.5
        assert "outside [0 deg, 360 deg]" in error(call(runtime, "point", {"ra": 400}))[1]
        param = call(runtime, "describe").data["commands"]["point"]["params"][0]
        assert param["unit"] == "deg" and param["type"] in ("float | None", "Optional[float]")
    finally:
        runtime.close()
