"""The cheaper multipart send and receive give what pyzmq's own give."""

from __future__ import annotations

from typing import Iterator

import pytest
import zmq

from pyros.multipart import recv_multipart, send_multipart


@pytest.fixture
def pair() -> Iterator[tuple[zmq.Socket, zmq.Socket]]:
    ctx = zmq.Context()
    a, b = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
    for sock in (a, b):
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RCVTIMEO, 5000)
    a.bind("inproc://multipart")
    b.connect("inproc://multipart")
    yield a, b
    a.close()
    b.close()
    ctx.term()


@pytest.mark.parametrize("frames", [[b"x"], [b"", b""], [b"k", bytes(8), b"", b"p=1\n", b"v" * 100_000],
                                    [memoryview(b"buffer"), bytearray(b"ok")]])
def test_round_trip_against_pyzmq(pair: tuple[zmq.Socket, zmq.Socket], frames: list) -> None:
    a, b = pair
    send_multipart(a, frames)
    a.send_multipart(frames)
    ours, theirs = recv_multipart(b), b.recv_multipart()
    assert ours == theirs == [bytes(f) for f in frames]
    assert all(type(f) is bytes for f in ours)


def test_messages_stay_separate_and_noblock_raises_again(pair: tuple[zmq.Socket, zmq.Socket]) -> None:
    a, b = pair
    for n in range(1, 4):
        send_multipart(a, [str(i).encode() for i in range(n)])
    assert [len(recv_multipart(b)) for _ in range(3)] == [1, 2, 3]
    with pytest.raises(zmq.Again):
        recv_multipart(b, zmq.NOBLOCK)


def test_empty_message_is_refused(pair: tuple[zmq.Socket, zmq.Socket]) -> None:
    with pytest.raises(ValueError, match="at least one frame"):
        send_multipart(pair[0], [])


def test_router_mandatory_unroutable_raises_and_sends_nothing() -> None:
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    router.setsockopt(zmq.ROUTER_MANDATORY, 1)
    router.bind("inproc://mandatory")
    try:
        with pytest.raises(zmq.ZMQError) as raised:
            send_multipart(router, [b"nobody", b"", b"hello"])
        assert raised.value.errno == zmq.EHOSTUNREACH
    finally:
        router.close()
        ctx.term()
