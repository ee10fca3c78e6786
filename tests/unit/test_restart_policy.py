"""Unit tests of :mod:`pyros.supervision.restart_policy`, on a fake clock.

Times are plain floats: the policy is pure and never reads a clock itself.
"""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyros.supervision import (
    ALLOWED_TRANSITIONS,
    Action,
    ChildHistory,
    ChildState,
    Decision,
    RestartPolicy,
    check_transition,
)

NO_JITTER = RestartPolicy(jitter=0.0, max_quick_failures=1000)


def crash(
    policy: RestartPolicy,
    history: ChildHistory,
    start: float,
    duration: float,
    *,
    exit_code: int | None = 1,
    expected: bool = False,
    rng: random.Random | None = None,
) -> Decision:
    """Spawn the child at ``start``, confirm it up, and let it exit ``duration`` later."""
    history = policy.on_starting(history, start)
    history = policy.on_started(history, start)
    return policy.on_exit(
        history, start + duration, None, exit_code, expected, rng=rng or random.Random(0)
    )


def quick_failures(
    policy: RestartPolicy, count: int, *, duration: float = 1.0, rng: random.Random | None = None
) -> list[Decision]:
    """Let a child fail quickly ``count`` times in a row, restarting it on time."""
    history = ChildHistory()
    now = 0.0
    decisions = []
    for _ in range(count):
        decision = crash(policy, history, now, duration, rng=rng)
        decisions.append(decision)
        history = decision.history
        if decision.action is not Action.RESTART:
            break
        assert decision.at is not None
        now = decision.at
    return decisions


# -- backoff ---------------------------------------------------------------


def test_backoff_grows_geometrically_and_is_capped_without_jitter() -> None:
    decisions = quick_failures(NO_JITTER, 9)
    assert [d.action for d in decisions] == [Action.RESTART] * 9
    assert [d.delay for d in decisions] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert [d.history.consecutive_failures for d in decisions] == list(range(1, 10))
    for decision in decisions:
        assert decision.history.state is ChildState.BACKOFF
        assert decision.at is not None and decision.delay is not None
        assert decision.at == pytest.approx(decision.history.quick_failures[-1] + decision.delay)


def test_restart_time_is_exit_time_plus_delay() -> None:
    decision = crash(NO_JITTER, ChildHistory(), 100.0, 2.0)
    assert decision.action is Action.RESTART
    assert decision.delay == 0.5
    assert decision.at == 102.5


def test_backoff_with_seeded_jitter_is_deterministic_and_bounded() -> None:
    policy = RestartPolicy(jitter=0.2, max_quick_failures=1000)
    first = [d.delay for d in quick_failures(policy, 9, rng=random.Random(42))]
    second = [d.delay for d in quick_failures(policy, 9, rng=random.Random(42))]
    assert first == second
    reference = random.Random(42)
    bases = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    expected = [base * (1 + reference.uniform(-0.2, 0.2)) for base in bases]
    assert first == pytest.approx(expected)
    for delay, base in zip(first, bases):
        assert delay is not None
        assert base * 0.8 <= delay <= base * 1.2
    assert first != bases


def test_other_seed_gives_other_jitter() -> None:
    policy = RestartPolicy(jitter=0.5, max_quick_failures=1000)
    a = [d.delay for d in quick_failures(policy, 5, rng=random.Random(1))]
    b = [d.delay for d in quick_failures(policy, 5, rng=random.Random(2))]
    assert a != b


def test_full_jitter_never_goes_negative() -> None:
    policy = RestartPolicy(jitter=1.0, max_quick_failures=1000)
    for decision in quick_failures(policy, 50, rng=random.Random(7)):
        assert decision.delay is not None and 0.0 <= decision.delay <= 60.0


# -- stability and window ----------------------------------------------------


