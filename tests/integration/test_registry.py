"""The service registry (/service/...) and the session mirror (/op/...) in the K/V store."""

from __future__ import annotations

from typing import Iterator

import pytest

from pyros.kv.server import CloneServer
from pyros.kv.subscriber import KVSubscriber
from pyros.serve import ServiceHost
from pyros.testing import BrokerProcess, free_endpoint, wait_until
from tests.integration.test_services import Counter

pytestmark = pytest.mark.integration


@pytest.fixture
def kv() -> Iterator[CloneServer]:
    server = CloneServer("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", hugz_interval=0.2).start()
    yield server
    server.stop()


def test_registry_entry_appears_refreshes_and_vanishes(broker: BrokerProcess, kv: CloneServer) -> None:
    service = Counter()
    host = ServiceHost(service, broker.endpoint, instance="r1", slots=1, heartbeat_interval=0.3,
                       heartbeat_liveness=3, kv_collector=kv.collector_endpoint)
    with KVSubscriber(kv.snapshot_endpoint, kv.publisher_endpoint, "/service/") as sub:
        host.start()
        try:
            wait_until(lambda: sub.get("/service/counter/r1") is not None, what="registry entry published")
            entry = sub.get("/service/counter/r1")
            assert entry["version"] == "2.0.0" and entry["instance"] == "r1" and entry["pid"] > 0
            first_time = entry["time"]
            wait_until(lambda: sub.get("/service/counter/r1")["time"] > first_time, what="entry refreshed")
        finally:
            host.stop()
        wait_until(lambda: sub.get("/service/counter/r1") is None, what="entry removed on stop")


def test_a_dead_instance_vanishes_within_its_ttl(broker: BrokerProcess, kv: CloneServer) -> None:
    host = ServiceHost(Counter(), broker.endpoint, instance="r2", slots=1, heartbeat_interval=0.3,
                       heartbeat_liveness=3, kv_collector=kv.collector_endpoint)
    with KVSubscriber(kv.snapshot_endpoint, kv.publisher_endpoint, "/service/") as sub:
        host.start()
        wait_until(lambda: sub.get("/service/counter/r2") is not None, what="registry entry published")
        host._registry_stop.set()  # simulate death: no refresh, no delete
        host._registry_thread.join(5)  # type: ignore[union-attr]
        wait_until(lambda: sub.get("/service/counter/r2") is None, timeout=10, what="expired after its ttl")
        host._publisher = None  # nothing left to delete
        host.stop()


def test_sessions_are_mirrored_under_op(broker: BrokerProcess, kv: CloneServer) -> None:
    service = Counter()
    host = ServiceHost(service, broker.endpoint, instance="r3", slots=2, heartbeat_interval=0.5,
                       kv_collector=kv.collector_endpoint).start()
    try:
        with KVSubscriber(kv.snapshot_endpoint, kv.publisher_endpoint, "/op/") as sub, \
                broker.client(timeout=5) as client:
            wait_until(lambda: client.service_exists("counter.r3"), what="registered")
            started = client.call("counter.r3", "slow", steps=2)
            wait_until(lambda: (sub.get("/op/counter/slow") or {}).get("status") == "running", what="running")
            service.gate.set()
            wait_until(lambda: (sub.get("/op/counter/slow") or {}).get("status") == "done", what="done mirrored")
            mirrored = sub.get("/op/counter/slow")
            assert mirrored["session"] == started["session"] and mirrored["success"] is True
    finally:
        service.gate.set()
        host.stop()


def test_sessions_come_back_after_a_kv_server_restart(broker: BrokerProcess) -> None:
    """/op/ keys have no ttl: the host republishes them when it notices the new server epoch."""
    endpoints = (free_endpoint(), free_endpoint(), free_endpoint())
    first: CloneServer | None = CloneServer(*endpoints, hugz_interval=0.2).start()
    service = Counter()
    host = ServiceHost(service, broker.endpoint, instance="r4", slots=2, heartbeat_interval=0.5,
                       kv_collector=endpoints[2], kv_watch=(endpoints[0], endpoints[1])).start()
    second: CloneServer | None = None
    try:
        with broker.client(timeout=5) as client:
            wait_until(lambda: client.service_exists("counter.r4"), what="registered")
            service.gate.set()
            started = client.call("counter.r4", "slow", steps=1)
        with KVSubscriber(endpoints[0], endpoints[1], "/op/", silence=0.6) as sub:
            wait_until(lambda: (sub.get("/op/counter/slow") or {}).get("status") == "done", what="done mirrored")
            assert first is not None
            old_epoch = sub.epoch
            first.stop()
            first = None
            second = CloneServer(*endpoints, hugz_interval=0.2).start()  # empty: no state survives
            wait_until(lambda: sub.synced and sub.epoch not in (None, old_epoch), timeout=15,
                       what="the subscriber on the new server")
            wait_until(lambda: (sub.get("/op/counter/slow") or {}).get("session") == started["session"],
                       timeout=15, what="the session republished to the new server")
    finally:
        host.stop()
        for server in (first, second):
            if server is not None:
                server.stop()
