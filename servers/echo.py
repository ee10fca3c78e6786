"""A demonstration service: echo, arithmetic and a long countdown operation.

It is what ``make run`` serves until the observatory's own services exist, and
the smallest complete example of a PyROS service::

    pyros call echo echo text=hello times=2
    pyros call echo countdown seconds=3 --wait
"""

from __future__ import annotations

from typing import Annotated

from pyros.clock import get_clock
from pyros.service import Quantity, Service, Session, command, operation


class EchoService(Service):
    """Echo text back, add numbers and count down in observatory time."""

    service_name = "echo"
    version = "1.0.0"

    def __init__(self, greeting: str = "hello") -> None:
        self.greeting = greeting
        self.calls = 0

    @command(timeout=5.0)
    def echo(self, text: str, times: Annotated[int, Quantity(minimum=1, maximum=100)] = 1) -> str:
        """Return ``text`` repeated.

        Args:
            text: What to echo.
            times: How many times to repeat it.
        """
        self.calls += 1
        return " ".join([text] * times)

    @command(timeout=5.0)
    def add(self, a: float, b: float) -> float:
        """Return the sum of two numbers.

        Args:
            a: First term.
            b: Second term.
        """
        return a + b

    @command(level="operator")
    def greet(self, name: str) -> str:
        """Greet someone (operator level, to show access control).

        Args:
            name: Who to greet.
        """
        return f"{self.greeting}, {name}"

    @operation()
    def countdown(self, session: Session, seconds: Annotated[float, Quantity("s", 0.0, 3600.0)] = 5.0,
                  step: Annotated[float, Quantity("s", 0.001, 3600.0)] = 1.0) -> dict:
        """Count down in observatory time, reporting progress at each step; abortable.

        Args:
            seconds: Length of the countdown in observatory seconds.
            step: Observatory seconds between progress reports.
        """
        clock = get_clock()
        start = clock.now()
        remaining = seconds
        while remaining > 0:
            session.update(remaining=remaining, fraction_done=1 - remaining / seconds)
            if session.sleep(clock.wall_delay(min(step, remaining))):
                return {"aborted": True, "remaining": remaining}
            remaining = max(0.0, seconds - (clock.now() - start))
        session.update(remaining=0.0, fraction_done=1.0)
        return {"aborted": False, "elapsed": clock.now() - start}