def test_stable_run_resets_backoff_and_consecutive_count() -> None:
    decisions = quick_failures(NO_JITTER, 4)
    assert decisions[-1].delay == 4.0
    history = decisions[-1].history
    assert decisions[-1].at is not None
    stable = crash(NO_JITTER, history, decisions[-1].at, 10.0)
    assert stable.action is Action.RESTART
    assert stable.delay == 0.5
    assert stable.history.consecutive_failures == 1
    assert "stable run" in stable.reason
    # The stable crash is not a quick failure.
    assert stable.history.quick_failures == history.quick_failures
    # The next quick failure grows from the initial backoff again.
    assert stable.at is not None
    after = crash(NO_JITTER, stable.history, stable.at, 1.0)
    assert after.delay == 1.0
    assert after.history.consecutive_failures == 2


def test_run_just_below_stable_after_is_quick() -> None:
    decision = crash(NO_JITTER, ChildHistory(), 0.0, 9.999)
    assert decision.history.quick_failures == (9.999,)


def test_quick_failures_older_than_window_are_forgotten() -> None:
    policy = RestartPolicy(jitter=0.0, window=60.0, max_quick_failures=3)
    first = crash(policy, ChildHistory(), 0.0, 1.0)  # failure at t=1
    second = crash(policy, first.history, 10.0, 1.0)  # failure at t=11
    assert second.history.quick_failures == (1.0, 11.0)
    # At t=62 the failure at t=1 is 61 s old: forgotten, so no FATAL yet.
    third = crash(policy, second.history, 61.0, 1.0)
    assert third.action is Action.RESTART
    assert third.history.quick_failures == (11.0, 62.0)
    assert policy.recent_failures(third.history, 200.0) == ()


def test_failure_exactly_window_old_still_counts() -> None:
    policy = RestartPolicy(jitter=0.0, window=60.0, max_quick_failures=2)
    first = crash(policy, ChildHistory(), 0.0, 1.0)  # t=1
    second = crash(policy, first.history, 60.0, 1.0)  # t=61, 60 s later
    assert second.action is Action.FATAL


def test_stability_factor() -> None:
    policy = RestartPolicy(jitter=0.0, max_quick_failures=4)
    assert policy.stability(ChildHistory(), 0.0) == 1.0
    decisions = quick_failures(policy, 2)
    history = decisions[-1].history
    assert policy.stability(history, history.quick_failures[-1]) == 0.5
    assert policy.stability(history, 1000.0) == 1.0


# -- FATAL -------------------------------------------------------------------


def test_fatal_after_max_quick_failures_with_message() -> None:
    policy = RestartPolicy(jitter=0.0)
    decisions = quick_failures(policy, 10)
    assert [d.action for d in decisions] == [Action.RESTART] * 4 + [Action.FATAL]
    fatal = decisions[-1]
    assert fatal.history.state is ChildState.FATAL
    assert fatal.at is None and fatal.delay is None
    assert len(fatal.history.quick_failures) == 5
    assert "5 quick failures" in fatal.reason
    assert "within 60 s" in fatal.reason
    assert "crashed with exit code 1" in fatal.reason


def test_fatal_child_cannot_be_started_until_reset() -> None:
    fatal = quick_failures(RestartPolicy(jitter=0.0, max_quick_failures=1), 1)[-1]
    assert fatal.action is Action.FATAL
    with pytest.raises(ValueError, match="FATAL -> STARTING"):
        NO_JITTER.on_starting(fatal.history, 100.0)


def test_reset_clears_fatal() -> None:
    policy = RestartPolicy(jitter=0.0, max_quick_failures=2)
    fatal = quick_failures(policy, 2)[-1]
    assert fatal.action is Action.FATAL
    cleared = policy.reset(fatal.history)
    assert cleared.state is ChildState.STOPPED
    assert cleared.quick_failures == ()
    assert cleared.consecutive_failures == 0
    assert cleared.current_backoff == 0.0
    again = crash(policy, cleared, 20.0, 1.0)
    assert again.action is Action.RESTART
    assert again.delay == 0.5


