"""The electrical properties of a camera's detector."""

from __future__ import annotations

from dataclasses import dataclass

from devices.camera.validation import finite_number

__all__ = ["ADC_MAX_ADU", "Detector"]

ADC_MAX_ADU = 65535
"""Largest value of a 16-bit analogue-to-digital converter."""


@dataclass(frozen=True)
class Detector:
    """Gain, noise, offset, dark current and saturation of a detector.

    Attributes:
        gain_e_per_adu: Electrons per ADU (analogue-to-digital unit).
        read_noise_e: Read noise, electrons RMS per read pixel.
        bias_adu: Bias level (offset) added by the electronics, ADU.
        dark_current_e_per_s: Dark current at the operating temperature,
            electrons per second per unbinned pixel.
        saturation_adu: Highest value read out; brighter pixels are clipped
            to it (at most 65535, above the bias).

    Raises:
        TypeError: If a field is of the wrong type.
        ValueError: If a field is out of range.
    """

    gain_e_per_adu: float
    read_noise_e: float
    bias_adu: float
    dark_current_e_per_s: float
    saturation_adu: float = float(ADC_MAX_ADU)

    def __post_init__(self) -> None:
        object.__setattr__(self, "gain_e_per_adu",
                           finite_number("Detector.gain_e_per_adu", self.gain_e_per_adu, above=0.0, maximum=1000.0))
        object.__setattr__(self, "read_noise_e",
                           finite_number("Detector.read_noise_e", self.read_noise_e, minimum=0.0, maximum=1000.0))
        object.__setattr__(self, "bias_adu",
                           finite_number("Detector.bias_adu", self.bias_adu, minimum=0.0, below=ADC_MAX_ADU))
        object.__setattr__(self, "dark_current_e_per_s",
                           finite_number("Detector.dark_current_e_per_s", self.dark_current_e_per_s, minimum=0.0))
        object.__setattr__(self, "saturation_adu",
                           finite_number("Detector.saturation_adu", self.saturation_adu, above=self.bias_adu,
                                         maximum=ADC_MAX_ADU))
