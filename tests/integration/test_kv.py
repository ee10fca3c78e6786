"""The K/V (Clone) server, publisher and subscriber over loopback sockets."""

from __future__ import annotations

import sys
from typing import Any, Iterator

import pytest

from pyros.kv.publisher import KVPublisher
from pyros.kv.server import CloneServer
from pyros.kv.subscriber import KVSubscriber
from pyros.messages import unpack
from pyros.testing import ManagedProcess, free_endpoint, wait_until

pytestmark = pytest.mark.integration

ANY = "tcp://127.0.0.1:*"


@pytest.fixture
def server() -> Iterator[CloneServer]:
    """A K/V server in a thread on random loopback ports, HUGZ every 0.1 s."""
    srv = CloneServer(ANY, ANY, ANY, hugz_interval=0.1).start()
    yield srv
    srv.stop()


@pytest.fixture
def make_sub(server: CloneServer) -> Iterator[Any]:
    """Factory of subscribers to ``server``, stopped after the test."""
    subs: list[KVSubscriber] = []

    def make(subtree: str = "", silence: float = 1.0) -> KVSubscriber:
        sub = KVSubscriber(server.snapshot_endpoint, server.publisher_endpoint, subtree, silence=silence)
        subs.append(sub)
        assert sub.wait_synced(10), "subscriber never synced"
        return sub

    yield make
    for sub in subs:
        sub.stop()


@pytest.fixture
def pub(server: CloneServer) -> Iterator[KVPublisher]:
    """A publisher to ``server``'s collector."""
    with KVPublisher(server.collector_endpoint) as publisher:
        yield publisher


def test_bound_endpoints_are_resolved(server: CloneServer) -> None:
    for endpoint in (server.snapshot_endpoint, server.publisher_endpoint, server.collector_endpoint):
        assert endpoint.startswith("tcp://127.0.0.1:") and not endpoint.endswith("*")


def test_publish_reaches_subscriber(make_sub: Any, pub: KVPublisher) -> None:
    sub = make_sub()
    seen: list[tuple[str, Any]] = []
    sub.add_callback("/device/", lambda key, value: seen.append((key, value)))
    pub.set("/device/dome/shutter", "open")
    pub.set("/clock", {"speed": 1.0})
    wait_until(lambda: sub.get("/device/dome/shutter") == "open" and sub.get("/clock") == {"speed": 1.0},
               what="updates")
    assert seen == [("/device/dome/shutter", "open")]


def test_late_joiner_gets_snapshot(server: CloneServer, make_sub: Any, pub: KVPublisher) -> None:
    for i in range(20):
        pub.set(f"/env/weather/q{i}", i)
    wait_until(lambda: len(server.store.entries) == 20, what="server has the keys")
    late = make_sub()
    assert late.contents() == {f"/env/weather/q{i}": i for i in range(20)}


def test_subtree_filtering_and_hugz(server: CloneServer, make_sub: Any, pub: KVPublisher) -> None:
    env = make_sub("/env/", silence=0.5)
    everything = make_sub()
    pub.set("/device/dome/shutter", "closed")
    pub.set("/env/safety", {"safe": True})
    wait_until(lambda: len(everything.contents()) == 2, what="full subscriber sees both keys")
    wait_until(lambda: env.get("/env/safety") == {"safe": True}, what="subtree subscriber sees its key")
    assert env.contents() == {"/env/safety": {"safe": True}}
    hugz = server.store.counts["hugz"]
    # Nothing is published under /env/ now: HUGZ alone must keep the filtered subscriber from going silent.
    wait_until(lambda: server.store.counts["hugz"] >= hugz + 10, what="HUGZ for a second")
    assert env.cache.counts["resync_silence"] == 0
    assert env.synced


def test_delete(make_sub: Any, pub: KVPublisher) -> None:
    sub = make_sub()
    deleted: list[str] = []
    sub.add_callback("", lambda key, value: deleted.append(key) if value is None else None)
    pub.set("/op/x/y", [1, 2])
    wait_until(lambda: sub.get("/op/x/y") == [1, 2], what="set")
    pub.delete("/op/x/y")
    wait_until(lambda: "/op/x/y" not in sub.contents(), what="delete")
    assert deleted == ["/op/x/y"]
    assert pub.owned() == {}