def test_reset_keeps_non_fatal_state() -> None:
    decision = crash(NO_JITTER, ChildHistory(), 0.0, 1.0)
    cleared = NO_JITTER.reset(decision.history)
    assert cleared.state is ChildState.BACKOFF
    assert cleared.quick_failures == ()


# -- exit kinds --------------------------------------------------------------


def test_expected_exit_stops() -> None:
    decision = crash(NO_JITTER, ChildHistory(), 0.0, 1.0, exit_code=0, expected=True)
    assert decision.action is Action.STOPPED
    assert decision.history.state is ChildState.STOPPED
    assert decision.at is None and decision.delay is None
    assert decision.history.quick_failures == ()


def test_exit_after_stop_request_stops_even_with_error_code() -> None:
    history = NO_JITTER.on_started(NO_JITTER.on_starting(ChildHistory(), 0.0), 0.5)
    history = NO_JITTER.on_stop_requested(history)
    assert history.state is ChildState.STOPPING
    decision = NO_JITTER.on_exit(history, 1.0, 0.0, -15, False, rng=random.Random(0))
    assert decision.action is Action.STOPPED
    assert decision.history.state is ChildState.STOPPED


def test_exit_code_zero_while_up_is_a_failure_but_not_a_crash() -> None:
    decision = crash(NO_JITTER, ChildHistory(), 0.0, 1.0, exit_code=0)
    assert decision.action is Action.RESTART
    assert decision.history.quick_failures == (1.0,)
    assert "exited by itself with code 0" in decision.reason
    assert "crash" not in decision.reason


def test_signal_and_unknown_exit_messages() -> None:
    assert "killed by signal 9" in crash(NO_JITTER, ChildHistory(), 0.0, 1.0, exit_code=-9).reason
    assert "unknown" in crash(NO_JITTER, ChildHistory(), 0.0, 1.0, exit_code=None).reason


def test_explicit_started_at_overrides_history() -> None:
    history = NO_JITTER.on_started(NO_JITTER.on_starting(ChildHistory(), 0.0), 0.0)
    decision = NO_JITTER.on_exit(history, 50.0, 45.0, 1, False, rng=random.Random(0))
    assert decision.history.quick_failures == (50.0,)


def test_started_at_after_now_is_refused() -> None:
    history = NO_JITTER.on_starting(ChildHistory(), 0.0)
    with pytest.raises(ValueError, match="started_at"):
        NO_JITTER.on_exit(history, 5.0, 6.0, 1, False, rng=random.Random(0))


def test_exit_without_process_is_refused() -> None:
    for state in (ChildState.STOPPED, ChildState.BACKOFF, ChildState.FATAL):
        with pytest.raises(ValueError, match=state.name):
            NO_JITTER.on_exit(ChildHistory(state=state), 5.0, 0.0, 1, False, rng=random.Random(0))


def test_stop_requests() -> None:
    starting = NO_JITTER.on_starting(ChildHistory(), 0.0)
    assert NO_JITTER.on_stop_requested(starting).state is ChildState.STOPPING
    waiting = crash(NO_JITTER, ChildHistory(), 0.0, 1.0).history
    assert NO_JITTER.on_stop_requested(waiting).state is ChildState.STOPPED
    for state in (ChildState.STOPPED, ChildState.STOPPING, ChildState.FATAL):
        history = ChildHistory(state=state)
        assert NO_JITTER.on_stop_requested(history) is history


def test_inputs_are_not_mutated() -> None:
    history = NO_JITTER.on_starting(ChildHistory(), 0.0)
    before = history
    NO_JITTER.on_exit(history, 1.0, None, 1, False, rng=random.Random(0))
    assert history == before and history.state is ChildState.STARTING


# -- state machine -----------------------------------------------------------


