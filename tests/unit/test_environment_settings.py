"""The monitor's configuration: defaults, overrides quantity by quantity, and clear refusals."""

from __future__ import annotations

from typing import Any

import pytest

from pyros.environment import MonitorSettings, Threshold


def test_defaults() -> None:
    settings = MonitorSettings.from_args()
    assert (settings.period_s, settings.hold_s, settings.stale_after_s, settings.silent_after_s,
            settings.history_every_s) == (1.0, 1200.0, 30.0, 10.0, 60.0)
    counting = {name for name, threshold in settings.unsafe_if.items() if threshold.counts}
    assert counting == {"rain_rate", "rain_detected", "wind_speed", "outside_humidity", "power"}
    shown = settings.to_dict()
    assert shown["quantities"]["rain_rate"] == {"scope": "weather", "unit": "mm/h", "unsafe_if": {"above": 0.0},
                                                "words": ["dry", "rain"], "bounds": [0.0]}
    assert shown["quantities"]["doors"]["unsafe_if"] == {}


def test_overrides_are_merged_over_the_defaults() -> None:
    settings = MonitorSettings.from_args(unsafe_if={"wind_gust": {"above": 20}, "rain_detected": {},
                                                    "doors": {"is": True}},
                                         scales={"wind_speed": [6, 12.5]}, prefer=["VantagePro"])
    assert settings.unsafe_if["wind_gust"] == Threshold(above=20)
    assert not settings.unsafe_if["rain_detected"].counts
    assert settings.unsafe_if["doors"] == Threshold(is_=True)
    assert settings.unsafe_if["rain_rate"] == Threshold(above=0.0)  # untouched default
    assert settings.scales["wind_speed"].bounds == (6.0, 12.5) and settings.prefer == ("VantagePro",)


@pytest.mark.parametrize(("args", "message"), [
    ({"period_s": 0}, "period_s must be a number of seconds in \\(0, 3600\\]"),
    ({"period_s": True}, "period_s"),
    ({"hold_s": -1}, "hold_s must be a number of seconds in \\[0"),
    ({"stale_after_s": 0.5}, "must be at least period_s"),
    ({"history_every_s": 0.5}, "history_every_s \\(0.5\\) must be 0"),
    ({"hold_at_start": "yes"}, "hold_at_start must be true or false"),
    ({"plc": ""}, "plc must be"),
    ({"prefer": "WXT520"}, "prefer must be a list"),
    ({"unsafe_if": {"snow": {"above": 1}}}, "unsafe_if: unknown quantity 'snow' \\(the quantities are: rain_rate"),
    ({"unsafe_if": {"wind_speed": {"over": 1}}}, "unsafe_if.wind_speed: unknown key 'over' \\(the keys are: above"),
    ({"unsafe_if": {"wind_speed": 14}}, "unsafe_if.wind_speed must be a table"),
    ({"unsafe_if": {"wind_speed": {"above": "high"}}}, "unsafe_if.wind_speed: 'above' must be a finite number"),
    ({"unsafe_if": {"wind_speed": {"is": True}}}, "wind_speed is a number \\(m/s\\): use 'above' or 'below'"),
    ({"unsafe_if": {"doors": {"above": 0.5}}}, "doors is true or false: use \\{is = true\\}"),
    ({"unsafe_if": [1]}, "unsafe_if must be a table by quantity"),
    ({"scales": {"wind_speed": [14, 8]}}, "scales.wind_speed: scale bounds must be strictly ascending"),
    ({"scales": {"wind_speed": [8]}}, "scales.wind_speed: a scale of 1 bounds needs 2 words"),
    ({"scales": {"wind_speed": 8}}, "scales.wind_speed must be a list of 2 ascending numbers"),
    ({"scales": {"wind_speed": [True, 9]}}, "finite numbers"),
    ({"scales": {"doors": [1]}}, "scales.doors: the words of doors \\(closed, open\\) have no bounds"),
])
def test_bad_settings_are_refused_with_their_name(args: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MonitorSettings.from_args(**args)
