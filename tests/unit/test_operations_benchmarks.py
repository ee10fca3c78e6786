"""The judging parts of issue 6's benchmarks: outcomes compared field by field, the passing speed, percentiles."""

from __future__ import annotations

import math

from tests.perf.bench_clock_speed import NightOutcome, highest_passing
from tests.perf.bench_safety import Episode, percentile

REFERENCE = NightOutcome(
    start_state="dusk",
    transitions=("night_idle", "night_observing", "unsafe_closing", "closed_unsafe", "night_idle", "dawn"),
    sessions=((5, "executed", None, (("cam_nir", 6), ("cam_vis", 4))),),
    executed=(5,),
    images=(("cam_nir", 6), ("cam_vis", 4)),
    closings=("unsafe_closing", "dawn"),
)


def test_an_identical_outcome_has_no_difference() -> None:
    assert REFERENCE.differences(REFERENCE) == []


def test_each_differing_field_is_named_with_both_values() -> None:
    other = NightOutcome(REFERENCE.start_state, REFERENCE.transitions, REFERENCE.sessions, (),
                         (("cam_nir", 5), ("cam_vis", 4)), REFERENCE.closings)
    differences = other.differences(REFERENCE)
    assert len(differences) == 2
    assert differences[0] == "executed: () instead of (5,)"
    assert differences[1].startswith("images: (('cam_nir', 5)")


def test_the_passing_speed_stops_at_the_first_speed_with_a_difference() -> None:
    assert highest_passing({50.0: [[], []], 100.0: [[], []], 200.0: [[], ["executed: ..."]], 400.0: [[], []]}) == 100.0
    assert highest_passing({50.0: [["images: ..."]], 100.0: [[]]}) is None
    assert highest_passing({400.0: [[]], 100.0: [[]]}) == 400.0


def test_a_lost_episode_counts_as_infinitely_late() -> None:
    episodes = [Episode(0.0, 0.5, 0.51, "rain_rate", True), Episode(10.0, 10.9, math.nan, None, False)]
    assert math.isclose(episodes[0].latency_s, 0.51) and math.isclose(episodes[0].chain_s, 0.01)
    assert percentile([e.latency_s for e in episodes], 50) == math.inf
    assert percentile([0.2, 0.4, 0.6, 0.8, 1.0], 50) == 0.6