def test_ttl_expiry(server: CloneServer, make_sub: Any, pub: KVPublisher) -> None:
    sub = make_sub()
    pub.set("/service/echo/1", {"pid": 1}, ttl=0.3)
    pub.set("/service/echo/keep", {"pid": 2})
    wait_until(lambda: sub.get("/service/echo/1") == {"pid": 1}, what="ephemeral key")
    wait_until(lambda: sub.get("/service/echo/1") is None, what="expiry", timeout=5)
    assert sub.get("/service/echo/keep") == {"pid": 2}
    assert server.store.counts["expired"] == 1


def test_invalid_ttl_rejected(pub: KVPublisher) -> None:
    with pytest.raises(ValueError):
        pub.set("/a", 1, ttl=0)
    with pytest.raises(ValueError):
        pub.set("HUGZ", 1)


def _kv_process(snapshot: str, publisher: str, collector: str) -> ManagedProcess:
    return ManagedProcess([sys.executable, "-m", "servers.kv", "--snapshot", snapshot, "--publisher", publisher,
                           "--collector", collector, "--hugz-interval", "0.1"])


def test_server_restart_resync_and_republish() -> None:
    endpoints = (free_endpoint(), free_endpoint(), free_endpoint())
    first = _kv_process(*endpoints)
    second: ManagedProcess | None = None
    sub = KVSubscriber(endpoints[0], endpoints[1], silence=0.5)
    publisher = KVPublisher(endpoints[2])
    epochs: list[tuple[str | None, str]] = []
    try:
        sub.on_epoch_change(lambda old, new: epochs.append((old, new)))
        sub.on_epoch_change(publisher.republish_all)
        assert sub.wait_synced(20), "first server never answered"
        publisher.set("/device/dome/shutter", "open")
        publisher.set("/majordome/mode", "auto")
        publisher.set("/tmp/gone", 1)
        publisher.delete("/tmp/gone")
        wait_until(lambda: sub.contents() == {"/device/dome/shutter": "open", "/majordome/mode": "auto"},
                   what="first server's state")
        old_epoch = sub.epoch
        resyncs = sub.cache.counts["resync_silence"]

        first.kill()
        wait_until(lambda: sub.cache.counts["resync_silence"] > resyncs, what="silence detected")
        publisher.set("/schedule/current", {"id": 7})  # queued while the server is down
        second = _kv_process(*endpoints)

        wait_until(lambda: sub.epoch not in (None, old_epoch), timeout=20, what="new epoch")
        expected = {key: unpack(body) for key, body in publisher.owned().items()}
        assert set(expected) == {"/device/dome/shutter", "/majordome/mode", "/schedule/current"}
        wait_until(lambda: sub.contents() == expected, what="subscriber equals publisher state")
        assert epochs and epochs[0][0] == old_epoch and epochs[-1][1] == sub.epoch
        assert second.stop() == 0  # SIGTERM: clean exit
    finally:
        sub.stop()
        publisher.close()
        first.kill()
        if second is not None:
            second.kill()


def test_sigterm_stops_process_cleanly() -> None:
    endpoints = (free_endpoint(), free_endpoint(), free_endpoint())
    with _kv_process(*endpoints) as proc:
        sub = KVSubscriber(endpoints[0], endpoints[1])
        try:
            assert sub.wait_synced(20)
        finally:
            sub.stop()
        assert proc.stop() == 0
        assert not proc.alive()


def test_ten_subscribers_converge_after_2000_updates(server: CloneServer, make_sub: Any,
                                                      pub: KVPublisher) -> None:
    subs = [make_sub() for _ in range(10)]
    pub.set("/warm", True)  # every subscription is live once everyone has seen this update
    wait_until(lambda: all(s.get("/warm") is True for s in subs), what="warm-up")
    gaps = [s.cache.counts["resync_gap"] for s in subs]
    for i in range(2000):
        pub.set(f"/perf/{i % 200}", i)
    pub.set("/perf/last", 1999)
    wait_until(lambda: all(s.get("/perf/last") == 1999 for s in subs), timeout=30, what="last update")
    expected = server.store.contents()
    assert len(expected) == 202
    for sub, before in zip(subs, gaps):
        assert sub.raw_contents() == expected
        assert sub.cache.counts["resync_gap"] == before, "an update was lost"
        assert sub.cache.drops["stale"] == 0