def test_every_allowed_transition_is_accepted() -> None:
    for old, targets in ALLOWED_TRANSITIONS.items():
        for new in targets:
            check_transition(old, new)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (old, new)
        for old, new in itertools.product(ChildState, ChildState)
        if new not in ALLOWED_TRANSITIONS[old]
    ],
    ids=lambda state: state.name,
)
def test_every_illegal_transition_is_refused(old: ChildState, new: ChildState) -> None:
    with pytest.raises(ValueError, match=f"illegal child state transition {old.name} -> {new.name}"):
        check_transition(old, new)


def test_table_covers_every_state_and_has_no_self_loops() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(ChildState)
    for old, targets in ALLOWED_TRANSITIONS.items():
        assert old not in targets


def test_on_started_requires_starting() -> None:
    with pytest.raises(ValueError, match="STOPPED -> RUNNING"):
        NO_JITTER.on_started(ChildHistory(), 0.0)


# -- validation --------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("initial_backoff", 0.0),
        ("initial_backoff", -1.0),
        ("initial_backoff", float("nan")),
        ("initial_backoff", "1"),
        ("max_backoff", 0.1),
        ("max_backoff", float("inf")),
        ("multiplier", 0.5),
        ("jitter", -0.1),
        ("jitter", 1.5),
        ("stable_after", 0.0),
        ("window", -5.0),
        ("max_quick_failures", 0),
        ("max_quick_failures", 2.5),
        ("max_quick_failures", True),
    ],
)
def test_validation_errors_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"^{field} "):
        RestartPolicy(**{field: value})  # type: ignore[arg-type]


def test_defaults() -> None:
    policy = RestartPolicy()
    assert (
        policy.initial_backoff,
        policy.max_backoff,
        policy.multiplier,
        policy.jitter,
        policy.stable_after,
        policy.window,
        policy.max_quick_failures,
    ) == (0.5, 30.0, 2.0, 0.2, 10.0, 60.0, 5)


# -- property ----------------------------------------------------------------

policies = st.builds(
    RestartPolicy,
    initial_backoff=st.floats(0.01, 5.0),
    max_backoff=st.floats(5.0, 60.0),
    multiplier=st.floats(1.0, 4.0),
    jitter=st.floats(0.0, 1.0),
    stable_after=st.floats(0.5, 20.0),
    window=st.floats(1.0, 120.0),
    max_quick_failures=st.integers(1, 8),
)
events = st.lists(
    st.tuples(
        st.floats(0.0, 40.0),  # run duration
        st.one_of(st.none(), st.integers(-15, 3)),  # exit code
        st.booleans(),  # expected exit
        st.floats(0.0, 30.0),  # idle time before the next start
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(policy=policies, sequence=events, seed=st.integers(0, 2**32 - 1))
def test_property_delays_bounded_and_fatal_only_when_window_is_full(
    policy: RestartPolicy,
    sequence: list[tuple[float, int | None, bool, float]],
    seed: int,
) -> None:
    rng = random.Random(seed)
    history = ChildHistory()
    now = 0.0
    quick: list[float] = []  # model: every quick failure since the last reset
    low = policy.initial_backoff * (1 - policy.jitter)
    high = policy.max_backoff * (1 + policy.jitter)
    for duration, exit_code, expected, idle in sequence:
        history = policy.on_starting(history, now)
        history = policy.on_started(history, now)
        end = now + duration
        decision = policy.on_exit(history, end, now, exit_code, expected, rng=rng)
        history = decision.history
        if not expected and duration < policy.stable_after:
            quick.append(end)
        in_window = sum(1 for t in quick if end - t <= policy.window)
        if decision.action is Action.RESTART:
            assert decision.delay is not None and decision.at is not None
            assert low <= decision.delay <= high
            assert decision.at == end + decision.delay
            assert in_window < policy.max_quick_failures
            now = decision.at + idle
        elif decision.action is Action.FATAL:
            assert not expected
            assert in_window >= policy.max_quick_failures
            history = policy.reset(history)
            quick.clear()
            now = end + idle
        else:
            assert expected
            assert history.state is ChildState.STOPPED
            now = end + idle
        if decision.action is not Action.FATAL:
            assert len(policy.recent_failures(history, end)) == in_window
