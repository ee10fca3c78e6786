"""The conductor replayed over a simulated night: commands, never re-commanding, alarms, leases."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest

from pyros.majordome.conductor import Command, Conductor, ConductorSettings
from pyros.majordome.lifecycle import MajordomeState
from pyros.majordome.observatory_view import ObservatoryView
from pyros.majordome.situation import Mode

S = MajordomeState
NIGHT = (100_000.0, 130_000.0)


def iso(instant: float) -> str:
    return datetime.fromtimestamp(instant, timezone.utc).isoformat()


@dataclass
class World:
    """A toy observatory: the dome and the telescope obey after a delay, the observer runs sequences."""

    now: float = NIGHT[0] - 7200.0
    shutter: str = "closed"
    parked: bool = True
    safe: bool = True
    culprit: str | None = None
    session: dict[str, Any] | None = None
    pending: list[tuple[float, str, Any]] = field(default_factory=list)
    sent: list[Command] = field(default_factory=list)
    alive: set[str] = field(default_factory=lambda: {"dome", "telescope", "observer", "monitor"})
    schedule: list[dict[str, Any]] = field(default_factory=list)
    executed: list[int] = field(default_factory=list)

    def kv(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "/env/safety": {"safe": self.safe, "culprit": self.culprit, "time": iso(self.now)},
            "/device/dome/shutter": self.shutter, "/device/telescope/parked": self.parked,
            "/schedule/current": {"id": 1, "entries": self.schedule}}
        for name in self.alive:
            values[f"/service/{name}/{name}"] = {"service": name}
        if self.session is not None:
            values["/op/observer/execute"] = self.session
        return values

    def apply(self, command: Command) -> None:
        self.sent.append(command)
        if command.key == ("dome", "open"):
            self.shutter = "opening"
            self.pending.append((self.now + 40.0, "shutter", "open"))
        elif command.key == ("dome", "close"):
            self.shutter = "closing"
            self.pending.append((self.now + 40.0, "shutter", "closed"))
        elif command.key == ("telescope", "park"):
            self.pending.append((self.now + 30.0, "parked", True))
        elif command.key == ("telescope", "unpark"):
            self.parked = False
        elif command.key == ("observer", "execute"):
            sequence = command.args["sequence_id"]
            self.session = {"session": f"s{sequence}", "status": "running", "args": {"sequence_id": sequence}}
            self.pending.append((self.now + 600.0, "done", sequence))
        elif command.key == ("observer", "abort"):
            self.session = None
            self.pending = [p for p in self.pending if p[1] != "done"]

    def advance(self, seconds: float) -> None:
        self.now += seconds
        due = [p for p in self.pending if p[0] <= self.now]
        self.pending = [p for p in self.pending if p[0] > self.now]
        for _, what, value in due:
            if what == "shutter":
                self.shutter = value
            elif what == "parked":
                self.parked = value
            elif what == "done":
                self.executed.append(value)
                self.session = None


def run(conductor: Conductor, world: World, seconds: float, step_s: float = 10.0,
        events: dict[float, Any] | None = None) -> list[tuple[float, S]]:
    states: list[tuple[float, S]] = []
    end = world.now + seconds
    while world.now < end:
        for at, action in list((events or {}).items()):
            if world.now >= at:
                action(world)
                del events[at]  # type: ignore[index]
        result = conductor.tick(world.now, ObservatoryView.from_kv(world.kv(), world.now), NIGHT)
        if not states or states[-1][1] is not result.step.state:
            states.append((world.now, result.step.state))
        for command in result.commands:
            world.apply(command)
        world.advance(step_s)
    return states


def night_schedule(world: World, count: int = 20) -> None:
    world.schedule = [{"sequence_id": i, "name": f"seq{i}", "start": iso(NIGHT[0] + 700.0 * i),
                       "end": iso(NIGHT[0] + 700.0 * i + 600.0)} for i in range(count)]


def test_a_clear_night_opens_observes_and_closes_at_dawn() -> None:
    world = World()
    night_schedule(world)
    conductor = Conductor()
    states = run(conductor, world, 50_000.0)
    names = [s for _, s in states]
    assert names[:4] == [S.DAY, S.DUSK, S.NIGHT_IDLE, S.NIGHT_OBSERVING]
    assert names[-2:] == [S.DAWN, S.DAY]
    assert world.executed and world.executed == sorted(world.executed)
    assert world.shutter == "closed" and world.parked is True
    opens = [c for c in world.sent if c.key == ("dome", "open")]
    assert len(opens) == 1, "the dome is opened once, never re-commanded"
    assert not any(c.key == ("dome", "close") for c in world.sent if c.purpose.startswith("day"))


def test_rain_aborts_closes_and_resumes_after_the_monitor_says_safe() -> None:
    world = World()
    night_schedule(world)
    conductor = Conductor()
    rain_at, dry_at = NIGHT[0] + 3000.0, NIGHT[0] + 6000.0

    def rain(w: World) -> None:
        w.safe, w.culprit = False, "rain_rate"

    def dry(w: World) -> None:
        w.safe, w.culprit = True, None

    states = run(conductor, world, 20_000.0, events={rain_at: rain, dry_at: dry})
    names = [s for _, s in states]
    assert S.UNSAFE_CLOSING in names and S.CLOSED_UNSAFE in names
    closing_at = next(t for t, s in states if s is S.UNSAFE_CLOSING)
    assert closing_at - rain_at <= 10.0
    aborts = [c for c in world.sent if c.key == ("observer", "abort")]
    assert len(aborts) == 1
    reopened = [t for t, s in states if s is S.NIGHT_IDLE and t >= dry_at]
    assert reopened and reopened[0] - dry_at <= 10.0
    assert len([c for c in world.sent if c.key == ("dome", "open")]) == 2
    assert len([c for c in world.sent if c.key == ("dome", "close")]) == 1


def test_start_up_in_bad_weather_with_the_dome_closed_commands_nothing() -> None:
    world = World(now=NIGHT[0] + 100.0, safe=False, culprit="wind_speed")
    conductor = Conductor()
    states = run(conductor, world, 600.0)
    assert [s for _, s in states] == [S.CLOSED_UNSAFE]
    assert world.sent == []


def night_with_rain_after(seconds: float) -> tuple[World, Conductor]:
    """A night with work: the conductor (2-minute command timeout) runs ``seconds``, then it rains."""
    world = World(now=NIGHT[0] + 100.0)
    night_schedule(world)
    conductor = Conductor(ConductorSettings(command_timeout_s=120.0))
    run(conductor, world, seconds)
    world.safe, world.culprit = False, "rain_rate"
    return world, conductor


def test_a_device_that_does_not_finish_raises_an_alarm_and_makes_safe() -> None:
    world, conductor = night_with_rain_after(600.0)
    assert world.shutter == "open"
    # The dome stops answering: its close never completes.
    original = world.apply

    def stuck(command: Command) -> None:
        if command.key == ("dome", "close"):
            world.sent.append(command)
            return
        original(command)

    world.apply = stuck  # type: ignore[method-assign]
    run(conductor, world, 600.0)
    assert "dome" in conductor.alarms and "not done within 120" in conductor.alarms["dome"].reason
    assert conductor.state is S.UNSAFE_CLOSING


def test_rain_while_the_dome_opens_closes_it_and_the_open_does_not_time_out_into_an_alarm() -> None:
    world, conductor = night_with_rain_after(10.0)
    assert world.shutter == "opening"
    world.pending = [p for p in world.pending if p[1] != "shutter"]  # the close supersedes the opening
    states = run(conductor, world, 600.0)
    assert [s for _, s in states] == [S.UNSAFE_CLOSING, S.CLOSED_UNSAFE]
    assert world.shutter == "closed" and conductor.alarms == {}
    assert [c.key for c in world.sent if c.service == "dome"] == [("dome", "open"), ("dome", "close")]


def test_a_failed_command_raises_an_alarm_until_acknowledged() -> None:
    world = World(now=NIGHT[0] + 100.0)
    conductor = Conductor()
    result = conductor.tick(world.now, ObservatoryView.from_kv(world.kv(), world.now), NIGHT)
    unpark = next(c for c in result.commands if c.key == ("telescope", "unpark"))
    alarm = conductor.command_failed(unpark, "Timeout: no reply in 5 s", world.now)
    assert alarm is not None and alarm.device == "telescope"
    result = conductor.tick(world.now + 1, ObservatoryView.from_kv(world.kv(), world.now), NIGHT)
    assert result.step.state in (S.UNSAFE_CLOSING, S.CLOSED_UNSAFE)
    assert conductor.acknowledge("telescope") == ["telescope"]
    result = conductor.tick(world.now + 2, ObservatoryView.from_kv(world.kv(), world.now), NIGHT)
    assert result.step.state is S.NIGHT_IDLE


def test_a_missing_device_raises_an_alarm_after_the_grace_and_clears_when_back() -> None:
    world = World(now=NIGHT[0] + 100.0)
    world.alive.discard("dome")
    conductor = Conductor(ConductorSettings(startup_grace_s=30.0))
    first = conductor.tick(world.now, ObservatoryView.from_kv(world.kv(), world.now), NIGHT)
    assert first.alarms == [] and not any(c.service == "dome" for c in first.commands)
    world.now += 31.0
    later = conductor.tick(world.now, ObservatoryView.from_kv(world.kv(), world.now), NIGHT)
    assert [a.device for a in later.alarms] == ["dome"] and later.alarms[0].clears_itself
    assert later.step.state is S.CLOSED_UNSAFE
    world.alive.add("dome")
    world.now += 9.0
    back = conductor.tick(world.now, ObservatoryView.from_kv(world.kv(), world.now), NIGHT)
    assert conductor.alarms == {} and back.step.state is S.NIGHT_IDLE


def test_stale_or_malformed_safety_is_unsafe() -> None:
    world = World(now=NIGHT[0] + 100.0)
    values = world.kv()
    values["/env/safety"] = {"safe": True, "time": iso(world.now - 60.0)}
    view = ObservatoryView.from_kv(values, world.now)
    assert not view.safe and "old" in view.safety_culprit
    values["/env/safety"] = {"safe": "yes", "time": iso(world.now)}
    assert not ObservatoryView.from_kv(values, world.now).safe
    values["/env/safety"] = {"safe": True, "time": "yesterday"}
    assert not ObservatoryView.from_kv(values, world.now).safe
    del values["/env/safety"]
    assert not ObservatoryView.from_kv(values, world.now).safe


def test_manual_mode_and_the_lease() -> None:
    world = World(now=NIGHT[0] + 100.0, safe=False, culprit="rain_rate")
    conductor = Conductor()
    status = conductor.acquire_lease("olga", 600.0, world.now)
    assert status["owner"] == "olga" and conductor.mode is Mode.MANUAL
    with pytest.raises(PermissionError, match="held by olga"):
        conductor.acquire_lease("bob", 60.0, world.now)
    result = conductor.tick(world.now, ObservatoryView.from_kv(world.kv(), world.now), NIGHT)
    situation = result.situation
    with pytest.raises(PermissionError, match="rain_rate"):
        conductor.manual("olga", "dome", "open", situation, admin=False, override_reason=None, now_s=world.now)
    with pytest.raises(PermissionError, match="lease"):
        conductor.manual("bob", "dome", "close", situation, admin=False, override_reason=None, now_s=world.now)
    allowed = conductor.manual("olga", "dome", "open", situation, admin=True, override_reason="shutter test",
                               now_s=world.now)
    assert "shutter test" in allowed.purpose
    assert conductor.manual("olga", "dome", "close", situation, admin=False, override_reason=None,
                            now_s=world.now).command == "close"
    # The lease lapses: back to AUTO.
    conductor.tick(world.now + 601.0, ObservatoryView.from_kv(world.kv(), world.now + 601.0), NIGHT)
    assert conductor.mode is Mode.AUTO and conductor.lease_status(world.now + 601.0)["owner"] is None


def test_pause_stops_handing_sequences() -> None:
    world = World(now=NIGHT[0] - 100.0)
    night_schedule(world)
    conductor = Conductor(paused=True)
    run(conductor, world, 3000.0)
    assert not any(c.key == ("observer", "execute") for c in world.sent)
    conductor.paused = False
    run(conductor, world, 3000.0)
    assert any(c.key == ("observer", "execute") for c in world.sent)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="prepare_s"):
        ConductorSettings(prepare_s=-1.0)
    with pytest.raises(ValueError, match="dome"):
        ConductorSettings(dome="")
