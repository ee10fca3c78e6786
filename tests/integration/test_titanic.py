"""Titanic through the real broker: durable requests, one execution each, restarts."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Iterator

import pytest

from pyros.serve import ServiceHost
from pyros.service import Service, command
from pyros.service.context import CallContext
from pyros.testing import BrokerProcess, wait_until
from pyros.titanic.client import TitanicClient, TitanicError
from servers.titanic import TitanicServer

pytestmark = pytest.mark.integration


class Ledger(Service):
    """Records how often each request id was executed."""

    service_name = "ledger"

    def __init__(self) -> None:
        self.executions: Counter[str] = Counter()
        self.lock = threading.Lock()

    @command()
    def record(self, ctx: CallContext, value: int) -> int:
        """Count one execution of this request id and return the value doubled."""
        with self.lock:
            self.executions[ctx.request_id] += 1
        return 2 * value


def start_titanic(broker: BrokerProcess, path: Path) -> TitanicServer:
    server = TitanicServer(broker.endpoint, str(path), heartbeat_interval=broker.heartbeat_interval,
                           redispatch_initial=0.5).start()
    with broker.client(timeout=5) as client:
        wait_until(lambda: all(client.service_exists(n) for n in ("titanic.request", "titanic.reply",
                                                                  "titanic.close")), what="titanic registered")
    return server


def start_ledger(broker: BrokerProcess, ledger: Ledger) -> ServiceHost:
    host = ServiceHost(ledger, broker.endpoint, instance="l1", slots=4, heartbeat_interval=broker.heartbeat_interval)
    host.start()
    with broker.client(timeout=5) as client:
        wait_until(lambda: client.service_exists("ledger"), what="ledger registered")
    return host


@pytest.fixture
def titanic(broker: BrokerProcess, tmp_path: Path) -> Iterator[TitanicServer]:
    server = start_titanic(broker, tmp_path / "titanic.db")
    yield server
    server.stop()


def test_requests_complete_once_each_and_replies_are_idempotent(broker: BrokerProcess,
                                                               titanic: TitanicServer) -> None:
    ledger = Ledger()
    host = start_ledger(broker, ledger)
    try:
        with broker.client(timeout=5) as client:
            tsp = TitanicClient(client)
            uids = [tsp.submit("ledger", "record", {"value": i}) for i in range(100)]
            wait_until(lambda: all(tsp.reply_frames(u) is not None for u in uids), timeout=30,
                       what="every request replied")
            for i, uid in enumerate(uids):
                first, second = tsp.reply(uid), tsp.reply(uid)
                assert first == second and first is not None and first.data == 2 * i and first.id == uid
            assert set(ledger.executions) == set(uids)  # the request id is the Titanic UUID
            assert set(ledger.executions.values()) == {1}
            tsp.close(uids[0])
            tsp.close(uids[0])
            with pytest.raises(TitanicError) as gone:
                tsp.reply(uids[0])
            assert gone.value.status == "400"
    finally:
        host.stop()


def test_a_request_waits_for_its_service_to_appear(broker: BrokerProcess, titanic: TitanicServer) -> None:
    with broker.client(timeout=5) as client:
        tsp = TitanicClient(client)
        uid = tsp.submit("ledger", "record", {"value": 21})
        wait_until(lambda: titanic.store.get(uid).attempts >= 1, what="a first dispatch")  # type: ignore[union-attr]
        assert tsp.reply(uid) is None  # 300: pending while nobody serves it
        ledger = Ledger()
        host = start_ledger(broker, ledger)
        try:
            wait_until(lambda: tsp.reply(uid) is not None, timeout=30, what="reply once the service exists")
            assert tsp.reply(uid).data == 42  # type: ignore[union-attr]
            assert ledger.executions[uid] == 1
        finally:
            host.stop()


def test_malformed_titanic_requests_get_400(broker: BrokerProcess, titanic: TitanicServer) -> None:
    with broker.client(timeout=5) as client:
        assert client.raw("titanic.request", [b"ledger"])[0] == b"400"  # no body
        assert client.raw("titanic.request", [b"\xff\xfe", b"x"])[0] == b"400"
        assert client.raw("titanic.reply", [b"not-a-uuid"])[0] == b"400"
        assert client.raw("titanic.reply", [b"a", b"b"])[0] == b"400"
        assert client.raw("titanic.close", [b"0" * 32]) == [b"200"]  # unknown UUID: 200 (9/TSP)
        assert client.raw("titanic.reply", [b"0" * 32]) == [b"400"]


def test_titanic_restart_loses_nothing_and_executes_once(broker: BrokerProcess, tmp_path: Path) -> None:
    path = tmp_path / "restart.db"
    first = start_titanic(broker, path)
    with broker.client(timeout=5) as client:
        tsp = TitanicClient(client)
        uids = [tsp.submit("ledger", "record", {"value": i}) for i in range(50)]
    first.stop()  # nobody served them yet; they are only on disk
    ledger = Ledger()
    host = start_ledger(broker, ledger)
    second = start_titanic(broker, path)
    try:
        with broker.client(timeout=5) as client:
            tsp = TitanicClient(client)
            wait_until(lambda: all(tsp.reply_frames(u) is not None for u in uids), timeout=30,
                       what="every stored request replied after the restart")
        assert set(ledger.executions) == set(uids) and set(ledger.executions.values()) == {1}
    finally:
        second.stop()
        host.stop()


def test_titanic_client_call_round_trip(broker: BrokerProcess, titanic: TitanicServer) -> None:
    host = start_ledger(broker, Ledger())
    try:
        with broker.client(timeout=5) as client:
            assert TitanicClient(client).call("ledger", "record", {"value": 5}, timeout=20) == 10
        assert titanic.store.counts()["closed"] == 1
    finally:
        host.stop()
