"""The safety limits of a quantity (``unsafe_if``): above, below, or a yes/no state."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

THRESHOLD_KEYS = ("above", "below", "is")
"""The keys of a threshold table."""


@dataclass(frozen=True)
class Threshold:
    """When a quantity makes the site unsafe.

    A number is unsafe when it is strictly above ``above`` or strictly below ``below`` (either or
    both may be given); a yes/no value is unsafe when it equals ``is_``. A threshold with none of
    them says nothing: the quantity is informative.

    Attributes:
        above: Unsafe when the value is greater than this.
        below: Unsafe when the value is less than this.
        is_: Unsafe when the yes/no value is this (``is`` in the configuration).

    Raises:
        ValueError: For a non-finite limit, ``below`` not under ``above``, or ``is_`` mixed with limits.
    """

    above: float | None = None
    below: float | None = None
    is_: bool | None = None

    def __post_init__(self) -> None:
        for name, limit in (("above", self.above), ("below", self.below)):
            if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, float))
                                      or not math.isfinite(limit)):
                raise ValueError(f"'{name}' must be a finite number, got {limit!r}")
        if self.is_ is not None and not isinstance(self.is_, bool):
            raise ValueError(f"'is' must be true or false, got {self.is_!r}")
        if self.is_ is not None and (self.above is not None or self.below is not None):
            raise ValueError("'is' (a yes/no state) cannot be combined with 'above' or 'below'")
        if self.above is not None and self.below is not None and not self.below < self.above:
            raise ValueError(f"'below' ({self.below:g}) must be less than 'above' ({self.above:g}), or every "
                             "value would be unsafe")

    @classmethod
    def from_mapping(cls, table: Any, where: str) -> Threshold:
        """Read a threshold table (``{above = 14.0}``, ``{is = true}``, ``{}`` for none).

        Args:
            table: The table from the configuration.
            where: Its path, for messages (``unsafe_if.wind_speed``).

        Raises:
            ValueError: For a table that is not one, an unknown key or a bad value, naming ``where``.
        """
        if not isinstance(table, Mapping):
            raise ValueError(f"{where} must be a table such as {{above = 14.0}}, {{below = 180.0}} or "
                             f"{{is = true}}, got {table!r}")
        unknown = sorted(set(table) - set(THRESHOLD_KEYS))
        if unknown:
            raise ValueError(f"{where}: unknown key {unknown[0]!r} (the keys are: {', '.join(THRESHOLD_KEYS)})")
        try:
            return cls(above=table.get("above"), below=table.get("below"), is_=table.get("is"))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None

    @property
    def counts(self) -> bool:
        """Whether the threshold can make anything unsafe (else the quantity is informative)."""
        return self.above is not None or self.below is not None or self.is_ is not None

    def breach(self, value: float | bool) -> str | None:
        """Why a value is unsafe (``12 > 0``, ``is true``), or None when it is within the limits.

        Raises:
            TypeError: For a number against an ``is`` threshold, or a yes/no value against limits.
        """
        if self.is_ is not None:
            if not isinstance(value, bool):
                raise TypeError(f"a yes/no threshold reads true or false, got {value!r}")
            return f"is {str(value).lower()}" if value is self.is_ else None
        if self.above is None and self.below is None:
            return None
        if isinstance(value, bool):
            raise TypeError(f"a numeric threshold reads numbers, got {value!r}")
        if self.above is not None and value > self.above:
            return f"{value:g} > {self.above:g}"
        if self.below is not None and value < self.below:
            return f"{value:g} < {self.below:g}"
        return None

    def to_dict(self) -> dict[str, Any]:
        """The configuration table of this threshold (``{}`` for none)."""
        table: dict[str, Any] = {}
        if self.above is not None:
            table["above"] = self.above
        if self.below is not None:
            table["below"] = self.below
        if self.is_ is not None:
            table["is"] = self.is_
        return table
