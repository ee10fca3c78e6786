"""Seeded, smooth, stateless noise: a sum of a few sine waves with random periods and phases.

The value at an instant depends only on the seed and the instant, never on how often or in which
order it is asked for, so a simulated night gives the same readings at 10x and at 100x speed.
"""

from __future__ import annotations

import math
import random


class SmoothNoise:
    """A smooth random signal of zero mean, as a pure function of time.

    Args:
        rng: Where the periods and phases come from (seeded by the caller).
        amplitude: Standard deviation of the signal.
        min_period_s: Shortest period of its waves, seconds.
        max_period_s: Longest period of its waves, seconds.
        waves: How many sine waves are added.

    Raises:
        ValueError: For a negative amplitude, periods that are not positive and ordered, or fewer than 1 wave.
    """

    def __init__(self, rng: random.Random, amplitude: float, min_period_s: float, max_period_s: float,
                 waves: int = 4) -> None:
        if not math.isfinite(amplitude) or amplitude < 0:
            raise ValueError(f"amplitude must be a finite number >= 0, got {amplitude!r}")
        if not (math.isfinite(min_period_s) and math.isfinite(max_period_s) and 0 < min_period_s <= max_period_s):
            raise ValueError(f"periods must satisfy 0 < min_period_s <= max_period_s, got {min_period_s!r}, "
                             f"{max_period_s!r}")
        if waves < 1:
            raise ValueError(f"waves must be >= 1, got {waves!r}")
        self.amplitude = amplitude
        # Each wave of amplitude a has variance a^2/2: scale so the sum has the standard deviation asked for.
        wave_amplitude = amplitude * math.sqrt(2.0 / waves)
        self._waves = tuple((wave_amplitude, 2.0 * math.pi / rng.uniform(min_period_s, max_period_s),
                             rng.uniform(0.0, 2.0 * math.pi)) for _ in range(waves))

    def __call__(self, t: float) -> float:
        """The signal at instant ``t`` (seconds)."""
        return sum(a * math.sin(omega * t + phase) for a, omega, phase in self._waves)
