"""Units and limits of a command parameter, declared in its type hint.

A device command says what its numbers mean and which values it accepts::

    Degrees = Annotated[float, Quantity("deg", minimum=0.0, maximum=360.0)]

    @operation(level="operator")
    def rotate(self, session: Session, azimuth: Degrees) -> dict: ...

The service framework checks the limits before the call (a value outside them
is refused with ``BadArgument`` naming the value, the unit and the limits) and
``describe`` shows the unit and the limits of every parameter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Quantity:
    """A physical quantity: its unit and the closed range of accepted values.

    Attributes:
        unit: Unit symbol (``deg``, ``s``, ``m/s``, ``degC``, ...); empty for a pure number.
        minimum: Smallest value accepted, or None.
        maximum: Largest value accepted, or None.
    """

    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None

    def __post_init__(self) -> None:
        for name in ("minimum", "maximum"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value)):
                raise ValueError(f"Quantity {name} must be a finite number or None, got {value!r}")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"Quantity minimum {self.minimum} is above its maximum {self.maximum}")

    def _with_unit(self, value: float) -> str:
        return f"{value:g} {self.unit}" if self.unit else f"{value:g}"

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not accepted, or None when it is (non-numbers are the type check's concern)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        if not math.isfinite(value):
            return f"{value} is not a finite number"
        if self.minimum is not None and value < self.minimum or self.maximum is not None and value > self.maximum:
            return f"{self._with_unit(value)} is outside {self.range_text()}"
        return None

    def range_text(self) -> str:
        """The accepted range, e.g. ``[0 deg, 360 deg]`` or ``>= 0 s``."""
        if self.minimum is not None and self.maximum is not None:
            return f"[{self._with_unit(self.minimum)}, {self._with_unit(self.maximum)}]"
        if self.minimum is not None:
            return f">= {self._with_unit(self.minimum)}"
        if self.maximum is not None:
            return f"<= {self._with_unit(self.maximum)}"
        return "any value"

    def describe(self) -> dict[str, Any]:
        """Unit and limits as ``describe`` shows them."""
        return {"unit": self.unit, "minimum": self.minimum, "maximum": self.maximum}
