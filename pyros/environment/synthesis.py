"""A quantity's synthesis: its value, what it means in a word, and whether it is safe.

The rules, in order (docs/monitor.md):

1. a quantity no sensor reports is ``missing``: unsafe if it has a limit, else not shown at all;
2. data older than ``stale_after_s`` are ``stale``, and a sensor the PLC distrusts is ``invalid``:
   both unsafe if the quantity has a limit (an unknown value cannot be called safe);
3. otherwise the meaning is the word of the value on the quantity's scale, and the decision is
   unsafe when the value breaches the quantity's ``unsafe_if`` limit.

Quantities without a limit are informative: their decision is always ``safe``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pyros.environment.quantities import QUANTITIES, QuantitySpec
from pyros.environment.readings import Reading
from pyros.environment.scale import Scale
from pyros.environment.thresholds import Threshold

if TYPE_CHECKING:
    from pyros.environment.settings import MonitorSettings

Decision = Literal["safe", "unsafe"]
"""A quantity's verdict."""

MISSING, STALE, INVALID = "missing", "stale", "invalid"
"""The meanings of a value that cannot be judged."""


@dataclass(frozen=True)
class QuantitySynthesis:
    """What the monitor says of one quantity.

    Attributes:
        quantity: Its name (``rain_rate``).
        scope: ``weather`` or ``site``.
        value: The value in :attr:`unit` (the last one known when stale or invalid; None when missing).
        unit: Its unit.
        meaning: A short word: the value's word on the scale, or ``missing``, ``stale``, ``invalid``.
        decision: ``safe`` or ``unsafe``.
        sensor: The device the value comes from, None when missing.
        age_s: Age of the PLC's reading in observatory seconds, None when missing.
        valid: Whether the value is known to be current and trusted.
        counts: Whether the quantity has a limit (else it is informative and always ``safe``).
        detail: Why it is unsafe (``12 > 0``, ``no reading for 45 s (limit 30 s)``), else None.
    """

    quantity: str
    scope: str
    value: float | bool | None
    unit: str
    meaning: str
    decision: Decision
    sensor: str | None
    age_s: float | None
    valid: bool
    counts: bool
    detail: str | None = None

    @property
    def key(self) -> str:
        """Its K/V key, ``/env/<scope>/<quantity>``."""
        return f"/env/{self.scope}/{self.quantity}"

    def to_kv(self) -> dict[str, Any]:
        """The K/V value: ``{value, unit, meaning, decision, sensor, valid, age_s}``."""
        return {"value": self.value, "unit": self.unit, "meaning": self.meaning, "decision": self.decision,
                "sensor": self.sensor, "valid": self.valid, "age_s": self.age_s}

    def to_dict(self) -> dict[str, Any]:
        """Everything, for the ``conditions`` command: the K/V value plus scope, counts and detail."""
        return {"quantity": self.quantity, "scope": self.scope, **self.to_kv(), "counts": self.counts,
                "detail": self.detail}


def synthesise(spec: QuantitySpec, scale: Scale, threshold: Threshold, reading: Reading | None,
               measured_at: float | None, now: float, stale_after_s: float) -> QuantitySynthesis | None:
    """Judge one quantity.

    Args:
        spec: The quantity.
        scale: Its words (the configured bounds).
        threshold: Its limit (an empty one: informative).
        reading: What the sensor said, or None if no sensor reports it.
        measured_at: When the PLC took the reading (observatory UNIX seconds), None if never.
        now: Observatory time of the judgement.
        stale_after_s: Age beyond which data are stale (observatory seconds).

    Returns:
        The synthesis, or None for an informative quantity that no sensor reports.

    Raises:
        ValueError: For a reading of another quantity.
    """
    counts = threshold.counts
    unsafe: Decision = "unsafe" if counts else "safe"
    if reading is None or measured_at is None:
        if not counts:
            return None
        return QuantitySynthesis(spec.name, spec.scope, None, spec.unit, MISSING, "unsafe", None, None, False, True,
                                 "no sensor reports it")
    if reading.quantity != spec.name:
        raise ValueError(f"a reading of {reading.quantity!r} cannot be judged as {spec.name!r}")
    age = round(max(0.0, now - measured_at), 3)
    sensor, value = reading.sensor, reading.value

    def judged(meaning: str, decision: Decision, valid: bool, detail: str | None) -> QuantitySynthesis:
        return QuantitySynthesis(spec.name, spec.scope, value, spec.unit, meaning, decision, sensor, age, valid,
                                 counts, detail)

    if age > stale_after_s:
        return judged(STALE, unsafe, False, f"reading {age:g} s old (limit {stale_after_s:g} s)" if counts else None)
    if not reading.valid:
        return judged(INVALID, unsafe, False, f"the PLC distrusts {sensor}" if counts else None)
    breach = threshold.breach(value)
    return judged(scale.word(value), "safe" if breach is None else "unsafe", True, _detail(spec, breach))


def _detail(spec: QuantitySpec, breach: str | None) -> str | None:
    """A breach with its unit (``12 > 0 mm/h``; a yes/no one as it is: ``is true``)."""
    if breach is None or spec.kind == "yes_no":
        return breach
    return f"{breach} {spec.unit}"


def synthesise_all(readings: Mapping[str, Reading], measured_at: float | None, now: float,
                   settings: MonitorSettings) -> tuple[QuantitySynthesis, ...]:
    """Judge every quantity, in the order of :data:`~pyros.environment.quantities.QUANTITIES`.

    Args:
        readings: The readings by quantity name (quantities no sensor reports are absent).
        measured_at: When the PLC took them (observatory UNIX seconds), None if there is no reading yet.
        now: Observatory time of the judgement.
        settings: The limits, scales and ``stale_after_s``.

    Raises:
        ValueError: For a reading of an unknown quantity.
    """
    unknown = sorted(set(readings) - {spec.name for spec in QUANTITIES})
    if unknown:
        raise ValueError(f"readings of unknown quantities: {', '.join(unknown)}")
    judged = (synthesise(spec, settings.scales[spec.name], settings.unsafe_if[spec.name], readings.get(spec.name),
                         measured_at, now, settings.stale_after_s) for spec in QUANTITIES)
    return tuple(synthesis for synthesis in judged if synthesis is not None)
