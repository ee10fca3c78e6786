"""Unit tests of :mod:`pyros.supervision.kv_states`: the supervisor's K/V rows, on a fake clock."""

from __future__ import annotations

from typing import Any

from pyros.errors import TransportError
from pyros.supervision.kv_states import ChildStatePublisher, process_key, read_service_tree


class RecordingPublisher:
    """Keeps what a KVPublisher would have sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any, float | None]] = []
        self.failing = False

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        if self.failing:
            raise TransportError("K/V publisher is closed")
        self.sent.append((key, value, ttl))

    def delete(self, key: str) -> None:
        if self.failing:
            raise TransportError("K/V publisher is closed")
        self.sent.append((key, None, None))

    def take(self) -> list[tuple[str, Any, float | None]]:
        sent, self.sent = self.sent, []
        return sent


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def row(name: str, state: str = "running", pid: int | None = 10, uptime: float | None = 1.0) -> dict[str, Any]:
    return {"name": name, "state": state, "target": "up", "pid": pid, "uptime": uptime, "restarts": 0,
            "cpu_s": 0.1, "rss_mib": 20.0, "last_exit": None, "reason": ""}


def make() -> tuple[ChildStatePublisher, RecordingPublisher, FakeClock]:
    publisher, clock = RecordingPublisher(), FakeClock()
    states = ChildStatePublisher(publisher, "node1", refresh_interval=0.5, ttl=1.5, clock=clock,
                                 now=lambda: 1.7e9 + clock.t)
    return states, publisher, clock


def test_first_update_publishes_every_row_with_host_time_and_ttl() -> None:
    states, publisher, _ = make()
    states.update([row("echo"), row("kv", pid=11)])
    sent = publisher.take()
    assert [key for key, _, _ in sent] == ["/service/supervisor/node1/echo", "/service/supervisor/node1/kv"]
    key, value, ttl = sent[0]
    assert ttl == 1.5 and value["host"] == "node1" and value["time"] == 1.7e9 + 100.0
    assert {k: value[k] for k in ("state", "target", "pid", "uptime", "restarts", "last_exit", "reason", "cpu_s",
                                  "rss_mib")} == {k: v for k, v in row("echo").items() if k != "name"}
    assert process_key("node1", "echo") == key


def test_only_state_changes_are_published_between_refreshes() -> None:
    states, publisher, clock = make()
    states.update([row("echo"), row("kv")])
    publisher.take()
    clock.t += 0.2
    states.update([row("echo", uptime=1.2), row("kv", uptime=1.2)])  # uptime, CPU, RSS: wait for the refresh
    assert publisher.take() == []
    states.update([row("echo", state="backoff", pid=None), row("kv", uptime=1.3)])
    sent = publisher.take()
    assert [(key, value["state"]) for key, value, _ in sent] == [("/service/supervisor/node1/echo", "backoff")]


def test_every_row_is_refreshed_each_interval() -> None:
    states, publisher, clock = make()
    states.update([row("echo"), row("kv")])
    publisher.take()
    clock.t += 0.49
    states.update([row("echo"), row("kv")])
    assert publisher.take() == []
    clock.t += 0.02
    states.update([row("echo", uptime=2.0), row("kv")])
    sent = publisher.take()
    assert len(sent) == 2 and sent[0][1]["uptime"] == 2.0 and sent[0][1]["time"] == 1.7e9 + clock.t


def test_a_child_that_left_the_group_is_deleted_and_clear_deletes_the_rest() -> None:
    states, publisher, clock = make()
    states.update([row("echo"), row("kv")])
    publisher.take()
    clock.t += 0.1
    states.update([row("echo")])
    assert publisher.take() == [("/service/supervisor/node1/kv", None, None)]
    states.clear()
    assert publisher.take() == [("/service/supervisor/node1/echo", None, None)]
    states.clear()
    assert publisher.take() == []


def test_a_publishing_failure_is_logged_not_raised(caplog: Any) -> None:
    states, publisher, _ = make()
    publisher.failing = True
    states.update([row("echo")])
    assert "could not publish /service/supervisor/node1/echo" in caplog.text


def test_read_service_tree_sorts_processes_and_instances() -> None:
    contents = {
        "/service/supervisor/node2/echo": {**row("echo"), "host": "node2", "time": 5.0},
        "/service/supervisor/node1/kv": {**row("kv"), "host": "node1", "time": 5.0},
        "/service/supervisor/node1/broker": {**row("broker"), "host": "node1", "time": 5.0},
        "/service/echo/n1": {"service": "echo", "instance": "n1", "version": "1.0.0", "host": "h", "pid": 7,
                             "time": 7.5},
        "/service/supervisor.node1/node1": {"service": "supervisor.node1", "instance": "node1", "version": "0.2.0",
                                            "host": "h", "pid": 8, "time": 9.0},
        "/service/supervisor/solo": {"service": "supervisor", "instance": "solo", "time": 9.0},  # a service so named
        "/service/bad/value": "not a map",
        "/service/too/many/levels/here": {"x": 1},
        "/service/loose": {"x": 1},
    }
    tree = read_service_tree(contents, now=10.0)
    assert [(p["host"], p["name"]) for p in tree.processes] == [("node1", "broker"), ("node1", "kv"),
                                                               ("node2", "echo")]
    assert tree.processes[0]["state"] == "running" and tree.processes[0]["pid"] == 10
    assert [(s["name"], s["instance"]) for s in tree.services] == [("echo", "n1"), ("supervisor", "solo"),
                                                                  ("supervisor.node1", "node1")]
    assert tree.services[0] == {"name": "echo", "instance": "n1", "host": "h", "pid": 7, "version": "1.0.0",
                                "age": 2.5}
    assert read_service_tree(contents, now=None).services[0]["age"] is None
    assert tree.to_dict() == {"processes": tree.processes, "services": tree.services}
