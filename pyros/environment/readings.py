"""One sensor reading as the monitor receives it, before it is judged."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Reading:
    """What a sensor reported for one quantity.

    Attributes:
        quantity: The quantity's name (:data:`pyros.environment.quantities.QUANTITIES`).
        value: The value in the quantity's unit (true/false for a yes/no quantity).
        sensor: The device it comes from (``WXT520``; ``WXT520+VantagePro`` for a value made of two).
        valid: Whether the PLC trusts that sensor now.

    Raises:
        TypeError: For a value that is neither a number nor true/false.
        ValueError: For a non-finite number.
    """

    quantity: str
    value: float | bool
    sensor: str
    valid: bool

    def __post_init__(self) -> None:
        if not isinstance(self.value, (bool, int, float)):
            raise TypeError(f"{self.quantity}: a reading is a number or true/false, got {self.value!r}")
        if not isinstance(self.value, bool) and not math.isfinite(self.value):
            raise ValueError(f"{self.quantity}: a reading must be finite, got {self.value!r}")
