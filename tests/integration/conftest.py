"""Fixtures starting real PyROS processes on loopback ports."""

from __future__ import annotations

from typing import Iterator

import pytest
import zmq

from pyros.kv.server import CloneServer
from pyros.testing import BrokerProcess


@pytest.fixture
def broker() -> Iterator[BrokerProcess]:
    """A real broker process with short heartbeats (0.5 s x 3)."""
    with BrokerProcess() as proc:
        yield proc


@pytest.fixture
def zctx() -> Iterator[zmq.Context]:
    """A private ZeroMQ context, terminated after the test."""
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.fixture
def kv_server() -> Iterator[CloneServer]:
    """A real K/V (Clone) server on loopback ports, HUGZ every 0.2 s."""
    server = CloneServer("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", hugz_interval=0.2).start()
    try:
        yield server
    finally:
        server.stop()
