"""A demonstration service: echo, arithmetic and a long countdown operation.

It is what ``make run`` serves until the observatory's own services exist, and
the smallest complete example of a PyROS service::

    pyros call echo echo text=hello times=2
    pyros call echo countdown seconds=3 --wait
"""

from __future__ import annotations

from pyros.clock import get_clock
from pyros.service import Service, Session, command, operation


class EchoService(Service):
    """Echo text back, add numbers and count down in observatory time."""

    service_name = "echo"
    version = "1.0.0"

    def __init__(self, greeting: str = "hello") -> None:
        self.greeting = greeting
        self.calls = 0

    @command(timeout=5.0)
    def echo(self, text: str, times: int = 1) -> str:
        """Return ``text`` repeated.

        Args:
            text: What to echo.
            times: How many times to repeat it (1 to 100).
        """
        if not 1 <= times <= 100:
            raise ValueError(f"times must be between 1 and 100, got {times}")
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
    def countdown(self, session: Session, seconds: float = 5.0, step: float = 1.0) -> dict:
        """Count down in observatory time, reporting progress at each step; abortable.

        Args:
            seconds: Length of the countdown in observatory seconds (0 to 3600).
            step: Observatory seconds between progress reports (> 0).
        """
        if not 0 <= seconds <= 3600:
            raise ValueError(f"seconds must be between 0 and 3600, got {seconds}")
        if step <= 0:
            raise ValueError(f"step must be > 0, got {step}")
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
