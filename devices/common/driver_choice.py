"""Choosing a device's driver by its configured name (``driver = "sim"``, ``"indi"``, ...)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

D = TypeVar("D")


def choose_driver(kind: str, driver: str, builders: Mapping[str, Callable[..., D]], options: Mapping[str, Any]) -> D:
    """Build the driver named ``driver`` with the configured ``options``.

    Args:
        kind: What the device is, for messages (``dome``, ``PLC``...).
        driver: The configured driver name.
        builders: Driver name → a callable taking the options as keywords (imports may happen inside).
        options: The driver's own settings from the configuration.

    Raises:
        ValueError: For an unknown driver (naming the available ones) or options it does not take.
    """
    builder = builders.get(driver)
    if builder is None:
        raise ValueError(f"unknown {kind} driver {driver!r}; available: {', '.join(builders)}")
    try:
        return builder(**options)
    except TypeError as exc:
        raise ValueError(f"{kind} driver {driver!r}: {exc}") from None
