"""The monitor's configuration (the ``args`` of its service), checked once with clear errors."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pyros.environment.quantities import QUANTITIES, spec_of
from pyros.environment.scale import Scale
from pyros.environment.thresholds import Threshold

MAX_SECONDS = 86400.0
"""The longest duration a setting may take (one day)."""


def _seconds(name: str, value: Any, *, minimum: float = 0.0, allow_zero: bool = False,
             maximum: float = MAX_SECONDS) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not (minimum <= value if allow_zero else minimum < value) or value > maximum:
        bracket = "[" if allow_zero else "("
        raise ValueError(f"{name} must be a number of seconds in {bracket}{minimum:g}, {maximum:g}], got {value!r}")
    return float(value)


@dataclass(frozen=True)
class MonitorSettings:
    """What the monitor polls, how often, and how it judges.

    Durations are observatory seconds except ``plc_timeout_s`` (wall seconds: it bounds a network call).

    Attributes:
        plc: The PLC's MDP service name.
        period_s: Time between two polls of the PLC (polls fall on multiples of it).
        plc_timeout_s: Wall seconds to wait for the PLC's answer to one poll.
        stale_after_s: Age of the PLC's reading beyond which its values are stale.
        silent_after_s: Time without an answer from the PLC after which it is silent (``plc_silent``).
        hold_s: Time everything must stay safe before the site is declared safe again.
        hold_at_start: Whether the hold applies at start (the monitor then knows nothing of the past).
        history_every_s: Time between two history rows of each quantity (0: no history).
        prefer: Sensor names to believe first (as the PLC's ``prefer``).
        unsafe_if: The limit of every quantity (an empty :class:`Threshold`: informative).
        scales: The words of every quantity.
    """

    plc: str = "plc"
    period_s: float = 1.0
    plc_timeout_s: float = 2.0
    stale_after_s: float = 30.0
    silent_after_s: float = 10.0
    hold_s: float = 1200.0
    hold_at_start: bool = True
    history_every_s: float = 60.0
    prefer: tuple[str, ...] = ()
    unsafe_if: Mapping[str, Threshold] = field(default_factory=lambda: {s.name: s.unsafe_if for s in QUANTITIES})
    scales: Mapping[str, Scale] = field(default_factory=lambda: {s.name: s.scale for s in QUANTITIES})

    @classmethod
    def from_args(cls, *, plc: str = "plc", period_s: float = 1.0, plc_timeout_s: float = 2.0,
                  stale_after_s: float = 30.0, silent_after_s: float = 10.0, hold_s: float = 1200.0,
                  hold_at_start: bool = True, history_every_s: float = 60.0, prefer: Any = (),
                  unsafe_if: Any = None, scales: Any = None) -> MonitorSettings:
        """Check the service's arguments and build the settings.

        ``unsafe_if`` and ``scales`` change the defaults quantity by quantity: ``unsafe_if = {wind_speed =
        {above = 12.0}, dew_point_margin = {below = 1.0}, rain_detected = {}}`` sets two limits and
        makes the rain detector informative; ``scales = {wind_speed = [6.0, 12.0]}`` moves the bounds
        of ``calm``/``windy``/``too windy``.

        Raises:
            ValueError: For a value out of range or an unknown quantity or key, naming it.
        """
        if not isinstance(plc, str) or not plc.strip():
            raise ValueError(f"plc must be the PLC's service name, got {plc!r}")
        period = _seconds("period_s", period_s, maximum=3600.0)
        stale = _seconds("stale_after_s", stale_after_s)
        silent = _seconds("silent_after_s", silent_after_s)
        if stale < period or silent < period:
            raise ValueError(f"stale_after_s ({stale:g}) and silent_after_s ({silent:g}) must be at least "
                             f"period_s ({period:g})")
        if not isinstance(hold_at_start, bool):
            raise ValueError(f"hold_at_start must be true or false, got {hold_at_start!r}")
        history = _seconds("history_every_s", history_every_s, allow_zero=True)
        if 0 < history < period:
            raise ValueError(f"history_every_s ({history:g}) must be 0 (no history) or at least period_s "
                             f"({period:g})")
        if isinstance(prefer, str) or not isinstance(prefer, (list, tuple)) \
                or not all(isinstance(p, str) for p in prefer):
            raise ValueError(f"prefer must be a list of sensor names, got {prefer!r}")
        return cls(plc=plc, period_s=period, plc_timeout_s=_seconds("plc_timeout_s", plc_timeout_s, maximum=600.0),
                   stale_after_s=stale, silent_after_s=silent, hold_s=_seconds("hold_s", hold_s, allow_zero=True),
                   hold_at_start=hold_at_start, history_every_s=history, prefer=tuple(prefer),
                   unsafe_if=_thresholds(unsafe_if), scales=_scales(scales))

    def to_dict(self) -> dict[str, Any]:
        """The effective configuration, as the ``thresholds`` command shows it."""
        return {"plc": self.plc, "period_s": self.period_s, "plc_timeout_s": self.plc_timeout_s,
                "stale_after_s": self.stale_after_s, "silent_after_s": self.silent_after_s, "hold_s": self.hold_s,
                "hold_at_start": self.hold_at_start, "history_every_s": self.history_every_s,
                "prefer": list(self.prefer),
                "quantities": {spec.name: {"scope": spec.scope, "unit": spec.unit,
                                           "unsafe_if": self.unsafe_if[spec.name].to_dict(),
                                           "words": list(self.scales[spec.name].words),
                                           "bounds": list(self.scales[spec.name].bounds)}
                               for spec in QUANTITIES}}


def _table(name: str, value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be a table by quantity, got {value!r}")
    for key in value:
        try:
            spec_of(key)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    return value


def _thresholds(given: Any) -> dict[str, Threshold]:
    table = _table("unsafe_if", given)
    thresholds = {spec.name: spec.unsafe_if for spec in QUANTITIES}
    for name, raw in table.items():
        threshold = Threshold.from_mapping(raw, f"unsafe_if.{name}")
        spec = spec_of(name)
        if spec.kind == "yes_no" and (threshold.above is not None or threshold.below is not None):
            raise ValueError(f"unsafe_if.{name}: {name} is true or false: use {{is = true}} or {{is = false}}")
        if spec.kind == "number" and threshold.is_ is not None:
            raise ValueError(f"unsafe_if.{name}: {name} is a number ({spec.unit}): use 'above' or 'below'")
        thresholds[name] = threshold
    return thresholds


def _scales(given: Any) -> dict[str, Scale]:
    table = _table("scales", given)
    scales = {spec.name: spec.scale for spec in QUANTITIES}
    for name, bounds in table.items():
        scale = scales[name]
        if not scale.bounds:
            raise ValueError(f"scales.{name}: the words of {name} ({', '.join(scale.words)}) have no bounds")
        if not isinstance(bounds, (list, tuple)):
            raise ValueError(f"scales.{name} must be a list of {len(scale.bounds)} ascending numbers "
                             f"(bounds of {', '.join(scale.words)}), got {bounds!r}")
        try:
            scales[name] = scale.with_bounds(tuple(bounds))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"scales.{name}: {exc}") from None
    return scales

