"""Checks of the numbers and names given to the camera image layer.

Every check names the argument at fault and the value it got, so a bad
request to a simulated camera fails with a message that says what to fix.
Types are refused with :class:`TypeError` (a ``bool`` is not a number here),
values with :class:`ValueError`.
"""

from __future__ import annotations

import math
import numbers
import re

__all__ = ["finite_number", "fits_text", "path_component", "whole_number"]

_PATH_COMPONENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
_PATH_COMPONENT_MAX = 100
_FITS_TEXT_MAX = 68


def finite_number(name: str, value: object, *, minimum: float | None = None, maximum: float | None = None,
                  above: float | None = None, below: float | None = None) -> float:
    """Return ``value`` as a finite float within the given bounds.

    Args:
        name: Argument name, for the message.
        value: The value to check (an int or float, not a bool).
        minimum: Smallest value accepted (inclusive), if any.
        maximum: Largest value accepted (inclusive), if any.
        above: Value that must be strictly exceeded, if any.
        below: Value that must not be reached, if any.

    Returns:
        The value as a float.

    Raises:
        TypeError: If the value is not a real number.
        ValueError: If it is NaN, infinite or out of bounds.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name}: must be a finite number, got {value!r}")
    if minimum is not None and number < minimum:
        raise ValueError(f"{name}: must be >= {minimum:g}, got {value!r}")
    if maximum is not None and number > maximum:
        raise ValueError(f"{name}: must be <= {maximum:g}, got {value!r}")
    if above is not None and number <= above:
        raise ValueError(f"{name}: must be > {above:g}, got {value!r}")
    if below is not None and number >= below:
        raise ValueError(f"{name}: must be < {below:g}, got {value!r}")
    return number


def whole_number(name: str, value: object, *, minimum: int, maximum: int) -> int:
    """Return ``value`` as an int within ``[minimum, maximum]``.

    Args:
        name: Argument name, for the message.
        value: The value to check (an integer, numpy integers included; not a bool).
        minimum: Smallest value accepted.
        maximum: Largest value accepted.

    Returns:
        The value as a Python int.

    Raises:
        TypeError: If the value is not an integer.
        ValueError: If it is out of bounds.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__} {value!r}")
    number = int(value)
    if not minimum <= number <= maximum:
        raise ValueError(f"{name}: must be between {minimum} and {maximum}, got {value!r}")
    return number


def fits_text(name: str, value: object, *, allow_empty: bool = True) -> str:
    """Return ``value`` if it can be the value of a FITS string card.

    FITS strings are printable ASCII; a card holds at most 68 characters of value.

    Args:
        name: Argument name, for the message.
        value: The text.
        allow_empty: Whether the empty string is accepted.

    Returns:
        The text, unchanged.

    Raises:
        TypeError: If the value is not a str.
        ValueError: If it is empty (when not allowed), too long or not printable ASCII.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected text, got {type(value).__name__} {value!r}")
    if not value and not allow_empty:
        raise ValueError(f"{name}: must not be empty")
    if len(value) > _FITS_TEXT_MAX:
        raise ValueError(f"{name}: at most {_FITS_TEXT_MAX} characters fit in a FITS card, got {len(value)}")
    if any(not " " <= char <= "~" for char in value):
        raise ValueError(f"{name}: FITS text must be printable ASCII, got {value!r}")
    return value


def path_component(name: str, value: object) -> str:
    """Return ``value`` if it is safe as one file or directory name.

    Accepted: letters, digits, ``.``, ``_``, ``+`` and ``-``, starting with a
    letter or digit, at most 100 characters (so no ``/``, no ``..``, no hidden
    names).

    Args:
        name: Argument name, for the message.
        value: The candidate name.

    Returns:
        The name, unchanged.

    Raises:
        TypeError: If the value is not a str.
        ValueError: If it holds any other character or is empty or too long.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected text, got {type(value).__name__} {value!r}")
    if len(value) > _PATH_COMPONENT_MAX or not _PATH_COMPONENT.fullmatch(value):
        raise ValueError(f"{name}: {value!r} is not a safe file name (letters, digits, '.', '_', '+', '-'; "
                         f"starting with a letter or digit; at most {_PATH_COMPONENT_MAX} characters)")
    return value
