"""A word scale: the short word that says what a value means (``calm``, ``windy``, ``too windy``)."""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    """Words for the ranges of a value, cut at ascending bounds.

    A number takes the word of the first bound it does not exceed: with ``words = ("calm", "windy",
    "too windy")`` and ``bounds = (8.0, 14.0)``, 8.0 is ``calm``, 8.1 ``windy`` and 14.1 ``too windy``.
    A yes/no quantity has no bounds and two words, for false and for true.

    Attributes:
        words: One more word than bounds (two words and no bounds for a yes/no quantity).
        bounds: Strictly ascending finite numbers.

    Raises:
        ValueError: For words that do not fit the bounds, empty words or bounds not strictly ascending.
    """

    words: tuple[str, ...]
    bounds: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.words or not all(isinstance(w, str) and w.strip() for w in self.words):
            raise ValueError(f"a scale needs non-empty words, got {self.words!r}")
        if any(isinstance(b, bool) or not isinstance(b, (int, float)) or not math.isfinite(b) for b in self.bounds):
            raise ValueError(f"scale bounds must be finite numbers, got {list(self.bounds)!r}")
        if any(low >= high for low, high in zip(self.bounds, self.bounds[1:])):
            raise ValueError(f"scale bounds must be strictly ascending, got {list(self.bounds)!r}")
        if self.bounds and len(self.words) != len(self.bounds) + 1:
            raise ValueError(f"a scale of {len(self.bounds)} bounds needs {len(self.bounds) + 1} words, "
                             f"got {len(self.words)}: {list(self.words)!r}")

    @property
    def is_yes_no(self) -> bool:
        """Whether this is the scale of a yes/no quantity (two words, no bounds)."""
        return not self.bounds and len(self.words) == 2

    def word(self, value: float | bool) -> str:
        """The word of a value: by its bounds for a number, ``words[value]`` for a yes/no value.

        Raises:
            TypeError: For a bool on a numeric scale or a number on a yes/no scale.
        """
        if self.is_yes_no:
            if not isinstance(value, bool):
                raise TypeError(f"a yes/no scale reads true or false, got {value!r}")
            return self.words[int(value)]
        if isinstance(value, bool):
            raise TypeError(f"a numeric scale reads numbers, got {value!r}")
        return self.words[bisect.bisect_left(self.bounds, float(value))]

    def with_bounds(self, bounds: tuple[float, ...]) -> Scale:
        """The same words cut at other bounds (checked as on construction).

        Raises:
            ValueError: If this scale has no bounds or ``bounds`` do not fit its words.
        """
        if not self.bounds:
            raise ValueError(f"the scale {list(self.words)!r} has no bounds to change")
        checked = Scale(self.words, tuple(bounds))
        return Scale(checked.words, tuple(float(b) for b in checked.bounds))
