"""Services served through the real broker: commands, sessions, instances, duplicates."""

from __future__ import annotations

import sys
import threading
from typing import Iterator

import pytest

from pyros.clock import Clock
from pyros.errors import CommandError
from pyros.messages import Request, new_id
from pyros.serve import ServiceHost
from pyros.service import AccessPolicy, Service, Session, command, operation
from pyros.testing import BrokerProcess, ManagedProcess, wait_until

pytestmark = pytest.mark.integration


class Counter(Service):
    """Counts calls; has a long operation gated by an event."""

    service_name = "counter"
    version = "2.0.0"

    def __init__(self) -> None:
        self.bumps = 0
        self.lock = threading.Lock()
        self.gate = threading.Event()

    @command(level="operator")
    def bump(self, by: int = 1) -> int:
        """Add to the counter."""
        with self.lock:
            self.bumps += by
            return self.bumps

    @command()
    def whoami(self) -> str:
        """Return nothing interesting; used to see which instance answers."""
        return "counter"

    @operation()
    def slow(self, session: Session, steps: int = 3) -> dict:
        """Report progress, then wait for the gate (or an abort)."""
        for step in range(steps):
            session.update(step=step)
        while not self.gate.is_set():
            if session.sleep(0.01):
                return {"aborted": True}
        return {"steps": steps}


def host(broker: BrokerProcess, instance: str, service: Service | None = None, **kw: object) -> ServiceHost:
    h = ServiceHost(service or Counter(), broker.endpoint, instance=instance, slots=2,
                    heartbeat_interval=broker.heartbeat_interval,
                    access=AccessPolicy({"op-token": "operator"}), **kw)  # type: ignore[arg-type]
    h.start()
    with broker.client(timeout=5) as client:
        wait_until(lambda: client.workers().get(f"counter.{instance}", {}).get("workers") == 2,
                   what=f"instance {instance} registered")
    return h


@pytest.fixture
def counter(broker: BrokerProcess) -> Iterator[ServiceHost]:
    h = host(broker, "one")
    yield h
    h.runtime.service.gate.set()  # type: ignore[attr-defined]
    h.stop()


def test_command_with_access_levels(broker: BrokerProcess, counter: ServiceHost) -> None:
    with broker.client(timeout=5) as client:
        with pytest.raises(CommandError) as denied:
            client.call("counter", "bump")
        assert denied.value.type == "AccessDenied" and "operator" in denied.value.message
        assert client.call("counter", "bump", by=2, token="op-token") == 2
        with pytest.raises(CommandError) as bad:
            client.call("counter", "bump", by="two", token="op-token")
        assert bad.value.type == "BadArgument" and "by" in bad.value.message
        with pytest.raises(CommandError) as unknown:
            client.call("counter", "explode")
        assert unknown.value.type == "UnknownCommand"
        described = client.call("counter", "describe")
        assert described["version"] == "2.0.0"
        assert described["commands"]["bump"]["level"] == "operator"
        assert client.call("counter.one", "ping")["instance"] == "one"


def test_retried_request_id_runs_once(broker: BrokerProcess, counter: ServiceHost) -> None:
    request = Request(id=new_id(), cmd="bump", args={"by": 5}, token="op-token")
    with broker.client(timeout=5) as client:
        first = client.request("counter", request)
        second = client.request("counter", request)  # what a Lazy Pirate retry sends
    assert first == second and first.data == 5
    assert counter.runtime.service.bumps == 5  # type: ignore[attr-defined]


def test_session_wait_streams_progress_while_status_answers(broker: BrokerProcess, counter: ServiceHost) -> None:
    with broker.client(timeout=5) as client:
        started = client.call("counter", "slow", steps=3)
    assert started["status"] == "starting" and started["instance"] == "one"
    address = f"counter.{started['instance']}"
    progress: list[dict] = []
    outcome: dict = {}

    def waiter() -> None:
        with broker.client(timeout=10) as c:
            outcome.update(c.call(address, "wait", {"session": started["session"]}, progress=progress.append))

    thread = threading.Thread(target=waiter)
    thread.start()
    with broker.client(timeout=5) as client:
        wait_until(lambda: client.call(address, "status", session=started["session"])["status"] == "running",
                   what="session running")
        wait_until(lambda: bool(progress), what="progress streamed to the waiter")
        counter.runtime.service.gate.set()  # type: ignore[attr-defined]
        thread.join(10)
    assert outcome["status"] == "done" and outcome["success"] is True
    assert outcome["result"] == {"steps": 3}
    assert any(p.get("data", {}).get("step") == 2 for p in progress)


def test_abort_a_session(broker: BrokerProcess, counter: ServiceHost) -> None:
    with broker.client(timeout=5) as client:
        started = client.call("counter", "slow")
        address = f"counter.{started['instance']}"
        client.call(address, "abort", session=started["session"])
        final = client.call(address, "wait", session=started["session"])
    assert final["status"] == "done" and final["result"] == {"aborted": True}


def test_two_instances_share_the_load_and_own_their_sessions(broker: BrokerProcess) -> None:
    one, two = host(broker, "one"), host(broker, "two")
    try:
        with broker.client(timeout=5) as client:
            answered = {client.call("counter", "ping")["instance"] for _ in range(20)}
            assert answered == {"one", "two"}
            started = client.call("counter.two", "slow")
            with pytest.raises(CommandError) as wrong:
                client.call("counter.one", "status", session=started["session"])
            assert wrong.value.type == "UnknownSession" and "counter.two" in wrong.value.message
    finally:
        for h in (one, two):
            h.runtime.service.gate.set()  # type: ignore[attr-defined]
            h.stop()


def test_service_and_cli_agree_on_simulated_time(broker: BrokerProcess, tmp_path: object) -> None:
    anchor = 1_800_000_000.0
    env_sets = ["--set", "clock.mode=\"simulated\"", "--set", "clock.start=\"2026-06-01T03:00:00Z\"",
                "--set", "clock.speed=100.0", "--set", f"clock.anchor={anchor}",
                "--set", f"broker.heartbeat_interval={broker.heartbeat_interval}"]
    proc = ManagedProcess([sys.executable, "-m", "pyros", *env_sets, "serve", "servers.echo:EchoService",
                           "--broker", broker.endpoint, "--instance", "sim", "--slots", "1", "--name", "echo"])
    try:
        with broker.client(timeout=5) as client:
            wait_until(lambda: client.service_exists("echo.sim"), what="simulated echo registered")
            local = Clock.simulated("2026-06-01T03:00:00Z", 100.0, anchor)
            before = local.now()
            remote = client.call("echo.sim", "ping")["time"]
            after = local.now()
    finally:
        proc.stop()
    assert before <= remote <= after
