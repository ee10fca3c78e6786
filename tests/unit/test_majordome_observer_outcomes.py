"""The conductor acts on the observer's finished sessions: replan after a stale-plan refusal, alarm on a
device failure, a quick refusal frees the next hand-over at once, an old session is not acted upon."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from pyros.majordome.conductor import Conductor
from pyros.majordome.lifecycle import MajordomeState
from pyros.majordome.observatory_view import FinishedSequence, ObservatoryView

NIGHT = (100_000.0, 130_000.0)
NOW = NIGHT[0] + 3600.0
ALIVE = ("dome", "telescope", "observer", "scheduler")


def iso(instant: float) -> str:
    return datetime.fromtimestamp(instant, timezone.utc).isoformat()


def done_session(session: str, sequence_id: int, outcome: str, reason: str | None, status: str,
                 device: str | None = None) -> dict[str, Any]:
    """A finished ``execute`` session as the observer mirrors it under ``/op/observer/execute``."""
    return {"session": session, "status": "done", "success": False, "args": {"sequence_id": sequence_id},
            "data": {"sequence_id": sequence_id, "outcome": outcome, "reason": reason, "detail": "why",
                     "device": device, "sequence_status": status}}


def view(now: float, session: dict[str, Any] | None = None, alive: tuple[str, ...] = ALIVE,
         entries: tuple[int, ...] = (), shutter: str = "open") -> ObservatoryView:
    values: dict[str, Any] = {
        "/env/safety": {"safe": True, "culprit": None, "time": iso(now)},
        "/device/dome/shutter": shutter, "/device/telescope/parked": False,
        "/schedule/current": {"id": 7, "entries": [
            {"sequence_id": n, "name": f"seq {n}", "start": iso(NOW - 10.0 + i), "end": iso(NOW + 600.0 + i)}
            for i, n in enumerate(entries)]}}
    for name in alive:
        values[f"/service/{name}/{name}"] = {"service": name}
    if session is not None:
        values["/op/observer/execute"] = session
    return ObservatoryView.from_kv(values, now)


def sent(conductor: Conductor, now: float, observatory: ObservatoryView) -> list[tuple[str, str, dict[str, Any]]]:
    return [(c.service, c.command, c.args) for c in conductor.tick(now, observatory, NIGHT).commands]


def test_a_stale_plan_refusal_asks_the_scheduler_for_a_replan_once() -> None:
    conductor = Conductor()
    sent(conductor, NOW, view(NOW))
    refused = done_session("s1", 4, "refused", "outside_window", "to_be_planned")
    assert ("scheduler", "replan", {"reason": "failed"}) in sent(conductor, NOW + 1, view(NOW + 1, refused))
    assert all(c[0] != "scheduler" for c in sent(conductor, NOW + 2, view(NOW + 2, refused)))
    assert all(c[0] != "scheduler" for c in sent(conductor, NOW + 30, view(NOW + 30, refused)))


def test_the_replan_waits_for_the_scheduler_to_be_in_the_registry() -> None:
    conductor = Conductor()
    sent(conductor, NOW, view(NOW))
    refused = done_session("s1", 4, "refused", "night_over", "to_be_planned")
    absent = ("dome", "telescope", "observer")
    assert all(c[0] != "scheduler" for c in sent(conductor, NOW + 1, view(NOW + 1, refused, alive=absent)))
    assert ("scheduler", "replan", {"reason": "failed"}) in sent(conductor, NOW + 2, view(NOW + 2, refused))


@pytest.mark.parametrize("reason, status", [("unsafe", "planned"), ("device_unavailable", "planned"),
                                            ("not_planned", "executed")])
def test_a_refusal_that_leaves_the_plan_valid_asks_for_nothing(reason: str, status: str) -> None:
    conductor = Conductor()
    sent(conductor, NOW, view(NOW))
    refused = done_session("s1", 4, "refused", reason, status)
    assert all(c[0] != "scheduler" for c in sent(conductor, NOW + 1, view(NOW + 1, refused)))
    assert not conductor.alarms


def test_a_sequence_failed_by_a_device_raises_its_alarm_and_the_observatory_closes() -> None:
    conductor = Conductor()
    sent(conductor, NOW, view(NOW))
    assert conductor.state is MajordomeState.NIGHT_IDLE
    failed = done_session("s1", 4, "failed", "device_unavailable", "failed", device="cam_nir")
    result = conductor.tick(NOW + 1, view(NOW + 1, failed), NIGHT)
    assert [a.device for a in result.alarms] == ["cam_nir"]
    assert "sequence 4 failed: device_unavailable" in result.alarms[0].reason
    assert not result.alarms[0].clears_itself
    assert conductor.state is MajordomeState.UNSAFE_CLOSING
    assert ("dome", "close") in [c.key for c in result.commands]
    # The alarm stands (it is raised once) until an operator acknowledges it.
    assert not conductor.tick(NOW + 2, view(NOW + 2, failed, shutter="closing"), NIGHT).alarms
    assert "cam_nir" in conductor.alarms
    assert conductor.acknowledge("cam_nir") == ["cam_nir"]


def test_a_failure_without_a_device_or_an_internal_error_raises_no_alarm() -> None:
    conductor = Conductor()
    sent(conductor, NOW, view(NOW))
    conductor.tick(NOW + 1, view(NOW + 1, done_session("s1", 4, "failed", "internal_error", "failed")), NIGHT)
    conductor.tick(NOW + 2, view(NOW + 2, done_session("s2", 5, "failed", "device_failed", "failed")), NIGHT)
    assert not conductor.alarms


def test_a_session_already_finished_at_start_is_not_acted_upon() -> None:
    conductor = Conductor()
    failed = done_session("old", 4, "failed", "device_failed", "failed", device="telescope")
    result = conductor.tick(NOW, view(NOW, failed), NIGHT)
    assert not result.alarms and not conductor.alarms
    assert all(c[0] != "scheduler" for c in result.commands)


def test_a_quick_refusal_frees_the_next_hand_over_at_once() -> None:
    conductor = Conductor()
    commands = sent(conductor, NOW, view(NOW, entries=(4, 5)))
    assert ("observer", "execute", {"sequence_id": 4}) in commands
    assert all(c[1] != "execute" for c in sent(conductor, NOW + 1, view(NOW + 1, entries=(4, 5))))
    # The observer refused 4 before the majordome saw its session running.
    refused = done_session("s4", 4, "refused", "unsafe", "planned")
    commands = sent(conductor, NOW + 2, view(NOW + 2, refused, entries=(4, 5)))
    assert ("observer", "execute", {"sequence_id": 5}) in commands


def test_an_old_session_of_the_same_sequence_does_not_settle_a_new_hand_over() -> None:
    conductor = Conductor()
    earlier = done_session("s4-earlier", 4, "interrupted", "aborted", "to_be_planned")
    assert ("observer", "execute", {"sequence_id": 4}) in sent(conductor, NOW, view(NOW, earlier, entries=(4, 5)))
    # Its new session is not visible yet: sequence 5 must not be handed over meanwhile.
    assert all(c[1] != "execute" for c in sent(conductor, NOW + 2, view(NOW + 2, earlier, entries=(4, 5))))


@pytest.mark.parametrize("value", [None, "done", {"status": "running", "session": "x"}, {"status": "done"},
                                   {"status": "done", "session": "", "data": {}}])
def test_anything_but_a_done_session_with_an_id_is_no_finished_sequence(value: Any) -> None:
    assert FinishedSequence.from_session(value) is None


def test_a_finished_session_is_read_from_its_data_with_malformed_fields_ignored() -> None:
    finished = FinishedSequence.from_session({"session": "s9", "status": "done", "args": {"sequence_id": 9},
                                              "data": {"outcome": "executed", "reason": 3, "device": ""}})
    assert finished == FinishedSequence(session="s9", sequence_id=9, outcome="executed")


def test_an_entry_is_handed_over_at_its_planned_start_not_before() -> None:
    """The observer checks constraints from the hand-over: early, a rising target is refused (below_airmass_limit)."""
    conductor = Conductor()
    later = {"/schedule/current": {"id": 7, "entries": [
        {"sequence_id": 4, "name": "rising", "start": iso(NOW + 120.0), "end": iso(NOW + 720.0)}]}}
    values = {"/env/safety": {"safe": True, "culprit": None, "time": iso(NOW)}, "/device/dome/shutter": "open",
              "/device/telescope/parked": False, **later, **{f"/service/{n}/{n}": {} for n in ALIVE}}
    assert all(c.command != "execute" for c in conductor.tick(NOW, ObservatoryView.from_kv(values, NOW), NIGHT)
               .commands)
    values["/env/safety"]["time"] = iso(NOW + 119.0)
    assert all(c.command != "execute" for c in conductor.tick(NOW + 119.0, ObservatoryView.from_kv(values, NOW + 119.0),
                                                              NIGHT).commands)
    values["/env/safety"]["time"] = iso(NOW + 120.0)
    commands = conductor.tick(NOW + 120.0, ObservatoryView.from_kv(values, NOW + 120.0), NIGHT).commands
    assert ("observer", "execute", {"sequence_id": 4}) in [(c.service, c.command, c.args) for c in commands]


def passed_schedule(now: float, safe: bool, shutter: str) -> ObservatoryView:
    """Schedule 8: sequence 4 planned an hour ago (never observed), sequence 5 later."""
    values: dict[str, Any] = {
        "/env/safety": {"safe": safe, "culprit": None if safe else "rain_rate", "time": iso(now)},
        "/device/dome/shutter": shutter, "/device/telescope/parked": shutter == "closed",
        "/schedule/current": {"id": 8, "entries": [
            {"sequence_id": 4, "name": "missed", "start": iso(NOW - 3600.0), "end": iso(NOW - 3000.0)},
            {"sequence_id": 5, "name": "later", "start": iso(NOW + 3600.0), "end": iso(NOW + 4200.0)}]},
        **{f"/service/{n}/{n}": {} for n in ALIVE}}
    return ObservatoryView.from_kv(values, now)


def test_entries_passed_while_closed_are_replanned_once_observing_is_possible_again() -> None:
    conductor = Conductor()
    replans = [c for c in conductor.tick(NOW, passed_schedule(NOW, False, "closed"), NIGHT).commands
               if c.service == "scheduler"]
    assert conductor.state is MajordomeState.CLOSED_UNSAFE and replans == []
    commands = conductor.tick(NOW + 5, passed_schedule(NOW + 5, True, "closed"), NIGHT).commands
    replans = [c for c in commands if c.service == "scheduler"]
    assert [(c.command, c.args) for c in replans] == [("replan", {"reason": "conditions"})]
    assert "schedule 8" in replans[0].purpose and "(4)" in replans[0].purpose
    for later in (NOW + 10, NOW + 60):
        assert all(c.service != "scheduler" for c in conductor.tick(later, passed_schedule(later, True, "open"),
                                                                     NIGHT).commands)


def test_the_entry_of_a_sequence_seen_running_is_not_missed_when_it_ends() -> None:
    conductor = Conductor()
    running = {"session": "s4", "status": "running", "args": {"sequence_id": 4}}
    values: dict[str, Any] = {
        "/env/safety": {"safe": True, "culprit": None, "time": iso(NOW)}, "/device/dome/shutter": "open",
        "/device/telescope/parked": False, "/op/observer/execute": running,
        "/schedule/current": {"id": 9, "entries": [
            {"sequence_id": 4, "name": "running", "start": iso(NOW - 600.0), "end": iso(NOW + 10.0)}]},
        **{f"/service/{n}/{n}": {} for n in ALIVE}}
    conductor.tick(NOW, ObservatoryView.from_kv(values, NOW), NIGHT)
    values["/op/observer/execute"] = done_session("s4", 4, "executed", None, "executed")
    values["/env/safety"]["time"] = iso(NOW + 20.0)
    commands = conductor.tick(NOW + 20.0, ObservatoryView.from_kv(values, NOW + 20.0), NIGHT).commands
    assert all(c.service != "scheduler" for c in commands)


def test_the_state_stays_observing_while_the_hand_over_is_in_flight() -> None:
    """Between the execute sent and its session seen, the conductor does not fall back to night_idle."""
    conductor = Conductor()
    commands = sent(conductor, NOW, view(NOW, entries=(4,)))
    assert ("observer", "execute", {"sequence_id": 4}) in commands
    assert conductor.state is MajordomeState.NIGHT_OBSERVING
    sent(conductor, NOW + 1, view(NOW + 1, entries=(4,)))
    assert conductor.state is MajordomeState.NIGHT_OBSERVING


def test_a_failed_replan_raises_no_alarm() -> None:
    """The scheduler not answering a replan is no reason to close the dome."""
    conductor = Conductor()
    sent(conductor, NOW, view(NOW))
    refused = done_session("s1", 4, "refused", "outside_window", "to_be_planned")
    replan = next(c for c in conductor.tick(NOW + 1, view(NOW + 1, refused), NIGHT).commands
                  if c.service == "scheduler")
    assert conductor.command_failed(replan, "TimeoutError: no reply", NOW + 2) is None
    assert not conductor.alarms
    conductor.tick(NOW + 3, view(NOW + 3, refused), NIGHT)
    assert conductor.state is MajordomeState.NIGHT_IDLE
