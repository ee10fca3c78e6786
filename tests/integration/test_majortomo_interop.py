"""Interoperability: an independent MDP 0.2 implementation (majortomo) serves through our broker."""

from __future__ import annotations

import threading
from typing import Iterator

import majortomo
import majortomo.error
import pytest

from pyros.client import Client
from pyros.errors import CommandError
from pyros.mdp.codec import Dialect
from pyros.messages import Partial, decode_request, error_reply, ok_reply
from pyros.testing import BrokerProcess, wait_until

pytestmark = pytest.mark.integration


class MajortomoService:
    """A majortomo worker in a thread: ``add`` sums two numbers after one PARTIAL."""

    def __init__(self, endpoint: str, name: str, heartbeat: float) -> None:
        self.worker = majortomo.Worker(endpoint, name, heartbeat_interval=heartbeat,
                                       heartbeat_timeout=heartbeat * 3, zmq_linger=0)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.served = 0

    def run(self) -> None:
        self.worker.connect()
        while not self.stopping.is_set():
            try:
                client, frames = self.worker.wait_for_request()
            except (majortomo.error.Disconnected, majortomo.error.ProtocolError):
                if self.stopping.is_set():
                    return
                self.worker.connect(reconnect=True)
                continue
            request = decode_request(frames[0])
            self.served += 1
            if request.cmd != "add":
                self.worker.send_reply_final(client, [error_reply(request.id, "UnknownCommand", request.cmd)])
                continue
            self.worker.send_reply_partial(client, [Partial(request.id, {"stage": "adding"}).encode()])
            total = request.args["a"] + request.args["b"]
            self.worker.send_reply_final(client, [ok_reply(request.id, total)])


@pytest.fixture
def majortomo_service(broker: BrokerProcess) -> Iterator[MajortomoService]:
    service = MajortomoService(broker.endpoint, "mt.adder", broker.heartbeat_interval)
    service.thread.start()
    with broker.client(timeout=5) as client:
        wait_until(lambda: client.service_exists("mt.adder"), what="majortomo worker registered")
    yield service
    service.stopping.set()
    service.worker.close()
    service.thread.join(5)


def test_majortomo_worker_serves_our_client(broker: BrokerProcess, majortomo_service: MajortomoService) -> None:
    progress: list[dict] = []
    with broker.client(timeout=5) as client:
        assert client.call("mt.adder", "add", a=2, b=40, progress=progress.append) == 42
        with pytest.raises(CommandError) as err:
            client.call("mt.adder", "divide")
        assert err.value.type == "UnknownCommand"
    assert progress == [{"stage": "adding"}]
    assert majortomo_service.served == 2


def test_majortomo_worker_serves_a_7mdp_client(broker: BrokerProcess, majortomo_service: MajortomoService) -> None:
    with Client(broker.endpoint, timeout=5, dialect=Dialect.V1) as client:
        assert client.call("mt.adder", "add", a=1, b=1) == 2


def test_majortomo_worker_survives_heartbeats(broker: BrokerProcess, majortomo_service: MajortomoService) -> None:
    """Over several liveness periods the broker keeps the majortomo worker registered."""
    with broker.client(timeout=5) as client:
        for _ in range(4):
            threading.Event().wait(broker.heartbeat_interval * broker.heartbeat_liveness / 2)
            assert client.service_exists("mt.adder")
        assert client.call("mt.adder", "add", a=3, b=4) == 7
