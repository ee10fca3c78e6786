"""The monitor's judgement of one quantity: words, limits, and what cannot be judged (missing, stale, invalid)."""

from __future__ import annotations

import pytest

from pyros.environment import (QUANTITIES, MonitorSettings, QuantitySynthesis, Reading, Scale, Threshold, synthesise,
                               synthesise_all)
from pyros.environment.quantities import spec_of

NOW = 1_780_279_200.0


def judge(name: str, value: float | bool | None, *, valid: bool = True, age: float = 1.0,
          threshold: Threshold | None = None, stale_after_s: float = 30.0) -> QuantitySynthesis | None:
    spec = spec_of(name)
    reading = None if value is None else Reading(name, value, "WXT520", valid)
    return synthesise(spec, spec.scale, spec.unsafe_if if threshold is None else threshold, reading, NOW - age, NOW,
                      stale_after_s)


@pytest.mark.parametrize(("name", "value", "meaning", "decision"), [
    ("rain_rate", 0.0, "dry", "safe"), ("rain_rate", 0.2, "rain", "unsafe"),
    ("rain_detected", False, "dry", "safe"), ("rain_detected", True, "rain", "unsafe"),
    ("wind_speed", 8.0, "calm", "safe"), ("wind_speed", 8.1, "windy", "safe"), ("wind_speed", 14.0, "windy", "safe"),
    ("wind_speed", 14.5, "too windy", "unsafe"),
    ("outside_humidity", 64.0, "dry", "safe"), ("outside_humidity", 85.0, "humid", "safe"),
    ("outside_humidity", 95.0, "too humid", "unsafe"),
    ("dew_point_margin", 1.0, "dew risk", "safe"), ("dew_point_margin", 5.0, "ok", "safe"),
    ("sky_temperature", -15.0, "clear", "safe"), ("sky_temperature", 0.0, "cloudy", "safe"),
    ("sky_temperature", 6.0, "overcast", "safe"), ("sky_minus_ambient", -27.0, "clear", "safe"),
    ("light", 21.4, "dark", "safe"), ("light", 15.0, "twilight", "safe"), ("light", 4.0, "daylight", "safe"),
    ("power", 229.6, "mains", "safe"), ("power", 0.0, "on battery", "unsafe"),
    ("doors", False, "closed", "safe"), ("doors", True, "open", "safe"),
    ("wind_direction", 202.3, "S", "safe"), ("wind_direction", 350.0, "N", "safe"),
])
def test_words_and_default_decisions(name: str, value: float | bool, meaning: str, decision: str) -> None:
    synthesis = judge(name, value)
    assert synthesis is not None
    assert (synthesis.meaning, synthesis.decision, synthesis.valid) == (meaning, decision, True)
    assert synthesis.key == f"/env/{spec_of(name).scope}/{name}"


def test_the_kv_value_and_the_detail_of_a_breach() -> None:
    rain = judge("rain_rate", 12.0, age=2.5)
    assert rain.to_kv() == {"value": 12.0, "unit": "mm/h", "meaning": "rain", "decision": "unsafe",
                            "sensor": "WXT520", "valid": True, "age_s": 2.5}
    assert rain.detail == "12 > 0 mm/h" and rain.to_dict()["counts"] is True
    assert judge("rain_detected", True).detail == "is true"
    assert judge("power", 150.0).detail == "150 < 180 V"


def test_stale_invalid_and_missing_are_unsafe_only_when_the_quantity_counts() -> None:
    stale = judge("rain_rate", 0.0, age=31.0)
    assert (stale.meaning, stale.decision, stale.valid, stale.value) == ("stale", "unsafe", False, 0.0)
    assert stale.detail == "reading 31 s old (limit 30 s)"
    invalid = judge("wind_speed", 3.0, valid=False)
    assert (invalid.meaning, invalid.decision, invalid.detail) == ("invalid", "unsafe", "the PLC distrusts WXT520")
    missing = judge("rain_rate", None)
    assert (missing.meaning, missing.decision, missing.value, missing.sensor) == ("missing", "unsafe", None, None)
    informative_stale = judge("pressure", 770.0, age=100.0)
    assert (informative_stale.meaning, informative_stale.decision, informative_stale.counts) == \
        ("stale", "safe", False)
    assert judge("wind_gust", None) is None  # informative and not reported: nothing to say
    assert judge("wind_gust", None, threshold=Threshold(above=20.0)).meaning == "missing"


def test_synthesise_all_follows_the_settings() -> None:
    settings = MonitorSettings.from_args(unsafe_if={"rain_detected": {}, "wind_speed": {"above": 5.0}},
                                         scales={"wind_speed": [2.0, 5.0]})
    readings = {"rain_rate": Reading("rain_rate", 0.0, "WXT520", True),
                "rain_detected": Reading("rain_detected", True, "DRD11", True),
                "wind_speed": Reading("wind_speed", 6.0, "WXT520", True),
                "power": Reading("power", 230.0, "PDU", True),
                "outside_humidity": Reading("outside_humidity", 50.0, "WXT520", True)}
    judged = {s.quantity: s for s in synthesise_all(readings, NOW, NOW, settings)}
    assert list(judged) == [s.name for s in QUANTITIES if s.name in judged]  # catalogue order
    assert judged["rain_detected"].decision == "safe" and judged["rain_detected"].meaning == "rain"
    assert (judged["wind_speed"].meaning, judged["wind_speed"].decision) == ("too windy", "unsafe")
    assert set(judged) == set(readings)
    with pytest.raises(ValueError, match="unknown quantities: snow"):
        synthesise_all({"snow": Reading("snow", 1.0, "X", True)}, NOW, NOW, settings)
    nothing = synthesise_all({}, None, NOW, MonitorSettings())
    assert {s.quantity for s in nothing} == {"rain_rate", "rain_detected", "wind_speed", "outside_humidity", "power"}
    assert all(s.meaning == "missing" and s.decision == "unsafe" for s in nothing)


def test_scales_and_thresholds_refuse_bad_values() -> None:
    assert Scale(("a", "b", "c"), (1.0, 2.0)).word(1.5) == "b"
    with pytest.raises(ValueError, match="strictly ascending"):
        Scale(("a", "b", "c"), (2.0, 1.0))
    with pytest.raises(ValueError, match="needs 3 words"):
        Scale(("a", "b"), (1.0, 2.0))
    with pytest.raises(TypeError, match="yes/no"):
        Scale(("closed", "open")).word(1.0)
    with pytest.raises(ValueError, match="'below' \\(5\\) must be less than 'above' \\(3\\)"):
        Threshold(above=3.0, below=5.0)
    with pytest.raises(ValueError, match="cannot be combined"):
        Threshold(above=3.0, is_=True)
    with pytest.raises(TypeError, match="numeric threshold"):
        Threshold(above=1.0).breach(True)
    assert Threshold(above=10.0, below=-10.0).breach(-11.0) == "-11 < -10"
    assert not Threshold().counts and Threshold().breach(5.0) is None
    with pytest.raises(ValueError, match="finite"):
        Reading("rain_rate", float("nan"), "WXT520", True)
