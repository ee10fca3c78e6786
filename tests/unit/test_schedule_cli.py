"""`pyros schedule show` and `explain`: the night as a timeline, and the reasons, as people read them."""

from __future__ import annotations

import typing
from typing import Any

from click.testing import CliRunner

from pyros.cli import SCHEDULE_TRIGGERS, duration_text, explanation_lines, main, schedule_timeline
from pyros.db.models import SCHEDULE_TRIGGERS as STORED_TRIGGERS
from servers.scheduler import Trigger


def entry(sequence_id: int, name: str, start: str, end: str, *, transition_s: float = 0.0, running: bool = False,
          priority: float = 1.0, target: str | None = "M31") -> dict[str, Any]:
    return {"sequence_id": sequence_id, "name": name, "request_id": 1, "status": "planned", "priority": priority,
            "target": target, "start": f"2026-10-15T{start}Z", "end": f"2026-10-15T{end}Z", "duration_s": 0.0,
            "transition_s": transition_s, "running": running}


SCHEDULE = {
    "id": 7, "night": {"start": "2026-10-15T02:00:00Z", "end": "2026-10-15T12:00:00Z"},
    "planned_from": "2026-10-15T03:00:00Z", "trigger": "alert", "objective": 9000.0,
    "created_at": "2026-10-15T03:00:00Z", "created_by": "scheduler",
    "entries": [
        entry(4, "GRB 261015A", "02:50:00", "03:10:00", running=True, priority=10.0, target="GRB field"),
        entry(2, "M31 visible", "03:10:30", "03:40:30", transition_s=30.0, priority=2.0),
        entry(5, "darks", "05:00:00", "06:00:00", transition_s=20.0, target=None),
    ],
    "unplaced": [
        {"sequence_id": 3, "name": "M42 visible", "request_id": 2, "status": "unplannable", "priority": 1.0,
         "target": "M42", "reason": "never_visible", "detail": "its target is never above airmass 1.05",
         "blockers": []},
        {"sequence_id": 6, "name": "Vega z", "request_id": 3, "status": "unplannable", "priority": 0.5,
         "target": "Vega", "reason": "lost_to_higher_priority", "detail": "its time is taken", "blockers": [2, 4]},
    ],
}


def test_the_timeline_shows_entries_idle_time_transitions_and_reasons() -> None:
    assert schedule_timeline(SCHEDULE) == [
        "Schedule 7 of the night 2026-10-15 02:00–12:00 UTC (10 h 00 min), planned from 03:00 UTC (alert), "
        "objective 9000",
        "  02:50–03:10 UTC      20 min  #4 GRB 261015A  priority 10   GRB field  (running)",
        "  03:10–03:40 UTC      30 min  #2 M31 visible  priority 2    M31  (transition 30 s before)",
        "  03:40–04:59 UTC  1 h 19 min  (idle)",
        "  05:00–06:00 UTC  1 h 00 min  #5 darks        priority 1    no target  (transition 20 s before)",
        "  06:00–12:00 UTC  6 h 00 min  (idle)",
        "Not planned (2):",
        "  #3 M42 visible  priority 1  M42: never_visible — its target is never above airmass 1.05",
        "  #6 Vega z  priority 0.5  Vega: lost_to_higher_priority — its time is taken [held by #2, #4]",
    ]


def test_an_empty_night_and_no_schedule() -> None:
    empty = {**SCHEDULE, "entries": [], "unplaced": [], "planned_from": "2026-10-15T11:59:30Z"}
    assert schedule_timeline(empty)[1:] == ["  (nothing planned)", "Not planned (0)"]
    assert schedule_timeline(None) == ["No schedule for this night yet (pyros schedule plan makes one)."]


def test_explanations_read_as_sentences() -> None:
    planned = {"sequence_id": 2, "name": "M31 visible", "status": "planned", "start": "2026-10-15T03:10:30Z",
               "end": "2026-10-15T03:40:30Z", "transition_s": 30.0, "reason": None, "detail": "", "blockers": [],
               "allowed": [["2026-10-15T02:00:00Z", "2026-10-15T09:30:00Z"]], "preferred": "2026-10-15T03:00:00Z",
               "notes": ["it starts as soon as its constraints allow"], "schedule_id": 7}
    assert explanation_lines(planned) == [
        "#2 M31 visible: planned 03:10–03:40 UTC, transition 30 s before",
        "  preferred start 03:00 UTC",
        "  may run within 02:00–09:30 UTC",
        "  - it starts as soon as its constraints allow",
    ]
    lost = {**planned, "sequence_id": 6, "name": "Vega z", "status": "unplaced", "start": None, "end": None,
            "reason": "lost_to_higher_priority", "detail": "its time is taken", "blockers": [2], "allowed": [],
            "preferred": None, "notes": []}
    assert explanation_lines(lost) == ["#6 Vega z: not planned (lost_to_higher_priority) — its time is taken "
                                       "[held by #2]", "  may run at no time of the night"]
    unknown = {**lost, "status": "unknown", "reason": None, "detail": "", "blockers": [],
               "notes": ["it is 'pending' and its request 'draft'"]}
    assert explanation_lines(unknown) == ["#6 Vega z: not in schedule 7", "  - it is 'pending' and its request 'draft'"]


def test_durations_for_people() -> None:
    assert [duration_text(s) for s in (12.0, 59.4, 60.0, 1199.0, 3600.0, 3661.0, 36000.0)] == [
        "12 s", "59 s", "1 min", "20 min", "1 h 00 min", "1 h 01 min", "10 h 00 min"]


def test_the_reasons_agree_everywhere() -> None:
    """The command line, the service and the database know the same schedule triggers."""
    assert SCHEDULE_TRIGGERS == STORED_TRIGGERS == typing.get_args(Trigger)


def test_replan_refuses_an_unknown_reason_before_asking_anyone() -> None:
    result = CliRunner().invoke(main, ["schedule", "replan", "--reason", "boredom"])
    assert result.exit_code == 2 and "'boredom' is not one of 'night_start'" in result.output
